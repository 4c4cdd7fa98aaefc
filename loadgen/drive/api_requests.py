"""What an API request is, decided once for every client that sends it: the `api_route` hot paths' routes, URLs,
x-api-key headers and bodies (from the fleet model, due at their intended times), how an answer is classified and
accounted, and the hot path's result built from that accounting.

Where it sits: fleet_models + loadgen.tf.api_routes -> this -> the I/O clients: drive.api_pusher (asyncio, the
validate and push drivers) and loadgen.locust (gevent, Locust's FastHttpUser). Only the client differs between
them; it imports no asyncio HTTP or AWS client, so a gevent process may import it before or after monkey
patching. API key values come from the RunContext's target and are never logged or reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np

from loadgen.drive.ramp import RampPlan
from loadgen.errors import LoadgenError
from loadgen.measure.run_summary import HotPathResult
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.run_context import RunContext, Target
from loadgen.tf.api_routes import ApiRoute, RestApi, rest_api

STATUS_CLASSES = ("2xx", "400", "403", "429", "5xx", "other")
SLICE_S = 10.0
"""Simulated seconds generated per call of the fleet model."""
MAX_REQUESTS = 2_000_000


class HttpStatus(Exception):
    """A response that is not 2xx: a failed operation whose cause is its status."""

    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")


def status_class(status: int) -> str:
    if 200 <= status < 300:
        return "2xx"
    if status in (400, 403, 429):
        return str(status)
    if 500 <= status < 600:
        return "5xx"
    return "other"


def route_url(target: Target, stack: str, env: str, stage: str, path: str) -> str:
    """The URL of a route: under the emulator's /{stack}/{env}/{stage} locally, under the stage's invoke URL
    (target.api_url) on AWS."""
    if not target.api_url:
        raise LoadgenError("no API URL for the target: start the local target (`loadgen local up`) or give the "
                           "stage's invoke URL for --target aws")
    base = target.api_url.rstrip("/")
    return f"{base}/{stack}/{env}/{stage}{path}" if target.kind == "local" else f"{base}{path}"


def request_target(url: str) -> str:
    """The request line's target of a URL: its path and query."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@dataclass
class RouteLoad:
    """One route's requests for the run: bodies and when each is due (seconds from the start)."""

    hot_path: str
    route: str
    url: str
    bodies: list[bytes]
    offsets: np.ndarray
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    """The route's own request headers: its client's x-api-key."""
    status_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_CLASSES, 0))
    client_errors: int = 0
    """Every 4xx (API Gateway's 4XXError counts 404 and 409 too, which fall under `other`)."""
    writes_table: str | None = None
    """The hot path's writes_table (one new item per 2xx answer), counted on the local target."""

    def account(self, status: int) -> None:
        """One answer, counted in its status class (and among the 4xx); a failed operation (HttpStatus) unless
        2xx. Status 0 (no answer: a timeout or a connection error) counts as `other`."""
        kind = status_class(status)
        self.status_counts[kind] += 1
        self.client_errors += 400 <= status < 500
        if kind != "2xx":
            raise HttpStatus(status)


def plan_routes(ctx: RunContext, plan: RampPlan, rate_scale: float,
                max_requests: int = MAX_REQUESTS) -> list[RouteLoad]:
    """Every API hot path's bodies for the run, from the fleet model at the profile's busiest moment: the
    model's simulated time runs at rate_scale x each stage's fraction of wall time (RampPlan.wall_times)."""
    if rate_scale <= 0 or not np.isfinite(rate_scale):
        raise LoadgenError(f"--rate-scale must be a positive number, got {rate_scale}")
    api = rest_api(ctx.resolved)
    paths = [p for p in ctx.hot_paths if p.kind == "api_route"]
    if not paths:
        raise LoadgenError(f"stack '{ctx.stack}' declares no api_route hot path in loadgen/hot_paths.py")
    config = ctx.profile.config()
    model = config.build()
    start = config.peak_time_s
    end = start + float(plan.units(rate_scale)[-1])
    loads = {p.rate_source: RouteLoad(p.name, p.rate_source, route_url(
        ctx.target, ctx.stack, ctx.env, api.stage, api.by_key(p.rate_source).path), [], np.empty(0),
        client_headers(ctx, api, api.by_key(p.rate_source)), writes_table=p.writes_table) for p in paths}
    offsets: dict[str, list[np.ndarray]] = {key: [] for key in loads}
    t = start
    while t < end and sum(len(load.bodies) for load in loads.values()) < max_requests:
        t1 = min(t + SLICE_S, end)
        for key, batch in model.generate(t, t1).items():
            if key in loads:
                loads[key].bodies.extend(batch.data)
                offsets[key].append(plan.wall_times(np.asarray(batch.intended_s) - start, rate_scale))
        t = t1
    budget = max_requests
    for key, load in loads.items():
        due = np.concatenate(offsets[key]) if offsets[key] else np.empty(0)
        order = np.argsort(due, kind="stable")
        keep = min(len(load.bodies), budget)
        order = order[:keep]
        load.bodies, load.offsets = [load.bodies[i] for i in order.tolist()], due[order]
        budget -= keep
    return list(loads.values())


def client_headers(ctx: RunContext, api: RestApi, route: ApiRoute) -> dict[str, str]:
    """The x-api-key header the route's client sends (none on routes that need no key, or with no key known)."""
    key = api.client_key(route)
    value = ctx.target.api_key_for(ctx.stack, ctx.env, key) if key else None
    return {"x-api-key": value} if value else {}


def table_writes(load: RouteLoad, loads: list[RouteLoad], table: str, before: int, after: int) -> dict:
    """`table_writes` of a route whose hot path declares a writes_table: the table's new items over the run
    (`before` and `after` its item counts) against the 2xx answers of every route that writes it (one item each),
    what validate checks."""
    routes = [x for x in loads if x.writes_table == load.writes_table]
    return {"table": table, "new_items": after - before, "answered_2xx": sum(x.status_counts["2xx"] for x in routes),
            "routes": [x.route for x in routes]}


def route_result(load: RouteLoad, recorder: StagedRecorder, plan: RampPlan, span_s: float,
                 scheduled_per_stage: list[int], extra: dict | None = None) -> HotPathResult:
    """The route's hot-path result from its recording and accounting: API Gateway's 4XXError and 5XXError rates
    over `span_s` (what the alarms judge), status counts (operations with no answer counted as `other`), the
    target rate as what the schedule offered over the plan."""
    counts = load.status_counts
    counts["other"] += recorder.ops - sum(counts.values())  # timeouts and connection errors
    return HotPathResult(
        name=load.hot_path, declared=load.hot_path, recorder=recorder.total(),
        target_rate=round(sum(scheduled_per_stage) / plan.total_s, 3), achieved_rate=recorder.ops / span_s,
        counts_per_s={"5XXError": counts["5xx"] / span_s, "4XXError": load.client_errors / span_s},
        extra={"route": load.route, "status_counts": dict(counts), **(extra or {})},
        staged=recorder, kind="api_route", scheduled_per_stage=list(scheduled_per_stage))
