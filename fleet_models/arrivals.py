"""Non-homogeneous Poisson arrivals with daily and weekly shape (lunch/dinner peaks, office hours, weekends).

A `RateShape` maps simulated time to a multiplier whose mean over a week is 1, so `mean_rate x shape(t)` is the
instantaneous rate and `mean_rate x shape.peak` the busiest moment. Arrivals in a slice are Poisson with the
slice's integrated rate and uniform times within it, which is exact for a rate that is constant over the
slice (slices are seconds, shapes change over hours). A `Pulse` is a one-off burst on top of a shape (a named
scenario's surge): its arrivals in a slice are Poisson with the pulse's exact integral over the slice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

DAY_S = 86400.0
WEEK_S = 7 * DAY_S
WEEK_START_EPOCH_MS = 1_767_571_200_000
"""Monday 2026-01-05 00:00 UTC: the wall-clock time of t = 0, where the shapes' week begins."""


@dataclass(frozen=True)
class Peak:
    """A Gaussian bump in the daily curve: centre hour, width (hours) and height relative to the base."""

    hour: float
    width_h: float
    height: float


@dataclass(frozen=True)
class RateShape:
    """Daily curve (base + peaks) times a weekday factor (Monday first), normalised to a weekly mean of 1."""

    base: float = 1.0
    peaks: tuple[Peak, ...] = ()
    weekday_factors: tuple[float, ...] = (1.0,) * 7
    start_hour_of_week: float = 0.0
    """Where t = 0 falls in the week, in hours since Monday 00:00 (local time of the metro)."""
    _norm: float = field(init=False, default=1.0)

    def __post_init__(self) -> None:
        grid = np.arange(0, WEEK_S, 300.0)
        object.__setattr__(self, "_norm", float(np.mean(self._raw(grid))))

    def _raw(self, week_s: np.ndarray) -> np.ndarray:
        hour = (week_s % DAY_S) / 3600.0
        day = (week_s // DAY_S).astype(int) % 7
        curve = np.full_like(hour, self.base, dtype=float)
        for p in self.peaks:
            distance = np.minimum(np.abs(hour - p.hour), 24 - np.abs(hour - p.hour))
            curve = curve + p.height * np.exp(-0.5 * (distance / p.width_h) ** 2)
        return curve * np.asarray(self.weekday_factors)[day]

    def __call__(self, t: np.ndarray | float) -> np.ndarray:
        week_s = (np.asarray(t, dtype=float) + self.start_hour_of_week * 3600.0) % WEEK_S
        return self._raw(np.atleast_1d(week_s)) / self._norm

    @property
    def peak(self) -> float:
        """The largest multiplier over the week."""
        return float(np.max(self._raw(np.arange(0, WEEK_S, 60.0))) / self._norm)


FLAT = RateShape()


def busiest_time_s(rate: Callable[[np.ndarray], np.ndarray]) -> float:
    """Seconds after t = 0 of the busiest minute of the week for a rate curve (a shape or a sum of shapes)."""
    grid = week_grid()
    return float(grid[int(np.argmax(rate(grid)))])


def poisson_arrivals(rng: np.random.Generator, mean_rate: float, shape: Callable[[np.ndarray], np.ndarray],
                     t0: float, t1: float) -> np.ndarray:
    """Sorted arrival times in [t0, t1) for a rate of mean_rate x shape(t) per second."""
    expected = mean_rate * float(shape(0.5 * (t0 + t1))[0]) * (t1 - t0)
    count = rng.poisson(expected)
    return np.sort(rng.uniform(t0, t1, count))


@dataclass(frozen=True)
class Pulse:
    """A one-off Gaussian burst of `count` expected arrivals centred on `centre_s` (standard deviation `width_s`),
    in simulated seconds after t = 0."""

    count: float
    centre_s: float
    width_s: float

    def rate(self, t: np.ndarray) -> np.ndarray:
        """Arrivals per second at t."""
        z = (np.asarray(t, dtype=float) - self.centre_s) / self.width_s
        return self.count * np.exp(-0.5 * z * z) / (self.width_s * math.sqrt(2 * math.pi))

    def expected(self, t0: float, t1: float) -> float:
        """Expected arrivals in [t0, t1)."""
        def cdf(t: float) -> float:
            return 0.5 * (1 + math.erf((t - self.centre_s) / (self.width_s * math.sqrt(2))))
        return self.count * (cdf(t1) - cdf(t0))

    def arrivals(self, rng: np.random.Generator, t0: float, t1: float) -> np.ndarray:
        """Sorted arrival times in [t0, t1) (uniform within the slice: slices are seconds, a pulse lasts hours)."""
        return np.sort(rng.uniform(t0, t1, rng.poisson(self.expected(t0, t1))))


def week_grid() -> np.ndarray:
    """A minute grid over the week: where rates are evaluated for their peak and mean."""
    return np.arange(0, WEEK_S, 60.0)
