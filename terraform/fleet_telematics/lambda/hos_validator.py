"""HOS validator: Kinesis HOS stream -> driver_logs (duty state + status-change log) -> SNS hos-violations.

DOT hours-of-service rules for PROPERTY-CARRYING drivers (49 CFR 395.3), the rule set "us-property-carrier":

* 10-hour off-duty reset (395.3(a)(1)): a driver may start a new duty period only after 10 consecutive hours off
  duty (off duty and/or sleeper berth). The reset zeroes the 11-hour and 14-hour counters below.
* 14-hour driving window (395.3(a)(2)): after coming on duty following the 10-hour reset, the driver may not
  DRIVE beyond the 14th consecutive hour. Off-duty time inside the window does not extend it.
* 11-hour driving limit (395.3(a)(3)): at most 11 hours of driving inside that window.
* 30-minute break (395.3(a)(3)(ii)): driving is not permitted once 8 cumulative hours of driving have passed
  without an interruption of at least 30 consecutive minutes (off duty, sleeper berth or on duty not driving
  all count as the interruption since the 2020 rule change).
* Not enforced here (needs 7/8-day history, tracked by the daily DOT report): the 60/70-hour limit and the 34-hour
  restart (395.3(b)/(c)), the sleeper-berth split provisions and the adverse-driving/short-haul exceptions.

The limits come from DynamoDB compliance_rules (item rule_set_id = RULE_SET_ID, attributes in minutes) and fall
back to the regulatory values below, so changing a limit is data, not a deployment.

State per driver is one item (driver_id, sk = "STATE"). Every record accrues the time since the previous record
to the PREVIOUS duty status, then applies the new status. The ELD sends the status every 60 s, so the state is
at most one minute behind. A status change also writes a log item (sk = "LOG#<ts>") - the record of duty status
the daily DOT report reads. Violations are written as "VIOLATION#<ts>#<rule>" items, logged as
{"event": "hos_violation"} (CloudWatch metric filter) and published once per duty period and rule.

Records older than the stored state (replays, cross-shard reordering when a driver changes vehicle) are ignored;
the conditional write "attribute_not_exists(driver_id) OR last_ts < :ts" protects against concurrent batches.
"""

from __future__ import annotations

import json
import os
import time

from botocore.exceptions import ClientError

from record_schema import RecordError, decode_kinesis
from telematics_common import aws_client

COMPLIANCE_RULES_TABLE = os.environ.get("COMPLIANCE_RULES_TABLE", "compliance-rules")
DRIVER_LOGS_TABLE = os.environ.get("DRIVER_LOGS_TABLE", "driver-logs")
VIOLATIONS_TOPIC_ARN = os.environ.get("VIOLATIONS_TOPIC_ARN", "")
RULE_SET_ID = os.environ.get("RULE_SET_ID", "us-property-carrier")
TTL_ATTRIBUTE = os.environ.get("TTL_ATTRIBUTE", "expires_at")
RETENTION_DAYS = int(os.environ.get("DRIVER_LOGS_RETENTION_DAYS", "190"))
RULES_CACHE_SECONDS = 300

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS

# Regulatory defaults (minutes), 49 CFR 395.3 for property-carrying CMV drivers.
DEFAULT_RULES = {
    "max_driving_minutes": 11 * 60,          # 11-hour driving limit
    "max_window_minutes": 14 * 60,           # 14-hour duty window
    "break_after_driving_minutes": 8 * 60,   # 30-minute break required after 8 h cumulative driving
    "min_break_minutes": 30,
    "min_off_duty_reset_minutes": 10 * 60,   # 10 consecutive hours off duty reset the window
}

OFF_STATUSES = ("off_duty", "sleeper_berth")
SEVERITY = {"DRIVING_LIMIT_11H": "critical", "DUTY_WINDOW_14H": "critical", "BREAK_30MIN": "high"}

_RULES: dict | None = None
_RULES_AT = 0.0


def rules() -> dict:
    """Limits in milliseconds from compliance_rules (cached), regulatory defaults for missing attributes."""
    global _RULES, _RULES_AT
    if _RULES is None or time.time() - _RULES_AT > RULES_CACHE_SECONDS:
        item = aws_client("dynamodb").get_item(TableName=COMPLIANCE_RULES_TABLE, Key={"rule_set_id": {"S": RULE_SET_ID}}).get("Item", {})
        minutes = {k: float(item[k]["N"]) if k in item else v for k, v in DEFAULT_RULES.items()}
        _RULES = {k.replace("_minutes", "_ms"): int(v * MINUTE_MS) for k, v in minutes.items()}
        _RULES_AT = time.time()
    return _RULES


def new_state(record: dict) -> dict:
    return {
        "driver_id": record["driver_id"], "status": record["duty_status"], "status_since": record["ts"],
        "last_ts": record["ts"], "window_start": None, "driving_ms": 0, "driving_since_break_ms": 0,
        "off_streak_ms": 0, "break_streak_ms": 0, "reported": [], "vehicle_id": record["vehicle_id"],
        "fleet_id": record.get("fleet_id", "unassigned"),
    }


def apply_record(state: dict, record: dict, limits: dict) -> tuple[dict, list[dict], bool]:
    """Advance a driver's duty state by one record. Returns (state, violations, status_changed)."""
    elapsed = max(0, record["ts"] - state["last_ts"])
    previous = state["status"]

    # 1. Accrue the elapsed time to the status the driver was in.
    if previous == "driving":
        state["driving_ms"] += elapsed
        state["driving_since_break_ms"] += elapsed
        state["off_streak_ms"] = 0
        state["break_streak_ms"] = 0
    elif previous == "on_duty":
        # On duty not driving: interrupts driving (counts toward the 30-min break) but is not off duty.
        state["off_streak_ms"] = 0
        state["break_streak_ms"] += elapsed
    else:
        # Off duty or sleeper berth: counts toward both the break and the 10-hour reset.
        state["off_streak_ms"] += elapsed
        state["break_streak_ms"] += elapsed

    # 2. A 30-minute consecutive non-driving interruption restarts the 8-hour driving clock.
    if state["break_streak_ms"] >= limits["min_break_ms"]:
        state["driving_since_break_ms"] = 0
        state["reported"] = [r for r in state["reported"] if r != "BREAK_30MIN"]

    # 3. 10 consecutive hours off duty reset the 11-hour and 14-hour limits (new duty period).
    if state["off_streak_ms"] >= limits["min_off_duty_reset_ms"]:
        state["driving_ms"] = 0
        state["driving_since_break_ms"] = 0
        state["window_start"] = None
        state["reported"] = []

    # 4. Apply the new status. The 14-hour window opens when the driver first comes on duty (or drives) after
    #    the reset, and runs on wall-clock time regardless of later breaks.
    status = record["duty_status"]
    changed = status != previous
    if status in ("driving", "on_duty") and state["window_start"] is None:
        state["window_start"] = record["ts"]
    if changed:
        state["status"] = status
        state["status_since"] = record["ts"]
    state["last_ts"] = record["ts"]
    state["vehicle_id"] = record["vehicle_id"]
    state["fleet_id"] = record.get("fleet_id", state.get("fleet_id", "unassigned"))

    # 5. Violations only exist while DRIVING: being on duty after 14 h or after 11 h of driving is legal, driving
    #    is not. Each rule is reported once per duty period (the 30-min rule once per driving stretch).
    violations = []
    if status == "driving":
        checks = [
            ("DRIVING_LIMIT_11H", state["driving_ms"] > limits["max_driving_ms"],
             f"{state['driving_ms'] / HOUR_MS:.2f} h driving since the last 10-hour off-duty reset (limit 11 h)"),
            ("DUTY_WINDOW_14H", state["window_start"] is not None
             and record["ts"] - state["window_start"] > limits["max_window_ms"],
             "driving after the 14th hour since coming on duty (10 consecutive hours off required)"),
            ("BREAK_30MIN", state["driving_since_break_ms"] > limits["break_after_driving_ms"],
             f"{state['driving_since_break_ms'] / HOUR_MS:.2f} h driving without a 30-minute break (limit 8 h)"),
        ]
        for rule, broken, detail in checks:
            if broken and rule not in state["reported"]:
                state["reported"].append(rule)
                violations.append({"rule": rule, "detail": detail, "severity": SEVERITY[rule]})
    return state, violations, changed


def _state_from_item(item: dict) -> dict:
    state = json.loads(item["state"]["S"])
    state["last_ts"] = int(item["last_ts"]["N"])
    return state


def _load_states(driver_ids: list[str]) -> dict[str, dict]:
    states: dict[str, dict] = {}
    for start in range(0, len(driver_ids), 100):
        keys = [{"driver_id": {"S": d}, "sk": {"S": "STATE"}} for d in driver_ids[start:start + 100]]
        request = {DRIVER_LOGS_TABLE: {"Keys": keys, "ConsistentRead": True}}
        while request:
            response = aws_client("dynamodb").batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(DRIVER_LOGS_TABLE, []):
                states[item["driver_id"]["S"]] = _state_from_item(item)
            request = response.get("UnprocessedKeys") or None
            if request:
                time.sleep(0.05)
    return states


def _expires(ts_ms: int) -> dict:
    return {"N": str(ts_ms // 1000 + RETENTION_DAYS * 86400)}


def _save(driver_id: str, state: dict, log_items: list[dict]) -> bool:
    """Write the state (optimistic: only if nobody stored a newer one) and the log/violation items."""
    try:
        aws_client("dynamodb").put_item(
            TableName=DRIVER_LOGS_TABLE,
            Item={"driver_id": {"S": driver_id}, "sk": {"S": "STATE"}, "last_ts": {"N": str(state["last_ts"])},
                  "status": {"S": state["status"]}, "fleet_id": {"S": state["fleet_id"]},
                  "state": {"S": json.dumps(state)}},
            ConditionExpression="attribute_not_exists(driver_id) OR last_ts < :ts",
            ExpressionAttributeValues={":ts": {"N": str(state["last_ts"])}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False  # a newer state exists (replay); this batch's view is stale
        raise
    for start in range(0, len(log_items), 25):
        pending = [{"PutRequest": {"Item": item}} for item in log_items[start:start + 25]]
        for attempt in range(5):
            response = aws_client("dynamodb").batch_write_item(RequestItems={DRIVER_LOGS_TABLE: pending})
            pending = response.get("UnprocessedItems", {}).get(DRIVER_LOGS_TABLE, [])
            if not pending:
                break
            time.sleep(0.05 * (2 ** attempt))
        if pending:
            raise RuntimeError(f"{len(pending)} driver log items unprocessed for {driver_id}")
    return True


def handler(event, context):
    records = event.get("Records", [])
    by_driver: dict[str, list[tuple[dict, str]]] = {}
    invalid = 0
    for record in records:
        sequence = record["kinesis"]["sequenceNumber"]
        try:
            payload = decode_kinesis(record, "hos_record")
        except RecordError as exc:
            invalid += 1
            print(json.dumps({"event": "invalid_record", "stream": "hos", "sequence": sequence, "error": str(exc)}))
            continue
        by_driver.setdefault(payload["driver_id"], []).append((payload, sequence))

    limits = rules()
    states = _load_states(list(by_driver))
    failed: list[str] = []
    publish: list[dict] = []
    ignored = 0
    for driver_id, items in by_driver.items():
        items.sort(key=lambda pair: pair[0]["ts"])
        state = states.get(driver_id)
        previous_ts = state["last_ts"] if state else None
        log_items: list[dict] = []
        try:
            for payload, _ in items:
                if state is None:
                    state = new_state(payload)
                    if payload["duty_status"] in ("driving", "on_duty"):
                        state["window_start"] = payload["ts"]
                    changed, violations = True, []
                elif payload["ts"] <= state["last_ts"]:
                    ignored += 1
                    continue
                else:
                    state, violations, changed = apply_record(state, payload, limits)
                if changed:
                    log_items.append({
                        "driver_id": {"S": driver_id}, "sk": {"S": f"LOG#{payload['ts']:013d}"},
                        "duty_status": {"S": payload["duty_status"]}, "vehicle_id": {"S": payload["vehicle_id"]},
                        "fleet_id": {"S": state["fleet_id"]}, "ts": {"N": str(payload["ts"])},
                        TTL_ATTRIBUTE: _expires(payload["ts"]),
                    })
                for violation in violations:
                    log_items.append({
                        "driver_id": {"S": driver_id}, "sk": {"S": f"VIOLATION#{payload['ts']:013d}#{violation['rule']}"},
                        "rule": {"S": violation["rule"]}, "detail": {"S": violation["detail"]},
                        "vehicle_id": {"S": payload["vehicle_id"]}, "fleet_id": {"S": state["fleet_id"]},
                        "ts": {"N": str(payload["ts"])}, TTL_ATTRIBUTE: _expires(payload["ts"]),
                    })
                    message = {"driver_id": driver_id, "vehicle_id": payload["vehicle_id"], "fleet_id": state["fleet_id"],
                               "rule": violation["rule"], "detail": violation["detail"], "ts": payload["ts"],
                               "severity": violation["severity"], "driving_hours": round(state["driving_ms"] / HOUR_MS, 2)}
                    print(json.dumps({"event": "hos_violation", **message}))
                    publish.append(message)
            if state is not None and state["last_ts"] != previous_ts:
                if not _save(driver_id, state, log_items):
                    ignored += len(items)
        except Exception as exc:  # noqa: BLE001 - reported per record; Lambda retries from the first failure
            print(json.dumps({"event": "hos_driver_failed", "driver_id": driver_id, "error": str(exc)}))
            failed.extend(seq for _, seq in items)

    for message in publish:
        if not VIOLATIONS_TOPIC_ARN:
            break
        aws_client("sns").publish(
            TopicArn=VIOLATIONS_TOPIC_ARN,
            Subject=f"HOS violation {message['rule']}",
            Message=json.dumps(message),
            MessageAttributes={
                "severity": {"DataType": "String", "StringValue": message["severity"]},
                "event_type": {"DataType": "String", "StringValue": "hos_violation"},
                "fleet_id": {"DataType": "String", "StringValue": message["fleet_id"]},
            },
        )

    print(json.dumps({"event": "hos_batch", "records": len(records), "drivers": len(by_driver), "invalid": invalid,
                      "ignored": ignored, "violations": len(publish), "failed": len(failed)}))
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}
