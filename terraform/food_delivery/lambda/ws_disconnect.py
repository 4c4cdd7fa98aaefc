"""WebSocket $disconnect: remove the connection_id mapping (TTL cleans up what is missed)."""

import json
import os

import boto3

dynamodb = boto3.client("dynamodb")
CONNECTIONS_TABLE = os.environ["CONNECTIONS_TABLE"]


def handler(event, context):
    connection_id = event["requestContext"]["connectionId"]
    dynamodb.delete_item(TableName=CONNECTIONS_TABLE, Key={"connection_id": {"S": connection_id}})
    print(json.dumps({"event": "ws_disconnected", "connection_id": connection_id}))
    return {"statusCode": 200, "body": "disconnected"}
