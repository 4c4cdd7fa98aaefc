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
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

import numpy as np

from loadgen.measure.staged_recorder import StagedRecorder

Operation = Callable[[int], Awaitable[bool]]
"""One operation: called with its sequence number, returns True on success (raises or False on failure)."""

LATE_START_S = 0.001
SPIN_S = 0.002
"""The event loop's timers wake up to ~1 ms late; the last SPIN_S before an intended time is spent yielding
instead of sleeping, so an operation starts on time and its latency is not inflated by timer slack."""
DRAIN_TIMEOUT_S = 30.0
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


async def run_open_loop(op: Operation, offsets: np.ndarray, recorder: StagedRecorder, max_in_flight: int = 10_000,
                        began: float | None = None, drain_timeout_s: float = DRAIN_TIMEOUT_S,
                        stop: asyncio.Event | None = None) -> LoopResult:
    """Run op(i) at began + offsets[i] (sorted seconds), latency from each operation's intended time. `began`
    (a `clock()` reading) lets several hot paths share one start. Once `stop` is set no operation is started
    and the outstanding ones get STOP_DRAIN_S to finish."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(max_in_flight)
    tasks: dict[asyncio.Task, float] = {}
    """Outstanding operations and their intended times."""
    began_wall = time.time()
    began = clock() if began is None else began
    due = began + np.asarray(offsets, dtype=np.float64)
    n = len(due)

    async def gated(i: int, intended: float) -> None:
        async with gate:
            await _timed(op, i, intended, began, recorder)

    i = 0
    while i < n and not (stop is not None and stop.is_set()):
        delay = float(due[i]) - clock()
        if delay > SPIN_S:
            await _sleep_unless(stop, delay - SPIN_S)
            if stop is not None and stop.is_set():
                break
        while clock() < due[i]:
            await asyncio.sleep(0)
        now = clock()
        end = int(np.searchsorted(due, now, side="right"))
        recorder.late_starts += int(np.count_nonzero(now - due[i:end] > LATE_START_S))
        for j in range(i, end):
            task = loop.create_task(gated(j, float(due[j])))
            tasks[task] = float(due[j])
            task.add_done_callback(tasks.pop)
        i = end
        await asyncio.sleep(0)
    stopped = stop is not None and stop.is_set()
    cancelled = await _drain(tasks, recorder, began, STOP_DRAIN_S if stopped else drain_timeout_s)
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


async def _drain(tasks: dict[asyncio.Task, float], recorder: StagedRecorder, began: float, timeout_s: float) -> int:
    """Wait for outstanding operations up to timeout_s; cancel the rest and count them as failed (latency: from
    their intended time to the cancellation)."""
    if not tasks:
        return 0
    _, pending = await asyncio.wait(list(tasks), timeout=timeout_s)
    intended = {task: tasks[task] for task in pending}
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    now = clock()
    for when in intended.values():
        recorder.record(when - began, now - when, ok=False, cause="drain timeout")
    recorder.cancelled += len(pending)
    return len(pending)
