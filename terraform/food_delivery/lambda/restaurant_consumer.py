"""restaurant_orders queue -> restaurant POS through the API Gateway HTTP proxy (/pos/{proxy+}).

placed    -> POST  <POS_PROXY_URL>/restaurants/<restaurant_id>/orders
cancelled -> POST  <POS_PROXY_URL>/restaurants/<restaurant_id>/orders/<order_id>/cancel

Requests are SigV4-signed (the /pos route uses AWS_IAM auth). When the POS accepts, the order
gets restaurant_status = accepted (+ POS reference and prep time); a POS rejection of an order
that is still "placed" cancels it (status + version bump, so a concurrent matcher write fails).
5xx/timeouts are retried through SQS (then the DLQ); 4xx answers are logged and dropped.
"""

import json
import os
import time
import urllib.error
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

dynamodb = boto3.client("dynamodb")
_session = boto3.Session()

ORDERS_TABLE = os.environ["ORDERS_TABLE"]
POS_PROXY_URL = os.environ["POS_PROXY_URL"].rstrip("/")
REGION = os.environ.get("AWS_REGION", _session.region_name or "us-east-1")
HTTP_TIMEOUT_S = 8


class RetryableError(Exception):
    """The POS or the proxy failed in a way worth retrying."""


def call_pos(path, payload):
    url = f"{POS_PROXY_URL}/{path}"
    body = json.dumps(payload).encode("utf-8")
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(_session.get_credentials().get_frozen_credentials(), "execute-api", REGION).add_auth(request)
    prepared = urllib.request.Request(url, data=body, headers=dict(request.headers), method="POST")
    try:
        with urllib.request.urlopen(prepared, timeout=HTTP_TIMEOUT_S) as resp:  # noqa: S310 - https URL from config
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        if err.code >= 500 or err.code == 429:
            raise RetryableError(f"POS answered {err.code}") from err
        return {"accepted": False, "reason": f"http_{err.code}"}
    except (urllib.error.URLError, TimeoutError) as err:
        raise RetryableError(str(err)) from err


def record_acceptance(order_id, answer):
    values = {
        ":accepted": {"S": "accepted"},
        ":now": {"S": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        ":ref": {"S": str(answer.get("pos_order_ref", ""))},
        ":placed": {"S": "placed"},
        ":assigned": {"S": "assigned"},
    }
    update = "SET restaurant_status = :accepted, restaurant_accepted_at = :now, pos_order_ref = :ref"
    if isinstance(answer.get("prep_minutes"), int):
        update += ", prep_minutes = :prep"
        values[":prep"] = {"N": str(answer["prep_minutes"])}
    try:
        dynamodb.update_item(
            TableName=ORDERS_TABLE,
            Key={"order_id": {"S": order_id}},
            UpdateExpression=update,
            ConditionExpression="#status IN (:placed, :assigned)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )
    except ClientError as err:
        if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def record_rejection(order_id, reason):
    try:
        dynamodb.update_item(
            TableName=ORDERS_TABLE,
            Key={"order_id": {"S": order_id}},
            UpdateExpression=(
                "SET restaurant_status = :rejected, #status = :cancelled, cancel_reason = :reason, "
                "#version = #version + :one"
            ),
            ConditionExpression="#status = :placed",
            ExpressionAttributeNames={"#status": "status", "#version": "version"},
            ExpressionAttributeValues={
                ":rejected": {"S": "rejected"},
                ":cancelled": {"S": "cancelled"},
                ":placed": {"S": "placed"},
                ":reason": {"S": f"restaurant_rejected:{reason}"},
                ":one": {"N": "1"},
            },
        )
    except ClientError as err:
        if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        # Already assigned: keep the assignment, flag the rejection for operations.
        dynamodb.update_item(
            TableName=ORDERS_TABLE,
            Key={"order_id": {"S": order_id}},
            UpdateExpression="SET restaurant_status = :rejected",
            ExpressionAttributeValues={":rejected": {"S": "rejected"}},
        )


def handle(message):
    stage, order = message["order_stage"], message["order"]
    rid, oid = order["restaurant_id"], order["order_id"]
    if stage == "placed":
        answer = call_pos(
            f"restaurants/{rid}/orders",
            {"order_id": oid, "items": json.loads(order.get("items", "[]")), "customer_id": order.get("customer_id")},
        )
        if answer.get("accepted"):
            record_acceptance(oid, answer)
        else:
            record_rejection(oid, answer.get("reason", "declined"))
        print(json.dumps({"event": "pos_order_sent", "order_id": oid, "accepted": bool(answer.get("accepted"))}))
    elif stage == "cancelled":
        call_pos(f"restaurants/{rid}/orders/{oid}/cancel", {"order_id": oid, "reason": order.get("cancel_reason")})
        print(json.dumps({"event": "pos_order_cancelled", "order_id": oid}))


def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            handle(json.loads(record["body"]))
        except (RetryableError, ClientError) as exc:
            print(json.dumps({"event": "restaurant_delivery_retry", "message_id": record["messageId"], "error": repr(exc)}))
            failures.append({"itemIdentifier": record["messageId"]})
        except (KeyError, ValueError) as exc:
            print(json.dumps({"event": "restaurant_message_invalid", "message_id": record["messageId"], "error": repr(exc)}))
    return {"batchItemFailures": failures}
