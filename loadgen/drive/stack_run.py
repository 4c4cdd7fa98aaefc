"""`loadgen validate`'s engine for one stack: every declared hot path prepared on the target (the rate-driven ones
concurrently, then the model-driven ones concurrently), then all of them
driven together through the profile's ramp, as the stack would receive them.

Where it sits: RunContext (stack, env, resolved tfvars, profile, target) + RampPlan -> the drivers (set-up
outside the timing) -> one shared start for every hot path -> the scheduler (rate-driven kinds) and the
model-driven drivers (API routes, Kinesis streams) -> HotPathResults with their staged recordings, judged by
measure.run_summary. The engine never asks which stack it runs: adding a stack is a profile, a Terraform folder
and hot-path declarations.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import numpy as np

from loadgen.drive.drivers import MODEL_DRIVEN, RATE_DRIVEN, not_driven_because, rate_driver
from loadgen.drive.kinesis_pusher import PushOutcome
from loadgen.drive.ramp import RampPlan, peak_rate
from loadgen.drive.prepared import PreparedOperation, finish_of
from loadgen.drive.scheduler import clock, frozen_heap, run_open_loop
from loadgen.errors import LoadgenError
from loadgen.measure.run_summary import HotPathResult
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.run_context import RunContext

LEAD_S = 1.0
"""Every hot path's schedule starts this long after the last set-up finished (connections warm, tasks ready)."""
CONCURRENCY = 64
"""Operations in flight per rate-driven hot path at most (beyond it, starts wait and the wait is latency)."""


@dataclass
class StackRun:
    """What one stack's run leaves for the summary."""

    results: list[HotPathResult]
    not_driven: dict[str, str] = field(default_factory=dict)
    """Declared hot paths this target cannot drive, with the reason (reported, never counted as a pass)."""
    kinesis: dict | None = None
    """The Kinesis driver's summary keys (accounting, shards, failures file...), when the stack has streams."""
    elapsed_s: float = 0.0
    abort_reason: str | None = None
    """Why a driver stopped the run before its end (e.g. record generation failed), or None."""


async def _together(set_ups: list[Awaitable]) -> list:
    """Run the set-ups concurrently (each mostly waits on the target: workers starting, tables created, members
    loaded); the first failure is raised once all have ended."""
    done = await asyncio.gather(*set_ups, return_exceptions=True)
    failed = next((outcome for outcome in done if isinstance(outcome, BaseException)), None)
    if failed is not None:
        raise failed
    return done


async def _closed_with(resources: AsyncExitStack, set_up: Awaitable[PreparedOperation]) -> PreparedOperation:
    prepared = await set_up
    resources.push_async_callback(prepared.close)
    return prepared


async def run_stack(ctx: RunContext, plan: RampPlan, rate_scale: float, shard: tuple[int, int] = (0, 1),
                    watch: Callable[[StagedRecorder], None] | None = None,
                    stop: asyncio.Event | None = None,
                    start: Callable[[], Awaitable[float]] | None = None) -> StackRun:
    """Drive every hot path of ctx.stack through the plan; `shard` = (k, n) runs worker k's share of n (every
    n-th operation of the rate-driven hot paths; the model-driven ones run in worker 0). Setting `stop` ends
    every hot path early (each drains what is outstanding, bounded) and the results are still complete.
    `start`, awaited once every hot path is prepared, gives the shared start (a `clock()` reading; worker
    processes get theirs from the parent so their schedules line up)."""
    if not (rate_scale > 0 and np.isfinite(rate_scale)):
        raise LoadgenError(f"--rate-scale must be a positive number, got {rate_scale}")
    run = StackRun([])
    rate_driven, model_kinds = [], set()
    async with AsyncExitStack() as resources:
        rate_paths = []
        for path in ctx.hot_paths:
            reason = not_driven_because(ctx, path)
            if reason:
                run.not_driven[path.name] = reason
            elif path.kind in RATE_DRIVEN:
                rate_paths.append(path)
            elif shard[0] == 0:
                model_kinds.add(path.kind)
        tops = [peak_rate(ctx, path) * rate_scale * plan.top_fraction for path in rate_paths]
        prepared_ops = await _together([_closed_with(resources, rate_driver(path, top, shard)(ctx, CONCURRENCY))
                                        for path, top in zip(rate_paths, tops)])
        for path, prepared in zip(rate_paths, prepared_ops):
            offsets = plan.offsets(peak_rate(ctx, path) * rate_scale / prepared.records_per_op, shard)
            recorder = StagedRecorder(path.name, plan.starts_s, plan.total_s)
            if watch:
                watch(recorder)
            rate_driven.append((path, prepared, offsets, recorder))
        model_driven = [MODEL_DRIVEN[kind](ctx, plan, rate_scale, watch) for kind in sorted(model_kinds)]
        # after the rate-driven set-ups: an API route's table is counted before the run, once every other
        # set-up has written what it writes (e.g. the conditional write's hot items)
        for driver in model_driven:
            resources.push_async_callback(driver.close)
        await _together([driver.prepare() for driver in model_driven])
        with frozen_heap():
            began = await start() if start else clock() + LEAD_S
            jobs = [run_open_loop(p.operation, offsets, recorder, p.concurrency, began, stop=stop)
                    for _, p, offsets, recorder in rate_driven]
            jobs += [driver.run(began, stop) for driver in model_driven]
            outcomes = await asyncio.gather(*jobs)
            run.elapsed_s = max(clock() - began, 0.0)
        for (path, prepared, offsets, recorder), loop in zip(rate_driven, outcomes):
            finished = await finish_of(prepared, loop.elapsed_s)
            scheduled = np.bincount(plan.stage_of(offsets), minlength=len(plan.durations_s)).tolist()
            run.results.append(HotPathResult(
                path.name, path.name, recorder.total(),
                peak_rate(ctx, path) * rate_scale * plan.top_fraction / prepared.records_per_op,
                loop.achieved_rate, counts_per_s=finished.counts_per_s, measured=finished.measured,
                extra={**finished.extra, "cancelled": loop.cancelled},
                staged=recorder, kind=path.kind, scheduled_per_stage=scheduled, duration=finished.duration,
                not_measured=finished.not_measured))
        for outcome in outcomes[len(rate_driven):]:
            if isinstance(outcome, PushOutcome):
                run.kinesis = outcome.summary_fields()
                run.abort_reason = outcome.generation_error
                run.results.extend(outcome.results)
            else:
                run.results.extend(outcome)
    return run
