"""Daily SLA compliance sweep (EventBridge schedule).

Violations found:
* resolution_late — Aurora vendor_assignments rows still in_progress past resolution_due_at;
* response_late   — requests still "assigned" past response_due_at (vendor never started),
  from the maintenance_requests status_due_index GSI;
* unassigned_overdue — requests still "new" past their response deadline (no eligible
  vendor); alerted to the property managers, no vendor penalty.

Penalty per violation = min(max_points, points_per_hour x hours late within the last
24 h), with points_per_hour/max_points from penalty_rates (priority, violation_type).
Counting only the last 24 h means a job late for three days is charged once per day,
never for the same hours twice. Penalties are added to vendor_scores; each vendor's
violations are published as one sla_violation message to the compliance-alerts topic
(which feeds the report generator).
"""

import json
import math
import os
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from maintenance_common import aurora_schema, client, connect_aurora, iso, log

WINDOW_HOURS = 24
MAX_VIOLATIONS_PER_MESSAGE = 100

_db = None
_rates = {}


def _parse(value):
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def db():
    global _db
    if _db is None:
        _db = connect_aurora(timeout=10)
        _db.run(aurora_schema())
    return _db


def penalty_rate(priority, violation_type):
    key = (priority, violation_type)
    if key not in _rates:
        item = client("dynamodb").get_item(
            TableName=os.environ["PENALTY_RATES_TABLE"],
            Key={"priority": {"S": priority}, "violation_type": {"S": violation_type}},
        ).get("Item") or {}
        _rates[key] = (
            float(item.get("points_per_hour", {}).get("N", "1")),
            float(item.get("max_points", {}).get("N", "10")),
        )
    return _rates[key]


def penalty_points(priority, violation_type, due, now):
    hours_late = (now - due).total_seconds() / 3600
    window = min(hours_late, WINDOW_HOURS)
    if window <= 0:
        return 0.0, hours_late
    per_hour, cap = penalty_rate(priority, violation_type)
    return min(cap, math.ceil(window) * per_hour), hours_late


def resolution_late(now):
    rows = db().run(
        "SELECT request_id, vendor_id, property_id, priority, resolution_due_at FROM vendor_assignments"
        " WHERE status = 'in_progress' AND resolution_due_at < :now",
        now=now,
    )
    for request_id, vendor_id, property_id, priority, due in rows:
        yield {"request_id": request_id, "vendor_id": vendor_id, "property_id": property_id,
               "priority": priority, "violation_type": "resolution_late", "due_at": _parse(due)}


def overdue_by_status(status, now):
    paginator = client("dynamodb").get_paginator("query")
    pages = paginator.paginate(
        TableName=os.environ["REQUESTS_TABLE"],
        IndexName="status_due_index",
        KeyConditionExpression="#s = :status AND response_due_at < :now",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":status": {"S": status}, ":now": {"S": iso(now)}},
    )
    for page in pages:
        for item in page.get("Items", []):
            yield {
                "request_id": item["request_id"]["S"],
                "vendor_id": item.get("vendor_id", {}).get("S"),
                "property_id": item.get("property_id", {}).get("S"),
                "priority": item.get("priority", {}).get("S", "standard"),
                "due_at": _parse(item["response_due_at"]["S"]),
            }


def charge(vendor_id, points, count, now):
    client("dynamodb").update_item(
        TableName=os.environ["VENDOR_SCORES_TABLE"],
        Key={"vendor_id": {"S": vendor_id}},
        UpdateExpression="ADD penalty_points :p, violation_count :n SET last_violation_at = :now, updated_at = :now",
        ExpressionAttributeValues={":p": {"N": str(points)}, ":n": {"N": str(count)}, ":now": {"S": iso(now)}},
    )


def publish(event_type, body, vendor_id=None):
    attributes = {"event_type": {"DataType": "String", "StringValue": event_type}}
    if vendor_id:
        attributes["vendor_id"] = {"DataType": "String", "StringValue": vendor_id}
    client("sns").publish(
        TopicArn=os.environ["COMPLIANCE_TOPIC"],
        Message=json.dumps(body, default=str),
        MessageAttributes=attributes,
    )


def handler(event, context):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    report_date = (now - timedelta(days=1)).strftime("%Y-%m-%d")
    by_vendor = defaultdict(list)
    violations = list(resolution_late(now))
    for row in overdue_by_status("assigned", now):
        row["violation_type"] = "response_late"
        violations.append(row)
    for violation in violations:
        if not violation.get("vendor_id"):
            continue
        points, hours = penalty_points(violation["priority"], violation["violation_type"], violation["due_at"], now)
        violation.update(points=points, hours_late=round(hours, 2), due_at=iso(violation["due_at"]))
        by_vendor[violation["vendor_id"]].append(violation)

    for vendor_id, items in by_vendor.items():
        total = sum(v["points"] for v in items)
        charge(vendor_id, total, len(items), now)
        for start in range(0, len(items), MAX_VIOLATIONS_PER_MESSAGE):
            publish("sla_violation", {
                "event_type": "sla_violation",
                "report_date": report_date,
                "vendor_id": vendor_id,
                "penalty_points": total,
                "violations": items[start:start + MAX_VIOLATIONS_PER_MESSAGE],
            }, vendor_id=vendor_id)

    unassigned = [
        {**row, "due_at": iso(row["due_at"])} for row in overdue_by_status("new", now)
    ]
    if unassigned:
        publish("unassigned_overdue", {
            "event_type": "unassigned_overdue",
            "report_date": report_date,
            "requests": unassigned[:MAX_VIOLATIONS_PER_MESSAGE],
            "count": len(unassigned),
        })

    summary = {
        "report_date": report_date,
        "violations": sum(len(v) for v in by_vendor.values()),
        "vendors_penalised": len(by_vendor),
        "unassigned_overdue": len(unassigned),
    }
    log("compliance_sweep_done", **summary)
    return summary
