"""`loadgen bench geo`: the stacks' Redis GEO queries on a real server, with GEORADIUS and GEOSEARCH side by side.

The members are the stack's world from fleet_models, loaded with pipelined GEOADD under the keys the handlers
use: vendors in `vendors:geo` (property_maintenance, searched around a unit within the priority rule's
radius), geofence centres in `geo:geofences` and every vehicle in `geo:vehicles` (fleet_telematics, fences
searched around each GPS fix), online drivers in `{<region>}:drivers:geo` (food_delivery, searched around a
restaurant within the matcher's radius). Radii and counts are read from the stack's Terraform locals, never
copied (a bench may set others, to see what the radius and COUNT cost). Each query runs as GEORADIUS (deprecated
since Redis 6.2) and as GEOSEARCH, as two hot paths.
When redis-benchmark is on PATH, the same query at the same concurrency gives the ratio of our throughput to it.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from typing import Callable
from urllib.parse import urlparse

import numpy as np
import redis.asyncio as aioredis

from fleet_models.orders import OrdersWorld
from fleet_models.units import Portfolio
from fleet_models.vehicles import VehicleFleet
from loadgen.drive.prepared import Finished, PreparedOperation, run_prepared
from loadgen.errors import LoadgenError
from loadgen.hot_paths import of_kind
from loadgen.drive.resp_client import RespPool, encode
from loadgen.run_context import RunContext
from loadgen.measure.run_summary import HotPathResult
from loadgen.drive.scheduler import ClosedLoop, clock, run_closed_loop
from loadgen.measure.staged_recorder import StagedRecorder

GEOADD_CHUNK = 2000
REDIS_BENCHMARK_SECONDS = 3.0


@dataclass(frozen=True)
class GeoWorkload:
    """Members to load and the queries a domain's handlers run against them."""

    members: dict[str, tuple[np.ndarray, np.ndarray, list[str]]]
    """GEO key -> (lon, lat, member ids)."""
    query_keys: list[str]
    query_lon: np.ndarray
    query_lat: np.ndarray
    radius_km: float
    count: int

    def georadius(self, i: int) -> tuple:
        j = i % len(self.query_keys)
        return ("GEORADIUS", self.query_keys[j], float(self.query_lon[j]), float(self.query_lat[j]), self.radius_km,
                "km", "WITHDIST", "COUNT", self.count, "ASC")

    def geosearch(self, i: int) -> tuple:
        j = i % len(self.query_keys)
        return ("GEOSEARCH", self.query_keys[j], "FROMLONLAT", float(self.query_lon[j]), float(self.query_lat[j]),
                "BYRADIUS", self.radius_km, "km", "ASC", "COUNT", self.count, "WITHDIST")


def _local_number(ctx: RunContext, path: list[str]) -> float:
    value = ctx.resolved.scope.local(path[0])
    for key in path[1:]:
        value = value.get(key) if isinstance(value, dict) else None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise LoadgenError(f"{ctx.resolved.stack.path}/tap_stack.tf: local.{'.'.join(path)} does not resolve to a "
                           "number; the GEO bench reads its radius from there") from None


def _ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:07d}" for i in range(n)]


def _vendors_around_units(ctx: RunContext, rng: np.random.Generator) -> GeoWorkload:
    world: Portfolio = ctx.profile.model()
    n = world.config.vendors
    origins = rng.integers(0, world.config.units, 4096)
    return GeoWorkload(
        {"vendors:geo": (world.vendor_lon, world.vendor_lat, [f"VN{i:05d}" for i in range(n)])},
        ["vendors:geo"], world.unit_lon[origins], world.unit_lat[origins],
        _local_number(ctx, ["priority_rules", "standard", "max_distance_km"]), 25)


def _geofences_around_vehicles(ctx: RunContext, rng: np.random.Generator) -> GeoWorkload:
    fleet: VehicleFleet = ctx.profile.model()
    fences = fleet.geofences
    origins = rng.integers(0, fleet.config.vehicles, 4096)
    return GeoWorkload(
        {"geo:geofences": (fences.lon, fences.lat, fences.ids()),
         "geo:vehicles": (fleet.lon, fleet.lat, _ids("VH", fleet.config.vehicles))},
        ["geo:geofences"], fleet.lon[origins], fleet.lat[origins], float(fences.radius_m.max()) / 1000.0, 50)


def _drivers_around_restaurants(ctx: RunContext, rng: np.random.Generator) -> GeoWorkload:
    world: OrdersWorld = ctx.profile.model()
    region = world._regions(world.driver_lat, world.driver_lon)
    names = [n.decode() for n in world.region_names]
    members = {}
    for r, name in enumerate(names):
        mask = region == r
        if mask.any():
            members[f"{{{name}}}:drivers:geo"] = (world.driver_lon[mask], world.driver_lat[mask],
                                                  [f"DV{i:06d}" for i in np.nonzero(mask)[0].tolist()])
    origins = rng.integers(0, world.config.restaurants, 4096)
    keys = [f"{{{names[r]}}}:drivers:geo" for r in world.restaurant_region[origins].tolist()]
    return GeoWorkload(members, keys, world.restaurant_lon[origins],
                       world.restaurant_lat[origins], _local_number(ctx, ["match_config", "max_radius_km"]), 50)


WORKLOADS: dict[str, Callable[[RunContext, np.random.Generator], GeoWorkload]] = {
    "units": _vendors_around_units,
    "vehicles": _geofences_around_vehicles,
    "orders": _drivers_around_restaurants,
}
"""The GEO members and queries of each domain's handlers (keyed by the profile's domain, never by stack)."""


def workload(ctx: RunContext, radius_km: float | None = None, count: int | None = None) -> GeoWorkload:
    """The domain's GEO workload; `radius_km` and `count` replace the handlers' radius and COUNT when given."""
    if ctx.profile.domain not in WORKLOADS:
        raise LoadgenError(f"domain '{ctx.profile.domain}' has no GEO workload; known: {', '.join(sorted(WORKLOADS))}")
    work = WORKLOADS[ctx.profile.domain](ctx, np.random.default_rng(ctx.profile.seed))
    return replace(work, radius_km=work.radius_km if radius_km is None else radius_km,
                   count=work.count if count is None else count)


SERVER_GEO_METRIC = "GeoSpatialBasedCmdsLatency"
SERVER_GEO_OBSERVED_AS = ("the server's own microseconds per GEO command over the run (INFO commandstats, every "
                          "client's GEO commands: what ElastiCache's GeoSpatialBasedCmdsLatency reports)")


def geo_totals(commandstats: dict) -> tuple[int, int]:
    """(calls, microseconds) the server has spent on GEO commands so far, from its INFO commandstats."""
    geo = [v for k, v in commandstats.items() if str(k).startswith("cmdstat_geo") and isinstance(v, dict)]
    return sum(int(v.get("calls", 0)) for v in geo), sum(int(v.get("usec", 0)) for v in geo)


def server_geo_latency(before: tuple[int, int], after: tuple[int, int]) -> dict[str, tuple[float, str]]:
    """The run's GeoSpatialBasedCmdsLatency as the server measured it (microseconds per GEO command between two
    geo_totals readings), as HotPathResult.measured; empty when no GEO command ran."""
    calls, usec = (a - b for a, b in zip(after, before))
    return {SERVER_GEO_METRIC: (usec / calls, SERVER_GEO_OBSERVED_AS)} if calls > 0 else {}


async def geo_command_stats(client: aioredis.Redis) -> tuple[int, int]:
    """(calls, microseconds) the server has spent on GEO commands so far, from INFO commandstats."""
    return geo_totals(await client.info("commandstats"))


async def load_members(client: aioredis.Redis, work: GeoWorkload) -> int:
    """Replace the GEO keys with the workload's members, pipelined GEOADD; returns members loaded."""
    loaded = 0
    async with client.pipeline(transaction=False) as pipe:
        for key, (lon, lat, ids) in work.members.items():
            pipe.delete(key)
            for start in range(0, len(ids), GEOADD_CHUNK):
                chunk = slice(start, start + GEOADD_CHUNK)
                flat = [v for triple in zip(lon[chunk].tolist(), lat[chunk].tolist(), ids[chunk]) for v in triple]
                pipe.execute_command("GEOADD", key, *flat)
                loaded += len(ids[chunk])
            await pipe.execute()
    return loaded


async def load_workload(ctx: RunContext) -> int:
    """The stack's GEO members loaded on the target's Redis, before another client queries them (`loadgen
    locust`); returns members loaded."""
    client = aioredis.from_url(ctx.target.redis_url, decode_responses=False)
    try:
        return await load_members(client, workload(ctx))
    finally:
        await client.aclose()


def redis_benchmark_rps(url: str, command: tuple, concurrency: int, requests: int) -> float | None:
    """Throughput redis-benchmark reaches for the same command and concurrency, or None when absent."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return None
    parsed = urlparse(url)
    args = [binary, "-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 6379), "-c", str(concurrency),
            "-n", str(requests), "-q", "--csv", *map(str, command)]
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    numbers = re.findall(r'"([\d.]+)"', out.strip().splitlines()[-1]) if out.strip() else []
    return float(numbers[0]) if numbers else None


async def run_geo_bench(ctx: RunContext, duration_s: float, rate: float | None, concurrency: int,
                        watch=None, radius_km: float | None = None, count: int | None = None) -> list[HotPathResult]:
    """GEORADIUS and GEOSEARCH for duration_s each on the stack's members (with the handlers' radius and COUNT, or
    the given ones); rate None = closed loop (max), which also compares the query's throughput with
    redis-benchmark's."""
    declared = of_kind(ctx.hot_paths, "redis_geo", ctx.stack).name
    results = []
    for command in ("georadius", "geosearch"):
        prepared = await prepare_geo_search(ctx, concurrency, command, compare_with_redis_benchmark=rate is None,
                                            radius_km=radius_km, count=count)
        results.append(await run_prepared(prepared, f"{declared}_{command}", declared, rate, duration_s, watch))
    return results


async def _compare_with_redis_benchmark(pool: RespPool, ctx: RunContext, build: Callable[[int], tuple],
                                        concurrency: int) -> dict:
    """Same query (the first origin), same server, same concurrency: ours in closed loop, then redis-benchmark."""
    if shutil.which("redis-benchmark") is None:
        return {}
    fixed = StagedRecorder("fixed", [0.0], REDIS_BENCHMARK_SECONDS)
    payload = encode(*build(0))

    async def op(i: int) -> bool:
        await pool.call(payload)
        return True

    ours = await run_closed_loop(op, ClosedLoop(concurrency, REDIS_BENCHMARK_SECONDS), fixed)
    requests = max(1000, int(ours.achieved_rate * REDIS_BENCHMARK_SECONDS))
    theirs = await asyncio.to_thread(redis_benchmark_rps, ctx.target.redis_url, build(0), concurrency, requests)
    if not theirs:
        return {}
    return {"fixed_query_rps": round(ours.achieved_rate, 1), "redis_benchmark_rps": theirs,
            "redis_benchmark_ratio": round(ours.achieved_rate / theirs, 3)}


async def prepare_geo_search(ctx: RunContext, concurrency: int, command: str = "geosearch",
                             compare_with_redis_benchmark: bool = False, radius_km: float | None = None,
                             count: int | None = None) -> PreparedOperation:
    """The `redis_geo` driver: the stack's members loaded with pipelined GEOADD, then one GEO query per
    operation (GEOSEARCH as the handlers run it, or GEORADIUS; the handlers' radius and COUNT unless given) on a
    lean pooled connection. With `compare_with_redis_benchmark`, `finish` also runs the same query closed loop and
    through redis-benchmark."""
    work = workload(ctx, radius_km, count)
    build = {"geosearch": work.geosearch, "georadius": work.georadius}[command]
    client = aioredis.from_url(ctx.target.redis_url, decode_responses=False)
    try:
        began = clock()
        loaded = await load_members(client, work)
        load_s = clock() - began
        before = await geo_command_stats(client)
    finally:
        await client.aclose()
    pool = await RespPool.connect(ctx.target.redis_url, concurrency)
    payloads = [encode(*build(i)) for i in range(len(work.query_keys))]

    async def op(i: int) -> bool:
        await pool.call(payloads[i % len(payloads)])
        return True

    async def finish(elapsed_s: float) -> Finished:
        extra = {"command": command.upper(), "radius_km": work.radius_km, "count": work.count,
                 "members_loaded": loaded, "load_s": round(load_s, 3),
                 "members_per_s": round(loaded / load_s, 1) if load_s > 0 else None}
        stats = aioredis.from_url(ctx.target.redis_url, decode_responses=False)
        try:
            after = await geo_command_stats(stats)
        finally:
            await stats.aclose()
        measured = server_geo_latency(before, after)
        if measured:
            extra["server_geo_calls"] = after[0] - before[0]
        if compare_with_redis_benchmark:
            extra.update(await _compare_with_redis_benchmark(pool, ctx, build, concurrency))
        return Finished(extra, {}, measured)

    return PreparedOperation(op, concurrency, finish, pool.close)
