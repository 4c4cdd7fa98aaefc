"""A Locust test's reports/<run-id>/, written as `loadgen validate` writes its own, and its exit code.

Where it sits: the master's merged recordings (loadgen.locust.recording; a local runner's own) + Locust's stats
-> drive.api_requests.route_result (the same accounting as the API driver) -> measure.validate_summary (the
alarm judge and the delivery checks against the stages the users offered) with the capacity model -> summary.json,
the histograms and report.html. Each API hot path's entry carries `locust`: Locust's own request count and
percentiles (service time, rounded) beside loadgen's exact ones from the merged HdrHistograms. Hot paths of
kinds no Locust user drives yet are listed as not run, with the reason.
"""

from __future__ import annotations

from loadgen.drive.api_requests import route_result
from loadgen.drive.ramp import RampPlan
from loadgen.locust.recording import MergedRoute
from loadgen.locust.run import LocustRun, fresh_accounting
from loadgen.measure.capacity_model import capacity_model
from loadgen.measure.recorder import PERCENTILES
from loadgen.measure.run_summary import HotPathResult, measured_p99_ms, write_summary
from loadgen.measure.validate_summary import build_validate_summary
from loadgen.report.html_report import render_report

LOCUST_DRIVES = ("api_route",)


def locust_entry(stats, name: str) -> dict:
    """Locust's own numbers for a hot path (its stats entry is named after it, method POST)."""
    entry = stats.get(name, "POST")
    latency = {key: float(entry.get_response_time_percentile(p / 100.0) or 0) for key, p in PERCENTILES.items()}
    latency["max"] = float(entry.max_response_time or 0)
    return {"requests": entry.num_requests, "failures": entry.num_failures, "latency_ms": latency,
            "measured_as": "Locust's stats: service time from the actual send, rounded (under 100 ms to 1 ms, "
                           "under 1 s to 10 ms)"}


def results_of(run: LocustRun, merged: dict[str, MergedRoute], stats, span_s: float,
               plan: RampPlan) -> list[HotPathResult]:
    results = []
    for name, route in merged.items():
        load = fresh_accounting(run.loads[name])
        load.status_counts.update(route.status_counts)
        load.client_errors = route.client_errors
        results.append(route_result(load, route.recorder, plan, span_s, route.scheduled_per_stage,
                                    {"ops_per_worker": route.ops_per_worker, "locust": locust_entry(stats, name)}))
    return results


def write_report(run: LocustRun, merged: dict[str, MergedRoute], stats, elapsed_s: float, plan: RampPlan,
                 workers: int, aborted: str | None = None) -> dict:
    """Write the test's run dir; returns its summary (verdict `pass` or `fail`; an aborted test fails)."""
    ctx = run.ctx
    span = max(elapsed_s, 1e-3)
    results = results_of(run, merged, stats, span, plan)
    not_driven = {p.name: f"no Locust user drives {p.kind} hot paths yet (`loadgen validate` drives them)"
                  for p in ctx.hot_paths if p.kind not in LOCUST_DRIVES}
    capacity = capacity_model(ctx.resolved, ctx.profile, run.options.headroom, measured_p99_ms(results)).to_json()
    config = {"stack": ctx.stack, "env": ctx.env, "target": ctx.target.kind, "driver": "locust",
              "users_at_peak": run.options.users_at_peak, "rate_scale": run.options.rate_scale, "pace_s": round(run.pace_s, 6),
              "ramp_duration_s": run.options.ramp_duration, "headroom": run.options.headroom,
              "tfvars": run.options.tfvars or f"{ctx.env}.tfvars",
              "profile": str(ctx.profile.path.relative_to(ctx.profile.path.parents[2]))}
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    summary = build_validate_summary(ctx, results, not_driven, plan, elapsed_s, rate_scale=run.options.rate_scale,
                                     processes=max(workers, 1), tfvars=config["tfvars"], capacity=capacity,
                                     config=config, aborted=aborted)
    summary["driver"] = "locust"
    write_summary(ctx, summary, results)
    render_report(ctx.run_dir)
    return summary
