"""`loadgen capacity`: the profile's demand at its top ramp stage against the env's (or a candidate) tfvars.

Exit 0 when every resource holds demand x headroom, 1 when one does not, 2 on bad input (one line).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from loadgen.cli.common import (Finite, cell, console, default_terraform_dir, emit_json, env_option, json_option,
                                scenario_option, stack_option, terraform_dir_option, user_errors)
from loadgen.errors import LoadgenError
from loadgen.measure.capacity_model import capacity_model
from loadgen.profiles import load_profile
from loadgen.tf import hcl_reader
from loadgen.tf.env_model import ResolvedStack


@click.command("capacity")
@terraform_dir_option
@stack_option
@env_option
@scenario_option
@click.option("--tfvars", "candidate", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Evaluate this candidate .tfvars in place of the env's own.")
@click.option("--headroom", default=1.3, show_default=True, type=Finite(),
              help="Demand multiple every capacity must hold (1.3 = 30% above the top ramp stage).")
@json_option
@user_errors
def capacity(terraform_dir: Path | None, stack: str, env: str, scenario: str | None, candidate: Path | None,
             headroom: float, as_json: bool) -> None:
    """Demand (profile, top ramp stage) x capacity (tfvars): utilization, saturation multiple, recommended value of
    each tfvars key, and the key that breaks first. Exit 1 when any demand x headroom exceeds its capacity."""
    if not headroom > 0:
        raise LoadgenError(f"--headroom {headroom}: must be a positive multiple of demand, e.g. 1.3")
    loaded = hcl_reader.load_stack(terraform_dir or default_terraform_dir(), stack)
    if candidate is not None:
        loaded = hcl_reader.with_candidate_tfvars(loaded, env, candidate)
    result = capacity_model(ResolvedStack(loaded, env), load_profile(stack, env, scenario=scenario), headroom)
    payload = {**result.to_json(), "scenario": scenario}
    if as_json:
        emit_json(payload)
    else:
        table = Table(title=f"capacity: {stack} / {env}{f', scenario {scenario}' if scenario else ''} "
                            f"({Path(payload['tfvars']).name}, top stage "
                            f"{payload['top_stage_rate_fraction']:g}x peak, headroom {headroom:g}): "
                            f"{payload['verdict'].upper()}")
        for column in ("key", "resource", "unit", "demand", "capacity", "utilization", "saturates at", "current",
                       "recommended", "holds"):
            table.add_column(column)
        for row in sorted(payload["resources"], key=lambda r: (r["saturates_at_multiple"] is None,
                                                               r["saturates_at_multiple"] or 0)):
            bound = str(row["detail"].get("duration_basis", "")).startswith("timeout")
            table.add_row(row["key"], row["resource"], row["unit"], cell(row["demand"]) + ("*" if bound else ""),
                          cell(row["capacity"]), f"{row['utilization']:.0%}", cell(row["saturates_at_multiple"]), cell(row["current"]),
                          cell(row["recommended"]), {True: "yes", False: "NO", None: "unmeasured"}[row["holds"]])
        console().print(table)
        if any(str(r["detail"].get("duration_basis", "")).startswith("timeout") for r in payload["resources"]):
            click.echo("* duration bounded by the function's timeout (no measured p99): an upper bound")
        for skipped in payload["not_modelled"]:
            click.echo(f"not modelled: {skipped['resource']}: {skipped['why']}")
        click.echo(f"breaks first: {payload['breaks_first']} ({payload['breaks_first_resource']})")
        click.echo(f"verdict: {payload['verdict']}")
    sys.exit(1 if payload["verdict"] == "fail" else 0)
