"""Workflow controller: reacts to status changes (SQS from the status-updates topic).

* in_progress -> creates the EventBridge Scheduler schedule "checkin-<request_id>" in the
  check-in group (CHECKIN_EXPRESSION, ending CHECKIN_MAX_HOURS later, deleted after
  completion). Each firing invokes this function with {"action": "check_in", ...}.
* completed   -> deletes the check-in schedule and starts the quality check
  asynchronously (which scores the job, sends the survey and archives to S3).
* check_in    -> if the job is still in_progress, pings the vendor (request-assigned
  topic, event_type vendor_checkin); otherwise removes the schedule.

Creating an existing schedule / deleting a missing one is treated as done, so SQS
redeliveries are harmless.
"""

import json
import os
from datetime import datetime, timedelta, timezone

from botocore.exceptions import ClientError

from maintenance_common import client, log, process_sqs_batch


def schedule_name(request_id):
    return f"checkin-{request_id}"[:64]


def start_checkins(message):
    now = datetime.now(timezone.utc)
    try:
        client("scheduler").create_schedule(
            Name=schedule_name(message["request_id"]),
            GroupName=os.environ["SCHEDULE_GROUP"],
            ScheduleExpression=os.environ["CHECKIN_EXPRESSION"],
            StartDate=now + timedelta(minutes=1),
            EndDate=now + timedelta(hours=int(os.environ.get("CHECKIN_MAX_HOURS", "72"))),
            FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
            ActionAfterCompletion="DELETE",
            State="ENABLED",
            Target={
                "Arn": os.environ["CHECKIN_TARGET_ARN"],
                "RoleArn": os.environ["SCHEDULER_ROLE_ARN"],
                "Input": json.dumps({
                    "action": "check_in",
                    "request_id": message["request_id"],
                    "vendor_id": message.get("vendor_id"),
                }),
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
                "DeadLetterConfig": {"Arn": os.environ["CHECKIN_DLQ_ARN"]},
            },
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConflictException":
            raise
    log("checkin_schedule_created", request_id=message["request_id"])


def stop_checkins(request_id):
    try:
        client("scheduler").delete_schedule(
            Name=schedule_name(request_id), GroupName=os.environ["SCHEDULE_GROUP"]
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


def start_quality_check(message):
    client("lambda").invoke(
        FunctionName=os.environ["QUALITY_CHECK_FUNCTION"],
        InvocationType="Event",
        Payload=json.dumps({"request_id": message["request_id"], "vendor_id": message.get("vendor_id")}).encode(),
    )
    log("quality_check_started", request_id=message["request_id"])


def check_in(event):
    request_id = event["request_id"]
    item = client("dynamodb").get_item(
        TableName=os.environ["REQUESTS_TABLE"],
        Key={"request_id": {"S": request_id}},
        ProjectionExpression="#s, vendor_id, property_id, priority, #v",
        ExpressionAttributeNames={"#s": "status", "#v": "version"},
    ).get("Item")
    status = item.get("status", {}).get("S") if item else None
    if status != "in_progress":
        stop_checkins(request_id)
        return {"request_id": request_id, "action": "schedule_removed", "status": status}
    vendor_id = item.get("vendor_id", {}).get("S", "")
    priority = item.get("priority", {}).get("S", "standard")
    client("sns").publish(
        TopicArn=os.environ["REQUEST_ASSIGNED_TOPIC"],
        Message=json.dumps({
            "event_type": "vendor_checkin",
            "request_id": request_id,
            "vendor_id": vendor_id,
            "property_id": item.get("property_id", {}).get("S"),
            "priority": priority,
            "version": item.get("version", {}).get("N"),
        }),
        MessageAttributes={
            "event_type": {"DataType": "String", "StringValue": "vendor_checkin"},
            "priority": {"DataType": "String", "StringValue": priority},
            "vendor_id": {"DataType": "String", "StringValue": vendor_id or "unknown"},
        },
    )
    log("vendor_checkin_sent", request_id=request_id, vendor_id=vendor_id)
    return {"request_id": request_id, "action": "checkin_sent"}


def process(record):
    message = json.loads(record["body"])
    attributes = record.get("messageAttributes") or {}
    status = attributes.get("status", {}).get("stringValue") or message.get("status")
    if status == "in_progress":
        start_checkins(message)
    elif status == "completed":
        stop_checkins(message["request_id"])
        start_quality_check(message)
    else:
        log("workflow_status_ignored", request_id=message.get("request_id"), status=status)


def handler(event, context):
    if event.get("action") == "check_in":
        return check_in(event)
    return process_sqs_batch(event, process, "workflow_event_failed")
