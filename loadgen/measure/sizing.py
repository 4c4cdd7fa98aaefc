"""The capacity model's figures as tables for notebooks/: what each env needs at a multiple of its peak, next to
what its tfvars set.

Where it sits: on top of loadgen.measure.capacity_model (demand x capacity, the value that holds demand x
headroom) and loadgen.measure.shard_model (Kinesis hashing of the fleets' real partition keys); nothing here is a
second model. Every number is a row of `capacity_model(...)` for the given headroom, or the sample of real keys that
model judges shards with.

- `stream_demand_by_stage(stack, envs)`: each Kinesis stream's records/s through the profile's ramp stages.
- `shard_sizing(stack, envs, multiples)`: per env, stream and multiple, the shard count the model recommends
  (`needed`) against the tfvars' (`shards`).
- `hottest_shard_curve(stack, env, shard_counts)`: per stream and shard count, the hottest shard's records/s
  against the even split (`hot_over_even`, the skew of the real keys) and the excess over 1,000 records/s.
- `concurrency_sizing(stack, env, p99_ms, headroom)`: the Little's-law rows (arrivals x p99 duration) against
  reserved or maximum concurrency, with measured p99s by hot-path name as `loadgen validate` passes them.
- `write_units_per_write(stack, env, table)`: the write units one write to a table costs at the fleet's item sizes
  (a failed conditional write costs the same).
- `alarm_thresholds(stack, envs, address)`: one alarm's threshold and period per env.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import pandas as pd

from loadgen.measure.capacity_model import (ResourceCapacity, capacity_model, sample_key_loads,
                                            top_stage_fraction)
from loadgen.profiles import KINESIS_BYTES_PER_SHARD, KINESIS_RECORDS_PER_SHARD, load_profile
from loadgen.tf import hcl_reader
from loadgen.tf.alarm_thresholds import alarms
from loadgen.tf.env_model import ResolvedStack
from loadgen.paths import TERRAFORM_DIR


def _model_rows(stack: str, env: str, headroom: float, p99_ms: dict[str, float] | None = None,
                terraform_dir: Path | None = None) -> list[ResourceCapacity]:
    resolved = ResolvedStack(hcl_reader.load_stack(terraform_dir or TERRAFORM_DIR, stack), env)
    return capacity_model(resolved, load_profile(stack, env), headroom, p99_ms).resources


def _is_shard_write(row: ResourceCapacity) -> bool:
    return "hottest_shard_records_per_s" in row.detail


def stream_demand_by_stage(stack: str, envs: Iterable[str]) -> pd.DataFrame:
    """One row per env, Kinesis stream and ramp stage: `stage`, `start_s`, `duration_s`, `rate_fraction` and
    `records_per_s` (the stream's peak rate x the stage's fraction, as the ramp drives it)."""
    rows = []
    for env in envs:
        profile = load_profile(stack, env)
        for demand in (d for d in profile.demand() if d.kind == "kinesis"):
            start = 0.0
            for index, stage in enumerate(profile.stages):
                rows.append({"env": env, "stream": demand.name, "stage": index, "start_s": start,
                             "duration_s": stage.duration_s, "rate_fraction": stage.rate_fraction,
                             "records_per_s": demand.peak_rps * stage.rate_fraction})
                start += stage.duration_s
    return pd.DataFrame(rows)


def shard_sizing(stack: str, envs: Iterable[str], multiples: Iterable[float] = (1.0, 1.3, 2.0),
                 terraform_dir: Path | None = None) -> pd.DataFrame:
    """One row per env, Kinesis stream and multiple of the top stage's demand: `stream` (address), `key` (the tfvars
    variable), `shards` (its value now), `needed` (the model's recommended shard count at that multiple; None when
    one partition key alone exceeds a limit), `stream_records_per_s`, `hottest_shard_records_per_s`, `utilization`."""
    rows = []
    for env in envs:
        for multiple in multiples:
            for row in filter(_is_shard_write, _model_rows(stack, env, multiple, terraform_dir=terraform_dir)):
                rows.append({"env": env, "stream": row.resource.split(" ")[0], "key": row.key, "multiple": multiple,
                             "shards": row.current, "needed": row.recommended,
                             "stream_records_per_s": row.detail["stream_records_per_s"],
                             "hottest_shard_records_per_s": row.detail["hottest_shard_records_per_s"],
                             "utilization": row.utilization})
    return pd.DataFrame(rows)


def hottest_shard_curve(stack: str, env: str, shard_counts: Iterable[int]) -> pd.DataFrame:
    """One row per Kinesis stream of the profile and shard count: the stream's top-stage records/s spread over that
    many shards by the real partition keys' hashes (`hottest_records_per_s`, `hottest_bytes_per_s`) against the even
    split, and the excess over the per-shard write limits (what AWS would throttle)."""
    profile = load_profile(stack, env)
    loads, _ = sample_key_loads(profile)
    top = top_stage_fraction(profile)
    rows = []
    for demand in profile.demand():
        load = loads.get(demand.name)
        if demand.kind != "kinesis" or load is None:
            continue
        rate = demand.peak_rps * top
        for shards in shard_counts:
            records, byts = load.hottest(int(shards), rate)
            even = rate / shards
            rows.append({"stream": demand.name, "shards": int(shards), "stream_records_per_s": rate,
                         "even_split_records_per_s": even, "hottest_records_per_s": records,
                         "hot_over_even": records / even if even else math.nan,
                         "hottest_bytes_per_s": byts,
                         "excess_records_per_s": max(0.0, records - KINESIS_RECORDS_PER_SHARD),
                         "excess_bytes_per_s": max(0.0, byts - KINESIS_BYTES_PER_SHARD)})
    return pd.DataFrame(rows)


def concurrency_sizing(stack: str, env: str, p99_ms: dict[str, float], headroom: float = 1.3,
                       terraform_dir: Path | None = None) -> pd.DataFrame:
    """The model's Little's-law rows (a function's arrivals x its p99 duration, against the concurrency that bounds
    it): `key`, `resource`, `arrivals_per_s`, `duration_s`, `duration_basis` (measured p99 or the timeout as an upper
    bound), `concurrency_needed` (at 1x), `limit` (its value now), `recommended` (at `headroom`), `holds`."""
    rows = []
    for row in _model_rows(stack, env, headroom, p99_ms, terraform_dir):
        if "Little's law" not in row.resource:
            continue
        rows.append({"key": row.key, "resource": row.resource,
                     "arrivals_per_s": row.detail.get("arrivals_per_s", row.detail.get("messages_per_s")),
                     "duration_s": row.detail["duration_s"], "duration_basis": row.detail["duration_basis"],
                     "concurrency_needed": row.demand, "limit": row.current, "recommended": row.recommended,
                     "holds": row.judged(headroom)})
    return pd.DataFrame(rows)


def write_units_per_write(stack: str, env: str, table: str, terraform_dir: Path | None = None) -> float | None:
    """Write units one write to the table (by name) costs at the fleet's item sizes, from the model's write row of
    that table (its demand over the writes per second behind it); None when the model has no such row."""
    resolved = ResolvedStack(hcl_reader.load_stack(terraform_dir or TERRAFORM_DIR, stack), env)
    addresses = {inst.address for inst in resolved.instances("aws_dynamodb_table") if inst.attribute("name") == table}
    for row in capacity_model(resolved, load_profile(stack, env)).resources:
        sources = row.detail.get("sources") or []
        if row.resource.split(" ")[0] in addresses and row.unit in ("WCU", "write request units/s") \
                and "GSI" not in row.resource and "before scale-out" not in row.resource:
            writes = sum(s["records_per_s"] * s["writes_per_record"] for s in sources)
            return round(row.demand / writes, 3) if writes else None  # records_per_s is kept to 4 decimals
    return None


def alarm_thresholds(stack: str, envs: Iterable[str], address: str,
                     terraform_dir: Path | None = None) -> pd.DataFrame:
    """One alarm (by Terraform address) resolved in each env: `env`, `name`, `metric`, `threshold`, `period`."""
    stack_def = hcl_reader.load_stack(terraform_dir or TERRAFORM_DIR, stack)
    rows = []
    for env in envs:
        for alarm in alarms(ResolvedStack(stack_def, env)):
            if alarm.address == address:
                rows.append({"env": env, "name": alarm.name, "metric": alarm.metric, "threshold": alarm.threshold,
                             "period": alarm.period})
    return pd.DataFrame(rows)
