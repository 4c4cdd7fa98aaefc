"""The one recorder every measurement ends in: an HdrHistogram per hot path, plus op, error and lateness counts.

The histogram holds the latencies of successful operations only (what a latency alarm sees: a dead server's
instant refusals are not fast answers); failed operations are counted in `errors` (their causes are kept by
measure.staged_recorder) and in `ops`.

Latencies are recorded in microseconds (1 us .. 1 h, 3 significant digits, so any percentile read back is within
0.1% of the recorded value). Histograms encode to HdrHistogram's compressed base64 form and merge across
processes and workers; every percentile in a report is read from a histogram, never recomputed elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3
PERCENTILES = {"p50": 50.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def add_counts(target: np.ndarray, index: np.ndarray) -> None:
    """target[i] += 1 for every i in index, repeats included: np.add.at's result, several times faster on a
    batch of hundreds (one bincount over the batch's range instead of an unbuffered scatter)."""
    low = int(index.min())
    counts = np.bincount(index - low)
    target[low:low + counts.size] += counts.astype(target.dtype, copy=False)


@dataclass
class HotPathRecorder:
    """Latencies and counts of one hot path in one run (or merged from several workers)."""

    name: str
    histogram: HdrHistogram = field(default_factory=new_histogram)
    ops: int = 0
    errors: int = 0
    late_starts: int = 0
    """Operations that started later than intended (the schedule could not keep up)."""

    def record(self, latency_s: float, ok: bool = True) -> None:
        """One finished operation: its latency (from the intended start, open loop) and whether it succeeded (a
        failed one is counted, not recorded in the histogram)."""
        self.ops += 1
        if ok:
            self.histogram.record_value(min(max(int(latency_s * 1_000_000), LOWEST_US), HIGHEST_US))
        else:
            self.errors += 1

    def record_many(self, latencies_s: np.ndarray, ok: bool = True) -> None:
        """Many finished operations at once (e.g. every record of a batch): the same histogram counts as calling
        `record` for each, with the bucket arithmetic done in numpy instead of once per value in Python."""
        if latencies_s.size == 0:
            return
        self.ops += int(latencies_s.size)
        if not ok:
            self.errors += int(latencies_s.size)
            return
        values = np.minimum(np.maximum((np.asarray(latencies_s) * 1_000_000).astype(np.int64), LOWEST_US),
                            HIGHEST_US)
        h = self.histogram
        # HdrHistogram's _counts_index_for, vectorized: bit length via frexp (exact below 2^53)
        pow2ceiling = np.frexp((values | h.sub_bucket_mask).astype(np.float64))[1].astype(np.int64)
        bucket = pow2ceiling - h.unit_magnitude - (h.sub_bucket_half_count_magnitude + 1)
        sub_bucket = values >> (bucket + h.unit_magnitude)
        index = ((bucket + 1) << h.sub_bucket_half_count_magnitude) + (sub_bucket - h.sub_bucket_half_count)
        add_counts(np.ctypeslib.as_array(h.counts), index)
        h.total_count += int(values.size)
        h.min_value = min(h.min_value, int(values.min()))
        h.max_value = max(h.max_value, int(values.max()))

    def latency_ms(self) -> dict[str, float]:
        """p50/p95/p99/p999/max of the successful operations in milliseconds, read from the histogram (all 0.0
        when none succeeded)."""
        if self.histogram.get_total_count() == 0:
            return {key: 0.0 for key in (*PERCENTILES, "max")}
        values = {key: self.histogram.get_value_at_percentile(p) / 1000.0 for key, p in PERCENTILES.items()}
        values["max"] = self.histogram.get_max_value() / 1000.0
        return values

    def encode(self) -> str:
        return self.histogram.encode().decode("ascii")

    def merge(self, other: "HotPathRecorder") -> None:
        """Add another recorder of the same hot path (another worker or process)."""
        self.histogram.add(other.histogram)
        self.ops += other.ops
        self.errors += other.errors
        self.late_starts += other.late_starts

    @classmethod
    def decode(cls, name: str, encoded: str, ops: int, errors: int, late_starts: int = 0) -> "HotPathRecorder":
        return cls(name, HdrHistogram.decode(encoded.encode("ascii")), ops, errors, late_starts)
