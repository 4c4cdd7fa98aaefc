"""One hot path's recording through a ramp: an HdrHistogram per stage, completions per stage window, a timeline.

Where it sits: the scheduler and the drivers record every finished operation here (its intended offset, its
latency from that intended time, whether it succeeded); the summary reads stage and whole-run percentiles from
the HdrHistograms (the whole run is the exact merge of the stages), and the live display reads `snapshot()`.

- Stage histograms: an operation belongs to the stage its intended time falls in (recorder.HotPathRecorder,
  1 us .. 1 h, 3 significant digits).
- Delivery: each completion is also counted in the stage whose wall window it finished in (completions after
  the last stage's end count as `drained`, with how long after the end), so a target that cannot keep up shows
  as an achieved rate below the stage's target rate, not only as latency.
- Timeline: per wall second of completion, operations, errors and a log-binned latency count of the successful
  ones (4 bins per
  octave, so a per-second p99 read from it is within 19% of the recorded value: good for the latency-over-time
  plot and the live line, never for a verdict).
Recording costs one bisect and a few array increments per operation (record_many: the same in numpy).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Sequence

import numpy as np

from loadgen.measure.recorder import HIGHEST_US, LOWEST_US, HotPathRecorder, add_counts

THROTTLE_MARKERS = ("HTTP 429", "Throttl", "ProvisionedThroughputExceeded", "RequestLimitExceeded",
                    "TooManyRequests", "SlowDown")
"""What a throttled answer's cause contains, whichever service gave it (API Gateway 429, DynamoDB and Kinesis
ProvisionedThroughputExceededException, ThrottlingException, ...)."""
BINS_PER_OCTAVE = 4
TIMELINE_BINS = 32 * BINS_PER_OCTAVE
"""1 us .. 2^32 us (71 min) in quarter octaves."""


def is_throttle(cause: str | None) -> bool:
    return bool(cause) and any(marker in cause for marker in THROTTLE_MARKERS)


class StagedRecorder:
    """Latencies and counts of one hot path, per ramp stage and per second."""

    def __init__(self, name: str, stage_starts_s: Sequence[float], end_s: float):
        self.name = name
        self.starts = [float(s) for s in stage_starts_s]
        self.starts_array = np.asarray(self.starts)
        self.end_s = float(end_s)
        self.stages = [HotPathRecorder(name) for _ in self.starts]
        self.done_in_stage = [0] * len(self.starts)
        """Completions (success or failure) whose completion time fell in each stage's wall window."""
        self.drained = 0
        """Completions after the last stage's end."""
        self.drained_after_s: list[float] = []
        """How long after the last stage's end each of those finished (bounded by what was in flight then)."""
        seconds = int(math.ceil(self.end_s)) + 1
        self.timeline_ops = np.zeros(seconds, dtype=np.int64)
        self.timeline_errors = np.zeros(seconds, dtype=np.int64)
        self.timeline_throttles = np.zeros(seconds, dtype=np.int64)
        """Throttled answers per second, once per attempt (a Kinesis record throttled and then retried counts)."""
        self.timeline_bins = np.zeros((seconds, TIMELINE_BINS), dtype=np.int32)
        self.late_starts = 0
        """Operations the scheduler handed out later than intended (LATE_START_S)."""
        self.cancelled = 0
        """Operations still outstanding at the drain deadline, cancelled and counted as failed."""
        self.error_causes: dict[str, int] = {}

    # -- recording (the send loop's side: cheap) ------------------------------------------------------------

    def record(self, intended_s: float, latency_s: float, ok: bool = True, cause: str | None = None) -> None:
        """One finished operation, due at `intended_s` from the start, finished `latency_s` after that."""
        stage = max(bisect_right(self.starts, intended_s) - 1, 0)
        self.stages[stage].record(latency_s, ok)
        done = intended_s + latency_s
        if done >= self.end_s:
            self.drained += 1
            self.drained_after_s.append(done - self.end_s)
        else:
            self.done_in_stage[max(bisect_right(self.starts, done) - 1, 0)] += 1
        second = min(int(done), len(self.timeline_ops) - 1) if done > 0 else 0
        self.timeline_ops[second] += 1
        if ok:
            us = min(max(latency_s * 1e6, LOWEST_US), HIGHEST_US)
            self.timeline_bins[second, min(int(math.log2(us) * BINS_PER_OCTAVE), TIMELINE_BINS - 1)] += 1
        else:
            self.timeline_errors[second] += 1
            if is_throttle(cause):
                self.timeline_throttles[second] += 1
            if cause:
                self.error_causes[cause] = self.error_causes.get(cause, 0) + 1

    def record_many(self, intended_s: np.ndarray, latency_s: np.ndarray, ok: bool = True,
                    cause: str | None = None) -> None:
        """Many finished operations at once (a Kinesis batch): the same counts as `record` for each."""
        if len(intended_s) == 0:
            return
        intended_s = np.asarray(intended_s, dtype=np.float64)
        latency_s = np.asarray(latency_s, dtype=np.float64)
        last = len(self.starts) - 1
        if last == 0:
            self.stages[0].record_many(latency_s, ok)
        else:
            stage = np.minimum(np.maximum(np.searchsorted(self.starts_array, intended_s, side="right") - 1, 0), last)
            for k in np.flatnonzero(np.bincount(stage)).tolist():
                self.stages[k].record_many(latency_s[stage == k], ok)
        done = intended_s + latency_s
        finished = done < self.end_s
        if not finished.all():
            self.drained += int(np.count_nonzero(~finished))
            self.drained_after_s.extend((done[~finished] - self.end_s).tolist())
            done_in = done[finished]
        else:
            done_in = done
        if done_in.size:
            by_stage = np.maximum(np.searchsorted(self.starts_array, done_in, side="right") - 1, 0)
            for k, n in enumerate(np.bincount(by_stage).tolist()):
                self.done_in_stage[k] += n
        second = np.minimum(np.maximum(done.astype(np.int64), 0), len(self.timeline_ops) - 1)
        add_counts(self.timeline_ops, second)
        if ok:
            us = np.minimum(np.maximum(latency_s * 1e6, LOWEST_US), HIGHEST_US)
            bins = np.minimum((np.log2(us) * BINS_PER_OCTAVE).astype(np.int64), TIMELINE_BINS - 1)
            add_counts(self.timeline_bins.reshape(-1), second * TIMELINE_BINS + bins)
        else:
            add_counts(self.timeline_errors, second)
            if is_throttle(cause):
                add_counts(self.timeline_throttles, second)
            if cause:
                self.error_causes[cause] = self.error_causes.get(cause, 0) + len(intended_s)

    def throttled(self, at_s: float, count: int = 1) -> None:
        """Throttled answers an operation got and retried (its final outcome is recorded when it finishes)."""
        self.timeline_throttles[min(max(int(at_s), 0), len(self.timeline_throttles) - 1)] += count

    # -- reading (outside the send loop) --------------------------------------------------------------------

    @property
    def ops(self) -> int:
        return sum(s.ops for s in self.stages)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.stages)

    def total(self) -> HotPathRecorder:
        """The whole run: the exact merge of the stage histograms."""
        merged = HotPathRecorder(self.name)
        for stage in self.stages:
            merged.merge(stage)
        merged.late_starts = self.late_starts
        return merged

    def merge(self, other: "StagedRecorder") -> None:
        """Add another process's recording of the same hot path on the same plan."""
        for mine, theirs in zip(self.stages, other.stages):
            mine.merge(theirs)
        self.done_in_stage = [a + b for a, b in zip(self.done_in_stage, other.done_in_stage)]
        self.drained += other.drained
        self.drained_after_s.extend(other.drained_after_s)
        self.timeline_ops += other.timeline_ops
        self.timeline_errors += other.timeline_errors
        self.timeline_throttles += other.timeline_throttles
        self.timeline_bins += other.timeline_bins
        self.late_starts += other.late_starts
        self.cancelled += other.cancelled
        for cause, n in other.error_causes.items():
            self.error_causes[cause] = self.error_causes.get(cause, 0) + n

    def snapshot(self, now_s: float) -> dict:
        """What the live display shows: counts so far and the p99 of the last few seconds."""
        second = min(max(int(now_s), 0), len(self.timeline_ops) - 1)
        recent = slice(max(second - 4, 0), second + 1)
        window = self.timeline_bins[recent].sum(axis=0, keepdims=True)
        p99 = float(self.timeline_p99_ms_of(window)[0]) if window.sum() else 0.0
        done = int(self.timeline_ops[recent].sum())
        return {"ops": int(self.timeline_ops.sum()), "errors": int(self.timeline_errors.sum()),
                "rate": done / max(min(now_s, 5.0), 1e-9), "p99_ms": p99}

    @staticmethod
    def timeline_p99_ms_of(bins: np.ndarray) -> np.ndarray:
        """Per row of latency bins, the p99 (upper edge of the quarter-octave bin holding it); 0 for empty rows."""
        counts = bins.sum(axis=1)
        index = np.argmax(np.cumsum(bins, axis=1) >= np.ceil(0.99 * counts)[:, None], axis=1)
        return np.where(counts > 0, 2.0 ** ((index + 1) / BINS_PER_OCTAVE) / 1000.0, 0.0)

    def timeline(self) -> dict:
        """The summary's `timeline` (per second of completion)."""
        last = int(np.flatnonzero(self.timeline_ops)[-1]) + 1 if self.timeline_ops.any() else 0
        return {"interval_s": 1.0, "t_s": list(range(last)), "ops": self.timeline_ops[:last].tolist(),
                "errors": self.timeline_errors[:last].tolist(),
                "throttles": self.timeline_throttles[:last].tolist(),
                "p99_ms": [round(v, 3) for v in self.timeline_p99_ms_of(self.timeline_bins[:last]).tolist()]}
