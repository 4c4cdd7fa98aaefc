"""POST /request — validate a tenant's maintenance request and store it with status "new".

API Gateway already validated the body against schemas/maintenance_request.json; the
same rules are re-checked here so direct invocations (and the local emulator) get the
same answers. The item is written with ConditionExpression attribute_not_exists(request_id):
with an Idempotency-Key header the request_id is derived from (tenant_id, key), so a
retried POST maps to the same item and returns 200 with duplicate=true instead of a
second request.
"""

import base64
import json
import os
import re
import time
import uuid
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from maintenance_common import client
from maintenance_common import error_response as _error
from maintenance_common import json_response as _response

CATEGORIES = {"plumbing", "electrical", "hvac", "appliance", "locksmith", "pest", "general"}
PRIORITY_RANK = {"emergency": 0, "high": 1, "standard": 2, "low": 3}
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PHONE_PATTERN = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
IDEMPOTENCY_NAMESPACE = uuid.UUID("5b0c3f0e-6a43-4c55-9a36-1f6c6b0f7a11")
ALLOWED_FIELDS = {
    "tenant_id", "property_id", "unit_id", "category", "priority", "description",
    "location", "contact", "access_notes", "photos",
}

def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate(payload):
    """Return a list of problems (empty when the request is complete and well-formed)."""
    if not isinstance(payload, dict):
        return ["body must be a JSON object"]
    errors = [f"unknown field: {k}" for k in sorted(set(payload) - ALLOWED_FIELDS)]
    for field in ("tenant_id", "property_id", "unit_id"):
        value = payload.get(field)
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            errors.append(f"{field} is required: 1-64 chars of letters, digits, _ or -")
    if payload.get("category") not in CATEGORIES:
        errors.append(f"category must be one of {sorted(CATEGORIES)}")
    if payload.get("priority") not in PRIORITY_RANK:
        errors.append(f"priority must be one of {sorted(PRIORITY_RANK)}")
    description = payload.get("description")
    if not isinstance(description, str) or not 10 <= len(description) <= 2000:
        errors.append("description is required: 10-2000 characters")
    location = payload.get("location")
    if not isinstance(location, dict) or set(location) - {"lat", "lon"}:
        errors.append("location is required: {lat, lon}")
    else:
        lat, lon = location.get("lat"), location.get("lon")
        if not _is_number(lat) or not -90 <= lat <= 90:
            errors.append("location.lat must be a number in [-90, 90]")
        if not _is_number(lon) or not -180 <= lon <= 180:
            errors.append("location.lon must be a number in [-180, 180]")
    contact = payload.get("contact")
    if contact is not None:
        if not isinstance(contact, dict) or set(contact) - {"phone", "email", "preferred_channel"}:
            errors.append("contact may only hold phone, email, preferred_channel")
        else:
            if "phone" in contact and not (isinstance(contact["phone"], str) and PHONE_PATTERN.match(contact["phone"])):
                errors.append("contact.phone must be E.164 (+15551234567)")
            if "email" in contact and not (isinstance(contact["email"], str) and EMAIL_PATTERN.match(contact["email"]) and len(contact["email"]) <= 254):
                errors.append("contact.email is not a valid address")
            if contact.get("preferred_channel", "sms") not in ("sms", "email"):
                errors.append("contact.preferred_channel must be sms or email")
    notes = payload.get("access_notes")
    if notes is not None and (not isinstance(notes, str) or len(notes) > 500):
        errors.append("access_notes must be a string of at most 500 characters")
    photos = payload.get("photos")
    if photos is not None and (
        not isinstance(photos, list) or len(photos) > 5
        or any(not isinstance(p, str) or len(p) > 1024 for p in photos)
    ):
        errors.append("photos must be at most 5 strings of at most 1024 characters")
    return errors


def _header(event, name):
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def _parse_body(event):
    raw = event.get("body")
    if raw is None:
        raise ValueError("missing body")
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8")
    return json.loads(raw)


def _str_map(values):
    return {"M": {k: {"S": str(v)} for k, v in values.items()}}


def build_item(payload, request_id, now, ttl_days):
    created_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    item = {
        "request_id": {"S": request_id},
        "tenant_id": {"S": payload["tenant_id"]},
        "property_id": {"S": payload["property_id"]},
        "unit_id": {"S": payload["unit_id"]},
        "category": {"S": payload["category"]},
        "priority": {"S": payload["priority"]},
        "priority_rank": {"N": str(PRIORITY_RANK[payload["priority"]])},
        "description": {"S": payload["description"]},
        "location": {"M": {
            "lat": {"N": repr(float(payload["location"]["lat"]))},
            "lon": {"N": repr(float(payload["location"]["lon"]))},
        }},
        "status": {"S": "new"},
        "version": {"N": "1"},
        "created_at": {"S": created_at},
        "updated_at": {"S": created_at},
        "expires_at": {"N": str(int(now.timestamp()) + ttl_days * 86400)},
    }
    if payload.get("contact"):
        item["contact"] = _str_map(payload["contact"])
    if payload.get("access_notes"):
        item["access_notes"] = {"S": payload["access_notes"]}
    if payload.get("photos"):
        item["photos"] = {"L": [{"S": p} for p in payload["photos"]]}
    return item


def handler(event, context):
    try:
        payload = _parse_body(event)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "invalid_json", "The body must be a JSON object.")
    problems = validate(payload)
    if problems:
        return _error(400, "invalid_request", "The maintenance request is incomplete or malformed.", problems)

    idempotency_key = _header(event, "Idempotency-Key")
    if idempotency_key:
        request_id = str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{payload['tenant_id']}:{idempotency_key}"))
    else:
        request_id = str(uuid.uuid4())
    now = datetime.now(timezone.utc)
    item = build_item(payload, request_id, now, int(os.environ.get("REQUEST_TTL_DAYS", "400")))
    table = os.environ["REQUESTS_TABLE"]
    started = time.monotonic()
    try:
        client("dynamodb").put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(request_id)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            print(json.dumps({"event": "request_write_failed", "request_id": request_id, "error": str(exc)}))
            return _error(500, "internal_error", "The request could not be stored; retry later.")
        existing = client("dynamodb").get_item(
            TableName=table, Key={"request_id": {"S": request_id}}, ConsistentRead=True
        ).get("Item", {})
        print(json.dumps({"event": "request_duplicate", "request_id": request_id}))
        return _response(200, {
            "request_id": request_id,
            "status": existing.get("status", {}).get("S", "new"),
            "created_at": existing.get("created_at", {}).get("S", item["created_at"]["S"]),
            "duplicate": True,
        })
    print(json.dumps({
        "event": "request_created",
        "request_id": request_id,
        "priority": payload["priority"],
        "category": payload["category"],
        "property_id": payload["property_id"],
        "write_ms": round((time.monotonic() - started) * 1000, 1),
    }))
    return _response(202, {"request_id": request_id, "status": "new", "created_at": item["created_at"]["S"]})
