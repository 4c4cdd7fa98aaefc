"""`loadgen tf ...`: the Terraform reader's commands (parity checks, alarms, capacities per env)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from loadgen.cli.common import (console, default_terraform_dir, emit_json, env_option, json_option, stack_option,
                                terraform_dir_option, user_errors)
from loadgen.hot_paths import guarded_by
from loadgen.tf import hcl_reader
from loadgen.tf.alarm_thresholds import alarms
from loadgen.tf.capacity import capacity
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.stack_check import check_stack, relative, schema_findings


@click.group()
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
        emit_json({"terraform_dir": str(terraform_dir.name), "schema_checked": schema, "findings_total": total,
                    "stacks": [{**r, "findings": [f.to_json() for f in r["findings"]]} for r in report]})
    else:
        screen = console()
        table = Table(title=f"loadgen tf check{' --schema' if schema else ''}")
        for column in ("stack", "envs", "findings"):
            table.add_column(column)
        for r in report:
            table.add_row(r["stack"], ", ".join(r["envs"]), str(len(r["findings"])))
        screen.print(table)
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
    found = alarms(resolved, guarded_by(stack))
    if as_json:
        rows = []
        for alarm in found:
            row = alarm.to_json()
            row.pop("file"), row.pop("line")
            rows.append(row)
        emit_json({"stack": stack, "env": env, "alarms": rows})
        return
    table = Table(title=f"alarms: {stack} / {env}")
    for column in ("alarm", "namespace", "metric", "statistic", "comparison", "threshold", "unit", "hot path"):
        table.add_column(column)
    for a in found:
        table.add_row(str(a.name if isinstance(a.name, str) else a.address), str(a.namespace), str(a.metric),
                      str(a.extended_statistic if isinstance(a.extended_statistic, str) else a.statistic),
                      str(a.comparison), str(a.threshold), str(a.unit if isinstance(a.unit, str) else ""),
                      a.hot_path or "")
    console().print(table)


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
        emit_json(result)
        return
    screen = console()
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
        screen.print(table)
