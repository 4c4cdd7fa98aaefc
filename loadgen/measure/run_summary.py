"""What a measuring run leaves: reports/<run-id>/summary.json and the encoded histograms beside it.

Each hot path is judged against the alarm that guards it in the stack (loadgen.hot_paths names it, the env's
tfvars give its threshold): the run's measurement is put in the alarm's terms (a latency percentile or mean in
the alarm's unit, or a count per alarm period) and compared as CloudWatch would. The summary's keys are a
contract (extend, never rename): run_id, stack, env, target, started_at, duration_s, hot_paths[...], verdict.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from loadgen.hot_paths import HotPath
from loadgen.measure.recorder import HotPathRecorder
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.run_context import RunContext
from loadgen.tf.alarm_thresholds import Alarm, alarms

_PERCENTILE = re.compile(r"^p(\d+(?:\.\d+)?)$")


@dataclass
class HotPathResult:
    """One hot path's measurement in a run."""

    name: str
    """Name in the summary (a declared hot path, or a variant of one such as `vendor_geo_search_geosearch`)."""
    declared: str
    """The declared hot path (loadgen.hot_paths) whose alarms judge it."""
    recorder: HotPathRecorder
    target_rate: float | None
    achieved_rate: float
    counts_per_s: dict[str, float] = field(default_factory=dict)
    """Rates of counted events the alarms may be about, e.g. {"ConditionalCheckFailedRequests": 3.2}."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Hot-path specific keys (successful_writes, lost_updates, redis_benchmark_ratio, ...)."""
    measured: dict[str, tuple[float, str]] = field(default_factory=dict)
    """Alarm metric -> (value in the alarm's statistic and unit, how measured) the target reported itself."""
    staged: StagedRecorder | None = None
    """The recording per ramp stage and second (the whole-run `recorder` is its exact merge)."""
    kind: str | None = None
    """The declared hot path's kind (api_route, kinesis_stream, ...)."""
    scheduled_per_stage: list[int] | None = None
    """Operations (records) the schedule offered in each ramp stage, by intended time."""


def _latency_in_unit(recorder: HotPathRecorder, statistic: str, unit: str) -> float | None:
    """The run's latency in the alarm's statistic (pNN or Average/Maximum) and unit (ms or us)."""
    histogram = recorder.histogram
    if histogram.get_total_count() == 0:
        return None
    match = _PERCENTILE.match(statistic or "")
    if match:
        value_us = histogram.get_value_at_percentile(float(match.group(1)))
    elif statistic == "Average":
        value_us = histogram.get_mean_value()
    elif statistic == "Maximum":
        value_us = histogram.get_max_value()
    else:
        return None
    return value_us if unit == "us" else value_us / 1000.0


LATENCY_METRICS = {"Duration": "ms", "Latency": "ms", "IntegrationLatency": "ms", "GetRecords.Latency": "ms",
                   "PutRecords.Latency": "ms", "GeoSpatialBasedCmdsLatency": "us"}


OBSERVED_AS = {
    "Duration": "latency from the intended start of the part of the function this bench runs (the matching core "
                "and its Redis calls; the Lambda's Duration adds its DynamoDB reads and writes)",
    "GeoSpatialBasedCmdsLatency": "client round trip from the intended start (an upper bound of the server-side "
                                  "command latency)",
    "Latency": "client-observed latency from the intended start",
}


def observe(result: HotPathResult, alarm: Alarm) -> float | None:
    """The run's value of the alarm's metric, or None when this run does not measure it."""
    statistic = alarm.extended_statistic if isinstance(alarm.extended_statistic, str) else alarm.statistic
    if alarm.metric in result.measured:
        return result.measured[alarm.metric][0]
    if alarm.metric in LATENCY_METRICS:
        return _latency_in_unit(result.recorder, statistic, LATENCY_METRICS[alarm.metric])
    period = alarm.period if isinstance(alarm.period, (int, float)) else 60
    if alarm.metric in result.counts_per_s and statistic == "Sum":
        return result.counts_per_s[alarm.metric] * period
    return None


def breaches(observed: float, alarm: Alarm) -> bool:
    comparison = str(alarm.comparison)
    if comparison.startswith("GreaterThanOrEqual"):
        return observed >= alarm.threshold
    if comparison.startswith("GreaterThan"):
        return observed > alarm.threshold
    if comparison.startswith("LessThanOrEqual"):
        return observed <= alarm.threshold
    return observed < alarm.threshold


def judge(result: HotPathResult, path: HotPath | None, found: dict[str, Alarm]) -> dict:
    """The hot path's summary entry: the first of its alarms this run measures decides the verdict."""
    recorder = result.recorder
    entry: dict[str, Any] = {
        "name": result.name, "ops": recorder.ops, "errors": recorder.errors, "late_starts": recorder.late_starts,
        "target_rate": result.target_rate, "achieved_rate": round(result.achieved_rate, 3),
        "latency_ms": {k: round(v, 3) for k, v in recorder.latency_ms().items()},
        "alarm": None, "verdict": "no-alarm", **result.extra,
    }
    for address in path.alarms if path else ():
        alarm = found.get(address)
        if alarm is None or not alarm.threshold_is_number:
            continue
        observed = observe(result, alarm)
        if observed is None:
            continue
        entry["alarm"] = {"name": alarm.name, "address": address, "metric": alarm.metric,
                          "statistic": alarm.extended_statistic if isinstance(alarm.extended_statistic, str)
                          else alarm.statistic, "threshold": alarm.threshold,
                          "unit": LATENCY_METRICS.get(alarm.metric, f"count per {alarm.period}s"),
                          "comparison": alarm.comparison, "observed": round(observed, 3),
                          "observed_as": result.measured[alarm.metric][1] if alarm.metric in result.measured
                          else OBSERVED_AS.get(alarm.metric, "the run's count per alarm period")}
        entry["verdict"] = "fail" if breaches(observed, alarm) else "pass"
        break
    if recorder.errors and entry["verdict"] == "pass" and recorder.errors > 0.01 * max(recorder.ops, 1):
        entry["verdict"] = "fail"
        entry["failed_because"] = "more than 1% of operations failed"
    if result.extra.get("lost_updates"):
        entry["verdict"] = "fail"
        entry["failed_because"] = f"{result.extra['lost_updates']} updates were lost"
    return entry


def build_summary(ctx: RunContext, results: list[HotPathResult], duration_s: float) -> dict:
    declared = {p.name: p for p in ctx.hot_paths}
    found = {a.address: a for a in alarms(ctx.resolved)}
    entries = [judge(r, declared.get(r.declared), found) for r in results]
    return {
        "run_id": ctx.run_id, "stack": ctx.stack, "env": ctx.env, "target": ctx.target.kind,
        "target_detail": ctx.target.describe(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ctx.started_at)),
        "duration_s": round(duration_s, 3), "hot_paths": entries,
        "verdict": "fail" if any(e["verdict"] == "fail" for e in entries) else "pass",
    }


def write_summary(ctx: RunContext, summary: dict, results: list[HotPathResult]) -> None:
    """summary.json plus one encoded HdrHistogram per hot path (histograms/<name>.hdr)."""
    histograms = ctx.run_dir / "histograms"
    histograms.mkdir(parents=True, exist_ok=True)
    for result in results:
        (histograms / f"{result.name}.hdr").write_text(result.recorder.encode() + "\n")
    (ctx.run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
