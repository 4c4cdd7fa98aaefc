"""One Locust process's loadgen run: the RunContext, the hot paths its users drive and each user's schedule.

Where it sits: the locustfile builds one LocustRun per process at Locust's `init` (from the loadgen options the
CLI or the user passed) -> the users ask it which hot path to drive, with what (an API route's body from the
fleet model, a Redis GEO query from drive.geo_bench's workload: the validate drivers' own; an assignment by the
matching core or a contended conditional write: loadgen.locust.operations, the drivers' own steps), and when
(loadgen.locust.users) -> it holds the process's recording for the current test (loadgen.locust.recording) ->
the master (or a local runner) writes the report from it (loadgen.locust.report).

Rate model: `users_at_peak` users send the profile's peak rate x `rate_scale` of every hot path they drive
together, so one user sends one request every `pace_s` = users_at_peak / (sum of the hot paths' peak rates x
rate_scale) seconds, each
at its intended time (its start + a phase drawn uniformly in [0, pace_s), so users started together do not send together, + k x
pace_s); N users offer N / users_at_peak of that, and a LoadTestShape built from the
profile's stages (loadgen.locust.shapes) sets N stage by stage. Hot paths are dealt to users in proportion to
their peak rates (smooth weighted round robin, per process).
"""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass

import redis

from loadgen.drive.api_requests import RouteLoad, plan_routes
from loadgen.drive.geo_bench import workload
from loadgen.drive.matching_bench import MATCHERS
from loadgen.drive.put_records_batches import StreamCounts, streams_of
from loadgen.drive.ramp import RampPlan, peak_rate
from loadgen.drive.scheduler import cause_of
from loadgen.drive.sigv4 import credentials_for
from loadgen.errors import LoadgenError
from loadgen.hot_paths import HotPath
from loadgen.locust.operations import GeventOperation, gevent_operation, request_type_of
from loadgen.locust.recording import ProcessRecording, RouteRecording
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.run_context import RunContext, new_run_id

clock = time.perf_counter
"""The one clock intended and actual times are read from (monotonic, high resolution)."""
OPEN_ENDED_S = 3600.0
"""The recording's span when the test has no end known up front (web UI, no --run-time): an hour of timeline."""
QUERY_TIMEOUT_S = 30.0
"""A GEO query with no answer by then fails (as an API request does after its network timeout)."""
DRIVEN_KINDS = ("api_route", "redis_geo", "kinesis_stream", "lambda_core", "ddb_conditional_write")
"""The hot-path kinds a Locust user drives (the others are reported not run)."""
OPERATION_KINDS = ("lambda_core", "ddb_conditional_write")
"""The kinds whose operation is loadgen.locust.operations' (a matching core's assignment, a conditional write)."""


def not_driven_because(ctx: RunContext, path: HotPath) -> str | None:
    """Why the Locust users do not drive this hot path on ctx's target, or None when they do."""
    kind = path.kind
    if kind not in DRIVEN_KINDS:
        return f"no Locust user drives {kind} hot paths yet (`loadgen validate` drives them)"
    if kind == "lambda_core" and path.function:
        return (f"no Locust user invokes a stream's function ({path.function}) yet (`loadgen validate` invokes it "
                "on the local target)")
    if kind == "lambda_core" and ctx.profile.domain not in MATCHERS:
        return f"the {ctx.profile.domain} domain has no shared matching core"
    if kind == "lambda_core" and not ctx.target.redis_url:
        return "no Redis URL for the target (REDIS_URL for --target aws)"
    if kind == "ddb_conditional_write" and ctx.target.kind == "local" and not ctx.target.aws_endpoint_url:
        return "no DynamoDB endpoint for the local target"
    if kind == "api_route" and not ctx.target.api_url:
        return "no API URL for the target"
    if kind == "kinesis_stream" and ctx.target.kind == "local" and not ctx.target.aws_endpoint_url:
        return "no Kinesis endpoint for the local target"
    if kind == "redis_geo" and not ctx.target.redis_url:
        return "no Redis URL for the target (REDIS_URL for --target aws)"
    return None


@dataclass(frozen=True)
class Stream:
    """A kinesis_stream hot path's stream."""

    key: str
    """The profile's stream key (the Terraform for_each key)."""
    name: str
    """The stream's name on the target."""
    shard_count: int | None
    """None: on demand."""


@dataclass(frozen=True)
class RunOptions:
    """What the loadgen side of a Locust run was asked for (from Locust's parsed options)."""

    stack: str
    env: str
    tfvars: str | None
    out: str | None
    users_at_peak: float
    rate_scale: float
    """Multiple of the profile's rates the users offer at users_at_peak (as validate's --rate-scale)."""
    ramp_duration: float | None
    """Seconds the profile's ramp is compressed to (its shape and stage windows), or None for the profile's own."""
    headroom: float


class LocustRun:
    """The hot paths, their requests and the schedule every user of this process shares, and the current test's
    recording."""

    def __init__(self, ctx: RunContext, options: RunOptions):
        self.ctx, self.options = ctx, options
        self.ramp = RampPlan.from_profile(ctx.profile, options.ramp_duration)
        paths = {p.name: p for p in ctx.hot_paths if not not_driven_because(ctx, p)}
        if not paths:
            raise LoadgenError(f"stack '{ctx.stack}' declares no hot path a Locust user drives here (kinds: "
                               f"{', '.join(DRIVEN_KINDS)}; profiles/<stack>/hot_paths.toml)")
        routes = any(p.kind == "api_route" for p in paths.values())
        self.loads = {load.hot_path: load for load in
                      plan_routes(ctx, RampPlan.from_profile(ctx.profile), 1.0)} if routes else {}
        empty = [name for name, load in self.loads.items() if not load.bodies]
        if empty:
            raise LoadgenError(f"{ctx.profile.path}: the profile's ramp generates no request for {empty[0]}")
        geo = [name for name, p in paths.items() if p.kind == "redis_geo"]
        work = workload(ctx) if geo else None
        self.queries = {name: [work.geosearch(i) for i in range(len(work.query_keys))] for name in geo}
        """A redis_geo hot path's GEOSEARCH commands, as its handlers run them (drive.geo_bench)."""
        self.redis = redis.Redis.from_url(ctx.target.redis_url, socket_timeout=QUERY_TIMEOUT_S) if geo else None
        """One connection pool per process (gevent-patched sockets); its members are loaded before the run."""
        self.peaks = {name: peak_rate(ctx, path) for name, path in paths.items()}
        self.kinds = {name: path.kind for name, path in paths.items()}
        kinesis = {path.rate_source: name for name, path in paths.items() if path.kind == "kinesis_stream"}
        self.streams = {kinesis[demand.name]: Stream(demand.name, definition.name, definition.shard_count)
                        for demand, definition in streams_of(ctx, frozenset(kinesis))} if kinesis else {}
        """A kinesis_stream hot path's stream (the KinesisUser's: loadgen.locust.kinesis_user)."""
        self.operation_paths = {name: path for name, path in paths.items() if path.kind in OPERATION_KINDS}
        self.credentials = (credentials_for(ctx.target) if self.streams or any(
            p.kind == "ddb_conditional_write" for p in self.operation_paths.values()) else None)
        """What the KinesisUser and the DynamoDB calls sign with (looked up at init: missing AWS credentials are one
        line, exit 2)."""
        self.operations: dict[str, GeventOperation] = {}
        """A matching core's or a conditional write's operation in this process (made by `make_operations` in
        a process that runs users)."""
        self.request_types = {name: "POST" if name in self.loads else "GEOSEARCH" if name in self.queries else
                              "PutRecords" if name in self.streams else request_type_of(ctx, path)
                              for name, path in paths.items()}
        """Locust's request type of each hot path's stats entry."""
        self.user_peaks = {name: peak for name, peak in self.peaks.items() if name not in self.streams}
        """The hot paths HotPathUsers drive, and their peak rates."""
        for flag, value in (("--users-at-peak", options.users_at_peak), ("--rate-scale", options.rate_scale)):
            if not (0 < value < float("inf")):
                raise LoadgenError(f"{flag} must be a positive number, got {value}")
        self.pace_s = (options.users_at_peak / (sum(self.user_peaks.values()) * options.rate_scale)
                       if self.user_peaks else None)
        """Seconds between one HotPathUser's intended sends (None: no hot path for HotPathUsers)."""
        self._credit = dict.fromkeys(self.user_peaks, 0.0)
        self._sent = dict.fromkeys(self.user_peaks, 0)
        self._phases = random.Random(ctx.profile.seed)
        self.plan: RampPlan = self.ramp
        self.span_s = self.ramp.total_s
        self.recording = ProcessRecording()
        self.began = clock()

    def make_operations(self) -> None:
        """This process runs users: its matching and conditional-write operations (no I/O: made before anything
        yields to gevent's hub, which may start users meanwhile)."""
        for name, path in self.operation_paths.items():
            self.operations[name] = gevent_operation(self.ctx, path, self.credentials)

    def prepare_operations(self) -> None:
        """What the first test's operations need on the target, made now (a conditional write's hot items)."""
        for operation in self.operations.values():
            operation.prepare(self.ctx.run_id)

    def finish_operations(self) -> None:
        """The test stopped (its users too): each operation's finish goes into the recording (a failed finish,
        e.g. the table unreachable, as its `finish_error`)."""
        elapsed_s = clock() - self.began
        for name, operation in self.operations.items():
            if name not in self.recording.routes:
                continue  # no test ran
            try:
                done = operation.finish(elapsed_s)
                finished = {"extra": done.extra, "counts_per_s": done.counts_per_s}
            except Exception as exc:  # noqa: BLE001 - a dead target after the test is a finding of the test
                finished = {"extra": {"finish_error": cause_of(exc)}, "counts_per_s": {}}
            self.recording.routes[name].finished = {**finished, "final": True}

    def live_operations(self) -> None:
        """The test runs: what each operation's finish will say that is known now goes into the recording (the
        Verdict tab's counts), unless the finish is there."""
        elapsed_s = clock() - self.began
        for name, operation in self.operations.items():
            route = self.recording.routes.get(name)  # (none before the first test)
            if route is not None and not (route.finished or {}).get("final"):
                done = operation.live(elapsed_s)
                route.finished = {"extra": done.extra, "counts_per_s": done.counts_per_s}

    def close_operations(self) -> None:
        for operation in self.operations.values():
            operation.close()

    def start_test(self, plan: RampPlan, span_s: float, run_id: str | None = None, elapsed_s: float = 0.0) -> None:
        """A new test: fresh recordings on `plan` (stage windows) over `span_s` seconds, its run id (a new one on
        the master), t = 0 `elapsed_s` ago (a worker joining a running test)."""
        self.plan, self.span_s = plan, span_s
        self.ctx = dataclasses.replace(self.ctx, run_id=run_id or new_run_id(self.ctx.stack, self.ctx.env, "locust"),
                                       started_at=time.time() - elapsed_s)
        self.recording = ProcessRecording({name: RouteRecording(
            StagedRecorder(name, plan.starts_s, span_s),
            fresh_accounting(self.loads[name]) if name in self.loads else None, [0] * len(plan.durations_s),
            StreamCounts() if name in self.streams else None)
            for name in self.peaks})
        self._credit = dict.fromkeys(self.user_peaks, 0.0)
        self._sent = dict.fromkeys(self.user_peaks, 0)
        for operation in self.operations.values():
            operation.start_test(self.ctx.run_id)
        self.began = clock() - elapsed_s

    def next_hot_path(self) -> str:
        """The hot path the next HotPathUser drives (smooth weighted round robin over the hot paths' peak
        rates)."""
        total = sum(self.user_peaks.values())
        for name, peak in self.user_peaks.items():
            self._credit[name] += peak
        chosen = max(self._credit, key=self._credit.__getitem__)
        self._credit[chosen] -= total
        return chosen

    def first_due(self) -> float:
        """A new user's first intended send: now + its phase (seeded by the profile)."""
        return clock() + self._phases.uniform(0.0, self.pace_s)

    def next_request(self, name: str) -> bytes | tuple:
        """The hot path's next request: a route's body from the fleet model, a GEO query's command (each list
        again from its first when all were sent)."""
        requests = self.loads[name].bodies if name in self.loads else self.queries[name]
        return requests[self.next_index(name) % len(requests)]

    def next_index(self, name: str) -> int:
        """The index of the hot path's next operation in this process (from 0 at each test)."""
        i = self._sent[name]
        self._sent[name] += 1
        return i


def stage_users(plan: RampPlan, users_at_peak: float, run_time_s: float) -> int | None:
    """Users `run_time_s` into a ramp: users_at_peak x the stage's fraction (so the offered rate follows the
    stages), or None once the ramp is over (what a profile's LoadTestShape returns)."""
    if run_time_s >= plan.total_s:
        return None
    return round(users_at_peak * plan.fractions[int(plan.stage_of([run_time_s])[0])])


def fresh_accounting(load: RouteLoad) -> RouteLoad:
    """The route with its status counts at zero (bodies, URL and key shared, not copied)."""
    return dataclasses.replace(load, status_counts=dict.fromkeys(load.status_counts, 0), client_errors=0)
