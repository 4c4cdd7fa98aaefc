"""`loadgen bench generate`: how fast one core generates and serializes a domain's records, against the peak
demand of the env's profile (the generator must outrun any environment it feeds)."""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import asdict, dataclass

from loadgen.profiles import Profile


@dataclass(frozen=True)
class GenerateResult:
    domain: str
    stack: str
    env: str
    simulated_s: float
    records: int
    bytes: int
    wall_s: float
    setup_s: float
    records_per_s: float
    bytes_per_s: float
    peak_demand_rps: float
    ratio: float
    peak_rss_mb: float

    def to_json(self) -> dict:
        return asdict(self)


def peak_rss_mb() -> float:
    """Peak resident set of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def run_generate_bench(profile: Profile, seconds: float, slice_s: float = 1.0, progress=None) -> GenerateResult:
    """Generate `seconds` of simulated time from the profile's busiest moment, in slices, counting every record."""
    started = time.perf_counter()
    config = profile.config()
    model = config.build()
    setup_s = time.perf_counter() - started
    records = nbytes = 0
    t = config.peak_time_s
    end = t + seconds
    began = time.perf_counter()
    while t < end:
        t1 = min(t + slice_s, end)
        for batch in model.generate(t, t1).values():
            records += len(batch)
            nbytes += batch.nbytes
        t = t1
        if progress:
            progress(t - config.peak_time_s, records)
    wall = time.perf_counter() - began
    peak = sum(d.peak_rps for d in config.demand())
    rate = records / wall if wall > 0 else float("inf")
    return GenerateResult(profile.domain, profile.stack, profile.env, seconds, records, nbytes, wall, setup_s,
                          rate, nbytes / wall if wall > 0 else float("inf"), peak,
                          rate / peak if peak else float("inf"), peak_rss_mb())
