"""Baseline vs contender, as `esrally compare` sets two races side by side: for every hot path both runs have
(matched by stack, then hot-path name), p50/p95/p99/max latency and the achieved rate with their differences,
absolute and in %; a difference beyond the threshold in the bad direction (latency up, rate down) is a regression.
Hot paths (or stacks) present on one side only, and verdicts that changed, are listed, not judged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from loadgen.errors import LoadgenError
from loadgen.report.run_dir import Run, load_run

METRICS = (("p50", "ms", 1), ("p95", "ms", 1), ("p99", "ms", 1), ("max", "ms", 1), ("achieved_rate", "/s", -1))
"""(metric, unit, direction): direction 1 = higher is worse (latency), -1 = lower is worse (rate)."""


@dataclass(frozen=True)
class Delta:
    """One metric of one hot path, baseline against contender."""

    stack: str
    hot_path: str
    metric: str
    unit: str
    baseline: float
    contender: float
    diff: float
    diff_pct: float | None
    """None when the baseline is 0 (no relative change to speak of)."""
    regression: bool


@dataclass
class Comparison:
    baseline: Path
    contender: Path
    threshold_pct: float
    deltas: list[Delta] = field(default_factory=list)
    only_in_baseline: list[str] = field(default_factory=list)
    """`stack` or `stack/hot path` present in the baseline only."""
    only_in_contender: list[str] = field(default_factory=list)
    verdict_changes: list[str] = field(default_factory=list)
    """`stack/hot path: pass -> fail` for every hot path whose verdict differs (listed, not judged)."""

    @property
    def regressions(self) -> list[Delta]:
        return [d for d in self.deltas if d.regression]

    def as_dict(self) -> dict:
        return {"baseline": str(self.baseline), "contender": str(self.contender), "threshold_pct": self.threshold_pct,
                "deltas": [asdict(d) for d in self.deltas], "only_in_baseline": self.only_in_baseline,
                "only_in_contender": self.only_in_contender, "verdict_changes": self.verdict_changes,
                "regressions": len(self.regressions)}


def _by_stack(run: Run) -> dict[str, dict[str, dict]]:
    """{stack: {hot path name: entry}} (the first entry of a name wins)."""
    stacks: dict[str, dict[str, dict]] = {}
    for stack_run in run.stacks:
        paths = stacks.setdefault(stack_run.summary["stack"], {})
        for entry in stack_run.summary["hot_paths"]:
            paths.setdefault(entry["name"], entry)
    return stacks


def _value(entry: dict, metric: str) -> float:
    return float(entry["achieved_rate"] if metric == "achieved_rate" else entry["latency_ms"][metric])


def delta(stack: str, hot_path: str, metric: str, unit: str, direction: int, baseline: float, contender: float,
          threshold_pct: float) -> Delta:
    diff = contender - baseline
    pct = 100.0 * diff / baseline if baseline else None
    return Delta(stack, hot_path, metric, unit, baseline, contender, diff, pct,
                 pct is not None and direction * pct > threshold_pct)


def compare_runs(baseline_dir: Path, contender_dir: Path, threshold_pct: float = 10.0) -> Comparison:
    """Compare two run dirs (per-stack or suite runs, in any mix); LoadgenError when they share no stack."""
    baseline, contender = _by_stack(load_run(baseline_dir)), _by_stack(load_run(contender_dir))
    common = [s for s in baseline if s in contender]
    if not common:
        raise LoadgenError(f"{contender_dir} and {baseline_dir} share no stack (baseline: {', '.join(baseline)}; "
                           f"contender: {', '.join(contender)}); compare runs of the same stack")
    result = Comparison(Path(baseline_dir), Path(contender_dir), threshold_pct)
    result.only_in_baseline = [s for s in baseline if s not in contender]
    result.only_in_contender = [s for s in contender if s not in baseline]
    for stack in common:
        b_paths, c_paths = baseline[stack], contender[stack]
        result.only_in_baseline += [f"{stack}/{name}" for name in b_paths if name not in c_paths]
        result.only_in_contender += [f"{stack}/{name}" for name in c_paths if name not in b_paths]
        for name in (n for n in b_paths if n in c_paths):
            if b_paths[name]["verdict"] != c_paths[name]["verdict"]:
                result.verdict_changes.append(f"{stack}/{name}: {b_paths[name]['verdict']} -> "
                                              f"{c_paths[name]['verdict']}")
            for metric, unit, direction in METRICS:
                result.deltas.append(delta(stack, name, metric, unit, direction, _value(b_paths[name], metric),
                                           _value(c_paths[name], metric), threshold_pct))
    return result
