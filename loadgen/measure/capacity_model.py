"""The capacity model: a profile's demand x an env's tfvars capacity -> utilization, headroom, what breaks first.

Where it sits: after profiles/ (demand: each stream's and route's peak rate at the profile's top ramp stage) and
loadgen/tf (capacity: shards, throttles, RCU/WCU, reserved concurrency, all read from the env's tfvars), before
any load is sent: `loadgen capacity` prints it, `loadgen validate` runs it first. Nothing here runs load; it is a
pure function of (ResolvedStack, Profile, headroom, measured p99s).

Every row names the tfvars `key` that sets the capacity (the variable, or a path into a map variable; a Terraform
address where no variable sets it; `quota:...` for an AWS account quota), the demand and capacity in one unit,
`utilization` = demand / capacity, `saturates_at_multiple` = the multiple of the top-stage demand at which the
capacity is used up, and `recommended` = the smallest value of the key that holds demand x headroom. Rows whose
demand does not grow with load (a stream consumer's concurrency is shards x parallelization factor whatever the
rate) have `scales_with_load: false`, no saturation multiple, and hold when demand <= capacity.

DynamoDB demand comes from the hot paths (a `ddb_conditional_write`'s table, an `api_route`'s `writes_table`: one
write per record of its rate source) and TABLE_TRAFFIC. A table or index under target tracking (an
aws_appautoscaling_target with a TargetTrackingScaling policy) is judged on its range, not on its provisioned value
(only where autoscaling starts): the top stage's demand against max capacity x target utilization, and each ramp
step against the capacity in place when it arrives, for the SCALE_OUT_LAG_S target tracking takes to catch up (the
min capacity until an earlier stage has been scaled for): the min must hold what arrives before scaling.

Kinesis writes are judged on the hottest shard: the fleet model generates SAMPLE_WINDOW_S seconds of records at
its busiest moment, their real partition keys are hashed as Kinesis does (loadgen.measure.shard_model), and each
shard's share of records and bytes scales the stream's demand.

Entry point: `capacity_model(resolved, profile, headroom=1.3, p99_ms=None) -> CapacityResult` (`.to_json()`,
`.verdict`, `.breaks_first`). Lambda durations come from `p99_ms` (hot path name, function for_each key or
function name -> measured p99 in ms), else from the function's timeout as an upper bound. What the model cannot
set demand against is listed in `not_modelled`, never silently dropped.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from fleet_models.orders import STAGES as ORDER_LIFECYCLE_STAGES
from loadgen.hot_paths import hot_paths
from loadgen.measure.shard_model import HashCache, shard_indices
from loadgen.profiles import KINESIS_BYTES_PER_SHARD, KINESIS_RECORDS_PER_SHARD, Profile
from loadgen.tf.alarm_thresholds import alarms
from loadgen.tf.api_routes import rest_apis
from loadgen.tf.computed import ComputedView, computed_refs
from loadgen.tf.env_model import ResolvedStack, ResourceInstance
from loadgen.tf.variable_source import tfvars_key

# --- limits AWS documents (quotas are defaults; a raised quota is not visible in Terraform) ---
# Kinesis Data Streams quotas: per shard, writes 1,000 records/s and 1 MiB/s (shared with profiles.py);
# reads 2 MiB/s and 5 GetRecords calls/s shared by every standard (polling) consumer; an enhanced fan-out
# consumer gets its own 2 MiB/s per shard.
KINESIS_READ_BYTES_PER_SHARD = 2 * 1024 * 1024
KINESIS_GET_RECORDS_PER_SHARD = 5
# Lambda's and Firehose's standard Kinesis pollers call GetRecords once per second per shard.
POLLS_PER_SHARD_PER_S = 1
# DynamoDB: one write unit per 1 KB of item (rounded up), one strongly consistent read unit per 4 KB.
DDB_WRITE_UNIT_BYTES = 1024
DDB_READ_UNIT_BYTES = 4096
# DynamoDB on-demand: default per-table throughput quota, 40,000 read and 40,000 write request units/s.
DDB_ON_DEMAND_TABLE_WRITE_UNITS = 40_000
# API Gateway: account-level throttle per Region across all APIs, 10,000 requests/s with a 5,000 burst.
APIGW_ACCOUNT_RATE = 10_000
APIGW_ACCOUNT_BURST = 5_000
# Lambda: default concurrent executions per account and Region; a function without reserved concurrency
# draws from it.
LAMBDA_ACCOUNT_CONCURRENCY = 1000
# Lambda: a function without `timeout` runs for at most 3 s; an SQS mapping without batch_size takes 10 messages.
LAMBDA_DEFAULT_TIMEOUT_S = 3.0
SQS_DEFAULT_BATCH_SIZE = 10
# API Gateway WebSocket: 500 new connections/s per account and Region (adjustable, L-9ED1E49A); no quota on
# concurrent connections, which are bounded by that rate x the 2-hour maximum connection duration.
WS_NEW_CONNECTIONS_PER_S = 500
WS_MAX_CONNECTION_S = 2 * 3600

# Ours, not AWS's: a throttle's burst (token bucket size) must absorb this many seconds of the route's demand
# arriving at once (clients retrying in step after a blip).
BURST_WINDOW_S = 1.0
# Ours, from AWS's description: DynamoDB target tracking scales out once consumed capacity has stayed above the
# target for 2 consecutive minutes (AWS re:Post, "DynamoDB auto scaling"); with about a minute for the metric to
# arrive and the alarm to act and about a minute for the table update, a step of demand meets the capacity that was
# in place before it for about 4 minutes. Burst capacity (up to 300 s of unused capacity, which AWS may spend on
# maintenance without notice) is not counted; the policy's scale-out cooldown is reported, not modelled.
SCALE_OUT_LAG_S = 240.0

SAMPLE_WINDOW_S = 20.0
"""Seconds of records generated at the fleet's busiest moment to measure each shard's share (every periodic
reporter of a 10 s or 15 s stream reports at least once in it)."""
MAX_SHARDS_SEARCHED = 10_000
SIZE_SAMPLE_RECORDS = 100
"""Payloads per stream or route that item sizes are averaged over."""
SIZE_SAMPLE_MAX_S = 7 * 86400.0

_KEY = re.compile(r'\["([^"]+)"\]$')


@dataclass
class ResourceCapacity:
    """One constrained resource: its demand at the profile's top stage against what the tfvars provision."""

    key: str
    """The tfvars variable (or map path) that sets the capacity; a Terraform address or `quota:...` otherwise."""
    resource: str
    """Terraform address (and what of it is constrained)."""
    demand: float
    capacity: float
    unit: str
    recommended: float | None
    """The smallest value of `key` that holds demand x headroom."""
    current: Any = None
    """The value `key` has now (differs from `capacity` when capacity is derived from it, e.g. shards)."""
    scales_with_load: bool = True
    detail: dict = field(default_factory=dict)

    @property
    def utilization(self) -> float:
        return self.demand / self.capacity if self.capacity else math.inf

    @property
    def saturates_at_multiple(self) -> float | None:
        """Multiple of the top-stage demand at which this capacity is used up (None: not load-driven)."""
        if not self.scales_with_load:
            return None
        return self.capacity / self.demand if self.demand > 0 else math.inf

    @property
    def upper_bound(self) -> bool:
        """The demand is an upper bound only (a Lambda duration taken from its timeout, nothing measured): the row
        is reported with its recommendation, but it cannot fail the verdict or break first until a run measures
        the function's p99 (`loadgen validate` passes its own)."""
        return str(self.detail.get("duration_basis", "")).startswith("timeout")

    def holds(self, headroom: float) -> bool:
        return self.demand * (headroom if self.scales_with_load else 1.0) <= self.capacity

    def judged(self, headroom: float) -> bool | None:
        """holds(), or None for an upper-bound row that would not hold (unknown until measured)."""
        holds = self.holds(headroom)
        return None if self.upper_bound and not holds else holds

    def rank(self, headroom: float) -> float:
        """Sort key for breaks_first: the saturation multiple, or 0 / inf for a non-load-driven row."""
        if self.judged(headroom) is None:
            return math.inf
        multiple = self.saturates_at_multiple
        if multiple is None:
            return math.inf if self.holds(headroom) else 0.0
        return multiple

    def to_json(self, headroom: float) -> dict:
        multiple = self.saturates_at_multiple
        return {"key": self.key, "resource": self.resource, "demand": _round(self.demand),
                "capacity": _round(self.capacity), "utilization": _round(self.utilization),
                "saturates_at_multiple": None if multiple is None else _round(multiple),
                "recommended": self.recommended, "current": self.current, "unit": self.unit,
                "holds": self.judged(headroom), "upper_bound": self.upper_bound,
                "scales_with_load": self.scales_with_load, "detail": self.detail}


@dataclass
class CapacityResult:
    """Every constrained resource of one stack/env against its profile, and the verdict."""

    stack: str
    env: str
    tfvars: str
    headroom: float
    resources: list[ResourceCapacity]
    top_stage_fraction: float
    not_modelled: list[dict] = field(default_factory=list)
    """Constrained resources the model cannot set demand against (resource, why)."""

    @property
    def breaks_first(self) -> str | None:
        if not self.resources:
            return None
        first = min(self.resources, key=lambda r: r.rank(self.headroom))
        return None if math.isinf(first.rank(self.headroom)) and first.judged(self.headroom) is None else first.key

    @property
    def verdict(self) -> str:
        return "pass" if all(r.judged(self.headroom) is not False for r in self.resources) else "fail"

    def to_json(self) -> dict:
        first = min(self.resources, key=lambda r: r.rank(self.headroom)) if self.resources else None
        return {"stack": self.stack, "env": self.env, "tfvars": self.tfvars, "headroom": self.headroom,
                "top_stage_rate_fraction": self.top_stage_fraction,
                "resources": [r.to_json(self.headroom) for r in self.resources],
                "breaks_first": self.breaks_first,
                "breaks_first_resource": first.resource if first else None,
                "verdict": self.verdict, "not_modelled": self.not_modelled}


def _round(value: float) -> float | None:
    """4 decimals; None for an infinite value (JSON has no infinity)."""
    return None if math.isinf(value) or math.isnan(value) else round(float(value), 4)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _stream_key(address: str) -> str:
    found = _KEY.search(address)
    return found.group(1) if found else address.rsplit(".", 1)[-1]


# --- demand --------------------------------------------------------------------------------------------------

def top_stage_fraction(profile: Profile) -> float:
    return max((s.rate_fraction for s in profile.stages), default=1.0)


@dataclass(frozen=True)
class KeyLoad:
    """A stream's sample at its busiest moment, aggregated per distinct partition key."""

    hashes: np.ndarray
    """Kinesis hash key of each distinct partition key (object array of Python ints)."""
    records: np.ndarray
    bytes: np.ndarray
    window_s: float

    @property
    def mean_record_bytes(self) -> float:
        return float(self.bytes.sum() / self.records.sum()) if self.records.sum() else 0.0

    def hottest(self, shard_count: int, records_per_s: float) -> tuple[float, float]:
        """(records/s, bytes/s) of the hottest shards when the stream carries `records_per_s` in this mix."""
        shards = shard_indices(self.hashes, shard_count)
        total = self.records.sum()
        rec = np.bincount(shards, weights=self.records, minlength=shard_count) / total
        byt = np.bincount(shards, weights=self.bytes, minlength=shard_count) / total
        return float(rec.max()) * records_per_s, float(byt.max()) * records_per_s


_SAMPLES: dict[str, tuple[dict[str, KeyLoad], dict]] = {}
_SAMPLES_KEPT = 9  # one per shipped stack and env


def sample_key_loads(profile: Profile, window_s: float = SAMPLE_WINDOW_S) -> tuple[dict[str, KeyLoad], dict]:
    """Per Kinesis stream, its records at the fleet's busiest moment grouped by partition key; and per stream or
    route, the payload sizes (bytes) of the sample, for item sizes. The model is seeded, so a sample depends on
    the profile's contents only and is kept for the last few profiles (a candidate tfvars reuses it)."""
    identity = json.dumps([profile.domain, profile.seed, profile.fleet, profile.streams, window_s], sort_keys=True)
    if identity not in _SAMPLES:
        if len(_SAMPLES) >= _SAMPLES_KEPT:
            _SAMPLES.pop(next(iter(_SAMPLES)))
        _SAMPLES[identity] = _sample(profile, window_s)
    return _SAMPLES[identity]


def _sample(profile: Profile, window_s: float) -> tuple[dict[str, KeyLoad], dict]:
    config = profile.config()
    model = config.build()
    batches = model.generate(config.peak_time_s, config.peak_time_s + window_s)
    kinesis = {d.name for d in profile.demand() if d.kind == "kinesis"}
    loads, sizes, hashed = {}, {}, HashCache()  # streams keyed the same way (vehicle_id) hash each key once
    for name, batch in batches.items():
        lengths = np.fromiter(map(len, batch.data), dtype=np.int64, count=len(batch))
        sizes[name] = lengths
        if name not in kinesis or not len(batch):
            continue
        distinct, inverse = np.unique(np.asarray(batch.partition_keys), return_inverse=True)
        hashes = np.array(list(map(hashed, distinct.tolist())), dtype=object)
        loads[name] = KeyLoad(hashes, np.bincount(inverse, minlength=len(distinct)).astype(np.float64),
                              np.bincount(inverse, weights=lengths, minlength=len(distinct)), window_s)
    _extend_sizes(model, profile, config.peak_time_s + window_s, window_s, sizes)
    return loads, sizes


def _extend_sizes(model: Any, profile: Profile, t0: float, span_s: float, sizes: dict[str, np.ndarray]) -> None:
    """Routes and streams too rare to show up in the window (a maintenance request every few minutes) get their
    payload sizes from the time after it, in doubling spans, until SIZE_SAMPLE_RECORDS or SIZE_SAMPLE_MAX_S."""
    wanted = {d.name for d in profile.demand() if d.kind in ("api", "kinesis") and d.mean_rps > 0}
    end = t0 + SIZE_SAMPLE_MAX_S
    while t0 < end and any(sizes.get(n, np.empty(0)).size < SIZE_SAMPLE_RECORDS for n in wanted):
        span_s = min(span_s * 2, end - t0)
        for name, batch in model.generate(t0, t0 + span_s).items():
            if name in wanted and sizes.get(name, np.empty(0)).size < SIZE_SAMPLE_RECORDS:
                lengths = np.fromiter(map(len, batch.data), dtype=np.int64, count=len(batch))
                sizes[name] = np.concatenate([sizes.get(name, np.empty(0, np.int64)), lengths])
        t0 += span_s


def shards_needed(load: KeyLoad, records_per_s: float, records_limit: float, bytes_limit: float) -> int | None:
    """The smallest shard count whose hottest shard holds `records_per_s` of this mix under both limits: searched
    upward from the even-split lower bound, since hashing makes the hottest shard hotter than the average. None
    when one partition key alone exceeds a limit (no shard count helps; the key must change)."""
    total = load.records.sum()
    if (load.records.max() / total * records_per_s > records_limit
            or load.bytes.max() / total * records_per_s > bytes_limit):
        return None
    lower = max(1, math.ceil(records_per_s / records_limit),
                math.ceil(records_per_s * load.mean_record_bytes / bytes_limit))
    for count in range(lower, MAX_SHARDS_SEARCHED + 1):
        rec, byt = load.hottest(count, records_per_s)
        if rec <= records_limit and byt <= bytes_limit:
            return count
    return None


# --- the model, one section per service -----------------------------------------------------------------------

@dataclass
class _Context:
    resolved: ResolvedStack
    view: ComputedView
    profile: Profile
    headroom: float
    p99_ms: dict[str, float]
    top: float
    demand: dict[str, Any]
    loads: dict[str, KeyLoad]
    sizes: dict[str, np.ndarray]
    streams: dict[str, ResourceInstance] = field(default_factory=dict)
    stream_rows: dict[str, ResourceCapacity] = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)

    def skip(self, resource: str, why: str) -> None:
        self.skipped.append({"resource": resource, "why": why})

    def rate(self, name: str) -> float:
        found = self.demand.get(name)
        return found.peak_rps * self.top if found is not None else 0.0


def _kinesis_writes(ctx: _Context) -> list[ResourceCapacity]:
    rows = []
    for inst in ctx.resolved.instances("aws_kinesis_stream"):
        name = _stream_key(inst.address)
        ctx.streams[inst.address] = inst
        count, load, rate = _number(inst.attribute("shard_count")), ctx.loads.get(name), ctx.rate(name)
        if count is None and load is not None and rate > 0:
            ctx.skip(inst.address, "no fixed shard count (ON_DEMAND): its write limit scales with the stream's "
                                   "recent peak, which Terraform does not set")
        if count is None or load is None or rate <= 0:
            continue
        shards = int(count)
        rec, byt = load.hottest(shards, rate)
        by_records = KINESIS_RECORDS_PER_SHARD / rec if rec else math.inf
        by_bytes = KINESIS_BYTES_PER_SHARD / byt if byt else math.inf
        binding = "records" if by_records <= by_bytes else "bytes"
        key = tfvars_key(ctx.resolved, inst, inst.block.body.get("shard_count"), shards, f"{inst.address}.shard_count")
        recommended = shards_needed(load, rate * ctx.headroom, KINESIS_RECORDS_PER_SHARD, KINESIS_BYTES_PER_SHARD)
        row = ResourceCapacity(
            key=key, resource=f"{inst.address} write ({binding}/s, hottest shard)",
            demand=rec if binding == "records" else byt,
            capacity=KINESIS_RECORDS_PER_SHARD if binding == "records" else KINESIS_BYTES_PER_SHARD,
            unit=f"{binding}/s per shard", recommended=recommended, current=shards,
            detail={"stream_records_per_s": round(rate, 3), "shards": shards,
                    "mean_record_bytes": round(load.mean_record_bytes, 1),
                    "hottest_shard_records_per_s": round(rec, 3), "hottest_shard_bytes_per_s": round(byt, 1),
                    "even_split_records_per_s": round(rate / shards, 3),
                    "records_utilization": round(rec / KINESIS_RECORDS_PER_SHARD, 4),
                    "bytes_utilization": round(byt / KINESIS_BYTES_PER_SHARD, 4),
                    "partition_keys": int(load.hashes.size), "sample_window_s": load.window_s})
        ctx.stream_rows[inst.address] = row
        rows.append(row)
    return rows


def _function_address(value: Any) -> str | None:
    refs = [a for a, _ in computed_refs(value) if a.startswith("aws_lambda_function.")]
    return refs[0] if refs else None


def _mapping_sources(ctx: _Context) -> list[tuple[ResourceInstance, str, str, bool]]:
    """(event source mapping, its function, the Kinesis stream it reads, via enhanced fan-out?)."""
    found = []
    consumers = {c.address: c for c in ctx.view.instances("aws_kinesis_stream_consumer")}
    for esm in ctx.view.instances("aws_lambda_event_source_mapping"):
        function = _function_address(esm.attribute("function_name"))
        for address, attribute in computed_refs(esm.attribute("event_source_arn")):
            if attribute == "stream_arn" and address.startswith("aws_dynamodb_table."):
                ctx.skip(esm.address, "DynamoDB stream source: its shard count follows the table's partitions, "
                                      "which Terraform does not set (its function's concurrency is modelled)")
            if address in ctx.streams and function:
                found.append((esm, function, address, False))
            elif address in consumers and function:
                stream = [a for a, _ in computed_refs(consumers[address].attribute("stream_arn"))]
                if stream and stream[0] in ctx.streams:
                    found.append((esm, function, stream[0], True))
    return found


def _firehose_readers(ctx: _Context) -> list[tuple[str, str]]:
    found = []
    for inst in ctx.view.instances("aws_kinesis_firehose_delivery_stream"):
        for block in inst.blocks("kinesis_source_configuration"):
            for address, _ in computed_refs(block.get("kinesis_stream_arn") if isinstance(block, dict) else None):
                if address in ctx.streams:
                    found.append((inst.address, address))
    return found


def _kinesis_reads(ctx: _Context, mappings: list) -> list[ResourceCapacity]:
    rows = []
    readers: dict[str, dict[str, list[str]]] = {}
    for esm, _, stream, efo in mappings:
        readers.setdefault(stream, {"shared": [], "efo": []})["efo" if efo else "shared"].append(esm.address)
    for firehose, stream in _firehose_readers(ctx):
        readers.setdefault(stream, {"shared": [], "efo": []})["shared"].append(firehose)
    for stream, kinds in readers.items():
        write = ctx.stream_rows.get(stream)
        name = _stream_key(stream)
        if write is None:
            continue
        shards, load, rate = write.current, ctx.loads[name], ctx.rate(name)
        shared = len(kinds["shared"])
        pipes = max(shared, 1)  # an EFO consumer reads the hottest shard through its own 2 MiB/s pipe
        _, byt = load.hottest(shards, rate)
        recommended = shards_needed(load, rate * ctx.headroom, math.inf, KINESIS_READ_BYTES_PER_SHARD / pipes)
        rows.append(ResourceCapacity(
            key=write.key, resource=f"{stream} read (bytes/s, hottest shard, {shared} shared + "
                                    f"{len(kinds['efo'])} enhanced fan-out readers)",
            demand=byt * pipes, capacity=KINESIS_READ_BYTES_PER_SHARD, unit="bytes/s per shard read pipe",
            recommended=recommended, current=shards,
            detail={"shared_readers": kinds["shared"], "enhanced_fan_out_readers": kinds["efo"]}))
        if shared:
            rows.append(ResourceCapacity(
                key=stream, resource=f"{stream} GetRecords calls/s per shard ({shared} polling readers)",
                demand=shared * POLLS_PER_SHARD_PER_S, capacity=KINESIS_GET_RECORDS_PER_SHARD,
                unit="GetRecords/s per shard", recommended=None, current=shared, scales_with_load=False,
                detail={"shared_readers": kinds["shared"],
                        "note": "fixed by the number of polling readers; move readers to enhanced fan-out"}))
    return rows


def _functions(ctx: _Context) -> dict[str, ResourceInstance]:
    return {inst.address: inst for inst in ctx.resolved.instances("aws_lambda_function")}


def _reserved(ctx: _Context, inst: ResourceInstance) -> tuple[float, str, Any]:
    """(concurrency the function can reach, the key that sets it, its current value)."""
    reserved = _number(inst.attribute("reserved_concurrent_executions"))
    if reserved is None or reserved < 0:
        return LAMBDA_ACCOUNT_CONCURRENCY, "quota:lambda.concurrent_executions", LAMBDA_ACCOUNT_CONCURRENCY
    key = tfvars_key(ctx.resolved, inst, inst.block.body.get("reserved_concurrent_executions"), reserved,
                     f"{inst.address}.reserved_concurrent_executions")
    return reserved, key, int(reserved)


def _p99_s(ctx: _Context, inst: ResourceInstance, names: Iterable[str]) -> tuple[float, str]:
    """Measured p99 (s) of the function, looked up by its key, its name or a hot path, else its timeout."""
    candidates = [str(inst.key), str(inst.attribute("function_name")), inst.address, *names]
    for name in candidates:
        if name in ctx.p99_ms:
            return ctx.p99_ms[name] / 1000.0, f"measured p99 ({name})"
    timeout = _number(inst.attribute("timeout")) or LAMBDA_DEFAULT_TIMEOUT_S
    return timeout, "timeout (upper bound: no measured p99)"


def _lambda_stream_consumers(ctx: _Context, mappings: list) -> list[ResourceCapacity]:
    functions, per_function = _functions(ctx), {}
    for esm, function, stream, _ in mappings:
        factor = _number(esm.attribute("parallelization_factor")) or 1.0
        shards = ctx.stream_rows[stream].current if stream in ctx.stream_rows else _number(
            ctx.streams[stream].attribute("shard_count"))
        if shards is None:
            continue
        per_function.setdefault(function, []).append((esm.address, stream, int(shards), factor))
    rows = []
    for function, sources in per_function.items():
        inst = functions.get(function)
        if inst is None:
            continue
        capacity, key, current = _reserved(ctx, inst)
        demand = sum(shards * factor for _, _, shards, factor in sources)
        after = sum((ctx.stream_rows[s].recommended or n if s in ctx.stream_rows else n) * f for _, s, n, f in sources)
        rows.append(ResourceCapacity(
            key=key, resource=f"{function} concurrency (stream consumer: shards x parallelization factor)",
            demand=demand, capacity=capacity, unit="concurrent executions",
            recommended=math.ceil(max(demand, after)), current=current, scales_with_load=False,
            detail={"sources": [{"mapping": m, "stream": s, "shards": n, "parallelization_factor": f}
                                for m, s, n, f in sources],
                    "note": "recommended covers the streams' recommended shard counts too"}))
    return rows


def _api_routes(ctx: _Context) -> list[ResourceCapacity]:
    rows: list[ResourceCapacity] = []
    methods = {i.address: i for i in ctx.resolved.instances("aws_api_gateway_method_settings")}
    plans = {i.address: i for i in ctx.resolved.instances("aws_api_gateway_usage_plan")}
    functions = _functions(ctx)
    per_bucket: dict[str, dict] = {}
    per_function: dict[str, dict] = {}
    for api in rest_apis(ctx.resolved):
        for route in api.routes:
            rate = ctx.rate(route.key)
            if rate <= 0:
                continue
            for throttle in api.throttles(route, api.client_key(route)):  # what the route's own client meets
                bucket = per_bucket.setdefault(throttle.key, {"throttle": throttle, "routes": [], "rate": 0.0})
                bucket["routes"].append(route.key)
                bucket["rate"] += rate
            if route.function is not None:
                entry = per_function.setdefault(route.function.address, {"routes": [], "rate": 0.0})
                entry["routes"].append(route.key)
                entry["rate"] += rate
    total = sum(ctx.rate(route) for route in {r for b in per_bucket.values() for r in b["routes"]})
    if total > 0:
        for what, quota, demand in (("rate", APIGW_ACCOUNT_RATE, total), ("burst", APIGW_ACCOUNT_BURST,
                                                                          total * BURST_WINDOW_S)):
            rows.append(ResourceCapacity(
                key=f"quota:apigateway.account_throttle_{what}", resource=f"API Gateway account throttle {what} "
                                                                     "(every REST route of the stack)",
                demand=demand, capacity=quota, unit="requests/s" if what == "rate" else "requests at once",
                recommended=math.ceil(demand * ctx.headroom), current=quota,
                detail={"note": "shared with every other API of the account and Region"}))
    for bucket in per_bucket.values():
        throttle, rate = bucket["throttle"], bucket["rate"]
        address, _, path = throttle.source.partition(" ")
        inst = methods.get(address) or plans.get(address)
        raw_rate, raw_burst = _throttle_raw(inst, path) if inst else (None, None)
        for what, raw, value, demand in (("rate", raw_rate, throttle.rate, rate),
                                         ("burst", raw_burst, throttle.burst, rate * BURST_WINDOW_S)):
            value = int(value) if float(value).is_integer() else value
            key = tfvars_key(ctx.resolved, inst, raw, value, f"{throttle.source} {what}") if inst else throttle.source
            rows.append(ResourceCapacity(
                key=key, resource=f"{throttle.key} throttle {what} ({', '.join(bucket['routes'])})",
                demand=demand, capacity=value,
                unit="requests/s" if what == "rate" else f"requests at once ({BURST_WINDOW_S:g} s of demand)",
                recommended=math.ceil(demand * ctx.headroom), current=value,
                detail={"routes": bucket["routes"], "source": throttle.source}))
    for address, entry in per_function.items():
        inst = functions.get(address)
        if inst is None:
            continue
        # the route's own hot path: its p99 (API latency, Lambda included) bounds the function's duration
        names = [p.name for p in hot_paths(ctx.profile.stack)
                 if p.kind == "api_route" and p.rate_source in entry["routes"]]
        rows.append(_littles_law(ctx, inst, entry["rate"], names, f"API {', '.join(entry['routes'])}"))
    return rows


def _throttle_raw(inst: ResourceInstance, path: str) -> tuple[Any, Any]:
    body = inst.block.body
    for settings in body.get("settings", []):
        return settings.get("throttling_rate_limit"), settings.get("throttling_burst_limit")
    for stage in body.get("api_stages", []):
        for throttle in stage.get("throttle", []):
            if path and path in str(throttle.get("path")):
                return throttle.get("rate_limit"), throttle.get("burst_limit")
    for settings in body.get("throttle_settings", []):
        return settings.get("rate_limit"), settings.get("burst_limit")
    return None, None


def _littles_law(ctx: _Context, inst: ResourceInstance, rate: float, names: list[str], what: str) -> ResourceCapacity:
    capacity, key, current = _reserved(ctx, inst)
    duration_s, basis = _p99_s(ctx, inst, names)
    demand = rate * duration_s
    return ResourceCapacity(
        key=key, resource=f"{inst.address} concurrency (Little's law: {what} arrivals x p99 duration)",
        demand=demand, capacity=capacity, unit="concurrent executions",
        recommended=math.ceil(demand * ctx.headroom), current=current,
        detail={"arrivals_per_s": round(rate, 4), "duration_s": duration_s, "duration_basis": basis})


def _table_stream_consumers(ctx: _Context) -> list[ResourceCapacity]:
    """DynamoDB stream -> Lambda (e.g. a request router): concurrency by Little's law, the table's item writes per
    second (one stream record each; failed conditional writes counted, an upper bound) x the function's p99,
    against its reserved concurrency."""
    writes: dict[str, float] = {}
    for traffic, _ in _table_traffic(ctx):
        writes[traffic.table] = writes.get(traffic.table, 0.0) + ctx.rate(traffic.rate_source) * traffic.writes
    functions, rows = _functions(ctx), []
    for esm in ctx.view.instances("aws_lambda_event_source_mapping"):
        function = functions.get(_function_address(esm.attribute("function_name")) or "")
        for address, attribute in computed_refs(esm.attribute("event_source_arn")):
            if attribute == "stream_arn" and function is not None and writes.get(address, 0.0) > 0:
                rows.append(_littles_law(ctx, function, writes[address], [], f"{address} stream record"))
    return rows


def _table_of_alarm(ctx: _Context, alarm_address: str) -> str | None:
    for alarm in alarms(ctx.resolved):
        if alarm.address == alarm_address and isinstance(alarm.dimensions, dict):
            name = alarm.dimensions.get("TableName")
            return name if isinstance(name, str) else None
    return None


@dataclass(frozen=True)
class TableTraffic:
    """What one record of a stream or route costs a table, as its handler in terraform/<stack>/lambda/ does it."""

    rate_source: str
    """The profile's stream or route (fleet_models.demand.Demand.name)."""
    table: str
    """The aws_dynamodb_table address."""
    writes: float
    """Item writes per record (a conditional write that fails counts: it consumes write units too)."""
    consistent_reads: float
    """Strongly consistent item reads per record."""
    handler: str


# Table traffic the hot paths do not declare (a `ddb_conditional_write` hot path adds its table: one conditional
# write per record of its rate source).
TABLE_TRAFFIC: dict[str, tuple[TableTraffic, ...]] = {
    "fleet_telematics": (
        TableTraffic("diagnostics", 'aws_dynamodb_table.this["diagnostics"]', 1, 0,
                     "diagnostics_processor.py: BatchWriteItem of every validated record"),
        TableTraffic("hos", 'aws_dynamodb_table.this["driver_logs"]', 1, 1,
                     "hos_validator.py: BatchGetItem ConsistentRead of the driver's duty state, conditional PutItem "
                     "of the new state (per driver per batch: at most one of each per record)"),
    ),
}


def _table_traffic(ctx: _Context) -> list[tuple[TableTraffic, str]]:
    tables = {inst.attribute("name"): inst.address for inst in ctx.resolved.instances("aws_dynamodb_table")}
    found = [(t, "declared in capacity_model.TABLE_TRAFFIC") for t in TABLE_TRAFFIC.get(ctx.profile.stack, ())]
    for path in hot_paths(ctx.profile.stack, ctx.profile.path.parents[1]):
        table = tables.get(_table_of_alarm(ctx, path.alarms[0])) if path.kind == "ddb_conditional_write" else None
        if table:
            found.append((TableTraffic(path.rate_source, table, 1, 0, "conditional write"), f"hot path {path.name}"))
        if path.writes_table in tables.values():
            found.append((TableTraffic(path.rate_source, path.writes_table, 1, 0,
                                       f"{path.rate_source}'s handler: one new item per 2xx answer"),
                          f"hot path {path.name} (writes_table)"))
    return found


@dataclass(frozen=True)
class Autoscaling:
    """Target tracking on one DynamoDB table or index dimension: its aws_appautoscaling_target (min/max) and the
    target-tracking aws_appautoscaling_policy on it (target utilization)."""

    target: ResourceInstance
    policy: ResourceInstance
    min_capacity: float
    max_capacity: float
    utilization: float
    """The policy's target value as a fraction (70 -> 0.7)."""
    scale_out_cooldown_s: float | None

    def key(self, ctx: _Context, bound: str) -> str:
        """The tfvars variable that sets `min_capacity` or `max_capacity`."""
        value = self.min_capacity if bound == "min_capacity" else self.max_capacity
        return tfvars_key(ctx.resolved, self.target, self.target.block.body.get(bound), value,
                          f"{self.target.address}.{bound}")


def _autoscaling(ctx: _Context) -> dict[tuple[str, str], Autoscaling]:
    """(resource_id, scalable_dimension) -> its target tracking, for DynamoDB targets with such a policy."""
    policies = {}
    for policy in ctx.resolved.instances("aws_appautoscaling_policy"):
        config = next(iter(policy.blocks("target_tracking_scaling_policy_configuration")), None)
        if policy.attribute("policy_type") == "TargetTrackingScaling" and isinstance(config, dict):
            policies[(policy.attribute("resource_id"), policy.attribute("scalable_dimension"))] = (policy, config)
    found = {}
    for target in ctx.resolved.instances("aws_appautoscaling_target"):
        key = (target.attribute("resource_id"), target.attribute("scalable_dimension"))
        low, high = _number(target.attribute("min_capacity")), _number(target.attribute("max_capacity"))
        if target.attribute("service_namespace") != "dynamodb" or low is None or high is None:
            continue
        if key not in policies or _number(policies[key][1].get("target_value")) is None:
            ctx.skip(target.address, "no target-tracking policy with a numeric target value scales it")
            continue
        policy, config = policies[key]
        found[key] = Autoscaling(target, policy, low, high, _number(config["target_value"]) / 100.0,
                                 _number(config.get("scale_out_cooldown")))
    return found


def _capacity_at_steps(ctx: _Context, demand: float, scaling: Autoscaling) -> list[dict]:
    """Each ramp stage's demand (units/s) and the capacity in place when it begins: the min capacity until target
    tracking has caught up with an earlier stage (SCALE_OUT_LAG_S after that stage began), then that stage's
    demand / target utilization within [min, max] (scale-in is slow, so the highest such level stays)."""
    starts = np.concatenate(([0.0], np.cumsum([s.duration_s for s in ctx.profile.stages])[:-1]))
    steps = []
    for k, (start, stage) in enumerate(zip(starts.tolist(), ctx.profile.stages)):
        scaled = [(min(demand * s.rate_fraction / ctx.top / scaling.utilization, scaling.max_capacity), j)
                  for j, (begun, s) in enumerate(zip(starts.tolist()[:k], ctx.profile.stages[:k]))
                  if begun + SCALE_OUT_LAG_S <= start]
        level, source = max(scaled, default=(0.0, None))
        steps.append({"stage": k, "start_s": start, "demand": round(demand * stage.rate_fraction / ctx.top, 4),
                      "scaled": level, "capacity_at_step": round(max(scaling.min_capacity, level), 4),
                      "capacity_basis": "min capacity" if level <= scaling.min_capacity
                      else f"scaled out for stage {source}"})
    return steps


def _autoscaled_rows(ctx: _Context, what: str, unit: str, demand: float, scaling: Autoscaling,
                     detail: dict) -> list[ResourceCapacity]:
    """An autoscaled dimension against its demand: the max capacity at the target utilization (what target tracking
    provisions at most while keeping to its target), and each ramp step against the capacity in place when it
    arrives, for the SCALE_OUT_LAG_S before target tracking catches up (what the min capacity must hold)."""
    u, h = scaling.utilization, ctx.headroom
    common = {**detail, "min_capacity": scaling.min_capacity, "max_capacity": scaling.max_capacity,
              "target_utilization": u, "scale_out_cooldown_s": scaling.scale_out_cooldown_s,
              "policy": scaling.policy.address}
    at_max = ResourceCapacity(
        key=scaling.key(ctx, "max_capacity"), resource=f"{what} {unit} autoscaling max at {u:.0%} target utilization",
        demand=demand, capacity=scaling.max_capacity * u, unit=unit, recommended=math.ceil(demand * h / u),
        current=_int(scaling.max_capacity), detail=common)
    steps = [s for s in _capacity_at_steps(ctx, demand, scaling) if s["demand"] > 0]
    if not steps:
        return [at_max]
    worst = min(steps, key=lambda s: s["capacity_at_step"] / s["demand"])
    needed_min = max(s["demand"] * h for s in steps if s["demand"] * h > s["scaled"])
    return [
        at_max,
        ResourceCapacity(
            key=scaling.key(ctx, "min_capacity"),
            resource=f"{what} {unit} before scale-out (stage {worst['stage']} on the capacity in place, "
                     f"{SCALE_OUT_LAG_S:g} s lag)",
            demand=worst["demand"], capacity=worst["capacity_at_step"], unit=unit,
            recommended=math.ceil(needed_min), current=_int(scaling.min_capacity),
            detail={**common, "scale_out_lag_s": SCALE_OUT_LAG_S,
                    "steps": [{k: v for k, v in s.items() if k != "scaled"} for s in steps],
                    "note": "burst capacity (up to 300 s of unused capacity, best effort) is not counted"}),
    ]


def _int(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _dynamodb(ctx: _Context) -> list[ResourceCapacity]:
    """Write and read units per table (and each GSI) from the records that reach it: item size ~ the payload it
    stores, rounded up per item to 1 KB for writes and 4 KB for strongly consistent reads."""
    tables = {inst.address: inst for inst in ctx.resolved.instances("aws_dynamodb_table")}
    per_table: dict[str, dict] = {}
    for traffic, why in _table_traffic(ctx):
        sizes, rate = ctx.sizes.get(traffic.rate_source), ctx.rate(traffic.rate_source)
        if traffic.table not in tables or sizes is None or not sizes.size or rate <= 0:
            continue
        items = np.maximum(sizes, 1)
        entry = per_table.setdefault(traffic.table, {"wcu": 0.0, "rcu": 0.0, "writes": 0.0, "sources": []})
        entry["writes"] += rate * traffic.writes
        entry["wcu"] += rate * traffic.writes * float(np.ceil(items / DDB_WRITE_UNIT_BYTES).mean())
        entry["rcu"] += rate * traffic.consistent_reads * float(np.ceil(items / DDB_READ_UNIT_BYTES).mean())
        entry["sources"].append({"rate_source": traffic.rate_source, "records_per_s": round(rate, 4),
                                 "writes_per_record": traffic.writes, "consistent_reads_per_record":
                                 traffic.consistent_reads, "max_item_bytes": int(sizes.max()),
                                 "handler": traffic.handler, "from": why})
    rows, scaled = [], _autoscaling(ctx)
    used: set[tuple[str, str]] = set()
    for address, entry in per_table.items():
        inst = tables[address]
        detail = {"sources": entry["sources"], "counts_failed_conditions": True}
        if inst.attribute("billing_mode") == "PAY_PER_REQUEST":
            rows.append(ResourceCapacity(
                key="quota:dynamodb.on_demand_table_write_units", resource=f"{address} write request units",
                demand=entry["wcu"], capacity=DDB_ON_DEMAND_TABLE_WRITE_UNITS, unit="write request units/s",
                recommended=math.ceil(entry["wcu"] * ctx.headroom), current=DDB_ON_DEMAND_TABLE_WRITE_UNITS,
                detail=detail))
            continue
        for attribute, unit, demand, dimension in (("write_capacity", "WCU", entry["wcu"], "WriteCapacityUnits"),
                                                   ("read_capacity", "RCU", entry["rcu"], "ReadCapacityUnits")):
            scaling_key = (f"table/{inst.attribute('name')}", f"dynamodb:table:{dimension}")
            if scaling_key in scaled and demand > 0:  # the provisioned value is only where autoscaling starts
                used.add(scaling_key)
                rows += _autoscaled_rows(ctx, address, unit, demand, scaled[scaling_key], detail)
                continue
            provisioned = _number(inst.attribute(attribute))
            if provisioned is None or demand <= 0:
                continue
            rows.append(ResourceCapacity(
                key=tfvars_key(ctx.resolved, inst, inst.block.body.get(attribute), provisioned,
                               f"{address}.{attribute}"),
                resource=f"{address} {unit}", demand=demand, capacity=provisioned, unit=unit,
                recommended=math.ceil(demand * ctx.headroom), current=int(provisioned), detail=detail))
        rows += _gsi_writes(ctx, inst, entry["writes"], detail, scaled, used)
    for address in tables:
        if address not in per_table:
            ctx.skip(address, "no hot path or TABLE_TRAFFIC entry sets its demand")
    for key, scaling in scaled.items():
        if key not in used:
            ctx.skip(scaling.target.address, f"autoscaled {key[1].rsplit(':', 1)[1]} of {key[0]}: the profile sets "
                                             "no demand of this kind on it")
    return rows


def _gsi_raws(inst: ResourceInstance) -> list[Any]:
    raws = list(inst.block.body.get("global_secondary_index", []))
    for dynamic in inst.block.body.get("dynamic", []):
        spec = dynamic.get('"global_secondary_index"')
        if spec:
            raws.append(spec.get("content", [{}])[0])
    return raws


def _gsi_writes(ctx: _Context, inst: ResourceInstance, rate: float, detail: dict,
                scaled: dict[tuple[str, str], Autoscaling], used: set[tuple[str, str]]) -> list[ResourceCapacity]:
    """Every write is counted as one write to each GSI (upper bound: a write that changes no projected
    attribute costs the index nothing); projected items here are far below 1 KB. An autoscaled index is judged
    on its autoscaling range (its provisioned write_capacity is only where autoscaling starts)."""
    rows = []
    raws = _gsi_raws(inst)
    index_detail = {**detail, "write_units_per_write": 1.0, "note": "one index write per table write (upper bound)"}
    for index, gsi in enumerate(inst.blocks("global_secondary_index")):
        scaling_key = (f"table/{inst.attribute('name')}/index/{gsi.get('name') if isinstance(gsi, dict) else None}",
                       "dynamodb:index:WriteCapacityUnits")
        if scaling_key in scaled and rate > 0:
            used.add(scaling_key)
            rows += _autoscaled_rows(ctx, f"{inst.address} GSI {gsi.get('name')}", "WCU", rate, scaled[scaling_key],
                                     index_detail)
            continue
        wcu = _number(gsi.get("write_capacity")) if isinstance(gsi, dict) else None
        if wcu is None:
            continue
        raw = raws[min(index, len(raws) - 1)].get("write_capacity") if raws else None
        key = tfvars_key(ctx.resolved, inst, raw, wcu, f"{inst.address}.global_secondary_index.write_capacity")
        rows.append(ResourceCapacity(
            key=key, resource=f"{inst.address} GSI {gsi.get('name')} WCU", demand=rate, capacity=wcu, unit="WCU",
            recommended=math.ceil(rate * ctx.headroom), current=int(wcu), detail=index_detail))
    return rows


def _order_event_rates(ctx: _Context) -> dict[str, float]:
    """Order events by `order_stage`: the orders model places each order (`placed`) and then takes it through
    each of its lifecycle stages once (fleet_models.orders.STAGES); it models no cancellations."""
    if ctx.profile.domain != "orders":
        return {}
    orders = max((ctx.rate(d.name) for d in ctx.demand.values() if d.name == "orders"), default=0.0)
    return {stage: orders for stage in ("placed", *ORDER_LIFECYCLE_STAGES)}


def _queue_arrivals(ctx: _Context) -> dict[str, tuple[float, list[str]]]:
    """Queue address -> (messages/s, the event kinds it receives), for queues fed by an SNS subscription whose
    filter policy selects order events by stage."""
    rates, found = _order_event_rates(ctx), {}
    if not rates:
        return found
    for sub in ctx.view.instances("aws_sns_topic_subscription"):
        policy = sub.attribute("filter_policy")
        try:
            selected = json.loads(policy).get("order_stage") if isinstance(policy, str) else None
        except ValueError:
            selected = None
        queues = [a for a, _ in computed_refs(sub.attribute("endpoint")) if a.startswith("aws_sqs_queue.")]
        if isinstance(selected, list) and queues:
            found[queues[0]] = (sum(rates.get(stage, 0.0) for stage in selected), selected)
    return found


def _sqs_consumers(ctx: _Context) -> list[ResourceCapacity]:
    """SQS -> Lambda: concurrent batches needed (arrivals / batch size x p99 batch duration, Little's law) against
    the mapping's maximum concurrency and the function's reserved concurrency, whichever is lower."""
    arrivals, functions, rows = _queue_arrivals(ctx), _functions(ctx), []
    raw_mappings = {i.address: i for i in ctx.resolved.instances("aws_lambda_event_source_mapping")}
    for esm in ctx.view.instances("aws_lambda_event_source_mapping"):
        queues = [a for a, _ in computed_refs(esm.attribute("event_source_arn")) if a.startswith("aws_sqs_queue.")]
        function = functions.get(_function_address(esm.attribute("function_name")) or "")
        if not queues or function is None:
            continue
        if queues[0] not in arrivals:
            ctx.skip(queues[0], "arrival rate not derivable from the profile")
            continue
        rate, stages = arrivals[queues[0]]
        batch = _number(esm.attribute("batch_size")) or float(SQS_DEFAULT_BATCH_SIZE)
        scaling = next(iter(esm.blocks("scaling_config")), {})
        maximum = _number(scaling.get("maximum_concurrency")) if isinstance(scaling, dict) else None
        reserved, reserved_key, _ = _reserved(ctx, function)
        duration_s, basis = _p99_s(ctx, function, [])
        if maximum is not None and maximum <= reserved:
            raw = raw_mappings[esm.address]
            raw_scaling = next(iter(raw.block.body.get("scaling_config", [])), {})
            key = tfvars_key(ctx.resolved, raw, raw_scaling.get("maximum_concurrency"), maximum,
                             f"{esm.address}.scaling_config.maximum_concurrency")
            capacity = maximum
        else:
            key, capacity = reserved_key, reserved
        demand = rate / batch * duration_s
        rows.append(ResourceCapacity(
            key=key, resource=f"{queues[0]} -> {function.address} concurrency (Little's law: batches/s x p99 "
                              "batch duration)",
            demand=demand, capacity=capacity, unit="concurrent batches",
            recommended=math.ceil(demand * ctx.headroom), current=int(capacity),
            detail={"messages_per_s": round(rate, 4), "order_stages": stages, "batch_size": batch,
                    "duration_s": duration_s, "duration_basis": basis,
                    "consumer_messages_per_s": round(capacity * batch / duration_s, 3)}))
    return rows


def _websocket(ctx: _Context) -> list[ResourceCapacity]:
    """New connections/s (one customer WebSocket per order tracked) against the account quota and the stage's
    route throttle; concurrent connections by Little's law over the 2-hour maximum connection duration."""
    demands = [d for d in ctx.demand.values() if d.kind == "websocket"]
    stages = [i for i in ctx.resolved.instances("aws_apigatewayv2_stage")]
    if not demands or not stages:
        return []
    rate = sum(ctx.rate(d.name) for d in demands)
    names = ", ".join(d.name for d in demands)
    rows = [
        ResourceCapacity(
            key="quota:apigateway.websocket_new_connections_per_s", resource=f"WebSocket new connections ({names})",
            demand=rate, capacity=WS_NEW_CONNECTIONS_PER_S, unit="new connections/s",
            recommended=math.ceil(rate * ctx.headroom), current=WS_NEW_CONNECTIONS_PER_S,
            detail={"quota": "L-9ED1E49A, per account and Region, adjustable"}),
        ResourceCapacity(
            key="quota:apigateway.websocket_new_connections_per_s",
            resource=f"WebSocket concurrent connections ({names})",
            demand=rate * WS_MAX_CONNECTION_S, capacity=WS_NEW_CONNECTIONS_PER_S * WS_MAX_CONNECTION_S,
            unit="concurrent connections", recommended=math.ceil(rate * ctx.headroom), current=WS_NEW_CONNECTIONS_PER_S,
            detail={"connection_lifetime_s": WS_MAX_CONNECTION_S,
                    "note": "no quota on concurrent connections: bounded by new connections/s x 2 h"}),
    ]
    for stage in stages:
        settings = next(iter(stage.blocks("default_route_settings")), {})
        limit = _number(settings.get("throttling_rate_limit")) if isinstance(settings, dict) else None
        if limit is None:
            continue
        raw = next(iter(stage.block.body.get("default_route_settings", [])), {}).get("throttling_rate_limit")
        rows.append(ResourceCapacity(
            key=tfvars_key(ctx.resolved, stage, raw, limit, f"{stage.address}.throttling_rate_limit"),
            resource=f"{stage.address} route throttle rate ($connect of {names})", demand=rate, capacity=limit,
            unit="requests/s", recommended=math.ceil(rate * ctx.headroom),
            current=int(limit) if limit.is_integer() else limit))
    return rows


def capacity_model(resolved: ResolvedStack, profile: Profile, headroom: float = 1.3,
                   p99_ms: dict[str, float] | None = None) -> CapacityResult:
    """Every constrained resource of the env against the profile's demand at its top ramp stage.

    `p99_ms` maps a hot path name, a Lambda function's for_each key or its function name to a measured p99 in
    milliseconds (from the latest validate run); without one, a function's timeout bounds its duration."""
    if headroom <= 0:
        raise ValueError("headroom must be positive")
    loads, sizes = sample_key_loads(profile)
    ctx = _Context(resolved=resolved, view=ComputedView(resolved), profile=profile, headroom=headroom,
                   p99_ms=dict(p99_ms or {}), top=top_stage_fraction(profile),
                   demand={d.name: d for d in profile.demand()}, loads=loads, sizes=sizes)
    rows = _kinesis_writes(ctx)
    mappings = _mapping_sources(ctx)
    rows += _kinesis_reads(ctx, mappings)
    rows += _lambda_stream_consumers(ctx, mappings)
    rows += _api_routes(ctx)
    rows += _dynamodb(ctx)
    rows += _table_stream_consumers(ctx)
    rows += _sqs_consumers(ctx)
    rows += _websocket(ctx)
    tfvars = resolved.stack.tfvars[resolved.env].path
    return CapacityResult(stack=resolved.stack.name, env=resolved.env, tfvars=str(tfvars), headroom=headroom,
                          resources=rows, top_stage_fraction=ctx.top, not_modelled=ctx.skipped)
