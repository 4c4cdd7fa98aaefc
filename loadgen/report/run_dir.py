"""A run dir as the report and the comparison read it: the validated summary.json, and for a suite run the
per-stack run dirs it lists, each with its whole-run histograms (histograms/<hot path>.hdr).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram

from loadgen.errors import LoadgenError
from loadgen.measure.recorder import HotPathRecorder
from loadgen.measure.summary_schema import load_summary


@dataclass(frozen=True)
class StackRun:
    """One stack's run: its folder and its summary (kind validate, or a bench/push summary)."""

    run_dir: Path
    summary: dict

    def histogram(self, hot_path: dict) -> HdrHistogram | None:
        """The hot path's whole-run histogram, or None when the run left none."""
        path = self.run_dir / "histograms" / f"{hot_path['name']}.hdr"
        if not path.is_file():
            return None
        try:
            encoded = path.read_text().strip()
            return HotPathRecorder.decode(hot_path["name"], encoded, hot_path["ops"], hot_path["errors"]).histogram
        except Exception as exc:  # hdrh raises assorted errors on a damaged encoding
            raise LoadgenError(f"{path}: not an encoded HdrHistogram ({type(exc).__name__}); "
                               f"delete it to render without it, or re-run") from None


@dataclass(frozen=True)
class Run:
    """What `loadgen report` was pointed at: one stack's run, or a suite of them."""

    run_dir: Path
    summary: dict
    stacks: list[StackRun]

    @property
    def is_suite(self) -> bool:
        return self.summary.get("kind") == "suite"


def load_run(run_dir: Path) -> Run:
    """The run dir's summary and, for a suite, each listed stack's run (validated, or one LoadgenError line)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise LoadgenError(f"{run_dir}: no such run dir; pass a folder such as reports/<run-id>/")
    summary = load_summary(run_dir)
    if summary.get("kind") != "suite":
        return Run(run_dir, summary, [StackRun(run_dir, summary)])
    stacks = []
    for entry in summary["stacks"]:
        sub = (run_dir / entry["run_dir"]).resolve()
        if run_dir.resolve() not in sub.parents:
            raise LoadgenError(f"{run_dir / 'summary.json'}: stack {entry['stack']}: run_dir {entry['run_dir']!r} "
                               f"is not a sub-folder of the suite's run dir")
        stacks.append(StackRun(run_dir / entry["run_dir"], load_summary(run_dir / entry["run_dir"])))
    return Run(run_dir, summary, stacks)
