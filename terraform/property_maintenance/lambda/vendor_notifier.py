"""Vendor notifications (SQS consumer of the request-assigned fan-out).

Message types (SNS raw delivery, attribute event_type):
* request_assigned — a work order for the newly assigned vendor;
* vendor_checkin   — the periodic check-in ping for a job still in_progress.

The vendor's contact comes from vendor_availability; the message is sent through the
external SMS/email API, reached via the API Gateway HTTP proxy
(POST {NOTIFY_API_URL}/{sms|email}, SigV4-signed: the route uses AWS_IAM).
Permanent provider errors (4xx other than 429) are logged and dropped; transient ones
return the message as a batch item failure so SQS retries it (then the DLQ).
"""

import json
import os

from maintenance_common import client, log, plain, process_sqs_batch, signed_post


def _get(table, key):
    item = client("dynamodb").get_item(TableName=table, Key=key).get("Item")
    return plain(item) if item else None


def _attribute(record, name):
    return (record.get("messageAttributes") or {}).get(name, {}).get("stringValue")


def build_message(event_type, message, request, vendor):
    reference = message["request_id"]
    if event_type == "vendor_checkin":
        text = (f"Check-in: job {reference} ({request.get('category')}) at property "
                f"{request.get('property_id')} unit {request.get('unit_id')} is still in progress. "
                "Please post a status update.")
        template = "vendor-checkin"
    else:
        text = (f"New {message.get('priority', 'standard')} work order {reference}: "
                f"{request.get('category')} at property {request.get('property_id')} unit "
                f"{request.get('unit_id')} ({message.get('distance_km', '?')} km). "
                f"Details: {str(request.get('description', ''))[:280]}")
        template = "vendor-work-order"
    channel = "sms" if vendor.get("phone") else "email"
    return channel, {
        "channel": channel,
        "to": vendor.get("phone") if channel == "sms" else vendor.get("email"),
        "template": template,
        "message": text,
        "reference": reference,
        "idempotency_key": f"{reference}:{event_type}:{message.get('version', '')}",
    }


def process(record):
    message = json.loads(record["body"])
    event_type = _attribute(record, "event_type") or message.get("event_type", "request_assigned")
    vendor = _get(os.environ["VENDOR_AVAILABILITY"], {"vendor_id": {"S": message["vendor_id"]}})
    request = _get(os.environ["REQUESTS_TABLE"], {"request_id": {"S": message["request_id"]}}) or {}
    if not vendor or not (vendor.get("phone") or vendor.get("email")):
        log("vendor_contact_missing", request_id=message["request_id"], vendor_id=message["vendor_id"])
        return
    channel, notification = build_message(event_type, message, request, vendor)
    signed_post(f"{os.environ['NOTIFY_API_URL']}/{channel}", notification)
    log("vendor_notified", request_id=message["request_id"], vendor_id=message["vendor_id"],
         event_type=event_type, channel=channel)


def handler(event, context):
    return process_sqs_batch(event, process, "vendor_notification_failed", "vendor_notification_rejected")
