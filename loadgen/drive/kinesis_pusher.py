"""Pushes a stack's Kinesis records at the env's rates: open loop, batched PutRecords, every record accounted.

Where it sits: fleet_models (what the fleet reports) -> profiles (how much of it per env) -> this pusher (PutRecords
into the stack's streams on the local target or AWS) -> run_summary (one hot path per stream, judged by the
stream's `kinesis_incoming_records` alarm, which sees the load offered at the top stage's rate, delivered or
not: delivery is judged by measure.validate_summary) and shard_model (which shards would be throttled on AWS).

How a run goes:
- Generation: the profile's domain model emits records in `slice_s` (1 s) slices of simulated time, starting at
  the model's busiest moment (`config.peak_time_s`), one slice ahead of the wall clock and never more than
  `max_backlog` records ahead of what has been sent. Each record is due at its intended time. Generation runs in
  a process of its own (drive.generation_process), which also sorts, sizes, shard-maps and encodes the records
  as PutRecords entries, and hands them over in pieces: the event loop only appends a ready piece. The first
  slice is made before the start.
- `rate_scale` and the ramp scale simulated time, not the record set: simulated time runs at rate_scale x each
  stage's fraction of wall time (drive.ramp.RampPlan.wall_times), so every stream's rate is the profile's rate x
  scale x fraction, deterministically (the same seed gives the same records in the same order), with no
  per-record thinning work. What changes is the fleet's pace: at 0.5 a vehicle reporting every 10 s reports every
  20 s of wall time (payload timestamps are simulated time).
- Timing is the one scheduler's (drive.scheduler.drive: this pusher is its `Work`): it wakes at each record's
  intended time, hands out every record due by then (a hand-out more than 1 ms late is a late start, as for every
  hot path) and drains at the end. What happens to handed-out records is the pusher's:
- Batching: the handed-out records of one stream go out in one PutRecords call once 500 of them are due, or the
  call would exceed 5 MiB, or the oldest has waited `linger_s` (as the KPL's RecordMaxBufferedTime). Limits are
  `PutLimits` (AWS has raised them before); a record whose data + partition key exceed the per-record limit is
  counted failed with code `RecordTooLarge` and never sent. Calls run concurrently, at most `max_in_flight`;
  when all are busy, due records wait and that wait is part of their latency.
- Retries: records a response marks failed (ProvisionedThroughputExceededException, InternalFailure) and the
  records of a call that failed as a whole (connection error, 5xx, throttling) are retried per record after a
  jittered exponential backoff (full jitter, seeded), up to `max_attempts` attempts in all. Call-level errors
  that no retry can fix (ResourceNotFoundException, AccessDenied, validation) fail the records at once. Records
  that finally fail are counted and written to the failures file (JSON lines: stream, partition key, error code,
  attempts, intended offset; never the payload).
- Latency: per record, from its intended time to the acknowledgement of the call that carried it (open loop, so
  a stall of the target or of this process shows up in every record it delayed), into the stream's recorder
  `<stream>_stream`; per call, its round trip, into `<stream>_stream_put_records`.
- End: after the schedule, sending continues until every record is acknowledged or failed, bounded by
  `drain_timeout_s` (default: the scheduler's `drain_timeout` of the plan); what is still unfinished then is
  `in_flight`. On a stop (validate's SIGINT/SIGTERM) or a
  cancellation (Ctrl-C on `push kinesis`) generation stops, records already due are flushed and in-flight calls
  awaited for the scheduler's stop drain; the outcome is returned with `aborted = True` and whatever did not
  finish is `in_flight`. Always: generated == acknowledged + failed +
  in_flight (checked; a mismatch raises).

What a batch is, what an answer means for each record and the accounting are drive.put_records_batches' (the
Locust KinesisUser runs the same code); PutRecords goes through drive.kinesis_client (the body a slice of a
generated piece, signed as botocore's SigV4 signer would, posted on a keep-alive pool, no per-record work; it
does no retries, the pusher retries per record); streams are created with aiobotocore.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from aiobotocore.session import AioSession

from loadgen.drive.generation_process import GenerationProcess, Piece, Setup
from loadgen.drive.kinesis_client import PutRecordsClient
from loadgen.drive.put_records_batches import (DEFAULT_LINGER_S, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_IN_FLIGHT,
                                               RECORD_TOO_LARGE, Chunk, PutLimits, PutRecordsError, Retries, Retry,
                                               Span, StreamCounts, accounting, failure_line, ready_retries, settle,
                                               stream_result, streams_of)
from loadgen.drive.ramp import RampPlan
from loadgen.drive.scheduler import TICK_S, clock, drain_timeout, drive, frozen_heap
from loadgen.errors import LoadgenError
from loadgen.target.local_resources import create_streams
from loadgen.measure.recorder import HotPathRecorder
from loadgen.run_context import RunContext
from loadgen.measure.run_summary import HotPathResult
from loadgen.measure.shard_model import ShardLoad
from loadgen.measure.staged_recorder import StagedRecorder, is_throttle

RECORD_EVERY = 2000
RECORD_AGE_S = 0.2
"""Acknowledged records go into the recorder at a tick, once a stream has RECORD_EVERY of them or its oldest
acknowledgement is RECORD_AGE_S old: recording a call's few hundred took ~0.35 ms of the loop (numpy's fixed
costs, traced at fleet_telematics' prod peak), a late start for what fell due meanwhile; thousands at once cost
about the same. The live display's figures are at most that stale; the run's are complete (all recorded at the
end)."""


@dataclass
class PushOutcome:
    """What a push leaves: one hot path per stream (+ one per stream for PutRecords calls), the accounting, the
    shard model and the failures file."""

    results: list[HotPathResult]
    accounting: dict
    """{generated, acknowledged, failed, in_flight} over all streams, plus `per_stream` and the in-flight split."""
    shards: dict[str, dict]
    """Stream key -> shard_model report (per-shard rates, hot shards and their excess)."""
    failures_path: Path
    duration_s: float
    """The scheduled duration (records were due over [0, duration_s) of wall time)."""
    elapsed_s: float
    """Wall time from the start to the end of the drain (or of the abort flush)."""
    aborted: bool
    streams: dict[str, str]
    """Stream key (profile) -> stream name on the target."""
    rate_scale: float
    target_records_per_s: float
    achieved_records_per_s: float
    generation_error: str | None = None
    """Why generation ended early (the run was stopped for it), or None."""

    def summary_fields(self) -> dict:
        """Keys to add to summary.json (build_summary's keys stay as they are; these extend them)."""
        return {"accounting": self.accounting, "shards": self.shards, "failures_file": self.failures_path.name,
                "aborted": self.aborted, "rate_scale": self.rate_scale, "elapsed_s": round(self.elapsed_s, 3),
                "target_records_per_s": round(self.target_records_per_s, 3),
                "achieved_records_per_s": round(self.achieved_records_per_s, 3),
                "streams": self.streams}


@dataclass
class _Stream(StreamCounts):
    key: str
    name: str
    target_rate: float
    recorder: StagedRecorder
    call_recorder: HotPathRecorder
    load: ShardLoad | None
    chunks: deque = field(default_factory=deque)
    """Chunks with records not yet in a call, in due order."""
    unhanded: deque = field(default_factory=deque)
    """Chunks with records not yet handed out, in due order (a tail of `chunks`)."""
    retries: list[Retry] = field(default_factory=list)
    scheduled_per_stage: list[int] = field(default_factory=list)
    """Records generated for each ramp stage (by intended time): the load offered."""
    acked: list = field(default_factory=list)
    """(intended offsets, acknowledgement offset) of acknowledged records not yet in the recorder."""
    acked_n: int = 0

    def record_acked(self) -> None:
        """Put the acknowledged records into the recorder, all calls' worth at once."""
        if self.acked:
            due = np.concatenate([d for d, _ in self.acked])
            self.recorder.record_many(due, np.concatenate([t - d for d, t in self.acked]))
            self.acked.clear()
            self.acked_n = 0

    def in_flight(self) -> int:
        return self.queued + self.sending


class _Pusher:
    def __init__(self, ctx: RunContext, client: Any, plan: RampPlan, rate_scale: float, limits: PutLimits,
                 max_attempts: int, failures: Any, max_in_flight: int, linger_s: float, slice_s: float,
                 max_backlog: int, seed: int, only: frozenset[str] | None):
        self.ctx, self.client, self.plan, self.scale = ctx, client, plan, rate_scale
        self.duration_s = plan.total_s
        self.limits, self.max_attempts, self.failures = limits, max_attempts, failures
        self.linger_s, self.slice_s, self.max_backlog = linger_s, slice_s, max_backlog
        self.rng = random.Random(seed)
        self.max_in_flight = max_in_flight
        self.calls_in_flight = 0
        self.turn = 0
        """The stream whose ready batch goes first at the next tick."""
        self.tasks: set[asyncio.Task] = set()
        self.clock = clock
        self.began = 0.0
        self.generation_done = False
        self.last_ack = 0.0
        self.generation_error: str | None = None
        self.streams: dict[str, _Stream] = {}
        for demand, definition in streams_of(ctx, only):
            name = f"{demand.name}_stream"
            self.streams[demand.name] = _Stream(
                demand.name, definition.name, demand.peak_rps * rate_scale * plan.top_fraction,
                StagedRecorder(name, plan.starts_s, plan.total_s),
                HotPathRecorder(f"{name}_put_records"),
                ShardLoad(demand.name, definition.shard_count) if definition.shard_count else None,
                scheduled_per_stage=[0] * len(plan.durations_s))
        self.stream_list = list(self.streams.values())
        """The streams as a list: the loop's tick reads it without building one each time."""

    def setup(self, config: Any) -> Setup:
        """What the generation process needs to make this push's records."""
        return Setup(config, self.plan, self.scale, {k: s.load.shard_count if s.load else None
                                                     for k, s in self.streams.items()},
                     self.limits, self.slice_s)

    # -- accounting --------------------------------------------------------------------------------------------

    def backlog(self) -> int:
        return sum(x.in_flight() for x in self.streams.values())

    def _fail(self, s: _Stream, key: str, due: float, code: str, attempts: int, now: float) -> None:
        """A record that finally failed, counted already (StreamCounts.fail): its latency and its line."""
        s.recorder.record(due, max(now - due, 0.0), ok=False, cause=code)
        self.failures.write(failure_line(s.key, s.name, key, code, attempts, due))

    # -- generation --------------------------------------------------------------------------------------------

    async def first_slice(self, source: GenerationProcess) -> None:
        """Before the start: the first slice, so that records due in the run's first second are not waiting for
        their own generation."""
        async for piece in source.slice(0):
            self._enqueue(piece, 0.0)

    async def produce(self, source: GenerationProcess, stop: asyncio.Event) -> None:
        """Ask for slice after slice (after the first), one slice ahead of the clock and at most max_backlog
        records ahead, and append each piece as it arrives. A generation process that fails stops the run
        (`stop`), with its cause in `generation_error`."""
        slices = math.ceil(self.duration_s / self.slice_s - 1e-9)
        try:
            for k in range(1, slices):
                while (self.clock() - self.began < (k - 1) * self.slice_s
                       or self.backlog() > self.max_backlog):
                    await asyncio.sleep(TICK_S)
                async for piece in source.slice(k):
                    self._enqueue(piece, self.clock() - self.began)
        except LoadgenError as exc:
            self.generation_error = str(exc)
            stop.set()
        finally:
            self.generation_done = True

    def _enqueue(self, piece: Piece, now: float) -> None:
        s = self.streams[piece.stream]
        s.generated += piece.n + len(piece.too_large)
        s.offered_bytes += int(piece.sizes.sum())
        for k, count in enumerate(piece.per_stage.tolist()):
            s.scheduled_per_stage[k] += count
        for key, due in piece.too_large:
            s.fail(RECORD_TOO_LARGE)
            self._fail(s, key, due, RECORD_TOO_LARGE, 0, now)
        if piece.shards is not None:
            s.load.add_indexed(piece.shards, piece.sizes)
        if piece.n:
            chunk = Chunk(piece)
            s.chunks.append(chunk)
            s.unhanded.append(chunk)
            s.queued += piece.n

    # -- sending -----------------------------------------------------------------------------------------------

    def _launch(self, s: _Stream, joined: bytes | memoryview, records: Span | Retries, due: np.ndarray,
                sizes: np.ndarray, attempts: list[int] | None) -> None:
        n = len(due)
        s.queued -= n
        s.sending += n
        self.calls_in_flight += 1
        task = asyncio.get_running_loop().create_task(self._call(s, joined, records, due, sizes, attempts))
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        self.calls_in_flight -= 1

    async def _call(self, s: _Stream, joined: bytes | memoryview, records: Span | Retries, due: np.ndarray,
                    sizes: np.ndarray, attempts: list[int] | None) -> None:
        n = len(due)
        started = self.clock()
        code = None
        response = None
        try:
            response = await self.client.put_records(s.name, joined, n)
        except PutRecordsError as exc:
            code = exc.code
        except (OSError, asyncio.TimeoutError, ValueError) as exc:
            code = type(exc).__name__
        ended = self.clock()
        now = ended - self.began
        settled = settle(s, response, code, sizes, attempts, self.max_attempts, self.rng)
        s.call_recorder.record(ended - started, ok=settled.acknowledged is None)
        acked = due if settled.acknowledged is None else due[settled.acknowledged]
        if len(acked):
            s.acked.append((acked, now))
            s.acked_n += len(acked)
            self.last_ack = now
        for i, error, tries, delay in settled.retry:
            s.retries.append(Retry(now + delay, records.entry(i), records.key(i), float(due[i]), tries, int(sizes[i])))
            if is_throttle(error):
                s.recorder.throttled(now)
        for i, error, tries in settled.failed:
            self._fail(s, records.key(i), float(due[i]), error, tries, now)
        if settled.retry:
            s.retries.sort(key=lambda r: r.ready_at)

    # -- the scheduler's view (drive.scheduler.Work) -----------------------------------------------------------

    def next_due(self) -> float | None:
        dues = [float(s.unhanded[0].due[s.unhanded[0].handed]) for s in self.streams.values() if s.unhanded]
        return self.began + min(dues) if dues else None

    def hand_out(self, now: float, late_before: float) -> list[tuple[StagedRecorder, int]]:
        handed = []
        rel, late_rel = now - self.began, late_before - self.began
        for s in self.streams.values():
            while s.unhanded:
                c = s.unhanded[0]
                if c.due[c.handed] > rel:
                    break
                end = int(c.due.searchsorted(rel, side="right"))
                late = int(c.due.searchsorted(late_rel, side="left")) - c.handed if c.due[c.handed] < late_rel else 0
                handed.append((s.recorder, late))
                c.handed = end
                if c.handed < c.n:
                    break
                s.unhanded.popleft()
        return handed

    def _ready(self, s: _Stream) -> Chunk | None:
        """The first chunk with records handed out and not yet in a call (hand-outs go chunk by chunk, so only
        the first chunk not fully sent can be it)."""
        chunks = s.chunks
        while chunks and chunks[0].pos >= chunks[0].n:
            chunks.popleft()
        return chunks[0] if chunks and chunks[0].pos < chunks[0].handed else None

    def wake_at(self) -> float | None:
        times = []
        for s in self.streams.values():
            c = self._ready(s)
            if c is not None:
                full = c.handed - c.pos >= self.limits.max_records or c.handed == c.n
                times.append(clock() if full else self.began + float(c.due[c.pos]) + self.linger_s)
            if s.retries:
                times.append(self.began + s.retries[0].ready_at)
        if times and self.calls_in_flight >= self.max_in_flight:
            return min(min(times), clock() + TICK_S)  # look again soon: a call may free a slot before then
        return min(times) if times else None

    def tick(self, now: float, flushing: bool) -> None:
        """Send what is ready: while records are being handed out, one call per tick, the streams taking turns
        (a call costs the loop ~0.5 ms, so a burst of them would make the next hand-out late; the scheduler
        hands out between two calls); when flushing, everything."""
        rel = now - self.began
        streams = self.stream_list
        for s in streams:
            if s.acked_n >= RECORD_EVERY or (s.acked and rel - s.acked[0][1] > RECORD_AGE_S):
                s.record_acked()
                break  # one stream's worth per tick: the loop hands out between two
        for k in range(len(streams)):
            s = streams[(self.turn + k) % len(streams)]
            while self.calls_in_flight < self.max_in_flight and (self._send_retries(s, rel)
                                                                  or self._send_handed(s, rel, flushing)):
                if not flushing:
                    self.turn = (self.turn + k + 1) % len(streams)
                    return

    def exhausted(self) -> bool:
        return self.generation_done and not any(s.unhanded for s in self.streams.values())

    def outstanding(self) -> int:
        """Handed out (or retrying) and not finished: what the drain waits for."""
        return sum(s.sending + len(s.retries) + sum(c.handed - c.pos for c in s.chunks)
                   for s in self.streams.values())

    async def abandon(self) -> int:
        """Cancel the calls still running (their records stay counted as in flight)."""
        outstanding = self.outstanding()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        return outstanding

    def _send_retries(self, s: _Stream, now: float) -> bool:
        if not s.retries or s.retries[0].ready_at > now:
            return False
        ready = ready_retries(s.retries, now, self.limits)
        self._launch(s, b",".join(r.entry for r in ready), Retries(ready), np.array([r.due for r in ready]),
                     np.array([r.size for r in ready], dtype=np.int64), [r.attempts + 1 for r in ready])
        return True

    def _send_handed(self, s: _Stream, now: float, flushing: bool) -> bool:
        """Send one batch of the stream's handed-out records if one is ready (Chunk.batch_end). True when a call
        was launched."""
        c = self._ready(s)
        if c is None:
            return False
        end = c.batch_end(now, self.limits, self.linger_s, flushing)
        if end is None:
            return False
        a, c.pos = c.pos, end
        self._launch(s, c.joined(a, end), Span(c, a), c.due[a:end], c.sizes[a:end], None)
        return True


class KinesisDriver:
    """The `kinesis_stream` driver: every stream of the stack, prepared (client open, streams created from
    Terraform on the local target, failures file open, the generation process started, its model built and the
    first slice made) before the shared start, then pushed through the plan; see the module docstring. `streams`
    limits it to those stream keys (a harness process's share)."""

    def __init__(self, ctx: RunContext, plan: RampPlan, rate_scale: float = 1.0,
                 watch: Callable[[StagedRecorder], None] | None = None, limits: PutLimits = PutLimits(),
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, failures_path: Path | None = None, *,
                 max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
                 linger_s: float = DEFAULT_LINGER_S, slice_s: float = 1.0, drain_timeout_s: float | None = None,
                 max_backlog: int = 200_000, create_on_target: bool | None = None,
                 seed: int = 1, streams: frozenset[str] | None = None):
        if not (rate_scale > 0 and np.isfinite(rate_scale)):
            raise LoadgenError(f"--rate-scale must be a positive number, got {rate_scale}")
        if max_attempts < 1:
            raise LoadgenError("max_attempts must be at least 1")
        self.ctx, self.plan, self.rate_scale, self.watch = ctx, plan, rate_scale, watch
        self.limits, self.max_attempts, self.max_in_flight = limits, max_attempts, max_in_flight
        self.linger_s, self.slice_s, self.max_backlog, self.seed = linger_s, slice_s, max_backlog, seed
        self.drain_timeout_s = drain_timeout(plan.total_s) if drain_timeout_s is None else drain_timeout_s
        self.only = streams
        self.create = create_on_target if create_on_target is not None else ctx.target.kind == "local"
        self.failures_path = failures_path or ctx.run_dir / "kinesis_failures.jsonl"
        self.resources = AsyncExitStack()
        self.source = GenerationProcess()
        self.pusher: _Pusher | None = None
        self.generation_cpu_s = 0.0
        """CPU seconds the generation process used during the run (set when the run ends)."""

    async def prepare(self) -> None:
        self.failures_path.parent.mkdir(parents=True, exist_ok=True)
        if self.create:
            await create_target_streams(self.ctx)
        client = PutRecordsClient(self.ctx.target, self.max_in_flight)
        self.resources.push_async_callback(client.close)
        failures = self.resources.enter_context(open(self.failures_path, "w"))
        self.pusher = _Pusher(self.ctx, client, self.plan, self.rate_scale, self.limits, self.max_attempts,
                              failures, self.max_in_flight, self.linger_s, self.slice_s, self.max_backlog, self.seed,
                              self.only)
        self.resources.push_async_callback(self.source.close)
        await self.source.start(self.pusher.setup(self.ctx.profile.config()))
        await self.pusher.first_slice(self.source)
        for s in self.pusher.streams.values():
            if self.watch:
                self.watch(s.recorder)

    async def close(self) -> None:
        await self.resources.aclose()

    async def run(self, began: float | None = None, stop: asyncio.Event | None = None) -> PushOutcome:
        """Push through the plan on the one scheduler (drive.scheduler.drive). Once `stop` is set, or the task is
        cancelled (Ctrl-C on `push kinesis`), generation stops, what was due is flushed for up to the stop drain,
        and the outcome says `aborted`; a second cancellation ends the flush."""
        pusher, duration_s = self.pusher, self.plan.total_s
        stop = stop if stop is not None else asyncio.Event()
        pusher.began = clock() if began is None else began
        generation_cpu0 = self.source.cpu_s()
        loop = asyncio.get_running_loop()
        producer = loop.create_task(pusher.produce(self.source, stop))
        stopper = loop.create_task(stop.wait())
        stopper.add_done_callback(lambda _: producer.cancel())
        driving = loop.create_task(drive(pusher, stop, self.drain_timeout_s))
        try:
            try:
                await asyncio.shield(driving)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                stop.set()
                try:
                    await asyncio.shield(driving)
                except asyncio.CancelledError:  # a second Ctrl-C: stop flushing
                    if task is not None:
                        task.uncancel()
                    driving.cancel()
                    await asyncio.gather(driving, return_exceptions=True)
        finally:
            stopper.cancel()
            producer.cancel()
            await asyncio.gather(producer, stopper, return_exceptions=True)
            await pusher.abandon()
            for s in pusher.streams.values():
                s.record_acked()
            self.generation_cpu_s = self.source.cpu_s() - generation_cpu0
            await self.source.close()
        elapsed = pusher.clock() - pusher.began
        outcome = _outcome(self.ctx, pusher, self.failures_path, duration_s, elapsed, stop.is_set(), self.rate_scale)
        outcome.generation_error = pusher.generation_error
        return outcome


async def create_target_streams(ctx: RunContext) -> None:
    """The stack's streams on ctx's target, from Terraform (those that exist are left as they are)."""
    async with AioSession().create_client("kinesis", **ctx.target.client_kwargs()) as kinesis:
        await create_streams(ctx.resolved, kinesis)


async def push_kinesis(ctx: RunContext, plan: RampPlan, rate_scale: float = 1.0,
                       watch: Callable[[StagedRecorder], None] | None = None, stop: asyncio.Event | None = None,
                       **options: Any) -> PushOutcome:
    """`loadgen push kinesis`: the profile's Kinesis records through the plan's stages at its rates x
    `rate_scale` into the stack's streams on ctx.target (options: KinesisDriver's); setting `stop` ends it early
    with every record accounted for (the outcome says aborted)."""
    driver = KinesisDriver(ctx, plan, rate_scale, watch, **options)
    try:
        await driver.prepare()
        with frozen_heap():
            return await driver.run(stop=stop)
    finally:
        await driver.close()


def _outcome(ctx: RunContext, pusher: _Pusher, failures_path: Path, duration_s: float, elapsed: float,
             aborted: bool, rate_scale: float) -> PushOutcome:
    counted = accounting({s.key: s for s in pusher.streams.values()})
    span = max(pusher.last_ack, duration_s) if not aborted else max(elapsed, 1e-9)
    results, shards = [], {}
    for s in pusher.streams.values():
        results.append(stream_result(s.recorder, s.name, s, s.target_rate, span,
                                     s.load.shard_count if s.load else None, s.scheduled_per_stage))
        # the call recorder is its own (undeclared) hot path: GetRecords.Latency alarms are not about PutRecords
        results.append(HotPathResult(s.call_recorder.name, s.call_recorder.name, s.call_recorder,
                                     s.target_rate / pusher.limits.max_records if s.target_rate else None,
                                     s.calls / span, extra={"stream_name": s.name}))
        shards[s.key] = (s.load.report(duration_s) if s.load else
                         {"stream": s.key, "shard_count": None, "note": "ON_DEMAND: no fixed shard count"})
    target = sum(s.target_rate for s in pusher.streams.values())
    return PushOutcome(results, counted, shards, failures_path, duration_s, elapsed, aborted,
                       {s.key: s.name for s in pusher.streams.values()}, rate_scale, target,
                       counted["acknowledged"] / span)
