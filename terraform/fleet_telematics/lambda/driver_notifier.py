"""Driver notifier: SQS driver_notifications -> in-cab message through the telematics API (API Gateway mock).

Messages come raw from SNS vehicle-alerts (critical/high) and hos-violations (critical/high). Each becomes a
short in-cab text POSTed to TELEMATICS_API_URL (POST /messages, body per schemas/driver_message.json), signed
with SigV4 for the API's AWS_IAM authorization. 2xx = delivered; 429 and 5xx are retried through SQS
(batchItemFailures); other 4xx mean the message itself is wrong and are logged, not retried.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from telematics_common import log_event

API_URL = os.environ.get("TELEMATICS_API_URL", "")
REGION = os.environ.get("AWS_REGION", "us-east-1")
TIMEOUT_S = 5

_SESSION = None

TEMPLATES = {
    "hos_violation": "HOS: {detail}. Stop at the next safe location.",
    "coolant_critical": "ENGINE OVERHEAT: {detail}. Pull over safely and shut down the engine.",
    "coolant_high": "Engine temperature high: {detail}. Reduce load and monitor.",
    "dtc_critical": "Engine fault: {detail}. Contact maintenance before continuing.",
}


def _credentials():
    global _SESSION
    if _SESSION is None:
        _SESSION = boto3.Session()
    return _SESSION.get_credentials().get_frozen_credentials()


def driver_message(alert: dict, message_id: str) -> dict:
    kind = "hos_violation" if "rule" in alert else alert.get("alert_type", "alert")
    template = TEMPLATES.get(kind, "{detail}")
    body = {
        "vehicle_id": alert["vehicle_id"],
        "severity": alert.get("severity", "high") if alert.get("severity") in ("critical", "high", "medium", "low") else "high",
        "category": kind,
        "text": template.format(detail=alert.get("detail", kind))[:480],
        "reference_id": message_id,
    }
    if alert.get("driver_id"):
        body["driver_id"] = alert["driver_id"]
    return body


def send(body: dict) -> int:
    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=API_URL, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(_credentials(), "execute-api", REGION).add_auth(request)
    prepared = urllib.request.Request(API_URL, data=data, method="POST", headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(prepared, timeout=TIMEOUT_S) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def handler(event, context):
    failures = []
    sent = dropped = 0
    for record in event.get("Records", []):
        try:
            body = driver_message(json.loads(record["body"]), record["messageId"])
        except (KeyError, ValueError) as exc:
            dropped += 1
            log_event("driver_message_invalid", message_id=record["messageId"], error=str(exc))
            continue
        try:
            status = send(body)
        except OSError as exc:  # timeouts, connection errors: retry through SQS
            log_event("driver_message_retry", message_id=record["messageId"], error=str(exc))
            failures.append(record["messageId"])
            continue
        if 200 <= status < 300:
            sent += 1
        elif status == 429 or status >= 500:
            failures.append(record["messageId"])
        else:
            dropped += 1
            log_event("driver_message_rejected", message_id=record["messageId"], status=status)
    log_event("driver_batch", sent=sent, dropped=dropped, retry=len(failures))
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}
