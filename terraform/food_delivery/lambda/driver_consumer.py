"""driver_assignments queue -> the assigned driver's app over the WebSocket API.

Looks up the driver's live connections (connections.user_id-index), sends the assignment with
PostToConnection (stale connections are deleted), and records the notification on
driver_orders (notified_order_ids). The active_order_count slot itself is taken by the
matcher's conditional reservation, atomically with the capacity check, so it is not
incremented a second time here (see README).
"""

import json
import os
import time

import boto3
from botocore.exceptions import ClientError

import ws_connections

dynamodb = boto3.client("dynamodb")

DRIVER_ORDERS_TABLE = os.environ["DRIVER_ORDERS_TABLE"]


def handle(message):
    order = message["order"]
    driver_id, order_id = order["driver_id"], order["order_id"]
    payload = {
        "type": "assignment",
        "order_id": order_id,
        "restaurant_id": order["restaurant_id"],
        "pickup": {"lat": order.get("pickup_lat"), "lon": order.get("pickup_lon")},
        "dropoff": {"lat": order.get("delivery_lat"), "lon": order.get("delivery_lon"), "line1": order.get("delivery_line1")},
        "prep_minutes": order.get("prep_minutes"),
        "delivery_fee": order.get("delivery_fee"),
        "surge_multiplier": order.get("surge_multiplier"),
    }
    data = json.dumps(payload).encode("utf-8")
    delivered = sum(ws_connections.post(c, data) for c in ws_connections.user_connections(driver_id))
    dynamodb.update_item(
        TableName=DRIVER_ORDERS_TABLE,
        Key={"driver_id": {"S": driver_id}},
        UpdateExpression="ADD notified_order_ids :oid SET last_notified_at = :now",
        ExpressionAttributeValues={":oid": {"SS": [order_id]}, ":now": {"N": str(int(time.time()))}},
    )
    print(json.dumps({"event": "driver_notified", "order_id": order_id, "driver_id": driver_id, "connections": delivered}))


def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            handle(json.loads(record["body"]))
        except ClientError as exc:
            print(json.dumps({"event": "driver_notify_retry", "message_id": record["messageId"], "error": repr(exc)}))
            failures.append({"itemIdentifier": record["messageId"]})
        except (KeyError, ValueError) as exc:
            print(json.dumps({"event": "driver_message_invalid", "message_id": record["messageId"], "error": repr(exc)}))
    return {"batchItemFailures": failures}
