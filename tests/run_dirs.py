"""Small run dirs for report tests: simulated latencies (seeded) recorded in real HdrHistograms, and a summary
derived from those recorders the way a validate run writes it (stages, timeline, alarm, checks, capacity).

Nothing here is a hard-coded result: every percentile, rate and verdict is read back from the recorders.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from loadgen.measure.recorder import HotPathRecorder

SECRET_VALUE = "sk-live-DO-NOT-LEAK-0123"
STAGES = ((4.0, 0.5), (6.0, 1.0))
"""(duration_s, fraction of the peak rate) of the simulated ramp."""


@dataclass(frozen=True)
class SimulatedPath:
    """One hot path of a simulated run."""

    name: str
    peak_rate: float
    median_ms: float
    threshold_ms: float | None
    """p99 alarm threshold; None = no alarm guards it."""
    error_fraction: float = 0.0
    kind: str = "lambda_core"


def _latency_ms(recorder: HotPathRecorder) -> dict:
    return {k: round(v, 3) for k, v in recorder.latency_ms().items()}


def _record(recorder: HotPathRecorder, latencies_s: np.ndarray, failed: np.ndarray) -> None:
    recorder.record_many(latencies_s[~failed])
    recorder.record_many(latencies_s[failed], ok=False)


def _hot_path(path: SimulatedPath, rng: np.random.Generator, latency_factor: float, interval_s: float = 1.0):
    """The hot path's summary entry and its whole-run recorder."""
    whole = HotPathRecorder(path.name)
    stages, intended, latencies, failures = [], [], [], []
    start = 0.0
    for index, (duration, fraction) in enumerate(STAGES):
        rate = path.peak_rate * fraction
        n = int(round(rate * duration))
        t = start + np.arange(n) / rate
        lat = rng.lognormal(math.log(path.median_ms / 1000.0), 0.45, n) * latency_factor
        failed = rng.random(n) < path.error_fraction
        stage = HotPathRecorder(path.name)
        _record(stage, lat, failed)
        stages.append({"index": index, "start_s": start, "duration_s": duration, "target_rate": rate,
                       "achieved_rate": round(stage.ops / duration, 3), "ops": stage.ops, "errors": stage.errors,
                       "latency_ms": _latency_ms(stage)})
        intended.append(t), latencies.append(lat), failures.append(failed)
        start += duration
    intended, latencies, failures = map(np.concatenate, (intended, latencies, failures))
    _record(whole, latencies, failures)
    finished = intended + latencies
    bins = np.floor(finished / interval_s).astype(int)
    timeline = {"interval_s": interval_s, "t_s": [], "ops": [], "errors": [], "p99_ms": []}
    for b in range(int(bins.max()) + 1):
        mask = bins == b
        interval = HotPathRecorder(path.name)
        _record(interval, latencies[mask], failures[mask])
        timeline["t_s"].append(b * interval_s)
        timeline["ops"].append(interval.ops)
        timeline["errors"].append(interval.errors)
        timeline["p99_ms"].append(round(interval.latency_ms()["p99"], 3) if interval.ops else None)
    lat = _latency_ms(whole)
    alarm, verdict = None, "no-alarm"
    if path.threshold_ms is not None:
        alarm = {"name": f"sim-dev-{path.name}-p99", "address": f"aws_cloudwatch_metric_alarm.{path.name}_p99",
                 "metric": "Duration", "statistic": "p99", "threshold": path.threshold_ms, "unit": "ms",
                 "comparison": "GreaterThanThreshold", "observed": lat["p99"],
                 "observed_as": "latency from the intended start"}
        verdict = "fail" if lat["p99"] > path.threshold_ms else "pass"
    delivered = all(abs(s["achieved_rate"] - s["target_rate"]) <= 0.02 * s["target_rate"] for s in stages)
    checks = [{"name": "load delivered", "passed": delivered,
               "detail": "achieved within 2% of target in every stage" if delivered else "a stage fell short"}]
    if not delivered:
        verdict = "fail"
    total = sum(d for d, _ in STAGES)
    entry = {"name": path.name, "kind": path.kind, "ops": whole.ops, "errors": whole.errors, "late_starts": 0,
             "target_rate": round(sum(s["target_rate"] * s["duration_s"] for s in stages) / total, 3),
             "achieved_rate": round(whole.ops / total, 3), "latency_ms": lat,
             "alarm": alarm, "verdict": verdict, "stages": stages, "checks": checks, "timeline": timeline,
             "status_counts": {"2xx": whole.ops - whole.errors, "5xx": whole.errors}}
    if whole.errors:
        entry["error_causes"] = {"HTTP 503": whole.errors}
    return entry, whole


def _capacity(paths: list[SimulatedPath], capacity_per_path: float, headroom: float = 1.3) -> dict:
    resources = []
    for path in paths:
        demand = path.peak_rate
        resources.append({"key": f"{path.name}_reserved_concurrency", "resource": f"aws_lambda_function.{path.name}",
                          "demand": demand, "capacity": capacity_per_path, "utilization": demand / capacity_per_path,
                          "saturates_at_multiple": capacity_per_path / demand,
                          "recommended": math.ceil(demand * headroom)})
    worst = max(resources, key=lambda r: r["utilization"])
    fails = any(r["demand"] * headroom > r["capacity"] for r in resources)
    return {"resources": resources, "breaks_first": worst["key"] if fails else None,
            "verdict": "fail" if fails else "pass"}


def write_stack_run(run_dir: Path, paths: list[SimulatedPath], stack: str = "food_delivery", seed: int = 7,
                    latency_factor: float = 1.0, capacity_per_path: float = 1000.0) -> dict:
    """A validate run of `paths` in run_dir (summary.json + histograms/); returns the summary."""
    rng = np.random.default_rng(seed)
    histograms = run_dir / "histograms"
    histograms.mkdir(parents=True, exist_ok=True)
    entries = []
    for path in paths:
        entry, recorder = _hot_path(path, rng, latency_factor)
        (histograms / f"{path.name}.hdr").write_text(recorder.encode() + "\n")
        entries.append(entry)
    capacity = _capacity(paths, capacity_per_path)
    start, stages = 0.0, []
    for index, (duration, fraction) in enumerate(STAGES):
        stages.append({"index": index, "start_s": start, "duration_s": duration, "rate_fraction": fraction})
        start += duration
    checks = [{"name": "every hot path ran", "passed": all(e["ops"] > 0 for e in entries),
               "detail": f"{len(entries)} hot paths"}]
    failed = (any(e["verdict"] == "fail" for e in entries) or capacity["verdict"] == "fail"
              or not all(c["passed"] for c in checks))
    summary = {"run_id": run_dir.name, "kind": "validate", "stack": stack, "env": "dev", "target": "local",
               "target_detail": {"kind": "local", "region": "us-east-1", "redis": "loopback"},
               "started_at": "2026-12-01T12:00:00Z", "duration_s": start, "hot_paths": entries,
               "verdict": "fail" if failed else "pass", "aborted": False, "abort_reason": None, "rate_scale": 1.0,
               "processes": 1, "tfvars": f"terraform/{stack}/dev.tfvars", "stages": stages, "checks": checks,
               "capacity": capacity,
               "config": {"duration_s": start, "seed": seed, "api_key_id": SECRET_VALUE,
                          "target": {"region": "us-east-1", "aws_secret_access_key": SECRET_VALUE,
                                     "session_token": SECRET_VALUE, "redis_password": SECRET_VALUE}}}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def write_suite_run(run_dir: Path, stacks: dict[str, list[SimulatedPath]], seed: int = 7,
                    latency_factor: float = 1.0) -> dict:
    """A suite run: one sub-folder per stack (each a validate run) and the suite's summary.json."""
    run_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, (stack, paths) in enumerate(stacks.items()):
        sub = write_stack_run(run_dir / stack, paths, stack=stack, seed=seed + i, latency_factor=latency_factor)
        entries.append({"stack": stack, "run_dir": stack, "verdict": sub["verdict"]})
    summary = {"run_id": run_dir.name, "kind": "suite", "env": "dev", "started_at": "2026-12-01T12:00:00Z",
               "stacks": entries, "verdict": "fail" if any(e["verdict"] == "fail" for e in entries) else "pass",
               "aborted": False}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


MATCHING = SimulatedPath("order_matching", peak_rate=200.0, median_ms=4.0, threshold_ms=40.0)
ORDERS_API = SimulatedPath("orders_api", peak_rate=150.0, median_ms=12.0, threshold_ms=None, error_fraction=0.01,
                           kind="api_route")
TRACKING = SimulatedPath("driver_gps", peak_rate=300.0, median_ms=2.0, threshold_ms=5.0, kind="kinesis_stream")
