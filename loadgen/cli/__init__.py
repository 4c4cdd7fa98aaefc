"""The `loadgen` command line: one group per stage of the pipeline, each in its own module.

Exit codes: 0 ok, 1 findings or a failed verdict, 2 bad input or environment (one line on stderr, no traceback:
a usage error too, e.g. an option out of range, with where to read more instead of click's usage block).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from loadgen.cli.bench_commands import bench
from loadgen.cli.capacity_commands import capacity
from loadgen.cli.local_commands import local
from loadgen.cli.locust_commands import locust
from loadgen.cli.profile_commands import profile
from loadgen.cli.push_commands import push
from loadgen.cli.report_commands import report
from loadgen.cli.tf_commands import tf
from loadgen.cli.validate_commands import validate


class OneLineErrors(click.Group):
    """click's group, with a usage error reported as one line (exit 2) instead of a usage block."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.ClickException as exc:
            where = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else "loadgen"
            click.echo(f"error: {where}: {exc.format_message()} (see '{where} --help')", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="loadgen")
def main() -> None:
    """Load and performance simulator for the hot paths of the stacks in terraform/."""


for group in (tf, profile, capacity, local, bench, push, validate, locust, report):
    main.add_command(group)

__all__ = ["main"]
