"""The DynamoDB conditional write under contention, sans I/O: what `loadgen bench ddb`, `loadgen validate` and the
Locust users send, how each outcome is counted, and what the final versions read back say (lost updates).

Where it sits: drive.ddb_bench (asyncio, aiobotocore: the bench and validate's `ddb_conditional_write` driver) and
loadgen.locust's conditional-write user (gevent, loadgen.locust.ddb_client over geventhttpclient) both run the
ContendedWriter's `steps(i)` (drive.sans_io): it yields each call as (DynamoDB operation name, its JSON-protocol
request: the low-level dicts botocore sends) and is sent each answer, or thrown its error; an error whose
response's `Error.Code` is ConditionalCheckFailedException is a conditional failure (expected, counted), any
other a write error. `seed_requests` and `finished` are the set-up and the read-back both share. What the
writes are, per domain, and why the accounting is exact: drive.ddb_bench's docstring. Nothing here imports an
AWS client or does I/O (a gevent process imports it before monkey patching).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from loadgen.drive.sans_io import Steps
from loadgen.errors import LoadgenError
from loadgen.hot_paths import HotPath, of_kind
from loadgen.measure.recorder import HotPathRecorder
from loadgen.run_context import RunContext
from loadgen.tf.alarm_thresholds import alarms

if TYPE_CHECKING:  # (target.local_resources imports aiobotocore)
    from loadgen.target.local_resources import TableDefinition

CONDITIONAL_FAILED = "ConditionalCheckFailedException"
ALARM_METRIC = "ConditionalCheckFailedRequests"
MAX_WRITERS = 4096
MAX_ITEMS = 100_000
ASSIGNEE_DRAWS = 4096
SEED_VERSION = 0


def _iso(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def _n(value: float | int) -> dict:
    return {"N": str(value)}


@dataclass(frozen=True)
class ContendedWrite:
    """How a stack's handler writes its hot item (the handler in terraform/<stack>/lambda/ it mirrors)."""

    handler: str
    created: Callable[[int, float], dict]
    """Attributes (besides the key and version) the creation write gives hot item k at time now."""
    written: Callable[[int, float, str], dict]
    """Attributes (besides status and version) write i sets at time now, for the assignee drawn for it."""
    statuses: tuple[str, str] | None
    """(status at creation, status after the assignment), None for a write without status."""
    newer_only: str | None = None
    """Timestamp attribute of a newer-only PutItem (fleet_telematics' `ts`), None for an UpdateItem."""
    assignee_format: str = ""
    pool_key: str = ""
    """The profile's fleet count the assignee is drawn from."""


WRITES: dict[str, ContendedWrite] = {  # keyed by the profile's domain, never by stack
    "units": ContendedWrite(
        "lambda/vendor_pool.py claim_request (called by request_router)",
        lambda k, now: {"property_id": {"S": f"PR{k:05d}"}, "created_at": {"S": _iso(now)},
                        "priority": {"S": "standard"}, "category": {"S": "plumbing"}},
        lambda i, now, who: {"vendor_id": {"S": who}, "assigned_at": {"S": _iso(now)},
                             "response_due_at": {"S": _iso(now + 4 * 3600)},
                             "resolution_due_at": {"S": _iso(now + 48 * 3600)},
                             "assignment_distance_km": _n(round(0.5 + (i % 250) / 10, 1)),
                             "updated_at": {"S": _iso(now)}},
        ("new", "assigned"), assignee_format="VN{:05d}", pool_key="vendors"),
    "orders": ContendedWrite(
        "lambda/matcher.py commit",
        lambda k, now: {"restaurant_id": {"S": f"RS{k:05d}"}, "created_at": {"S": _iso(now)},
                        "region": {"S": "dallas"}},
        lambda i, now, who: {"driver_id": {"S": who}, "assigned_at": {"S": _iso(now)},
                             "pickup_distance_km": _n(round(0.5 + (i % 80) / 10, 1)),
                             "match_score": _n(round(1 - (i % 100) / 200, 3)), "surge_multiplier": _n(1.0),
                             "delivery_fee": _n(3.99)},
        ("placed", "assigned"), assignee_format="DV{:06d}", pool_key="drivers"),
    "vehicles": ContendedWrite(
        "lambda/location_processor.py _put_location",
        lambda k, now: {"lat": _n(32.7767), "lon": _n(-96.797), "geohash": {"S": "9vg4m"}},
        lambda i, now, who: {"lat": _n(round(32.7767 + (i % 1000) * 1e-5, 6)),
                             "lon": _n(round(-96.797 - (i % 1000) * 1e-5, 6)), "geohash": {"S": "9vg4m"},
                             "speed_kph": _n(40 + i % 60), "heading_deg": _n(i % 360),
                             "updated_at": {"S": _iso(now)}},
        None, newer_only="ts"),
}


@dataclass
class WriteTally:
    """Exact outcome counts of the contended writes."""

    writes_sent: int = 0
    successful_writes: int = 0
    conditional_failures: int = 0
    write_errors: int = 0
    """Writes that failed otherwise (or were cancelled): sent, outcome unknown."""
    read_errors: int = 0
    per_item_successes: list[int] = field(default_factory=list)


def ddb_hot_path(ctx: RunContext) -> HotPath:
    """The stack's declared DynamoDB conditional-write hot path."""
    return of_kind(ctx.hot_paths, "ddb_conditional_write", ctx.stack)


def hot_table(ctx: RunContext, path: HotPath) -> TableDefinition:
    """The table the hot path's first alarm watches (its TableName dimension for the env)."""
    # imported here: target.local_resources imports aiobotocore, which a gevent process imports only once patched
    from loadgen.target.local_resources import find_table

    found = {a.address: a for a in alarms(ctx.resolved)}
    alarm = found.get(path.alarms[0])
    dimensions = alarm.dimensions if alarm else None
    name = dimensions.get("TableName") if isinstance(dimensions, dict) else None
    if not isinstance(name, str):
        raise LoadgenError(f"{ctx.resolved.stack.path}/tap_stack.tf: {path.alarms[0]} (guarding {path.name}) has no "
                           "TableName dimension that resolves for the env; the DynamoDB bench writes to that table")
    return find_table(ctx.resolved, name)


def _key_value(table: TableDefinition, attribute: str, text: str, number: int) -> dict:
    kind = table.key_type(attribute)
    if kind == "N":
        return {"N": str(number)}
    if kind == "B":
        return {"B": text.encode()}
    return {"S": text}


def hot_keys(table: TableDefinition, run_id: str, items: int) -> list[dict]:
    """K item keys unique to this call (run id plus a nonce; a range key, if the table has one, is fixed)."""
    base = int(time.time() * 1000) * MAX_ITEMS
    nonce = secrets.token_hex(3)
    keys = []
    for k in range(items):
        key = {table.hash_key: _key_value(table, table.hash_key, f"loadgen-{run_id}-{nonce}-{k:05d}", base + k)}
        if table.range_key:
            key[table.range_key] = _key_value(table, table.range_key, "hot", 0)
        keys.append(key)
    return keys


def seed_item(write: ContendedWrite, key: dict, k: int, now: float) -> dict:
    """Hot item k as the stack's creation write leaves it, version 0."""
    item = {**key, **write.created(k, now), "version": _n(SEED_VERSION)}
    if write.newer_only:
        item[write.newer_only] = _n(int(now * 1000))
    if write.statuses:
        item["status"] = {"S": write.statuses[0]}
    return item


class ContendedWriter:
    """Operation i of the loop: read hot item i mod K, then write it back, conditional (the stack's write) or not
    (the demonstration); every outcome lands in the tally. The I/O is the runner's (drive.sans_io)."""

    def __init__(self, table: TableDefinition, write: ContendedWrite, keys: list[dict], assignees: list[str],
                 conditional: bool, tally: WriteTally, write_recorder: HotPathRecorder, clock: Callable[[], float]):
        self.table, self.write, self.keys = table, write, keys
        self.assignees, self.conditional, self.tally = assignees, conditional, tally
        self.write_recorder = write_recorder
        self.clock = clock  # the driver's high-resolution clock (uvloop's loop.time() is cached to 1 ms)

    def request(self, key: dict, item: dict, i: int) -> tuple[str, dict]:
        """The write (operation name, arguments) that follows reading `item`."""
        write, version = self.write, int(item["version"]["N"])
        now = time.time()
        written = write.written(i, now, self.assignees[i % len(self.assignees)])
        if write.newer_only:
            newer = _n(int(item[write.newer_only]["N"]) + 1)
            request = {"TableName": self.table.name,
                       "Item": {**key, **written, write.newer_only: newer, "version": _n(version + 1)}}
            if self.conditional:
                request.update(ConditionExpression=f"attribute_not_exists({self.table.hash_key}) OR #ts < :ts",
                               ExpressionAttributeNames={"#ts": write.newer_only},
                               ExpressionAttributeValues={":ts": newer})
            return "PutItem", request
        names = {"#version": "version"}
        values = {":next": _n(version + 1)}
        sets = ["#version = :next"]
        if write.statuses:
            names["#status"] = "status"
            values[":assigned"] = {"S": write.statuses[1]}
            sets.insert(0, "#status = :assigned")
        for n, (attribute, value) in enumerate(written.items()):
            names[f"#a{n}"] = attribute
            values[f":a{n}"] = value
            sets.append(f"#a{n} = :a{n}")
        request = {"TableName": self.table.name, "Key": key, "UpdateExpression": "SET " + ", ".join(sets),
                   "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
        if self.conditional:
            values[":v"] = item["version"]
            request["ConditionExpression"] = "#version = :v"
            if write.statuses:
                values[":seen"] = item["status"]
                request["ConditionExpression"] = "#status = :seen AND #version = :v"
        return "UpdateItem", request

    def steps(self, i: int) -> Steps:
        """One read-modify-write cycle: yields (operation, request) for the read and the write."""
        k = i % len(self.keys)
        key = self.keys[k]
        try:
            read = yield "GetItem", {"TableName": self.table.name, "Key": key, "ConsistentRead": True}
            if "Item" not in read:
                raise LoadgenError(f"hot item {k} vanished from {self.table.name}")
            operation, request = self.request(key, read["Item"], i)
        except Exception:
            self.tally.read_errors += 1
            raise
        self.tally.writes_sent += 1
        started = self.clock()
        try:
            yield operation, request
        except BaseException as exc:
            code = error_code(exc)
            if code is not None:  # the table answered
                self.write_recorder.record(self.clock() - started, True)
            if code == CONDITIONAL_FAILED:
                self.tally.conditional_failures += 1
                return True
            self.tally.write_errors += 1
            raise
        self.write_recorder.record(self.clock() - started, True)
        self.tally.successful_writes += 1
        self.tally.per_item_successes[k] += 1
        return True


def error_code(exc: BaseException) -> str | None:
    """The DynamoDB error code of a failed call (botocore's ClientError, or loadgen.locust.ddb_client's error:
    both carry the answer's `response["Error"]["Code"]`; "" when it has none), None when the table did not answer
    (a timeout, a cancellation)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else None


def seed_requests(table: TableDefinition, write: ContendedWrite, keys: list[dict]) -> list[dict]:
    """The PutItem requests creating the hot items with the stack's creation condition (an existing item fails:
    keys are per run)."""
    now = time.time()
    return [{"TableName": table.name, "Item": seed_item(write, key, k, now),
             "ConditionExpression": f"attribute_not_exists({table.hash_key})"} for k, key in enumerate(keys)]


BATCH_WRITE_ITEMS = 25
"""Items one BatchWriteItem writes at most (DynamoDB's limit)."""


def seed_batches(table: TableDefinition, write: ContendedWrite, keys: list[dict]) -> list[dict]:
    """The same hot items as `seed_requests`, in BatchWriteItem requests (a tenth of the calls, and of a local
    target's time): for a client that seeds while other hot paths already run on the target (a Locust worker's
    users may start before its init is over). A batch cannot carry the creation condition; the keys' nonce and
    millisecond base make an existing item as unlikely as in the conditional seeding, and the read-back would
    find its version off (lost updates or unconfirmed writes)."""
    items = [request["Item"] for request in seed_requests(table, write, keys)]
    return [{"RequestItems": {table.name: [{"PutRequest": {"Item": item}}
                                           for item in items[start:start + BATCH_WRITE_ITEMS]]}}
            for start in range(0, len(items), BATCH_WRITE_ITEMS)]


def read_request(table: TableDefinition, key: dict) -> dict:
    """The GetItem reading a hot item back after the run."""
    return {"TableName": table.name, "Key": key, "ConsistentRead": True}


BATCH_GET_KEYS = 100
"""Keys one BatchGetItem reads at most (DynamoDB's limit)."""


def batch_read_requests(table: TableDefinition, keys: list[dict]) -> list[dict]:
    """The BatchGetItem requests reading every hot item back after the run (consistent reads), for a client that
    reads them in a few calls (the Locust processes, whose last recording waits for them)."""
    return [{"RequestItems": {table.name: {"Keys": keys[start:start + BATCH_GET_KEYS], "ConsistentRead": True}}}
            for start in range(0, len(keys), BATCH_GET_KEYS)]


def _key_of(table: TableDefinition, item: dict) -> str:
    return repr(sorted((name, sorted(item[name].items())) for name in (table.hash_key, table.range_key) if name))


def final_versions_of(table: TableDefinition, keys: list[dict], items: list[dict]) -> list[int]:
    """Each hot item's version (in the order of `keys`) from the items BatchGetItem answered."""
    found = {_key_of(table, item): {"Item": item} for item in items}
    return [final_version(table, found.get(_key_of(table, key), {})) for key in keys]


def final_version(table: TableDefinition, answer: dict) -> int:
    """A hot item's version from its read-back answer."""
    item = answer.get("Item")
    if item is None:
        raise LoadgenError(f"a hot item vanished from {table.name} during the run")
    return int(item["version"]["N"])


def tally_extra(tally: WriteTally) -> dict:
    """The outcome counts as the summary names them (known during the run: no read-back)."""
    return {"attempted_writes": tally.writes_sent, "successful_writes": tally.successful_writes,
            "conditional_failures": tally.conditional_failures, "write_errors": tally.write_errors,
            "read_errors": tally.read_errors}


def finished(table: TableDefinition, write: ContendedWrite, writers: int, conditional: bool, tally: WriteTally,
             write_recorder: HotPathRecorder, finals: list[int], elapsed_s: float) -> tuple[dict, dict[str, float]]:
    """The driver's finish from the items' final versions: its summary keys (lost updates counted exactly) and
    the ConditionalCheckFailedRequests per second its alarm judges."""
    increments = [version - SEED_VERSION for version in finals]
    lost_per_item = [s - v for s, v in zip(tally.per_item_successes, increments)]
    elapsed_s = max(elapsed_s, 1e-9)
    extra = {
        "table": table.name, "writers": writers, "items": len(finals), "conditional": conditional,
        "write": write.handler if conditional else f"{write.handler} without its ConditionExpression "
                                                  "(demonstration)",
        **tally_extra(tally),
        "lost_updates": sum(max(lost, 0) for lost in lost_per_item),
        "items_with_lost_updates": sum(1 for lost in lost_per_item if lost > 0),
        # applied on the table although the client never saw them succeed (timed out or cancelled)
        "unconfirmed_writes": sum(max(-lost, 0) for lost in lost_per_item),
        "conditional_failures_per_s": round(tally.conditional_failures / elapsed_s, 3),
        "write_latency_ms": {k: round(v, 3) for k, v in write_recorder.latency_ms().items()},
    }
    return extra, {ALARM_METRIC: tally.conditional_failures / elapsed_s}


def contended_write(ctx: RunContext) -> tuple[HotPath, ContendedWrite]:
    """The stack's conditional-write hot path and its domain's write."""
    path = ddb_hot_path(ctx)
    write = WRITES.get(ctx.profile.domain)
    if write is None:
        raise LoadgenError(f"domain '{ctx.profile.domain}' has no contended write defined; known: "
                           f"{', '.join(sorted(WRITES))}")
    return path, write


def assignees(ctx: RunContext, write: ContendedWrite) -> list[str]:
    if not write.assignee_format:
        return [""]
    pool = int(ctx.profile.fleet.get(write.pool_key) or 1000)
    draws = np.random.default_rng(ctx.profile.seed).integers(0, pool, ASSIGNEE_DRAWS)
    return [write.assignee_format.format(d) for d in draws.tolist()]


VALIDATE_ITEMS = 256
"""Items in assignment at once when `loadgen validate` drives the write (the bench's default contends on 4)."""
