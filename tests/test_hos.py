"""HOS duty status: no impossible transition, compliant drivers keep the DOT rules, violators break them."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet_models.hos import ALLOWED_TRANSITIONS, DRIVING, OFF_DUTY, SLEEPER_BERTH, HosFleet

HOUR = 3600.0
STEP = 60.0
TOLERANCE = STEP  # a status change is seen at the first step after it falls due


def observe(fleet: HosFleet, hours: float) -> tuple[list[list[tuple[int, float, float]]], list[tuple[int, int]]]:
    """Per driver, the segments (status, start, end) seen by stepping the fleet; plus every status change."""
    current = fleet.status.copy()
    since = np.zeros(fleet.n)
    segments: list[list[tuple[int, float, float]]] = [[] for _ in range(fleet.n)]
    changes: list[tuple[int, int]] = []
    for t in np.arange(STEP, hours * HOUR, STEP):
        for i in fleet.advance(float(t)):
            new = int(fleet.status[i])
            if new != current[i]:
                changes.append((int(current[i]), new))
                segments[i].append((int(current[i]), since[i], t))
                current[i], since[i] = new, t
    return segments, changes


def violations(segments: list[tuple[int, float, float]]) -> list[str]:
    """The 11 h, 14 h and 30 min rules checked from the observed timeline alone (independent of the model)."""
    found = []
    shift_start, driven, since_break = 0.0, 0.0, 0.0
    off_run = 10 * HOUR  # the fleet starts with a complete rest
    for status, start, end in segments:
        length = end - start
        if status in (OFF_DUTY, SLEEPER_BERTH):
            off_run += length
        else:
            if off_run >= 10 * HOUR:  # first duty after 10 h off opens a new 14 h window
                shift_start, driven, since_break = start, 0.0, 0.0
            off_run = 0.0
        if status != DRIVING:
            if length >= 0.5 * HOUR:
                since_break = 0.0
            continue
        driven += length
        since_break += length
        if driven > 11 * HOUR + TOLERANCE:
            found.append("11h")
        if end > shift_start + 14 * HOUR + TOLERANCE:
            found.append("14h")
        if since_break > 8 * HOUR + TOLERANCE:
            found.append("30min")
    return found



@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), violator_fraction=st.sampled_from([0.0, 0.2, 0.5]))
def test_compliant_drivers_never_break_a_rule_and_no_transition_is_impossible(seed, violator_fraction):
    fleet = HosFleet(40, np.random.default_rng(seed), violator_fraction)
    segments, changes = observe(fleet, hours=96)
    assert set(changes) <= ALLOWED_TRANSITIONS
    for driver in np.nonzero(~fleet.violator)[0]:
        assert violations(segments[driver]) == [], f"driver {driver}"
    for driver in np.nonzero(fleet.violator)[0]:
        assert violations(segments[driver]), f"violator {driver} kept every rule"


def test_violators_break_the_rules_at_the_configured_fraction():
    fraction, n = 0.1, 2000
    fleet = HosFleet(n, np.random.default_rng(42), fraction)
    segments, _ = observe(fleet, hours=72)
    breaking = np.array([bool(violations(s)) for s in segments])
    assert np.array_equal(breaking, fleet.violator)
    sigma = np.sqrt(fraction * (1 - fraction) / n)
    assert abs(breaking.mean() - fraction) < 4 * sigma


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), spread_h=st.sampled_from([0.1, 1.5, 6.0]))
def test_drivers_on_a_daily_rhythm_keep_the_rules_and_open_every_shift_at_their_hour(seed, spread_h):
    rng = np.random.default_rng(seed)
    starts = ((7 + spread_h * rng.standard_normal(40)) * HOUR) % (24 * HOUR)
    fleet = HosFleet(40, rng, 0.2, shift_start_s=starts)
    segments, changes = observe(fleet, hours=96)
    assert set(changes) <= ALLOWED_TRANSITIONS
    for driver in range(fleet.n):
        broken = violations(segments[driver])
        assert bool(broken) == bool(fleet.violator[driver]), (driver, broken)
        if fleet.violator[driver]:
            continue
        # a shift opens after the fleet's first rest or after one of 10 h (not after a break)
        opened = [start for k, ((before, rest_start, rest_end), (status, start, _)) in
                  enumerate(zip(segments[driver], segments[driver][1:]))
                  if before in (OFF_DUTY, SLEEPER_BERTH) and status not in (OFF_DUTY, SLEEPER_BERTH)
                  and (k == 0 or rest_end - rest_start >= 10 * HOUR)]
        assert len(opened) >= 3, driver
        # on time, or late by what the shift before ran past 14 h (a stop or break after the last drive, under an
        # hour): measured from the driver's hour each day, so lateness never adds up from day to day
        late = [(t - starts[driver]) % (24 * HOUR) for t in opened]
        assert all(x <= HOUR for x in late), (driver, late)
