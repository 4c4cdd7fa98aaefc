"""One Locust process's honest recording of its hot paths, and the master's exact merge of its workers'.

Where it sits: the Locust users (loadgen.locust.users) record every request here from its intended start (a
StagedRecorder per hot path: HdrHistograms per ramp stage, 3 significant digits) and an API route's answer in
its RouteLoad (drive.api_requests), a stream's accounting in its StreamCounts (drive.put_records_batches); a
worker sends its whole recording so far with every stats report (`events.report_to_master`: the same message as Locust's own stats), and the master keeps each worker's latest
and merges them exactly on demand (StagedRecorder.merge: the merged histogram is that of every recorded value).
Nothing here runs in the request loop beyond `scheduled()` and the recorder's own `record`.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from loadgen.drive.api_requests import RouteLoad
from loadgen.drive.put_records_batches import StreamCounts
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.measure.wire import merge_finished, staged_from_wire, staged_to_wire

TIMELINE_KEYS = ("timeline_ops", "timeline_errors", "timeline_throttles", "timeline_bins")


@dataclass
class RouteRecording:
    """One hot path's recording in one process: latencies, answers by status (API routes), what its users offered."""

    recorder: StagedRecorder
    load: RouteLoad | None
    """An API route's accounting (status counts); None for other kinds."""
    scheduled_per_stage: list[int]
    """Requests sent per ramp stage, by intended time (what the schedule offered and a user took); a stream's
    records generated per stage."""
    stream: StreamCounts | None = None
    """A kinesis_stream hot path's accounting (every record generated, acknowledged, failed or in flight)."""
    finished: dict | None = None
    """A matching core's or a conditional write's driver finish ({"extra": its summary keys, "counts_per_s": ...,
    "final": True} once the test stopped; before, what is known live: loadgen.locust.operations), None for other
    kinds."""

    def scheduled(self, intended_s: float) -> None:
        """A user sends a request due at `intended_s` from the test's start."""
        self.scheduled_per_stage[max(bisect_right(self.recorder.starts, intended_s) - 1, 0)] += 1


@dataclass
class ProcessRecording:
    """Every hot path's recording in this process for one test (reset at each test start)."""

    routes: dict[str, RouteRecording] = field(default_factory=dict)

    def to_wire(self) -> dict:
        """Plain data for Locust's message pack: the histograms encoded, the timeline up to its last second."""
        return {name: {"staged": _packed(r.recorder), "scheduled": list(r.scheduled_per_stage),
                       **({"status_counts": dict(r.load.status_counts), "client_errors": r.load.client_errors}
                          if r.load is not None else {}),
                       **({"stream": r.stream.to_wire()} if r.stream is not None else {}),
                       **({"finished": r.finished} if r.finished is not None else {})}
                for name, r in self.routes.items()}


def _packed(staged: StagedRecorder) -> dict:
    wire = staged_to_wire(staged)
    used = np.flatnonzero(staged.timeline_ops)
    last = int(used[-1]) + 1 if used.size else 0
    for key in TIMELINE_KEYS:
        wire[key] = np.asarray(wire[key])[:last].tolist()
    return wire


def _unpacked(wire: dict) -> StagedRecorder:
    staged = staged_from_wire({**wire, **{key: [] for key in TIMELINE_KEYS}})
    full = StagedRecorder(wire["name"], wire["starts"], wire["end_s"])
    for key in TIMELINE_KEYS:
        values = np.asarray(wire[key], dtype=getattr(full, key).dtype)
        array = getattr(full, key)
        array[:len(values)] = values.reshape((-1, *array.shape[1:]))
        setattr(staged, key, array)
    return staged


@dataclass
class MergedRoute:
    """One hot path merged across workers."""

    recorder: StagedRecorder
    status_counts: dict[str, int]
    """An API route's answers by status class (empty for other kinds)."""
    client_errors: int
    scheduled_per_stage: list[int]
    ops_per_worker: list[int]
    stream: StreamCounts | None = None
    """A stream's accounting, summed over the workers."""
    finished: dict | None = None
    """The driver finishes the workers sent, merged as `validate --processes` merges them (measure.wire), None
    when none did."""
    finishes: int = 0
    """Workers whose final finish is in `finished` (the others' live one is)."""

    def add_finished(self, finished: dict | None) -> None:
        if finished is None:
            return
        if self.finished is None:
            self.finished = {"extra": dict(finished["extra"]), "counts_per_s": dict(finished["counts_per_s"])}
        else:
            merge_finished(self.finished["extra"], self.finished["counts_per_s"], finished["extra"],
                           finished["counts_per_s"])
        self.finishes += bool(finished.get("final"))


class WorkerRecordings:
    """The master's view: each worker's latest recording (cumulative for the test), merged exactly on demand."""

    def __init__(self) -> None:
        self.latest: dict[str, dict] = {}
        """Worker client id -> its last report's recording."""

    def reset(self) -> None:
        self.latest.clear()

    def report(self, client_id: str, recording: dict) -> None:
        self.latest[client_id] = recording

    def merged(self) -> dict[str, MergedRoute]:
        merged: dict[str, MergedRoute] = {}
        for client_id in sorted(self.latest):
            for name, wire in self.latest[client_id].items():
                staged = _unpacked(wire["staged"])
                into = merged.get(name)
                if into is None:
                    merged[name] = into = MergedRoute(staged, dict(wire.get("status_counts", {})),
                                                      wire.get("client_errors", 0), list(wire["scheduled"]),
                                                      [staged.ops], StreamCounts() if "stream" in wire else None)
                    if into.stream is not None:
                        into.stream.add(wire["stream"])
                    into.add_finished(wire.get("finished"))
                    continue
                into.recorder.merge(staged)
                for kind, n in wire.get("status_counts", {}).items():
                    into.status_counts[kind] = into.status_counts.get(kind, 0) + n
                into.client_errors += wire.get("client_errors", 0)
                into.scheduled_per_stage = [a + b for a, b in zip(into.scheduled_per_stage, wire["scheduled"])]
                into.ops_per_worker.append(staged.ops)
                if into.stream is not None:
                    into.stream.add(wire["stream"])
                into.add_finished(wire.get("finished"))
        return merged


def local_merged(recording: ProcessRecording) -> dict[str, MergedRoute]:
    """A local (single-process) run's recording in the merged form the report reads."""
    merged = {name: MergedRoute(r.recorder, dict(r.load.status_counts) if r.load else {},
                                r.load.client_errors if r.load else 0, list(r.scheduled_per_stage), [r.recorder.ops],
                                r.stream)
              for name, r in recording.routes.items()}
    for name, r in recording.routes.items():
        merged[name].add_finished(r.finished)
    return merged
