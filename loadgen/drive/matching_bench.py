"""`loadgen bench matching`: per-assignment latency of the matching core the Lambda handlers ship.

One operation is one assignment as the handler makes it: the GEO query for candidates on the real Redis,
their workload (and, for food delivery, the region's surge multiplier from the `surge:multipliers` sorted set),
the decision by the shared core in loadgen.matching, and the workload increment of the winner. The rules are
the stack's own: property_maintenance's priority matrix (local.priority_rules) and food_delivery's match
configuration (local.match_config), read from Terraform. Requests and orders come from fleet_models at the
profile's rate (open loop) unless --rate or --max say otherwise.

An assignment is written sans I/O (drive.sans_io): a Matcher's `steps(i)` yields each Redis command it needs
(RedisCommand: its arguments, and the hot queries' RESP pre-encoded) and is sent the reply in the raw RESP2 shape
hiredis gives (bulk strings as bytes, integers, nil as None); it returns whether the request was assigned. The
asyncio runner here (`assign_async`, over drive.resp_client's RespPool) serves `validate` and the bench; the
Locust user runs the same steps over redis-py (`assign_sync`, a client made by `raw_replies`), the set-up
(members, workload hash, surge zones: `set_up_matching`) done beforehand by loadgen.locust.prepare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import redis.asyncio as aioredis

from fleet_models.units import CATEGORIES, PRIORITIES
from loadgen.drive.prepared import Finished, PreparedOperation, run_prepared
from loadgen.drive.sans_io import Steps, run_steps, run_steps_async
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

    def count(self, assigned: bool) -> None:
        if assigned:
            self.assigned += 1
        else:
            self.unassigned += 1

    def extra(self) -> dict:
        """The hot path's summary keys (its driver's `finish`)."""
        return {"assigned": self.assigned, "unassigned": self.unassigned}


@dataclass(frozen=True)
class RedisCommand:
    """One command an assignment sends."""

    args: tuple
    encoded: bytes | None = None
    """The command in RESP, made once up front for the hot queries (the asyncio runner encodes the others)."""


def command(*args: Any) -> RedisCommand:
    """A command pre-encoded (the GEO queries, built once per origin)."""
    return RedisCommand(args, encode(*args))


@dataclass(frozen=True)
class Matcher:
    """A domain's matching core as its handler runs it, and what it needs loaded on the target."""

    work: GeoWorkload
    """The GEO members to load."""
    steps: Callable[[int], Steps]
    """Assignment i: yields its RedisCommands, is sent their raw replies, returns True when it assigned."""
    surge: dict[str, float]
    """The surge multiplier per zone to seed (empty: no surge)."""


def _rules(ctx: RunContext) -> dict[str, PriorityRule]:
    rules = ctx.resolved.scope.local("priority_rules")
    if not isinstance(rules, dict):
        raise LoadgenError(f"{ctx.resolved.stack.path}/tap_stack.tf: local.priority_rules does not resolve")
    return {name: PriorityRule(name, float(r["max_distance_km"]), float(r["distance_weight"]),
                               float(r["workload_weight"]), float(r["rating_weight"]),
                               int(float(r["response_sla_minutes"])))
            for name, r in rules.items()}


def _vendor_matcher(ctx: RunContext, rng: np.random.Generator) -> Matcher:
    work = workload(ctx)
    world = ctx.profile.model()
    rules = _rules(ctx)
    categories = rng.integers(0, len(CATEGORIES), ORIGINS)
    priorities = rng.choice(len(PRIORITIES), ORIGINS, p=(0.08, 0.17, 0.6, 0.15))
    queries = [command("GEOSEARCH", "vendors:geo", "FROMLONLAT", float(work.query_lon[i]), float(work.query_lat[i]),
                       "BYRADIUS", rules[PRIORITIES[priorities[i]]].max_distance_km, "km", "ASC", "COUNT",
                       work.count, "WITHDIST") for i in range(ORIGINS)]
    skills = [frozenset(CATEGORIES[c] for c in np.nonzero(row)[0]) for row in world.vendor_skills]
    key = WORKLOAD_KEY[ctx.profile.domain]

    def steps(i: int) -> Steps:
        j = i % ORIGINS
        hits = yield queries[j]
        if not hits:
            return False
        ids = [h[0] for h in hits]
        jobs = yield RedisCommand(("HMGET", key, *ids))
        candidates = []
        for (member, distance), active in zip(hits, jobs):
            v = int(member[2:])
            candidates.append(VendorCandidate(member.decode(), skills[v], float(distance), int(active or 0),
                                              int(world.vendor_max_jobs[v]), float(world.vendor_rating[v])))
        chosen = choose_vendor(CATEGORIES[categories[j]], rules[PRIORITIES[priorities[j]]], candidates)
        if chosen is None:
            return False
        yield RedisCommand(("HINCRBY", key, chosen.vendor_id, 1))
        return True

    return Matcher(work, steps, {})


def _driver_matcher(ctx: RunContext, rng: np.random.Generator) -> Matcher:
    work = workload(ctx)
    config = ctx.resolved.scope.local("match_config")
    if not isinstance(config, dict):
        raise LoadgenError(f"{ctx.resolved.stack.path}/tap_stack.tf: local.match_config does not resolve")
    weights = MatchWeights(float(config["distance_weight"]), float(config["workload_weight"]),
                           float(config["rating_weight"]), float(config["max_radius_km"]))
    max_orders = int(float(config["max_active_orders"]))
    ratings = np.round(rng.uniform(3.5, 5.0, 1_000_000), 2)
    queries = [command(*work.geosearch(i)) for i in range(len(work.query_keys))]
    regions = [k[1:k.index("}")] for k in work.query_keys]
    key = WORKLOAD_KEY[ctx.profile.domain]

    def steps(i: int) -> Steps:
        j = i % len(queries)
        hits = yield queries[j]
        surge = yield RedisCommand(("ZSCORE", SURGE_KEY, regions[j]))
        if not hits:
            return False
        active = yield RedisCommand(("HMGET", key, *[h[0] for h in hits]))
        candidates = [DriverCandidate(member.decode(), float(distance), int(a or 0), max_orders,
                                      float(ratings[int(member[2:]) % ratings.size]))
                      for (member, distance), a in zip(hits, active)]
        chosen = choose_driver(candidates, weights, float(surge) if surge else 1.0)
        if chosen is None:
            return False
        yield RedisCommand(("HINCRBY", key, chosen.driver_id, 1))
        return True

    zones = sorted({k[1:k.index("}")] for k in work.members})
    surge = np.round(rng.choice([1.0, 1.0, 1.2, 1.5, 2.0], len(zones)), 2)
    return Matcher(work, steps, dict(zip(zones, surge.tolist())))


MATCHERS = {"units": _vendor_matcher, "orders": _driver_matcher}
"""The matching core each domain's handler runs (keyed by the profile's domain, never by stack)."""


def matching_hot_path(ctx: RunContext) -> str:
    """The stack's lambda_core hot path that the matching core drives."""
    if ctx.profile.domain not in MATCHERS:
        raise LoadgenError(f"stack '{ctx.stack}' (domain {ctx.profile.domain}) has no matching core; domains with "
                           f"one: {', '.join(sorted(MATCHERS))}")
    return of_kind(ctx.hot_paths, "lambda_core", ctx.stack).name


def matcher(ctx: RunContext) -> Matcher:
    """The stack's matcher (no I/O: the same in every process of a run, seeded by the profile)."""
    matching_hot_path(ctx)
    return MATCHERS[ctx.profile.domain](ctx, np.random.default_rng(ctx.profile.seed))


async def set_up_matching(ctx: RunContext) -> Matcher:
    """The stack's matcher with its GEO members, workload counters and surge zones loaded on the target."""
    chosen = matcher(ctx)
    client = aioredis.from_url(ctx.target.redis_url)
    try:
        await load_members(client, chosen.work)
        await client.delete(WORKLOAD_KEY[ctx.profile.domain], SURGE_KEY)
        if chosen.surge:
            await client.zadd(SURGE_KEY, chosen.surge)
    finally:
        await client.aclose()
    return chosen


async def assign_async(pool: RespPool, steps: Steps) -> bool:
    """One assignment over the lean asyncio pool."""
    return await run_steps_async(steps, lambda c: pool.call(c.encoded or encode(*c.args)))


RAW_COMMANDS = ("GEOSEARCH", "HMGET", "ZSCORE", "HINCRBY")
"""The commands whose replies a matcher reads, which redis-py would otherwise reshape (GEOSEARCH's distances
and ZSCORE's score parsed to floats)."""


def raw_replies(client: Any) -> Any:
    """A redis-py client (redis.Redis, RESP2) made to hand the matchers' replies back as RespPool gives them."""
    for name in RAW_COMMANDS:
        client.set_response_callback(name, lambda response, **_: response)
    return client


def assign_sync(client: Any, steps: Steps) -> bool:
    """One assignment over a blocking redis-py client (one made by `raw_replies`)."""
    return run_steps(steps, lambda c: client.execute_command(*c.args))


async def run_matching_bench(ctx: RunContext, duration_s: float, rate: float | None, concurrency: int,
                             watch=None) -> list[HotPathResult]:
    """Load the GEO members and surge zones, then run assignments for duration_s (rate None = closed loop)."""
    declared = matching_hot_path(ctx)
    prepared = await prepare_matching(ctx, concurrency)
    return [await run_prepared(prepared, declared, declared, rate, duration_s, watch)]


async def prepare_matching(ctx: RunContext, concurrency: int) -> PreparedOperation:
    """The `lambda_core` driver for the matching cores: GEO members and surge zones loaded, then one assignment
    per operation."""
    chosen = await set_up_matching(ctx)
    outcomes = Outcomes()
    pool = await RespPool.connect(ctx.target.redis_url, concurrency)

    async def op(i: int) -> bool:
        outcomes.count(await assign_async(pool, chosen.steps(i)))
        return True

    async def finish(elapsed_s: float) -> Finished:
        return Finished(outcomes.extra())

    return PreparedOperation(op, concurrency, finish, pool.close)
