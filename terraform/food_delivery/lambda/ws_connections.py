"""WebSocket connections of the order-tracking API, shared by the handlers that push to them.

The connections table (CONNECTIONS_TABLE) maps connection_id -> user_id/role/order_id, with the
user_id-index and order_id-index GSIs. Pushes go through the API Gateway Management API of the
WebSocket stage (WS_ENDPOINT); a connection that is gone (GoneException / 410) is removed from the
table so the next push skips it.
"""

import os

import boto3
from botocore.exceptions import ClientError

_dynamodb = boto3.client("dynamodb")
_management = None


def management():
    """The Management API client of the WebSocket stage, created on first use."""
    global _management
    if _management is None:
        _management = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["WS_ENDPOINT"])
    return _management


def _connection_ids(index, attribute, value):
    items = _dynamodb.query(
        TableName=os.environ["CONNECTIONS_TABLE"],
        IndexName=index,
        KeyConditionExpression=f"{attribute} = :v",
        ExpressionAttributeValues={":v": {"S": value}},
    )["Items"]
    return [item["connection_id"]["S"] for item in items]


def order_connections(order_id):
    """connection_ids subscribed to an order (order_id-index)."""
    return _connection_ids("order_id-index", "order_id", order_id)


def user_connections(user_id):
    """connection_ids of a user (user_id-index)."""
    return _connection_ids("user_id-index", "user_id", user_id)


def post(connection_id, data):
    """PostToConnection of ``data`` (bytes); False when the connection is gone (it is then removed)."""
    try:
        management().post_to_connection(ConnectionId=connection_id, Data=data)
        return True
    except ClientError as err:
        if err.response["Error"]["Code"] in ("GoneException", "410"):
            _dynamodb.delete_item(TableName=os.environ["CONNECTIONS_TABLE"], Key={"connection_id": {"S": connection_id}})
            return False
        raise
