"""`loadgen bench push-ceiling` (Kinesis half): how many records/s one core pushes, and how many cores each
stack's prod peak therefore needs.

Where it sits: beside the pusher (loadgen.drive.kinesis_pusher), measuring it against the instant sink
(loadgen.target.kinesis_sink), which runs in its own process pinned to another CPU so that it does not share the measured
core. This process pins itself to one CPU for the measurements and restores its affinity afterwards.

Two measurements, same sink, same concurrency (calls in flight):
- bare: a loop of aiobotocore `put_records` calls, each sending the same prebuilt 500 records of 110 B data,
  as fast as the responses come back. Measured twice: with a default client (`bare_aiobotocore_records_per_s`,
  the loop anyone would write; botocore validates every record of every call) and with the pusher's client
  configuration (`bare_same_config_records_per_s`: parameter validation off, botocore retries off; the pusher
  itself no longer goes through botocore for PutRecords, see loadgen.drive.kinesis_client).
- pusher: `push_kinesis` on the stack's prod profile, open loop at a target above what one core can send (the
  bare rate x `overdrive`), so it runs saturated: generation from the domain model, scheduling, batching,
  per-record accounting, the shard model and HDR recording all run on the measured core. Its rate is the
  acknowledged records per second over the saturated window (after `warmup_s`, before the drain).

One sample per side is no measurement on a noisy 2-core machine (the same commit measured 0.80x, 0.92x and 1.05x),
so the two sides alternate in pairs (bare, pusher, bare, pusher, ... `pairs` of each): `ratio` is the median of
the pairs' pusher / bare (default client) ratios and `ratio_spread` their min and max; `ratio_same_config` is the
median against a bare loop with the pusher's client configuration, so the price of generation and accounting is in
the open. `cores_needed` = the stack's prod peak records/s (sum over its Kinesis streams, from the profile) / the
pusher's records/s on that stack's own records.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aiobotocore.session import AioSession
from botocore.config import Config

from loadgen.drive.ramp import RampPlan
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.paths import TERRAFORM_DIR
from loadgen.drive.kinesis_pusher import push_kinesis
from loadgen.target.children import stop_child
from loadgen.target.kinesis_sink import start_sink_process
from loadgen.profiles import load_profile
from loadgen.run_context import LOCAL_REGION, LOCAL_CREDENTIALS, RunContext, Target, new_run_id
from loadgen.tf import hcl_reader
from loadgen.tf.env_model import ResolvedStack

KINESIS_STACKS = ("fleet_telematics", "food_delivery")
RECORD_BYTES = 110
RECORDS_PER_CALL = 500


@dataclass
class CeilingResult:
    records_per_s: float
    """The pusher on fleet_telematics prod records (the first stack measured)."""
    bare_aiobotocore_records_per_s: float
    ratio: float
    """Median over the pairs of pusher / bare (default client)."""
    bare_same_config_records_per_s: float
    ratio_same_config: float
    ratio_spread: tuple[float, float] = (0.0, 0.0)
    """(min, max) of the pairs' ratios."""
    pairs: int = 0
    per_stack: dict[str, dict] = field(default_factory=dict)
    """Stack -> pusher records/s on its records, prod peak records/s, cores needed."""
    concurrency: int = 0
    seconds: float = 0.0
    measured_cpu: int | None = None
    sink_cpu: int | None = None

    def to_json(self) -> dict:
        return asdict(self)


async def bare_put_records_rate(url: str, seconds: float, concurrency: int, config: Config | None = None,
                                warmup_s: float = 0.5) -> float:
    """Records/s of a bare put_records loop (prebuilt 500 x 110 B records per call) against the sink at url."""
    records = [{"Data": b"x" * RECORD_BYTES, "PartitionKey": f"VH{i:07d}"} for i in range(RECORDS_PER_CALL)]
    config = config or Config(max_pool_connections=concurrency)
    async with AioSession().create_client("kinesis", endpoint_url=url, region_name=LOCAL_REGION, config=config,
                                          **LOCAL_CREDENTIALS) as client:
        sent = 0

        async def worker(until: float) -> None:
            nonlocal sent
            while time.perf_counter() < until:
                response = await client.put_records(StreamName="ceiling", Records=records)
                sent += len(response["Records"]) - response.get("FailedRecordCount", 0)

        await asyncio.gather(*[worker(time.perf_counter() + warmup_s) for _ in range(concurrency)])
        sent = 0
        began = time.perf_counter()
        await asyncio.gather(*[worker(began + seconds) for _ in range(concurrency)])
        return sent / (time.perf_counter() - began)


def client_config(max_in_flight: int) -> Config:
    """The lean aiobotocore configuration of the second bare baseline: parameter validation and botocore's
    retries off (the pusher itself builds and signs PutRecords without botocore: drive.kinesis_client)."""
    return Config(parameter_validation=False, max_pool_connections=max(max_in_flight, 1),
                  retries={"total_max_attempts": 1, "mode": "standard"}, tcp_keepalive=True)


def _peak_records_per_s(stack: str, env: str = "prod") -> float:
    return sum(d.peak_rps for d in load_profile(stack, env).demand() if d.kind == "kinesis")


def sink_context(stack: str, env: str, url: str, terraform_dir: Path, out_dir: Path, what: str) -> RunContext:
    """A run of the stack's env profile whose Kinesis target is the sink at url."""
    return RunContext(stack=stack, env=env, resolved=ResolvedStack(hcl_reader.load_stack(terraform_dir, stack), env),
                      profile=load_profile(stack, env), target=Target("local", None, url, LOCAL_REGION),
                      out_dir=out_dir, run_id=new_run_id(stack, env, what))


async def pusher_rate(stack: str, url: str, seconds: float, concurrency: int, target_records_per_s: float,
                      terraform_dir: Path, out_dir: Path, warmup_s: float = 1.0) -> float:
    """Acknowledged records/s of the saturated pusher on the stack's prod profile against the sink at url."""
    ctx = sink_context(stack, "prod", url, terraform_dir, out_dir, "push-ceiling")
    recorders: list[StagedRecorder] = []
    duration = warmup_s + seconds
    await push_kinesis(ctx, RampPlan.constant(duration),
                       rate_scale=target_records_per_s / _peak_records_per_s(stack), watch=recorders.append,
                       max_in_flight=concurrency, slice_s=0.1, drain_timeout_s=1.0, max_backlog=50_000,
                       create_on_target=False)
    # records finished per wall second (every record of these runs is acknowledged: the sink fails none)
    first, last = int(round(warmup_s)), int(duration)
    if last <= first:
        raise RuntimeError("the push-ceiling run was too short to measure; raise --seconds")
    done = sum(int(r.timeline_ops[first:last].sum()) for r in recorders)
    return done / (last - first)


@contextlib.contextmanager
def pinned_to(cpu: int | None):
    """This process on `cpu` for the block (nothing changes when None); its affinity restored afterwards."""
    saved = os.sched_getaffinity(0) if cpu is not None else None
    try:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        yield
    finally:
        if saved is not None:
            os.sched_setaffinity(0, saved)


def measuring_cpus() -> tuple[int | None, int | None]:
    """(CPU this process measures on, CPU the sink runs on); None where pinning is not possible."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return cpus[0] if cpus else None, None
    return cpus[0], cpus[1]


async def run_push_ceiling(seconds: float = 5.0, concurrency: int = 8, overdrive: float = 1.5,
                           stacks: tuple[str, ...] = KINESIS_STACKS, terraform_dir: Path | None = None,
                           out_dir: Path | None = None, pairs: int = 5) -> CeilingResult:
    """Measure bare aiobotocore and the pusher on one core against the instant sink (its own process), the two
    alternating in `pairs` pairs."""
    terraform_dir = terraform_dir or TERRAFORM_DIR
    measured_cpu, sink_cpu = measuring_cpus()
    url, sink = start_sink_process(cpu=sink_cpu)
    try:
        with pinned_to(measured_cpu):
            per_stack = {}
            bares, sames, pushers = [], [], []
            with scratch_dir(out_dir) as scratch:
                for _ in range(pairs):
                    bares.append(await bare_put_records_rate(url, seconds, concurrency))
                    sames.append(await bare_put_records_rate(url, seconds, concurrency, client_config(concurrency)))
                    pushers.append(await pusher_rate(stacks[0], url, seconds, concurrency, overdrive * sames[-1],
                                                     terraform_dir, scratch))
                for stack in stacks[1:]:
                    rate = await pusher_rate(stack, url, seconds, concurrency, overdrive * statistics.median(sames), terraform_dir,
                                             scratch)
                    peak = _peak_records_per_s(stack)
                    per_stack[stack] = {"records_per_s": round(rate, 1), "prod_peak_records_per_s": round(peak, 1),
                                        "cores_needed": round(peak / rate, 3), "processes_needed": math.ceil(peak / rate)}
    finally:
        stop_child(sink)
    headline, bare, bare_same = (statistics.median(v) for v in (pushers, bares, sames))
    peak = _peak_records_per_s(stacks[0])
    per_stack = {stacks[0]: {"records_per_s": round(headline, 1), "prod_peak_records_per_s": round(peak, 1),
                             "cores_needed": round(peak / headline, 3),
                             "processes_needed": math.ceil(peak / headline)}, **per_stack}
    ratios = [p / b for p, b in zip(pushers, bares)]
    return CeilingResult(round(headline, 1), round(bare, 1), round(statistics.median(ratios), 3), round(bare_same, 1),
                         round(statistics.median([p / s for p, s in zip(pushers, sames)]), 3),
                         (round(min(ratios), 3), round(max(ratios), 3)), pairs, per_stack, concurrency, seconds,
                         measured_cpu, sink_cpu)


class scratch_dir:
    """Where the bench's pusher runs write their (unused) failures files: out_dir, or a temporary folder."""

    def __init__(self, out_dir: Path | None):
        self.out_dir, self._tmp = out_dir, None

    def __enter__(self) -> Path:
        if self.out_dir is not None:
            return self.out_dir
        import tempfile

        self._tmp = tempfile.TemporaryDirectory(prefix="push-ceiling-")
        return Path(self._tmp.name)

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
