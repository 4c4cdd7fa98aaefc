"""Tenant notifications (SQS consumer).

The tenant-notifications queue receives, via SNS raw delivery:
* request_assigned (request-assigned topic) — acknowledgement with the assigned vendor;
* status_changed with status in_progress / completed (status-updates topic);
* survey (survey topic) — the satisfaction survey after completion.

The tenant's contact (phone/email, preferred channel) is read from the request item;
the message goes through the external SMS/email API behind the API Gateway HTTP proxy
(POST {NOTIFY_API_URL}/{sms|email}, SigV4-signed).
"""

import json
import os

from maintenance_common import client, log, plain, process_sqs_batch, signed_post

TEMPLATES = {
    "request_assigned": ("tenant-ack", "Your request {rid} ({category}) has been assigned to a vendor; they will contact you shortly."),
    "in_progress": ("tenant-in-progress", "Work on your request {rid} ({category}) has started."),
    "completed": ("tenant-completed", "Your request {rid} ({category}) has been completed."),
    "survey": ("tenant-survey", "How did we do on request {rid}? Rate the repair: {survey_url}"),
}


def _attribute(record, name):
    return (record.get("messageAttributes") or {}).get(name, {}).get("stringValue")


def kind_of(record, message):
    event_type = _attribute(record, "event_type") or message.get("event_type")
    if event_type == "status_changed":
        return _attribute(record, "status") or message.get("status")
    return event_type


def process(record):
    message = json.loads(record["body"])
    kind = kind_of(record, message)
    if kind not in TEMPLATES:
        log("tenant_notification_ignored", kind=kind, message_id=record.get("messageId"))
        return
    item = client("dynamodb").get_item(
        TableName=os.environ["REQUESTS_TABLE"], Key={"request_id": {"S": message["request_id"]}}
    ).get("Item")
    request = plain(item) if item else {}
    contact = request.get("contact") or {}
    channel = contact.get("preferred_channel") or ("sms" if contact.get("phone") else "email")
    to = contact.get("phone") if channel == "sms" else contact.get("email")
    if not to:
        log("tenant_contact_missing", request_id=message["request_id"], kind=kind)
        return
    template, text = TEMPLATES[kind]
    signed_post(f"{os.environ['NOTIFY_API_URL']}/{channel}", {
        "channel": channel,
        "to": to,
        "template": template,
        "message": text.format(rid=message["request_id"], category=request.get("category", "maintenance"),
                               survey_url=message.get("survey_url", "")),
        "reference": message["request_id"],
        "idempotency_key": f"{message['request_id']}:{kind}",
    })
    log("tenant_notified", request_id=message["request_id"], kind=kind, channel=channel)


def handler(event, context):
    return process_sqs_batch(event, process, "tenant_notification_failed", "tenant_notification_rejected")
