"""The one scheduler: drives an operation at its intended times (open loop, the default) or as fast as N clients
can (closed loop), and records every finished operation.

Open loop, as wrk2 does: operation i is due at offsets[i] (from a RampPlan: constant spacing through the ramp's
stages, or the fleet model's own times) whether or not earlier ones have finished, and its latency is measured
from that intended time, so a stall of the system under test shows up in every operation it delayed
(coordinated omission corrected). Each wake-up hands out every operation already due (one searchsorted over the
schedule, no per-operation sleep), so the scheduler keeps up at tens of thousands of operations per second; one
handed out more than LATE_START_S after its intended time is a late start, whatever its hot path. Nothing slow
runs in this loop: no percentile, no progress output, no file write (the live display reads the recorders'
snapshots from its own thread). Closed loop: N clients each run the next operation when the previous one
returns, latency from the actual start; that measures maximum throughput and, by design, hides stalls. Both loops
are bounded in operation count and in time; outstanding operations past the drain bound are cancelled and
counted as failed (cause `drain timeout`).
"""

from __future__ import annotations

import asyncio
import gc
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Coroutine, Protocol

import numpy as np
import uvloop

from loadgen.measure.staged_recorder import StagedRecorder

Operation = Callable[[int], Awaitable[bool]]
"""One operation: called with its sequence number, returns True on success (raises or False on failure)."""

LATE_START_S = 0.001
TICK_S = 0.002
"""How often the scheduler looks again when it waits on something without a time (generation, a free call)."""
SPIN_S = 0.002
"""The event loop's timers wake up to ~1 ms late; the last SPIN_S before an intended time is waited out in
SPIN_STEP_S steps of a precise thread sleep, answering I/O between steps, so an operation starts on time and its
latency is not inflated by timer slack."""
SPIN_STEP_S = 0.0002
"""A step of that wait: the thread sleeps (releasing the GIL and the core to a generation thread or another
process), then the loop handles whatever I/O arrived; a busy-wait would burn the core the harness shares."""
HAND_OUT_GRAIN_S = 0.00025
"""Hand-outs are at least this far apart: at tens of thousands of operations per second each wake-up hands out
a group (every operation due by then) instead of one or two, so scheduling costs a fraction of the core. An
operation waits at most this long for its group (in its latency, and well under LATE_START_S)."""
DRAIN_TIMEOUT_S = 30.0
DRAIN_MIN_S = 10.0
"""After a schedule's end, outstanding operations may still finish for as long as the schedule ran, between these
bounds (k6's gracefulStop is 30 s): one still outstanding then is counted failed (`drain timeout`). A short run on
a target it overloads ends seconds after its schedule, not half a minute."""
STOP_DRAIN_S = 5.0
"""After a stop (SIGINT/SIGTERM), how long outstanding operations may still finish."""
clock = time.perf_counter
"""Every latency is read from this one monotonic high-resolution clock (not loop.time(): uvloop caches it to
the millisecond)."""


@dataclass(frozen=True)
class ClosedLoop:
    concurrency: int
    duration_s: float
    max_ops: int = 10_000_000


@dataclass(frozen=True)
class LoopResult:
    started_at: float
    """Wall-clock (epoch) time the loop began."""
    elapsed_s: float
    achieved_rate: float
    cancelled: int
    """Operations still outstanding at the drain deadline, cancelled and counted as errors."""


class Work(Protocol):
    """A driver's work as the one scheduler drives it (every time is a `clock()` reading). The scheduler owns
    timing (when to wake), lateness (counted at hand-out) and the drain (bounded); how handed-out work is sent
    (one task per operation, records batched into calls, retries) is the driver's."""

    def next_due(self) -> float | None:
        """Intended time of the first work not handed out yet; None when none is known (yet)."""

    def hand_out(self, now: float, late_before: float) -> list[tuple[StagedRecorder, int]]:
        """Hand out everything due by `now`; returns, per recorder, how many of them were due before
        `late_before` (the scheduler's late starts)."""

    def wake_at(self) -> float | None:
        """The driver's own next deadline (a batch's linger, a retry's backoff), if any."""

    def tick(self, now: float, flushing: bool) -> None:
        """Send what is ready (flushing: everything handed out, without waiting to fill a batch)."""

    def exhausted(self) -> bool:
        """Nothing more will be due beyond what was handed out."""

    def outstanding(self) -> int:
        """Handed-out work not finished yet."""

    async def abandon(self) -> int:
        """At the drain bound: give up what is outstanding (counted by the driver); returns how many."""


def drain_timeout(duration_s: float) -> float:
    """The drain bound of a schedule `duration_s` long (see DRAIN_MIN_S)."""
    return min(DRAIN_TIMEOUT_S, max(DRAIN_MIN_S, duration_s))


async def drive(work: Work, stop: asyncio.Event | None = None, drain_timeout_s: float = DRAIN_TIMEOUT_S) -> int:
    """Drive `work` open loop until it is exhausted (or `stop` is set), then drain it for at most
    drain_timeout_s (STOP_DRAIN_S after a stop); returns how many were abandoned at the bound."""
    last = -float("inf")
    while not (stop is not None and stop.is_set()):
        due = work.next_due()
        if due is None and work.exhausted():
            break
        wake = work.wake_at()
        times = [t for t in (due, wake) if t is not None]
        if not times:  # waiting for work to be generated
            await _sleep_unless(stop, TICK_S)
            continue
        target = max(min(times), last + HAND_OUT_GRAIN_S)
        delay = target - clock()
        if delay > SPIN_S:
            await _sleep_unless(stop, delay - SPIN_S)
            continue  # look again: something may have fallen due or been generated meanwhile
        await _spin_until(target)
        last = clock()
        _hand_out(work, last)
        work.tick(clock(), False)
        await asyncio.sleep(0)
    stopped = stop is not None and stop.is_set()
    _hand_out(work, clock())  # what fell due is flushed too, even after a stop
    deadline = clock() + (STOP_DRAIN_S if stopped else drain_timeout_s)
    while work.outstanding() and clock() < deadline:
        work.tick(clock(), True)
        await asyncio.sleep(TICK_S)
    return await work.abandon() if work.outstanding() else 0


_spin_targets: dict[object, float] = {}
"""The intended times the drive loops of this process are spinning towards (several hot paths share a loop)."""


async def _spin_until(target: float) -> None:
    """Wait out the last SPIN_S before `target`: precise thread sleeps of at most SPIN_STEP_S, never past the
    earliest target any drive loop here is spinning towards (a sleep holds up the whole event loop), with the
    loop's I/O and the other loops run between steps."""
    token = object()
    _spin_targets[token] = target
    try:
        while target - clock() > 0:
            step = min(min(_spin_targets.values()) - clock(), SPIN_STEP_S)
            if step > 0:
                time.sleep(step)
            await asyncio.sleep(0)
    finally:
        del _spin_targets[token]


def run_async(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a measuring coroutine on uvloop (the event loop's own overhead is part of every measured operation)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


@contextmanager
def frozen_heap():
    """Around a run: what set-up left alive (the parsed Terraform, the models' state) is collected once and then
    kept out of the garbage collector's view (gc.freeze), so a collection during the run scans only what the run
    allocates instead of stalling the loop over the whole set-up; handed back to the collector afterwards."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _hand_out(work: Work, now: float) -> None:
    for recorder, late in work.hand_out(now, now - LATE_START_S):
        recorder.late_starts += late


def poisson_offsets(rate: float, duration_s: float, seed: int = 1) -> np.ndarray:
    """Poisson arrivals at `rate` over [0, duration_s): an alternative schedule to constant spacing."""
    gaps = np.random.default_rng(seed).exponential(1.0 / rate, int(rate * duration_s * 1.2) + 16)
    offsets = np.cumsum(gaps)
    return offsets[offsets < duration_s]


def cause_of(exc: BaseException) -> str:
    """A short, stable name for why an operation failed (counted per hot path in the summary)."""
    text = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _timed(op: Operation, i: int, intended: float, began: float, recorder: StagedRecorder) -> None:
    cause = None
    try:
        ok = bool(await op(i))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a failed operation is data (an error count and cause), not a crash
        ok, cause = False, cause_of(exc)
    recorder.record(intended - began, clock() - intended, ok, cause)


async def _sleep_unless(stop: asyncio.Event | None, delay: float) -> None:
    """Sleep `delay` seconds, waking early when `stop` is set."""
    if stop is None or delay < 0.05:
        await asyncio.sleep(delay)
        return
    try:
        await asyncio.wait_for(stop.wait(), delay)
    except TimeoutError:
        pass


class _Operations:
    """Rate-driven work: one task per operation, started at its intended time (at most max_in_flight at once:
    beyond that, starts wait on a semaphore and the wait counts as latency)."""

    def __init__(self, op: Operation, due: np.ndarray, recorder: StagedRecorder, max_in_flight: int, began: float):
        self.op, self.due, self.recorder, self.began = op, due, recorder, began
        self.gate = asyncio.Semaphore(max_in_flight)
        self.tasks: dict[asyncio.Task, float] = {}
        """Outstanding operations and their intended times."""
        self.next = 0

    def next_due(self) -> float | None:
        return float(self.due[self.next]) if self.next < len(self.due) else None

    def hand_out(self, now: float, late_before: float) -> list[tuple[StagedRecorder, int]]:
        end = int(np.searchsorted(self.due, now, side="right"))
        if end <= self.next:
            return []
        loop = asyncio.get_running_loop()
        for j in range(self.next, end):
            intended = float(self.due[j])
            task = loop.create_task(self._gated(j, intended))
            self.tasks[task] = intended
            task.add_done_callback(self.tasks.pop)
        late = max(int(np.searchsorted(self.due, late_before, side="left")) - self.next, 0)
        self.next = end
        return [(self.recorder, late)]

    async def _gated(self, i: int, intended: float) -> None:
        async with self.gate:
            await _timed(self.op, i, intended, self.began, self.recorder)

    def wake_at(self) -> float | None:
        return None

    def tick(self, now: float, flushing: bool) -> None:
        return None

    def exhausted(self) -> bool:
        return self.next >= len(self.due)

    def outstanding(self) -> int:
        return len(self.tasks)

    async def abandon(self) -> int:
        """Cancel what is outstanding and count it failed (latency: from its intended time to the cancellation)."""
        intended = dict(self.tasks)
        for task in intended:
            task.cancel()
        await asyncio.gather(*intended, return_exceptions=True)
        now = clock()
        for when in intended.values():
            self.recorder.record(when - self.began, now - when, ok=False, cause="drain timeout")
        self.recorder.cancelled += len(intended)
        return len(intended)


async def run_open_loop(op: Operation, offsets: np.ndarray, recorder: StagedRecorder, max_in_flight: int = 10_000,
                        began: float | None = None, drain_timeout_s: float | None = None,
                        stop: asyncio.Event | None = None) -> LoopResult:
    """Run op(i) at began + offsets[i] (sorted seconds), latency from each operation's intended time. `began`
    (a `clock()` reading) lets several hot paths share one start. After the last offset the outstanding
    operations get drain_timeout_s (default: `drain_timeout` of the schedule) to finish; once `stop` is set no
    operation is started and they get STOP_DRAIN_S."""
    began_wall = time.time()
    began = clock() if began is None else began
    offsets = np.asarray(offsets, dtype=np.float64)
    if drain_timeout_s is None:
        drain_timeout_s = drain_timeout(float(offsets[-1]) if offsets.size else 0.0)
    work = _Operations(op, began + offsets, recorder, max_in_flight, began)
    cancelled = await drive(work, stop, drain_timeout_s)
    elapsed = clock() - began
    return LoopResult(began_wall, elapsed, recorder.ops / max(elapsed, 1e-9), cancelled)


async def run_closed_loop(op: Operation, plan: ClosedLoop, recorder: StagedRecorder) -> LoopResult:
    """N clients, each running the next operation as soon as the previous one returns."""
    began_wall, began = time.time(), clock()
    deadline = began + plan.duration_s
    counter = iter(range(plan.max_ops))

    async def client() -> None:
        for i in counter:
            if clock() >= deadline:
                return
            await _timed(op, i, clock(), began, recorder)

    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(plan.concurrency))),
                           timeout=plan.duration_s + DRAIN_TIMEOUT_S)
    elapsed = clock() - began
    return LoopResult(began_wall, elapsed, recorder.ops / elapsed if elapsed > 0 else 0.0, 0)
