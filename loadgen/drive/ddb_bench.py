"""`loadgen bench ddb`: the stack's DynamoDB conditional write under contention, with exact lost-update accounting.

Where it sits: a bench of loadgen/ (drive it, measure it, judge it). The hot path is the stack's declared
`ddb_conditional_write` (loadgen.hot_paths); the table is the TableName dimension of the first alarm that guards
it, resolved for the env, and its keys come from that table's Terraform definition (loadgen.target.local_resources) —
no table name or key is written here. On the local target the stack's tables are created from Terraform first.

What one run does, over HTTP through aiobotocore:
1. seed K hot items with the handlers' creation write, PutItem ConditionExpression `attribute_not_exists(<hash
   key>)`, version 0 (the keys carry the run id and a nonce, so runs never share items);
2. N writers (a closed loop of N clients, or one open loop at `rate` with at most N in flight) each take the next
   item, read it (GetItem, ConsistentRead) and write it back with the stack's conditional write:
   - property_maintenance (request_router's claim) and food_delivery (matcher's commit): UpdateItem
     `#status = :seen AND #version = :v` (status and version as read; `status` is a reserved word, hence
     ExpressionAttributeNames), SET `#status = assigned`, `#version = :next` (the version read + 1) and the
     assignment (vendor_id or driver_id, assigned_at, ...). The handler claims a `new`/`placed` item; the writes
     after the first are reassignments under the same optimistic check. The handler's own `#version = #version +
     :one` would, without the condition, be atomic and hide the race the condition exists for, so the version
     written is the one read + 1 in both modes and the only difference between them is the ConditionExpression;
   - fleet_telematics (location_processor): PutItem `attribute_not_exists(vehicle_id) OR #ts < :ts`, the
     newer-position-only write. Each write carries ts = the ts it read + 1 ms and version = the version it read
     + 1; every accepted write raises ts strictly, so `#ts < read ts + 1` holds exactly when nothing was written
     since the read, and the same version accounting applies;
3. every item is read back: lost_updates = successful_writes - sum(final version - initial version), which is 0
   when the condition works (each success moved its item's version by exactly one).

Every write's outcome is counted: a success, a ConditionalCheckFailedException (conditional_failures, the
ConditionalCheckFailedRequests metric the alarm watches; expected, not an error), or an error (anything else,
including a failed read). Retries are off in the client so a write is never sent twice behind our back; a
write that errors or is cancelled at the drain deadline may still have been applied, which would show up as a
negative lost_updates. The hot path's histogram holds each read-modify-write cycle from its intended start (open
loop) or actual start (closed loop); `write_latency_ms` holds the conditional write alone. The failures per
second go into counts_per_s, which loadgen.measure.run_summary turns into failures per alarm period and compares with the
env's ConditionalCheckFailedRequests threshold.

`conditional=False` (for a CLI flag such as `--unsafe-no-condition`) is a demonstration, not a mode to run against
a real table: the same read-modify-write without a ConditionExpression (SET version = read version + 1), so concurrent
writers overwrite each other and lost_updates > 0 proves the accounting sees what the condition prevents.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError

from loadgen.drive.scheduler import clock
from loadgen.drive.prepared import Finished, PreparedOperation, run_prepared
from loadgen.errors import LoadgenError
from loadgen.hot_paths import HotPath, of_kind
from loadgen.target.local_resources import TableDefinition, create_tables, find_table
from loadgen.measure.recorder import HotPathRecorder
from loadgen.run_context import RunContext
from loadgen.measure.run_summary import HotPathResult
from loadgen.tf.alarm_thresholds import alarms

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
    (the demonstration); every outcome lands in the tally."""

    def __init__(self, client: Any, table: TableDefinition, write: ContendedWrite, keys: list[dict],
                 assignees: list[str], conditional: bool, tally: WriteTally, write_recorder: HotPathRecorder):
        self.client, self.table, self.write, self.keys = client, table, write, keys
        self.assignees, self.conditional, self.tally = assignees, conditional, tally
        self.write_recorder = write_recorder
        self.clock = clock  # the scheduler's high-resolution clock (uvloop's loop.time() is cached to 1 ms)

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
            return "put_item", request
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
        return "update_item", request

    async def __call__(self, i: int) -> bool:
        k = i % len(self.keys)
        key = self.keys[k]
        try:
            read = await self.client.get_item(TableName=self.table.name, Key=key, ConsistentRead=True)
            if "Item" not in read:
                raise LoadgenError(f"hot item {k} vanished from {self.table.name}")
            operation, request = self.request(key, read["Item"], i)
        except Exception:
            self.tally.read_errors += 1
            raise
        self.tally.writes_sent += 1
        started = self.clock()
        try:
            await getattr(self.client, operation)(**request)
        except ClientError as exc:
            self.write_recorder.record(self.clock() - started, True)
            if exc.response.get("Error", {}).get("Code") == CONDITIONAL_FAILED:
                self.tally.conditional_failures += 1
                return True
            self.tally.write_errors += 1
            raise
        except BaseException:
            self.tally.write_errors += 1
            raise
        self.write_recorder.record(self.clock() - started, True)
        self.tally.successful_writes += 1
        self.tally.per_item_successes[k] += 1
        return True


async def _in_chunks(calls: list[Callable[[], Any]], width: int) -> list[Any]:
    """Run the calls at most `width` at a time (bounded by the list)."""
    results: list[Any] = []
    for start in range(0, len(calls), width):
        results.extend(await asyncio.gather(*(call() for call in calls[start:start + width])))
    return results


async def seed(client: Any, table: TableDefinition, write: ContendedWrite, keys: list[dict], width: int) -> None:
    """Create the hot items with the stack's creation condition; an existing item is an error (keys are per run)."""
    now = time.time()

    async def put(k: int) -> None:
        try:
            await client.put_item(TableName=table.name, Item=seed_item(write, keys[k], k, now),
                                  ConditionExpression=f"attribute_not_exists({table.hash_key})")
        except ClientError as exc:
            raise LoadgenError(f"seeding hot item {k} in {table.name} failed: {exc}") from None

    await _in_chunks([lambda k=k: put(k) for k in range(len(keys))], width)


async def final_versions(client: Any, table: TableDefinition, keys: list[dict], width: int) -> list[int]:
    async def version(key: dict) -> int:
        item = (await client.get_item(TableName=table.name, Key=key, ConsistentRead=True)).get("Item")
        if item is None:
            raise LoadgenError(f"a hot item vanished from {table.name} during the run")
        return int(item["version"]["N"])

    return await _in_chunks([lambda key=key: version(key) for key in keys], width)


async def _ensure_table(ctx: RunContext, client: Any, table: TableDefinition) -> None:
    if ctx.target.kind == "local":
        await create_tables(ctx.resolved, client)
        return
    try:
        await client.describe_table(TableName=table.name)
    except ClientError as exc:
        raise LoadgenError(f"table {table.name} ({table.address}) is not reachable on the target: "
                           f"{exc.response.get('Error', {}).get('Code', exc)}") from None


def _assignees(ctx: RunContext, write: ContendedWrite) -> list[str]:
    if not write.assignee_format:
        return [""]
    pool = int(ctx.profile.fleet.get(write.pool_key) or 1000)
    draws = np.random.default_rng(ctx.profile.seed).integers(0, pool, ASSIGNEE_DRAWS)
    return [write.assignee_format.format(d) for d in draws.tolist()]


VALIDATE_ITEMS = 256
"""Items in assignment at once when `loadgen validate` drives the write (the bench's default contends on 4)."""


async def prepare_contended_write(ctx: RunContext, writers: int = 16, items: int = VALIDATE_ITEMS,
                                  conditional: bool = True) -> PreparedOperation:
    """The `ddb_conditional_write` driver: the stack's table created (local) or checked (aws), K hot items
    seeded, then one contended conditional write per operation by at most N concurrent writers. `finish` reads
    the items' final versions back and counts lost updates exactly."""
    if not 1 <= writers <= MAX_WRITERS:
        raise LoadgenError(f"--concurrency (writers) must be within 1..{MAX_WRITERS}, got {writers}")
    if not 1 <= items <= MAX_ITEMS:
        raise LoadgenError(f"--items must be within 1..{MAX_ITEMS}, got {items}")
    path = ddb_hot_path(ctx)
    write = WRITES.get(ctx.profile.domain)
    if write is None:
        raise LoadgenError(f"domain '{ctx.profile.domain}' has no contended write defined; known: "
                           f"{', '.join(sorted(WRITES))}")
    table = hot_table(ctx, path)
    write_recorder = HotPathRecorder(f"{path.name}_write")
    config = AioConfig(max_pool_connections=max(writers, 10), retries={"total_max_attempts": 1})
    stack = AsyncExitStack()
    client = await stack.enter_async_context(
        AioSession().create_client("dynamodb", config=config, **ctx.target.client_kwargs()))
    try:
        await _ensure_table(ctx, client, table)
        keys = hot_keys(table, ctx.run_id, items)  # a nonce makes each worker's items its own
        await seed(client, table, write, keys, writers)
    except BaseException:
        await stack.aclose()
        raise
    tally = WriteTally(per_item_successes=[0] * items)
    operation = ContendedWriter(client, table, write, keys, _assignees(ctx, write), conditional, tally,
                                write_recorder)

    async def finish(elapsed_s: float) -> Finished:
        finals = await final_versions(client, table, keys, writers)
        increments = [version - SEED_VERSION for version in finals]
        lost_per_item = [s - v for s, v in zip(tally.per_item_successes, increments)]
        elapsed_s = max(elapsed_s, 1e-9)
        extra = {
            "table": table.name, "writers": writers, "items": items, "conditional": conditional,
            "write": write.handler if conditional else f"{write.handler} without its ConditionExpression "
                                                      "(demonstration)",
            "attempted_writes": tally.writes_sent,
            "successful_writes": tally.successful_writes, "conditional_failures": tally.conditional_failures,
            "write_errors": tally.write_errors, "read_errors": tally.read_errors,
            "lost_updates": sum(max(lost, 0) for lost in lost_per_item),
            "items_with_lost_updates": sum(1 for lost in lost_per_item if lost > 0),
            # applied on the table although the client never saw them succeed (timed out or cancelled)
            "unconfirmed_writes": sum(max(-lost, 0) for lost in lost_per_item),
            "conditional_failures_per_s": round(tally.conditional_failures / elapsed_s, 3),
            "write_latency_ms": {k: round(v, 3) for k, v in write_recorder.latency_ms().items()},
        }
        return Finished(extra, {ALARM_METRIC: tally.conditional_failures / elapsed_s})

    return PreparedOperation(operation, writers, finish, stack.aclose)


async def run_ddb_bench(ctx: RunContext, writers: int, items: int, duration_s: float, rate: float | None,
                        conditional: bool = True, watch=None) -> list[HotPathResult]:
    """N writers on K hot items for duration_s (closed loop, or open loop at `rate`); one result for the stack's
    ddb_conditional_write hot path carrying successful_writes, conditional_failures and lost_updates."""
    if duration_s <= 0 or (rate is not None and rate <= 0):
        raise LoadgenError("the duration and rate must be positive")
    path = ddb_hot_path(ctx)
    name = path.name if conditional else f"{path.name}_unsafe_no_condition"
    prepared = await prepare_contended_write(ctx, writers, items, conditional)
    return [await run_prepared(prepared, name, path.name, rate, duration_s, watch)]
