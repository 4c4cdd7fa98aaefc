"""HOS report generator: SNS hos-violations -> violation report in the object-locked compliance bucket.

For every violation the report holds the violation, the driver's records of duty status for the 8 days before it
(the period an inspector may ask for, 49 CFR 395.8(k)(2)) and the duty-time totals, as JSON under
hos-violations/fleet_id=<fleet>/date=<yyyy-mm-dd>/<driver>-<rule>-<ts>.json. The bucket's default COMPLIANCE
object lock keeps it immutable for the retention period; PutObject sends a SHA-256 checksum, which object lock
requires. Invoked asynchronously by SNS: an exception makes Lambda retry, then park the event in the async DLQ.
"""

from __future__ import annotations

import datetime as dt
import json
import os


from telematics_common import aws_client, dumps, log_event

REPORTS_BUCKET = os.environ.get("REPORTS_BUCKET", "")
DRIVER_LOGS_TABLE = os.environ.get("DRIVER_LOGS_TABLE", "driver-logs")
KMS_KEY_ARN = os.environ.get("KMS_KEY_ARN", "")
LOOKBACK_DAYS = 8


def duty_log(driver_id: str, until_ms: int) -> list[dict]:
    start = until_ms - LOOKBACK_DAYS * 86_400_000
    entries = []
    paginator = aws_client("dynamodb").get_paginator("query")
    for page in paginator.paginate(
        TableName=DRIVER_LOGS_TABLE,
        KeyConditionExpression="driver_id = :d AND sk BETWEEN :from AND :to",
        ExpressionAttributeValues={":d": {"S": driver_id}, ":from": {"S": f"LOG#{start:013d}"},
                                   ":to": {"S": f"LOG#{until_ms:013d}"}},
    ):
        for item in page.get("Items", []):
            entries.append({"ts": int(item["ts"]["N"]), "duty_status": item["duty_status"]["S"],
                            "vehicle_id": item.get("vehicle_id", {}).get("S")})
    return entries


def totals(entries: list[dict], until_ms: int) -> dict:
    hours: dict[str, float] = {}
    for current, following in zip(entries, entries[1:] + [{"ts": until_ms}]):
        hours[current["duty_status"]] = hours.get(current["duty_status"], 0.0) + (following["ts"] - current["ts"]) / 3_600_000
    return {status: round(value, 2) for status, value in hours.items()}


def handler(event, context):
    written = []
    for record in event.get("Records", []):
        violation = json.loads(record["Sns"]["Message"])
        entries = duty_log(violation["driver_id"], violation["ts"])
        date = dt.datetime.fromtimestamp(violation["ts"] / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d")
        fleet = violation.get("fleet_id") or "unassigned"
        key = (f"hos-violations/fleet_id={fleet}/date={date}/"
               f"{violation['driver_id']}-{violation['rule']}-{violation['ts']}.json")
        report = {
            "report_type": "hos_violation",
            "regulation": "49 CFR 395.3 (property-carrying vehicles)",
            "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "sns_message_id": record["Sns"]["MessageId"],
            "violation": violation,
            "records_of_duty_status": entries,
            "duty_hours_last_8_days": totals(entries, violation["ts"]),
        }
        arguments = {"Bucket": REPORTS_BUCKET, "Key": key, "Body": dumps(report).encode(),
                     "ContentType": "application/json", "ChecksumAlgorithm": "SHA256",
                     "ServerSideEncryption": "aws:kms"}
        if KMS_KEY_ARN:
            arguments["SSEKMSKeyId"] = KMS_KEY_ARN
        aws_client("s3").put_object(**arguments)
        written.append(key)
    log_event("hos_reports_written", count=len(written))
    return {"reports": written}
