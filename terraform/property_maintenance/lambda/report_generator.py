"""Compliance report generator (SQS consumer of compliance-alerts, event_type sla_violation).

For each vendor's daily violations message: render a PDF through the external PDF API
(API Gateway HTTP proxy, POST {PDF_API_URL}/render, SigV4-signed) and store it in the
compliance_reports bucket at reports/dt=<date>/vendor_id=<id>/<report>.pdf (SSE-KMS,
object lock retention from the bucket default). Any failure logs
{"event": "report_generation_failed"} — the metric filter behind the
report_generation_errors alarm — and returns the message for retry (then the DLQ).
"""

import base64
import hashlib
import json
import os
import urllib.parse
import urllib.request

from maintenance_common import client, log, process_sqs_batch, signed_request


def signed_post(url, payload, timeout=60):
    """POST JSON to an AWS_IAM-protected API Gateway route; returns (body, content_type)."""
    http_request = signed_request(url, payload, {"Content-Type": "application/json", "Accept": "application/pdf"})
    with urllib.request.urlopen(http_request, timeout=timeout) as response:  # noqa: S310 - https URL from config
        return response.read(), response.headers.get("Content-Type", "")


def pdf_bytes(body, content_type):
    """The PDF either comes raw or as JSON {"pdf_base64": ...}."""
    if "json" in content_type:
        document = json.loads(body)
        body = base64.b64decode(document["pdf_base64"])
    if not body.startswith(b"%PDF"):
        raise ValueError("the PDF API did not return a PDF document")
    return body


def vendor_score(vendor_id):
    item = client("dynamodb").get_item(
        TableName=os.environ["VENDOR_SCORES_TABLE"], Key={"vendor_id": {"S": vendor_id}}
    ).get("Item") or {}
    return {
        "penalty_points": float(item.get("penalty_points", {}).get("N", "0")),
        "violation_count": int(float(item.get("violation_count", {}).get("N", "0"))),
    }


def process(record):
    message = json.loads(record["body"])
    vendor_id = message["vendor_id"]
    report_date = message["report_date"]
    digest = hashlib.sha256(record["body"].encode("utf-8")).hexdigest()[:16]
    body, content_type = signed_post(f"{os.environ['PDF_API_URL']}/render", {
        "template": "vendor-sla-violations",
        "data": {**message, "vendor_totals": vendor_score(vendor_id)},
    })
    document = pdf_bytes(body, content_type)
    key = f"reports/dt={report_date}/vendor_id={vendor_id}/sla-violations-{digest}.pdf"
    client("s3").put_object(
        Bucket=os.environ["REPORTS_BUCKET"],
        Key=key,
        Body=document,
        ContentType="application/pdf",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=os.environ["KMS_KEY_ARN"],
        Tagging=urllib.parse.urlencode({"vendor_id": vendor_id, "report_date": report_date}),
    )
    log("report_generated", vendor_id=vendor_id, report_date=report_date, key=key, bytes=len(document))


def handler(event, context):
    # report_generation_failed is counted by the metric filter; the message is retried by SQS.
    return process_sqs_batch(event, process, "report_generation_failed")
