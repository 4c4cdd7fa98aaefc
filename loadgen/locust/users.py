"""The Locust users: the I/O half of a hot path's driver, gevent-friendly (Locust's FastHttpUser).

Where it sits: loadgen.locust.run decides the route, the body (fleet model) and each request's intended time;
drive.api_requests decides the URL, the x-api-key and how the answer is classified and accounted (the same code
the asyncio API driver runs); this module only sends, then reports the request twice: to Locust through
`events.request` (its stats keep service time) and to the hot path's StagedRecorder with the latency from the
intended start (coordinated omission corrected: a user that falls behind sends at once, and its wait is
latency). A user's first send is at a seeded phase after its start; it sends nothing due after the ramp's end.
"""

from __future__ import annotations

import gevent
from locust import FastHttpUser, constant, task

from loadgen.drive.api_requests import HttpStatus
from loadgen.drive.scheduler import LATE_START_S, cause_of
from loadgen.locust.run import LocustRun, clock

ROUTE_USER_TIMEOUT_S = 30.0
_runs: dict[int, LocustRun] = {}
"""id(environment) -> its process's LocustRun (set by the locustfile at init)."""


def attach(environment, run: LocustRun) -> None:
    _runs[id(environment)] = run


def run_of(environment) -> LocustRun:
    return _runs[id(environment)]


class ApiRouteUser(FastHttpUser):
    """Sends the stack's API routes at its intended times, each with its client's x-api-key."""

    wait_time = constant(0)
    """Pacing is the user's own: it waits for each request's intended time in `send`."""
    network_timeout = ROUTE_USER_TIMEOUT_S
    connection_timeout = ROUTE_USER_TIMEOUT_S
    host = "http://unset.invalid"
    """Replaced at init by the target's API URL (every request is sent to the route's absolute URL)."""

    def on_start(self) -> None:
        self.run = run_of(self.environment)
        self.hot_path = self.run.next_route()
        self.route = self.run.recording.routes[self.hot_path]
        self.headers = {"content-type": "application/json", **self.route.load.headers}
        self.due = self.run.first_due()

    @task
    def send(self) -> None:
        run, route = self.run, self.route
        intended, self.due = self.due, self.due + run.pace_s
        offset = intended - run.began
        if offset >= run.plan.total_s:
            gevent.sleep(min(run.pace_s, 1.0))  # past the ramp's end: nothing more is due
            return
        delay = intended - clock()
        if delay > 0:
            gevent.sleep(delay)
        elif -delay > LATE_START_S:
            route.recorder.late_starts += 1
        route.scheduled(offset)
        ok, cause = True, None
        with self.client.post(route.load.url, data=self.run.next_body(self.hot_path), headers=self.headers,
                              name=self.hot_path, catch_response=True) as response:
            try:
                route.load.account(response.status_code or 0)
                response.success()
            except HttpStatus as exc:  # no answer at all (status 0): the connection's error is the cause
                ok, cause = False, cause_of(response.error if not response.status_code and response.error else exc)
                response.failure(exc)
        route.recorder.record(offset, clock() - intended, ok, cause)
