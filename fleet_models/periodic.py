"""Entities that report at a fixed interval with a random phase: which of them are due in a time slice.

The phases are drawn once and sorted, so finding the reporters of a slice is two binary searches, and the
emitted rate is exactly n / interval per second whatever the slice length.
"""

from __future__ import annotations

import numpy as np


class PeriodicReporters:
    """`n` entities, each reporting every `interval_s` seconds at its own phase."""

    def __init__(self, n: int, interval_s: float, rng: np.random.Generator):
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.n = n
        self.interval_s = float(interval_s)
        phases = rng.uniform(0.0, self.interval_s, n)
        self.order = np.argsort(phases, kind="stable")
        self.sorted_phases = phases[self.order]

    def due(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """(entity indices, intended report times) for reports due in [t0, t1), in time order."""
        span = t1 - t0
        if span > self.interval_s:
            parts = [self.due(a, min(a + self.interval_s, t1)) for a in np.arange(t0, t1, self.interval_s)]
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        cycle_start = np.floor(t0 / self.interval_s) * self.interval_s
        a = t0 - cycle_start
        b = a + span
        first = slice(np.searchsorted(self.sorted_phases, a), np.searchsorted(self.sorted_phases, min(b, self.interval_s)))
        idx = self.order[first]
        times = cycle_start + self.sorted_phases[first]
        if b > self.interval_s:
            second = slice(0, np.searchsorted(self.sorted_phases, b - self.interval_s))
            idx = np.concatenate([idx, self.order[second]])
            times = np.concatenate([times, cycle_start + self.interval_s + self.sorted_phases[second]])
        return idx, times
