"""What every loadgen command shares: options, the run context built at the edge (loadgen.edge_context), and
how a run is judged, written and turned into an exit code (0 ok, 1 findings or failed verdict, 2 bad input).

This is the edge of the program: the only place that reads argv (environment variables: loadgen.edge_context)
and turns a LoadgenError into one line.
"""

from __future__ import annotations

import functools
import json
import asyncio
import math
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import click
from rich.console import Console
from rich.table import Table

from loadgen.drive.ramp import RampPlan
from loadgen.drive.scheduler import run_async  # noqa: F401 - the commands' one way to run a measuring coroutine
from loadgen.edge_context import (build_context, default_terraform_dir, state_dir,  # noqa: F401 - the commands'
                                  writable)
from loadgen.errors import LoadgenError
from loadgen.measure.run_summary import build_summary, write_summary
from loadgen.measure.validate_summary import judge_delivery, shortfall, target_check
from loadgen.run_context import RunContext
from loadgen.target.local_target import LocalTarget


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
scenario_option = click.option("--scenario", default=None, metavar="NAME",
                               help="A named scenario of the profile ([scenarios.NAME]: a surge, a rhythm).")


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


def cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:.3g}"
    return "" if value is None else str(value)


SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
TARGET_WATCH_S = 1.0


class Stop:
    """SIGINT/SIGTERM during a run: the first asks every hot path to stop and drain (bounded), so the report is
    complete and marked aborted; a second cancels the run outright."""

    def __init__(self) -> None:
        self.signal: signal.Signals | None = None
        self.task: asyncio.Task | None = None
        self.event: asyncio.Event | None = None
        self.died: list[str] = []
        """The local target's services found dead during the run (on_target_death)."""

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

    async def on_target_death(self, target: str) -> None:
        """Until cancelled, look at the local target's services every TARGET_WATCH_S; when one has died, stop the
        run as a signal does (each hot path drains, bounded), so a run does not push load at a dead target for the
        rest of its schedule. `died` names it; the exit code stays the verdict's."""
        while target == "local" and not self.event.is_set():
            await asyncio.sleep(TARGET_WATCH_S)
            self.died = dead_services(target)
            if self.died:
                self.event.set()


@contextmanager
def embedded_target(kind: str) -> Iterator[bool]:
    """Start the local target for the run when it is not up (and stop it afterwards); yields whether it did."""
    local = LocalTarget(state_dir())
    if kind != "local" or local.status()["up"]:
        yield False
        return
    try:
        local.up()  # stops what it started if it fails part way
        yield True
    finally:
        local.down()


def dead_services(target: str) -> list[str]:
    """The local target's services that are no longer running."""
    return LocalTarget(state_dir()).dead() if target == "local" else []


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
