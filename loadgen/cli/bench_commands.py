"""`loadgen bench ...`: benchmarks that print figures and judge hot paths (speed is measured here, never
asserted in tests)."""

from __future__ import annotations

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from loadgen.drive.api_pusher import api_push_ceiling
from loadgen.cli.common import (Finite, build_context, embedded_target, emit_json, env_option, finish_run, json_option,
                                load_options, open_or_closed_loop, run_async, run_options, state_dir, user_errors)
from loadgen.drive.ddb_bench import ddb_hot_path, run_ddb_bench
from loadgen.errors import LoadgenError
from loadgen.hot_paths import declared_stacks, of_kind
from loadgen.report.live_board import LiveBoard
from loadgen.bench.generate_bench import run_generate_bench
from loadgen.bench.api_ceiling import run_api_ceiling, run_locust_ceiling
from loadgen.bench.harness import run_harness_bench
from loadgen.drive.kinesis_pusher import DEFAULT_LINGER_S
from loadgen.drive.geo_bench import run_geo_bench
from loadgen.target.local_target import LocalTarget
from loadgen.drive.matching_bench import matching_hot_path, run_matching_bench
from loadgen.profiles import DOMAINS, domain_stack, hot_path_rate, load_profile
from loadgen.bench.push_ceiling import measuring_cpus, run_push_ceiling


@click.group()
def bench() -> None:
    """Benchmarks that print figures (speed is measured here, never asserted in tests)."""


@bench.command("geo")
@run_options
@load_options
@click.option("--radius-km", type=Finite(min=0.001, max=20_000), default=None,
              help="Search radius in km instead of the handlers' (read from the stack's Terraform).")
@click.option("--count", "count", type=click.IntRange(1, 100_000), default=None,
              help="COUNT (nearest members returned) instead of the handlers'.")
@user_errors
def bench_geo(terraform_dir, stack, env, target, confirm_prod, out, as_json, duration, rate, max_mode,
              concurrency, radius_km, count) -> None:
    """Redis GEO hot path: pipelined GEOADD of the stack's members, then GEORADIUS and GEOSEARCH."""
    ctx = build_context(stack, env, target, out, "geo", confirm_prod, terraform_dir)
    work_rate = open_or_closed_loop(rate, max_mode, lambda: hot_path_rate(ctx.profile, of_kind(ctx.hot_paths, "redis_geo", stack).name))
    with LiveBoard(not as_json, f"bench geo {stack}/{env}") as board:
        results = run_async(run_geo_bench(ctx, duration, work_rate, concurrency, board.watch, radius_km, count))
    load = {k: results[0].extra[k] for k in ("members_loaded", "load_s", "members_per_s")}
    finish_run(ctx, results, 2 * duration, as_json, {"geo_load": load})


@bench.command("matching")
@run_options
@load_options
@user_errors
def bench_matching(terraform_dir, stack, env, target, confirm_prod, out, as_json, duration, rate, max_mode,
                   concurrency) -> None:
    """Matching core: GEO candidates, workload, surge and the shared scoring, per assignment."""
    ctx = build_context(stack, env, target, out, "matching", confirm_prod, terraform_dir)
    work_rate = open_or_closed_loop(rate, max_mode, lambda: hot_path_rate(ctx.profile, matching_hot_path(ctx)))
    with LiveBoard(not as_json, f"bench matching {stack}/{env}") as board:
        results = run_async(run_matching_bench(ctx, duration, work_rate, concurrency, board.watch))
    finish_run(ctx, results, duration, as_json)


@bench.command("ddb")
@run_options
@load_options
@click.option("--items", default=4, show_default=True, type=click.IntRange(1, 10_000), help="Hot items they contend on.")
@click.option("--unsafe-no-condition", is_flag=True,
              help="Demonstration only: the same writes without their ConditionExpression, to show lost updates.")
@click.option("--confirm-writes", is_flag=True, help="Required on --target aws: the bench writes items to the real table.")
@user_errors
def bench_ddb(terraform_dir, stack, env, target, confirm_prod, out, as_json, duration, rate, max_mode, concurrency,
              items, unsafe_no_condition, confirm_writes) -> None:
    """DynamoDB conditional assignment writes under contention: --concurrency writers on --items hot items;
    lost updates checked."""
    if target == "aws" and not confirm_writes:
        raise LoadgenError("bench ddb writes items to the stack's real table on --target aws (its stream triggers "
                           "the handlers); pass --confirm-writes to do that")
    ctx = build_context(stack, env, target, out, "ddb", confirm_prod, terraform_dir)
    work_rate = open_or_closed_loop(rate, max_mode, lambda: hot_path_rate(ctx.profile, ddb_hot_path(ctx).name))
    with LiveBoard(not as_json, f"bench ddb {stack}/{env}") as board:
        results = run_async(run_ddb_bench(ctx, concurrency, items, duration, work_rate, not unsafe_no_condition,
                                          board.watch))
    finish_run(ctx, results, duration, as_json)


@bench.command("push-ceiling")
@click.option("--seconds", default=5.0, show_default=True, type=Finite(1, 600),
              help="Seconds per measurement.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256),
              help="PutRecords calls in flight.")
@click.option("--pairs", default=5, show_default=True, type=click.IntRange(1, 50),
              help="Alternating bare/pusher pairs; the ratio is their median.")
@json_option
@user_errors
def bench_push_ceiling(seconds: float, concurrency: int, pairs: int, as_json: bool) -> None:
    """How fast one core pushes: the pusher vs a bare aiobotocore put_records loop on an instant local sink,
    and the cores each stack's prod peak needs."""
    result = run_async(run_push_ceiling(seconds, concurrency, pairs=pairs)).to_json()
    local = LocalTarget(state_dir()).status()
    if local["up"] and local.get("api_url"):
        peaks = {f"{stack}/prod": sum(d.peak_rps for d in load_profile(stack, "prod").demand() if d.kind == "api")
                 for stack in ("property_maintenance", "food_delivery")}
        result["api"] = api_push_ceiling(local["api_url"], seconds, peak_rps=peaks)
    else:
        result["api"] = {"skipped": "start the local target (`loadgen local up`) to measure the API client"}
    if as_json:
        emit_json(result)
        return
    click.echo(f"pusher {result['records_per_s']:,.0f} rec/s; bare aiobotocore {result['bare_aiobotocore_records_per_s']:,.0f} "
               f"rec/s; ratio {result['ratio']:.2f} (median of {pairs} pairs, {result['ratio_spread'][0]:.2f}-"
               f"{result['ratio_spread'][1]:.2f}; vs a lean aiobotocore loop (validation and retries off): "
               f"{result['ratio_same_config']:.2f})")
    for stack, row in result["per_stack"].items():
        click.echo(f"  {stack}: prod peak {row.get('prod_peak_records_per_s', 0):,.0f} rec/s -> "
                   f"{row.get('cores_needed', 0):.2f} cores")
    api = result["api"]
    if "skipped" in api:
        click.echo(f"api: skipped ({api['skipped']})")
    else:
        wrk = f"; wrk {api['wrk_requests_per_s']:,.0f} req/s, ratio {api['ratio']:.2f}" if api["wrk_requests_per_s"] else ""
        click.echo(f"api client {api['requests_per_s']:,.0f} req/s on the emulator's cheapest route{wrk}; "
                   f"cores needed: {api['cores_needed']}")


@bench.command("harness")
@click.option("--stack", "stacks", multiple=True, help="Stack folder name (repeatable), or --all.")
@click.option("--all", "all_stacks", is_flag=True, help="Every stack with hot paths (those without Kinesis demand "
              "are listed and skipped).")
@env_option
@click.option("--seconds", default=10.0, show_default=True, type=Finite(1, 600),
              help="Seconds of the env's peak Kinesis demand.")
@click.option("--linger-ms", default=DEFAULT_LINGER_S * 1000, show_default=True, type=Finite(0, 1000),
              help="How long a batch may wait for more records (the pusher's default; its wait is in self p99).")
@click.option("--api/--no-api", default=True, show_default=True,
              help="Also measure the API driver's open-loop ceiling beside Locust FastHttpUser.")
@click.option("--locust-users", default=32, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes the streams are dealt to, each pinned to a core of its own (1: one pinned core, "
                   "the sink on another).")
@json_option
@user_errors
def bench_harness(stacks: tuple[str, ...], all_stacks: bool, env: str, seconds: float, linger_ms: float, api: bool,
                  locust_users: int, processes: int, as_json: bool) -> None:
    """What the harness itself adds at the env's whole Kinesis peak, against the instant sink: self p99,
    late starts, achieved / target; and the API driver's sustained open-loop rate on one core beside Locust's
    FastHttpUser on the same core and server (printed, never asserted)."""
    if bool(stacks) == all_stacks:
        raise LoadgenError("give --stack S (repeatable) or --all")
    stacks = tuple(declared_stacks()) if all_stacks else stacks
    result = run_async(run_harness_bench(stacks, env, seconds, linger_s=linger_ms / 1000, processes=processes))
    if api:
        measured_cpu, sink_cpu = measuring_cpus()
        result["api"] = run_async(run_api_ceiling(measured_cpu, sink_cpu, users=locust_users))
    if as_json:
        emit_json(result)
        return
    skipped = f" (no Kinesis demand: {', '.join(result['no_kinesis_demand'])})" if result["no_kinesis_demand"] else ""
    click.echo(f"{'+'.join(result['stacks'])}/{env}{skipped} in {result['processes']} process(es): "
               f"{result['records']:,} records, target {result['target_records_per_s']:,.0f} rec/s, "
               f"achieved {result['achieved_records_per_s']:,.0f} rec/s ({result['achieved_over_target']:.3f}x)")
    click.echo(f"  batching linger {result['linger_ms']:g} ms (in the latency by design)")
    click.echo(f"  harness latency p50 {result['self_p50_ms']:.2f} ms  p99 {result['self_p99_ms']:.2f} ms  "
               f"p99.9 {result['self_p999_ms']:.2f} ms  max {result['self_max_ms']:.2f} ms   late starts "
               f"{result['late_fraction']:.2%}")
    for k, (cpu, generation) in enumerate(zip(result["cpu_fraction"], result["generation_cpu_fraction"])):
        click.echo(f"  process {k}: {result['shares'][k]}  cpu {cpu:.0%} of a core (+ generation {generation:.0%})")
    if api:
        a = result["api"]
        locust = f"{a['locust_requests_per_s']:,.0f} req/s" if a["locust_requests_per_s"] else "did not run"
        ratio = f"{a['api_over_locust']:.2f}" if a["api_over_locust"] else "n/a"
        click.echo(f"api driver on one core vs {a['server']}: sustains {a['open_loop']['sustained_requests_per_s']:,.0f}"
                   f" req/s open loop (late < 1%, p99 < 5 ms); Locust FastHttpUser ({a['locust_users']} users) "
                   f"{locust}; api_over_locust {ratio}")


@bench.command("locust-ceiling")
@click.option("--seconds", default=3.0, show_default=True, type=Finite(0.5, 600),
              help="Seconds per step of the API driver's rate search (Locust runs max(seconds, 5)).")
@click.option("--users", default=32, show_default=True, type=click.IntRange(1, 10_000),
              help="Locust users (closed loop, no wait) in its one process.")
@json_option
@user_errors
def bench_locust_ceiling(seconds: float, users: int, as_json: bool) -> None:
    """Requests/s one Locust worker process (FastHttpUser, as the API routes' user) gets out of the local API
    Gateway emulator on its cheapest route, beside the open-loop rate `loadgen push api`'s client sustains there,
    both on the same core in one run (printed, never asserted). Starts the embedded target when none is up."""
    with embedded_target("local"):
        api_url = LocalTarget(state_dir()).status()["api_url"]
        result = run_async(run_locust_ceiling(api_url, measuring_cpus()[0], seconds, users))
    if as_json:
        emit_json(result)
        return
    locust = f"{result['locust_requests_per_s']:,.0f} req/s" if result["locust_requests_per_s"] else "did not run"
    ratio = f"{result['api_over_locust']:.2f}" if result["api_over_locust"] else "n/a"
    click.echo(f"{result['server']} GET {result['path']}: one Locust worker process (FastHttpUser, "
               f"{result['locust_users']} users) {locust}; loadgen push api's client sustains "
               f"{result['open_loop']['sustained_requests_per_s']:,.0f} req/s open loop (late < 1%, p99 < 5 ms); "
               f"api_over_locust {ratio}")


@bench.command("generate")
@click.option("--domain", required=True, type=click.Choice(sorted(DOMAINS)), help="Domain model to run.")
@env_option
@click.option("--seconds", default=60.0, show_default=True, type=Finite(min=1, max=86400),
              help="Simulated seconds to generate.")
@json_option
@user_errors
def bench_generate(domain: str, env: str, seconds: float, as_json: bool) -> None:
    """Generate and serialize N simulated seconds on one core as fast as possible; compare with peak demand."""
    chosen = load_profile(domain_stack(domain), env)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[records]:,} records"),
                  TimeElapsedColumn(), disable=as_json, transient=True) as progress:
        task = progress.add_task(f"generate {domain}/{env}", total=seconds, records=0)
        result = run_generate_bench(chosen, seconds,
                                    progress=lambda done, n: progress.update(task, completed=done, records=n))
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(f"{domain}/{env}: {result.records:,} records in {result.wall_s:.2f}s "
               f"({seconds:g} simulated s; model set up in {result.setup_s:.2f}s)")
    click.echo(f"  records/s {result.records_per_s:,.0f}   bytes/s {result.bytes_per_s:,.0f}   "
               f"peak demand {result.peak_demand_rps:,.1f} rec/s   ratio {result.ratio:,.1f}x   "
               f"peak RSS {result.peak_rss_mb:.0f} MB")
