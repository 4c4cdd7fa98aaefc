"""The `loadgen` command line: one group per stage of the pipeline, each in its own module.

Exit codes: 0 ok, 1 findings or a failed verdict, 2 bad input or environment (one line on stderr, no traceback).
"""

from __future__ import annotations

import click

from loadgen.cli.bench_commands import bench
from loadgen.cli.capacity_commands import capacity
from loadgen.cli.local_commands import local
from loadgen.cli.profile_commands import profile
from loadgen.cli.push_commands import push
from loadgen.cli.report_commands import report
from loadgen.cli.tf_commands import tf
from loadgen.cli.validate_commands import validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="loadgen")
def main() -> None:
    """Load and performance simulator for the hot paths of the stacks in terraform/."""


for group in (tf, profile, capacity, local, bench, push, validate, report):
    main.add_command(group)

__all__ = ["main"]
