"""DOT report builder: the two Lambda steps of the daily DOT reporting state machine.

action "collect": the reporting day is the UTC day before the execution; returns every fleet id from Aurora
vehicle_history split into batches of FLEETS_PER_BATCH (the distributed Map's items).

action "build": for each fleet of a batch
1. Aurora: the fleet's vehicles (vehicle_history), their inspections of the day (inspections: DVIRs per
   49 CFR 396.11) and the drivers seen on them;
2. DynamoDB driver_logs: each driver's records of duty status and HOS violations of the day;
3. the external FMCSA-compliant PDF API renders the report (API key from Secrets Manager, HTTPS);
4. the PDF is written to the object-locked reports bucket under dot-reports/fleet_id=<id>/date=<day>/.
Returns one summary per fleet; the state machine writes it to compliance_status. An unreachable PDF API raises
ExternalApiUnavailable, which the state machine retries.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.error
import urllib.request


from telematics_common import aws_client, db_connection, ensure_schema, log_event, reset_db, secret_string

DRIVER_LOGS_TABLE = os.environ.get("DRIVER_LOGS_TABLE", "driver-logs")
REPORTS_BUCKET = os.environ.get("REPORTS_BUCKET", "")
KMS_KEY_ARN = os.environ.get("KMS_KEY_ARN", "")
PDF_API_URL = os.environ.get("PDF_API_URL", "")
PDF_API_KEY_SECRET_ARN = os.environ.get("PDF_API_KEY_SECRET_ARN", "")
FLEETS_PER_BATCH = int(os.environ.get("FLEETS_PER_BATCH", "10"))
PDF_TIMEOUT_S = 30


class ExternalApiUnavailable(Exception):
    """The PDF rendering API did not answer or answered 5xx/429; Step Functions retries the batch."""


_API_KEY = None


def _api_key() -> str:
    global _API_KEY
    if _API_KEY is None:
        _API_KEY = secret_string(PDF_API_KEY_SECRET_ARN)
    return _API_KEY


def report_day(execution_start: str | None) -> str:
    start = dt.datetime.fromisoformat(execution_start.replace("Z", "+00:00")) if execution_start else dt.datetime.now(dt.timezone.utc)
    return (start.date() - dt.timedelta(days=1)).isoformat()


def collect(event: dict) -> dict:
    conn = db_connection()
    ensure_schema(conn)
    fleets = [row[0] for row in conn.run("SELECT DISTINCT fleet_id FROM vehicle_history ORDER BY fleet_id")]
    batches = [fleets[i:i + FLEETS_PER_BATCH] for i in range(0, len(fleets), FLEETS_PER_BATCH)]
    return {"report_date": report_day(event.get("execution_start")), "batches": batches, "fleet_count": len(fleets)}


def driver_day(driver_id: str, day: str) -> dict:
    start = int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc).timestamp() * 1000)
    end = start + 86_400_000 - 1
    logs, violations = [], []
    for prefix, sink in (("LOG#", logs), ("VIOLATION#", violations)):
        paginator = aws_client("dynamodb").get_paginator("query")
        for page in paginator.paginate(
            TableName=DRIVER_LOGS_TABLE,
            KeyConditionExpression="driver_id = :d AND sk BETWEEN :from AND :to",
            ExpressionAttributeValues={":d": {"S": driver_id}, ":from": {"S": f"{prefix}{start:013d}"},
                                       ":to": {"S": f"{prefix}{end:013d}~"}},
        ):
            for item in page.get("Items", []):
                sink.append({k: next(iter(v.values())) for k, v in item.items() if k not in ("driver_id", "sk")})
    return {"driver_id": driver_id, "records_of_duty_status": logs, "violations": violations}


def render_pdf(payload: dict) -> bytes:
    request = urllib.request.Request(
        PDF_API_URL, data=json.dumps(payload, default=str).encode(), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/pdf", "x-api-key": _api_key()},
    )
    try:
        with urllib.request.urlopen(request, timeout=PDF_TIMEOUT_S) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 429 or exc.code >= 500:
            raise ExternalApiUnavailable(f"PDF API answered {exc.code}") from exc
        raise
    except OSError as exc:
        raise ExternalApiUnavailable(str(exc)) from exc


def build_fleet(conn, fleet_id: str, day: str) -> dict:
    vehicles = [row[0] for row in conn.run("SELECT vehicle_id FROM vehicle_history WHERE fleet_id = :f", f=fleet_id)]
    inspections = conn.run(
        "SELECT vehicle_id, driver_id, inspected_at, kind, defects, safe_to_operate FROM inspections"
        " WHERE fleet_id = :f AND inspected_at >= CAST(:d AS DATE) AND inspected_at < CAST(:d AS DATE) + 1",
        f=fleet_id, d=day,
    )
    drivers = sorted({row[1] for row in inspections if row[1]})
    driver_days = [driver_day(d, day) for d in drivers]
    violation_count = sum(len(d["violations"]) for d in driver_days)
    payload = {
        "template": "fmcsa-daily-compliance", "fleet_id": fleet_id, "report_date": day, "vehicles": vehicles,
        "inspections": [{"vehicle_id": r[0], "driver_id": r[1], "inspected_at": r[2], "kind": r[3], "defects": r[4],
                         "safe_to_operate": r[5]} for r in inspections],
        "drivers": driver_days,
    }
    pdf = render_pdf(payload)
    key = f"dot-reports/fleet_id={fleet_id}/date={day}/dot-report.pdf"
    arguments = {"Bucket": REPORTS_BUCKET, "Key": key, "Body": pdf, "ContentType": "application/pdf",
                 "ChecksumAlgorithm": "SHA256", "ServerSideEncryption": "aws:kms"}
    if KMS_KEY_ARN:
        arguments["SSEKMSKeyId"] = KMS_KEY_ARN
    aws_client("s3").put_object(**arguments)
    return {"fleet_id": fleet_id, "report_date": day, "report_key": key, "status": "generated",
            "violation_count": violation_count, "driver_count": len(drivers)}


def handler(event, context):
    action = event.get("action")
    try:
        if action == "collect":
            result = collect(event)
            log_event("dot_collect", fleets=result["fleet_count"], batches=len(result["batches"]))
            return result
        if action == "build":
            conn = db_connection()
            ensure_schema(conn)
            reports = [build_fleet(conn, fleet_id, event["report_date"]) for fleet_id in event["fleet_ids"]]
            log_event("dot_build", fleets=len(reports), violations=sum(r["violation_count"] for r in reports))
            return {"reports": reports}
    except ExternalApiUnavailable:
        raise
    except Exception:
        reset_db()
        raise
    raise ValueError(f"unknown action {action!r}")
