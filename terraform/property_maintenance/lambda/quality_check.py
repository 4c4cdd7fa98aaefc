"""Quality check of a completed job (invoked asynchronously by the workflow controller).

1. Rules of the job's category from quality_rules (min_work_minutes, requires_notes).
2. Flags: work shorter than the minimum, missing completion notes, response or
   resolution SLA missed. quality_score = 100 - 25 per flag (floor 0).
3. Conditional update of the request (#status = completed AND #version = :v,
   version + 1); a job already checked is not checked again.
4. Archive of the request to S3: <prefix>/dt=YYYY-MM-DD/property_id=<id>/<request_id>.json
   (SSE-KMS, tagged with priority/category/quality_score for lifecycle and analytics).
5. Survey to the tenant via the survey topic.
"""

import json
import os
import urllib.parse
from datetime import datetime, timezone
from decimal import Decimal

from botocore.exceptions import ClientError

from maintenance_common import client, log, plain
from maintenance_common import parse_time as _parse

DEFAULT_RULE = {"min_work_minutes": 10, "requires_notes": False}


def _json_default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    return str(value)


def evaluate(request, rule):
    flags = []
    started, completed = _parse(request.get("started_at")), _parse(request.get("completed_at"))
    if started and completed:
        minutes = (completed - started).total_seconds() / 60
        if minutes < float(rule.get("min_work_minutes", 0)):
            flags.append("work_duration_below_minimum")
    if rule.get("requires_notes") and not request.get("vendor_notes"):
        flags.append("missing_completion_notes")
    if request.get("sla_response_met") is False:
        flags.append("response_sla_missed")
    if request.get("sla_resolution_met") is False:
        flags.append("resolution_sla_missed")
    return max(0, 100 - 25 * len(flags)), flags


def archive_key(request):
    completed = _parse(request.get("completed_at")) or datetime.now(timezone.utc)
    prefix = os.environ.get("ARCHIVE_PREFIX", "requests")
    return f"{prefix}/dt={completed:%Y-%m-%d}/property_id={request['property_id']}/{request['request_id']}.json"


def handler(event, context):
    request_id = event["request_id"]
    table = os.environ["REQUESTS_TABLE"]
    key = {"request_id": {"S": request_id}}
    item = client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    if not item:
        log("quality_check_skipped", request_id=request_id, reason="not_found")
        return {"request_id": request_id, "result": "not_found"}
    request = plain(item)
    if request.get("status") != "completed":
        return {"request_id": request_id, "result": "not_completed"}
    if request.get("quality_checked_at"):
        return {"request_id": request_id, "result": "already_checked"}

    rule_item = client("dynamodb").get_item(
        TableName=os.environ["QUALITY_RULES_TABLE"], Key={"category": {"S": str(request.get("category"))}}
    ).get("Item")
    rule = plain(rule_item) if rule_item else DEFAULT_RULE
    score, flags = evaluate(request, rule)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        updated = client("dynamodb").update_item(
            TableName=table,
            Key=key,
            UpdateExpression=(
                "SET quality_score = :score, quality_flags = :flags, quality_checked_at = :now, "
                "updated_at = :now, #version = #version + :one"
            ),
            ConditionExpression="#status = :completed AND #version = :v AND attribute_not_exists(quality_checked_at)",
            ExpressionAttributeNames={"#status": "status", "#version": "version"},
            ExpressionAttributeValues={
                ":score": {"N": str(score)},
                ":flags": {"L": [{"S": f} for f in flags]},
                ":now": {"S": now},
                ":one": {"N": "1"},
                ":completed": {"S": "completed"},
                ":v": {"N": str(int(request["version"]))},
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            # Changed under us (e.g. the escalation marked it): let the async retry re-read it.
            raise RuntimeError(f"request {request_id} changed during the quality check") from exc
        raise
    request = plain(updated["Attributes"])

    key_name = archive_key(request)
    tags = urllib.parse.urlencode({
        "priority": request.get("priority", "standard"),
        "category": request.get("category", "general"),
        "quality_score": str(score),
    })
    client("s3").put_object(
        Bucket=os.environ["ARCHIVE_BUCKET"],
        Key=key_name,
        Body=json.dumps(request, default=_json_default, sort_keys=True).encode("utf-8"),
        ContentType="application/json",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=os.environ["KMS_KEY_ARN"],
        Tagging=tags,
    )
    client("sns").publish(
        TopicArn=os.environ["SURVEY_TOPIC"],
        Message=json.dumps({
            "event_type": "survey",
            "request_id": request_id,
            "tenant_id": request.get("tenant_id"),
            "property_id": request.get("property_id"),
            "vendor_id": request.get("vendor_id"),
            "quality_score": score,
        }),
        MessageAttributes={
            "event_type": {"DataType": "String", "StringValue": "survey"},
            "property_id": {"DataType": "String", "StringValue": str(request.get("property_id", ""))},
        },
    )
    log("quality_checked", request_id=request_id, quality_score=score, flags=flags, archive_key=key_name)
    return {"request_id": request_id, "result": "checked", "quality_score": score, "flags": flags}
