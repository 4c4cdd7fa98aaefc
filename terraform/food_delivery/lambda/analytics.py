"""Delivered orders (orders table stream, filter status = delivered) -> analytics.

Per delivered order (once per transition):
* Aurora analytics_orders: INSERT ... ON CONFLICT (order_id) DO NOTHING.
* Redis restaurant:{<id>}:stats: delivered_count, delivery_minutes_sum and, when the order
  carries a customer_rating, rating_sum/rating_count - readers derive the real-time averages
  (avg_delivery_minutes = delivery_minutes_sum / delivered_count).
* driver_orders: the driver's slot taken by the matcher is released (conditional on the order
  still being in active_order_ids, so a replay never releases twice).
"""

import json
import os

import boto3
from botocore.exceptions import ClientError

import datastores

dynamodb = boto3.client("dynamodb")
DRIVER_ORDERS_TABLE = os.environ["DRIVER_ORDERS_TABLE"]

INSERT_SQL = (
    "INSERT INTO analytics_orders (order_id, restaurant_id, driver_id, region, placed_at, delivered_at, "
    "delivery_minutes, distance_km, delivery_fee, tip, surge_multiplier, customer_rating) VALUES "
    "(:order_id, :restaurant_id, :driver_id, :region, CAST(:placed_at AS TIMESTAMPTZ), "
    "CAST(:delivered_at AS TIMESTAMPTZ), CAST(:minutes AS NUMERIC), CAST(:distance AS NUMERIC), "
    "CAST(:fee AS NUMERIC), CAST(:tip AS NUMERIC), CAST(:surge AS NUMERIC), CAST(:rating AS NUMERIC)) "
    "ON CONFLICT (order_id) DO NOTHING"
)


def _s(image, name, default=None):
    value = image.get(name)
    if value is None:
        return default
    return value.get("S", value.get("N", default))


def release_driver(driver_id, order_id):
    try:
        dynamodb.update_item(
            TableName=DRIVER_ORDERS_TABLE,
            Key={"driver_id": {"S": driver_id}},
            UpdateExpression="ADD active_order_count :minus DELETE active_order_ids :oid",
            ConditionExpression="contains(active_order_ids, :order)",
            ExpressionAttributeValues={":minus": {"N": "-1"}, ":oid": {"SS": [order_id]}, ":order": {"S": order_id}},
        )
    except ClientError as err:
        if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def process(record):
    new = record["dynamodb"]["NewImage"]
    old = record["dynamodb"].get("OldImage", {})
    if _s(old, "status") == "delivered":
        return
    order_id, restaurant_id, driver_id = _s(new, "order_id"), _s(new, "restaurant_id"), _s(new, "driver_id")
    minutes = _s(new, "duration_minutes", "0")
    rating = _s(new, "customer_rating")
    try:
        datastores.pg_connection().run(
            INSERT_SQL,
            order_id=order_id,
            restaurant_id=restaurant_id,
            driver_id=driver_id,
            region=_s(new, "region"),
            placed_at=_s(new, "created_at"),
            delivered_at=_s(new, "delivered_at"),
            minutes=minutes,
            distance=_s(new, "distance_km", "0"),
            fee=_s(new, "delivery_fee", "0"),
            tip=_s(new, "tip", "0"),
            surge=_s(new, "surge_multiplier", "1"),
            rating=rating,
        )
    except Exception:
        datastores.reset_pg()
        raise
    stats = datastores.redis_client().pipeline()
    key = f"restaurant:{{{restaurant_id}}}:stats"
    stats.hincrby(key, "delivered_count", 1)
    stats.hincrbyfloat(key, "delivery_minutes_sum", float(minutes))
    if rating is not None:
        stats.hincrbyfloat(key, "rating_sum", float(rating))
        stats.hincrby(key, "rating_count", 1)
    stats.execute()
    if driver_id:
        release_driver(driver_id, order_id)
    print(json.dumps({"event": "order_delivered", "order_id": order_id, "restaurant_id": restaurant_id, "delivery_minutes": float(minutes)}))


def handler(event, context):
    for record in event["Records"]:
        try:
            process(record)
        except Exception as exc:  # noqa: BLE001 - retried by the stream from this record
            print(json.dumps({"event": "analytics_failed", "error": repr(exc)}))
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    return {"batchItemFailures": []}
