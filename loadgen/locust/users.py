"""The Locust user of API routes, GEO queries, the matching core and the DynamoDB conditional write: the I/O half
of their drivers, gevent-friendly (Locust's FastHttpUser); the streams' user is loadgen.locust.kinesis_user.

Where it sits: loadgen.locust.run decides the hot path, the request (an API route's body from the fleet model, a
GEO query from drive.geo_bench's workload, the index of a matching core's assignment or of a contended write)
and each request's intended time; drive.api_requests decides a route's URL, x-api-key and how its answer is
classified and accounted (the same code the asyncio API driver runs), and loadgen.locust.operations runs an
assignment (drive.matching_bench) or a read-modify-write (drive.contended_writes) with the asyncio drivers' own
steps; this module only sends (API routes over the FastHttpUser's client, GEO queries over the process's Redis
pool, an operation through loadgen.locust.operations), then reports the request twice: to Locust through
`events.request` (its stats keep service time; request type POST, GEOSEARCH, MATCH, UpdateItem or PutItem: an
operation is one request, a conditional failure not a failure) and to the hot path's StagedRecorder with the
latency from the intended start (coordinated omission corrected: a user that falls behind sends at once, and its wait is
latency). A user's first send is at a seeded phase after its start; it sends nothing due after the ramp's end.
"""

from __future__ import annotations

import gevent
from locust import FastHttpUser, constant, task
from redis import RedisError

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


class HotPathUser(FastHttpUser):
    """Drives one of the stack's hot paths at its intended times (an API route with its client's x-api-key, a
    Redis GEO query, an assignment by the matching core or a contended conditional write)."""

    wait_time = constant(0)
    """Pacing is the user's own: it waits for each request's intended time in `send`."""
    network_timeout = ROUTE_USER_TIMEOUT_S
    connection_timeout = ROUTE_USER_TIMEOUT_S
    host = "http://unset.invalid"
    """Replaced at init by the target's API URL (every request is sent to the route's absolute URL); unused by a
    stack with no API route."""

    def on_start(self) -> None:
        self.run = run_of(self.environment)
        self.hot_path = self.run.next_hot_path()
        self.route = self.run.recording.routes[self.hot_path]
        self.headers = {"content-type": "application/json", **(self.route.load.headers if self.route.load else {})}
        self.operation = self.run.operations.get(self.hot_path)
        if self.operation is not None:
            self.operation.user_started(1)
            self.operation.ready()  # (set-up: before the first intended send)
        self.due = self.run.first_due()

    def on_stop(self) -> None:
        if getattr(self, "operation", None) is not None:
            self.operation.user_started(-1)

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
        if route.load is not None:
            ok, cause = self.post()
        elif self.operation is not None:
            ok, cause = self.operate()
        else:
            ok, cause = self.query()
        route.recorder.record(offset, clock() - intended, ok, cause)

    def post(self) -> tuple[bool, str | None]:
        load = self.route.load
        with self.client.post(load.url, data=self.run.next_request(self.hot_path), headers=self.headers,
                              name=self.hot_path, catch_response=True) as response:
            try:
                load.account(response.status_code or 0)
                response.success()
            except HttpStatus as exc:  # no answer at all (status 0): the connection's error is the cause
                response.failure(exc)
                return False, cause_of(response.error if not response.status_code and response.error else exc)
        return True, None

    def query(self) -> tuple[bool, str | None]:
        command = self.run.next_request(self.hot_path)
        started, error = clock(), None
        try:
            self.run.redis.execute_command(*command)
        except RedisError as exc:
            error = exc
        self.environment.events.request.fire(request_type=command[0], name=self.hot_path,
                                              response_time=(clock() - started) * 1000.0, response_length=0,
                                              exception=error, context={})
        return error is None, cause_of(error) if error else None

    def operate(self) -> tuple[bool, str | None]:
        operation = self.operation
        started, error = clock(), None
        try:
            operation(self.run.next_index(self.hot_path))
        except (Exception, gevent.Timeout) as exc:  # noqa: BLE001 - a failed operation is data, counted by cause
            error = exc
        self.environment.events.request.fire(request_type=operation.request_type, name=self.hot_path,
                                              response_time=(clock() - started) * 1000.0, response_length=0,
                                              exception=error, context={})
        return error is None, cause_of(error) if error else None
