"""120,000 rental units: properties, tenants, vendors, maintenance requests and the vendor status webhooks.

Units sit in properties (apartment communities of lognormal size) spread over a few metros; vendors have one
to three skills, a service radius, a workload cap and a rating. Tenants file maintenance requests as a
non-homogeneous Poisson process (mornings and evenings, quieter weekends, a fixed emergency share); each
request is the exact POST /request body of terraform/property_maintenance/schemas/maintenance_request.json.
Vendors report progress through POST /vendor/status, at the steady-state rate of two updates per request, on
the requests open when the run starts (`open_requests()`: the three days of requests filed before it, half of
them assigned, half in progress, each to the vendor `vendor_of` names): an assigned request moves to
in_progress, an in-progress one to completed, each update from the request's own vendor, every request of a
pool updated once before any is updated again (a repeat is the handler's idempotent duplicate). The run's
state is therefore consistent with the handler's rules as long as the open requests are in the table first.

A profile's scenario may add a metro-wide surge (`MetroSurge`, e.g. a freeze bursting pipes): a share of one
metro's units file requests within a few hours (a Gaussian pulse of unit_fraction x the metro's expected units,
95% of it within duration_h), with their own emergency share, and their vendors' two status updates each follow
vendor_lag_h later. The surge adds to the everyday shape; the portfolio itself (units, vendors) never changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fleet_models.arrivals import (DAY_S, WEEK_START_EPOCH_MS, Peak, Pulse, RateShape, poisson_arrivals,
                                   week_grid)
from fleet_models.demand import Demand, scenario_changes
from fleet_models.geography import METROS, scatter
from fleet_models.payloads import RecordBatch, fill

CATEGORIES = ("plumbing", "electrical", "hvac", "appliance", "locksmith", "pest", "general")
CATEGORY_SHARE = (0.32, 0.12, 0.18, 0.18, 0.05, 0.05, 0.10)
PRIORITIES = ("emergency", "high", "standard", "low")
DESCRIPTIONS = {
    "plumbing": ("Kitchen sink is leaking under the cabinet", "Toilet keeps running after flushing",
                 "Water heater is not producing hot water", "Bathroom drain is clogged and backing up"),
    "electrical": ("Outlet in the bedroom stopped working", "Breaker trips when the microwave runs",
                   "Ceiling light flickers constantly"),
    "hvac": ("Air conditioning is blowing warm air", "Furnace makes a loud banging noise",
             "Thermostat does not respond to changes"),
    "appliance": ("Refrigerator is not keeping food cold", "Dishwasher leaves water in the bottom",
                  "Oven does not heat to the set temperature"),
    "locksmith": ("Front door lock is jammed and will not turn", "Lost key, need the lock rekeyed"),
    "pest": ("Seeing cockroaches in the kitchen at night", "Mice droppings found in the pantry"),
    "general": ("Window screen is torn in the living room", "Closet door came off its track"),
}
# Tenants file in the morning and the evening; vendors work office hours; both quieter at weekends.
REQUEST_SHAPE = RateShape(base=0.35, peaks=(Peak(9.5, 1.6, 1.8), Peak(19.0, 1.6, 1.3)),
                          weekday_factors=(1.15, 1.05, 1.0, 1.0, 1.0, 0.85, 0.8))
VENDOR_SHAPE = RateShape(base=0.1, peaks=(Peak(10.0, 2.0, 2.0), Peak(15.0, 2.0, 1.8)),
                         weekday_factors=(1.1, 1.1, 1.1, 1.1, 1.1, 0.8, 0.7))

REQUEST_TEMPLATE = (b'{"tenant_id":"TN%07d","property_id":"PR%05d","unit_id":"UN%07d","category":"%s",'
                    b'"priority":"%s","description":"%s","location":{"lat":%.6f,"lon":%.6f},'
                    b'"contact":{"phone":"+1214555%04d","preferred_channel":"sms"}}')
STATUS_TEMPLATE = b'{"request_id":"RQ%010d","vendor_id":"VN%05d","status":"%s","occurred_at":"%s"}'


@dataclass(frozen=True)
class MetroSurge:
    """A one-off burst of requests from one metro's units (a profile scenario)."""

    metro: str
    unit_fraction: float
    """Share of the metro's units that file a request in the surge."""
    weekday: int
    """Day of the surge's peak, 1 = Monday (the week of the model's t = 0)."""
    hour: float
    """Hour of the surge's peak on that day (the model's clock)."""
    duration_h: float
    """95% of the surge's requests fall within this window around its peak."""
    emergency_fraction: float
    """Share of the surge's requests filed as emergencies."""
    vendor_lag_h: float
    """How much later the vendors' status updates on the surge's requests come (two per request)."""

    def __post_init__(self) -> None:
        if self.metro not in {m.name for m in METROS}:
            raise ValueError(f"metro {self.metro!r} is not one of {', '.join(m.name for m in METROS)}")
        if not 1 <= self.weekday <= 7 or not 0 <= self.hour < 24:
            raise ValueError("weekday must be 1-7 and hour within 0-24")

    def requests(self, units: int) -> Pulse:
        """The surge's requests: the metro's expected units (properties are dealt to the metros evenly at random)
        x unit_fraction."""
        centre = (self.weekday - 1) * DAY_S + self.hour * 3600.0
        return Pulse(self.unit_fraction * units / len(METROS), centre, self.duration_h * 3600.0 / 4)

    def status_updates(self, units: int) -> Pulse:
        """The vendors' updates on the surge's requests: two per request, vendor_lag_h later."""
        pulse = self.requests(units)
        return replace(pulse, count=2 * pulse.count, centre_s=pulse.centre_s + self.vendor_lag_h * 3600.0)


@dataclass(frozen=True)
class UnitsConfig:
    """The portfolio's size and rates; a profile fills it per env."""

    units: int
    vendors: int
    requests_per_unit_per_year: float
    seed: int = 1
    emergency_fraction: float = 0.08
    high_fraction: float = 0.17
    low_fraction: float = 0.15
    mean_units_per_property: float = 40.0
    start_epoch_ms: int = WEEK_START_EPOCH_MS
    surge: MetroSurge | None = None

    @classmethod
    def from_profile(cls, seed: int, fleet: dict, streams: dict, scenario: dict | None = None) -> "UnitsConfig":
        config = cls(units=int(fleet["units"]), vendors=int(fleet["vendors"]),
                     requests_per_unit_per_year=float(fleet["requests_per_unit_per_year"]), seed=seed,
                     emergency_fraction=float(fleet.get("emergency_fraction", 0.08)))
        changes = scenario_changes(tuple(MetroSurge.__dataclass_fields__), scenario)
        return replace(config, surge=MetroSurge(**changes)) if changes else config

    def __post_init__(self) -> None:
        for emergency in (self.emergency_fraction, *([self.surge.emergency_fraction] if self.surge else [])):
            if emergency + self.high_fraction + self.low_fraction > 1:
                raise ValueError(f"emergency_fraction {emergency} + high {self.high_fraction} + low "
                                 f"{self.low_fraction} exceed 1")

    @property
    def mean_request_rate(self) -> float:
        return self.units * self.requests_per_unit_per_year / (365.0 * 86400.0)

    def rates(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """Requests per second per route at simulated times t: the everyday shapes plus the surge, if any."""
        rate = self.mean_request_rate
        rates = {"POST /request": rate * REQUEST_SHAPE(t), "POST /vendor/status": 2 * rate * VENDOR_SHAPE(t)}
        if self.surge is not None:
            rates["POST /request"] = rates["POST /request"] + self.surge.requests(self.units).rate(t)
            rates["POST /vendor/status"] = rates["POST /vendor/status"] + self.surge.status_updates(self.units).rate(t)
        return rates

    @property
    def peak_time_s(self) -> float:
        """The week's busiest minute of requests (what every hot path but the vendor webhooks follows)."""
        grid = week_grid()
        return float(grid[int(np.argmax(self.rates(grid)["POST /request"]))])

    def demand(self) -> list[Demand]:
        """Per route: the week's mean (the surge's requests included) and its busiest minute."""
        grid = week_grid()
        return [Demand(name, "api", float(rate.mean()), float(rate.max()), None, float(grid[int(np.argmax(rate))]))
                for name, rate in self.rates(grid).items()]

    def build(self) -> "Portfolio":
        return Portfolio(self)


class Portfolio:
    """Units, vendors and tenants; `generate(t0, t1)` emits the API calls due in [t0, t1)."""

    streams = ("POST /request", "POST /vendor/status")

    def __init__(self, config: UnitsConfig):
        self.config = config
        place, requests, choice, status = (np.random.default_rng(s)
                                           for s in np.random.SeedSequence(config.seed).spawn(4))
        self.request_rng, self.choice_rng, self.status_rng = requests, choice, status
        sizes = np.maximum(1, place.lognormal(np.log(config.mean_units_per_property), 0.9,
                                              int(config.units / config.mean_units_per_property * 1.2)))
        bounds = np.cumsum(sizes).astype(np.int64)
        self.unit_property = np.searchsorted(bounds, np.arange(config.units), side="right")
        n_properties = int(self.unit_property.max()) + 1
        metro = place.integers(0, len(METROS), n_properties)
        lat_c, lon_c = np.array([m.lat for m in METROS])[metro], np.array([m.lon for m in METROS])[metro]
        radius = np.array([m.radius_km for m in METROS])[metro]
        self.property_lat, self.property_lon = scatter(lat_c, lon_c, radius, place)
        self.unit_lat = self.property_lat[self.unit_property]
        self.unit_lon = self.property_lon[self.unit_property]
        surge_metro = [m.name for m in METROS].index(config.surge.metro) if config.surge else -1
        self.surge_units = np.flatnonzero(metro[self.unit_property] == surge_metro)  # the surge's metro's units
        vendor_metro = place.integers(0, len(METROS), config.vendors)
        self.vendor_lat, self.vendor_lon = scatter(
            np.array([m.lat for m in METROS])[vendor_metro], np.array([m.lon for m in METROS])[vendor_metro],
            np.array([m.radius_km for m in METROS])[vendor_metro], place)
        skill_count = place.integers(1, 4, config.vendors)
        ranked = np.argsort(place.random((config.vendors, len(CATEGORIES))) / np.asarray(CATEGORY_SHARE), axis=1)
        self.vendor_skills = np.zeros((config.vendors, len(CATEGORIES)), dtype=bool)
        rows = np.repeat(np.arange(config.vendors), skill_count)
        cols = ranked[np.arange(config.vendors)[:, None], np.arange(3)[None, :]][
            np.arange(3)[None, :] < skill_count[:, None]]
        self.vendor_skills[rows, cols] = True
        self.vendor_radius_km = place.uniform(10, 40, config.vendors)
        self.vendor_max_jobs = place.integers(3, 13, config.vendors)
        self.vendor_rating = np.round(place.uniform(3.0, 5.0, config.vendors), 2)
        self.descriptions = [np.array([d.encode() for d in DESCRIPTIONS[c]], dtype=object) for c in CATEGORIES]
        self.next_request = 0
        # Requests filed before the run (three days of them) are what the status updates refer to: the first
        # half assigned (their next update: in_progress), the second half in progress (next: completed).
        self.updated = {b"in_progress": 0, b"completed": 0}
        self.history = max(1, int(self.config.mean_request_rate * 3 * 86400))

    def partition_keys(self) -> dict[str, list[str]]:
        """The portfolio feeds no Kinesis stream."""
        return {}

    def _requests(self, t0: float, t1: float) -> RecordBatch:
        rng, c = self.choice_rng, self.config
        times = poisson_arrivals(self.request_rng, c.mean_request_rate, REQUEST_SHAPE, t0, t1)
        unit = rng.integers(0, c.units, times.size)
        emergency = np.full(times.size, c.emergency_fraction)
        if c.surge is not None:
            surge = c.surge.requests(c.units).arrivals(self.request_rng, t0, t1)
            times = np.concatenate([times, surge])
            unit = np.concatenate([unit, self.surge_units[rng.integers(0, self.surge_units.size, surge.size)]])
            emergency = np.concatenate([emergency, np.full(surge.size, c.surge.emergency_fraction)])
            order = np.argsort(times, kind="stable")
            times, unit, emergency = times[order], unit[order], emergency[order]
        n = times.size
        self.next_request += n
        category = rng.choice(len(CATEGORIES), n, p=CATEGORY_SHARE)
        # priority: emergency below its share, then high, standard, low
        draw = rng.random(n)
        priority = ((draw >= emergency).astype(int) + (draw >= emergency + c.high_fraction)
                    + (draw >= 1 - c.low_fraction))
        pick = rng.random(n)
        descriptions = [self.descriptions[k][int(p * len(self.descriptions[k]))]
                        for k, p in zip(category.tolist(), pick.tolist())]
        names = np.array([x.encode() for x in CATEGORIES], dtype=object)
        levels = np.array([x.encode() for x in PRIORITIES], dtype=object)
        data = fill(REQUEST_TEMPLATE, (unit, self.unit_property[unit], unit, names[category], levels[priority],
                                       descriptions, self.unit_lat[unit], self.unit_lon[unit], unit % 10000))
        return RecordBatch("POST /request", data, [f"UN{u:07d}" for u in unit.tolist()], times)

    def vendor_of(self, request: np.ndarray) -> np.ndarray:
        """The vendor an open request is assigned to (a fixed hash of its number)."""
        return (np.asarray(request, dtype=np.int64) * 2654435761) % self.config.vendors

    def _pool(self, status: bytes) -> tuple[int, int]:
        """(first request number, size) of the open requests whose next update is `status`."""
        half = max(1, self.history // 2)
        return (0, half) if status == b"in_progress" else (half, max(1, self.history - half))

    def primed_state(self, route: str) -> list[dict]:
        """DynamoDB items a route's requests refer to, to be in its state table before the run."""
        return self.open_requests() if route == "POST /vendor/status" else []

    def open_requests(self) -> list[dict]:
        """The requests open when the run starts, as DynamoDB items of the requests table (what the status
        updates refer to): request number r, its vendor, status and version."""
        items = []
        for status, before, version in ((b"in_progress", "assigned", 1), (b"completed", "in_progress", 2)):
            first, size = self._pool(status)
            numbers = np.arange(first, first + size)
            for r, v, u in zip(numbers.tolist(), self.vendor_of(numbers).tolist(), (numbers % self.config.units).tolist()):
                items.append({"request_id": {"S": f"RQ{r:010d}"}, "vendor_id": {"S": f"VN{v:05d}"},
                              "status": {"S": before}, "version": {"N": str(version)},
                              "unit_id": {"S": f"UN{u:07d}"}, "property_id": {"S": f"PR{self.unit_property[u]:05d}"},
                              "priority": {"S": "standard"}, "category": {"S": "plumbing"}})
        return items

    def _status_updates(self, t0: float, t1: float) -> RecordBatch:
        rng = self.status_rng
        times = poisson_arrivals(rng, 2 * self.config.mean_request_rate, VENDOR_SHAPE, t0, t1)
        if self.config.surge is not None:
            surge = self.config.surge.status_updates(self.config.units).arrivals(rng, t0, t1)
            times = np.sort(np.concatenate([times, surge]))
        n = times.size
        status = np.where(rng.random(n) < 0.5, b"in_progress", b"completed").astype(object)
        request = np.empty(n, dtype=np.int64)
        for kind in (b"in_progress", b"completed"):
            mask = status == kind
            first, size = self._pool(kind)
            k = int(mask.sum())
            request[mask] = first + (self.updated[kind] + np.arange(k)) % size
            self.updated[kind] += k
        vendor = self.vendor_of(request)
        stamps = np.datetime_as_string(
            (self.config.start_epoch_ms + np.round(times * 1000).astype(np.int64)).astype("datetime64[ms]"),
            unit="s").tolist()
        data = fill(STATUS_TEMPLATE, (request, vendor, status, [s.encode() + b"Z" for s in stamps]))
        return RecordBatch("POST /vendor/status", data, [f"RQ{r:010d}" for r in request.tolist()], times)

    def generate(self, t0: float, t1: float) -> dict[str, RecordBatch]:
        return {"POST /request": self._requests(t0, t1), "POST /vendor/status": self._status_updates(t0, t1)}
