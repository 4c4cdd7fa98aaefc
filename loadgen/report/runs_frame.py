"""Run dirs as pandas DataFrames, for notebooks/ (the tuning analysis after reports/).

The runs are read as the report reads them (loadgen.report.run_dir: validated summary.json, a suite's stack runs,
the whole-run HdrHistograms) and nothing is recomputed: a frame holds the summary's own keys, and the spectrum is
read from the histogram as report.html's plot reads it (loadgen.report.plots.percentile_spectrum).

- `hot_paths_frame(run_dirs)`: one row per hot path of each run: `run_id`, `run_dir`, `stack`, `env`, then the
  hot path's keys as summary.json names them; a nested object of plain values is spread into `key.sub` columns
  (`latency_ms.p99`, `alarm.threshold`, `status_counts.2xx`, `write_latency_ms.p99`), lists (stages, timeline,
  checks, alarms) are left to the frames below or to `runs()`.
- `stages_frame(run_dirs)`: one row per ramp stage of each hot path (`hot_path`, `index`, `start_s`, `duration_s`,
  `target_rate`, `achieved_rate`, `ops`, `errors`, `latency_ms.*`).
- `spectrum_frame(run_dirs)`: latency (ms) by percentile from 0% to 99.99% for each hot path with a histogram.

`run_dirs` is one run dir or a list of them (per-stack or suite runs, in any mix). A bad run dir is one
LoadgenError line, as for `loadgen report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from loadgen.report.plots import percentile_spectrum
from loadgen.report.run_dir import StackRun, load_run

RUN_COLUMNS = ("run_id", "run_dir", "stack", "env")


def runs(run_dirs: str | Path | Iterable[str | Path]) -> Iterator[StackRun]:
    """Every stack's run of the given run dirs, in order (a suite contributes each stack it lists)."""
    dirs = [run_dirs] if isinstance(run_dirs, (str, Path)) else list(run_dirs)
    for run_dir in dirs:
        yield from load_run(Path(run_dir)).stacks


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _flat(entry: dict) -> dict:
    """The entry's plain values as they are, and its objects of plain values as `key.sub`."""
    row = {}
    for key, value in entry.items():
        if _scalar(value):
            row[key] = value
        elif isinstance(value, dict) and all(_scalar(v) for v in value.values()):
            row.update({f"{key}.{sub}": v for sub, v in value.items()})
    return row


def _run_columns(stack_run: StackRun) -> dict:
    summary = stack_run.summary
    return {"run_id": summary["run_id"], "run_dir": str(stack_run.run_dir), "stack": summary["stack"],
            "env": summary["env"]}


def hot_paths_frame(run_dirs: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """One row per hot path per run, with the summary's keys (see the module docstring)."""
    rows = [{**_run_columns(stack_run), **_flat(entry)}
            for stack_run in runs(run_dirs) for entry in stack_run.summary["hot_paths"]]
    return pd.DataFrame(rows, columns=None if rows else [*RUN_COLUMNS, "name"])


def stages_frame(run_dirs: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """One row per ramp stage per hot path per run (hot paths whose summary has no stages have no row)."""
    rows = [{**_run_columns(stack_run), "hot_path": entry["name"], **_flat(stage)}
            for stack_run in runs(run_dirs) for entry in stack_run.summary["hot_paths"]
            for stage in entry.get("stages") or []]
    return pd.DataFrame(rows, columns=None if rows else [*RUN_COLUMNS, "hot_path", "index"])


def spectrum_frame(run_dirs: str | Path | Iterable[str | Path], points: int = 161) -> pd.DataFrame:
    """`percentile` (0 to 99.99) and `latency_ms` for each hot path of each run that left a non-empty histogram."""
    frames = []
    for stack_run in runs(run_dirs):
        for entry in stack_run.summary["hot_paths"]:
            histogram = stack_run.histogram(entry)
            if histogram is None or histogram.get_total_count() == 0:
                continue
            percentiles, latency_ms = percentile_spectrum(histogram, points)
            frame = pd.DataFrame({"percentile": percentiles, "latency_ms": latency_ms})
            for column, value in reversed([*_run_columns(stack_run).items(), ("hot_path", entry["name"])]):
                frame.insert(0, column, value)
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[*RUN_COLUMNS, "hot_path", "percentile", "latency_ms"])
    return pd.concat(frames, ignore_index=True)
