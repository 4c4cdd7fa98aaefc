"""WebSocket $connect and sendmessage routes of the order-tracking API.

$connect   ?user_id=<id>&role=customer|driver|restaurant[&order_id=<id>]
           Stores the connection_id mapping in the connections table (TTL = the 2 h
           API Gateway connection limit).
sendmessage {"action": "sendmessage", "order_id": "...", ["status": "picked_up"], ["message": "..."]}
           Subscribes the connection to an order's live updates; a driver may report the
           picked_up stage of an order assigned to them; an optional chat message is relayed
           to the other parties tracking the order. The return body is sent back to the
           caller (route response $default).
"""

import json
import os
import re
import time

import boto3
from botocore.exceptions import ClientError

import ws_connections

dynamodb = boto3.client("dynamodb")

CONNECTIONS_TABLE = os.environ["CONNECTIONS_TABLE"]
ORDERS_TABLE = os.environ["ORDERS_TABLE"]
TTL_ATTRIBUTE = os.environ.get("TTL_ATTRIBUTE", "expires_at")
CONNECTION_TTL_SECONDS = int(os.environ.get("CONNECTION_TTL_SECONDS", "7200"))
ROLES = {"customer", "driver", "restaurant"}
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_MESSAGE_CHARS = 500


def _response(status, body):
    return {"statusCode": status, "body": json.dumps(body)}


def _connect(event, connection_id):
    params = event.get("queryStringParameters") or {}
    user_id, role, order_id = params.get("user_id", ""), params.get("role", ""), params.get("order_id")
    if not ID_RE.match(user_id) or role not in ROLES or (order_id is not None and not ID_RE.match(order_id)):
        return _response(400, {"error": "user_id and role (customer|driver|restaurant) are required"})
    now = int(time.time())
    item = {
        "connection_id": {"S": connection_id},
        "user_id": {"S": user_id},
        "role": {"S": role},
        "connected_at": {"N": str(now)},
        TTL_ATTRIBUTE: {"N": str(now + CONNECTION_TTL_SECONDS)},
    }
    if order_id:
        item["order_id"] = {"S": order_id}
    dynamodb.put_item(TableName=CONNECTIONS_TABLE, Item=item)
    print(json.dumps({"event": "ws_connected", "role": role, "user_id": user_id}))
    return _response(200, {"connected": True})


def _mark_picked_up(order_id, driver_id):
    """A driver reports pickup of an order assigned to them (assigned -> picked_up)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        dynamodb.update_item(
            TableName=ORDERS_TABLE,
            Key={"order_id": {"S": order_id}},
            UpdateExpression="SET #status = :picked, #version = #version + :one, picked_up_at = :now",
            ConditionExpression="#status = :assigned AND driver_id = :driver",
            ExpressionAttributeNames={"#status": "status", "#version": "version"},
            ExpressionAttributeValues={
                ":picked": {"S": "picked_up"},
                ":assigned": {"S": "assigned"},
                ":driver": {"S": driver_id},
                ":one": {"N": "1"},
                ":now": {"S": now},
            },
        )
        return True
    except ClientError as err:
        if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise


def _sendmessage(event, connection_id):
    try:
        body = json.loads(event.get("body") or "{}")
    except json.JSONDecodeError:
        return _response(400, {"error": "body must be JSON"})
    order_id = body.get("order_id", "")
    if not isinstance(order_id, str) or not ID_RE.match(order_id):
        return _response(400, {"error": "order_id is required"})
    try:
        current = dynamodb.update_item(
            TableName=CONNECTIONS_TABLE,
            Key={"connection_id": {"S": connection_id}},
            UpdateExpression="SET order_id = :order",
            ConditionExpression="attribute_exists(connection_id)",
            ExpressionAttributeValues={":order": {"S": order_id}},
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as err:
        if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return _response(410, {"error": "unknown connection"})
        raise
    role, user_id = current["role"]["S"], current["user_id"]["S"]
    result = {"type": "subscribed", "order_id": order_id}

    if body.get("status") == "picked_up":
        if role != "driver":
            return _response(403, {"error": "only the assigned driver can report pickup"})
        result["picked_up"] = _mark_picked_up(order_id, user_id)

    message = body.get("message")
    if isinstance(message, str) and message.strip():
        peers = ws_connections.order_connections(order_id)
        payload = {"type": "message", "order_id": order_id, "from_role": role, "message": message[:MAX_MESSAGE_CHARS]}
        data = json.dumps(payload).encode()
        delivered = 0
        for peer_id in peers:
            if peer_id != connection_id and ws_connections.post(peer_id, data):
                delivered += 1
        result["delivered_to"] = delivered
    return _response(200, result)


def handler(event, context):
    ctx = event["requestContext"]
    route, connection_id = ctx.get("routeKey"), ctx["connectionId"]
    if route == "$connect":
        return _connect(event, connection_id)
    if route == "sendmessage":
        return _sendmessage(event, connection_id)
    return _response(400, {"error": f"unsupported route {route}"})
