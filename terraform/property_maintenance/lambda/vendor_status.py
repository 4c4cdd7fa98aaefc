"""POST /vendor/status — vendor status webhook.

Transitions are strictly assigned -> in_progress -> completed. The update is one
conditional write on maintenance_requests:

    ConditionExpression: #status = :from AND #version = :v AND vendor_id = :vendor
    UpdateExpression:    SET #status = :to, ..., #version = #version + :one

so a stale or duplicated webhook cannot move a request twice or skip a state, and a
vendor cannot move another vendor's job. After the write:

* SLA evaluation: in_progress is measured against response_due_at, completed against
  resolution_due_at (both written at assignment from priority_matrix). One JSON log
  line {"event": "status_transition", "sla_met": 1|0} per transition feeds the SLA
  compliance metric filters.
* Aurora (through the RDS proxy, credentials from Secrets Manager): an insert into
  maintenance_audit and an upsert of vendor_assignments (read by the daily compliance
  job and the hourly Redis sync).
* completed releases the vendor's job slot in vendor_availability.
* the change is published to the status-updates topic (attribute "status").
"""

import base64
import json
import os
import re
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from maintenance_common import aurora_schema, client, connect_aurora, iso, log, plain
from maintenance_common import error_response as _error
from maintenance_common import free_job_slot as _release_vendor
from maintenance_common import json_response as _response
from maintenance_common import parse_time as _parse_time

TRANSITIONS = {"in_progress": "assigned", "completed": "in_progress"}
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ALLOWED_FIELDS = {"request_id", "vendor_id", "status", "version", "notes", "occurred_at"}

_db = None


def db():
    """pg8000 connection to Aurora through the RDS proxy (pooled); tables created on first use."""
    global _db
    if _db is None:
        _db = connect_aurora(timeout=5)
        _db.run(aurora_schema())
    return _db


def _reset_db():
    """Drop a broken connection so the next invocation reconnects through the proxy."""
    global _db
    _db = None


def validate(payload):
    if not isinstance(payload, dict):
        return ["body must be a JSON object"]
    errors = [f"unknown field: {k}" for k in sorted(set(payload) - ALLOWED_FIELDS)]
    for field in ("request_id", "vendor_id"):
        if not isinstance(payload.get(field), str) or not ID_PATTERN.match(payload[field]):
            errors.append(f"{field} is required: 1-64 chars of letters, digits, _ or -")
    if payload.get("status") not in TRANSITIONS:
        errors.append("status must be in_progress or completed")
    version = payload.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        errors.append("version must be a positive integer")
    notes = payload.get("notes")
    if notes is not None and (not isinstance(notes, str) or len(notes) > 2000):
        errors.append("notes must be a string of at most 2000 characters")
    if payload.get("occurred_at") is not None:
        try:
            _parse_time(payload["occurred_at"])
        except ValueError:
            errors.append("occurred_at must be an ISO-8601 timestamp")
    return errors


def _audit(request, payload, from_status, to_status, version, sla_met, now):
    conn = db()
    conn.run(
        "INSERT INTO maintenance_audit (request_id, vendor_id, property_id, priority, from_status, to_status,"
        " version, sla_met, notes, reported_at, occurred_at)"
        " VALUES (:rid, :vid, :pid, :prio, :from_s, :to_s, :ver, :sla, :notes, :reported, :occurred)"
        " ON CONFLICT (request_id, version) DO NOTHING",
        rid=request["request_id"], vid=payload["vendor_id"], pid=request.get("property_id"),
        prio=request.get("priority"), from_s=from_status, to_s=to_status, ver=version, sla=sla_met,
        notes=payload.get("notes"), reported=_parse_time(payload.get("occurred_at")), occurred=now,
    )
    conn.run(
        "INSERT INTO vendor_assignments (request_id, vendor_id, property_id, priority, category, status,"
        " assigned_at, started_at, completed_at, response_due_at, resolution_due_at, updated_at)"
        " VALUES (:rid, :vid, :pid, :prio, :cat, :status, :assigned, :started, :completed, :rdue, :resdue, :now)"
        " ON CONFLICT (request_id) DO UPDATE SET vendor_id = EXCLUDED.vendor_id, status = EXCLUDED.status,"
        " started_at = COALESCE(EXCLUDED.started_at, vendor_assignments.started_at),"
        " completed_at = COALESCE(EXCLUDED.completed_at, vendor_assignments.completed_at),"
        " updated_at = EXCLUDED.updated_at",
        rid=request["request_id"], vid=payload["vendor_id"], pid=request.get("property_id"),
        prio=request.get("priority", "standard"), cat=request.get("category"), status=to_status,
        assigned=_parse_time(request.get("assigned_at")),
        started=now if to_status == "in_progress" else _parse_time(request.get("started_at")),
        completed=now if to_status == "completed" else None,
        rdue=_parse_time(request.get("response_due_at")), resdue=_parse_time(request.get("resolution_due_at")),
        now=now,
    )


def handler(event, context):
    try:
        raw = event.get("body")
        if event.get("isBase64Encoded") and raw is not None:
            raw = base64.b64decode(raw).decode("utf-8")
        payload = json.loads(raw) if raw is not None else None
    except (ValueError, UnicodeDecodeError):
        return _error(400, "invalid_json", "The body must be a JSON object.")
    problems = validate(payload)
    if problems:
        return _error(400, "invalid_request", "The status update is malformed.", problems)

    table = os.environ["REQUESTS_TABLE"]
    key = {"request_id": {"S": payload["request_id"]}}
    item = client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    if not item:
        return _error(404, "not_found", "Unknown request_id.")
    request = plain(item)
    to_status = payload["status"]
    from_status = TRANSITIONS[to_status]
    current_version = int(request.get("version", 0))

    if request.get("vendor_id") != payload["vendor_id"]:
        return _error(409, "vendor_mismatch", "The request is not assigned to this vendor.")
    if request.get("status") == to_status:
        return _response(200, {"request_id": payload["request_id"], "status": to_status,
                               "version": current_version, "duplicate": True})
    if request.get("status") != from_status:
        return _error(409, "invalid_transition",
                      f"Cannot move a request from {request.get('status')} to {to_status}.")
    expected_version = payload.get("version", current_version)
    if expected_version != current_version:
        return _error(409, "version_conflict", "The request changed since the vendor last read it.")

    now = datetime.now(timezone.utc).replace(microsecond=0)
    due = _parse_time(request.get("response_due_at" if to_status == "in_progress" else "resolution_due_at"))
    sla_met = None if due is None else now <= due
    time_attr = "started_at" if to_status == "in_progress" else "completed_at"
    sla_attr = "sla_response_met" if to_status == "in_progress" else "sla_resolution_met"
    update = f"SET #status = :to, {time_attr} = :now, updated_at = :now, #version = #version + :one"
    values = {
        ":to": {"S": to_status},
        ":from": {"S": from_status},
        ":v": {"N": str(expected_version)},
        ":vendor": {"S": payload["vendor_id"]},
        ":now": {"S": iso(now)},
        ":one": {"N": "1"},
    }
    if sla_met is not None:
        update += f", {sla_attr} = :sla"
        values[":sla"] = {"BOOL": sla_met}
    if payload.get("notes"):
        update += ", vendor_notes = :notes"
        values[":notes"] = {"S": payload["notes"]}
    try:
        result = client("dynamodb").update_item(
            TableName=table,
            Key=key,
            UpdateExpression=update,
            ConditionExpression="#status = :from AND #version = :v AND vendor_id = :vendor",
            ExpressionAttributeNames={"#status": "status", "#version": "version"},
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            log("status_conflict", request_id=payload["request_id"], to_status=to_status)
            return _error(409, "conflict", "The request changed concurrently; re-read and retry.")
        log("status_write_failed", request_id=payload["request_id"], error=str(exc))
        return _error(500, "internal_error", "The status could not be stored; retry later.")
    new_version = int(result["Attributes"]["version"]["N"])

    log("status_transition", request_id=payload["request_id"], vendor_id=payload["vendor_id"],
         priority=request.get("priority"), from_status=from_status, to_status=to_status,
         version=new_version, sla_met=None if sla_met is None else int(sla_met))

    if to_status == "completed":
        _release_vendor(payload["vendor_id"])
    try:
        _audit(request, payload, from_status, to_status, new_version, sla_met, now)
    except Exception as exc:  # noqa: BLE001 - the transition is committed; the audit gap is alarmed via logs
        log("audit_write_failed", request_id=payload["request_id"], version=new_version, error=repr(exc))
        _reset_db()

    message = {
        "event_type": "status_changed",
        "request_id": payload["request_id"],
        "vendor_id": payload["vendor_id"],
        "tenant_id": request.get("tenant_id"),
        "property_id": request.get("property_id"),
        "category": request.get("category"),
        "priority": request.get("priority"),
        "status": to_status,
        "version": new_version,
        "sla_met": sla_met,
        "occurred_at": iso(now),
    }
    client("sns").publish(
        TopicArn=os.environ["STATUS_UPDATES_TOPIC"],
        Message=json.dumps(message),
        MessageAttributes={
            "status": {"DataType": "String", "StringValue": to_status},
            "event_type": {"DataType": "String", "StringValue": "status_changed"},
            "priority": {"DataType": "String", "StringValue": str(request.get("priority", "standard"))},
        },
    )
    body = {"request_id": payload["request_id"], "status": to_status, "version": new_version}
    if sla_met is not None:
        body["sla_met"] = sla_met
    return _response(200, body)
