"""234,000 commercial vehicles: GPS fixes, OBD-II diagnostics and HOS duty status, streamed in time slices.

Every vehicle reports GPS every `gps_interval_s`, diagnostics every `diagnostics_interval_s` and its driver's
duty status every `hos_interval_s`, each at its own random phase, so the three Kinesis streams of
terraform/fleet_telematics see constant rates of n / interval. Vehicles move only while their driver is
driving (see fleet_models.hos), drift around their depot's metro, burn fuel and refuel; engines run hot and
raise DTCs at realistic, configurable rates. State is a handful of numpy arrays, so memory stays flat however
long the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fleet_models.demand import Demand
from fleet_models.geography import METROS, bearing_deg, distance_km, move, scatter
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
WARM_UP_S = 36 * 3600.0

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
    """The fleet's size, report intervals and rates; a profile fills it per env."""

    vehicles: int
    seed: int = 1
    gps_interval_s: float = 10.0
    diagnostics_interval_s: float = 15.0
    hos_interval_s: float = 60.0
    violator_fraction: float = 0.02
    dtc_rate: float = 0.002
    overheating_fraction: float = 0.003
    start_epoch_ms: int = 1_767_600_000_000
    peak_time_s: float = 0.0
    """Where generation is busiest (rates are constant, so anywhere)."""

    @classmethod
    def from_profile(cls, seed: int, fleet: dict, streams: dict) -> "VehicleFleetConfig":
        return cls(
            vehicles=int(fleet["vehicles"]), seed=seed,
            gps_interval_s=float(streams["gps"]["interval_s"]),
            diagnostics_interval_s=float(streams["diagnostics"]["interval_s"]),
            hos_interval_s=float(streams["hos"]["interval_s"]),
            violator_fraction=float(fleet.get("violator_fraction", 0.02)),
            dtc_rate=float(fleet.get("dtc_rate", 0.002)),
            overheating_fraction=float(fleet.get("overheating_fraction", 0.003)),
        )

    def demand(self) -> list[Demand]:
        """Records per second per stream: constant, since every vehicle reports around the clock."""
        intervals = {"gps": self.gps_interval_s, "diagnostics": self.diagnostics_interval_s,
                     "hos": self.hos_interval_s}
        return [Demand(name, "kinesis", self.vehicles / i, self.vehicles / i, "vehicle_id")
                for name, i in intervals.items()]

    def build(self) -> "VehicleFleet":
        return VehicleFleet(self)


class VehicleFleet:
    """The fleet's state; `generate(t0, t1)` emits the records due in [t0, t1) per stream."""

    streams = ("gps", "diagnostics", "hos")
    _type_names = np.array([t.encode() for t in VEHICLE_TYPES], dtype=object)

    def __init__(self, config: VehicleFleetConfig):
        self.config = config
        n = config.vehicles
        place, motion, diag, hos, phases = (np.random.default_rng(s)
                                            for s in np.random.SeedSequence(config.seed).spawn(5))
        self.motion_rng, self.diag_rng = motion, diag
        self.vehicle_type = place.choice(len(VEHICLE_TYPES), n, p=VEHICLE_TYPE_SHARE)
        self.fleet_id = place.integers(0, max(1, n // VEHICLES_PER_FLEET), n)
        # Depots (yards) sit in the metros; each vehicle belongs to one and drifts around its metro.
        n_depots = max(1, n // VEHICLES_PER_DEPOT)
        depot_metro = place.integers(0, len(METROS), n_depots)
        radius = np.array([m.radius_km for m in METROS])[depot_metro]
        self.depots_lat, self.depots_lon = scatter(np.array([m.lat for m in METROS])[depot_metro],
                                                   np.array([m.lon for m in METROS])[depot_metro], radius * 0.5, place)
        self.depot = place.integers(0, n_depots, n)
        self.metro_radius = radius[self.depot]
        self.depot_lat, self.depot_lon = self.depots_lat[self.depot], self.depots_lon[self.depot]
        self.lat, self.lon = scatter(self.depot_lat, self.depot_lon, np.full(n, 5.0), place)
        self.geofences = Geofences.around(self.depots_lat, self.depots_lon, radius, n, place)
        self.heading = place.uniform(0, 360, n)
        self.speed = np.zeros(n)
        self.fuel = place.uniform(30, 100, n)
        self.overheating = place.random(n) < config.overheating_fraction
        self.last_move = np.zeros(n)
        # Drivers start 36 h before the run so the run opens with a realistic mix of shifts and rests.
        self.hos = HosFleet(n, hos, config.violator_fraction, start_s=-WARM_UP_S)
        self.hos.warm_up(-WARM_UP_S, 0.0)
        self.reporters = {
            "gps": PeriodicReporters(n, config.gps_interval_s, phases),
            "diagnostics": PeriodicReporters(n, config.diagnostics_interval_s, phases),
            "hos": PeriodicReporters(n, config.hos_interval_s, phases),
        }


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

    def generate(self, t0: float, t1: float) -> dict[str, RecordBatch]:
        """Every record due in [t0, t1) of simulated time, per stream."""
        self.hos.advance(t1)
        makers = {"gps": self._gps, "diagnostics": self._diagnostics, "hos": self._hos}
        return {name: makers[name](*self.reporters[name].due(t0, t1)) for name in self.streams}


