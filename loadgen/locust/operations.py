"""The Locust side of the rate-driven hot paths with several calls per operation: the matching core (`lambda_core`
without a `function`) and the DynamoDB conditional write (`ddb_conditional_write`): their gevent I/O, per process.

Where it sits: loadgen.locust.run builds one GeventOperation per such hot path in each process that runs users
(a worker, or a local runner; never a master) -> loadgen.locust.users' HotPathUser calls it once per intended send
and reports it -> at the test's stop the process calls `finish`, whose Finished (as the asyncio driver's: the same
summary keys and counts per second) goes with the process's last recording (loadgen.locust.recording) to the
report (loadgen.locust.report). What an operation does, what it decides and how it is counted is the asyncio
drivers' own code, written sans I/O (drive.sans_io): drive.matching_bench's Matcher steps over redis-py (RESP2, raw
replies: matching_bench.raw_replies), drive.contended_writes' ContendedWriter steps over
loadgen.locust.ddb_client. The target's set-up (GEO members, workload hash and surge zones reset, the table
created) is loadgen.locust.prepare's, outside gevent; each process seeds its own hot items (their keys carry a
nonce; in BatchWriteItem batches, a tenth of the target's time: other hot paths may be running), the first
test's at init and a later test's as it starts (not as the last one stops: the KinesisUser
may still be draining its calls then), and a user waits for them before its first intended send (`ready`: a
worker may be started on before its init is over), so set-up is never latency.
"""

from __future__ import annotations

from typing import Any, Protocol

import gevent
import redis
from gevent.lock import Semaphore
from gevent.pool import Pool

from loadgen.drive.contended_writes import (ALARM_METRIC, VALIDATE_ITEMS, ContendedWriter, WriteTally, assignees,
                                            batch_read_requests, contended_write, final_versions_of, finished,
                                            hot_keys, hot_table, seed_batches, tally_extra)
from loadgen.drive.matching_bench import Outcomes, assign_sync, matcher, raw_replies
from loadgen.drive.prepared import Finished
from loadgen.drive.sans_io import run_steps
from loadgen.drive.scheduler import clock
from loadgen.errors import LoadgenError
from loadgen.hot_paths import HotPath
from loadgen.locust.ddb_client import DynamoClient
from loadgen.measure.recorder import HotPathRecorder
from loadgen.run_context import RunContext

MATCH = "MATCH"
"""Locust's request type of one assignment by the matching core."""
SET_UP_WIDTH = 16
"""Calls in flight at once when seeding or reading back the hot items (the asyncio driver's writers)."""
REDIS_TIMEOUT_S = 30.0
SET_UP_ROUNDS = 10
"""BatchWriteItem and BatchGetItem calls per batch at most while DynamoDB leaves items unprocessed."""


class GeventOperation(Protocol):
    request_type: str
    """Locust's request type of one operation (its stats entry is named after the hot path)."""

    def prepare(self, run_id: str) -> None:
        """At init: waits for what the first test needs on the target (its hot items), raising what failed."""

    def start_test(self, run_id: str) -> None:
        """A new test: fresh accounting (never waits: it runs in the handler of the master's messages)."""

    def ready(self) -> None:
        """Waits until this process can run the test's operations (a user's on_start)."""

    def user_started(self, delta: int) -> None:
        """A user of this hot path started (+1) or stopped (-1) in this process."""

    def __call__(self, i: int) -> None:
        """Operation i (raises on an error)."""

    def live(self, elapsed_s: float) -> Finished:
        """What the finish will say that is known while the test runs (no I/O: sent with every report, for the
        Verdict tab)."""

    def finish(self, elapsed_s: float) -> Finished:
        """The driver's finish for the test that ran (called once, after its users stopped)."""

    def close(self) -> None:
        """Locust quits."""


class MatchingOperation:
    """One assignment by the stack's matching core per operation (drive.matching_bench)."""

    request_type = MATCH

    def __init__(self, ctx: RunContext):
        self.matcher = matcher(ctx)
        self.client = raw_replies(redis.Redis.from_url(ctx.target.redis_url, protocol=2,
                                                       socket_timeout=REDIS_TIMEOUT_S))
        self.outcomes = Outcomes()

    def prepare(self, run_id: str) -> None:
        pass  # (the members, workload hash and surge zones: loadgen.locust.prepare)

    def start_test(self, run_id: str) -> None:
        self.outcomes = Outcomes()

    def ready(self) -> None:
        pass

    def user_started(self, delta: int) -> None:
        pass  # (its summary keys do not count writers)

    def __call__(self, i: int) -> None:
        self.outcomes.count(assign_sync(self.client, self.matcher.steps(i)))

    def live(self, elapsed_s: float) -> Finished:
        return Finished(self.outcomes.extra())

    def finish(self, elapsed_s: float) -> Finished:
        return Finished(self.outcomes.extra())

    def close(self) -> None:
        self.client.close()


class ConditionalWriteOperation:
    """One contended read-modify-write of one of this process's hot items per operation (drive.contended_writes):
    items seeded before the test, read back after it (lost updates, ConditionalCheckFailedRequests/s)."""

    def __init__(self, ctx: RunContext, path: HotPath, credentials: Any):
        self.ctx = ctx
        _, self.write = contended_write(ctx)
        self.table = hot_table(ctx, path)
        self.name = path.name
        self.request_type = request_type_of(ctx, path)
        self.assignees = assignees(ctx, self.write)
        self.client = DynamoClient(ctx.target, credentials)
        """The users' calls."""
        self.set_up = DynamoClient(ctx.target, credentials, SET_UP_WIDTH)
        """Seeding and reading back (never a connection a killed user's call left behind)."""
        self.writer: ContendedWriter | None = None
        self.spare: list[dict] | None = None
        self.run_id = ctx.run_id
        self.seeding: gevent.Greenlet | None = gevent.spawn(self.seed, self.run_id)
        """The first test's items, seeded as soon as the process yields to gevent's hub (a user may start before
        the locustfile's init is over, and waits for them: `ready`)."""
        self.lock = Semaphore()
        self.users = self.most_users = 0

    def seed(self, run_id: str) -> None:
        """The next test's hot items, created now (in batches: drive.contended_writes.seed_batches)."""
        keys = hot_keys(self.table, run_id, VALIDATE_ITEMS)

        def put(request: dict) -> None:
            for _ in range(SET_UP_ROUNDS):
                try:
                    request = {"RequestItems": self.set_up.call("BatchWriteItem", request).get("UnprocessedItems")}
                except Exception as exc:  # noqa: BLE001 - one line: the table and why
                    raise LoadgenError(f"seeding the hot items in {self.table.name} failed: {exc}") from None
                if not request["RequestItems"]:
                    return
            raise LoadgenError(f"seeding the hot items in {self.table.name} failed: items left unprocessed")

        Pool(SET_UP_WIDTH).map(put, seed_batches(self.table, self.write, keys))
        self.spare = keys

    def prepare(self, run_id: str) -> None:
        self.seeding.get()  # (what seeding raised)

    def start_test(self, run_id: str) -> None:
        self.run_id, self.writer = run_id, None  # (the items are taken by the test's first user: `ready`)
        self.most_users = self.users
        if self.spare is None and (self.seeding is None or self.seeding.dead):  # a later test's items
            self.seeding = gevent.spawn(self.seed, run_id)

    def ready(self) -> None:
        """The test's hot items seeded and its writer made (waited for by each user before its first intended
        send, so set-up stays out of the timing, as the asyncio driver's `prepare`)."""
        with self.lock:
            if self.writer is not None:
                return
            if self.seeding is not None:  # the items being seeded (at init, or after the last test)
                self.seeding.join()
            if self.spare is None:
                self.seed(self.run_id)
            keys, self.spare = self.spare, None
            self.writer = ContendedWriter(self.table, self.write, keys, self.assignees, True,
                                          WriteTally(per_item_successes=[0] * len(keys)),
                                          HotPathRecorder(f"{self.name}_write"), clock)

    def user_started(self, delta: int) -> None:
        self.users += delta
        self.most_users = max(self.most_users, self.users)

    def __call__(self, i: int) -> None:
        if self.writer is None:  # (a user started before the test's start was heard of)
            self.ready()
        run_steps(self.writer.steps(i), lambda request: self.client.call(*request))

    def live(self, elapsed_s: float) -> Finished:
        tally = self.writer.tally if self.writer is not None else WriteTally()
        return Finished(tally_extra(tally), {ALARM_METRIC: tally.conditional_failures / max(elapsed_s, 1e-9)})

    def finish(self, elapsed_s: float) -> Finished:
        """The items read back; a process none of whose users wrote them wrote no item (nothing to read)."""
        writer, self.writer = self.writer, None
        if writer is None:
            return Finished(*finished(self.table, self.write, self.most_users, True, WriteTally(),
                                      HotPathRecorder(f"{self.name}_write"), [], elapsed_s))
        finals = final_versions_of(self.table, writer.keys, self.read_back(writer.keys))
        return Finished(*finished(self.table, self.write, self.most_users, True, writer.tally, writer.write_recorder,
                                  finals, elapsed_s))

    def read_back(self, keys: list[dict]) -> list[dict]:
        """The hot items as they are now, in a few BatchGetItem calls (the process's last recording waits for
        them, and its master for it)."""
        items: list[dict] = []
        for request in batch_read_requests(self.table, keys):
            for _ in range(SET_UP_ROUNDS):
                answer = self.set_up.call("BatchGetItem", request)
                items.extend(answer.get("Responses", {}).get(self.table.name, []))
                unprocessed = answer.get("UnprocessedKeys") or {}
                if not unprocessed:
                    break
                request = {"RequestItems": unprocessed}
        return items

    def close(self) -> None:
        if self.seeding is not None:
            self.seeding.kill()
        self.client.close()
        self.set_up.close()


def request_type_of(ctx: RunContext, path: HotPath) -> str:
    """Locust's request type of the hot path's operations: MATCH, or its conditional write's operation."""
    if path.kind == "ddb_conditional_write":
        return "PutItem" if contended_write(ctx)[1].newer_only else "UpdateItem"
    return MATCH


def gevent_operation(ctx: RunContext, path: HotPath, credentials: Any) -> GeventOperation:
    """The hot path's operation in this process (a matching core's, or a conditional write's)."""
    if path.kind == "ddb_conditional_write":
        return ConditionalWriteOperation(ctx, path, credentials)
    return MatchingOperation(ctx)
