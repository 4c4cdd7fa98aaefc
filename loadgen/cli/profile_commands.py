"""`loadgen profile show`: a stack's load profile for an env, with its rates against the env's capacities."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from loadgen.cli.common import (cell, console, default_terraform_dir, emit_json, env_option, json_option,
                                scenario_option, stack_option, terraform_dir_option, user_errors)
from loadgen.report.profile_report import profile_report
from loadgen.profiles import load_profile
from loadgen.tf import hcl_reader


@click.group()
def profile() -> None:
    """Load profiles per stack and env (profiles/<stack>/<env>.toml)."""


@profile.command("show")
@terraform_dir_option
@stack_option
@env_option
@scenario_option
@json_option
@user_errors
def profile_show(terraform_dir: Path | None, stack: str, env: str, scenario: str | None, as_json: bool) -> None:
    """The profile with its mean and peak rates (and the peak's time, UTC) per Kinesis stream and API route,
    against the env's shards and throttle."""
    report = profile_report(load_profile(stack, env, scenario=scenario),
                            hcl_reader.load_stack(terraform_dir or default_terraform_dir(), stack))
    if as_json:
        emit_json(report)
        return
    title = f"profile: {stack} / {env}" + (f", scenario {scenario}" if scenario else "")
    table = Table(title=f"{title} ({report['domain']}, seed {report['seed']})")
    columns = ("name", "kind", "mean_rps", "peak_rps", "peak_to_mean", "peak_at_utc", "mean_record_bytes", "shards",
               "peak_rps_per_shard", "peak_shard_records_utilization", "peak_shard_bytes_utilization", "throttle_rps",
               "peak_throttle_utilization")
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in report["rates"]:
        table.add_row(*[cell(row.get(c)) for c in columns])
    console().print(table)
    click.echo(f"fleet: {report['fleet']}")
    click.echo(f"scenarios: {', '.join(report['scenarios']) or 'none'} (--scenario NAME)")
    click.echo("stages: " + ", ".join(f"{s['duration_s']:g}s at {s['rate_fraction']:g}x peak" for s in report["stages"]))
