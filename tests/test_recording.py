"""Honest numbers: histogram percentiles match exact ones, and open loop shows a stall closed loop hides."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from loadgen.measure.recorder import HotPathRecorder
from loadgen.drive.scheduler import ClosedLoop, OpenLoop, run_closed_loop, run_open_loop


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
    recorder = HotPathRecorder("open")
    asyncio.run(run_open_loop(stalling_op(500), OpenLoop(rate=1000, duration_s=2.0), recorder))
    assert recorder.ops == 2000 and recorder.errors == 0
    assert recorder.latency_ms()["p99"] > 100  # ~200 operations were due during the stall
    assert recorder.late_starts >= 150


def test_closed_loop_hides_the_same_stall():
    recorder = HotPathRecorder("closed")
    asyncio.run(run_closed_loop(stalling_op(500), ClosedLoop(concurrency=1, duration_s=1.0), recorder))
    assert recorder.ops > 1000
    assert recorder.latency_ms()["max"] >= 200  # the stall is recorded once...
    assert recorder.latency_ms()["p99"] < 10  # ...and vanishes from the percentiles


def test_poisson_arrivals_keep_the_target_rate_within_noise():
    offsets = OpenLoop(rate=500, duration_s=20, arrivals="poisson", seed=3).intended_offsets()
    assert abs(offsets.size - 10_000) < 4 * np.sqrt(10_000)
    assert np.all(np.diff(offsets) > 0) and offsets[-1] < 20
