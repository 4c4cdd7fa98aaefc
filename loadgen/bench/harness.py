"""`loadgen bench harness`: what loadgen itself adds while it drives an env's whole Kinesis demand at its peak.

Where it sits: the Kinesis driver `loadgen validate` uses (drive.kinesis_pusher, with its scheduler, batching,
accounting and HDR recording) on one pinned core, against the instant sink (target.kinesis_sink) in its own
process on another core. The sink acknowledges at once, so whatever lies between a record's intended time and
its acknowledgement is the harness's own: generation, scheduling, the batching linger, the client, accounting
and recording. Reported: `self_p99_ms` (and p50, p999, max) of that latency over every record, `late_fraction`
(records the scheduler handed out more than 1 ms after their intended time), `achieved_over_target`
(acknowledged records per second over the schedule / the profile's peak rate) and `cpu_fraction` (CPU seconds
of the measured process, generation thread included, per second of the run: how much of its core the harness
needs). Printed, never asserted.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from loadgen.bench.push_ceiling import measuring_cpus, scratch_dir, sink_context
from loadgen.drive.kinesis_pusher import DEFAULT_LINGER_S, KinesisDriver
from loadgen.drive.scheduler import frozen_heap
from loadgen.drive.ramp import RampPlan
from loadgen.measure.recorder import HotPathRecorder
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.paths import TERRAFORM_DIR
from loadgen.target.kinesis_sink import start_sink_process, stop_sink_process


async def run_harness_bench(stack: str, env: str, seconds: float = 10.0, terraform_dir: Path | None = None,
                            linger_s: float = DEFAULT_LINGER_S) -> dict:
    """The env's Kinesis demand at its peak for `seconds` against the instant sink; what the harness adds."""
    measured_cpu, sink_cpu = measuring_cpus()
    url, sink = start_sink_process(cpu=sink_cpu)
    saved = os.sched_getaffinity(0) if measured_cpu is not None else None
    recorders: list[StagedRecorder] = []
    try:
        if measured_cpu is not None:
            os.sched_setaffinity(0, {measured_cpu})
        with scratch_dir(None) as scratch:
            ctx = sink_context(stack, env, url, terraform_dir or TERRAFORM_DIR, scratch, "harness")
            driver = KinesisDriver(ctx, RampPlan.constant(seconds), 1.0, recorders.append,
                                   create_on_target=False, linger_s=linger_s)
            try:
                await driver.prepare()
                with frozen_heap():
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    outcome = await driver.run()
                    cpu_fraction = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
            finally:
                await driver.close()
    finally:
        if saved is not None:
            os.sched_setaffinity(0, saved)
        stop_sink_process(sink)
    merged = HotPathRecorder("harness")
    for recorder in recorders:
        merged.merge(recorder.total())
    latency = merged.latency_ms()
    records = max(merged.ops, 1)
    return {"stack": stack, "env": env, "seconds": seconds, "linger_ms": linger_s * 1000, "records": merged.ops,
            "target_records_per_s": round(outcome.target_records_per_s, 1),
            "achieved_records_per_s": round(outcome.achieved_records_per_s, 1),
            "achieved_over_target": round(outcome.achieved_records_per_s / outcome.target_records_per_s, 4),
            "self_p50_ms": round(latency["p50"], 3), "self_p99_ms": round(latency["p99"], 3),
            "self_p999_ms": round(latency["p999"], 3), "self_max_ms": round(latency["max"], 3),
            "late_fraction": round(sum(r.late_starts for r in recorders) / records, 5),
            "cpu_fraction": round(cpu_fraction, 3),
            "accounting": {k: outcome.accounting[k] for k in ("generated", "acknowledged", "failed", "in_flight")},
            "measured_cpu": measured_cpu, "sink_cpu": sink_cpu}
