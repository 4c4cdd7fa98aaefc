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

dynamodb = boto3.client("dynamodb")
_ws = None

CONNECTIONS_TABLE = os.environ["CONNECTIONS_TABLE"]
DRIVER_ORDERS_TABLE = os.environ["DRIVER_ORDERS_TABLE"]


def _management():
    global _ws
    if _ws is None:
        _ws = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["WS_ENDPOINT"])
    return _ws


def connections_of(user_id):
    items = dynamodb.query(
        TableName=CONNECTIONS_TABLE,
        IndexName="user_id-index",
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": user_id}},
    )["Items"]
    return [i["connection_id"]["S"] for i in items]


def push(connection_id, payload):
    try:
        _management().post_to_connection(ConnectionId=connection_id, Data=json.dumps(payload).encode("utf-8"))
        return True
    except ClientError as err:
        if err.response["Error"]["Code"] in ("GoneException", "410"):
            dynamodb.delete_item(TableName=CONNECTIONS_TABLE, Key={"connection_id": {"S": connection_id}})
            return False
        raise


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
    delivered = sum(push(c, payload) for c in connections_of(driver_id))
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
