"""One Locust process's loadgen run: the RunContext, the routes its users send and each user's intended schedule.

Where it sits: the locustfile builds one LocustRun per process at Locust's `init` (from the loadgen options the
CLI or the user passed, loadgen.locust.options) -> the users ask it which route to send, which body, and when
(loadgen.locust.users) -> it holds the process's recording for the current test (loadgen.locust.recording) ->
the master (or a local runner) writes the report from it (loadgen.locust.report).

Rate model: `users_at_peak` users send the profile's peak rate x `rate_scale` of every API route together, so one
user sends one request every `pace_s` = users_at_peak / (sum of the routes' peak rates x rate_scale) seconds, each
at its intended time (its start + a phase drawn uniformly in [0, pace_s), so users started together do not send together, + k x
pace_s); N users offer N / users_at_peak of that, and a LoadTestShape built from the
profile's stages (loadgen.locust.shapes) sets N stage by stage. Routes are dealt to users in proportion to
their peak rates (smooth weighted round robin, per process).
"""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass

from loadgen.drive.api_requests import RouteLoad, plan_routes
from loadgen.drive.ramp import RampPlan, peak_rate
from loadgen.errors import LoadgenError
from loadgen.locust.recording import ProcessRecording, RouteRecording
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.run_context import RunContext, new_run_id

clock = time.perf_counter
"""The one clock intended and actual times are read from (monotonic, high resolution)."""
OPEN_ENDED_S = 3600.0
"""The recording's span when the test has no end known up front (web UI, no --run-time): an hour of timeline."""


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
    """The routes, bodies and schedule every user of this process shares, and the current test's recording."""

    def __init__(self, ctx: RunContext, options: RunOptions):
        self.ctx, self.options = ctx, options
        self.ramp = RampPlan.from_profile(ctx.profile, options.ramp_duration)
        paths = {p.name: p for p in ctx.hot_paths if p.kind == "api_route"}
        if not paths:
            raise LoadgenError(f"stack '{ctx.stack}' declares no api_route hot path; the Locust users drive API "
                               "routes (profiles/<stack>/hot_paths.toml)")
        self.loads = {load.hot_path: load for load in
                      plan_routes(ctx, RampPlan.from_profile(ctx.profile), 1.0)}
        empty = [name for name, load in self.loads.items() if not load.bodies]
        if empty:
            raise LoadgenError(f"{ctx.profile.path}: the profile's ramp generates no request for {empty[0]}")
        self.peaks = {name: peak_rate(ctx, paths[name]) for name in self.loads}
        for flag, value in (("--users-at-peak", options.users_at_peak), ("--rate-scale", options.rate_scale)):
            if not (0 < value < float("inf")):
                raise LoadgenError(f"{flag} must be a positive number, got {value}")
        self.pace_s = options.users_at_peak / (sum(self.peaks.values()) * options.rate_scale)
        """Seconds between one user's intended sends."""
        self._credit = dict.fromkeys(self.loads, 0.0)
        self._sent = dict.fromkeys(self.loads, 0)
        self._phases = random.Random(ctx.profile.seed)
        self.plan: RampPlan = self.ramp
        self.span_s = self.ramp.total_s
        self.recording = ProcessRecording()
        self.began = clock()

    def start_test(self, plan: RampPlan, span_s: float, run_id: str | None = None, elapsed_s: float = 0.0) -> None:
        """A new test: fresh recordings on `plan` (stage windows) over `span_s` seconds, its run id (a new one on
        the master), t = 0 `elapsed_s` ago (a worker joining a running test)."""
        self.plan, self.span_s = plan, span_s
        self.ctx = dataclasses.replace(self.ctx, run_id=run_id or new_run_id(self.ctx.stack, self.ctx.env, "locust"),
                                       started_at=time.time() - elapsed_s)
        self.recording = ProcessRecording({name: RouteRecording(
            StagedRecorder(name, plan.starts_s, span_s), fresh_accounting(load), [0] * len(plan.durations_s))
            for name, load in self.loads.items()})
        self._credit = dict.fromkeys(self.loads, 0.0)
        self._sent = dict.fromkeys(self.loads, 0)
        self.began = clock() - elapsed_s

    def next_route(self) -> str:
        """The hot path the next user sends (smooth weighted round robin over the routes' peak rates)."""
        total = sum(self.peaks.values())
        for name, peak in self.peaks.items():
            self._credit[name] += peak
        chosen = max(self._credit, key=self._credit.__getitem__)
        self._credit[chosen] -= total
        return chosen

    def first_due(self) -> float:
        """A new user's first intended send: now + its phase (seeded by the profile)."""
        return clock() + self._phases.uniform(0.0, self.pace_s)

    def next_body(self, name: str) -> bytes:
        """The route's next body from the fleet model (its bodies again from the first when all were sent)."""
        bodies = self.loads[name].bodies
        body = bodies[self._sent[name] % len(bodies)]
        self._sent[name] += 1
        return body


def stage_users(plan: RampPlan, users_at_peak: float, run_time_s: float) -> int | None:
    """Users `run_time_s` into a ramp: users_at_peak x the stage's fraction (so the offered rate follows the
    stages), or None once the ramp is over (what a profile's LoadTestShape returns)."""
    if run_time_s >= plan.total_s:
        return None
    return round(users_at_peak * plan.fractions[int(plan.stage_of([run_time_s])[0])])


def fresh_accounting(load: RouteLoad) -> RouteLoad:
    """The route with its status counts at zero (bodies, URL and key shared, not copied)."""
    return dataclasses.replace(load, status_counts=dict.fromkeys(load.status_counts, 0), client_errors=0)
