"""Honest numbers: histogram percentiles match exact ones, and open loop shows a stall closed loop hides."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from loadgen.measure.recorder import HotPathRecorder
from loadgen.drive.ramp import RampPlan
from loadgen.drive.scheduler import (DRAIN_MIN_S, DRAIN_TIMEOUT_S, ClosedLoop, drain_timeout, poisson_offsets,
                                     run_closed_loop, run_open_loop)
from loadgen.measure.staged_recorder import StagedRecorder


def test_histogram_percentiles_are_within_hdr_precision_of_numpy():
    latencies_s = np.random.default_rng(5).lognormal(np.log(0.004), 0.8, 200_000)
    recorder = HotPathRecorder("sample")
    for value in latencies_s.tolist():
        recorder.record(value)
    recorded_us = np.maximum(np.floor(latencies_s * 1e6), 1)
    got = recorder.latency_ms()
    for key, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        exact_ms = np.percentile(recorded_us, q, method="inverted_cdf") / 1000
        assert abs(got[key] - exact_ms) <= 0.001 * exact_ms, (key, got[key], exact_ms)


def test_encoded_histograms_merge_across_workers():
    rng = np.random.default_rng(1)
    a, b, both = HotPathRecorder("x"), HotPathRecorder("x"), HotPathRecorder("x")
    for value in rng.exponential(0.01, 5000).tolist():
        a.record(value)
        both.record(value)
    for value in rng.exponential(0.05, 5000).tolist():
        b.record(value, ok=False)
        both.record(value, ok=False)
    merged = HotPathRecorder.decode("x", a.encode(), a.ops, a.errors)
    merged.merge(HotPathRecorder.decode("x", b.encode(), b.ops, b.errors))
    assert merged.latency_ms() == both.latency_ms()
    assert (merged.ops, merged.errors) == (10_000, 5000)


def stalling_op(stall_at: int):
    """An instant operation, except that one call stalls the whole process for 200 ms (a GC pause, say)."""

    async def op(i: int) -> bool:
        if i == stall_at:
            time.sleep(0.2)
        return True

    return op


def test_open_loop_shows_an_injected_stall_in_p99():
    staged = StagedRecorder("open", [0.0], 2.0)
    asyncio.run(run_open_loop(stalling_op(500), RampPlan.constant(2.0).offsets(1000), staged))
    recorder = staged.total()
    assert recorder.ops == 2000 and recorder.errors == 0
    assert recorder.latency_ms()["p99"] > 100  # ~200 operations were due during the stall
    assert recorder.late_starts >= 150


def test_closed_loop_hides_the_same_stall():
    staged = StagedRecorder("closed", [0.0], 1.0)
    asyncio.run(run_closed_loop(stalling_op(500), ClosedLoop(concurrency=1, duration_s=1.0), staged))
    recorder = staged.total()
    assert recorder.ops > 1000
    assert recorder.latency_ms()["max"] >= 200  # the stall is recorded once...
    assert recorder.latency_ms()["p99"] < 10  # ...and vanishes from the percentiles


def test_poisson_arrivals_keep_the_target_rate_within_noise():
    offsets = poisson_offsets(rate=500, duration_s=20, seed=3)
    assert abs(offsets.size - 10_000) < 4 * np.sqrt(10_000)
    assert np.all(np.diff(offsets) > 0) and offsets[-1] < 20


def test_ramp_intended_times_continue_across_stages_at_each_stage_rate():
    plan = RampPlan((2.0, 1.0, 3.0), (0.5, 0.0, 2.0))
    offsets = plan.offsets(100.0)
    stage = plan.stage_of(offsets)
    assert np.bincount(stage, minlength=3).tolist() == [100, 0, 600]
    assert np.all(np.diff(offsets) > 0)
    gaps = np.diff(offsets)
    assert np.allclose(gaps[:99], 1 / 50) and np.allclose(gaps[101:], 1 / 200)
    assert offsets[100] == 3.0  # the zero-rate stage is a pause; the next operation is due when stage 2 begins


def test_a_ramp_run_achieves_each_stage_rate_within_two_percent():
    plan = RampPlan((1.5, 1.5, 1.5), (0.5, 1.0, 2.0))
    recorder = StagedRecorder("ramp", plan.starts_s, plan.total_s)

    async def instant(i: int) -> bool:
        return True

    offsets = plan.offsets(400.0)
    asyncio.run(run_open_loop(instant, offsets, recorder))
    scheduled = np.bincount(plan.stage_of(offsets), minlength=3)
    for k, duration in enumerate(plan.durations_s):
        target, achieved = scheduled[k] / duration, recorder.done_in_stage[k] / duration
        assert abs(achieved / target - 1) < 0.02, (k, target, achieved)
        assert recorder.stages[k].ops == scheduled[k]


def test_merged_worker_histograms_equal_one_histogram_fed_every_value():
    plan = RampPlan((1.0, 1.0), (1.0, 1.0))
    rng = np.random.default_rng(9)
    intended = np.sort(rng.uniform(0, 2, 6000))
    latency = rng.lognormal(np.log(0.003), 1.0, 6000)
    single = StagedRecorder("x", plan.starts_s, plan.total_s)
    workers = [StagedRecorder("x", plan.starts_s, plan.total_s) for _ in range(2)]
    for i, (t0, lat) in enumerate(zip(intended.tolist(), latency.tolist())):
        single.record(t0, lat)
        workers[i % 2].record(t0, lat)
    merged = StagedRecorder("x", plan.starts_s, plan.total_s)
    for worker in workers:  # as the parent does with each worker's decoded histograms
        merged.merge(worker)
    assert merged.total().ops == sum(w.total().ops for w in workers) == 6000
    assert merged.total().latency_ms() == single.total().latency_ms()
    assert [s.latency_ms() for s in merged.stages] == [s.latency_ms() for s in single.stages]


def test_failed_operations_are_counted_but_not_recorded_as_latencies():
    one, many = HotPathRecorder("x"), HotPathRecorder("x")
    for value in (0.010, 0.020, 0.030):
        one.record(value)
    one.record(0.0001, ok=False)
    many.record_many(np.array([0.010, 0.020, 0.030]))
    many.record_many(np.array([0.0001]), ok=False)
    for recorder in (one, many):
        assert (recorder.ops, recorder.errors, recorder.histogram.get_total_count()) == (4, 1, 3)
        assert recorder.histogram.get_min_value() >= 10_000


def test_an_operation_outstanding_past_the_drain_bound_fails_as_drain_timeout():
    async def hangs(i: int) -> bool:
        if i == 1:
            await asyncio.sleep(3600)
        return True

    recorder = StagedRecorder("hangs", [0.0], 1.0)
    started = time.perf_counter()
    loop = asyncio.run(run_open_loop(hangs, np.array([0.0, 0.1, 0.2]), recorder, drain_timeout_s=0.5))
    assert time.perf_counter() - started < 3
    assert loop.cancelled == 1 and recorder.ops == 3 and recorder.errors == 1  # counted, and failed
    assert recorder.error_causes == {"drain timeout": 1}
    # the default bound follows the schedule's length, within DRAIN_MIN_S..DRAIN_TIMEOUT_S
    assert [drain_timeout(d) for d in (2.0, 20.0, 1800.0)] == [DRAIN_MIN_S, 20.0, DRAIN_TIMEOUT_S]
