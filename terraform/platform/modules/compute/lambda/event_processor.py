"""Platform event processor: records account events exactly once in the events table.

Invoked asynchronously (or directly) with one event or a batch ({"events": [...]}). Each event is
{"event_id": str, "account_id": str, "type": "credit"|"debit", "amount": number > 0, "occurred_at": ISO-8601}.
An event is stored with a conditional PutItem on `attribute_not_exists(event_id)`, so a retried invocation
(Lambda retries failed async events, see the compute module's event invoke config) never records it twice.
Invalid events are reported, not stored; a DynamoDB failure raises, so Lambda retries and finally sends the
invocation to the failure queue.
"""

import os
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

import boto3
from botocore.exceptions import ClientError

_table = boto3.resource("dynamodb").Table(os.environ["EVENTS_TABLE"])
TYPES = ("credit", "debit")


def validate(event):
    """The item to store, or a reason the event is invalid."""
    if not isinstance(event, dict):
        return None, "event is not an object"
    for field in ("event_id", "account_id", "type", "amount", "occurred_at"):
        if field not in event:
            return None, f"missing {field}"
    if event["type"] not in TYPES:
        return None, f"type must be one of {', '.join(TYPES)}"
    try:
        amount = Decimal(str(event["amount"]))
    except InvalidOperation:
        return None, "amount is not a number"
    if not amount.is_finite() or amount <= 0:
        return None, "amount must be positive"
    try:
        occurred = datetime.fromisoformat(str(event["occurred_at"]).replace("Z", "+00:00"))
    except ValueError:
        return None, "occurred_at is not ISO-8601"
    return {
        "event_id": str(event["event_id"]),
        "account_id": str(event["account_id"]),
        "type": event["type"],
        "amount": amount,
        "occurred_at": occurred.astimezone(timezone.utc).isoformat(),
        "recorded_at": datetime.now(timezone.utc).isoformat(),
    }, None


def record(item):
    """True if stored now, False if the event was already recorded."""
    try:
        _table.put_item(Item=item, ConditionExpression="attribute_not_exists(event_id)")
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise


def handler(event, context):
    events = event.get("events", [event]) if isinstance(event, dict) else event
    summary = {"recorded": 0, "duplicates": 0, "invalid": []}
    for item_event in events:
        item, problem = validate(item_event)
        if problem:
            summary["invalid"].append({"event": item_event, "reason": problem})
            continue
        summary["recorded" if record(item) else "duplicates"] += 1
    return summary
