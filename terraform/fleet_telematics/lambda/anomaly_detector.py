"""Anomaly detector: DynamoDB stream of vehicle_diagnostics (INSERT only, NEW_IMAGE) -> SNS vehicle-alerts.

For every new diagnostics item:
1. static thresholds from alert_thresholds (per-vehicle calibration item `vehicle_id`, falling back to the
   `__default__` item, then to built-in values), cached per container for 5 minutes and fetched with
   BatchGetItem for the misses of a batch;
2. trend analysis on rolling windows in Redis: one sorted set per vehicle (`diag:{vehicle_id}:coolant`, score =
   sample time ms, member = "ts:value"), trimmed to ANOMALY_WINDOW_SECONDS; a least-squares slope of coolant
   temperature over the window catches an overheating engine before it crosses the static limit;
3. DTC codes: powertrain codes raise an alert, codes in CRITICAL_DTCS (overheat, oil pressure, ...) a critical one.

Alerts go to SNS with the message attribute `severity` (critical|high|medium|low) that the SQS subscriptions
filter on. Records whose alerts could not be published are reported in batchItemFailures.
"""

from __future__ import annotations

import json
import os
import time


from telematics_common import aws_client, log_event, publish_batch, redis_client, reset_redis, sns_attributes

THRESHOLDS_TABLE = os.environ.get("THRESHOLDS_TABLE", "alert-thresholds")
ALERTS_TOPIC_ARN = os.environ.get("ALERTS_TOPIC_ARN", "")
WINDOW_SECONDS = int(os.environ.get("ANOMALY_WINDOW_SECONDS", "1800"))
CACHE_SECONDS = 300
DEFAULT_KEY = "__default__"

DEFAULT_THRESHOLDS = {
    "max_coolant_c": 105.0,        # typical heavy-duty diesel thermostat fully open ~ 95 C; alarm above 105 C
    "critical_coolant_c": 112.0,
    "max_rpm": 2600.0,             # heavy-duty diesel governed speed
    "min_fuel_pct": 10.0,
    "coolant_slope_c_per_min": 0.8,
    "min_trend_points": 8,
}
CRITICAL_DTCS = {"P0217", "P0218", "P0524", "P0520", "P0521", "P0522", "P0117", "P0118", "P0335", "P0087"}

_THRESHOLDS: dict[str, tuple[float, dict]] = {}


def _parse_thresholds(item: dict) -> dict:
    return {k: float(item[k]["N"]) for k in DEFAULT_THRESHOLDS if k in item and "N" in item[k]}


def thresholds_for(vehicle_ids: set[str]) -> dict[str, dict]:
    """Effective thresholds per vehicle: defaults <- __default__ item <- vehicle item."""
    now = time.time()
    wanted = [v for v in vehicle_ids | {DEFAULT_KEY} if v not in _THRESHOLDS or now - _THRESHOLDS[v][0] > CACHE_SECONDS]
    for start in range(0, len(wanted), 100):
        keys = [{"vehicle_id": {"S": v}} for v in wanted[start:start + 100]]
        found: dict[str, dict] = {}
        request = {THRESHOLDS_TABLE: {"Keys": keys}}
        while request:
            response = aws_client("dynamodb").batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(THRESHOLDS_TABLE, []):
                found[item["vehicle_id"]["S"]] = _parse_thresholds(item)
            request = response.get("UnprocessedKeys") or None
        for key in keys:
            vid = key["vehicle_id"]["S"]
            _THRESHOLDS[vid] = (now, found.get(vid, {}))
    base = {**DEFAULT_THRESHOLDS, **_THRESHOLDS[DEFAULT_KEY][1]}
    return {v: {**base, **_THRESHOLDS[v][1]} for v in vehicle_ids}


def _number(image: dict, key: str) -> float:
    return float(image[key]["N"])


def parse_image(image: dict) -> dict:
    return {
        "vehicle_id": image["vehicle_id"]["S"],
        "ts": int(image["timestamp"]["N"]),
        "rpm": _number(image, "rpm"),
        "coolant_temp_c": _number(image, "coolant_temp_c"),
        "fuel_level_pct": _number(image, "fuel_level_pct"),
        "speed_kph": _number(image, "speed_kph"),
        "dtc_codes": [c["S"] for c in image.get("dtc_codes", {}).get("L", [])],
        "vehicle_type": image.get("vehicle_type", {}).get("S", "unknown"),
    }


def slope_per_minute(points: list[tuple[int, float]]) -> float:
    """Least-squares slope (units per minute) of (ts_ms, value) points."""
    n = len(points)
    if n < 2:
        return 0.0
    xs = [(ts - points[0][0]) / 60000.0 for ts, _ in points]
    ys = [value for _, value in points]
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    var_x = sum((x - mean_x) ** 2 for x in xs)
    if var_x == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / var_x


def _windows(samples: list[dict]) -> dict[str, list[tuple[int, float]]]:
    """Add the samples to the per-vehicle coolant windows and return each vehicle's window (pipelined)."""
    redis = redis_client()
    pipe = redis.pipeline(transaction=False)
    vehicles = sorted({s["vehicle_id"] for s in samples})
    for sample in samples:
        key = f"diag:{sample['vehicle_id']}:coolant"
        pipe.zadd(key, {f"{sample['ts']}:{sample['coolant_temp_c']}": sample["ts"]})
    for vid in vehicles:
        key = f"diag:{vid}:coolant"
        newest = max(s["ts"] for s in samples if s["vehicle_id"] == vid)
        pipe.zremrangebyscore(key, "-inf", newest - WINDOW_SECONDS * 1000)
        pipe.expire(key, WINDOW_SECONDS * 2)
        pipe.zrange(key, 0, -1)
    results = pipe.execute()
    windows = {}
    for vid, members in zip(vehicles, results[len(samples) + 2::3]):
        points = []
        for member in members:
            ts, value = member.split(":", 1)
            points.append((int(ts), float(value)))
        windows[vid] = sorted(points)
    return windows


def evaluate(sample: dict, limits: dict, window: list[tuple[int, float]]) -> list[dict]:
    alerts = []
    coolant = sample["coolant_temp_c"]
    if coolant >= limits["critical_coolant_c"]:
        alerts.append(("coolant_critical", "critical", f"coolant {coolant:.1f} C >= {limits['critical_coolant_c']:.0f} C"))
    elif coolant >= limits["max_coolant_c"]:
        alerts.append(("coolant_high", "high", f"coolant {coolant:.1f} C >= {limits['max_coolant_c']:.0f} C"))
    elif len(window) >= limits["min_trend_points"]:
        slope = slope_per_minute(window)
        if slope >= limits["coolant_slope_c_per_min"] and coolant >= limits["max_coolant_c"] - 15:
            alerts.append(("coolant_rising", "medium", f"coolant rising {slope:.2f} C/min over {len(window)} samples"))
    if sample["rpm"] > limits["max_rpm"]:
        alerts.append(("over_rev", "medium", f"rpm {sample['rpm']:.0f} > {limits['max_rpm']:.0f}"))
    if sample["fuel_level_pct"] < limits["min_fuel_pct"]:
        alerts.append(("fuel_low", "low", f"fuel {sample['fuel_level_pct']:.1f} % < {limits['min_fuel_pct']:.0f} %"))
    critical_codes = sorted(set(sample["dtc_codes"]) & CRITICAL_DTCS)
    other_codes = sorted(set(sample["dtc_codes"]) - CRITICAL_DTCS)
    if critical_codes:
        alerts.append(("dtc_critical", "critical", "critical DTC " + ", ".join(critical_codes)))
    if other_codes:
        alerts.append(("dtc", "medium", "DTC " + ", ".join(other_codes)))
    return [{"alert_type": kind, "severity": severity, "detail": detail, "vehicle_id": sample["vehicle_id"],
             "vehicle_type": sample["vehicle_type"], "ts": sample["ts"], "coolant_temp_c": coolant,
             "rpm": sample["rpm"], "dtc_codes": sample["dtc_codes"]} for kind, severity, detail in alerts]


def handler(event, context):
    samples, sequences = [], []
    for record in event.get("Records", []):
        if record.get("eventName") != "INSERT" or "NewImage" not in record.get("dynamodb", {}):
            continue
        samples.append(parse_image(record["dynamodb"]["NewImage"]))
        sequences.append(record["dynamodb"]["SequenceNumber"])
    if not samples:
        return {"batchItemFailures": []}

    limits = thresholds_for({s["vehicle_id"] for s in samples})
    try:
        windows = _windows(samples)
    except Exception as exc:  # noqa: BLE001 - static thresholds still apply without Redis
        reset_redis()
        log_event("trend_window_unavailable", error=str(exc))
        windows = {}

    entries, owners = [], []
    for sample, sequence in zip(samples, sequences):
        for alert in evaluate(sample, limits[sample["vehicle_id"]], windows.get(sample["vehicle_id"], [])):
            entries.append({
                "Id": str(len(entries)),
                "Subject": f"{alert['severity'].upper()} {alert['alert_type']} {alert['vehicle_id']}",
                "Message": json.dumps(alert),
                "MessageAttributes": sns_attributes(alert["severity"], alert["alert_type"], vehicle_id=alert["vehicle_id"]),
            })
            owners.append(sequence)

    failed_ids = publish_batch(aws_client("sns"), ALERTS_TOPIC_ARN, entries) if entries and ALERTS_TOPIC_ARN else []
    failed = sorted({owners[int(i)] for i in failed_ids})
    log_event("anomaly_batch", samples=len(samples), alerts=len(entries), publish_failed=len(failed_ids))
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}
