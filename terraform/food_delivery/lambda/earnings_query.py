"""Earnings step 1: delivered orders of one delivery_date, grouped by driver, written to S3.

Input: {"delivery_date": "YYYY-MM-DD"} or the EventBridge trigger {"trigger_time": ISO-8601}
(settles the previous UTC day). Reads the orders delivery-shard-index GSI
(delivery_shard = "<date>#<nn>", nn in 0..DELIVERY_DATE_SHARDS-1, range key driver_id) and
writes a JSON array [{"driver_id", "orders": [...]}] that the distributed Map reads with
ItemReader - the driver list of a metro does not fit in a 256 KB state payload.
"""

import json
import os
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import boto3

dynamodb = boto3.client("dynamodb")
s3 = boto3.client("s3")

ORDERS_TABLE = os.environ["ORDERS_TABLE"]
INDEX = os.environ.get("DELIVERY_SHARD_INDEX", "delivery-shard-index")
SHARDS = int(os.environ.get("DELIVERY_DATE_SHARDS", "16"))
BUCKET = os.environ["SETTLEMENTS_BUCKET"]
PREFIX = os.environ.get("SETTLEMENTS_PREFIX", "settlements/")
NUMERIC = ("delivery_fee", "tip", "distance_km", "duration_minutes", "surge_multiplier")


def delivery_date_of(event):
    if event.get("delivery_date"):
        return datetime.strptime(event["delivery_date"], "%Y-%m-%d").date().isoformat()
    trigger = event.get("trigger_time")
    now = datetime.fromisoformat(trigger.replace("Z", "+00:00")) if trigger else datetime.now(timezone.utc)
    return (now.astimezone(timezone.utc).date() - timedelta(days=1)).isoformat()


def delivered_orders(delivery_date):
    for shard in range(SHARDS):
        kwargs = {
            "TableName": ORDERS_TABLE,
            "IndexName": INDEX,
            "KeyConditionExpression": "delivery_shard = :s",
            "ExpressionAttributeValues": {":s": {"S": f"{delivery_date}#{shard:02d}"}},
        }
        while True:
            page = dynamodb.query(**kwargs)
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def handler(event, context):
    delivery_date = delivery_date_of(event or {})
    by_driver = defaultdict(list)
    count = 0
    for item in delivered_orders(delivery_date):
        order = {"order_id": item["order_id"]["S"], "region": item.get("region", {}).get("S", "*")}
        for name in NUMERIC:
            order[name] = str(Decimal(item[name]["N"])) if name in item else "0"
        by_driver[item["driver_id"]["S"]].append(order)
        count += 1
    drivers = [{"driver_id": d, "orders": orders} for d, orders in sorted(by_driver.items())]
    key = f"{PREFIX}{delivery_date}/drivers.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(drivers).encode("utf-8"), ContentType="application/json")
    print(json.dumps({"event": "settlement_input_written", "delivery_date": delivery_date, "drivers": len(drivers), "orders": count}))
    return {"bucket": BUCKET, "key": key, "delivery_date": delivery_date, "driver_count": len(drivers), "order_count": count}
