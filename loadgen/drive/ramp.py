"""The profile's ramp stages as one open-loop schedule: when each operation is due, stage after stage.

Where it sits: profiles (`[[stages]]`: duration and fraction of the peak rate) -> this plan -> the scheduler
(constant arrivals for rate-driven hot paths) and the Kinesis and API drivers (the fleet model's own intended
times, mapped onto the wall clock). `--duration` compresses every stage by the same factor.

The plan is a piecewise-constant rate. Its cumulative count N(t) = sum over stages of rate_k x time spent in
stage k is piecewise linear, so the intended time of the i-th unit of work is N^-1(i): operation times for a
constant-rate hot path (units = operations at `peak` operations per second), and wall times for records the
fleet model dates in simulated seconds (units = simulated seconds at `peak` = rate_scale simulated seconds per
wall second). Intended times continue across stage boundaries: the schedule never restarts, so a stage change
is a change of spacing, not a pause.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loadgen.errors import LoadgenError
from loadgen.hot_paths import HotPath
from loadgen.profiles import Profile


def peak_rate(ctx, path: HotPath) -> float:
    """The full (fraction 1.0) rate of the hot path's rate source in ctx's profile (a RunContext)."""
    demand = {d.name: d for d in ctx.profile.demand()}.get(path.rate_source)
    if demand is None:
        raise LoadgenError(f"{ctx.profile.path}: no stream or route '{path.rate_source}' drives hot path "
                           f"'{path.name}'; add it to the profile or fix the hot path's rate_source")
    return float(demand.peak_rps)


@dataclass(frozen=True)
class RampPlan:
    """Stages of (duration, fraction of the peak rate), in order."""

    durations_s: tuple[float, ...]
    fractions: tuple[float, ...]

    @classmethod
    def from_profile(cls, profile: Profile, duration_s: float | None = None) -> "RampPlan":
        """The profile's stages, compressed proportionally to `duration_s` in all when given."""
        stages = profile.stages
        if not stages:
            raise LoadgenError(f"{profile.path}: no [[stages]]; add at least one stage (duration_s, rate_fraction)")
        for stage in stages:
            if not (np.isfinite(stage.duration_s) and stage.duration_s > 0):
                raise LoadgenError(f"{profile.path}: a stage's duration_s = {stage.duration_s!r}; it must be > 0")
            if not (np.isfinite(stage.rate_fraction) and stage.rate_fraction >= 0):
                raise LoadgenError(f"{profile.path}: a stage's rate_fraction = {stage.rate_fraction!r}; it must "
                                   "be >= 0")
        if max(s.rate_fraction for s in stages) <= 0:
            raise LoadgenError(f"{profile.path}: every stage has rate_fraction 0; nothing would be sent")
        total = sum(s.duration_s for s in stages)
        factor = 1.0 if duration_s is None else duration_s / total
        return cls(tuple(s.duration_s * factor for s in stages), tuple(s.rate_fraction for s in stages))

    @classmethod
    def constant(cls, duration_s: float) -> "RampPlan":
        """One stage at the full rate (the benches)."""
        return cls((duration_s,), (1.0,))

    @property
    def starts_s(self) -> np.ndarray:
        """Offset of each stage's start from the run's start."""
        return np.concatenate(([0.0], np.cumsum(self.durations_s)[:-1]))

    @property
    def total_s(self) -> float:
        return float(sum(self.durations_s))

    @property
    def top_fraction(self) -> float:
        return max(self.fractions)

    def rates(self, peak: float) -> list[float]:
        """Each stage's rate for a hot path whose full rate is `peak`."""
        return [peak * f for f in self.fractions]

    def units(self, peak: float) -> np.ndarray:
        """Cumulative units at each stage boundary (len = stages + 1)."""
        return np.concatenate(([0.0], np.cumsum(np.asarray(self.durations_s) * np.asarray(self.rates(peak)))))

    def units_at(self, t: float, peak: float) -> float:
        """N(t): the cumulative units by wall offset t (clamped to the plan)."""
        bounds = self.units(peak)
        starts = self.starts_s
        k = int(np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(starts) - 1))
        within = min(max(t - starts[k], 0.0), self.durations_s[k])
        return float(bounds[k] + within * self.rates(peak)[k])

    def wall_times(self, units: np.ndarray, peak: float) -> np.ndarray:
        """N^-1: the wall offset at which the cumulative count reaches each of `units` (sorted or not); units
        beyond the plan's total map past its end and are the caller's to drop."""
        bounds = self.units(peak)
        rates = np.asarray(self.rates(peak))
        units = np.asarray(units, dtype=np.float64)
        # the stage a unit falls in: the last boundary at or below it among stages with a positive rate
        stage = np.clip(np.searchsorted(bounds, units, side="right") - 1, 0, len(rates) - 1)
        zero = rates[stage] <= 0
        if zero.any():  # a unit exactly on the boundary of a zero-rate stage is due when the next stage begins
            positive = np.flatnonzero(rates > 0)
            stage[zero] = positive[np.clip(np.searchsorted(positive, stage[zero]), 0, len(positive) - 1)]
        starts = self.starts_s
        return starts[stage] + (units - bounds[stage]) / rates[stage]

    def offsets(self, peak: float, shard: tuple[int, int] = (0, 1)) -> np.ndarray:
        """Intended times of a constant-rate hot path at `peak` x each stage's fraction; `shard` = (k, n) keeps
        every n-th operation starting at k (one worker process's share of the same schedule)."""
        total = float(self.units(peak)[-1])
        index = np.arange(shard[0], int(np.floor(total + 1e-9)), shard[1], dtype=np.float64)
        return self.wall_times(index, peak)

    def stage_of(self, offsets: np.ndarray) -> np.ndarray:
        """The stage each intended offset falls in."""
        return np.clip(np.searchsorted(self.starts_s, offsets, side="right") - 1, 0, len(self.durations_s) - 1)

    def describe(self) -> list[dict]:
        return [{"index": k, "start_s": round(float(s), 3), "duration_s": round(d, 3), "rate_fraction": f}
                for k, (s, d, f) in enumerate(zip(self.starts_s, self.durations_s, self.fractions))]
