"""customer_notifications queue -> external email/SMS/push service and customer WebSockets.

Every stage is published to the external-notifications topic (HTTPS subscription to the
notification service; its message attributes carry the stage and customer), and pushed to the
WebSocket connections tracking the order (connections.order_id-index).
"""

import json
import os

import boto3
from botocore.exceptions import ClientError

import ws_connections

sns = boto3.client("sns")

EXTERNAL_TOPIC_ARN = os.environ["EXTERNAL_NOTIFICATIONS_TOPIC_ARN"]
TEXT = {
    "placed": "We received your order and sent it to the restaurant.",
    "assigned": "A driver has been assigned to your order.",
    "picked_up": "Your order is on its way.",
    "delivered": "Your order has been delivered. Enjoy!",
    "cancelled": "Your order was cancelled; you have not been charged.",
}


def push_to_trackers(order_id, payload):
    data = json.dumps(payload).encode("utf-8")
    return sum(ws_connections.post(c, data) for c in ws_connections.order_connections(order_id))


def handle(message):
    stage, order = message["order_stage"], message["order"]
    order_id, customer_id = order["order_id"], order["customer_id"]
    notification = {
        "customer_id": customer_id,
        "order_id": order_id,
        "order_stage": stage,
        "text": TEXT.get(stage, f"Order update: {stage}"),
        "channels": ["push", "email"] if stage in ("placed", "delivered", "cancelled") else ["push"],
    }
    sns.publish(
        TopicArn=EXTERNAL_TOPIC_ARN,
        Message=json.dumps(notification),
        MessageAttributes={
            "order_stage": {"DataType": "String", "StringValue": stage},
            "customer_id": {"DataType": "String", "StringValue": customer_id},
        },
    )
    sent = push_to_trackers(order_id, {"type": "order_status", "order_id": order_id, "status": stage})
    print(json.dumps({"event": "customer_notified", "order_id": order_id, "stage": stage, "ws_connections": sent}))


def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            handle(json.loads(record["body"]))
        except ClientError as exc:
            print(json.dumps({"event": "customer_notify_retry", "message_id": record["messageId"], "error": repr(exc)}))
            failures.append({"itemIdentifier": record["messageId"]})
        except (KeyError, ValueError) as exc:
            print(json.dumps({"event": "customer_message_invalid", "message_id": record["messageId"], "error": repr(exc)}))
    return {"batchItemFailures": failures}
