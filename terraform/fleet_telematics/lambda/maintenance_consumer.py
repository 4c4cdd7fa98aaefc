"""Maintenance consumer: SQS maintenance_alerts -> Aurora PostgreSQL maintenance_schedule (work orders).

Messages arrive raw from two SNS topics (vehicle-alerts with severity critical/high/medium, and
maintenance-required for predictions with confidence > 0.8). Each becomes one work order; the SQS message id /
SNS-derived `source_event_id` is unique, so a redelivered message never creates a second order
(INSERT ... ON CONFLICT DO NOTHING). Failed messages are returned in batchItemFailures and reach the DLQ after
max_receive_count receives.
"""

from __future__ import annotations

import datetime as dt
import json

from telematics_common import db_connection, ensure_schema, log_event, reset_db

# Days until the work order is due, by severity.
DUE_DAYS = {"critical": 0, "high": 2, "medium": 7, "low": 30}



def work_order(message: dict, message_id: str, attributes: dict) -> dict:
    severity = (attributes.get("severity", {}).get("stringValue") or message.get("severity") or "medium").lower()
    if severity not in DUE_DAYS:
        severity = "medium"
    is_prediction = "component" in message
    today = dt.datetime.now(dt.timezone.utc).date()
    return {
        "source_event_id": message.get("event_id") or message_id,
        "vehicle_id": message["vehicle_id"],
        "source": "prediction" if is_prediction else "anomaly",
        "category": message.get("component") or message.get("alert_type") or "inspection",
        "severity": severity,
        "detail": message.get("detail") or json.dumps(message)[:1000],
        "confidence": message.get("confidence"),
        "due_date": today + dt.timedelta(days=DUE_DAYS[severity]),
    }


def handler(event, context):
    failures = []
    created = duplicates = 0
    try:
        conn = db_connection()
        ensure_schema(conn)
    except Exception as exc:  # noqa: BLE001 - nothing can be processed without the database
        reset_db()
        log_event("aurora_unavailable", error=str(exc))
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event.get("Records", [])]}

    records = event.get("Records", [])
    for index, record in enumerate(records):
        try:
            order = work_order(json.loads(record["body"]), record["messageId"], record.get("messageAttributes", {}))
            rows = conn.run(
                "INSERT INTO maintenance_schedule (source_event_id, vehicle_id, source, category, severity, detail,"
                " confidence, due_date) VALUES (:source_event_id, :vehicle_id, :source, :category, :severity,"
                " :detail, :confidence, :due_date) ON CONFLICT (source_event_id) DO NOTHING RETURNING work_order_id",
                **order,
            )
            if rows:
                created += 1
            else:
                duplicates += 1
        except (KeyError, ValueError) as exc:
            # Malformed message: retrying cannot help; let it go to the DLQ through the receive count.
            log_event("maintenance_message_invalid", message_id=record["messageId"], error=str(exc))
            failures.append(record["messageId"])
        except Exception as exc:  # noqa: BLE001
            reset_db()
            log_event("maintenance_insert_failed", message_id=record["messageId"], error=str(exc))
            failures.append(record["messageId"])
            try:
                conn = db_connection()
            except Exception:  # noqa: BLE001 - the rest of the batch is retried later
                failures.extend(r["messageId"] for r in records[index + 1:])
                break

    log_event("maintenance_batch", created=created, duplicates=duplicates, failed=len(failures))
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}
