"""The verdict of `loadgen validate` for one stack: latency against the alarms, and delivery of the load.

Where it sits: drive.stack_run's results -> this (per-stage figures from the staged HdrHistograms, the alarm
judgement of measure.run_summary, delivery checks) -> summary.json (schema: measure/summary.schema.json).

A run that did not deliver its load never passes: every hot path needs at least one operation, each stage's
achieved rate (completions in the stage's wall window) must be within DELIVERY_TOLERANCE of what the schedule
offered in it (at least DELIVERY_SLACK_OPS operations, or DELIVERY_SLACK_S of its traffic, either way: what is
in flight at a boundary),
no Kinesis record may be left in flight, a route's writes must have landed (one new item in its writes_table per
2xx answer, local target), the capacity model must hold, and the run must not have been aborted. A route answered
429 gets a `throttled` check naming the tfvars keys of the throttles it meets (from the capacity model).
Declared hot paths this target cannot drive are listed with the reason (verdict `not-run`); they never pass and
never fail the run silently: the report shows them.
"""

from __future__ import annotations

import math
from typing import Any

from loadgen.drive.ramp import RampPlan
from loadgen.measure.run_summary import HotPathResult, build_summary

DELIVERY_TOLERANCE = 0.02
DELIVERY_SLACK_OPS = 2
DELIVERY_SLACK_S = 0.25
"""A quarter second of the stage's traffic may sit across its boundary (batches, the last calls of the run)."""


def _check(name: str, passed: bool, detail: str) -> dict:
    return {"name": name, "passed": bool(passed), "detail": detail}


def stage_entries(result: HotPathResult, plan: RampPlan) -> list[dict]:
    """Per stage: what the schedule offered, what finished in the stage's wall window, and its percentiles.
    The last stage's window closes one median latency after the schedule's end: what was still in flight then
    (about rate x median latency operations) is not a shortfall; what took longer is."""
    staged = result.staged
    scheduled = result.scheduled_per_stage or [0] * len(plan.durations_s)
    last = len(plan.durations_s) - 1
    grace_s = staged.stages[last].latency_ms()["p50"] / 1000.0
    done = list(staged.done_in_stage)
    done[last] += sum(1 for after in staged.drained_after_s if after <= grace_s)
    entries = []
    for k, (start, duration) in enumerate(zip(plan.starts_s, plan.durations_s)):
        recorder = staged.stages[k]
        entries.append({
            "index": k, "start_s": round(float(start), 3), "duration_s": round(duration, 3),
            "target_rate": round(scheduled[k] / duration, 3),
            "achieved_rate": round(done[k] / duration, 3),
            "scheduled": scheduled[k], "completed_in_window": done[k],
            "ops": recorder.ops, "errors": recorder.errors,
            "latency_ms": {key: round(v, 3) for key, v in recorder.latency_ms().items()}})
    return entries


def delivery_checks(entry: dict, result: HotPathResult, aborted: bool) -> list[dict]:
    """The hot path's delivery: operations at all, each stage's achieved rate (not for an aborted run, whose
    stages did not all run: its own check fails it), nothing left in flight, nothing cancelled at the drain."""
    checks = [_check("operations", entry["ops"] > 0, f"{entry['ops']:,} operations finished")]
    for stage in entry.get("stages", []) if result.scheduled_per_stage is not None and not aborted else ():
        offered, done = stage["scheduled"], stage["completed_in_window"]
        allowed = max(DELIVERY_TOLERANCE * offered, DELIVERY_SLACK_OPS,
                      DELIVERY_SLACK_S * offered / stage["duration_s"])
        if offered == 0 and done == 0:
            continue
        checks.append(_check(
            f"stage {stage['index']} delivery", abs(done - offered) <= allowed,
            f"achieved {stage['achieved_rate']:,.2f}/s of {stage['target_rate']:,.2f}/s offered "
            f"({done:,} of {offered:,} operations finished in the stage's window; allowed +-{math.floor(allowed):,})"))
    writes = result.extra.get("table_writes")
    if writes is not None:
        checks.append(_check("table writes", writes["new_items"] == writes["answered_2xx"],
                             f"{writes['new_items']:,} new items in {writes['table']} for {writes['answered_2xx']:,} "
                             "2xx answers (one item each)"))
    in_flight = result.extra.get("in_flight")
    if in_flight is not None:
        checks.append(_check("in flight", in_flight == 0, f"{in_flight:,} records neither acknowledged nor failed"))
    if "finish_error" in result.extra:
        checks.append(_check("driver finish", False, f"reading the outcome back failed: {result.extra['finish_error']}"))
    if result.staged is not None and result.staged.cancelled:
        checks.append(_check("drain", False, f"{result.staged.cancelled:,} operations cancelled at the drain bound"))
    return checks


def judge_delivery(summary: dict, results: list[HotPathResult], plan: RampPlan, aborted: bool) -> None:
    """Add each recorded hot path's stages, timeline, error causes and delivery checks to its summary entry; a
    failing check fails the hot path, and then the summary (every measuring command judges delivery this way)."""
    by_name = {r.name: r for r in results}
    for entry in summary["hot_paths"]:
        result = by_name.get(entry["name"])
        if result is None or result.staged is None:
            continue
        if result.scheduled_per_stage is not None:
            entry["stages"] = stage_entries(result, plan)
        entry["timeline"] = result.staged.timeline()
        entry["error_causes"] = dict(sorted(result.staged.error_causes.items(), key=lambda kv: -kv[1]))
        entry["checks"] = delivery_checks(entry, result, aborted)
        failed = [c for c in entry["checks"] if not c["passed"]]
        if failed and entry["verdict"] != "fail":
            entry["verdict"] = "fail"
            entry["failed_because"] = "; ".join(f"{c['name']}: {c['detail']}" for c in failed)
    if any(e["verdict"] == "fail" for e in summary["hot_paths"]):
        summary["verdict"] = "fail"


def shortfall(summary: dict) -> str | None:
    """One line for a target that could not take the offered load: the hot path and stage delivered least of it
    (below what the delivery check allows), and what to do; None when every stage delivered."""
    worst = None
    for hp in summary["hot_paths"]:
        failed = {c["name"] for c in hp.get("checks") or [] if not c["passed"]}
        for stage in hp.get("stages") or []:
            if f"stage {stage['index']} delivery" in failed and stage["achieved_rate"] < stage["target_rate"]:
                share = stage["achieved_rate"] / stage["target_rate"]
                if worst is None or share < worst[0]:
                    worst = (share, hp["name"], stage)
    if worst is None:
        return None
    share, name, stage = worst
    remedy = ("lower --rate-scale, or run against --target aws" if summary.get("target") == "local"
              else "raise the env's capacities, or lower --rate-scale")
    return (f"the {summary.get('target', '')} target sustained {stage['achieved_rate']:,.2f} of "
            f"{stage['target_rate']:,.2f}/s offered on {name} in stage {stage['index']} ({share:.0%}); {remedy}")


def throttle_check(entry: dict, capacity: dict | None) -> dict | None:
    """For an API route answered 429: the answers counted against the route's throttles, named by their tfvars keys
    and values as the capacity model reads them; None when no answer was 429."""
    throttled = (entry.get("status_counts") or {}).get("429", 0)
    if not throttled:
        return None
    limits = {}
    for row in (capacity or {}).get("resources", []):
        if entry.get("route") in (row.get("detail") or {}).get("routes", []) and "throttle" in row["resource"]:
            limits.setdefault(row["key"], row["current"])
    named = ", ".join(f"{key} = {value}" for key, value in limits.items()) or "no throttle the capacity model reads"
    return _check("throttled", False, f"{throttled:,} of {entry['ops']:,} answers were 429 Too Many Requests from "
                                      f"the route's throttle ({named})")


def target_check(dead: list[str]) -> dict:
    """Whether the target's services outlived the run (dead: descriptions of those that did not)."""
    return _check("target alive", not dead, "; ".join(f"{d} died during the run" for d in dead)
                  or "every service of the target answered to the end")


def build_validate_summary(ctx: Any, results: list[HotPathResult], not_driven: dict[str, str], plan: RampPlan,
                           elapsed_s: float, *, rate_scale: float, processes: int, tfvars: str,
                           capacity: dict | None, config: dict, aborted: str | None,
                           target_checks: list[dict] = ()) -> dict:
    """The per-stack summary of a validate run (build_summary's keys, extended). Call-level recordings that are
    not hot paths of their own (a stream's PutRecords round trips) are folded into their hot path's entry."""
    calls = {r.extra.get("stream_name"): r for r in results if r.staged is None and r.extra.get("stream_name")}
    results = [r for r in results if r.staged is not None or r not in calls.values()]
    summary = build_summary(ctx, results, elapsed_s)
    by_name = {r.name: r for r in results}
    kinds = {p.name: p.kind for p in ctx.hot_paths}
    for entry in summary["hot_paths"]:
        result = by_name[entry["name"]]
        entry["kind"] = result.kind or kinds.get(entry["name"])
        call = calls.get(result.extra.get("stream_name"))
        if call is not None:
            entry["put_records_calls"] = call.recorder.ops
            entry["put_records_latency_ms"] = {k: round(v, 3) for k, v in call.recorder.latency_ms().items()}
    judge_delivery(summary, results, plan, aborted is not None)
    for entry in summary["hot_paths"]:
        check = throttle_check(entry, capacity)
        if check is not None:
            entry.setdefault("checks", []).append(check)
            entry["verdict"] = "fail"
            entry.setdefault("failed_because", f"{check['name']}: {check['detail']}")
    for name, reason in not_driven.items():
        summary["hot_paths"].append({"name": name, "kind": kinds.get(name), "ops": 0, "errors": 0,
                                     "late_starts": 0, "target_rate": None, "achieved_rate": 0.0,
                                     "latency_ms": {k: 0.0 for k in ("p50", "p95", "p99", "p999", "max")},
                                     "alarm": None, "verdict": "not-run", "not_run_because": reason,
                                     "stages": [], "checks": [], "timeline": {"interval_s": 1.0, "t_s": [], "ops": [],
                                                                               "errors": [], "p99_ms": []}})
    checks = [_check("not aborted", aborted is None, aborted or "ran to the end of its schedule and drain"),
              *target_checks]
    if capacity is not None:
        short = [r for r in capacity["resources"] if r.get("holds") is False]
        checks.append(_check("capacity", capacity.get("verdict") == "pass", "; ".join(
            f"{r['key']}: {r['resource']} needs {r['recommended']} (has {r['current']})" for r in short)
            or f"every modelled resource holds the top stage x {capacity['headroom']:g} (first to break: "
               f"{capacity.get('breaks_first')})"))
    driven = [e for e in summary["hot_paths"] if e["verdict"] != "not-run"]
    checks.append(_check("hot paths driven", bool(driven), f"{len(driven)} of {len(summary['hot_paths'])} hot "
                         "paths driven on this target"))
    failing = [e["name"] for e in driven if e["verdict"] == "fail"]
    checks.append(_check("hot paths", not failing, ", ".join(failing) + " failed" if failing
                         else "every driven hot path passed"))
    summary.update({
        "kind": "validate", "aborted": aborted is not None, "abort_reason": aborted, "rate_scale": rate_scale,
        "processes": processes, "tfvars": tfvars, "stages": plan.describe(), "checks": checks,
        "capacity": capacity, "config": config,
        "verdict": "pass" if all(c["passed"] for c in checks) else "fail"})
    summary["shortfall"] = shortfall(summary)
    return summary
