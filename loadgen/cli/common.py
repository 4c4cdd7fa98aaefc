"""What every loadgen command shares: options, the run context built at the edge, and
how a run is judged, written and turned into an exit code (0 ok, 1 findings or failed verdict, 2 bad input).

This is the edge of the program: the only place that reads argv and environment variables (REDIS_URL,
AWS_REGION, LOADGEN_API_URL/LOADGEN_API_KEY for --target aws only; LOADGEN_STATE_DIR) and turns a LoadgenError
into one line.
"""

from __future__ import annotations

import functools
import json
import asyncio
import math
import os
import signal
import tempfile
import sys
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any, Awaitable, Callable

import click
from rich.console import Console
from rich.table import Table

from loadgen.drive.ramp import RampPlan
from loadgen.drive.scheduler import run_async  # noqa: F401 - the commands' one way to run a measuring coroutine
from loadgen.paths import CACHE_DIR, REPORTS_DIR, TERRAFORM_DIR
from loadgen.errors import LoadgenError
from loadgen.target.local_target import LocalTarget
from loadgen.profiles import load_profile
from loadgen.run_context import LOCAL_REGION, RunContext, Target, check_prod_confirmation, new_run_id
from loadgen.measure.run_summary import build_summary, check_guarding_alarms, write_summary
from loadgen.measure.validate_summary import judge_delivery, shortfall, target_check
from loadgen.hot_paths import OUTPUT_ROLES, key_outputs, stack_outputs
from loadgen.tf import hcl_reader
from loadgen.tf.outputs import read_outputs, required_output
from loadgen.tf.env_model import ResolvedStack



def default_terraform_dir() -> Path:
    bundled = TERRAFORM_DIR
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


def console() -> Console:
    """Rich output, wide enough for the tables when piped (a terminal sets its own width)."""
    return Console() if sys.stdout.isatty() else Console(width=200)


def emit_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, sort_keys=False, default=str))


terraform_dir_option = click.option(
    "--terraform-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="Folder holding one sub-folder per stack (default: the repository's terraform/).")


stack_option = click.option("--stack", required=True, help="Stack folder name, e.g. food_delivery.")


env_option = click.option("--env", required=True, help="Environment: dev, staging or prod.")


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")


target_option = click.option("--target", type=click.Choice(["local", "aws"]), default="local", show_default=True,
                             help="local: the embedded target (`loadgen local up`); aws: endpoints, region and "
                                  "credentials from the usual AWS environment (REDIS_URL for Redis).")


out_option = click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
                          help="Folder for reports/<run-id>/ (default: the repository's reports/).")


confirm_prod_option = click.option("--confirm-prod", is_flag=True,
                                   help="Required to send load to env=prod on --target aws.")


class Finite(click.FloatRange):
    """A float option in a range that is also a finite number (click's FloatRange lets nan through: every
    comparison with it is false)."""

    name = "finite float range"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


duration_option = click.option("--duration", default=30.0, show_default=True, type=Finite(0.1, 86400),
                                help="Seconds of load per hot path.")


rate_option = click.option("--rate", type=Finite(min=0.001), default=None,
                           help="Open-loop operations per second (default: the profile's rate at its top stage).")


max_option = click.option("--max", "max_mode", is_flag=True, help="Closed loop: as fast as --concurrency clients go.")


concurrency_option = click.option("--concurrency", default=16, show_default=True, type=click.IntRange(1, 4096),
                                  help="Connections (closed loop: clients; open loop: operations in flight).")


rate_scale_option = click.option("--rate-scale", default=1.0, show_default=True, type=Finite(min=0.0001),
                                 help="Multiply the profile's rates (local stand-ins sustain less than AWS).")


def state_dir() -> Path:
    """Where the local target keeps its state file and logs: LOADGEN_STATE_DIR, else .cache/local-target."""
    return Path(os.environ.get("LOADGEN_STATE_DIR") or CACHE_DIR / "local-target")


def build_context(stack: str, env: str, target_kind: str, out: Path | None, what: str, confirm_prod: bool,
                  terraform_dir: Path | None = None, needs_api: bool = False, tfvars: Path | None = None,
                  run_id: str | None = None, profiles_dir: Path | None = None,
                  tf_outputs: Path | None = None) -> RunContext:
    """The run's configuration, resolved once here at the edge (the only place that reads the environment).
    `tfvars` is a candidate file read in place of the env's own."""
    loaded = hcl_reader.load_stack(terraform_dir or default_terraform_dir(), stack)
    if tfvars is not None:
        loaded = hcl_reader.with_candidate_tfvars(loaded, env, tfvars)
    resolved = ResolvedStack(loaded, env)
    profile = load_profile(stack, env, profiles_dir)
    if target_kind == "local":
        local = LocalTarget(state_dir())
        redis_url, endpoint = local.endpoints()
        api_url, key_secret = local.api_endpoint() if needs_api else (None, None)
        target = Target("local", redis_url, endpoint, LOCAL_REGION, api_url, key_secret)  # never REDIS_URL: aws's
    else:
        target = aws_target(loaded, profile, needs_api, tf_outputs)
    check_prod_confirmation(target, env, confirm_prod)
    ctx = RunContext(stack=stack, env=env, resolved=resolved, profile=profile, target=target,
                     out_dir=writable(out or REPORTS_DIR), run_id=run_id or new_run_id(stack, env, what))
    check_guarding_alarms(ctx)
    return ctx


def writable(out: Path) -> Path:
    """The output folder, once a report could be written there: checked before any load, so a run's report is
    never lost at its end (one line otherwise). Nothing is created: a folder that does not exist yet must be
    creatable in its nearest existing parent."""
    existing = next(p for p in (out, *out.parents) if p.exists())
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, "Not a directory")
        if existing == out:
            with tempfile.NamedTemporaryFile(dir=out, prefix=".loadgen-write-check-"):
                pass
        elif not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise LoadgenError(f"{out}: cannot write the report there ({exc.strerror or type(exc).__name__}); pass "
                           "--out with a folder you can write") from None
    return out


def aws_target(stack: hcl_reader.Stack, profile: Any, needs_api: bool, tf_outputs: Path | None) -> Target:
    """A deployed env as its users have it: endpoints from the stack's Terraform outputs (--tf-outputs, or
    `terraform output -json` where the stack folder holds state), the API key's value fetched from AWS by the
    output's key id (kept in memory only); REDIS_URL, LOADGEN_API_URL and LOADGEN_API_KEY override them."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    outputs = read_outputs(stack.path, tf_outputs)
    roles = stack_outputs(stack.name, profile.path.parents[1])

    def value(role: str) -> Any:
        return required_output(outputs, roles[role], stack.name, OUTPUT_ROLES[role]) if role in roles else None

    redis_url = os.environ.get("REDIS_URL") or (f"rediss://{value('redis_endpoint')}:6379"
                                                if outputs and "redis_endpoint" in roles else None)
    api_url = api_key = None
    api_keys: dict[str, str] = {}
    if needs_api:
        api_url = os.environ.get("LOADGEN_API_URL") or (value("api_url") if outputs else None)
        api_key = os.environ.get("LOADGEN_API_KEY") or (fetch_api_key(value("api_key_id"), region)
                                                        if outputs and "api_key_id" in roles else None)
        if outputs and not os.environ.get("LOADGEN_API_KEY"):  # one key given by hand is sent on every route
            api_keys = {address: fetch_api_key(required_output(outputs, output, stack.name, f"the id of {address}"),
                                               region)
                        for address, output in key_outputs(stack.name, profile.path.parents[1]).items()}
    return Target("aws", redis_url, os.environ.get("AWS_ENDPOINT_URL"), region, api_url, api_key, api_keys)


def fetch_api_key(key_id: str, region: str) -> str:
    """The API key's value from API Gateway (never written anywhere: it lives in the Target only)."""
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = botocore.session.get_session().create_client("apigateway", region_name=region or None)
        return client.get_api_key(apiKey=key_id, includeValue=True)["value"]
    except (BotoCoreError, ClientError, KeyError) as exc:
        raise LoadgenError(f"could not read API key {key_id} from API Gateway ({type(exc).__name__}); check the "
                           "AWS credentials and region, or set LOADGEN_API_KEY") from None


def cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:.3g}"
    return "" if value is None else str(value)


SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Stop:
    """SIGINT/SIGTERM during a run: the first asks every hot path to stop and drain (bounded), so the report is
    complete and marked aborted; a second cancels the run outright."""

    def __init__(self) -> None:
        self.signal: signal.Signals | None = None
        self.task: asyncio.Task | None = None
        self.event: asyncio.Event | None = None

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        self.event = asyncio.Event()
        for sig in SIGNAL_EXIT:
            loop.add_signal_handler(sig, self._stop, sig)

    async def around(self, run: Callable[[asyncio.Event], Awaitable[Any]]) -> Any:
        """Install, then await run(the stop event)."""
        self.install()
        return await run(self.event)

    def _stop(self, sig: signal.Signals) -> None:
        if self.signal is None:
            self.signal = sig
            self.event.set()
        elif self.task is not None:
            self.task.cancel()


def dead_services(target: str) -> list[str]:
    """The local target's services that are no longer running (after a run)."""
    if target != "local":
        return []
    services = LocalTarget(state_dir()).status()["services"]
    return [f"{name} ({urlsplit(s['url']).hostname}:{s['port']}, pid {s['pid']})" for name, s in services.items()
            if not s["alive"]]


def finish_run(ctx: RunContext, results: list, duration_s: float, as_json: bool, extra: dict | None = None,
               stopped_by: signal.Signals | None = None, plan: RampPlan | None = None) -> None:
    """Judge (alarms and delivery: each hot path recorded through `plan`, one stage of duration_s unless
    given), write reports/<run-id>/, print, and exit 1 on a failed verdict (130/143 for a run a signal stopped:
    its report is complete, marked aborted, and fails)."""
    summary = build_summary(ctx, results, duration_s)
    judge_delivery(summary, results, plan or RampPlan.constant(duration_s), stopped_by is not None)
    summary.update(extra or {})
    summary["shortfall"] = shortfall(summary)
    dead = dead_services(ctx.target.kind)
    if ctx.target.kind == "local":
        summary["checks"] = [target_check(dead)]
    if stopped_by is not None:
        summary.update({"aborted": True, "abort_reason": f"stopped by {stopped_by.name}"})
    if dead or stopped_by is not None:
        summary["verdict"] = "fail"
    write_summary(ctx, summary, results)
    if as_json:
        emit_json(summary)
    else:
        table = Table(title=f"{ctx.stack} / {ctx.env} on {ctx.target.kind}: {summary['verdict'].upper()}")
        for column in ("hot path", "ops", "errors", "target/s", "achieved/s", "p50 ms", "p95 ms", "p99 ms",
                       "max ms", "alarm", "observed", "threshold", "verdict"):
            table.add_column(column)
        for hp in summary["hot_paths"]:
            alarm = hp["alarm"] or {}
            table.add_row(hp["name"], f"{hp['ops']:,}", f"{hp['errors']:,}", cell(hp["target_rate"]),
                          cell(hp["achieved_rate"]), *[cell(hp["latency_ms"][k]) for k in ("p50", "p95", "p99", "max")],
                          str(alarm.get("metric", "")), cell(alarm.get("observed")), cell(alarm.get("threshold")),
                          hp["verdict"])
        console().print(table)
        click.echo(f"report: {ctx.run_dir / 'summary.json'}")
    line = (f"stopped by {stopped_by.name}" if stopped_by is not None
            else "; ".join(f"the local target's {d} died during the run" for d in dead) or summary["shortfall"])
    if line:
        click.echo(f"error: {ctx.stack}/{ctx.env}: {line}; report: {ctx.run_dir}", err=True)
    if stopped_by is not None:
        sys.exit(SIGNAL_EXIT[stopped_by])
    sys.exit(1 if summary["verdict"] == "fail" else 0)


def run_options(command: Callable) -> Callable:
    """--terraform-dir --stack --env --target --confirm-prod --out --json: what every measuring command takes."""
    for option in reversed((terraform_dir_option, stack_option, env_option, target_option, confirm_prod_option,
                            out_option, json_option)):
        command = option(command)
    return command


def load_options(command: Callable) -> Callable:
    """--duration --rate | --max --concurrency: how a bench drives its hot path."""
    for option in reversed((duration_option, rate_option, max_option, concurrency_option)):
        command = option(command)
    return command


def open_or_closed_loop(rate: float | None, max_mode: bool, default: Callable[[], float]) -> float | None:
    """The open-loop rate to run at (the given one, else the profile's), or None for --max (closed loop)."""
    if rate is not None and max_mode:
        raise click.UsageError("--rate and --max exclude each other")
    return None if max_mode else (rate or default())
