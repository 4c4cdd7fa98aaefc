"""`loadgen profile show`: a profile's rates per stream and route, set against what the env's tfvars provision."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from loadgen.profiles import KINESIS_BYTES_PER_SHARD, KINESIS_RECORDS_PER_SHARD, Profile
from loadgen.tf.capacity import capacity
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.hcl_reader import Stack

_KEY = re.compile(r'\["([^"]+)"\]$')


def _shards_by_stream(resolved: ResolvedStack) -> dict[str, Any]:
    streams = capacity(resolved)["kinesis_streams"]
    return {(_KEY.search(address).group(1) if _KEY.search(address) else address): s["shard_count"]
            for address, s in streams.items()}


def _rest_api_rate_limit(resolved: ResolvedStack) -> Any:
    """The tightest REST throttle (stage method settings or usage plan) that every API request meets."""
    limits = [t["rate_limit"] for address, t in capacity(resolved)["api_throttles"].items()
              if not address.startswith("aws_apigatewayv2") and isinstance(t.get("rate_limit"), (int, float))]
    return min(limits) if limits else None


def _mean_record_bytes(profile: Profile) -> dict[str, float]:
    """Average payload size per stream or route, from one simulated second at the busiest moment."""
    config = profile.config()
    batches = config.build().generate(config.peak_time_s, config.peak_time_s + 1.0)
    return {name: (b.nbytes / len(b) if len(b) else 0.0) for name, b in batches.items()}


def _peak_at(start_epoch_ms: int, peak_time_s: float) -> datetime:
    """The wall-clock (UTC) time of a simulated time: the model's t = 0 is start_epoch_ms."""
    return datetime.fromtimestamp(start_epoch_ms / 1000.0 + peak_time_s, tz=timezone.utc)


def profile_report(profile: Profile, stack: Stack) -> dict:
    """Per stream/route: mean and peak rate (and when the peak falls, UTC), record size, and for Kinesis the
    per-shard load at peak."""
    resolved = ResolvedStack(stack, profile.env)
    start_epoch_ms = profile.config().start_epoch_ms
    shards = _shards_by_stream(resolved)
    api_limit = _rest_api_rate_limit(resolved)
    sizes = _mean_record_bytes(profile)
    rows = []
    for demand in profile.demand():
        peak = _peak_at(start_epoch_ms, demand.peak_time_s)
        row: dict[str, Any] = {"name": demand.name, "kind": demand.kind, "mean_rps": demand.mean_rps,
                               "peak_rps": demand.peak_rps, "peak_to_mean": round(demand.peak_rps / demand.mean_rps, 2)
                               if demand.mean_rps else None, "peak_at_utc": f"{peak:%a %H:%M}",
                               "peak_hour_utc": round(peak.hour + peak.minute / 60, 2),
                               "partition_key": demand.partition_key,
                               "mean_record_bytes": round(sizes.get(demand.name, 0.0), 1)}
        if demand.kind == "kinesis":
            count = shards.get(demand.name)
            row["shards"] = count
            if isinstance(count, int) and count > 0:
                per_shard = demand.peak_rps / count
                row["peak_rps_per_shard"] = round(per_shard, 1)
                row["peak_shard_records_utilization"] = round(per_shard / KINESIS_RECORDS_PER_SHARD, 3)
                row["peak_shard_bytes_utilization"] = round(
                    per_shard * row["mean_record_bytes"] / KINESIS_BYTES_PER_SHARD, 3)
        if demand.kind == "api":
            row["throttle_rps"] = api_limit
            if api_limit:
                row["peak_throttle_utilization"] = round(demand.peak_rps / api_limit, 3)
        rows.append(row)
    return {
        "stack": profile.stack, "env": profile.env, "domain": profile.domain, "seed": profile.seed,
        "fleet": profile.fleet, "scenario": profile.scenario, "scenarios": sorted(profile.scenarios),
        "stages": [{"duration_s": s.duration_s, "rate_fraction": s.rate_fraction} for s in profile.stages],
        "rates": rows,
        "peak_rps_total": sum(r["peak_rps"] for r in rows),
        "mean_rps_total": sum(r["mean_rps"] for r in rows),
    }
