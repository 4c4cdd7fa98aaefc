"""Orders table stream -> SNS order-events, MessageAttribute order_stage.

The event source mapping already filters to INSERT/MODIFY whose new status is one of the
order stages; here a MODIFY that did not change the status (e.g. proof_of_delivery or
restaurant_status updates) is skipped so each stage is published once per transition.
SNS subscription filter policies on order_stage route the message to the restaurant,
driver and customer queues.
"""

import json
import os
from decimal import Decimal

import boto3
from boto3.dynamodb.types import TypeDeserializer

sns = boto3.client("sns")
TOPIC_ARN = os.environ["ORDER_EVENTS_TOPIC_ARN"]
STAGES = {"placed", "assigned", "picked_up", "delivered", "cancelled"}
_deserializer = TypeDeserializer()


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def image(raw):
    return _plain({k: _deserializer.deserialize(v) for k, v in (raw or {}).items()})


def publish(record):
    new = image(record["dynamodb"].get("NewImage"))
    old = image(record["dynamodb"].get("OldImage"))
    stage = new.get("status")
    if stage not in STAGES or (record["eventName"] == "MODIFY" and old.get("status") == stage):
        return False
    attributes = {
        "order_stage": {"DataType": "String", "StringValue": stage},
        "restaurant_id": {"DataType": "String", "StringValue": new["restaurant_id"]},
        "region": {"DataType": "String", "StringValue": new.get("region", "unknown")},
    }
    if new.get("driver_id"):
        attributes["driver_id"] = {"DataType": "String", "StringValue": new["driver_id"]}
    sns.publish(
        TopicArn=TOPIC_ARN,
        Message=json.dumps({"order_stage": stage, "previous_stage": old.get("status"), "order": new}),
        MessageAttributes=attributes,
    )
    return True


def handler(event, context):
    published = 0
    for record in event["Records"]:
        try:
            published += publish(record)
        except Exception as exc:  # noqa: BLE001 - retried by the stream from this record
            print(json.dumps({"event": "order_event_publish_failed", "error": repr(exc)}))
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    print(json.dumps({"event": "order_events_published", "count": published}))
    return {"batchItemFailures": []}
