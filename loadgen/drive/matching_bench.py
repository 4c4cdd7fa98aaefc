"""`loadgen bench matching`: per-assignment latency of the matching core the Lambda handlers ship.

One operation is one assignment as the handler makes it: the GEO query for candidates on the real Redis,
their workload (and, for food delivery, the region's surge multiplier from the `surge:multipliers` sorted set),
the decision by the shared core in loadgen.matching, and the workload increment of the winner. The rules are
the stack's own: property_maintenance's priority matrix (local.priority_rules) and food_delivery's match
configuration (local.match_config), read from Terraform. Requests and orders come from fleet_models at the
profile's rate (open loop) unless --rate or --max say otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

import numpy as np
import redis.asyncio as aioredis

from fleet_models.units import CATEGORIES, PRIORITIES
from loadgen.drive.prepared import Finished, PreparedOperation, run_prepared
from loadgen.errors import LoadgenError
from loadgen.hot_paths import of_kind
from loadgen.drive.geo_bench import GeoWorkload, load_members, workload
from loadgen.matching.driver_matching import DriverCandidate, MatchWeights, choose_driver
from loadgen.matching.vendor_assignment import PriorityRule, VendorCandidate, choose_vendor
from loadgen.drive.resp_client import RespPool, encode
from loadgen.run_context import RunContext
from loadgen.measure.run_summary import HotPathResult

WORKLOAD_KEY = {"units": "bench:vendor_jobs", "orders": "bench:driver_orders"}
"""Per domain, the hash of active jobs per candidate the matcher reads and increments."""
SURGE_KEY = "surge:multipliers"
ORIGINS = 4096


@dataclass
class Outcomes:
    """How the assignments of a run ended."""

    assigned: int = 0
    unassigned: int = 0


Assign = Callable[[RespPool, int], Awaitable[bool]]
Matcher = tuple[GeoWorkload, Assign, dict[str, float]]
"""The GEO members to load, one assignment, and the surge multiplier per zone to seed (empty: no surge)."""


def _rules(ctx: RunContext) -> dict[str, PriorityRule]:
    rules = ctx.resolved.scope.local("priority_rules")
    if not isinstance(rules, dict):
        raise LoadgenError(f"{ctx.resolved.stack.path}/tap_stack.tf: local.priority_rules does not resolve")
    return {name: PriorityRule(name, float(r["max_distance_km"]), float(r["distance_weight"]),
                               float(r["workload_weight"]), float(r["rating_weight"]),
                               int(float(r["response_sla_minutes"])))
            for name, r in rules.items()}


def _vendor_matcher(ctx: RunContext, rng: np.random.Generator, outcomes: Outcomes) -> Matcher:
    work = workload(ctx)
    world = ctx.profile.model()
    rules = _rules(ctx)
    categories = rng.integers(0, len(CATEGORIES), ORIGINS)
    priorities = rng.choice(len(PRIORITIES), ORIGINS, p=(0.08, 0.17, 0.6, 0.15))
    queries = [encode("GEOSEARCH", "vendors:geo", "FROMLONLAT", float(work.query_lon[i]), float(work.query_lat[i]),
                      "BYRADIUS", rules[PRIORITIES[priorities[i]]].max_distance_km, "km", "ASC", "COUNT",
                      work.count, "WITHDIST") for i in range(ORIGINS)]
    skills = [frozenset(CATEGORIES[c] for c in np.nonzero(row)[0]) for row in world.vendor_skills]
    key = WORKLOAD_KEY[ctx.profile.domain]

    async def assign(pool: RespPool, i: int) -> bool:
        j = i % ORIGINS
        hits = await pool.call(queries[j])
        if not hits:
            outcomes.unassigned += 1
            return True
        ids = [h[0] for h in hits]
        jobs = await pool.call(encode("HMGET", key, *ids))
        candidates = []
        for (member, distance), active in zip(hits, jobs):
            v = int(member[2:])
            candidates.append(VendorCandidate(member.decode(), skills[v], float(distance), int(active or 0),
                                              int(world.vendor_max_jobs[v]), float(world.vendor_rating[v])))
        chosen = choose_vendor(CATEGORIES[categories[j]], rules[PRIORITIES[priorities[j]]], candidates)
        if chosen is None:
            outcomes.unassigned += 1
            return True
        await pool.call(encode("HINCRBY", key, chosen.vendor_id, 1))
        outcomes.assigned += 1
        return True

    return work, assign, {}


def _driver_matcher(ctx: RunContext, rng: np.random.Generator, outcomes: Outcomes) -> Matcher:
    work = workload(ctx)
    config = ctx.resolved.scope.local("match_config")
    if not isinstance(config, dict):
        raise LoadgenError(f"{ctx.resolved.stack.path}/tap_stack.tf: local.match_config does not resolve")
    weights = MatchWeights(float(config["distance_weight"]), float(config["workload_weight"]),
                           float(config["rating_weight"]), float(config["max_radius_km"]))
    max_orders = int(float(config["max_active_orders"]))
    ratings = np.round(rng.uniform(3.5, 5.0, 1_000_000), 2)
    queries = [encode(*work.geosearch(i)) for i in range(len(work.query_keys))]
    regions = [k[1:k.index("}")] for k in work.query_keys]
    key = WORKLOAD_KEY[ctx.profile.domain]

    async def assign(pool: RespPool, i: int) -> bool:
        j = i % len(queries)
        hits = await pool.call(queries[j])
        surge = await pool.call(encode("ZSCORE", SURGE_KEY, regions[j]))
        if not hits:
            outcomes.unassigned += 1
            return True
        active = await pool.call(encode("HMGET", key, *[h[0] for h in hits]))
        candidates = [DriverCandidate(member.decode(), float(distance), int(a or 0), max_orders,
                                      float(ratings[int(member[2:]) % ratings.size]))
                      for (member, distance), a in zip(hits, active)]
        chosen = choose_driver(candidates, weights, float(surge) if surge else 1.0)
        if chosen is None:
            outcomes.unassigned += 1
            return True
        await pool.call(encode("HINCRBY", key, chosen.driver_id, 1))
        outcomes.assigned += 1
        return True

    zones = sorted({k[1:k.index("}")] for k in work.members})
    surge = np.round(rng.choice([1.0, 1.0, 1.2, 1.5, 2.0], len(zones)), 2)
    return work, assign, dict(zip(zones, surge.tolist()))


MATCHERS = {"units": _vendor_matcher, "orders": _driver_matcher}
"""The matching core each domain's handler runs (keyed by the profile's domain, never by stack)."""


def matching_hot_path(ctx: RunContext) -> str:
    """The stack's lambda_core hot path that the matching core drives."""
    if ctx.profile.domain not in MATCHERS:
        raise LoadgenError(f"stack '{ctx.stack}' (domain {ctx.profile.domain}) has no matching core; domains with "
                           f"one: {', '.join(sorted(MATCHERS))}")
    return of_kind(ctx.hot_paths, "lambda_core", ctx.stack).name


async def _set_up(ctx: RunContext) -> tuple[Outcomes, Assign]:
    """The stack's matcher with its GEO members, workload counters and surge zones loaded on the target."""
    matching_hot_path(ctx)
    rng = np.random.default_rng(ctx.profile.seed)
    outcomes = Outcomes()
    work, assign, surge = MATCHERS[ctx.profile.domain](ctx, rng, outcomes)
    client = aioredis.from_url(ctx.target.redis_url)
    try:
        await load_members(client, work)
        await client.delete(WORKLOAD_KEY[ctx.profile.domain], SURGE_KEY)
        if surge:
            await client.zadd(SURGE_KEY, surge)
    finally:
        await client.aclose()
    return outcomes, assign


async def run_matching_bench(ctx: RunContext, duration_s: float, rate: float | None, concurrency: int,
                             watch=None) -> list[HotPathResult]:
    """Load the GEO members and surge zones, then run assignments for duration_s (rate None = closed loop)."""
    declared = matching_hot_path(ctx)
    prepared = await prepare_matching(ctx, concurrency)
    return [await run_prepared(prepared, declared, declared, rate, duration_s, watch)]


async def prepare_matching(ctx: RunContext, concurrency: int) -> PreparedOperation:
    """The `lambda_core` driver for the matching cores: GEO members and surge zones loaded, then one assignment
    per operation."""
    outcomes, assign = await _set_up(ctx)
    pool = await RespPool.connect(ctx.target.redis_url, concurrency)

    async def op(i: int) -> bool:
        return await assign(pool, i)

    async def finish(elapsed_s: float) -> Finished:
        return Finished({"assigned": outcomes.assigned, "unassigned": outcomes.unassigned})

    return PreparedOperation(op, concurrency, finish, pool.close)
