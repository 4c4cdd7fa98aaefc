"""Failed operations in the verdict: latency alarms see successful operations only, failures are counted with
their cause and fail a hot path (unless an alarm that counts them judges them), and no operation never passes.
Judged on task_api's real POST /tasks hot path and its dev alarms (latency p95 1,000 ms, 4XX share 0.2)."""

from __future__ import annotations

import numpy as np

from conftest import TERRAFORM
from loadgen.hot_paths import hot_paths
from loadgen.measure.run_summary import HotPathResult, judge, measured_p99_ms
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.tf.alarm_thresholds import alarms
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.hcl_reader import load_stack

SPAN_S = 10.0
[ROUTE] = hot_paths("task_api")
DEV_ALARMS = {a.address: a for a in alarms(ResolvedStack(load_stack(TERRAFORM, "task_api"), "dev"))}


def route_result(ok: int, failed: int, cause: str, failed_latency_s: float = 0.0002) -> HotPathResult:
    """`ok` answers of 50 ms and `failed` failures of `failed_latency_s` with `cause`, spread over the span."""
    staged = StagedRecorder(ROUTE.name, [0.0], SPAN_S)
    staged.record_many(np.linspace(0, SPAN_S - 1, ok), np.full(ok, 0.05))
    staged.record_many(np.linspace(0, SPAN_S - 1, failed), np.full(failed, failed_latency_s), ok=False, cause=cause)
    four_xx = failed if cause.startswith("HTTP 4") else 0
    return HotPathResult(ROUTE.name, ROUTE.name, staged.total(), (ok + failed) / SPAN_S, (ok + failed) / SPAN_S,
                         counts_per_s={"4XXError": four_xx / SPAN_S, "5XXError": 0.0}, staged=staged,
                         kind="api_route")


def test_failed_operations_stay_out_of_the_latency_percentiles():
    entry = judge(route_result(900, 100, "connection refused: api 127.0.0.1:9"), ROUTE, DEV_ALARMS)
    assert entry["ops"] == 1000 and entry["errors"] == 100
    p50, p99 = entry["latency_ms"]["p50"], entry["latency_ms"]["p99"]
    assert p50 == p99 and abs(p50 - 50.0) <= 0.05  # the 50 ms answers (3 significant digits), not 0.2 ms refusals
    assert entry["verdict"] == "fail"
    assert entry["failed_because"] == ("100 of 1,000 operations failed (more than 1%); most often: connection "
                                       "refused: api 127.0.0.1:9 (100)")


def test_a_dead_server_measures_no_latency_and_fails_naming_the_cause():
    entry = judge(route_result(0, 500, "connection refused: api 127.0.0.1:9"), ROUTE, DEV_ALARMS)
    latency = next(a for a in entry["alarms_not_measured"] if a["metric"] == "Latency")
    assert latency["reason"] == "none of the 500 operations succeeded"
    assert entry["verdict"] == "fail" and "connection refused" in entry["failed_because"]


def test_answers_an_alarm_counts_are_that_alarms_to_judge():
    """5% 404s: the 4XX share alarm (threshold 0.2) judges them and passes; the same share refused fails."""
    answered = judge(route_result(950, 50, "HTTP 404"), ROUTE, DEV_ALARMS)
    four_xx = next(a for a in answered["alarms"] if a["metric"] == "4XXError")
    assert four_xx["observed"] == 0.05 and not four_xx["fires"]
    assert answered["verdict"] == "pass"
    refused = judge(route_result(950, 50, "connection refused: api 127.0.0.1:9"), ROUTE, DEV_ALARMS)
    assert refused["verdict"] == "fail"


def test_no_operation_never_passes():
    entry = judge(route_result(0, 0, "none"), ROUTE, DEV_ALARMS)
    assert entry["verdict"] == "fail" and entry["failed_because"] == "no operation finished"


def test_a_hot_path_none_of_whose_operations_succeeded_gives_the_capacity_model_no_p99():
    assert measured_p99_ms([route_result(0, 500, "connection refused: api 127.0.0.1:9")]) == {}
    assert abs(measured_p99_ms([route_result(10, 0, "")])[ROUTE.name] - 50.0) <= 0.05
