"""Drives an operation at a rate (open loop, the default) or as fast as N clients can (closed loop).

Open loop, as wrk2 does: operation i is due at its intended time (constant spacing or Poisson arrivals at the
target rate) whether or not earlier ones have finished, and its latency is measured from that intended time, so
a stall of the system under test shows up in every operation it delayed (coordinated omission corrected).
Starts that happen later than intended are counted. Closed loop: N clients each run the next operation when
the previous one returns, latency from the actual start; that measures maximum throughput and, by design,
hides stalls. Both loops are bounded in operation count and in time.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

import numpy as np

from loadgen.measure.recorder import HotPathRecorder

Operation = Callable[[int], Awaitable[bool]]
"""One operation: called with its sequence number, returns True on success (raises or False on failure)."""

LATE_START_S = 0.001
SPIN_S = 0.002
"""The event loop's timers wake up to ~1 ms late; the last SPIN_S before an intended time is spent yielding
instead of sleeping, so an operation starts on time and its latency is not inflated by timer slack."""
DRAIN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class OpenLoop:
    rate: float
    """Target operations per second."""
    duration_s: float
    arrivals: str = "constant"
    """`constant` spacing or `poisson` arrivals."""
    max_in_flight: int = 10_000
    """Operations allowed outstanding at once; beyond it, starts wait (and that wait counts as latency)."""
    seed: int = 1

    def intended_offsets(self) -> np.ndarray:
        """Seconds from the start at which each operation is due (bounded: rate x duration of them)."""
        count = int(math.floor(self.rate * self.duration_s))
        if self.arrivals == "poisson":
            gaps = np.random.default_rng(self.seed).exponential(1.0 / self.rate, count)
            offsets = np.cumsum(gaps)
            return offsets[offsets < self.duration_s]
        return np.arange(count) / self.rate


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
    target_rate: float | None
    achieved_rate: float
    cancelled: int
    """Operations still outstanding at the drain deadline, cancelled and counted as errors."""


async def _timed(op: Operation, i: int, start: float, recorder: HotPathRecorder, clock: Callable[[], float]) -> None:
    try:
        ok = bool(await op(i))
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - a failed operation is data (an error count), not a crash of the run
        ok = False
    recorder.record(clock() - start, ok)


async def run_open_loop(op: Operation, plan: OpenLoop, recorder: HotPathRecorder,
                        progress: Callable[[HotPathRecorder, float], None] | None = None) -> LoopResult:
    """Run op at plan.rate for plan.duration_s, latency from each operation's intended time."""
    loop = asyncio.get_running_loop()
    clock = time.perf_counter  # not loop.time(): uvloop's is cached at millisecond resolution
    offsets = plan.intended_offsets()
    gate = asyncio.Semaphore(plan.max_in_flight)
    tasks: set[asyncio.Task] = set()
    began_wall, began = time.time(), clock()
    next_progress = began + 0.5

    async def gated(i: int, intended: float) -> None:
        async with gate:
            await _timed(op, i, intended, recorder, clock)

    for i, offset in enumerate(offsets.tolist()):
        intended = began + offset
        delay = intended - clock()
        if delay > SPIN_S:
            await asyncio.sleep(delay - SPIN_S)
        while clock() < intended:
            await asyncio.sleep(0)
        if clock() - intended > LATE_START_S:
            recorder.late_starts += 1
        task = loop.create_task(gated(i, intended))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        if progress and clock() >= next_progress:
            progress(recorder, clock() - began)
            next_progress = clock() + 0.5
    cancelled = await _drain(tasks, recorder)
    elapsed = clock() - began
    span = max(elapsed, plan.duration_s)
    return LoopResult(began_wall, elapsed, plan.rate, recorder.ops / span, cancelled)


async def run_closed_loop(op: Operation, plan: ClosedLoop, recorder: HotPathRecorder,
                          progress: Callable[[HotPathRecorder, float], None] | None = None) -> LoopResult:
    """N clients, each running the next operation as soon as the previous one returns."""
    loop = asyncio.get_running_loop()
    clock = time.perf_counter
    began_wall, began = time.time(), clock()
    deadline = began + plan.duration_s
    counter = iter(range(plan.max_ops))

    async def client() -> None:
        for i in counter:
            if clock() >= deadline:
                return
            await _timed(op, i, clock(), recorder, clock)

    async def report() -> None:
        while clock() < deadline:
            await asyncio.sleep(0.5)
            progress(recorder, clock() - began)

    reporter = loop.create_task(report()) if progress else None
    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(plan.concurrency))),
                           timeout=plan.duration_s + DRAIN_TIMEOUT_S)
    if reporter:
        reporter.cancel()
    elapsed = clock() - began
    return LoopResult(began_wall, elapsed, None, recorder.ops / elapsed if elapsed > 0 else 0.0, 0)


async def _drain(tasks: set[asyncio.Task], recorder: HotPathRecorder) -> int:
    """Wait for outstanding operations up to DRAIN_TIMEOUT_S; cancel and count the rest as errors."""
    if not tasks:
        return 0
    done, pending = await asyncio.wait(set(tasks), timeout=DRAIN_TIMEOUT_S)
    for task in pending:
        task.cancel()
    recorder.errors += len(pending)
    recorder.ops += len(pending)
    return len(pending)
