"""234,000 commercial vehicles: GPS fixes, OBD-II diagnostics and HOS duty status, streamed in time slices.

A vehicle's telematics unit reports by its driver's duty status (fleet_models.hos): driving, GPS every
`gps_interval_s` and diagnostics every `diagnostics_interval_s`; on duty not driving (pre-trip, loading,
deliveries), the slower `*_on_duty_interval_s`; parked with the ignition off (off duty, sleeper berth), a GPS
heartbeat every `gps_parked_interval_s` and no diagnostics. The driver's duty status goes to the hos stream every
`hos_interval_s` whatever it is. Each (stream, state) cadence has its own random phase per vehicle. Drivers start
their shifts at depot-local morning hours (fleet_models.duty_cycle), depots sit in metros of several time zones,
so the three Kinesis streams of terraform/fleet_telematics see a daily peak and trough; `demand()` states both.
Vehicles move only while their driver is driving, drift around their depot's metro, burn fuel and refuel; engines
run hot and raise DTCs at realistic, configurable rates. State is a handful of numpy arrays, so memory stays flat
however long the run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fleet_models.demand import Demand, scenario_changes
from fleet_models.geography import METROS, bearing_deg, distance_km, move, scatter
from fleet_models.duty_cycle import BIN_S, STATES, WARM_UP_S, shift_starts_s, status_shares
from fleet_models.hos import DRIVING, ON_DUTY, STATUS_NAMES, HosFleet
from fleet_models.payloads import RecordBatch, fill, json_string_lists, keys
from fleet_models.periodic import PeriodicReporters

# The diagnostics record's vehicle_type enum (terraform/fleet_telematics/schemas/diagnostics_record.json).
VEHICLE_TYPES = ("tractor", "straight_truck", "box_truck", "van", "pickup", "bus")
VEHICLE_TYPE_SHARE = (0.45, 0.15, 0.2, 0.12, 0.05, 0.03)
VEHICLES_PER_FLEET = 400
VEHICLES_PER_DEPOT = 150
VEHICLES_PER_CUSTOMER_SITE = 100
VEHICLES_PER_RESTRICTED_ZONE = 1000
# Common OBD-II trouble codes: misfire, catalyst, lean, thermostat, EVAP leak (x2), EGR, idle control.
DTC_CODES = ("P0300", "P0420", "P0171", "P0128", "P0442", "P0455", "P0401", "P0507")
TANK_RANGE_KM = 1100.0

GPS_TEMPLATE = (b'{"vehicle_id":"VH%07d","ts":%d,"lat":%.6f,"lon":%.6f,"speed_kph":%.1f,'
                b'"heading_deg":%.1f}')
DIAGNOSTICS_TEMPLATE = (b'{"vehicle_id":"VH%07d","ts":%d,"rpm":%d,"coolant_temp_c":%.1f,"fuel_level_pct":%.1f,'
                        b'"speed_kph":%.1f,"dtc_codes":%s,"vehicle_type":"%s"}')
HOS_TEMPLATE = b'{"driver_id":"DR%07d","vehicle_id":"VH%07d","duty_status":"%s","ts":%d,"fleet_id":"FL%05d"}'
VEHICLE_KEY = "VH%07d"


@dataclass(frozen=True)
class Geofences:
    """Circular geofences as the geofences table holds them: depot yards and customer sites (watch) and
    restricted zones (low bridges, school zones), with their centres, radii and severities."""

    lat: np.ndarray
    lon: np.ndarray
    radius_m: np.ndarray
    fence_type: np.ndarray
    """`watch` or `restricted` per fence."""

    @classmethod
    def around(cls, depot_lat: np.ndarray, depot_lon: np.ndarray, metro_radius_km: np.ndarray, vehicles: int,
               rng: np.random.Generator) -> "Geofences":
        sites = max(1, vehicles // VEHICLES_PER_CUSTOMER_SITE)
        zones = max(1, vehicles // VEHICLES_PER_RESTRICTED_ZONE)
        anchor = rng.integers(0, depot_lat.size, sites + zones)
        lat, lon = scatter(depot_lat[anchor], depot_lon[anchor], metro_radius_km[anchor], rng)
        return cls(
            lat=np.concatenate([depot_lat, lat]),
            lon=np.concatenate([depot_lon, lon]),
            radius_m=np.concatenate([np.full(depot_lat.size, 300.0), rng.uniform(150, 500, sites),
                                     rng.uniform(50, 200, zones)]),
            fence_type=np.array(["watch"] * (depot_lat.size + sites) + ["restricted"] * zones),
        )

    def __len__(self) -> int:
        return self.lat.size

    def ids(self) -> list[str]:
        return [f"GF{i:06d}" for i in range(len(self))]


@dataclass(frozen=True)
class VehicleFleetConfig:
    """The fleet's size, report cadence per vehicle state, shift rhythm and rates; a profile fills it per env."""

    vehicles: int
    seed: int = 1
    gps_interval_s: float = 10.0
    """GPS while driving."""
    gps_on_duty_interval_s: float = 60.0
    gps_parked_interval_s: float = 900.0
    """The heartbeat of a parked unit (ignition off)."""
    diagnostics_interval_s: float = 15.0
    """OBD-II snapshots while driving; none while parked."""
    diagnostics_on_duty_interval_s: float = 60.0
    hos_interval_s: float = 60.0
    shift_start_hour: float = 7.0
    """Depot-local hour around which drivers start their shifts."""
    shift_start_spread_h: float = 1.5
    """Standard deviation of the drivers' shift starts around shift_start_hour."""
    violator_fraction: float = 0.02
    dtc_rate: float = 0.002
    overheating_fraction: float = 0.003
    start_epoch_ms: int = 1_767_600_000_000

    SCENARIO_KEYS = ("shift_start_hour", "shift_start_spread_h")
    """What a profile's [scenarios.NAME] may change: the fleet's rhythm, never its size."""

    @classmethod
    def from_profile(cls, seed: int, fleet: dict, streams: dict, scenario: dict | None = None) -> "VehicleFleetConfig":
        config = cls(
            vehicles=int(fleet["vehicles"]), seed=seed,
            gps_interval_s=float(streams["gps"]["interval_s"]),
            gps_on_duty_interval_s=float(streams["gps"]["on_duty_interval_s"]),
            gps_parked_interval_s=float(streams["gps"]["parked_interval_s"]),
            diagnostics_interval_s=float(streams["diagnostics"]["interval_s"]),
            diagnostics_on_duty_interval_s=float(streams["diagnostics"]["on_duty_interval_s"]),
            hos_interval_s=float(streams["hos"]["interval_s"]),
            shift_start_hour=float(fleet.get("shift_start_hour", 7.0)),
            shift_start_spread_h=float(fleet.get("shift_start_spread_h", 1.5)),
            violator_fraction=float(fleet.get("violator_fraction", 0.02)),
            dtc_rate=float(fleet.get("dtc_rate", 0.002)),
            overheating_fraction=float(fleet.get("overheating_fraction", 0.003)),
        )
        return replace(config, **{k: float(v) for k, v in scenario_changes(cls.SCENARIO_KEYS, scenario).items()})

    def cadence(self) -> dict[str, dict[str, float]]:
        """Report interval per stream and vehicle state (fleet_models.duty_cycle.STATES); a state missing from a
        stream sends it nothing."""
        return {"gps": {"driving": self.gps_interval_s, "on_duty": self.gps_on_duty_interval_s,
                        "parked": self.gps_parked_interval_s},
                "diagnostics": {"driving": self.diagnostics_interval_s,
                                "on_duty": self.diagnostics_on_duty_interval_s},
                "hos": dict.fromkeys(STATES, self.hos_interval_s)}

    def depot_metros(self) -> np.ndarray:
        """The metro (index into METROS) of each depot: depots are dealt to the metros in turn."""
        return np.arange(max(1, self.vehicles // VEHICLES_PER_DEPOT)) % len(METROS)

    def status_shares(self) -> np.ndarray:
        """Share of drivers per duty status per 15-minute bin of the day (fleet_models.duty_cycle)."""
        depots = self.depot_metros()
        per_depot = np.bincount(np.arange(self.vehicles) % depots.size, minlength=depots.size)
        weights = np.bincount(depots, weights=per_depot, minlength=len(METROS)) / self.vehicles
        return status_shares(tuple(weights.round(12)), self.shift_start_hour, self.shift_start_spread_h,
                             self.violator_fraction, self.start_epoch_ms, self.seed)

    def rates(self) -> dict[str, np.ndarray]:
        """Records per second per stream in each 15-minute bin of the day."""
        shares = self.status_shares()
        return {name: self.vehicles * sum(shares[list(STATES[state])].sum(axis=0) / interval
                                          for state, interval in by_state.items())
                for name, by_state in self.cadence().items()}

    @property
    def peak_time_s(self) -> float:
        """The middle of the day's busiest 15 minutes, all streams together: where generation starts."""
        total = sum(self.rates().values())
        return (int(np.argmax(total)) + 0.5) * BIN_S

    def demand(self) -> list[Demand]:
        """Records per second per stream: the day's mean, and its busiest 15 minutes (and when)."""
        return [Demand(name, "kinesis", float(rate.mean()), float(rate.max()), "vehicle_id",
                       (int(np.argmax(rate)) + 0.5) * BIN_S)
                for name, rate in self.rates().items()]

    def build(self) -> "VehicleFleet":
        return VehicleFleet(self)


class VehicleFleet:
    """The fleet's state; `generate(t0, t1)` emits the records due in [t0, t1) per stream."""

    streams = ("gps", "diagnostics", "hos")
    _type_names = np.array([t.encode() for t in VEHICLE_TYPES], dtype=object)

    def __init__(self, config: VehicleFleetConfig):
        self.config = config
        n = config.vehicles
        place, motion, diag, hos, phases, starts = (np.random.default_rng(s)
                                            for s in np.random.SeedSequence(config.seed).spawn(6))
        self.motion_rng, self.diag_rng = motion, diag
        self.vehicle_type = place.choice(len(VEHICLE_TYPES), n, p=VEHICLE_TYPE_SHARE)
        self.fleet_id = place.integers(0, max(1, n // VEHICLES_PER_FLEET), n)
        # Depots (yards) sit in the metros; each vehicle belongs to one and drifts around its metro.
        n_depots = max(1, n // VEHICLES_PER_DEPOT)
        depot_metro = config.depot_metros()
        radius = np.array([m.radius_km for m in METROS])[depot_metro]
        self.depots_lat, self.depots_lon = scatter(np.array([m.lat for m in METROS])[depot_metro],
                                                   np.array([m.lon for m in METROS])[depot_metro], radius * 0.5, place)
        self.depot = place.permutation(np.arange(n) % n_depots)
        self.metro_radius = radius[self.depot]
        self.depot_lat, self.depot_lon = self.depots_lat[self.depot], self.depots_lon[self.depot]
        self.lat, self.lon = scatter(self.depot_lat, self.depot_lon, np.full(n, 5.0), place)
        self.geofences = Geofences.around(self.depots_lat, self.depots_lon, radius, n, place)
        self.heading = place.uniform(0, 360, n)
        self.speed = np.zeros(n)
        self.fuel = place.uniform(30, 100, n)
        self.overheating = place.random(n) < config.overheating_fraction
        self.last_move = np.zeros(n)
        # Drivers start resting 36 h before t = 0, each shift opening around a depot-local morning hour, and are
        # run on to the fleet's busiest moment, where loadgen's drivers start generating.
        shift_start = shift_starts_s(depot_metro[self.depot], config.shift_start_hour, config.shift_start_spread_h,
                                     config.start_epoch_ms, starts)
        self.hos = HosFleet(n, hos, config.violator_fraction, start_s=-WARM_UP_S, shift_start_s=shift_start)
        self.hos_time = config.peak_time_s
        self.hos.warm_up(-WARM_UP_S, self.hos_time)
        self.last_move[:] = self.hos_time
        # One reporter set per (stream, vehicle state), each with its own phases: a vehicle reports on the one of
        # its current state.
        self.reporters = {name: [(STATES[state], PeriodicReporters(n, interval, phases))
                                 for state, interval in by_state.items()]
                          for name, by_state in config.cadence().items()}

    def partition_keys(self) -> dict[str, list[str]]:
        """Every partition key each stream can carry (one per vehicle)."""
        vehicles = keys(VEHICLE_KEY, np.arange(self.config.vehicles))
        return {name: vehicles for name in self.streams}

    def _advance_positions(self, idx: np.ndarray, t: np.ndarray) -> None:
        """Move the given vehicles from their last fix to time t along a jittered heading."""
        rng = self.motion_rng
        driving = self.hos.status[idx] == DRIVING
        elapsed_h = (t - self.last_move[idx]) / 3600.0
        speed = np.where(driving, np.clip(self.speed[idx] + rng.normal(0, 8, idx.size), 15, 105), 0.0)
        speed = np.where(driving & (self.speed[idx] == 0), rng.uniform(30, 70, idx.size), speed)
        heading = (self.heading[idx] + rng.normal(0, 20, idx.size)) % 360
        away = distance_km(self.lat[idx], self.lon[idx], self.depot_lat[idx], self.depot_lon[idx])
        home = bearing_deg(self.lat[idx], self.lon[idx], self.depot_lat[idx], self.depot_lon[idx])
        heading = np.where(away > self.metro_radius[idx], home, heading)
        step = speed * elapsed_h
        self.lat[idx], self.lon[idx] = move(self.lat[idx], self.lon[idx], step, heading)
        self.speed[idx], self.heading[idx], self.last_move[idx] = speed, heading, t
        self.fuel[idx] -= step / TANK_RANGE_KM * 100
        refuel = self.fuel[idx] < 12
        self.fuel[idx[refuel]] = rng.uniform(85, 100, int(refuel.sum()))

    def _epoch_ms(self, times: np.ndarray) -> np.ndarray:
        return self.config.start_epoch_ms + np.round(times * 1000).astype(np.int64)

    def _gps(self, idx: np.ndarray, times: np.ndarray) -> RecordBatch:
        self._advance_positions(idx, times)
        data = fill(GPS_TEMPLATE, (idx, self._epoch_ms(times), self.lat[idx], self.lon[idx], self.speed[idx],
                                   self.heading[idx]))
        return RecordBatch("gps", data, keys(VEHICLE_KEY, idx), times)

    def _diagnostics(self, idx: np.ndarray, times: np.ndarray) -> RecordBatch:
        rng = self.diag_rng
        status = self.hos.status[idx]
        running = (status == DRIVING) | ((status == ON_DUTY) & (rng.random(idx.size) < 0.5))
        speed = np.where(status == DRIVING, self.speed[idx], 0.0)
        rpm = np.where(status == DRIVING, 900 + speed * 14 + rng.normal(0, 80, idx.size),
                       np.where(running, rng.normal(700, 40, idx.size), 0.0))
        coolant = np.where(running, rng.normal(90, 2.5, idx.size) + np.where(self.overheating[idx], 22, 0),
                           rng.normal(25, 6, idx.size))
        picks = np.where(rng.random(idx.size) < self.config.dtc_rate, rng.integers(0, len(DTC_CODES), idx.size), -1)
        data = fill(DIAGNOSTICS_TEMPLATE, (idx, self._epoch_ms(times), np.maximum(rpm, 0).astype(np.int64),
                                           coolant, np.clip(self.fuel[idx], 0, 100), speed,
                                           json_string_lists(DTC_CODES, picks),
                                           self._type_names[self.vehicle_type[idx]]))
        return RecordBatch("diagnostics", data, keys(VEHICLE_KEY, idx), times)

    def _hos(self, idx: np.ndarray, times: np.ndarray) -> RecordBatch:
        names = np.array([s.encode() for s in STATUS_NAMES], dtype=object)[self.hos.status[idx]]
        data = fill(HOS_TEMPLATE, (idx, idx, names, self._epoch_ms(times), self.fleet_id[idx]))
        return RecordBatch("hos", data, keys(VEHICLE_KEY, idx), times)

    def _due(self, stream: str, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """(vehicles, intended times) of the stream's reports due in [t0, t1), each on its state's cadence."""
        parts = []
        for statuses, reporters in self.reporters[stream]:
            idx, times = reporters.due(t0, t1)
            keep = np.isin(self.hos.status[idx], statuses)
            parts.append((idx[keep], times[keep]))
        idx, times = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        order = np.argsort(times, kind="stable")
        return idx[order], times[order]

    def generate(self, t0: float, t1: float) -> dict[str, RecordBatch]:
        """Every record due in [t0, t1) of simulated time, per stream; a vehicle's state is its driver's duty
        status at t1 (slices are short next to duty segments). A jump forward in time runs the drivers there; a
        slice before the busiest moment (where the fleet starts) sees the drivers as they are."""
        if t0 - self.hos_time > 60.0:
            self.hos.warm_up(self.hos_time, t0)
            self.last_move[:] = t0
        self.hos.advance(t1)
        self.hos_time = max(self.hos_time, t1)
        makers = {"gps": self._gps, "diagnostics": self._diagnostics, "hos": self._hos}
        return {name: makers[name](*self._due(name, t0, t1)) for name in self.streams}


