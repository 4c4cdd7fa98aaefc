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
import urllib.error
import urllib.request

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

_deserializer = TypeDeserializer()
_clients = {}
_session = None

TEMPLATES = {
    "request_assigned": ("tenant-ack", "Your request {rid} ({category}) has been assigned to a vendor; they will contact you shortly."),
    "in_progress": ("tenant-in-progress", "Work on your request {rid} ({category}) has started."),
    "completed": ("tenant-completed", "Your request {rid} ({category}) has been completed."),
    "survey": ("tenant-survey", "How did we do on request {rid}? Rate the repair: {survey_url}"),
}


def _client(name):
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def _log(event, **fields):
    print(json.dumps({"event": event, **fields}, default=str))


class PermanentError(Exception):
    """The provider rejected the message; retrying cannot help."""


def signed_post(url, payload, timeout=10):
    """POST JSON to an AWS_IAM-protected API Gateway route; returns the response body."""
    global _session
    _session = _session or boto3.session.Session()
    body = json.dumps(payload).encode("utf-8")
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    credentials = _session.get_credentials()
    if credentials is not None:
        region = _session.region_name or os.environ.get("AWS_REGION", "us-east-1")
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    http_request = urllib.request.Request(url, data=body, headers=dict(request.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:  # noqa: S310 - https URL from config
            return response.read()
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code != 429:
            raise PermanentError(f"HTTP {exc.code}: {exc.read()[:200]!r}") from exc
        raise


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
        _log("tenant_notification_ignored", kind=kind, message_id=record.get("messageId"))
        return
    item = _client("dynamodb").get_item(
        TableName=os.environ["REQUESTS_TABLE"], Key={"request_id": {"S": message["request_id"]}}
    ).get("Item")
    request = {k: _deserializer.deserialize(v) for k, v in item.items()} if item else {}
    contact = request.get("contact") or {}
    channel = contact.get("preferred_channel") or ("sms" if contact.get("phone") else "email")
    to = contact.get("phone") if channel == "sms" else contact.get("email")
    if not to:
        _log("tenant_contact_missing", request_id=message["request_id"], kind=kind)
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
    _log("tenant_notified", request_id=message["request_id"], kind=kind, channel=channel)


def handler(event, context):
    failures = []
    for record in event.get("Records", []):
        try:
            process(record)
        except PermanentError as exc:
            _log("tenant_notification_rejected", message_id=record.get("messageId"), error=str(exc))
        except Exception as exc:  # noqa: BLE001 - retried by SQS
            _log("tenant_notification_failed", message_id=record.get("messageId"), error=repr(exc))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
