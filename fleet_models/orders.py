"""A food-delivery metro: restaurants, customers and drivers; orders with lunch and dinner peaks; driver GPS.

Orders arrive as a non-homogeneous Poisson process (fleet_models.arrivals) and pick their restaurant from a
Zipf-like popularity, so a few restaurants are hot, which is what stresses Kinesis partitioning by
restaurant_id. Each order becomes the exact POST /orders body of terraform/food_delivery/schemas/
order_request.json and the orders-stream record its order validator writes; its lifecycle (assigned,
picked_up, delivered) follows with realistic delays. Every driver reports GPS at a fixed interval to the
locations stream, partitioned by driver_id.

A profile's scenario may declare a game night (`GameNight`): on one weekday's evening window the metro's orders run
at orders_multiplier x their usual rate, and its drivers report their location every location_interval_s instead
(they are all out). The metro, its restaurants, customers and drivers stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fleet_models.arrivals import DAY_S, WEEK_S, WEEK_START_EPOCH_MS, Peak, RateShape, poisson_arrivals, week_grid
from fleet_models.demand import Demand, scenario_changes
from fleet_models.geography import METROS, bearing_deg, distance_km, move, scatter
from fleet_models.payloads import RecordBatch, fill, keys
from fleet_models.periodic import PeriodicReporters

# Lunch around 12:15 and dinner around 18:45, a quiet night, busier Friday to Sunday (Monday first).
MEAL_SHAPE = RateShape(
    base=0.25,
    peaks=(Peak(12.25, 1.0, 2.2), Peak(18.75, 1.4, 3.4)),
    weekday_factors=(0.85, 0.9, 0.95, 1.0, 1.2, 1.25, 1.1),
    start_hour_of_week=0.0,
)
STAGES = ("assigned", "picked_up", "delivered")
REGION_GRID = 4  # the metro is split into 4 x 4 pricing regions (surge zones)
ITEM_POOL = 1024
STREETS = (b"Main St", b"Oak Ave", b"Elm St", b"Commerce St", b"Ross Ave", b"Lamar St", b"Maple Ave")

ORDER_BODY_TEMPLATE = (
    b'{"client_request_id":"OR%012d","customer_id":"CU%07d","restaurant_id":"RS%05d","region":"%s",'
    b'"items":%s,"delivery_address":{"lat":%.6f,"lon":%.6f,"line1":"%d %s"},"payment_method_id":"PM%07d",'
    b'"tip":%.2f,"currency":"USD"}'
)
ORDER_RECORD_TEMPLATE = (
    b'{"client_request_id":"OR%012d","customer_id":"CU%07d","restaurant_id":"RS%05d","region":"%s",'
    b'"items":%s,"delivery_address":{"lat":%.6f,"lon":%.6f,"line1":"%d %s"},"payment_method_id":"PM%07d",'
    b'"tip":%.2f,"currency":"USD","order_id":"%s","status":"placed","subtotal":%.2f,"placed_at":"%s",'
    b'"schema_version":1}'
)
# The location processor's record (lambda/location_processor.py): status drives the GEO index, ts in epoch s.
LOCATION_TEMPLATE = (b'{"driver_id":"DV%06d","lat":%.6f,"lon":%.6f,"region":"%s","status":"%s","speed_kph":%.1f,'
                     b'"heading_deg":%.1f,"ts":%d}')
DRIVER_STATUSES = (b"available", b"on_delivery", b"offline")
AVAILABLE, ON_DELIVERY, OFFLINE = 0, 1, 2
OFFLINE_SHARE = 0.05
# The driver app reports pickup on the WebSocket sendmessage route (lambda/ws_connect.py); assignment comes from
# the matcher and delivery from the proof-of-delivery photo, so only picked_up is sent by the driver.
EVENT_TEMPLATE = b'{"action":"sendmessage","order_id":"%s","status":"picked_up"}'


@dataclass(frozen=True)
class GameNight:
    """An evening when the whole metro orders in (a profile scenario)."""

    weekday: int
    """1 = Monday (the week of the model's t = 0)."""
    start_hour: float
    end_hour: float
    orders_multiplier: float
    """Orders in the window run at this multiple of their usual rate."""
    location_interval_s: float
    """Drivers' location interval in the window."""

    def __post_init__(self) -> None:
        if not 1 <= self.weekday <= 7 or not 0 <= self.start_hour < self.end_hour <= 24:
            raise ValueError("weekday must be 1-7 and 0 <= start_hour < end_hour <= 24")

    def during(self, t: np.ndarray | float) -> np.ndarray:
        """Whether simulated times fall in the window (every week)."""
        hour_of_week = (np.asarray(t, dtype=float) % WEEK_S) / 3600.0
        day = (self.weekday - 1) * 24
        return (hour_of_week >= day + self.start_hour) & (hour_of_week < day + self.end_hour)

    @property
    def share_of_week(self) -> float:
        return (self.end_hour - self.start_hour) * 3600.0 / WEEK_S


@dataclass(frozen=True)
class OrdersConfig:
    """The metro's size and rates; a profile fills it per env."""

    restaurants: int
    drivers: int
    customers: int
    orders_per_day: float
    seed: int = 1
    location_interval_s: float = 4.0
    hot_restaurant_skew: float = 1.1
    metro: str = "dallas"
    start_epoch_ms: int = WEEK_START_EPOCH_MS
    game_night: GameNight | None = None

    @classmethod
    def from_profile(cls, seed: int, fleet: dict, streams: dict, scenario: dict | None = None) -> "OrdersConfig":
        config = cls(restaurants=int(fleet["restaurants"]), drivers=int(fleet["drivers"]),
                     customers=int(fleet["customers"]), orders_per_day=float(fleet["orders_per_day"]),
                     seed=seed, location_interval_s=float(streams["locations"]["interval_s"]),
                     hot_restaurant_skew=float(fleet.get("hot_restaurant_skew", 1.1)),
                     metro=str(fleet.get("metro", "dallas")))
        changes = scenario_changes(tuple(GameNight.__dataclass_fields__), scenario)
        return replace(config, game_night=GameNight(**changes)) if changes else config

    @property
    def mean_order_rate(self) -> float:
        return self.orders_per_day / 86400.0

    def order_shape(self, t: np.ndarray | float) -> np.ndarray:
        """The orders' rate multiplier at simulated times t: the meal shape, times the game night's in its window."""
        shape = MEAL_SHAPE(t)
        return shape if self.game_night is None else shape * np.where(
            self.game_night.during(np.atleast_1d(t)), self.game_night.orders_multiplier, 1.0)

    @property
    def peak_time_s(self) -> float:
        """Seconds after t = 0 of the week's busiest minute of orders (a weekend dinner, or the game night)."""
        grid = week_grid()
        return float(grid[int(np.argmax(self.order_shape(grid)))])

    def demand(self) -> list[Demand]:
        shape = self.order_shape(week_grid())
        mean, peak, at = (self.mean_order_rate * float(shape.mean()), self.mean_order_rate * float(shape.max()),
                          self.peak_time_s)
        locations = self.drivers / self.location_interval_s
        game = self.game_night
        location_mean = locations if game is None else (
            locations * (1 - game.share_of_week) + self.drivers / game.location_interval_s * game.share_of_week)
        location_peak = locations if game is None else max(locations, self.drivers / game.location_interval_s)
        location_at = 0.0 if game is None else ((game.weekday - 1) * DAY_S + game.start_hour * 3600.0)
        return [
            Demand("POST /orders", "api", mean, peak, None, at),
            Demand("orders", "kinesis", mean, peak, "restaurant_id", at),
            Demand("locations", "kinesis", location_mean, location_peak, "driver_id", location_at),
            Demand("order_events", "websocket", mean, peak, None, at),
        ]

    def build(self) -> "OrdersWorld":
        return OrdersWorld(self)


class OrdersWorld:
    """The metro's state; `generate(t0, t1)` emits what is due in [t0, t1) per stream and route."""

    streams = ("POST /orders", "orders", "locations", "order_events")

    def __init__(self, config: OrdersConfig):
        self.config = config
        place, arrivals, choice, motion, lifecycle, phases = (
            np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(6))
        self.arrival_rng, self.choice_rng, self.motion_rng, self.lifecycle_rng = arrivals, choice, motion, lifecycle
        metro = next((m for m in METROS if m.name == config.metro), METROS[0])
        self.metro = metro

        def around(n: int, spread: float):
            return scatter(np.full(n, metro.lat), np.full(n, metro.lon), np.full(n, metro.radius_km * spread), place)

        self.restaurant_lat, self.restaurant_lon = around(config.restaurants, 0.6)
        self.customer_lat, self.customer_lon = around(config.customers, 1.0)
        self.driver_lat, self.driver_lon = around(config.drivers, 0.8)
        self.driver_heading = place.uniform(0, 360, config.drivers)
        self.driver_speed = place.uniform(0, 50, config.drivers)
        self.driver_last = np.zeros(config.drivers)
        self.driver_status = np.where(place.random(config.drivers) < OFFLINE_SHARE, OFFLINE, AVAILABLE).astype(np.int8)
        popularity = 1.0 / np.arange(1, config.restaurants + 1) ** config.hot_restaurant_skew
        self.restaurant_cdf = np.cumsum(place.permutation(popularity))
        self.restaurant_cdf /= self.restaurant_cdf[-1]
        self.restaurant_region = self._regions(self.restaurant_lat, self.restaurant_lon)
        self.region_names = np.array([f"{metro.name[:3]}-{i:02d}".encode() for i in range(REGION_GRID ** 2)],
                                     dtype=object)
        self.item_pool, self.item_subtotals = self._item_pool(place)
        self.locations = PeriodicReporters(config.drivers, config.location_interval_s, phases)
        self.game_locations = (PeriodicReporters(config.drivers, config.game_night.location_interval_s, phases)
                               if config.game_night else None)
        self.next_order = 0
        # Lifecycle events still to come: due time, order sequence number, driver, stage index.
        self.pending = (np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int8))

    def partition_keys(self) -> dict[str, list[str]]:
        """Every partition key each Kinesis stream can carry: restaurants for orders, drivers for locations."""
        return {"orders": keys("RS%05d", np.arange(self.config.restaurants)),
                "locations": keys("DV%06d", np.arange(self.config.drivers))}

    def _regions(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        span = self.metro.radius_km / 111.32
        row = np.clip(((lat - self.metro.lat + span) / (2 * span) * REGION_GRID).astype(int), 0, REGION_GRID - 1)
        col = np.clip(((lon - self.metro.lon + span) / (2 * span) * REGION_GRID).astype(int), 0, REGION_GRID - 1)
        return row * REGION_GRID + col

    @staticmethod
    def _item_pool(rng: np.random.Generator) -> tuple[list[bytes], np.ndarray]:
        """A pool of basket JSON arrays (1-4 lines), reused across orders, with their subtotals."""
        pool, subtotals = [], np.empty(ITEM_POOL)
        for i in range(ITEM_POOL):
            lines = rng.integers(1, 5)
            quantity = rng.integers(1, 4, lines)
            price = np.round(rng.uniform(3, 28, lines), 2)
            items = ",".join(f'{{"item_id":"IT{rng.integers(0, 99999):05d}","quantity":{q},"unit_price":{p:.2f}}}'
                             for q, p in zip(quantity.tolist(), price.tolist()))
            pool.append(f"[{items}]".encode())
            subtotals[i] = float(np.round(np.sum(quantity * price), 2))
        return pool, subtotals

    def _epoch_ms(self, times: np.ndarray) -> np.ndarray:
        return self.config.start_epoch_ms + np.round(times * 1000).astype(np.int64)

    def _order_ids(self, seq: np.ndarray) -> list[bytes]:
        """Deterministic UUID-shaped order ids from the order sequence number and the seed."""
        h = seq.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(self.config.seed)
        return fill(b"%08x-%04x-4%03x-a%03x-%012x",
                    (h >> np.uint64(32), (h >> np.uint64(16)) & np.uint64(0xFFFF), (h >> np.uint64(4)) & np.uint64(0xFFF),
                     h & np.uint64(0xFFF), seq))

    def _orders(self, t0: float, t1: float) -> tuple[RecordBatch, RecordBatch]:
        rng = self.choice_rng
        times = poisson_arrivals(self.arrival_rng, self.config.mean_order_rate, self.config.order_shape, t0, t1)
        n = times.size
        seq = np.arange(self.next_order, self.next_order + n, dtype=np.int64)
        self.next_order += n
        restaurant = np.searchsorted(self.restaurant_cdf, rng.random(n))
        customer = rng.integers(0, self.config.customers, n)
        basket = rng.integers(0, ITEM_POOL, n)
        tip = np.round(rng.gamma(2.0, 2.0, n), 2)
        region = self.region_names[self.restaurant_region[restaurant]]
        items = [self.item_pool[b] for b in basket.tolist()]
        house = rng.integers(100, 9999, n)
        street = np.array(STREETS, dtype=object)[rng.integers(0, len(STREETS), n)]
        common = (seq, customer, restaurant, region, items, self.customer_lat[customer], self.customer_lon[customer],
                  house, street, customer, tip)
        bodies = fill(ORDER_BODY_TEMPLATE, common)
        order_ids = self._order_ids(seq)
        stamps = np.datetime_as_string(self._epoch_ms(times).astype("datetime64[ms]"), unit="s").tolist()
        placed = [s.encode() + b"Z" for s in stamps]
        records = fill(ORDER_RECORD_TEMPLATE, (*common, order_ids, self.item_subtotals[basket], placed))
        partition = keys("RS%05d", restaurant)
        self._schedule_lifecycle(times, seq, n)
        return (RecordBatch("POST /orders", bodies, partition, times),
                RecordBatch("orders", records, partition, times))

    def _schedule_lifecycle(self, times: np.ndarray, seq: np.ndarray, n: int) -> None:
        rng = self.lifecycle_rng
        assigned = times + rng.uniform(20, 120, n)
        picked = assigned + rng.uniform(8 * 60, 25 * 60, n)
        delivered = picked + rng.uniform(8 * 60, 30 * 60, n)
        online = np.nonzero(self.driver_status != OFFLINE)[0]
        driver = online[rng.integers(0, online.size, n)] if online.size else rng.integers(0, self.config.drivers, n)
        due, order_seq, drivers, stage = self.pending
        self.pending = (np.concatenate([due, assigned, picked, delivered]),
                        np.concatenate([order_seq, seq, seq, seq]),
                        np.concatenate([drivers, driver, driver, driver]),
                        np.concatenate([stage, np.zeros(n, np.int8), np.ones(n, np.int8), np.full(n, 2, np.int8)]))

    def _events(self, t0: float, t1: float) -> RecordBatch:
        due, order_seq, drivers, stage = self.pending
        now = due < t1
        self.pending = (due[~now], order_seq[~now], drivers[~now], stage[~now])
        order = np.argsort(due[now], kind="stable")
        times, seq, driver, st = due[now][order], order_seq[now][order], drivers[now][order], stage[now][order]
        self.driver_status[driver[st == STAGES.index("assigned")]] = ON_DELIVERY
        self.driver_status[driver[st == STAGES.index("delivered")]] = AVAILABLE
        picked = st == STAGES.index("picked_up")
        data = fill(EVENT_TEMPLATE, (self._order_ids(seq[picked]),))
        return RecordBatch("order_events", data, keys("DV%06d", driver[picked]), times[picked])

    def _locations(self, t0: float, t1: float) -> RecordBatch:
        game = self.config.game_night
        reporters = self.game_locations if game is not None and game.during(0.5 * (t0 + t1))[()] else self.locations
        idx, times = reporters.due(t0, t1)
        rng = self.motion_rng
        elapsed_h = (times - self.driver_last[idx]) / 3600.0
        speed = np.clip(self.driver_speed[idx] + rng.normal(0, 6, idx.size), 0, 70)
        heading = (self.driver_heading[idx] + rng.normal(0, 25, idx.size)) % 360
        lat0, lon0 = self.driver_lat[idx], self.driver_lon[idx]
        outside = distance_km(lat0, lon0, self.metro.lat, self.metro.lon) > self.metro.radius_km
        heading = np.where(outside, bearing_deg(lat0, lon0, self.metro.lat, self.metro.lon), heading)
        lat, lon = move(self.driver_lat[idx], self.driver_lon[idx], speed * elapsed_h, heading)
        self.driver_lat[idx], self.driver_lon[idx] = lat, lon
        self.driver_speed[idx], self.driver_heading[idx], self.driver_last[idx] = speed, heading, times
        region = self.region_names[self._regions(lat, lon)]
        status = np.array(DRIVER_STATUSES, dtype=object)[self.driver_status[idx]]
        data = fill(LOCATION_TEMPLATE, (idx, lat, lon, region, status, speed, heading,
                                        self._epoch_ms(times) // 1000))
        return RecordBatch("locations", data, keys("DV%06d", idx), times)

    def generate(self, t0: float, t1: float) -> dict[str, RecordBatch]:
        bodies, records = self._orders(t0, t1)
        return {"POST /orders": bodies, "orders": records, "locations": self._locations(t0, t1),
                "order_events": self._events(t0, t1)}
