"""`loadgen report RUN_DIR [--compare BASELINE_RUN_DIR]`: re-render a run's report.html, or compare two runs.

Exit codes: 0 rendered / no regression, 1 a regression beyond --threshold, 2 bad input (one line).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from loadgen.cli.common import Finite, console, emit_json, json_option, user_errors
from loadgen.report.compare import Comparison, compare_runs
from loadgen.report.html_report import render_report


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _print_comparison(comparison: Comparison) -> None:
    table = Table(title=f"baseline {comparison.baseline}  vs  contender {comparison.contender}")
    for column in ("stack", "hot path", "metric", "baseline", "contender", "diff", "diff %", "unit", ""):
        table.add_column(column, justify="left" if column in ("stack", "hot path", "metric", "unit") else "right")
    for d in comparison.deltas:
        pct = "–" if d.diff_pct is None else f"{d.diff_pct:+.1f}%"
        flag = f"[bold red]regression > {comparison.threshold_pct:g}%[/]" if d.regression else ""
        table.add_row(d.stack, d.hot_path, d.metric, _number(d.baseline), _number(d.contender),
                      ("+" if d.diff > 0 else "") + _number(d.diff), pct, d.unit, flag)
    console().print(table)
    for side, names in (("baseline", comparison.only_in_baseline), ("contender", comparison.only_in_contender)):
        if names:
            click.echo(f"only in the {side}: {', '.join(names)}")
    if comparison.verdict_changes:
        click.echo(f"verdicts changed: {', '.join(comparison.verdict_changes)}")
    regressions = comparison.regressions
    if regressions:
        click.echo(f"{len(regressions)} regression(s) beyond {comparison.threshold_pct:g}%: "
                   + ", ".join(f"{d.stack}/{d.hot_path} {d.metric} {d.diff_pct:+.1f}%" for d in regressions))
    else:
        click.echo(f"no regression beyond {comparison.threshold_pct:g}%")


@click.command("report")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--compare", "baseline", type=click.Path(path_type=Path), default=None,
              help="Baseline run dir: print RUN_DIR's deltas against it instead of rendering.")
@click.option("--threshold", "threshold_pct", type=Finite(min=0), default=10.0, show_default=True,
              help="A latency up or a rate down by more than this % is a regression (exit 1).")
@json_option
@user_errors
def report(run_dir: Path, baseline: Path | None, threshold_pct: float, as_json: bool) -> None:
    """Re-render RUN_DIR/report.html (a stack's run or a suite), or with --compare set it against a baseline."""
    if baseline is None:
        path = render_report(run_dir)
        emit_json({"report": str(path)}) if as_json else click.echo(str(path))
        return
    comparison = compare_runs(baseline, run_dir, threshold_pct)
    if as_json:
        emit_json(comparison.as_dict())
    else:
        _print_comparison(comparison)
    sys.exit(1 if comparison.regressions else 0)
