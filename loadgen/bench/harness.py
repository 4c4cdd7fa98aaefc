"""`loadgen bench harness`: what loadgen itself adds while it drives the Kinesis demand of one or more stacks'
envs at their peak.

Where it sits: the Kinesis driver `loadgen validate` uses (drive.kinesis_pusher, with its scheduler, batching,
accounting, HDR recording and generation process) against the instant sink (target.kinesis_sink) in its own
process. The sink acknowledges at once, so whatever lies between a record's intended time and its
acknowledgement is the harness's own: generation, scheduling, the batching linger, the client, accounting and
recording. Reported: `self_p99_ms` (and p50, p999, max) of that latency over every record, `late_fraction`
(records the scheduler handed out more than 1 ms after their intended time), `achieved_over_target`
(acknowledged records per second over the schedule / the profiles' peak rate), `cpu_fraction` (CPU seconds of
the measuring process per second of the run) and `generation_cpu_fraction` (the same for its record generation
process, which shares that process's core at a lower priority). Printed, never asserted.

One process (the default): it is pinned to one core and the sink to the other. `processes` > 1: the streams of
every stack are dealt to that many worker processes (largest rate first, each to the least loaded worker), each
pinned to a core of its own (round robin) with the sink unpinned; they start together (one shared start time,
as `validate --processes` does) and the parent merges their HdrHistograms exactly (measure.wire), so the
percentiles are those of every record of the run.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Awaitable, Callable

from loadgen.bench.push_ceiling import measuring_cpus, pinned_to, scratch_dir, sink_context
from loadgen.drive.kinesis_pusher import DEFAULT_LINGER_S, KinesisDriver
from loadgen.drive.ramp import RampPlan
from loadgen.drive.scheduler import clock, frozen_heap, run_async
from loadgen.drive.stack_run import LEAD_S
from loadgen.errors import LoadgenError
from loadgen.measure.recorder import HotPathRecorder
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.measure.wire import staged_from_wire, staged_to_wire
from loadgen.paths import TERRAFORM_DIR
from loadgen.profiles import load_profile
from loadgen.target.children import stop_child
from loadgen.target.kinesis_sink import start_sink_process

PREPARE_TIMEOUT_S = 300.0
"""How long the workers may take to build their models and make their first slices."""

Share = dict[str, frozenset[str]]
"""Stack -> the stream keys one process drives."""


@dataclass(frozen=True)
class HarnessRun:
    """What one process's run needs (picklable: workers get it)."""

    share: Share
    env: str
    url: str
    seconds: float
    linger_s: float
    terraform_dir: Path


def deal(stacks: tuple[str, ...], env: str, processes: int) -> tuple[list[Share], list[str]]:
    """The stacks' Kinesis streams dealt to `processes` shares (largest peak rate first, each to the least loaded
    share), and the stacks with no Kinesis demand (skipped)."""
    streams, idle = [], []
    for stack in stacks:
        mine = [(d.peak_rps, stack, d.name) for d in load_profile(stack, env).demand() if d.kind == "kinesis"]
        if not mine:
            idle.append(stack)
        streams += mine
    if not streams:
        raise LoadgenError(f"no Kinesis demand in {', '.join(stacks)} {env}: nothing for the harness to drive")
    loads, shares = [0.0] * processes, [dict() for _ in range(processes)]
    for rate, stack, name in sorted(streams, key=lambda s: (-s[0], s[1], s[2])):
        k = loads.index(min(loads))
        loads[k] += rate
        shares[k][stack] = shares[k].get(stack, frozenset()) | {name}
    return [s for s in shares if s], idle


async def _drive_share(run: HarnessRun, start: Callable[[], Awaitable[float]]) -> dict:
    """Drive one share's streams against the sink from the start `start` gives; its recordings and figures."""
    recorders: list[StagedRecorder] = []
    plan = RampPlan.constant(run.seconds)
    with scratch_dir(None) as scratch:
        async with AsyncExitStack() as resources:
            drivers = []
            for stack, streams in sorted(run.share.items()):
                ctx = sink_context(stack, run.env, run.url, run.terraform_dir, scratch, "harness")
                driver = KinesisDriver(ctx, plan, 1.0, recorders.append, create_on_target=False,
                                       linger_s=run.linger_s, streams=streams)
                resources.push_async_callback(driver.close)
                await driver.prepare()
                drivers.append(driver)
            with frozen_heap():
                began = await start()
                cpu0 = time.process_time()
                outcomes = await asyncio.gather(*(d.run(began) for d in drivers))
                wall = clock() - began  # from the shared start (the lead before it is idle)
                cpu = (time.process_time() - cpu0) / wall
                generation_cpu = sum(d.generation_cpu_s for d in drivers) / wall
    return {"recorders": [staged_to_wire(r) for r in recorders], "cpu_fraction": cpu,
            "generation_cpu_fraction": generation_cpu,
            "target": sum(o.target_records_per_s for o in outcomes),
            "achieved": sum(o.achieved_records_per_s for o in outcomes),
            "accounting": {k: sum(o.accounting[k] for o in outcomes)
                           for k in ("generated", "acknowledged", "failed", "in_flight")}}


def _worker(run: HarnessRun, cpu: int | None, conn: Connection) -> None:
    """A worker process: pinned, prepared, told the shared start, driven; its recordings back to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends the bench
    try:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

        async def start() -> float:
            conn.send(("ready", None))
            return conn.recv()[1]

        conn.send(("done", run_async(_drive_share(run, start))))
    except LoadgenError as exc:
        conn.send(("error", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - the parent reports it in one line
        conn.send(("error", f"harness worker failed: {type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _in_workers(runs: list[HarnessRun], cpus: list[int]) -> list[dict]:
    context = multiprocessing.get_context("spawn")
    pipes = [context.Pipe() for _ in runs]
    workers = [context.Process(target=_worker, args=(run, cpus[k % len(cpus)] if cpus else None, child),
                               daemon=True) for k, (run, (_, child)) in enumerate(zip(runs, pipes))]
    conns = [parent for parent, _ in pipes]
    try:
        for worker in workers:
            worker.start()
        for _, child in pipes:
            child.close()
        _expect(conns, "ready", PREPARE_TIMEOUT_S)
        began = clock() + LEAD_S
        for conn in conns:
            conn.send(("start", began))
        return _expect(conns, "done", PREPARE_TIMEOUT_S + max(r.seconds for r in runs) * 4)
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
                worker.join()


def _expect(conns: list[Connection], kind: str, timeout_s: float) -> list:
    values = []
    deadline = clock() + timeout_s
    for conn in conns:
        if not conn.poll(max(deadline - clock(), 0.0)):
            raise LoadgenError(f"a harness worker sent no '{kind}' within {timeout_s:.0f} s")
        try:
            got, value = conn.recv()
        except EOFError:
            raise LoadgenError("a harness worker ended without a result") from None
        if got == "error":
            raise LoadgenError(value)
        values.append(value)
    return values


async def run_harness_bench(stacks: tuple[str, ...], env: str, seconds: float = 10.0,
                            terraform_dir: Path | None = None, linger_s: float = DEFAULT_LINGER_S,
                            processes: int = 1) -> dict:
    """The stacks' env Kinesis demand at its peak for `seconds` against the instant sink, in `processes`
    processes; what the harness adds."""
    shares, idle = deal(stacks, env, processes)
    measured_cpu, sink_cpu = measuring_cpus()
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    url, sink = start_sink_process(cpu=sink_cpu if processes == 1 else None)
    runs = [HarnessRun(share, env, url, seconds, linger_s, terraform_dir or TERRAFORM_DIR) for share in shares]
    try:
        if processes == 1:
            per_process = [await _pinned(runs[0], measured_cpu)]
        else:
            per_process = _in_workers(runs, cpus)
    finally:
        stop_child(sink)
    recorders = [staged_from_wire(w) for p in per_process for w in p["recorders"]]
    merged = HotPathRecorder("harness")
    for recorder in recorders:
        merged.merge(recorder.total())
    latency = merged.latency_ms()
    target = sum(p["target"] for p in per_process)
    achieved = sum(p["achieved"] for p in per_process)
    return {"stacks": list(stacks), "env": env, "seconds": seconds, "linger_ms": linger_s * 1000,
            "processes": len(per_process), "no_kinesis_demand": idle, "records": merged.ops,
            "target_records_per_s": round(target, 1), "achieved_records_per_s": round(achieved, 1),
            "achieved_over_target": round(achieved / target, 4),
            "self_p50_ms": round(latency["p50"], 3), "self_p99_ms": round(latency["p99"], 3),
            "self_p999_ms": round(latency["p999"], 3), "self_max_ms": round(latency["max"], 3),
            "late_fraction": round(sum(r.late_starts for r in recorders) / max(merged.ops, 1), 5),
            "cpu_fraction": [round(p["cpu_fraction"], 3) for p in per_process],
            "generation_cpu_fraction": [round(p["generation_cpu_fraction"], 3) for p in per_process],
            "shares": [{stack: sorted(streams) for stack, streams in sorted(r.share.items())} for r in runs],
            "accounting": {k: sum(p["accounting"][k] for p in per_process)
                           for k in ("generated", "acknowledged", "failed", "in_flight")},
            "measured_cpu": measured_cpu if processes == 1 else None,
            "sink_cpu": sink_cpu if processes == 1 else None}


async def _pinned(run: HarnessRun, cpu: int | None) -> dict:
    """One share in this process, pinned to `cpu` for the run (affinity restored afterwards)."""
    async def start() -> float:
        return clock() + LEAD_S

    with pinned_to(cpu):
        return await _drive_share(run, start)

