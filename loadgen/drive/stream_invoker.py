"""The `lambda_core` driver of a function its Kinesis stream's event source mapping invokes: one operation is one
invocation of the function's real handler with a batch of the stream's records, shaped as Lambda's poller sends it.

Where it sits: drive.drivers picks it for a lambda_core hot path that names its `function` (hot_paths.toml) ->
`prepare_stream_invocations` (set-up, outside the timing): the function's aws_lambda_event_source_mapping read
from Terraform for the env (loadgen.tf.lambda_functions: the stream feeding it, batch size, parallelization), the
function's workers started in the local API emulator and its handler imported there (WARM_PATH ?function=), the
first batches generated -> the one scheduler calls the operation at the rate source's records/s / batch size
through the ramp (open loop, drive.stack_run) -> each operation POSTs one Kinesis event to the emulator's Lambda
Invoke endpoint (INVOKE_PATH), which runs the handler in the function's worker process with its Terraform
environment (tables on moto, Redis, SNS topics...).

What is recorded: the scheduler's latency from the intended start (the invocation's round trip, with any wait for
a free poller slot) in the hot path's recorder, and the handler's own duration as the worker measured it around
the handler call in `Finished.duration`, which the run's Duration alarms on this function are judged by
(measure.run_summary). An invocation fails when the handler raises (cause: its error type and message) or returns
batchItemFailures (cause: that the batch reported failed items; `failed_records` counts the items).

Records: the fleet model's payloads for the rate source's stream, the bytes and partition keys the Kinesis driver
pushes, `records_per_invocation` per invocation, generated in chunks on a thread ahead of use. At most shards x
parallelization invocations are in flight, as Lambda processes one batch per shard and parallelization slot at a
time; beyond that an invocation waits, inside its latency.

The function's environment variables that point at what the local target does not run (the emulator says which
when it warms the function) are listed in `unreachable_locally`: the handler's calls that reach them fail, and
its Duration holds only what it did before giving up on them (e.g. a Redis AUTH secret with no local stand-in).

Local target only: loadgen never invokes a production function directly (drivers.not_driven_because says so on
AWS). A batch holds what Lambda would hand one invocation at the run's top rate: one poller slot's share of the
stream (shards x parallelization slots) over the mapping's batching window (at least the second Lambda polls a
shard at), at most the mapping's batch size (`records_per_invocation`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass

import aiohttp
import numpy as np

from loadgen.drive.prepared import Finished, PreparedOperation
from loadgen.errors import LoadgenError
from loadgen.hot_paths import HotPath
from loadgen.measure.recorder import HotPathRecorder
from loadgen.run_context import LOCAL_REGION, RunContext
from loadgen.target.api_emulator import DURATION_HEADER, LAMBDA_PREFIX, LOCAL_ACCOUNT, WARM_PATH
from loadgen.target.local_resources import stream_definition
from loadgen.tf.alarm_thresholds import alarms
from loadgen.tf.lambda_functions import EventSourceMapping, LambdaFunction, event_source_mappings, function_named

CHUNK_BATCHES = 64
"""Batches generated at a time; the next chunk is started when fewer than half of these are left."""
INVOKE_TIMEOUT_MARGIN_S = 10.0
"""An invocation's HTTP wait beyond the function's own timeout (the emulator's queueing and the transfer)."""
POLL_S = 1.0
"""Lambda reads each shard about once a second: a batch gathers at least that long unless it fills first."""
SEQUENCE_BASE = 49_600_000_000_000_000_000_000_000_000_000_000_000_000_000
"""Kinesis sequence numbers are 56-digit decimals increasing per shard; records here count up from this."""


@dataclass(frozen=True)
class StreamFunction:
    """A function as its stream's event source mapping drives it, resolved for the env."""

    function: LambdaFunction
    mapping: EventSourceMapping
    stream_name: str
    concurrency: int
    """Batches in flight at most: the stream's shards x the mapping's parallelization."""


def _mapping_of(ctx: RunContext, function: LambdaFunction) -> EventSourceMapping | None:
    return next((m for m in event_source_mappings(ctx.resolved) if m.function == function.address), None)


def stream_function(ctx: RunContext, path: HotPath) -> StreamFunction:
    """The hot path's function and the Kinesis mapping that feeds it from its rate source, or one clear error."""
    function = function_named(ctx.resolved, path.function)
    mapping = _mapping_of(ctx, function)
    if mapping is None or mapping.source_kind != "kinesis":
        fed = f"is fed by the {mapping.source_kind} source {mapping.source}" if mapping else "has no event source"
        raise LoadgenError(f"hot path '{path.name}': function {function.key} {fed}; the lambda_core driver invokes "
                           "functions that an aws_lambda_event_source_mapping feeds from a Kinesis stream")
    stream = next(inst for inst in ctx.resolved.instances("aws_kinesis_stream") if inst.address == mapping.source)
    if stream.key != path.rate_source:
        raise LoadgenError(f"hot path '{path.name}': function {function.key} reads stream '{stream.key}' "
                           f"({mapping.address}) but the hot path's rate_source is '{path.rate_source}'")
    definition = stream_definition(stream)
    slots = (definition.shard_count or 0) * mapping.parallelization
    return StreamFunction(function, mapping, definition.name, slots or mapping.parallelization)


def unmeasured_alarms(ctx: RunContext, path: HotPath, function: LambdaFunction) -> dict[str, str]:
    """The hot path's Lambda Duration alarms on another function than the one it invokes, each with why this run
    cannot measure it (what feeds that function)."""
    reasons = {}
    for alarm in alarms(ctx.resolved):
        name = (alarm.dimensions or {}).get("FunctionName") if isinstance(alarm.dimensions, dict) else None
        if alarm.address not in path.alarms or alarm.metric != "Duration" or name in (None, function.function_name):
            continue
        other = function_named(ctx.resolved, name)
        mapping = _mapping_of(ctx, other)
        fed = (f"is invoked by {mapping.address} from the {mapping.source_kind} stream of {mapping.source}"
               if mapping else "has no event source mapping")
        why = (f'a hot path naming function = "{other.key}" would measure it' if mapping and
               mapping.source_kind == "kinesis" else "the lambda_core driver invokes functions fed by a Kinesis "
               "stream only, and the local target runs no poller for that source")
        reasons[alarm.address] = f"{other.key} {fed}; this hot path invokes {function.key} only, and {why}"
    return reasons


def records_per_invocation(mapping: EventSourceMapping, slots: int, rate_per_s: float) -> int:
    """Records in one invocation's batch at `rate_per_s`: what one of `slots` poller slots (shards x
    parallelization) gathers over the batching window (at least POLL_S), at most the mapping's batch size."""
    gathered = rate_per_s / max(slots, 1) * max(mapping.batching_window_s, POLL_S)
    return int(max(1, min(mapping.batch_size, round(gathered))))


class Batches:
    """The rate source's records as Kinesis events of `batch_size` records each, in the model's time order,
    generated CHUNK_BATCHES at a time on a thread (the first chunk before the start). Worker k of n
    (`loadgen validate --processes n`) takes every n-th batch from the k-th, so no record is sent twice."""

    def __init__(self, ctx: RunContext, path: HotPath, target: StreamFunction, shard: tuple[int, int],
                 batch_size: int):
        config = ctx.profile.config()
        self.model = config.build()
        self.stream = path.rate_source
        self.batch_size = batch_size
        self.arn = f"arn:aws:kinesis:{LOCAL_REGION}:{LOCAL_ACCOUNT}:stream/{target.stream_name}"
        demand = {d.name: d for d in config.demand()}[path.rate_source]
        self.slice_s = CHUNK_BATCHES * self.batch_size / max(float(demand.peak_rps), 1e-9)
        self.sim_t = float(getattr(config, "peak_time_s", 0.0))
        self.sequence = SEQUENCE_BASE
        self.shard = shard
        self.made = 0
        """Batches made so far, every worker's included."""
        self.pending: tuple[list[bytes], list[str]] = ([], [])
        self.ready: list[bytes] = []
        self.refill: asyncio.Task | None = None

    def _chunk(self) -> list[bytes]:
        """This worker's share of CHUNK_BATCHES x n batches as events (JSON bodies), generating as much
        simulated time as they need."""
        data, keys = self.pending
        cut = CHUNK_BATCHES * self.shard[1] * self.batch_size
        while len(data) < cut:
            batch = self.model.generate(self.sim_t, self.sim_t + self.slice_s).get(self.stream)
            self.sim_t += self.slice_s
            if batch is not None and len(batch):
                order = np.argsort(np.asarray(batch.intended_s), kind="stable").tolist()
                data = data + [batch.data[i] for i in order]
                keys = keys + [batch.partition_keys[i] for i in order]
        self.pending = (data[cut:], keys[cut:])
        arrival = time.time()
        events = []
        for start in range(0, cut, self.batch_size):
            self.made += 1
            if (self.made - 1) % self.shard[1] != self.shard[0]:
                self.sequence += self.batch_size
                continue
            records = []
            for payload, key in zip(data[start:start + self.batch_size], keys[start:start + self.batch_size]):
                self.sequence += 1
                records.append({
                    "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": key,
                                "sequenceNumber": str(self.sequence), "data": base64.b64encode(payload).decode(),
                                "approximateArrivalTimestamp": arrival},
                    "eventSource": "aws:kinesis", "eventVersion": "1.0",
                    "eventID": f"shardId-000000000000:{self.sequence}", "eventName": "aws:kinesis:record",
                    "awsRegion": LOCAL_REGION, "eventSourceARN": self.arn})
            events.append(json.dumps({"Records": records}).encode())
        return events

    def prime(self) -> None:
        self.ready = self._chunk()

    async def next(self) -> bytes:
        """The next event; starts generating the next chunk when half of this one is used (an operation that
        finds none ready waits for it, inside its latency)."""
        if len(self.ready) < CHUNK_BATCHES // 2 and self.refill is None:
            self.refill = asyncio.get_running_loop().create_task(asyncio.to_thread(self._chunk))
        if not self.ready:
            await asyncio.shield(self.refill)
        if self.refill is not None and self.refill.done():
            task, self.refill = self.refill, None
            self.ready += task.result()
        return self.ready.pop(0)


class InvocationFailed(Exception):
    """The handler raised, or returned batchItemFailures (records Lambda would retry): a failed operation."""


async def prepare_stream_invocations(ctx: RunContext, concurrency: int, path: HotPath, rate_per_s: float,
                                     shard: tuple[int, int] = (0, 1)) -> PreparedOperation:
    """The lambda_core driver for `path.function`: see the module docstring. `concurrency` bounds the in-flight
    invocations together with the mapping's shards x parallelization; `rate_per_s` is the rate source's records/s
    at the run's top stage (it sizes the batches); `shard` = (k, n): worker k's batches of n."""
    target = stream_function(ctx, path)
    function = target.function
    base = f"{ctx.target.api_url.rstrip('/')}{LAMBDA_PREFIX}/{ctx.stack}/{ctx.env}"
    url = f"{base}/2015-03-31/functions/{function.function_name}/invocations"
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=function.timeout_s + INVOKE_TIMEOUT_MARGIN_S))
    try:
        warm = f"{ctx.target.api_url.rstrip('/')}{WARM_PATH}/{ctx.stack}/{ctx.env}"
        try:
            async with session.post(warm, params={"function": function.function_name},
                                    timeout=aiohttp.ClientTimeout(total=120)) as response:
                status, answer = response.status, (await response.json() if response.status == 200 else {})
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise LoadgenError(f"the local API emulator did not answer while starting {function.key} of "
                               f"{ctx.stack}/{ctx.env} ({type(exc).__name__}); `loadgen local up` restarts "
                               "it") from None
        if status != 200:
            raise LoadgenError(f"the local API emulator could not start {function.key} of {ctx.stack}/{ctx.env} "
                               f"(HTTP {status}); see its log in the local target's state folder")
        unreachable = answer.get("unreachable", {}).get(function.function_name, {})
        batches = Batches(ctx, path, target, shard,
                          records_per_invocation(target.mapping, target.concurrency, rate_per_s))
        await asyncio.to_thread(batches.prime)
    except BaseException:
        await session.close()
        raise
    duration = HotPathRecorder(function.function_name)
    counts = {"records": 0, "failed_records": 0}

    async def invoke(i: int) -> bool:
        event = await batches.next()
        async with session.post(url, data=event, headers={"content-type": "application/json"}) as response:
            body = await response.read()
            if response.status != 200:
                raise LoadgenError(f"Invoke answered HTTP {response.status}: {body[:200].decode(errors='replace')}")
            handler_ms = float(response.headers[DURATION_HEADER])
            error = response.headers.get("X-Amz-Function-Error")
        answer = json.loads(body or b"null")
        duration.record(handler_ms / 1000.0, ok=error is None)
        counts["records"] += batches.batch_size
        if error:
            raise InvocationFailed(f"{answer.get('errorType')}: {answer.get('errorMessage')}")
        failures = (answer.get("batchItemFailures") or []) if isinstance(answer, dict) else []
        if failures:
            counts["failed_records"] += len(failures)
            raise InvocationFailed(f"batchItemFailures reported by {function.key}")
        return True

    async def finish(elapsed_s: float) -> Finished:
        return Finished({"function": function.function_name, "event_source_mapping": target.mapping.address,
                         "batch_size": batches.batch_size, "max_in_flight": min(concurrency, target.concurrency),
                         **counts, **({"unreachable_locally": unreachable} if unreachable else {})}, duration=duration, not_measured=unmeasured_alarms(ctx, path, function))

    async def close() -> None:
        if batches.refill is not None:
            await asyncio.gather(batches.refill, return_exceptions=True)
        await session.close()

    return PreparedOperation(invoke, min(concurrency, target.concurrency), finish, close,
                             records_per_op=batches.batch_size)
