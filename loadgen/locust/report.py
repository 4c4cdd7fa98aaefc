"""A Locust test's reports/<run-id>/, written as `loadgen validate` writes its own, and its exit code.

Where it sits: the master's merged recordings (loadgen.locust.recording; a local runner's own) + Locust's stats
-> drive.api_requests.route_result for API routes (the same accounting as the API driver) -> measure.validate_summary (the
alarm judge and the delivery checks against the stages the users offered) with the capacity model -> summary.json,
the histograms and report.html. Each driven hot path's entry carries `locust`: Locust's own request count and
percentiles (service time, rounded) beside loadgen's exact ones from the merged HdrHistograms; a route that
writes a table (local target) gets `table_writes` from the master's item counts before and after the test
(a COUNT scan over loadgen.locust.ddb_client), as the API driver's. A stream's entry
is drive.put_records_batches.stream_result (as `push kinesis` writes it) and the summary's `accounting` that
module's, over the workers' summed StreamCounts. Hot paths of
kinds no Locust user drives yet are listed as not run, with the reason. GEO queries are judged as validate
judges them: GeoSpatialBasedCmdsLatency as the server measured it over the test (INFO commandstats). A matching
core's assignments and a conditional write's cycles carry their driver's finish as validate's do (assigned and
unassigned; attempted, successful and conditionally failed writes, lost updates from the items read back, and
ConditionalCheckFailedRequests per second for the alarm), each process's summed as `validate --processes` sums
them (measure.wire.merge_finished).
"""

from __future__ import annotations

from loadgen.drive.api_requests import RouteLoad, route_result, table_writes
from loadgen.drive.put_records_batches import accounting, stream_result
from loadgen.drive.ramp import RampPlan
from loadgen.locust.kinesis_user import FAILURES_FILE, PUT_RECORDS
from loadgen.locust.recording import MergedRoute
from loadgen.locust.run import LocustRun, fresh_accounting, not_driven_because
from loadgen.measure.capacity_model import capacity_model
from loadgen.measure.recorder import PERCENTILES
from loadgen.measure.run_summary import HotPathResult, measured_p99_ms, write_summary
from loadgen.measure.validate_summary import build_validate_summary
from loadgen.report.html_report import render_report

def locust_entry(stats, name: str, method: str) -> dict:
    """Locust's own numbers for a hot path (its stats entry is named after it)."""
    entry = stats.get(name, method)
    latency = {key: float(entry.get_response_time_percentile(p / 100.0) or 0) for key, p in PERCENTILES.items()}
    latency["max"] = float(entry.max_response_time or 0)
    return {"requests": entry.num_requests, "failures": entry.num_failures, "latency_ms": latency,
            "measured_as": "Locust's stats: service time from the actual send, rounded (under 100 ms to 1 ms, "
                           "under 1 s to 10 ms)"}


TableCounts = tuple[dict | str, dict | str]
"""The written tables' item counts before and after a test (address -> {"table", "items"}), or why a count
could not be read; ({}, {}) when no route writes a table or the target is not local."""


def writes_of(load: RouteLoad, loads: list[RouteLoad], tables: TableCounts) -> dict:
    """The route's `table_writes` (as the API driver's), or a `finish_error` when the counts could not be read."""
    before, after = tables
    if not load.writes_table or (before == {} and after == {}):
        return {}
    problem = next((counts for counts in tables if isinstance(counts, str)), None)
    if problem is not None:
        return {"finish_error": problem}
    start, end = before[load.writes_table], after[load.writes_table]
    return {"table_writes": table_writes(load, loads, end["table"], start["items"], end["items"])}


def finished_of(route: MergedRoute) -> dict:
    """A matching core's or a conditional write's driver finish, summed over the workers that sent one (as
    `validate --processes` sums them), with a `finish_error` when a worker that recorded sent none."""
    finished = route.finished or {"extra": {}, "counts_per_s": {}}
    missing = len(route.ops_per_worker) - route.finishes
    if missing > 0 and "finish_error" not in finished["extra"]:
        finished = {**finished, "extra": {**finished["extra"], "finish_error":
                                          f"{missing} of {len(route.ops_per_worker)} Locust processes sent no "
                                          "finish (their last recording did not reach the master)"}}
    return finished


def results_of(run: LocustRun, merged: dict[str, MergedRoute], stats, span_s: float, plan: RampPlan,
               server_geo: dict, tables: TableCounts = ({}, {})) -> list[HotPathResult]:
    """Each driven hot path's result; `server_geo` is what the Redis server measured of the GEO commands
    (geo_bench.server_geo_latency), judging the GEO hot paths; `tables` the written tables' item counts."""
    loads = {}
    for name, route in merged.items():
        if name in run.loads:
            loads[name] = load = fresh_accounting(run.loads[name])
            load.status_counts.update(route.status_counts)
            load.client_errors = route.client_errors
    results = []
    for name, route in merged.items():
        if name in run.streams:
            stream = run.streams[name]
            target_rate = run.peaks[name] * run.options.rate_scale * plan.top_fraction
            results.append(stream_result(route.recorder, stream.name, route.stream, target_rate, span_s,
                                         stream.shard_count, list(route.scheduled_per_stage),
                                         {"ops_per_worker": route.ops_per_worker,
                                          "locust": locust_entry(stats, name, PUT_RECORDS)}))
            continue
        if name not in run.loads:  # a GEO query, a matching core's assignment or a conditional write
            finished = finished_of(route) if name in run.operation_paths else {"extra": {"command": "GEOSEARCH"},
                                                                               "counts_per_s": {}}
            extra = {**finished["extra"], "ops_per_worker": route.ops_per_worker,
                     "locust": locust_entry(stats, name, run.request_types[name])}
            results.append(HotPathResult(
                name, name, route.recorder.total(), round(sum(route.scheduled_per_stage) / plan.total_s, 3),
                route.recorder.ops / span_s, counts_per_s=finished["counts_per_s"], extra=extra,
                measured=server_geo if run.kinds[name] == "redis_geo" else {}, staged=route.recorder,
                kind=run.kinds[name], scheduled_per_stage=list(route.scheduled_per_stage)))
            continue
        load = loads[name]
        results.append(route_result(load, route.recorder, plan, span_s, route.scheduled_per_stage,
                                    {"ops_per_worker": route.ops_per_worker,
                                     "locust": locust_entry(stats, name, "POST"),
                                     **writes_of(load, list(loads.values()), tables)}))
    return results


def write_report(run: LocustRun, merged: dict[str, MergedRoute], stats, elapsed_s: float, plan: RampPlan,
                 workers: int, server_geo: dict, aborted: str | None = None,
                 tables: TableCounts = ({}, {})) -> dict:
    """Write the test's run dir; returns its summary (verdict `pass` or `fail`; an aborted test fails)."""
    ctx = run.ctx
    span = max(elapsed_s, 1e-3)
    results = results_of(run, merged, stats, span, plan, server_geo, tables)
    not_driven = {p.name: not_driven_because(ctx, p) for p in ctx.hot_paths if p.name not in run.peaks}
    capacity = capacity_model(ctx.resolved, ctx.profile, run.options.headroom, measured_p99_ms(results)).to_json()
    config = {"stack": ctx.stack, "env": ctx.env, "target": ctx.target.kind, "driver": "locust",
              "users_at_peak": run.options.users_at_peak, "rate_scale": run.options.rate_scale,
              "pace_s": round(run.pace_s, 6) if run.pace_s else None,
              "ramp_duration_s": run.options.ramp_duration, "headroom": run.options.headroom,
              "tfvars": run.options.tfvars or f"{ctx.env}.tfvars",
              "profile": str(ctx.profile.path.relative_to(ctx.profile.path.parents[2])), "scenario": ctx.profile.scenario}
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    summary = build_validate_summary(ctx, results, not_driven, plan, elapsed_s, rate_scale=run.options.rate_scale,
                                     processes=max(workers, 1), tfvars=config["tfvars"], capacity=capacity,
                                     config=config, aborted=aborted)
    summary["driver"] = "locust"
    streams = {run.streams[name].key: route.stream for name, route in merged.items() if name in run.streams}
    if streams:
        summary["accounting"] = accounting(streams)
        if (ctx.run_dir / FAILURES_FILE).exists():
            summary["failures_file"] = FAILURES_FILE
    summary["scenario"] = ctx.profile.scenario
    write_summary(ctx, summary, results)
    render_report(ctx.run_dir, processes=1)  # no fork in Locust's gevent process (a fork there was seen to leave
    # Locust stuck at exit on logging's lock)
    return summary
