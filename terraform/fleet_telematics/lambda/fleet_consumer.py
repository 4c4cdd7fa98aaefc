"""Fleet consumer: SQS fleet_manager_queue -> Redis counters for the real-time fleet dashboard.

Messages come raw from SNS vehicle-alerts (all severities), hos-violations and geofence-alerts. For each message:
- HINCRBY fleet:{fleet_id}:alerts:{yyyy-mm-dd} by severity and by event type (dashboard tiles, kept 8 days);
- HSET vehicle:{vehicle_id}:last_alert with the latest alert (dashboard drill-down, kept 8 days);
- LPUSH/LTRIM fleet:{fleet_id}:recent (the 100 most recent alerts).
SET NX on the SQS message id makes a redelivered message count once. Failures -> batchItemFailures.
"""

from __future__ import annotations

import datetime as dt
import json

from telematics_common import dumps, log_event, redis_client, reset_redis

KEEP_SECONDS = 8 * 86400
SEEN_SECONDS = 86400
RECENT = 100


def _attribute(record: dict, name: str) -> str | None:
    return record.get("messageAttributes", {}).get(name, {}).get("stringValue")


def handler(event, context):
    records = event.get("Records", [])
    failures = []
    counted = duplicates = 0
    try:
        redis = redis_client()
    except Exception as exc:  # noqa: BLE001
        reset_redis()
        log_event("redis_unavailable", error=str(exc))
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}

    for record in records:
        try:
            message = json.loads(record["body"])
            if not redis.set(f"seen:fleet:{record['messageId']}", "1", nx=True, ex=SEEN_SECONDS):
                duplicates += 1
                continue
            severity = _attribute(record, "severity") or message.get("severity", "medium")
            event_type = _attribute(record, "event_type") or message.get("alert_type") or message.get("rule") or "alert"
            fleet_id = message.get("fleet_id") or _attribute(record, "fleet_id") or "unassigned"
            day = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
            counters = f"fleet:{fleet_id}:alerts:{day}"
            pipe = redis.pipeline(transaction=True)
            pipe.hincrby(counters, f"severity:{severity}", 1)
            pipe.hincrby(counters, f"type:{event_type}", 1)
            pipe.hincrby(counters, "total", 1)
            pipe.expire(counters, KEEP_SECONDS)
            if message.get("vehicle_id"):
                last = f"vehicle:{message['vehicle_id']}:last_alert"
                pipe.hset(last, mapping={"severity": severity, "type": event_type, "ts": str(message.get("ts", "")),
                                         "detail": str(message.get("detail", ""))[:256]})
                pipe.expire(last, KEEP_SECONDS)
            recent = f"fleet:{fleet_id}:recent"
            pipe.lpush(recent, dumps({"severity": severity, "type": event_type, **message}))
            pipe.ltrim(recent, 0, RECENT - 1)
            pipe.expire(recent, KEEP_SECONDS)
            pipe.execute()
            counted += 1
        except ValueError as exc:
            log_event("fleet_message_invalid", message_id=record["messageId"], error=str(exc))
            failures.append(record["messageId"])
        except Exception as exc:  # noqa: BLE001
            reset_redis()
            # Allow the retry to count the message.
            log_event("fleet_update_failed", message_id=record["messageId"], error=str(exc))
            failures.append(record["messageId"])
            try:
                redis = redis_client()
                redis.delete(f"seen:fleet:{record['messageId']}")
            except Exception:  # noqa: BLE001
                pass
    log_event("fleet_batch", counted=counted, duplicates=duplicates, failed=len(failures))
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}
