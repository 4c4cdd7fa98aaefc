"""Hours-of-service duty status of every driver, advanced as one vectorized state machine.

The DOT property-carrier rules (49 CFR 395.3) the compliant drivers keep:
- 11 hours: at most 11 h of driving after 10 consecutive hours off duty;
- 14 hours: no driving beyond the 14th hour after coming on duty (the window does not pause for breaks);
- 30 minutes: after 8 h of cumulative driving, a break of at least 30 consecutive minutes not driving
  (off duty, sleeper berth or on duty not driving all count);
- 10 hours: a new shift starts only after 10 consecutive hours off duty or in the sleeper berth.

A driver alternates shifts and rests: on duty (pre-trip, loading, deliveries), driving segments, breaks, and a
10-12 h rest. Segments are planned so that compliant drivers end each driving segment before any limit is hit
(`SAFETY_S` short of it, since transitions fire at slice boundaries). Violators (a configurable fraction)
plan with the loosened limits of `VIOLATOR_LIMITS` and so break the 11 h and 30 min rules every shift.

Drivers given a daily shift start (`shift_start_s`, seconds into the model's day) keep a daily rhythm: a rest
lasts until the driver's next shift start, and at least 10 h (`SAFETY_S` more), so shifts open at that time of
day; one that ran past 14 h (on-duty work after the last drive, a violator's longer day) opens the next late by
the difference, and the one after on time again. Without it, rests last 10-12 h and shifts are spread around the
clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OFF_DUTY, SLEEPER_BERTH, DRIVING, ON_DUTY = 0, 1, 2, 3
STATUS_NAMES = ("off_duty", "sleeper_berth", "driving", "on_duty")
# The status changes the model makes. A shift always opens with an on-duty pre-trip inspection (49 CFR 396.13),
# so a driver never drives straight out of the sleeper berth; a break may end straight into driving.
ALLOWED_TRANSITIONS = frozenset({
    (OFF_DUTY, ON_DUTY), (SLEEPER_BERTH, ON_DUTY), (OFF_DUTY, DRIVING), (OFF_DUTY, SLEEPER_BERTH),
    (ON_DUTY, DRIVING), (ON_DUTY, OFF_DUTY), (ON_DUTY, SLEEPER_BERTH),
    (DRIVING, ON_DUTY), (DRIVING, OFF_DUTY), (DRIVING, SLEEPER_BERTH),
})

HOUR = 3600.0
SAFETY_S = 120.0


@dataclass(frozen=True)
class HosLimits:
    """The limits a driver plans by (seconds)."""

    max_driving: float = 11 * HOUR
    window: float = 14 * HOUR
    driving_before_break: float = 8 * HOUR
    break_length: float = 0.5 * HOUR
    rest_length: float = 10 * HOUR


COMPLIANT_LIMITS = HosLimits()
VIOLATOR_LIMITS = HosLimits(max_driving=12.5 * HOUR, window=16 * HOUR, driving_before_break=10 * HOUR)


class HosFleet:
    """Duty status of `n` drivers; `advance(t)` applies every transition due by time t (seconds)."""

    def __init__(self, n: int, rng: np.random.Generator, violator_fraction: float = 0.02, start_s: float = 0.0,
                 shift_start_s: np.ndarray | None = None):
        self.n = n
        self.shift_start_of_day = shift_start_s
        self.rng = rng
        self.violator = rng.random(n) < violator_fraction
        limits = [VIOLATOR_LIMITS if v else COMPLIANT_LIMITS for v in (False, True)]
        pick = self.violator.astype(np.int8)
        self.max_driving = np.array([l.max_driving for l in limits])[pick]
        self.window = np.array([l.window for l in limits])[pick]
        self.before_break = np.array([l.driving_before_break for l in limits])[pick]
        # Everyone starts resting at start_s, the rest ending at the driver's next shift start, else at a random
        # time over the first day (the 10 h rest is taken as already complete when it ends).
        self.status = np.where(rng.random(n) < 0.3, SLEEPER_BERTH, OFF_DUTY).astype(np.int8)
        self.status_end = (start_s + rng.uniform(0, 24 * HOUR, n) if shift_start_s is None
                           else self._next_shift_start(np.arange(n), np.full(n, start_s)))
        self.status_start = self.status_end - 10 * HOUR
        self.shift_start = np.full(n, -np.inf)
        self.driving_in_shift = np.zeros(n)
        self.driving_since_break = np.zeros(n)
        self.resting = np.ones(n, dtype=bool)

    def _next_shift_start(self, idx: np.ndarray, after: np.ndarray) -> np.ndarray:
        """The first of the drivers' daily shift starts at or after `after`."""
        day = 24 * HOUR
        return after + (self.shift_start_of_day[idx] - after) % day

    def warm_up(self, start_s: float, end_s: float, step_s: float = 60.0) -> None:
        """Run the fleet from start_s to end_s so that shifts are under way at end_s (a realistic mix)."""
        for t in np.arange(start_s, end_s, step_s):
            self.advance(float(t))

    def advance(self, t: float) -> np.ndarray:
        """Apply every transition due at or before t; returns the indices of drivers whose status changed."""
        changed = np.nonzero(self.status_end <= t)[0]
        if changed.size:
            self._transition(changed, t)
        return changed

    def _transition(self, idx: np.ndarray, t: float) -> None:
        status = self.status[idx]
        elapsed = t - self.status_start[idx]
        was_driving = status == DRIVING
        not_driving = ~was_driving

        # Bookkeeping for the segment that just ended.
        self.driving_in_shift[idx] += np.where(was_driving, elapsed, 0.0)
        self.driving_since_break[idx] += np.where(was_driving, elapsed, 0.0)
        took_break = not_driving & (elapsed >= 0.5 * HOUR)
        self.driving_since_break[idx] = np.where(took_break, 0.0, self.driving_since_break[idx])
        new_shift = self.resting[idx]
        self.shift_start[idx] = np.where(new_shift, t, self.shift_start[idx])
        self.driving_in_shift[idx] = np.where(new_shift, 0.0, self.driving_in_shift[idx])
        self.driving_since_break[idx] = np.where(new_shift, 0.0, self.driving_since_break[idx])

        # What the driver may still drive before each limit.
        left_driving = self.max_driving[idx] - self.driving_in_shift[idx]
        left_window = self.shift_start[idx] + self.window[idx] - t
        left_before_break = self.before_break[idx] - self.driving_since_break[idx]
        can_drive = np.minimum(np.minimum(left_driving, left_window), left_before_break) - SAFETY_S
        shift_over = np.minimum(left_driving, left_window) - SAFETY_S < 0.25 * HOUR

        rng = self.rng
        k = idx.size
        next_status = np.empty(k, dtype=np.int8)
        duration = np.empty(k)

        # Shift over: 10-12 h rest, off duty or in the sleeper berth.
        rest = shift_over & ~new_shift
        next_status[rest] = np.where(rng.random(int(rest.sum())) < 0.4, SLEEPER_BERTH, OFF_DUTY)
        if self.shift_start_of_day is None:
            duration[rest] = rng.uniform(10 * HOUR, 12 * HOUR, int(rest.sum()))
        else:
            resting = idx[rest]
            duration[rest] = np.maximum(10 * HOUR + SAFETY_S,
                                        self._next_shift_start(resting, np.full(resting.size, t)) - t)

        # Need a break before driving again: 30-45 min off duty (or a delivery stop on duty).
        need_break = ~rest & (can_drive < 0.25 * HOUR) & was_driving
        next_status[need_break] = np.where(rng.random(int(need_break.sum())) < 0.5, OFF_DUTY, ON_DUTY)
        duration[need_break] = rng.uniform(0.5 * HOUR + SAFETY_S, 0.75 * HOUR, int(need_break.sum()))

        # Coming off a driving segment with hours left: a delivery stop on duty, 10-50 min.
        stop = ~rest & ~need_break & was_driving
        next_status[stop] = ON_DUTY
        duration[stop] = rng.uniform(10 * 60, 50 * 60, int(stop.sum()))

        # New shift starts with a pre-trip inspection on duty.
        pre_trip = new_shift
        next_status[pre_trip] = ON_DUTY
        duration[pre_trip] = rng.uniform(15 * 60, 30 * 60, int(pre_trip.sum()))

        # Otherwise (after a stop or break, limits permitting) drive for 1-4 h, never beyond a limit.
        drive = ~rest & ~need_break & ~stop & ~pre_trip & (can_drive >= 0.25 * HOUR)
        planned = rng.uniform(1 * HOUR, 4 * HOUR, int(drive.sum()))
        next_status[drive] = DRIVING
        duration[drive] = np.minimum(planned, can_drive[drive])

        # A break is needed but the last segment was not driving (cannot happen for a short stop, but a
        # stop shorter than 30 min leaves the break still owed): take the break now.
        owed = ~rest & ~need_break & ~stop & ~pre_trip & ~drive
        next_status[owed] = OFF_DUTY
        duration[owed] = rng.uniform(0.5 * HOUR + SAFETY_S, 0.75 * HOUR, int(owed.sum()))

        self.status[idx] = next_status
        self.status_start[idx] = t
        self.status_end[idx] = t + duration
        self.resting[idx] = rest
