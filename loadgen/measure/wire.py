"""What crosses a process boundary (`loadgen validate --processes N`): recordings and results as plain data.

Where it sits: each worker process runs its share of a stack's hot paths and sends its HotPathResults here as
picklable dicts (HdrHistograms in their compressed encoding, HdrHistogram's own `encode`); the parent decodes
them and merges every hot path's recordings exactly (recorder.HotPathRecorder.merge: counts add up, and the
merged percentiles are those of one histogram fed every value).
"""

from __future__ import annotations

import numpy as np

from loadgen.measure.recorder import HotPathRecorder
from loadgen.measure.run_summary import HotPathResult
from loadgen.measure.staged_recorder import StagedRecorder

SUMMED_EXTRAS = frozenset({
    "attempted_writes", "successful_writes", "conditional_failures", "write_errors", "read_errors", "lost_updates",
    "items_with_lost_updates", "unconfirmed_writes", "assigned", "unassigned", "server_geo_calls", "cancelled",
    "records", "failed_records",
})
"""Per-worker counts that add up across workers (every other extra key is taken from the first worker)."""


def _recorder_to_wire(recorder: HotPathRecorder) -> dict:
    return {"encoded": recorder.encode(), "ops": recorder.ops, "errors": recorder.errors,
            "late_starts": recorder.late_starts}


def _recorder_from_wire(name: str, wire: dict) -> HotPathRecorder:
    return HotPathRecorder.decode(name, wire["encoded"], wire["ops"], wire["errors"], wire["late_starts"])


def staged_to_wire(staged: StagedRecorder) -> dict:
    return {"name": staged.name, "starts": staged.starts, "end_s": staged.end_s,
            "stages": [_recorder_to_wire(s) for s in staged.stages], "done_in_stage": staged.done_in_stage,
            "drained": staged.drained, "drained_after_s": staged.drained_after_s,
            "timeline_ops": staged.timeline_ops, "timeline_errors": staged.timeline_errors,
            "timeline_throttles": staged.timeline_throttles,
            "timeline_bins": staged.timeline_bins, "late_starts": staged.late_starts, "cancelled": staged.cancelled,
            "error_causes": staged.error_causes}


def staged_from_wire(wire: dict) -> StagedRecorder:
    staged = StagedRecorder(wire["name"], wire["starts"], wire["end_s"])
    staged.stages = [_recorder_from_wire(wire["name"], s) for s in wire["stages"]]
    staged.done_in_stage = list(wire["done_in_stage"])
    staged.drained, staged.drained_after_s = wire["drained"], list(wire["drained_after_s"])
    staged.timeline_ops = np.asarray(wire["timeline_ops"])
    staged.timeline_errors = np.asarray(wire["timeline_errors"])
    staged.timeline_throttles = np.asarray(wire["timeline_throttles"])
    staged.timeline_bins = np.asarray(wire["timeline_bins"])
    staged.late_starts, staged.cancelled = wire["late_starts"], wire["cancelled"]
    staged.error_causes = dict(wire["error_causes"])
    return staged


def result_to_wire(result: HotPathResult) -> dict:
    return {"name": result.name, "declared": result.declared, "kind": result.kind,
            "recorder": _recorder_to_wire(result.recorder), "target_rate": result.target_rate,
            "achieved_rate": result.achieved_rate, "counts_per_s": result.counts_per_s,
            "measured": result.measured, "extra": result.extra, "scheduled_per_stage": result.scheduled_per_stage,
            "staged": staged_to_wire(result.staged) if result.staged is not None else None,
            "duration": _recorder_to_wire(result.duration) if result.duration is not None else None,
            "duration_of": result.duration.name if result.duration is not None else None,
            "not_measured": result.not_measured}


def result_from_wire(wire: dict) -> HotPathResult:
    return HotPathResult(wire["name"], wire["declared"], _recorder_from_wire(wire["name"], wire["recorder"]),
                         wire["target_rate"], wire["achieved_rate"], dict(wire["counts_per_s"]),
                         dict(wire["extra"]), {k: tuple(v) for k, v in wire["measured"].items()},
                         staged_from_wire(wire["staged"]) if wire["staged"] is not None else None, wire["kind"],
                         wire["scheduled_per_stage"],
                         _recorder_from_wire(wire["duration_of"], wire["duration"]) if wire["duration"] else None,
                         dict(wire["not_measured"]))


def merge_finished(extra: dict, counts_per_s: dict, other_extra: dict, other_counts_per_s: dict) -> None:
    """Another worker's driver finish (its summary keys and counts per second) added into one hot path's: counts
    per second and SUMMED_EXTRAS add up, the other keys stay the first worker's."""
    for key, value in other_counts_per_s.items():
        counts_per_s[key] = counts_per_s.get(key, 0.0) + value
    for key in SUMMED_EXTRAS & set(other_extra):
        extra[key] = extra.get(key, 0) + other_extra[key]


def merge_results(per_worker: list[list[HotPathResult]]) -> list[HotPathResult]:
    """Every hot path's results across workers, merged exactly, in the first worker's order."""
    merged: dict[str, HotPathResult] = {}
    for results in per_worker:
        for result in results:
            into = merged.get(result.name)
            if into is None:
                merged[result.name] = result
                result.extra["ops_per_worker"] = [result.recorder.ops]
                continue
            into.extra["ops_per_worker"].append(result.recorder.ops)
            into.recorder.merge(result.recorder)
            if into.duration is not None and result.duration is not None:
                into.duration.merge(result.duration)
            if into.staged is not None and result.staged is not None:
                into.staged.merge(result.staged)
            into.achieved_rate += result.achieved_rate
            merge_finished(into.extra, into.counts_per_s, result.extra, result.counts_per_s)
            if into.scheduled_per_stage is not None and result.scheduled_per_stage is not None:
                into.scheduled_per_stage = [a + b for a, b in zip(into.scheduled_per_stage, result.scheduled_per_stage)]
    return list(merged.values())
