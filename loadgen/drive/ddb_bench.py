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

The writes, their accounting and the read-back are drive.contended_writes' (sans I/O, shared with the Locust
users); this module is their asyncio I/O over aiobotocore, the table's creation (local) or check (aws), and the
bench.

`conditional=False` (for a CLI flag such as `--unsafe-no-condition`) is a demonstration, not a mode to run against
a real table: the same read-modify-write without a ConditionExpression (SET version = read version + 1), so concurrent
writers overwrite each other and lost_updates > 0 proves the accounting sees what the condition prevents.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any, Callable

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError

from loadgen.drive.contended_writes import (MAX_ITEMS, MAX_WRITERS, VALIDATE_ITEMS, ContendedWriter, WriteTally,
                                            assignees, contended_write, ddb_hot_path, final_version, finished,
                                            hot_keys, hot_table, read_request, seed_requests)
from loadgen.drive.prepared import Finished, PreparedOperation, run_prepared
from loadgen.drive.sans_io import run_steps_async
from loadgen.drive.scheduler import clock
from loadgen.errors import LoadgenError
from loadgen.measure.recorder import HotPathRecorder
from loadgen.measure.run_summary import HotPathResult
from loadgen.run_context import RunContext
from loadgen.target.local_resources import TableDefinition, create_tables

__all__ = ["ddb_hot_path", "prepare_contended_write", "prepare_table", "run_ddb_bench", "VALIDATE_ITEMS"]
METHODS = {"GetItem": "get_item", "PutItem": "put_item", "UpdateItem": "update_item"}
"""A DynamoDB operation -> its aiobotocore client method."""


async def _in_chunks(calls: list[Callable[[], Any]], width: int) -> list[Any]:
    """Run the calls at most `width` at a time (bounded by the list)."""
    results: list[Any] = []
    for start in range(0, len(calls), width):
        results.extend(await asyncio.gather(*(call() for call in calls[start:start + width])))
    return results


async def seed(client: Any, table: TableDefinition, requests: list[dict], width: int) -> None:
    """Create the hot items (drive.contended_writes.seed_requests); an existing item is an error."""

    async def put(k: int) -> None:
        try:
            await client.put_item(**requests[k])
        except ClientError as exc:
            raise LoadgenError(f"seeding hot item {k} in {table.name} failed: {exc}") from None

    await _in_chunks([lambda k=k: put(k) for k in range(len(requests))], width)


async def final_versions(client: Any, table: TableDefinition, keys: list[dict], width: int) -> list[int]:
    async def version(key: dict) -> int:
        return final_version(table, await client.get_item(**read_request(table, key)))

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


async def prepare_table(ctx: RunContext) -> None:
    """The conditional-write hot path's table created from Terraform (local) or checked (aws), before another
    client writes it (`loadgen locust`)."""
    path, _ = contended_write(ctx)
    async with AioSession().create_client("dynamodb", **ctx.target.client_kwargs()) as client:
        await _ensure_table(ctx, client, hot_table(ctx, path))


async def prepare_contended_write(ctx: RunContext, writers: int = 16, items: int = VALIDATE_ITEMS,
                                  conditional: bool = True) -> PreparedOperation:
    """The `ddb_conditional_write` driver: the stack's table created (local) or checked (aws), K hot items
    seeded, then one contended conditional write per operation by at most N concurrent writers. `finish` reads
    the items' final versions back and counts lost updates exactly."""
    if not 1 <= writers <= MAX_WRITERS:
        raise LoadgenError(f"--concurrency (writers) must be within 1..{MAX_WRITERS}, got {writers}")
    if not 1 <= items <= MAX_ITEMS:
        raise LoadgenError(f"--items must be within 1..{MAX_ITEMS}, got {items}")
    path, write = contended_write(ctx)
    table = hot_table(ctx, path)
    write_recorder = HotPathRecorder(f"{path.name}_write")
    config = AioConfig(max_pool_connections=max(writers, 10), retries={"total_max_attempts": 1})
    stack = AsyncExitStack()
    client = await stack.enter_async_context(
        AioSession().create_client("dynamodb", config=config, **ctx.target.client_kwargs()))
    try:
        await _ensure_table(ctx, client, table)
        keys = hot_keys(table, ctx.run_id, items)  # a nonce makes each worker's items its own
        await seed(client, table, seed_requests(table, write, keys), writers)
    except BaseException:
        await stack.aclose()
        raise
    tally = WriteTally(per_item_successes=[0] * items)
    writer = ContendedWriter(table, write, keys, assignees(ctx, write), conditional, tally, write_recorder, clock)

    def call(request: tuple[str, dict]) -> Any:
        operation, arguments = request
        return getattr(client, METHODS[operation])(**arguments)

    async def operation(i: int) -> bool:
        return await run_steps_async(writer.steps(i), call)

    async def finish(elapsed_s: float) -> Finished:
        finals = await final_versions(client, table, keys, writers)
        return Finished(*finished(table, write, writers, conditional, tally, write_recorder, finals, elapsed_s))

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
