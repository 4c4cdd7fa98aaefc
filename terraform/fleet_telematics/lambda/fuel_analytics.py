"""Fuel analytics: diagnostics stream (EFO consumer) -> Aurora fuel_analytics, Redis benchmarks -> SNS driver-coaching.

Per vehicle and UTC day the function integrates, from consecutive samples (the previous sample of a vehicle is
kept in Redis so batches join up):
- distance_km = speed x elapsed time, idle_s = time at speed < 2 km/h with the engine running (rpm > 0),
- fuel_l = drop of fuel_level_pct x tank size (a rise is a refuel and is ignored).
The daily totals are upserted in Aurora fuel_analytics (vehicle_id, day) and mirrored in a Redis hash. MPG
(US: miles per US gallon) is compared with the benchmark of the vehicle class in Redis hash fuel:benchmark:mpg
(defaults below); below FUEL_EFFICIENCY_THRESHOLD x benchmark, or idling more than 30 % of engine time, a
coaching recommendation is published to SNS driver-coaching once per vehicle, day and kind.
"""

from __future__ import annotations

import datetime as dt
import json
import os


from record_schema import RecordError, decode_kinesis
from telematics_common import aws_client, db_connection, ensure_schema, log_event, publish_batch, redis_client, reset_db, reset_redis, sns_attributes

COACHING_TOPIC_ARN = os.environ.get("COACHING_TOPIC_ARN", "")
EFFICIENCY_THRESHOLD = float(os.environ.get("FUEL_EFFICIENCY_THRESHOLD", "0.85"))
KM_PER_MILE = 1.609344
LITERS_PER_GALLON = 3.785411784
MAX_GAP_MS = 5 * 60 * 1000      # a gap longer than this (engine off, no coverage) is not integrated
MIN_DISTANCE_KM = 25.0          # judge MPG only after enough distance in the day
IDLE_RATIO_LIMIT = 0.30
TANK_LITERS = {"tractor": 570.0, "straight_truck": 190.0, "box_truck": 150.0, "van": 95.0, "pickup": 100.0,
               "bus": 380.0, "unknown": 300.0}
DEFAULT_BENCHMARK_MPG = {"tractor": 6.5, "straight_truck": 8.5, "box_truck": 10.0, "van": 14.0, "pickup": 16.0,
                         "bus": 5.5, "unknown": 8.0}


def integrate(previous: dict | None, samples: list[dict]) -> dict[str, dict]:
    """Per-day increments from consecutive samples of one vehicle."""
    days: dict[str, dict] = {}
    # Samples at or before the stored previous sample were already integrated (replay/retry): skip them.
    samples = [s for s in samples if previous is None or s["ts"] > previous["ts"]]
    if not samples:
        return days
    chain = ([previous] if previous else []) + sorted(samples, key=lambda s: s["ts"])
    tank = TANK_LITERS.get(samples[-1].get("vehicle_type", "unknown"), TANK_LITERS["unknown"])
    for before, after in zip(chain, chain[1:]):
        gap = after["ts"] - before["ts"]
        if gap <= 0 or gap > MAX_GAP_MS:
            continue
        day = dt.datetime.fromtimestamp(after["ts"] / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d")
        bucket = days.setdefault(day, {"distance_km": 0.0, "fuel_l": 0.0, "idle_s": 0.0, "engine_s": 0.0})
        hours = gap / 3_600_000
        bucket["distance_km"] += (before["speed_kph"] + after["speed_kph"]) / 2 * hours
        drop = before["fuel_level_pct"] - after["fuel_level_pct"]
        if drop > 0:
            bucket["fuel_l"] += drop / 100 * tank
        if after["rpm"] > 0:
            bucket["engine_s"] += gap / 1000
            if after["speed_kph"] < 2:
                bucket["idle_s"] += gap / 1000
    return days


def mpg(distance_km: float, fuel_l: float) -> float | None:
    if fuel_l < 1.0:
        return None
    return (distance_km / KM_PER_MILE) / (fuel_l / LITERS_PER_GALLON)


def handler(event, context):
    per_vehicle: dict[str, list[dict]] = {}
    for record in event.get("Records", []):
        try:
            sample = decode_kinesis(record, "diagnostics_record")
        except RecordError:
            continue  # logged by the diagnostics processor
        per_vehicle.setdefault(sample["vehicle_id"], []).append(sample)
    if not per_vehicle:
        return {"batchItemFailures": []}

    try:
        redis = redis_client()
        vehicles = sorted(per_vehicle)
        previous = dict(zip(vehicles, redis.mget([f"fuel:last:{v}" for v in vehicles])))
        increments = {v: integrate(json.loads(previous[v]) if previous[v] else None, per_vehicle[v]) for v in vehicles}

        conn = db_connection()
        ensure_schema(conn)
        totals: dict[tuple[str, str], dict] = {}
        for vid, days in increments.items():
            vtype = per_vehicle[vid][-1].get("vehicle_type", "unknown")
            for day, inc in days.items():
                row = conn.run(
                    "INSERT INTO fuel_analytics (vehicle_id, day, vehicle_type, distance_km, fuel_l, idle_s, engine_s)"
                    " VALUES (:v, CAST(:d AS DATE), :t, :dist, :fuel, :idle, :engine)"
                    " ON CONFLICT (vehicle_id, day) DO UPDATE SET"
                    " distance_km = fuel_analytics.distance_km + EXCLUDED.distance_km,"
                    " fuel_l = fuel_analytics.fuel_l + EXCLUDED.fuel_l,"
                    " idle_s = fuel_analytics.idle_s + EXCLUDED.idle_s,"
                    " engine_s = fuel_analytics.engine_s + EXCLUDED.engine_s, updated_at = now()"
                    " RETURNING distance_km, fuel_l, idle_s, engine_s",
                    v=vid, d=day, t=vtype, dist=round(inc["distance_km"], 3), fuel=round(inc["fuel_l"], 3),
                    idle=round(inc["idle_s"], 1), engine=round(inc["engine_s"], 1),
                )[0]
                totals[(vid, day)] = {"vehicle_type": vtype, "distance_km": float(row[0]), "fuel_l": float(row[1]),
                                      "idle_s": float(row[2]), "engine_s": float(row[3])}

        benchmarks = redis.hgetall("fuel:benchmark:mpg") or {}
        pipe = redis.pipeline(transaction=False)
        for vid in vehicles:
            latest = max(per_vehicle[vid], key=lambda s: s["ts"])
            pipe.set(f"fuel:last:{vid}", json.dumps(latest), ex=86400)
        pipe.execute()
    except Exception:
        reset_db()
        reset_redis()
        raise  # the batch is retried (bisected), then parked in the on-failure DLQ

    entries = []
    for (vid, day), total in totals.items():
        vtype = total["vehicle_type"]
        benchmark = float(benchmarks.get(vtype, DEFAULT_BENCHMARK_MPG.get(vtype, DEFAULT_BENCHMARK_MPG["unknown"])))
        value = mpg(total["distance_km"], total["fuel_l"])
        idle_ratio = total["idle_s"] / total["engine_s"] if total["engine_s"] > 600 else 0.0
        findings = []
        if value is not None and total["distance_km"] >= MIN_DISTANCE_KM and value < benchmark * EFFICIENCY_THRESHOLD:
            findings.append(("low_mpg", f"{value:.1f} MPG vs {benchmark:.1f} MPG benchmark for {vtype}"))
        if idle_ratio > IDLE_RATIO_LIMIT:
            findings.append(("excessive_idle", f"idling {idle_ratio:.0%} of engine time"))
        for kind, detail in findings:
            if not redis.set(f"coaching:{vid}:{day}:{kind}", "1", nx=True, ex=2 * 86400):
                continue
            message = {"vehicle_id": vid, "day": day, "coaching_type": kind, "detail": detail, "vehicle_type": vtype,
                       "mpg": round(value, 2) if value else None, "benchmark_mpg": benchmark,
                       "idle_ratio": round(idle_ratio, 3), "severity": "medium"}
            entries.append({"Id": str(len(entries)), "Message": json.dumps(message),
                            "MessageAttributes": sns_attributes("medium", f"coaching_{kind}", vehicle_id=vid)})
    failed = publish_batch(aws_client("sns"), COACHING_TOPIC_ARN, entries) if entries and COACHING_TOPIC_ARN else []
    log_event("fuel_batch", vehicles=len(per_vehicle), days=len(totals), coaching=len(entries), publish_failed=len(failed))
    return {"batchItemFailures": []}
