"""The `loadgen` command line: the edge where arguments become a run's configuration and errors become one line.

Exit codes: 0 ok, 1 findings or a failed verdict, 2 bad input or environment (one line on stderr, no traceback).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click
import uvloop
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from loadgen.api_pusher import api_push_ceiling, push_api, status_counts
from loadgen.ddb_bench import ddb_hot_path, run_ddb_bench
from loadgen.errors import LoadgenError
from loadgen.generate_bench import run_generate_bench
from loadgen.geo_bench import run_geo_bench, workload_name
from loadgen.matching_bench import declared_for, run_matching_bench
from loadgen.run_context import LOCAL_REGION, RunContext, Target, check_prod_confirmation, new_run_id
from loadgen.run_summary import build_summary, write_summary
from loadgen.kinesis_pusher import push_kinesis
from loadgen.local_target import LocalTarget
from loadgen.push_ceiling import run_push_ceiling
from loadgen.profile_report import profile_report
from loadgen.profiles import DOMAINS, domain_stack, hot_path_rate, load_profile
from loadgen.tf import hcl_reader
from loadgen.tf.alarm_thresholds import alarms
from loadgen.tf.capacity import capacity
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.stack_check import check_stack, relative, schema_findings

REPO_ROOT = Path(__file__).resolve().parents[1]


def default_terraform_dir() -> Path:
    bundled = REPO_ROOT / "terraform"
    return bundled if bundled.is_dir() else Path.cwd() / "terraform"


def user_errors(command: Callable) -> Callable:
    """Turn a LoadgenError into one line on stderr and exit 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LoadgenError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


def _console() -> Console:
    """Rich output, wide enough for the tables when piped (a terminal sets its own width)."""
    return Console() if sys.stdout.isatty() else Console(width=200)


def _emit_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, sort_keys=False, default=str))


terraform_dir_option = click.option(
    "--terraform-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="Folder holding one sub-folder per stack (default: the repository's terraform/).")
stack_option = click.option("--stack", required=True, help="Stack folder name, e.g. food_delivery.")
env_option = click.option("--env", required=True, help="Environment: dev, staging or prod.")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="loadgen")
def main() -> None:
    """Load and performance simulator for the hot paths of the stacks in terraform/."""


@main.group()
def tf() -> None:
    """Read terraform/: parity checks, alarms and capacities per env."""


@tf.command("check")
@terraform_dir_option
@click.option("--stack", "stacks", multiple=True, help="Check only this stack (repeatable).")
@click.option("--schema", is_flag=True, help="Also check every resource against the AWS provider 5.x schema.")
@json_option
@user_errors
def tf_check(terraform_dir: Path | None, stacks: tuple[str, ...], schema: bool, as_json: bool) -> None:
    """Parse every stack and report parity, variable, alarm (and schema) findings. Exit 1 on any finding."""
    from loadgen.tf.provider_schema import load_schema

    terraform_dir = terraform_dir or default_terraform_dir()
    names = list(stacks) or hcl_reader.stack_names(terraform_dir)
    provider = load_schema() if schema else None
    report = []
    for name in names:
        stack = hcl_reader.load_stack(terraform_dir, name)
        findings = check_stack(stack) + (schema_findings(stack, provider) if provider else [])
        report.append({"stack": name, "envs": list(stack.tfvars),
                       "findings": relative(findings, Path.cwd())})
    total = sum(len(r["findings"]) for r in report)
    if as_json:
        _emit_json({"terraform_dir": str(terraform_dir.name), "schema_checked": schema, "findings_total": total,
                    "stacks": [{**r, "findings": [f.to_json() for f in r["findings"]]} for r in report]})
    else:
        console = _console()
        table = Table(title=f"loadgen tf check{' --schema' if schema else ''}")
        for column in ("stack", "envs", "findings"):
            table.add_column(column)
        for r in report:
            table.add_row(r["stack"], ", ".join(r["envs"]), str(len(r["findings"])))
        console.print(table)
        for r in report:
            for finding in r["findings"]:
                click.echo(str(finding))
    sys.exit(1 if total else 0)


@tf.command("alarms")
@terraform_dir_option
@stack_option
@env_option
@json_option
@user_errors
def tf_alarms(terraform_dir: Path | None, stack: str, env: str, as_json: bool) -> None:
    """Every CloudWatch alarm with its threshold resolved for the env and the hot path it guards."""
    resolved = ResolvedStack(hcl_reader.load_stack(terraform_dir or default_terraform_dir(), stack), env)
    found = alarms(resolved)
    if as_json:
        rows = []
        for alarm in found:
            row = alarm.to_json()
            row.pop("file"), row.pop("line")
            rows.append(row)
        _emit_json({"stack": stack, "env": env, "alarms": rows})
        return
    table = Table(title=f"alarms: {stack} / {env}")
    for column in ("alarm", "namespace", "metric", "statistic", "comparison", "threshold", "unit", "hot path"):
        table.add_column(column)
    for a in found:
        table.add_row(str(a.name if isinstance(a.name, str) else a.address), str(a.namespace), str(a.metric),
                      str(a.extended_statistic if isinstance(a.extended_statistic, str) else a.statistic),
                      str(a.comparison), str(a.threshold), str(a.unit if isinstance(a.unit, str) else ""),
                      a.hot_path or "")
    _console().print(table)


@tf.command("capacity")
@terraform_dir_option
@stack_option
@env_option
@json_option
@user_errors
def tf_capacity(terraform_dir: Path | None, stack: str, env: str, as_json: bool) -> None:
    """Provisioned capacities resolved for the env: throttles, shards, tables, functions, Redis, Aurora, SQS."""
    resolved = ResolvedStack(hcl_reader.load_stack(terraform_dir or default_terraform_dir(), stack), env)
    result = capacity(resolved)
    if as_json:
        _emit_json(result)
        return
    console = _console()
    for section, entries in result.items():
        if not isinstance(entries, dict) or not entries:
            continue
        table = Table(title=section)
        columns = list(next(iter(entries.values())).keys())
        table.add_column("resource")
        for column in columns:
            table.add_column(column)
        for address, values in entries.items():
            table.add_row(address, *[str(values.get(c)) for c in columns])
        console.print(table)


def state_dir() -> Path:
    """Where the local target keeps its state file and logs: LOADGEN_STATE_DIR, else .cache/local-target."""
    return Path(os.environ.get("LOADGEN_STATE_DIR") or REPO_ROOT / ".cache" / "local-target")


@main.group()
def local() -> None:
    """The embedded local target: Redis and a moto AWS stand-in on loopback."""


@local.command("up")
@json_option
@user_errors
def local_up(as_json: bool) -> None:
    """Start Redis (persistence off) and moto on free loopback ports; idempotent."""
    target = LocalTarget(state_dir())
    target.up()
    _print_status(target.status(), as_json)


@local.command("status")
@json_option
@user_errors
def local_status(as_json: bool) -> None:
    """Endpoints of the local target (`redis_url`, `aws_endpoint_url`) and whether its processes run."""
    status = LocalTarget(state_dir()).status()
    _print_status(status, as_json)
    if not status["up"]:
        sys.exit(1)


@local.command("down")
@user_errors
def local_down() -> None:
    """Stop exactly the processes `local up` started."""
    stopped = LocalTarget(state_dir()).down()
    click.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


def _print_status(status: dict, as_json: bool) -> None:
    if as_json:
        _emit_json(status)
        return
    click.echo(f"local target: {'up' if status['up'] else 'down'}")
    for name, service in status["services"].items():
        click.echo(f"  {name:6} {service['url']:32} pid {service['pid']:<8} {'alive' if service['alive'] else 'gone'}")


@main.group()
def profile() -> None:
    """Load profiles per stack and env (profiles/<stack>/<env>.toml)."""


@profile.command("show")
@terraform_dir_option
@stack_option
@env_option
@json_option
@user_errors
def profile_show(terraform_dir: Path | None, stack: str, env: str, as_json: bool) -> None:
    """The profile with its mean and peak rates per Kinesis stream and API route, against the env's shards."""
    report = profile_report(load_profile(stack, env),
                            hcl_reader.load_stack(terraform_dir or default_terraform_dir(), stack))
    if as_json:
        _emit_json(report)
        return
    table = Table(title=f"profile: {stack} / {env} ({report['domain']}, seed {report['seed']})")
    columns = ("name", "kind", "mean_rps", "peak_rps", "mean_record_bytes", "shards", "peak_rps_per_shard",
               "peak_shard_records_utilization", "peak_shard_bytes_utilization", "throttle_rps",
               "peak_throttle_utilization")
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in report["rates"]:
        table.add_row(*[_cell(row.get(c)) for c in columns])
    _console().print(table)
    click.echo(f"fleet: {report['fleet']}")
    click.echo("stages: " + ", ".join(f"{s['duration_s']:g}s at {s['rate_fraction']:g}x peak" for s in report["stages"]))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:.3g}"
    return "" if value is None else str(value)


@main.group()
def bench() -> None:
    """Benchmarks that print figures (speed is measured here, never asserted in tests)."""


target_option = click.option("--target", type=click.Choice(["local", "aws"]), default="local", show_default=True,
                             help="local: the embedded target (`loadgen local up`); aws: endpoints, region and "
                                  "credentials from the usual AWS environment (REDIS_URL for Redis).")
out_option = click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
                          help="Folder for reports/<run-id>/ (default: the repository's reports/).")
confirm_prod_option = click.option("--confirm-prod", is_flag=True,
                                   help="Required to send load to env=prod on --target aws.")
duration_option = click.option("--duration", default=30.0, show_default=True, type=click.FloatRange(0.1, 86400),
                                help="Seconds of load per hot path.")
rate_option = click.option("--rate", type=click.FloatRange(min=0.001), default=None,
                           help="Open-loop operations per second (default: the profile's rate at its top stage).")
max_option = click.option("--max", "max_mode", is_flag=True, help="Closed loop: as fast as --concurrency clients go.")
concurrency_option = click.option("--concurrency", default=16, show_default=True, type=click.IntRange(1, 4096),
                                  help="Connections (closed loop: clients; open loop: operations in flight).")


def build_context(stack: str, env: str, target_kind: str, out: Path | None, what: str, confirm_prod: bool,
                  terraform_dir: Path | None = None, needs_api: bool = False) -> RunContext:
    """The run's configuration, resolved once here at the edge (the only place that reads the environment)."""
    resolved = ResolvedStack(hcl_reader.load_stack(terraform_dir or default_terraform_dir(), stack), env)
    profile = load_profile(stack, env)
    if target_kind == "local":
        local = LocalTarget(state_dir())
        redis_url, endpoint = local.endpoints()
        api_url, api_key = local.api_endpoint() if needs_api else (None, None)
        target = Target("local", os.environ.get("REDIS_URL") or redis_url, endpoint, LOCAL_REGION, api_url, api_key)
    else:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
        target = Target("aws", os.environ.get("REDIS_URL"), os.environ.get("AWS_ENDPOINT_URL"), region,
                        os.environ.get("LOADGEN_API_URL"), os.environ.get("LOADGEN_API_KEY"))
    check_prod_confirmation(target, env, confirm_prod)
    return RunContext(stack=stack, env=env, resolved=resolved, profile=profile, target=target,
                      out_dir=out or REPO_ROOT / "reports", run_id=new_run_id(stack, env, what))


def run_async(coroutine: Any) -> Any:
    """Run a measuring coroutine on uvloop (the event loop's own overhead is part of every measured operation)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


class ProgressLine:
    """The live line of a measuring command: ops, rate, errors and running p99 of the current hot path."""

    def __init__(self, enabled: bool):
        self.console = Console(stderr=True)
        self.status = self.console.status("starting") if enabled else None

    def __enter__(self) -> "ProgressLine":
        if self.status:
            self.status.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.status:
            self.status.__exit__(*exc)

    def __call__(self, name: str, recorder: Any, elapsed: float) -> None:
        rate = recorder.ops / elapsed if elapsed > 0 else 0.0
        self.line(f"{name}: {recorder.ops:,} ops  {rate:,.0f}/s  {recorder.errors:,} errors  "
                  f"p99 {recorder.latency_ms()['p99']:.2f} ms  ({elapsed:.0f}s)")

    def line(self, text: str) -> None:
        if self.status:
            self.status.update(text)


def finish_run(ctx: RunContext, results: list, duration_s: float, as_json: bool, extra: dict | None = None) -> None:
    """Judge, write reports/<run-id>/, print, and exit 1 on a failed verdict."""
    summary = build_summary(ctx, results, duration_s)
    summary.update(extra or {})
    write_summary(ctx, summary, results)
    if as_json:
        _emit_json(summary)
    else:
        table = Table(title=f"{ctx.stack} / {ctx.env} on {ctx.target.kind}: {summary['verdict'].upper()}")
        for column in ("hot path", "ops", "errors", "target/s", "achieved/s", "p50 ms", "p95 ms", "p99 ms",
                       "max ms", "alarm", "observed", "threshold", "verdict"):
            table.add_column(column)
        for hp in summary["hot_paths"]:
            alarm = hp["alarm"] or {}
            table.add_row(hp["name"], f"{hp['ops']:,}", f"{hp['errors']:,}", _cell(hp["target_rate"]),
                          _cell(hp["achieved_rate"]), *[_cell(hp["latency_ms"][k]) for k in ("p50", "p95", "p99", "max")],
                          str(alarm.get("metric", "")), _cell(alarm.get("observed")), _cell(alarm.get("threshold")),
                          hp["verdict"])
        _console().print(table)
        click.echo(f"report: {ctx.run_dir / 'summary.json'}")
    sys.exit(1 if summary["verdict"] == "fail" else 0)


@bench.command("geo")
@terraform_dir_option
@stack_option
@env_option
@duration_option
@rate_option
@max_option
@concurrency_option
@target_option
@confirm_prod_option
@out_option
@json_option
@user_errors
def bench_geo(terraform_dir, stack, env, duration, rate, max_mode, concurrency, target, confirm_prod, out,
              as_json) -> None:
    """Redis GEO hot path: pipelined GEOADD of the stack's members, then GEORADIUS and GEOSEARCH."""
    if rate is not None and max_mode:
        raise click.UsageError("--rate and --max exclude each other")
    ctx = build_context(stack, env, target, out, "geo", confirm_prod, terraform_dir)
    work_rate = None if max_mode else (rate or hot_path_rate(ctx.profile, workload_name(ctx.stack)))
    with ProgressLine(not as_json) as progress:
        results, load = run_async(run_geo_bench(ctx, duration, work_rate, concurrency, progress))
    finish_run(ctx, results, 2 * duration, as_json, {"geo_load": load})


@bench.command("matching")
@terraform_dir_option
@stack_option
@env_option
@duration_option
@rate_option
@max_option
@concurrency_option
@target_option
@confirm_prod_option
@out_option
@json_option
@user_errors
def bench_matching(terraform_dir, stack, env, duration, rate, max_mode, concurrency, target, confirm_prod, out,
                   as_json) -> None:
    """Matching core: GEO candidates, workload, surge and the shared scoring, per assignment."""
    if rate is not None and max_mode:
        raise click.UsageError("--rate and --max exclude each other")
    ctx = build_context(stack, env, target, out, "matching", confirm_prod, terraform_dir)
    work_rate = None if max_mode else (rate or hot_path_rate(ctx.profile, declared_for(ctx.stack)))
    with ProgressLine(not as_json) as progress:
        results = run_async(run_matching_bench(ctx, duration, work_rate, concurrency, progress))
    finish_run(ctx, results, duration, as_json)


@bench.command("ddb")
@terraform_dir_option
@stack_option
@env_option
@duration_option
@rate_option
@max_option
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Concurrent writers.")
@click.option("--items", default=4, show_default=True, type=click.IntRange(1, 10_000), help="Hot items they contend on.")
@click.option("--unsafe-no-condition", is_flag=True,
              help="Demonstration only: the same writes without their ConditionExpression, to show lost updates.")
@click.option("--confirm-writes", is_flag=True, help="Required on --target aws: the bench writes items to the real table.")
@target_option
@confirm_prod_option
@out_option
@json_option
@user_errors
def bench_ddb(terraform_dir, stack, env, duration, rate, max_mode, concurrency, items, unsafe_no_condition,
              confirm_writes, target, confirm_prod, out, as_json) -> None:
    """DynamoDB conditional assignment writes under contention: N writers on K hot items; lost updates checked."""
    if rate is not None and max_mode:
        raise click.UsageError("--rate and --max exclude each other")
    if target == "aws" and not confirm_writes:
        raise LoadgenError("bench ddb writes items to the stack's real table on --target aws (its stream triggers "
                           "the handlers); pass --confirm-writes to do that")
    ctx = build_context(stack, env, target, out, "ddb", confirm_prod, terraform_dir)
    work_rate = None if max_mode else (rate or hot_path_rate(ctx.profile, ddb_hot_path(ctx.stack).name))
    with ProgressLine(not as_json) as progress:
        results = run_async(run_ddb_bench(ctx, concurrency, items, duration, work_rate, not unsafe_no_condition,
                                          progress))
    finish_run(ctx, results, duration, as_json)


@bench.command("push-ceiling")
@click.option("--seconds", default=5.0, show_default=True, type=click.FloatRange(1, 600),
              help="Seconds per measurement.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256),
              help="PutRecords calls in flight.")
@json_option
@user_errors
def bench_push_ceiling(seconds: float, concurrency: int, as_json: bool) -> None:
    """How fast one core pushes: the pusher vs a bare aiobotocore put_records loop on an instant local sink,
    and the cores each stack's prod peak needs."""
    result = run_async(run_push_ceiling(seconds, concurrency)).to_json()
    local = LocalTarget(state_dir()).status()
    if local["up"] and local.get("api_url"):
        peaks = {f"{stack}/prod": sum(d.peak_rps for d in load_profile(stack, "prod").demand() if d.kind == "api")
                 for stack in ("property_maintenance", "food_delivery")}
        result["api"] = api_push_ceiling(local["api_url"], seconds, peak_rps=peaks)
    else:
        result["api"] = {"skipped": "start the local target (`loadgen local up`) to measure the API client"}
    if as_json:
        _emit_json(result)
        return
    click.echo(f"pusher {result['records_per_s']:,.0f} rec/s; bare aiobotocore {result['bare_aiobotocore_records_per_s']:,.0f} "
               f"rec/s; ratio {result['ratio']:.2f} (vs a bare loop with the pusher's client settings: "
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


@main.group()
def push() -> None:
    """Push the fleets' load into the stacks' front doors (Kinesis, API Gateway) at per-env rates."""


rate_scale_option = click.option("--rate-scale", default=1.0, show_default=True, type=click.FloatRange(min=0.0001),
                                 help="Multiply the profile's rates (local stand-ins sustain less than AWS).")


@push.command("kinesis")
@terraform_dir_option
@stack_option
@env_option
@click.option("--duration", default=60.0, show_default=True, type=click.FloatRange(0.1, 86400),
              help="Seconds of load.")
@rate_scale_option
@target_option
@confirm_prod_option
@out_option
@json_option
@user_errors
def push_kinesis_command(terraform_dir, stack, env, duration, rate_scale, target, confirm_prod, out, as_json) -> None:
    """PutRecords at the profile's rates x --rate-scale; every record acknowledged, retried or reported failed."""
    ctx = build_context(stack, env, target, out, "push-kinesis", confirm_prod, terraform_dir)
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    with ProgressLine(not as_json) as progress:
        def report(snapshot) -> None:
            progress.line(f"kinesis: {snapshot.generated:,} generated  {snapshot.acknowledged:,} acknowledged  "
                          f"{snapshot.failed:,} failed  {snapshot.in_flight:,} in flight  "
                          f"{snapshot.records_per_s:,.0f} rec/s  ({snapshot.elapsed_s:.0f}s)")

        outcome = run_async(push_kinesis(ctx, duration, rate_scale, report))
    accounting = outcome.accounting
    if not as_json:
        click.echo(f"generated {accounting['generated']:,} = acknowledged {accounting['acknowledged']:,} + failed "
                   f"{accounting['failed']:,} + in flight {accounting['in_flight']:,}"
                   + ("  (aborted)" if outcome.aborted else ""))
    finish_run(ctx, outcome.results, outcome.duration_s, as_json, outcome.summary_fields())


@push.command("api")
@terraform_dir_option
@stack_option
@env_option
@click.option("--duration", default=60.0, show_default=True, type=click.FloatRange(0.1, 86400),
              help="Seconds of load.")
@rate_scale_option
@target_option
@confirm_prod_option
@out_option
@json_option
@user_errors
def push_api_command(terraform_dir, stack, env, duration, rate_scale, target, confirm_prod, out, as_json) -> None:
    """The stack's REST routes with x-api-key at the profile's rates x --rate-scale, open loop; status classes
    counted per route. On --target aws: LOADGEN_API_URL (stage invoke URL) and LOADGEN_API_KEY."""
    ctx = build_context(stack, env, target, out, "push-api", confirm_prod, terraform_dir, needs_api=True)
    with ProgressLine(not as_json) as progress:
        def report(recorders, elapsed) -> None:
            progress.line("  ".join(f"{name}: {r.ops:,} ops {r.errors:,} errors" for name, r in recorders.items())
                          + f"  ({elapsed:.0f}s)")

        results = run_async(push_api(ctx, duration, rate_scale, report))
    finish_run(ctx, results, duration, as_json, {"status_counts": status_counts(results)})


@bench.command("generate")
@click.option("--domain", required=True, type=click.Choice(sorted(DOMAINS)), help="Domain model to run.")
@env_option
@click.option("--seconds", default=60.0, show_default=True, type=click.FloatRange(min=1, max=86400),
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
        _emit_json(result.to_json())
        return
    click.echo(f"{domain}/{env}: {result.records:,} records in {result.wall_s:.2f}s "
               f"({seconds:g} simulated s; model set up in {result.setup_s:.2f}s)")
    click.echo(f"  records/s {result.records_per_s:,.0f}   bytes/s {result.bytes_per_s:,.0f}   "
               f"peak demand {result.peak_demand_rps:,.1f} rec/s   ratio {result.ratio:,.1f}x   "
               f"peak RSS {result.peak_rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
