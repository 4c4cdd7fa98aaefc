"""The "Verdict" tab of Locust's web UI: the alarm verdict, live, from the merged HdrHistograms.

Where it sits: the master's (or a local runner's) merged recordings (loadgen.locust.recording) -> the same
accounting and alarm judge as the report (loadgen.locust.report.results_of, measure.run_summary.judge) -> one row
per hot path and guarding alarm: p50/p95/p99/p99.9 (exact, from the intended start), the alarm, its threshold
for the env, what the test so far observes and the margin ((threshold - observed) / threshold), plus the
capacity model's breaks_first for the env (the profile's demand against the tfvars, computed once at start). Locust's documented extension points carry it: `template_args`
(`extended_tabs`, `extended_tables`) for the tab, its rows added to /stats/requests (`extended_stats`), and a
JSON route on `environment.web_ui.app` (GET /loadgen/verdict). Computed when asked, never in the request loop.
"""

from __future__ import annotations

import json
from typing import Callable

from loadgen.locust.report import results_of
from loadgen.locust.run import LocustRun, clock
from loadgen.measure.capacity_model import capacity_model
from loadgen.measure.run_summary import judge
from loadgen.report.findings import margin_pct
from loadgen.tf.alarm_thresholds import alarms

KEY = "verdict"
ROUTE = "/loadgen/verdict"
COLUMNS = [("hot_path", "Hot path"), ("ops", "Ops"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"),
           ("p99_ms", "p99 ms"), ("p999_ms", "p99.9 ms"), ("alarm", "Guarding alarm"), ("statistic", "Statistic"),
           ("threshold", "Threshold"), ("observed", "Observed"), ("margin", "Margin"), ("verdict", "Verdict"),
           ("breaks_first", "Breaks first (capacity model)")]


def verdict(run: LocustRun, merged: dict, stats, server_geo: dict, breaks_first: str | None) -> dict:
    """The live verdict: a row per (hot path, guarding alarm), every API hot path listed from the start."""
    ctx = run.ctx
    found = {a.address: a for a in alarms(ctx.resolved)}
    declared = {p.name: p for p in ctx.hot_paths}
    results = {r.name: r for r in results_of(run, merged, stats, max(clock() - run.began, 1e-3), run.plan,
                                             server_geo)}
    rows = []
    for name in run.peaks:
        entry = judge(results[name], declared[name], found) if name in results else None
        judged = {a["address"]: a for a in (entry or {}).get("alarms", [])}
        latency = entry["latency_ms"] if entry and entry["ops"] else {}
        for address in declared[name].alarms:
            alarm, seen = found[address], judged.get(address)
            margin = margin_pct(seen) if seen else None
            rows.append({
                "hot_path": name, "ops": entry["ops"] if entry else 0,
                **{f"{k}_ms": latency.get(k) for k in ("p50", "p95", "p99", "p999")},
                "alarm": alarm.name, "address": address, "statistic": seen["statistic"] if seen else None,
                "threshold": alarm.threshold, "unit": seen["unit"] if seen else None,
                "observed": seen["observed"] if seen else None,
                "margin": None if margin is None else f"{margin:.1f} %",
                "verdict": ("fail" if seen["fires"] else "pass") if seen else "not measured",
                "breaks_first": breaks_first})
    return {"stack": ctx.stack, "env": ctx.env, "run_id": ctx.run_id, "breaks_first": breaks_first,
            "rows": rows}


def install(environment, run: LocustRun, merged: Callable[[], dict], server_geo: Callable[[], dict]) -> None:
    """The tab, its rows in /stats/requests and the JSON route, when this process serves the web UI."""
    web_ui = environment.web_ui
    if web_ui is None:
        return
    web_ui.template_args["extended_tabs"] = [{"title": "Verdict", "key": KEY}]
    web_ui.template_args["extended_tables"] = [{"key": KEY, "structure": [{"key": k, "title": t}
                                                                         for k, t in COLUMNS]}]

    breaks_first = capacity_model(run.ctx.resolved, run.ctx.profile, run.options.headroom).breaks_first

    def current() -> dict:
        return verdict(run, merged(), environment.stats, server_geo(), breaks_first)

    @web_ui.app.route(ROUTE)
    def loadgen_verdict():
        return current()

    @web_ui.app.after_request
    def with_verdict(response):
        from flask import request

        if request.path == "/stats/requests" and response.is_json:
            response.set_data(json.dumps({**response.json,
                                          "extended_stats": [{"key": KEY, "data": current()["rows"]}]}))
        return response
