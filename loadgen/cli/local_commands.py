"""`loadgen local ...`: start, inspect and stop the embedded local target."""

from __future__ import annotations

import sys

import click

from loadgen.cli.common import emit_json, json_option, state_dir, user_errors
from loadgen.target.local_target import LocalTarget


@click.group()
def local() -> None:
    """The embedded local target: Redis, a moto AWS stand-in, PostgreSQL (the Aurora stand-in) and the API Gateway
    emulator on loopback."""


@local.command("up")
@json_option
@user_errors
def local_up(as_json: bool) -> None:
    """Start Redis, moto, PostgreSQL and the API emulator on loopback (persistence off); idempotent."""
    target = LocalTarget(state_dir())
    target.up()
    _print_status(target.status(), as_json)


@local.command("status")
@json_option
@user_errors
def local_status(as_json: bool) -> None:
    """Endpoints of the local target (`redis_url`, `aws_endpoint_url`, `api_url`, `postgres_url`; no key or
    password) and whether its processes run."""
    status = LocalTarget(state_dir()).status()
    _print_status(status, as_json)
    if not status["up"]:
        sys.exit(1)


@local.command("down")
@user_errors
def local_down() -> None:
    """Stop exactly the processes `local up` started (and remove PostgreSQL's throwaway cluster)."""
    stopped = LocalTarget(state_dir()).down()
    click.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


def _print_status(status: dict, as_json: bool) -> None:
    if as_json:
        emit_json(status)
        return
    click.echo(f"local target: {'up' if status['up'] else 'down'}")
    for name, service in status["services"].items():
        click.echo(f"  {name:6} {service['url']:32} pid {service['pid']:<8} {'alive' if service['alive'] else 'gone'}")
