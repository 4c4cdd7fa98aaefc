"""Earnings step 2 (per batch of drivers) and the run aggregate.

action "calculate": {"delivery_date", "drivers": [{"driver_id", "orders": [...]}]}
  Per order, with the region's pricing_rules row valid on delivery_date (region '*' is the
  fallback), all in Decimal, rounded half-up to cents at the end of each order:
    base        = max(min_per_order, base_pay + per_km * distance_km + per_minute * duration_minutes)
    surge_bonus = base * (surge_multiplier - 1) * surge_share
    tips        = tip * tip_share
    total       = base + surge_bonus + tips
  Returns {"delivery_date", "earnings": [{"driver_id", "order_count", ..., "total"}]}.

action "aggregate": {"delivery_date", "expected_drivers", "result_writer": {"Bucket", "Key"}}
  Reads the distributed Map's ResultWriter manifest and result files, sums what
  earnings_write reported, and fails the execution when drivers are missing.
"""

import json
import os
from decimal import ROUND_HALF_UP, Decimal

import boto3

import datastores

s3 = boto3.client("s3")
CENT = Decimal("0.01")
_rules_cache = {}


def pricing_rules(delivery_date):
    if delivery_date not in _rules_cache:
        try:
            rows = datastores.pg_connection().run(
                "SELECT region, base_pay, per_km, per_minute, min_per_order, surge_share, tip_share "
                "FROM pricing_rules WHERE effective_from <= CAST(:d AS DATE) "
                "AND (effective_to IS NULL OR effective_to > CAST(:d AS DATE)) ORDER BY effective_from",
                d=delivery_date,
            )
        except Exception:
            datastores.reset_pg()
            raise
        rules = {}
        for region, base_pay, per_km, per_minute, min_per_order, surge_share, tip_share in rows:
            rules[region] = {
                "base_pay": Decimal(str(base_pay)),
                "per_km": Decimal(str(per_km)),
                "per_minute": Decimal(str(per_minute)),
                "min_per_order": Decimal(str(min_per_order)),
                "surge_share": Decimal(str(surge_share)),
                "tip_share": Decimal(str(tip_share)),
            }
        if "*" not in rules:
            raise RuntimeError(f"pricing_rules has no fallback region '*' valid on {delivery_date}")
        _rules_cache[delivery_date] = rules
    return _rules_cache[delivery_date]


def order_earnings(order, rule):
    distance = Decimal(order["distance_km"])
    minutes = Decimal(order["duration_minutes"])
    surge = max(Decimal(order["surge_multiplier"]), Decimal(1))
    base = max(rule["min_per_order"], rule["base_pay"] + rule["per_km"] * distance + rule["per_minute"] * minutes)
    surge_bonus = base * (surge - 1) * rule["surge_share"]
    tips = Decimal(order["tip"]) * rule["tip_share"]
    q = lambda v: v.quantize(CENT, rounding=ROUND_HALF_UP)  # noqa: E731
    return {"distance": distance, "minutes": minutes, "base": q(base), "surge_bonus": q(surge_bonus), "tips": q(tips)}


def calculate(event):
    rules = pricing_rules(event["delivery_date"])
    out = []
    for driver in event["drivers"]:
        totals = {"distance": Decimal(0), "minutes": Decimal(0), "base": Decimal(0), "surge_bonus": Decimal(0), "tips": Decimal(0)}
        for order in driver["orders"]:
            e = order_earnings(order, rules.get(order.get("region"), rules["*"]))
            for k in totals:
                totals[k] += e[k]
        out.append(
            {
                "driver_id": driver["driver_id"],
                "order_count": len(driver["orders"]),
                "distance_km": str(totals["distance"]),
                "minutes": str(totals["minutes"]),
                "base_pay": str(totals["base"]),
                "surge_bonus": str(totals["surge_bonus"]),
                "tips": str(totals["tips"]),
                "total": str(totals["base"] + totals["surge_bonus"] + totals["tips"]),
            }
        )
    return {"delivery_date": event["delivery_date"], "earnings": out}


def _read_json(bucket, key):
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def aggregate(event):
    writer = event["result_writer"]
    manifest = _read_json(writer["Bucket"], writer["Key"])
    bucket = manifest.get("DestinationBucket", writer["Bucket"])
    files = manifest.get("ResultFiles", {})
    drivers, total = 0, Decimal(0)
    for entry in files.get("SUCCEEDED", []):
        for execution in _read_json(bucket, entry["Key"]):
            output = json.loads(execution.get("Output") or "{}")
            drivers += int(output.get("drivers", 0))
            total += Decimal(output.get("total", "0"))
    failed = sum(len(files.get(k, [])) for k in ("FAILED", "PENDING"))
    summary = {"delivery_date": event["delivery_date"], "drivers_settled": drivers, "total_paid": str(total), "failed_result_files": failed}
    print(json.dumps({"event": "settlement_completed", **summary}))
    if failed or drivers != int(event["expected_drivers"]):
        raise RuntimeError(f"settlement incomplete: {summary}, expected {event['expected_drivers']} drivers")
    return summary


def handler(event, context):
    if event.get("action") == "aggregate":
        return aggregate(event)
    if event.get("action") == "calculate":
        return calculate(event)
    raise ValueError(f"unknown action {event.get('action')!r}")
