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
import urllib.error
import urllib.request

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

_deserializer = TypeDeserializer()
_clients = {}
_session = None


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


def _get(table, key):
    item = _client("dynamodb").get_item(TableName=table, Key=key).get("Item")
    return {k: _deserializer.deserialize(v) for k, v in item.items()} if item else None


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
        _log("vendor_contact_missing", request_id=message["request_id"], vendor_id=message["vendor_id"])
        return
    channel, notification = build_message(event_type, message, request, vendor)
    signed_post(f"{os.environ['NOTIFY_API_URL']}/{channel}", notification)
    _log("vendor_notified", request_id=message["request_id"], vendor_id=message["vendor_id"],
         event_type=event_type, channel=channel)


def handler(event, context):
    failures = []
    for record in event.get("Records", []):
        try:
            process(record)
        except PermanentError as exc:
            _log("vendor_notification_rejected", message_id=record.get("messageId"), error=str(exc))
        except Exception as exc:  # noqa: BLE001 - retried by SQS
            _log("vendor_notification_failed", message_id=record.get("messageId"), error=repr(exc))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
