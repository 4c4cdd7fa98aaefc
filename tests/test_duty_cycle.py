"""Telematics units report on their driver's duty-status cadence, and the fleet's daily peak and mean are the ones
the profile states: a day of the generator against VehicleFleetConfig.demand()."""

from __future__ import annotations

import numpy as np
import pytest

from fleet_models.duty_cycle import BIN_S, STATES
from fleet_models.vehicles import VehicleFleetConfig

SLICE_S = 60.0
# six depots, one per metro; intervals stretched (as a profile may) so a day of records stays small
SMALL = VehicleFleetConfig(vehicles=900, seed=11, gps_interval_s=60.0, gps_on_duty_interval_s=300.0,
                           gps_parked_interval_s=1800.0, diagnostics_interval_s=120.0,
                           diagnostics_on_duty_interval_s=600.0, hos_interval_s=900.0)


@pytest.fixture(scope="module")
def day() -> dict:
    """A simulated day of SMALL from its busiest moment (where the fleet starts): per stream, records emitted and
    expected per vehicle state (vehicles in the state x slice / its interval), and records per 15-minute bin of
    the day."""
    fleet = SMALL.build()
    cadence = SMALL.cadence()
    emitted = {name: dict.fromkeys(STATES, 0) for name in cadence}
    expected = {name: dict.fromkeys(STATES, 0.0) for name in cadence}
    per_bin = {name: np.zeros(int(86400 / BIN_S)) for name in cadence}
    state_of_status = np.empty(4, dtype=object)
    for state, statuses in STATES.items():
        state_of_status[list(statuses)] = state
    start = SMALL.peak_time_s
    for t in np.arange(start, start + 86400.0, SLICE_S):
        batches = fleet.generate(t, t + SLICE_S)
        status = fleet.hos.status  # the duty status the slice's reports went out under
        in_state = {state: int(np.isin(status, statuses).sum()) for state, statuses in STATES.items()}
        for name, batch in batches.items():
            vehicles = np.array([int(k[2:]) for k in batch.partition_keys], dtype=np.int64)
            states, counts = np.unique(state_of_status[status[vehicles]].astype(str), return_counts=True)
            for state, count in zip(states.tolist(), counts.tolist()):
                emitted[name][state] += count
            for state, interval in cadence[name].items():
                expected[name][state] += in_state[state] * SLICE_S / interval
            per_bin[name][int(t % 86400 // BIN_S)] += len(batch)
    return {"emitted": emitted, "expected": expected, "per_bin": per_bin}


@pytest.mark.parametrize("stream", ["gps", "diagnostics", "hos"])
def test_records_per_vehicle_state_follow_the_profile_cadence(day, stream):
    emitted, expected = day["emitted"][stream], day["expected"][stream]
    for state in STATES:
        if state not in SMALL.cadence()[stream]:
            assert emitted[state] == 0, f"{stream} sent {emitted[state]} records while {state}"
            continue
        assert expected[state] > 500, (stream, state, expected[state])  # the day exercised the state
        assert abs(emitted[state] - expected[state]) <= 4 * np.sqrt(expected[state]), (stream, state, emitted,
                                                                                       expected)


def test_parked_units_send_heartbeats_only():
    assert "parked" not in SMALL.cadence()["diagnostics"]
    assert SMALL.cadence()["gps"]["parked"] > SMALL.cadence()["gps"]["on_duty"] > SMALL.cadence()["gps"]["driving"]


@pytest.mark.parametrize("stream", ["gps", "diagnostics"])
def test_the_generated_day_has_the_peak_and_mean_the_profile_states(day, stream):
    demand = {d.name: d for d in SMALL.demand()}[stream]
    counts = day["per_bin"][stream] / BIN_S
    assert counts.mean() == pytest.approx(demand.mean_rps, rel=0.05)
    assert counts.max() == pytest.approx(demand.peak_rps, rel=0.06)
    assert counts.max() / counts.mean() == pytest.approx(demand.peak_rps / demand.mean_rps, rel=0.06)
    assert demand.peak_rps / demand.mean_rps > 1.5  # a daily peak and trough, not a constant rate
    assert abs(int(np.argmax(counts)) - int(demand.peak_time_s // BIN_S)) <= 8  # within two hours


def test_shifts_start_in_the_depots_local_morning():
    shares = SMALL.status_shares()
    on_shift = 1 - shares[list(STATES["parked"])].sum(axis=0)
    hour_utc = (SMALL.start_epoch_ms / 3_600_000 + (np.arange(on_shift.size) + 0.5) * BIN_S / 3600) % 24
    # 07:00 local across UTC-5..UTC-8 is 12:00-15:00 UTC: most drivers are at work in the US afternoon (UTC
    # evening) and parked in the US night (UTC morning)
    assert on_shift[(hour_utc >= 18) & (hour_utc < 21)].min() > 0.8
    assert on_shift[(hour_utc >= 7) & (hour_utc < 10)].max() < 0.1


def test_a_shift_change_scenario_starts_the_depots_together():
    together = VehicleFleetConfig(vehicles=900, seed=11, shift_start_spread_h=0.1)
    spread = VehicleFleetConfig(vehicles=900, seed=11)
    ramp = [np.max(np.diff(c.rates()["gps"])) for c in (together, spread)]
    assert ramp[0] > 1.5 * ramp[1]  # the steepest 15-minute rise is sharper when depots start together
