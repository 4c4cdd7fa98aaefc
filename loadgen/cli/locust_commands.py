"""`loadgen locust`: Locust with loadgen's users, shapes, exact percentiles and alarm verdict (loadgen.locust).

Checks the input as validate does (the stack, the candidate tfvars, the guarding alarms, --out writable; one
line and exit 2 otherwise), starts the embedded target when none is running (stopped afterwards), prepares it
(loadgen.locust.prepare: the emulator warmed, the routes' state primed, the GEO members loaded, the streams
created), then runs Locust on loadgen's locustfile in a process of its own (gevent patches that
process, never this one) with every argument after `--` passed to Locust as given. Exit code:
Locust's, which the locustfile sets from the last test's verdict (0 pass, 1 fail, 2 bad input); a SIGINT or
SIGTERM is passed on to Locust, and a test it cuts short is reported aborted (a fail).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from loadgen.cli.common import (Finite, build_context, default_terraform_dir, embedded_target, env_option,
                                out_option, rate_scale_option, scenario_option, stack_option, target_option,
                                user_errors, writable)
from loadgen.errors import LoadgenError
from loadgen.locust import LOCUSTFILE, PREPARED_ENV, SHAPES, shape_name, stack_shapes
from loadgen.locust.prepare import driven_kinds, prepare_target
from loadgen.locust.run import DRIVEN_KINDS
from loadgen.paths import REPORTS_DIR
from loadgen.target.children import stop_child
from loadgen.tf import hcl_reader

STOP_WAIT_S = 30.0
"""How long Locust may take to write its report and stop when this command ends abnormally, before it is
killed."""


def locust_command(stack: str, env: str, target: str, tfvars: Path | None, out: Path, users_at_peak: float,
                   rate_scale: float, ramp_duration: float | None, shape: bool,
                   locust_args: tuple[str, ...], scenario: str | None = None) -> list[str]:
    files = f"{LOCUSTFILE},{SHAPES}" if shape or "--class-picker" in locust_args else str(LOCUSTFILE)
    command = [sys.executable, "-m", "locust", "-f", files, "--stack", stack, "--env", env, "--target", target,
               "--out", str(out), "--users-at-peak", repr(users_at_peak), "--rate-scale", repr(rate_scale)]
    if tfvars is not None:
        command += ["--tfvars", str(tfvars.resolve())]
    if ramp_duration is not None:
        command += ["--ramp-duration", repr(ramp_duration)]
    if scenario is not None:
        command += ["--scenario", scenario]
    return command + list(locust_args)


def run_locust(command: list[str], environ: dict[str, str]) -> int:
    """Locust in a session of its own, and its exit code; a SIGINT or SIGTERM here is passed on to it once (a test
    still running ends with its report marked aborted, exit 1; Locust stops its workers)."""
    process: subprocess.Popen | None = None
    received: list[int] = []

    def pass_on(sig: int, _frame) -> None:
        if process is not None and not received:
            process.send_signal(sig)
        received.append(sig)

    # installed before the start, so Locust starts with the default handlers (an ignored SIGINT would be inherited)
    previous = {sig: signal.signal(sig, pass_on) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        process = subprocess.Popen(command, env=environ, start_new_session=True)
        if received:  # a signal came while it started
            process.send_signal(received[0])
        code = process.wait()
    finally:
        if process is not None and process.poll() is None:
            stop_child(process, STOP_WAIT_S)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


@click.command("locust", context_settings={"ignore_unknown_options": True})
@stack_option
@env_option
@scenario_option
@click.option("--tfvars", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A candidate tfvars file judged in place of the env's own.")
@target_option
@out_option
@click.option("--users-at-peak", default=20.0, show_default=True, type=Finite(min=0.001, max=1e6),
              help="Users that together send the profile's peak rate (N users: N / this of the peak).")
@rate_scale_option
@click.option("--ramp-duration", type=Finite(min=1.0, max=86400), default=None,
              help="Seconds the profile's ramp is compressed to (the shape and its stage windows).")
@click.option("--shape", is_flag=True, help="Run the stack and env's profile ramp as Locust's LoadTestShape "
              "(with -- --class-picker instead, the web UI offers the stack's shapes).")
@click.argument("locust_args", nargs=-1, type=click.UNPROCESSED)
@user_errors
def locust(stack, env, scenario, tfvars, target, out, users_at_peak, rate_scale, ramp_duration, shape,
           locust_args) -> None:
    """Locust on the stack's API, GEO and Kinesis hot paths: `loadgen locust --stack S --env E -- --headless -u 20
    -t 60s`."""
    hcl_reader.load_stack(default_terraform_dir(), stack)  # an unknown stack: one line, early
    out = writable(out or REPORTS_DIR).resolve()
    with embedded_target(target):
        ctx = build_context(stack, env, target, out, "locust", False, needs_api=True, tfvars=tfvars,
                            scenario=scenario)
        if not driven_kinds(ctx):
            raise LoadgenError(f"stack '{stack}' declares no hot path the Locust users drive on --target {target} "
                               f"({', '.join(DRIVEN_KINDS)})")
        prepare_target(ctx)
        environ = {**os.environ, PREPARED_ENV: "1"}
        environ["LOADGEN_SHAPE"] = (shape_name(stack, env, scenario) if shape
                                    else ",".join(n for n, (_, s) in stack_shapes(stack).items() if s == scenario))
        code = run_locust(locust_command(stack, env, target, tfvars, out, users_at_peak, rate_scale, ramp_duration,
                                         shape, locust_args, scenario), environ)
    sys.exit(code)
