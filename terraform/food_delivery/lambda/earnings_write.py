"""Earnings step 3: persist a batch of driver earnings and credit balances, idempotently.

Aurora driver_earnings: INSERT ... ON CONFLICT (driver_id, delivery_date) DO NOTHING, in one
transaction per batch. DynamoDB driver_profiles: ADD balance, SET last_settled_date, with the
condition last_settled_date < delivery_date, so a retried batch never credits a driver twice.
"""

import json
import os
from decimal import Decimal

import boto3
from botocore.exceptions import ClientError

import datastores

dynamodb = boto3.client("dynamodb")
DRIVER_PROFILES_TABLE = os.environ["DRIVER_PROFILES_TABLE"]

INSERT_SQL = (
    "INSERT INTO driver_earnings (driver_id, delivery_date, order_count, distance_km, minutes, "
    "base_pay, surge_bonus, tips, total) VALUES (:driver_id, CAST(:delivery_date AS DATE), :order_count, "
    "CAST(:distance_km AS NUMERIC), CAST(:minutes AS NUMERIC), CAST(:base_pay AS NUMERIC), "
    "CAST(:surge_bonus AS NUMERIC), CAST(:tips AS NUMERIC), CAST(:total AS NUMERIC)) "
    "ON CONFLICT (driver_id, delivery_date) DO NOTHING"
)


def write_aurora(delivery_date, earnings):
    conn = datastores.pg_connection()
    try:
        conn.run("BEGIN")
        for e in earnings:
            conn.run(
                INSERT_SQL,
                driver_id=e["driver_id"],
                delivery_date=delivery_date,
                order_count=int(e["order_count"]),
                distance_km=e["distance_km"],
                minutes=e["minutes"],
                base_pay=e["base_pay"],
                surge_bonus=e["surge_bonus"],
                tips=e["tips"],
                total=e["total"],
            )
        conn.run("COMMIT")
    except Exception:
        try:
            conn.run("ROLLBACK")
        finally:
            datastores.reset_pg()
        raise


def credit_balance(driver_id, delivery_date, total):
    try:
        dynamodb.update_item(
            TableName=DRIVER_PROFILES_TABLE,
            Key={"driver_id": {"S": driver_id}},
            UpdateExpression="ADD balance :total SET last_settled_date = :d",
            ConditionExpression="attribute_not_exists(last_settled_date) OR last_settled_date < :d",
            ExpressionAttributeValues={":total": {"N": total}, ":d": {"S": delivery_date}},
        )
        return True
    except ClientError as err:
        if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False  # already credited for this date
        raise


def handler(event, context):
    delivery_date, earnings = event["delivery_date"], event["earnings"]
    write_aurora(delivery_date, earnings)
    credited = sum(credit_balance(e["driver_id"], delivery_date, e["total"]) for e in earnings)
    total = sum((Decimal(e["total"]) for e in earnings), Decimal(0))
    print(json.dumps({"event": "earnings_written", "delivery_date": delivery_date, "drivers": len(earnings), "credited": credited}))
    return {"delivery_date": delivery_date, "drivers": len(earnings), "credited": credited, "total": str(total)}
