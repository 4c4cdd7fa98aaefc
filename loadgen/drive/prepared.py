"""A rate-driven hot path prepared on its target, and the bench commands' way of running one.

Where it sits: each rate-driven driver (drive.geo_bench, drive.matching_bench, drive.ddb_bench) returns a
PreparedOperation after its set-up; `loadgen validate` runs it through the ramp (drive.stack_run), and the bench
commands through `run_prepared` (one stage at a fixed rate, or closed loop).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Awaitable, Callable

from loadgen.drive.ramp import RampPlan
from loadgen.drive.scheduler import ClosedLoop, Operation, cause_of, run_closed_loop, run_open_loop
from loadgen.measure.recorder import HotPathRecorder
from loadgen.measure.run_summary import HotPathResult
from loadgen.measure.staged_recorder import StagedRecorder


@dataclass
class Finished:
    """What only the driver knows after a run."""

    extra: dict = field(default_factory=dict)
    """Hot-path specific summary keys (lost updates, assignments, members loaded...)."""
    counts_per_s: dict[str, float] = field(default_factory=dict)
    """Counted events per second that count alarms are about (e.g. ConditionalCheckFailedRequests)."""
    measured: dict[str, tuple[float, str]] = field(default_factory=dict)
    """Alarm metric -> (the run's value in the alarm's statistic and unit, how it was measured), for metrics
    the target reports itself (e.g. Redis' own per-call GEO latency)."""
    duration: HotPathRecorder | None = None
    """A Lambda function's own Duration per invocation, as its worker measured it around the handler call (the
    recorder is named after the function's function_name): the Duration alarms on that function judge it."""
    not_measured: dict[str, str] = field(default_factory=dict)
    """Alarm address -> why this run cannot measure it (listed with the reason, never judged)."""


@dataclass
class PreparedOperation:
    """A rate-driven hot path ready to run."""

    operation: Operation
    concurrency: int
    """Operations in flight at most (beyond it, starts wait and the wait counts as latency)."""
    finish: Callable[[float], Awaitable[Finished]]
    """Called with the elapsed seconds after the run."""
    close: Callable[[], Awaitable[None]]
    records_per_op: int = 1
    """Units of the rate source one operation carries (a stream function's batch of records): operations are due
    at the source's rate divided by this."""


async def finish_of(prepared: PreparedOperation, elapsed_s: float) -> Finished:
    """The driver's finish; when reading the outcome back fails (the target died), that failure as a
    `finish_error` the delivery checks fail the hot path on, instead of losing the run."""
    try:
        return await prepared.finish(elapsed_s)
    except Exception as exc:  # noqa: BLE001 - a dead target after the run is a finding of the run
        return Finished({"finish_error": cause_of(exc)})


async def run_prepared(prepared: PreparedOperation, name: str, declared: str, rate: float | None, duration_s: float,
                       watch: Callable[[StagedRecorder], None] | None = None) -> HotPathResult:
    """The bench commands' view: one prepared hot path for duration_s, open loop at `rate` (one stage) or closed
    loop (rate None, `prepared.concurrency` clients); the prepared resources are closed afterwards."""
    recorder = StagedRecorder(name, [0.0], duration_s)
    if watch:
        watch(recorder)
    try:
        if rate is None:
            loop = await run_closed_loop(prepared.operation, ClosedLoop(prepared.concurrency, duration_s), recorder)
        else:
            loop = await run_open_loop(prepared.operation, RampPlan.constant(duration_s).offsets(rate), recorder,
                                       prepared.concurrency)
        finished = await finish_of(prepared, loop.elapsed_s)
    finally:
        await prepared.close()
    return HotPathResult(name, declared, recorder.total(), rate, loop.achieved_rate,
                         counts_per_s=finished.counts_per_s, measured=finished.measured,
                         extra={**finished.extra, "concurrency": prepared.concurrency, "cancelled": loop.cancelled,
                                "elapsed_s": round(loop.elapsed_s, 3)}, staged=recorder)
