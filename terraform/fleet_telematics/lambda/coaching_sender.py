"""Coaching sender: SNS driver-coaching -> SQS driver_training_queue (read by the external training system).

Each coaching recommendation (from fuel analytics) becomes a training assignment: the module that matches the
inefficiency, the evidence, and a due date. Invoked asynchronously by SNS; an exception makes Lambda retry and
finally park the event in the async DLQ.
"""

from __future__ import annotations

import datetime as dt
import json
import os


from telematics_common import aws_client, log_event

TRAINING_QUEUE_URL = os.environ.get("TRAINING_QUEUE_URL", "")

MODULES = {
    "excessive_idle": ("IDLE-101", "Idle reduction: APU use, shutdown timers, cab comfort without idling"),
    "low_mpg": ("ECO-201", "Fuel-efficient driving: progressive shifting, cruise control, momentum"),
    "harsh_driving": ("SAFE-110", "Smooth acceleration and braking"),
}


def assignment(recommendation: dict) -> dict:
    module_id, title = MODULES.get(recommendation.get("coaching_type"), ("ECO-100", "Fuel efficiency basics"))
    due = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=14)
    return {
        "vehicle_id": recommendation["vehicle_id"],
        "driver_id": recommendation.get("driver_id"),
        "fleet_id": recommendation.get("fleet_id", "unassigned"),
        "module_id": module_id,
        "module_title": title,
        "reason": recommendation.get("detail", ""),
        "evidence": {k: recommendation[k] for k in ("mpg", "benchmark_mpg", "idle_ratio", "day") if k in recommendation},
        "due_date": due.isoformat(),
    }


def handler(event, context):
    entries = []
    for record in event.get("Records", []):
        sns = record["Sns"]
        entries.append({"Id": str(len(entries)), "MessageBody": json.dumps(assignment(json.loads(sns["Message"]))),
                        "MessageAttributes": {"source_message_id": {"DataType": "String", "StringValue": sns["MessageId"]}}})
    failed = []
    for start in range(0, len(entries), 10):
        response = aws_client("sqs").send_message_batch(QueueUrl=TRAINING_QUEUE_URL, Entries=entries[start:start + 10])
        failed.extend(response.get("Failed", []))
    log_event("coaching_batch", assignments=len(entries), failed=len(failed))
    if failed:
        raise RuntimeError(f"{len(failed)} training assignments not queued: {failed[0].get('Message')}")
    return {"queued": len(entries)}
