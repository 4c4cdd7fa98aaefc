"""`loadgen push api`: the stack's REST routes driven open loop at the profile's rates, and the API half of
`loadgen bench push-ceiling`.

Where it sits: fleet_models (the exact request bodies, each due at its intended time) -> this client -> the
target's REST API (the local API emulator, or a stage on AWS) -> the shared recorder and run summary. One hot
path per route (declared in loadgen.hot_paths with kind `api_route`); each route runs its own open loop
(loadgen.drive.scheduler) over the bodies the fleet model generates from the profile's busiest moment, at the
profile's rate x `rate_scale` (simulated time is stretched by 1/rate_scale, so the bodies are the model's own).
Latency is measured from each request's intended time into the route's HotPathRecorder; responses are counted
per status class (2xx, 400, 403, 429, 5xx, other) into the hot path's `status_counts`; 4XXError / 5XXError rates
feed the API's count and rate alarms. A run is bounded by duration and by `max_requests`. On the local target, a
route whose hot path declares a `writes_table` has that table's items counted before and after the run:
`table_writes` sets the new items against the 2xx answers (one item each), what validate checks.

Each route is sent with the API key its client holds in Terraform (the key of a usage plan that does not close
the route: tenants and vendors have keys of their own); its x-api-key value comes from the RunContext's target
(never from the environment here) and is never logged or written to a report.
"""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import subprocess
from typing import Callable

import aiohttp
from aiobotocore.session import AioSession
import numpy as np

from loadgen.drive.api_requests import (MAX_REQUESTS, STATUS_CLASSES, RouteLoad, plan_routes, request_target,
                                       route_result, status_class, table_writes)
from loadgen.drive.http_client import HttpPool
from loadgen.errors import LoadgenError
from loadgen.target.local_resources import TableDefinition, count_tables, prime_table, table_at
from loadgen.run_context import RunContext
from loadgen.measure.run_summary import HotPathResult
from loadgen.drive.ramp import RampPlan
from loadgen.drive.scheduler import ClosedLoop, clock, run_closed_loop, run_open_loop
from loadgen.measure.staged_recorder import StagedRecorder

REQUEST_TIMEOUT_S = 30.0
CONNECTIONS = 256

class ApiDriver:
    """The `api_route` driver: every API route of the stack, prepared (bodies planned, session open, the local
    emulator warmed and the routes' state primed) before the shared start, then driven open loop."""

    def __init__(self, ctx: RunContext, plan: RampPlan, rate_scale: float,
                 watch: Callable[[StagedRecorder], None] | None = None, max_requests: int = MAX_REQUESTS):
        self.ctx, self.plan = ctx, plan
        self.loads = plan_routes(ctx, plan, rate_scale, max_requests)
        self.recorders = {load.hot_path: StagedRecorder(load.hot_path, plan.starts_s, plan.total_s)
                          for load in self.loads}
        for recorder in self.recorders.values():
            if watch:
                watch(recorder)
        self.pool: HttpPool | None = None
        self.written: dict[str, tuple[TableDefinition, int]] = {}
        """Local target: hot path -> (its writes_table, the table's item count before the run)."""

    async def prepare(self) -> None:
        headers = {"content-type": "application/json"}
        self.pool = HttpPool(self.loads[0].url, CONNECTIONS, headers, REQUEST_TIMEOUT_S)
        if self.ctx.target.kind == "local":
            await prepare_local(self.ctx)
            tables = {load.hot_path: table_at(self.ctx.resolved, load.writes_table, "writes_table")
                      for load in self.loads if load.writes_table}
            counts = await count_tables(self.ctx.target.client_kwargs(), tables.values())
            self.written = {path: (table, counts[table.name]) for path, table in tables.items()}

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def run(self, began: float | None = None, stop: asyncio.Event | None = None) -> list[HotPathResult]:
        pool, plan = self.pool, self.plan
        began = clock() if began is None else began

        def drive(load: RouteLoad):
            target = request_target(load.url)
            key_lines = "".join(f"{name}: {value}\r\n" for name, value in load.headers.items())

            async def send(i: int) -> bool:
                status, _ = await pool.request("POST", target, load.bodies[i], key_lines)
                load.account(status)
                return True

            return run_open_loop(send, load.offsets, self.recorders[load.hot_path], CONNECTIONS, began, stop=stop)

        outcomes = await asyncio.gather(*(drive(load) for load in self.loads))
        span = max(clock() - began, plan.total_s)
        after = await count_tables(self.ctx.target.client_kwargs(), (table for table, _ in self.written.values()))
        results = []
        for load, outcome in zip(self.loads, outcomes):
            writes = {}
            if load.hot_path in self.written:
                table, before = self.written[load.hot_path]
                writes = {"table_writes": table_writes(load, self.loads, table.name, before, after[table.name])}
            scheduled = np.bincount(plan.stage_of(load.offsets), minlength=len(plan.durations_s)).tolist()
            results.append(route_result(load, self.recorders[load.hot_path], plan, span, scheduled,
                                        {"cancelled": outcome.cancelled, **writes}))
        return results


async def push_api(ctx: RunContext, plan: RampPlan, rate_scale: float,
                   watch: Callable[[StagedRecorder], None] | None = None,
                   max_requests: int = MAX_REQUESTS,
                   stop: asyncio.Event | None = None) -> tuple[list[HotPathResult], float]:
    """`loadgen push api`: every API route of the stack open loop through the plan; one HotPathResult per route,
    its `extra` holding `route` and `status_counts` ({"2xx", "400", "403", "429", "5xx", "other"}), and the
    seconds the run took from its start (set-up excluded); setting `stop` ends it early (what was sent is drained,
    bounded)."""
    driver = ApiDriver(ctx, plan, rate_scale, watch, max_requests)
    try:
        await driver.prepare()
        began = clock()
        results = await driver.run(began, stop=stop)
        return results, clock() - began
    finally:
        await driver.close()


async def prepare_local(ctx: RunContext) -> None:
    """On the local target, before any clock starts: the emulator warmed for the stack (handlers imported) and
    the routes' state primed (every API client does this: the asyncio driver and `loadgen locust`)."""
    async with aiohttp.ClientSession(headers={"content-type": "application/json"}) as session:
        await warm_up(session, ctx)
    await prime_state(ctx)


async def prime_state(ctx: RunContext) -> None:
    """Put the world's state the routes refer to into their state tables (local target: an empty moto), so
    requests meet the state the handlers expect (e.g. vendor status updates find their open requests)."""
    primed = [p for p in ctx.hot_paths if p.kind == "api_route" and p.state_table]
    if not primed:
        return
    model = ctx.profile.model()
    async with AioSession().create_client("dynamodb", **ctx.target.client_kwargs()) as client:
        for path in primed:
            if not hasattr(model, "primed_state"):
                raise LoadgenError(f"{ctx.profile.path}: the {ctx.profile.domain} model has no state to prime "
                                   f"{path.state_table} with; remove state_table from hot path {path.name}")
            await prime_table(ctx.resolved, path.state_table, model.primed_state(path.rate_source), client)


async def warm_up(session: aiohttp.ClientSession, ctx: RunContext) -> None:
    """Have the local emulator prepare the stack (tables, streams, handler workers) before the clock starts."""
    from loadgen.target.api_emulator import WARM_PATH

    url = f"{ctx.target.api_url.rstrip('/')}{WARM_PATH}/{ctx.stack}/{ctx.env}"
    try:
        async with session.post(url, timeout=aiohttp.ClientTimeout(total=120)) as response:
            status = response.status
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        raise LoadgenError(f"the local API emulator did not answer while preparing {ctx.stack}/{ctx.env} "
                           f"({type(exc).__name__}); `loadgen local up` restarts it") from None
    if status != 200:
        raise LoadgenError(f"the local API emulator could not prepare {ctx.stack}/{ctx.env} "
                           f"(HTTP {status}); see its log in the local target's state folder")


def status_counts(results: list[HotPathResult]) -> dict[str, dict[str, int]]:
    """Route -> its status counts, from push_api's results."""
    return {r.extra["route"]: r.extra["status_counts"] for r in results if "status_counts" in r.extra}


# --- push-ceiling, API half ----------------------------------------------------------------------------------

_WRK_RATE = re.compile(r"Requests/sec:\s*([0-9.]+)")


def wrk_requests_per_s(url: str, duration_s: float, connections: int) -> float | None:
    """wrk's rate on one thread at the same concurrency, or None when wrk is not on PATH."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    run = subprocess.run([binary, "-t1", f"-c{connections}", f"-d{max(1, math.ceil(duration_s))}s", url],
                         capture_output=True, text=True, timeout=duration_s + 30, check=False)
    match = _WRK_RATE.search(run.stdout)
    return float(match.group(1)) if match else None


async def client_requests_per_s(url: str, duration_s: float, concurrency: int) -> tuple[float, dict[str, int]]:
    """The pusher's own request path (drive.http_client, status counting, HDR recording in the scheduler) in a
    closed loop of `concurrency` clients against one URL on one core."""
    counts = dict.fromkeys(STATUS_CLASSES, 0)
    recorder = StagedRecorder("api_push_ceiling", [0.0], duration_s)
    pool = HttpPool(url, concurrency, {}, REQUEST_TIMEOUT_S)
    target = request_target(url)
    try:
        async def send(i: int) -> bool:
            status, _ = await pool.request("GET", target)
            kind = status_class(status)
            counts[kind] += 1
            return kind == "2xx"

        outcome = await run_closed_loop(send, ClosedLoop(concurrency, duration_s), recorder)
    finally:
        await pool.close()
    return outcome.achieved_rate, counts


def api_push_ceiling(api_url: str, duration_s: float = 5.0, concurrency: int = 64,
                     peak_rps: dict[str, float] | None = None) -> dict:
    """The API client's ceiling against the emulator's cheapest route (its health route, answered without any
    stack), vs wrk at the same concurrency when wrk is on PATH; `cores_needed` per env for the given peaks."""
    from loadgen.target.api_emulator import HEALTH_PATH

    url = api_url.rstrip("/") + HEALTH_PATH
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    rate, counts = runner(client_requests_per_s(url, duration_s, concurrency))
    wrk = wrk_requests_per_s(url, duration_s, concurrency)
    return {
        "route": HEALTH_PATH, "concurrency": concurrency, "duration_s": duration_s,
        "requests_per_s": round(rate, 1), "status_counts": counts,
        "wrk_requests_per_s": round(wrk, 1) if wrk else None,
        "ratio": round(rate / wrk, 3) if wrk else None,
        "cores_needed": {name: math.ceil(peak / rate) if rate else None for name, peak in (peak_rps or {}).items()},
    }
