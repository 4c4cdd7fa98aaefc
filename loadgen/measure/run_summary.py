"""What a measuring run leaves: reports/<run-id>/summary.json and the encoded histograms beside it.

Each hot path is judged against the alarms that guard it in the stack (loadgen.hot_paths names them, the env's
tfvars give their thresholds): the run's measurement is put in each alarm's terms (a latency percentile or mean in
the alarm's unit, a count per alarm period, or the share of requests for API Gateway's 4XX/5XX Average) and
compared as CloudWatch would; every alarm the run measures judges the hot path, and one that would fire fails it.
The summary's keys are a contract (extend, never rename): run_id, stack, env, target, started_at, duration_s,
hot_paths[...], verdict.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from loadgen.errors import LoadgenError
from loadgen.hot_paths import HotPath
from loadgen.measure.recorder import HotPathRecorder
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.run_context import RunContext
from loadgen.tf.alarm_thresholds import Alarm, alarms

_PERCENTILE = re.compile(r"^p(\d+(?:\.\d+)?)$")
_HTTP_STATUS = re.compile(r"^HTTP ([45])\d\d$")


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
    duration: HotPathRecorder | None = None
    """The invoked Lambda function's own Duration per invocation, as its worker measured it around the handler call
    (the recorder is named after the function's function_name): the Duration alarms on that function are judged
    by it instead of by the latency from the intended start."""
    not_measured: dict[str, str] = field(default_factory=dict)
    """Alarm address -> why the run cannot measure it (said in `alarms_not_measured`)."""


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


LATENCY_METRICS = {"Duration": "ms", "Latency": "ms", "GeoSpatialBasedCmdsLatency": "us"}
"""Latency metrics a run can observe, and the unit of their alarms' thresholds."""
RECORDED_LATENCY = {"api_route": "Latency", "lambda_core": "Duration", "redis_geo": "GeoSpatialBasedCmdsLatency"}
"""The latency metric each kind's recording stands for: an API route's client latency is API Gateway's Latency
(not the Duration of a Lambda behind it); a stream's record latency is not GetRecords.Latency, and a contended
write's read-modify-write cycle is no DynamoDB metric. A hot path's other latency alarms are listed as not
measured."""
ERROR_ALLOWANCE = 0.01
"""A hot path whose alarms pass still fails when more than this share of its operations failed: latency alarms
see successful operations only, so failures are judged here, with their most frequent cause."""
PER_REQUEST_METRICS = ("4XXError", "5XXError")
"""API Gateway counts 0 or 1 of these per request: their Average is the share of requests answered 4XX / 5XX."""


HANDLER_DURATION_AS = ("the handler's duration per invocation, measured by the function's worker process around "
                       "the handler call (local API emulator)")
OBSERVED_AS = {
    "Duration": "latency from the intended start of the part of the function this bench runs (the matching core "
                "and its Redis calls; the Lambda's Duration adds its DynamoDB reads and writes)",
    "GeoSpatialBasedCmdsLatency": "client round trip from the intended start (an upper bound of the server-side "
                                  "command latency)",
    "Latency": "client-observed latency from the intended start",
    "IncomingRecords": "records offered per alarm period at the top stage's rate (what the stream would receive, "
                       "delivered or not)",
    "IncomingBytes": "bytes offered per alarm period at the top stage's rate (what the stream would receive, "
                     "delivered or not)",
}


def _statistic(alarm: Alarm) -> Any:
    return alarm.extended_statistic if isinstance(alarm.extended_statistic, str) else alarm.statistic


def _share(alarm: Alarm) -> bool:
    return alarm.metric in PER_REQUEST_METRICS and _statistic(alarm) == "Average"


def observe(result: HotPathResult, alarm: Alarm, kind: str | None) -> float | None:
    """The run's value of the alarm's metric, or None when this run does not measure it."""
    statistic = _statistic(alarm)
    if alarm.metric in result.measured:
        return result.measured[alarm.metric][0]
    if alarm.metric == "Duration" and result.duration is not None:
        dimensions = alarm.dimensions if isinstance(alarm.dimensions, dict) else {}
        if dimensions.get("FunctionName") != result.duration.name:
            return None
        return _latency_in_unit(result.duration, statistic, LATENCY_METRICS[alarm.metric])
    if alarm.metric == RECORDED_LATENCY.get(kind or ""):
        return _latency_in_unit(result.recorder, statistic, LATENCY_METRICS[alarm.metric])
    if alarm.metric not in result.counts_per_s:
        return None
    if statistic == "Sum":
        period = alarm.period if isinstance(alarm.period, (int, float)) else 60
        return result.counts_per_s[alarm.metric] * period
    if _share(alarm) and result.achieved_rate > 0:
        return result.counts_per_s[alarm.metric] / result.achieved_rate
    return None


def _unit(alarm: Alarm) -> str:
    if _share(alarm):
        return "share of requests"
    return LATENCY_METRICS.get(alarm.metric, f"count per {alarm.period}s")


def _observed_as(result: HotPathResult, alarm: Alarm) -> str:
    if alarm.metric in result.measured:
        return result.measured[alarm.metric][1]
    if alarm.metric == "Duration" and result.duration is not None:
        return HANDLER_DURATION_AS
    if _share(alarm):
        return f"the run's share of requests answered {alarm.metric[0]}xx"
    return OBSERVED_AS.get(alarm.metric, "the run's count per alarm period")


def breaches(observed: float, alarm: Alarm) -> bool:
    comparison = str(alarm.comparison)
    if comparison.startswith("GreaterThanOrEqual"):
        return observed >= alarm.threshold
    if comparison.startswith("GreaterThan"):
        return observed > alarm.threshold
    if comparison.startswith("LessThanOrEqual"):
        return observed <= alarm.threshold
    return observed < alarm.threshold


def check_guarding_alarms(ctx: RunContext) -> None:
    """Before any load: every alarm a hot path names exists in the stack and, unless it compares against another
    metric (`threshold_metric_id`), has a numeric threshold in the env. Else one LoadgenError line: judging a hot
    path by its other alarms instead would be a silent substitution."""
    found = {a.address: a for a in alarms(ctx.resolved)}
    where = ctx.profile.path.parent / "hot_paths.toml"
    for path in ctx.hot_paths:
        for address in path.alarms:
            alarm = found.get(address)
            if alarm is None:
                raise LoadgenError(f"{where}: hot path '{path.name}' names alarm {address}, which {ctx.stack} does "
                                   f"not declare for {ctx.env}; fix the address (loadgen tf alarms lists them)")
            if not alarm.threshold_is_number and not alarm.compares_to_metric:
                raise LoadgenError(f"{alarm.file}:{alarm.line}: {address} (guarding hot path '{path.name}') has no "
                                   f"numeric threshold in {ctx.env} (got {alarm.threshold!r}); set it from a "
                                   f"variable {ctx.env}.tfvars sets")


def _unmeasured_latency(result: HotPathResult, alarm: Alarm | None, kind: str | None) -> str | None:
    """Why a latency alarm the run records has no value: no operation succeeded (failures are not latencies)."""
    if alarm is not None and alarm.metric == RECORDED_LATENCY.get(kind or "") and result.recorder.ops:
        return f"none of the {result.recorder.ops:,} operations succeeded"
    return None


def _unjudged_errors(result: HotPathResult, judged_metrics: set[str]) -> dict[str, int]:
    """The hot path's failed operations by cause, less the answers a judged alarm counts (API Gateway's
    4XXError / 5XXError share alarms judge the routes' 4xx / 5xx answers)."""
    recorded = result.staged.error_causes if result.staged is not None else {}
    causes = {cause: n for cause, n in recorded.items()
              if not ((m := _HTTP_STATUS.match(cause)) and f"{m.group(1)}XXError" in judged_metrics)}
    unknown = result.recorder.errors - sum(recorded.values())
    if unknown > 0:
        causes["cause not recorded"] = unknown
    return causes


def judge(result: HotPathResult, path: HotPath | None, found: dict[str, Alarm]) -> dict:
    """The hot path's summary entry: every one of its alarms this run measures judges it (`alarms`), one that
    would fire fails it; `alarm` is the one that decided (the first that fires, else the first measured). Alarms
    the run does not measure are listed in `alarms_not_measured`."""
    recorder = result.recorder
    entry: dict[str, Any] = {
        "name": result.name, "ops": recorder.ops, "errors": recorder.errors, "late_starts": recorder.late_starts,
        "target_rate": result.target_rate, "achieved_rate": round(result.achieved_rate, 3),
        "latency_ms": {k: round(v, 3) for k, v in recorder.latency_ms().items()},
        "alarm": None, "verdict": "no-alarm", **({"kind": result.kind} if result.kind else {}), **result.extra,
    }
    if result.duration is not None:
        entry["handler_duration_ms"] = {k: round(v, 3) for k, v in result.duration.latency_ms().items()}
    judged, not_measured = [], []
    for address in path.alarms if path else ():
        alarm = found.get(address)
        observed = observe(result, alarm, path.kind) if alarm and alarm.threshold_is_number else None
        if observed is None:
            reason = result.not_measured.get(address) or _unmeasured_latency(result, alarm, path.kind)
            not_measured.append({"address": address, "metric": alarm.metric if alarm else None,
                                 **({"reason": reason} if reason else {})})
            continue
        judged.append({"name": alarm.name, "address": address, "metric": alarm.metric,
                       "statistic": _statistic(alarm), "threshold": alarm.threshold, "unit": _unit(alarm),
                       "comparison": alarm.comparison, "observed": round(observed, 3),
                       "observed_as": _observed_as(result, alarm), "fires": breaches(observed, alarm)})
    if judged:
        deciding = next((a for a in judged if a["fires"]), judged[0])
        entry["alarm"] = {k: v for k, v in deciding.items() if k != "fires"}
        entry["verdict"] = "fail" if deciding["fires"] else "pass"
    if path:
        entry["alarms"] = judged
        entry["alarms_not_measured"] = not_measured
    if recorder.ops == 0:
        entry["verdict"] = "fail"
        entry["failed_because"] = "no operation finished"
    elif entry["verdict"] != "fail":
        unjudged = _unjudged_errors(result, {a["metric"] for a in judged})
        if sum(unjudged.values()) > ERROR_ALLOWANCE * recorder.ops:
            cause, count = max(unjudged.items(), key=lambda kv: kv[1])
            entry["verdict"] = "fail"
            entry["failed_because"] = (f"{sum(unjudged.values()):,} of {recorder.ops:,} operations failed (more "
                                       f"than {ERROR_ALLOWANCE:.0%}); most often: {cause} ({count:,})")
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


def measured_p99_ms(results: list[HotPathResult]) -> dict[str, float]:
    """Each hot path's p99 from this run, for the capacity model's Little's-law rows (by hot-path name). A hot path
    none of whose operations succeeded has no latency (its histogram holds successes only): its row stays
    unmeasured rather than taking a p99 of 0."""
    return {r.name: r.recorder.latency_ms()["p99"] for r in results if r.recorder.histogram.get_total_count()}


def write_summary(ctx: RunContext, summary: dict, results: list[HotPathResult]) -> None:
    """summary.json plus one encoded HdrHistogram per hot path (histograms/<name>.hdr; a Lambda's own Duration
    beside it, histograms/<name>.duration.hdr)."""
    histograms = ctx.run_dir / "histograms"
    histograms.mkdir(parents=True, exist_ok=True)
    for result in results:
        (histograms / f"{result.name}.hdr").write_text(result.recorder.encode() + "\n")
        if result.duration is not None:
            (histograms / f"{result.name}.duration.hdr").write_text(result.duration.encode() + "\n")
    (ctx.run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
