"""The fleet's daily rhythm: when drivers start their shifts, and which share of them drives, works on duty or is
parked (off duty or in the sleeper berth) at each time of day.

Where it sits: fleet_models.hos (the duty-status machine) + fleet_models.geography (the depots' time zones) ->
this -> fleet_models.vehicles (the generator draws its drivers' shift starts here) and VehicleFleetConfig.demand()
(the rates per stream). Shift starts are depot-local morning hours, normal around `hour` with `spread_h`, so
across the fleet's time zones the fleet has a daily peak and a trough. The shares come from a seeded sample of
SAMPLE_DRIVERS drivers run through the same HosFleet and warm-up as the generator's fleet, so the rates a profile
reports are the generator's own (within the sample's noise, about 1%); they are cached per rhythm, so demand()
stays cheap after its first call (about a second).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from fleet_models.geography import METROS
from fleet_models.hos import DRIVING, ON_DUTY, OFF_DUTY, SLEEPER_BERTH, HosFleet

DAY_S = 86400.0
BIN_S = 900.0
"""Resolution of the shares (and so of a stream's reported peak): 15 minutes."""
STEP_S = 60.0
WARM_UP_S = 36 * 3600.0
"""Drivers start resting this long before t = 0, so the run opens with a realistic mix of shifts and rests."""
SAMPLE_DRIVERS = 12_000
PARKED = (OFF_DUTY, SLEEPER_BERTH)
STATES = {"driving": (DRIVING,), "on_duty": (ON_DUTY,), "parked": PARKED}
"""Vehicle states by the duty statuses they cover: what sets a telematics unit's report cadence."""


def shift_starts_s(metro: np.ndarray, hour: float, spread_h: float, start_epoch_ms: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Each driver's daily shift start in seconds into the model's day (t = 0 is start_epoch_ms): a depot-local
    hour drawn normal around `hour` (sd `spread_h`), moved to UTC by the depot metro's offset."""
    offset_h = np.array([m.utc_offset_h for m in METROS])[metro]
    local_h = hour + spread_h * rng.standard_normal(metro.size)
    start_utc_h = (start_epoch_ms / 3_600_000.0) % 24
    return ((local_h - offset_h - start_utc_h) * 3600.0) % DAY_S


@lru_cache(maxsize=16)
def status_shares(metro_weights: tuple[float, ...], hour: float, spread_h: float, violator_fraction: float,
                  start_epoch_ms: int, seed: int) -> np.ndarray:
    """Share of drivers in each duty status (rows: hos status codes) per BIN_S bin of the model's first day
    (columns), for a fleet whose drivers are spread over METROS by `metro_weights`."""
    counts = np.floor(np.asarray(metro_weights) * SAMPLE_DRIVERS).astype(int)
    metro = np.repeat(np.arange(len(METROS)), counts)
    starts_rng, hos_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    fleet = HosFleet(metro.size, hos_rng, violator_fraction, start_s=-WARM_UP_S,
                     shift_start_s=shift_starts_s(metro, hour, spread_h, start_epoch_ms, starts_rng))
    fleet.warm_up(-WARM_UP_S, 0.0, STEP_S)
    steps = int(DAY_S / STEP_S)
    seen = np.zeros((4, steps))
    for k in range(steps):
        fleet.advance(k * STEP_S)
        seen[:, k] = np.bincount(fleet.status, minlength=4)
    per_bin = int(BIN_S / STEP_S)
    return seen.reshape(4, steps // per_bin, per_bin).mean(axis=2) / metro.size
