"""The `loadgen` command line: one group per stage of the pipeline, each in its own module, imported when its
command runs (`loadgen tf check` does not load matplotlib, aiohttp or the drivers).

Exit codes: 0 ok, 1 findings or a failed verdict, 2 bad input or environment (one line on stderr, no traceback:
a usage error too, e.g. an option out of range, with where to read more instead of click's usage block).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

COMMANDS = ("tf", "profile", "capacity", "local", "bench", "push", "validate", "locust", "report")
"""Each is the object of the same name in loadgen/cli/<name>_commands.py."""


class OneLineErrors(click.Group):
    """click's group, with a usage error reported as one line (exit 2) instead of a usage block, and its commands
    loaded on first use (click's documented lazy loading: list_commands / get_command)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        return getattr(importlib.import_module(f"loadgen.cli.{name}_commands"), name)

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


__all__ = ["main"]
