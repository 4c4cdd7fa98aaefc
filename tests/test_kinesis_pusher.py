"""The Kinesis pusher against a real moto server (its own process, over HTTP) and against the fault-injecting
sink; and the shard model's hashing and hot-shard report."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from aiobotocore.session import AioSession

from loadgen.drive.ramp import RampPlan
from loadgen.drive.put_records_batches import PutLimits
from loadgen.drive.kinesis_pusher import push_kinesis
from loadgen.target.kinesis_sink import CHECKSUM_MOD, KinesisSink, SinkFaults, record_checksum
from loadgen.target.local_target import is_ours, start_moto
from loadgen.profiles import load_profile
from loadgen.run_context import LOCAL_REGION, RunContext, Target, new_run_id
from loadgen.measure.run_summary import build_summary
from loadgen.measure.shard_model import HASH_SPACE, ShardLoad, hash_key, shard_ranges
from loadgen.tf import hcl_reader
from loadgen.tf.env_model import ResolvedStack
from tests.conftest import TERRAFORM


@pytest.fixture
def moto_url(tmp_path: Path):
    service = start_moto(tmp_path / "moto")
    try:
        yield service.url
    finally:
        if is_ours(service):
            os.killpg(service.pid, signal.SIGTERM)


def context(stack: str, env: str, url: str, out: Path) -> RunContext:
    return RunContext(stack=stack, env=env, resolved=ResolvedStack(hcl_reader.load_stack(TERRAFORM, stack), env),
                      profile=load_profile(stack, env), target=Target("local", None, url, LOCAL_REGION),
                      out_dir=out, run_id=new_run_id(stack, env, "kinesis"))


async def read_back(ctx: RunContext, stream: str) -> tuple[dict[str, int], int]:
    """Every record in every shard of the stream, read independently of the pusher: (count per shard, checksum)."""
    counts, checksum = {}, 0
    async with AioSession().create_client("kinesis", **ctx.target.client_kwargs()) as client:
        shards = (await client.list_shards(StreamName=stream))["Shards"]
        for shard in shards:
            iterator = (await client.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                                        ShardIteratorType="TRIM_HORIZON"))["ShardIterator"]
            counts[shard["ShardId"]] = 0
            while iterator:
                page = await client.get_records(ShardIterator=iterator, Limit=10000)
                for record in page["Records"]:
                    counts[shard["ShardId"]] += 1
                    checksum = (checksum + record_checksum(record["PartitionKey"], record["Data"])) % CHECKSUM_MOD
                if not page["Records"]:
                    break
                iterator = page.get("NextShardIterator")
    return counts, checksum


RUN_S = 20.0  # issue 5 accepted this run at a full minute of fleet_telematics dev; 20 s exercise the same path
# (every shard, retries, the read-back) in a third of the suite time (at 12 s the 200 vehicles' achieved rate
# strays 3% from the target: too few records for the 2% bound)


def sent_checksum(ctx: RunContext, stream: str, duration_s: float, rate_scale: float) -> tuple[int, int]:
    """The records the profile's model generates for the run (same seed, same slices): (count, checksum)."""
    config = ctx.profile.config()
    model = config.build()
    count = checksum = 0
    t = 0.0
    while t < duration_s:
        t1 = min(t + 1.0, duration_s)
        batch = model.generate(config.peak_time_s + t * rate_scale, config.peak_time_s + t1 * rate_scale)[stream]
        count += len(batch)
        for key, data in zip(batch.partition_keys, batch.data):
            checksum = (checksum + record_checksum(key, data)) % CHECKSUM_MOD
        t = t1
    return count, checksum


def test_a_local_run_delivers_exactly_the_generated_records_at_the_target_rate(moto_url, tmp_path):
    ctx = context("fleet_telematics", "dev", moto_url, tmp_path)
    outcome = asyncio.run(push_kinesis(ctx, plan=RampPlan.constant(RUN_S), rate_scale=1.0))

    accounting = outcome.accounting
    assert accounting["generated"] == accounting["acknowledged"] > 0
    assert accounting["failed"] == accounting["in_flight"] == 0
    assert abs(outcome.achieved_records_per_s / outcome.target_records_per_s - 1) < 0.02
    for key, name in outcome.streams.items():
        per_shard, checksum = asyncio.run(read_back(ctx, name))
        expected_count, expected_checksum = sent_checksum(ctx, key, RUN_S, 1.0)
        assert sum(per_shard.values()) == accounting["per_stream"][key]["acknowledged"] == expected_count
        assert checksum == expected_checksum
        # the shard model put the records where moto did
        model_counts = [round(s["records_per_s"] * RUN_S) for s in outcome.shards[key]["shards"]]
        assert sorted(per_shard.values()) == sorted(model_counts)
    summary = build_summary(ctx, outcome.results, outcome.duration_s) | outcome.summary_fields()
    gps = next(e for e in summary["hot_paths"] if e["name"] == "gps_stream")
    assert gps["alarm"]["metric"] == "IncomingRecords" and gps["verdict"] == "pass"
    assert json.loads(json.dumps(summary))["accounting"]["generated"] == accounting["generated"]


def sink_context(url: str, out: Path) -> RunContext:
    return context("fleet_telematics", "dev", url, out)


def test_records_the_sink_throttles_are_retried_until_accepted_and_none_is_lost(tmp_path):
    async def run():
        async with KinesisSink(SinkFaults(fail_fraction=0.2)) as sink:
            ctx = sink_context(sink.url, tmp_path)
            return ctx, sink, await push_kinesis(ctx, plan=RampPlan.constant(3.0), rate_scale=1.0, max_attempts=20)

    ctx, sink, outcome = asyncio.run(run())
    accounting = outcome.accounting
    assert accounting["generated"] == accounting["acknowledged"] > 0
    assert accounting["failed"] == accounting["in_flight"] == 0
    assert sink.stats.records_failed > 0.15 * accounting["generated"]  # the sink did throttle
    retried = sum(r.extra.get("retried_records", 0) for r in outcome.results)
    assert retried == sink.stats.records_failed
    # every throttled answer is on the timeline (once per attempt), at the second it came back
    timelines = [r.staged.timeline() for r in outcome.results if r.staged is not None]
    assert sum(sum(t["throttles"]) for t in timelines) == sink.stats.records_failed
    assert all(len(t["throttles"]) == len(t["ops"]) for t in timelines)
    assert sink.stats.records_seen == accounting["acknowledged"] + retried
    for key, name in outcome.streams.items():
        count, checksum = sent_checksum(ctx, key, 3.0, 1.0)
        assert sink.stats.streams[name].accepted == count == accounting["per_stream"][key]["acknowledged"]
        assert sink.stats.streams[name].checksum == checksum
    assert outcome.failures_path.read_text() == ""


def test_a_partition_key_the_sink_always_rejects_is_reported_failed_not_hidden(tmp_path):
    config = load_profile("fleet_telematics", "dev").config()
    rejected = config.build().generate(config.peak_time_s, config.peak_time_s + 1.0)["gps"].partition_keys[0]

    async def run():
        # Transient throttling too, rare enough that no other record fails all 8 attempts (0.05^8 per record).
        async with KinesisSink(SinkFaults(fail_fraction=0.05, permanent_keys=frozenset({rejected}))) as sink:
            return await push_kinesis(sink_context(sink.url, tmp_path), plan=RampPlan.constant(3.0), max_attempts=8)

    outcome = asyncio.run(run())
    accounting = outcome.accounting
    failures = [json.loads(line) for line in outcome.failures_path.read_text().splitlines()]
    assert accounting["failed"] == len(failures) > 0
    assert {f["partition_key"] for f in failures} == {rejected}
    assert all(f["error_code"] == "InternalFailure" and f["attempts"] == 8 for f in failures)
    assert accounting["generated"] == accounting["acknowledged"] + accounting["failed"]
    assert accounting["in_flight"] == 0
    gps = next(r for r in outcome.results if r.name == "gps_stream")
    assert gps.recorder.errors == accounting["per_stream"]["gps"]["failed"]


def test_a_record_over_the_per_record_limit_is_counted_failed_with_a_clear_code(tmp_path):
    async def run():
        async with KinesisSink() as sink:
            return await push_kinesis(sink_context(sink.url, tmp_path), plan=RampPlan.constant(1.0),
                                      limits=PutLimits(max_record_bytes=150))

    outcome = asyncio.run(run())
    failures = [json.loads(line) for line in outcome.failures_path.read_text().splitlines()]
    assert failures and {f["error_code"] for f in failures} == {"RecordTooLarge"}
    assert outcome.accounting["failed"] == len(failures)
    assert outcome.accounting["generated"] == outcome.accounting["acknowledged"] + outcome.accounting["failed"]


def test_cancelling_a_push_flushes_and_reports_what_did_not_finish(tmp_path):
    async def run():
        async with KinesisSink() as sink:
            task = asyncio.create_task(push_kinesis(sink_context(sink.url, tmp_path), plan=RampPlan.constant(30.0)))
            while not sink.stats.calls:
                await asyncio.sleep(0.01)
            task.cancel()
            return await task

    outcome = asyncio.run(run())
    accounting = outcome.accounting
    assert outcome.aborted
    assert accounting["generated"] == accounting["acknowledged"] + accounting["failed"] + accounting["in_flight"]
    assert accounting["acknowledged"] > 0 and accounting["in_flight"] > 0


def test_shard_ranges_split_the_hash_space_evenly_like_create_stream():
    ranges = shard_ranges(4)
    assert ranges[0][0] == 0 and ranges[-1][1] == HASH_SPACE - 1
    assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(3))
    load = ShardLoad("s", 4)
    keys = [f"VH{i:07d}" for i in range(200)]
    shards = load.map.shards_of(keys)
    for key, shard in zip(keys, shards.tolist()):
        start, end = ranges[shard]
        assert start <= hash_key(key) <= end


def test_a_skewed_partition_key_makes_its_shard_hot_and_an_even_spread_does_not():
    rng = np.random.default_rng(7)
    duration_s, rate, shards = 10.0, 5000, 8
    n = int(duration_s * rate)
    keys = [f"VH{i:07d}" for i in rng.integers(0, 100_000, n)]
    hot_key = "VH9999999"
    skewed = [hot_key if i % 5 < 2 else key for i, key in enumerate(keys)]  # one key takes 40% of 5,000 rec/s
    sizes = np.full(n, 110)

    even = ShardLoad("gps", shards)  # 625 rec/s per shard
    even.add(keys, sizes)
    assert even.report(duration_s)["hot_shards"] == []
    assert even.report(duration_s)["max_records_per_s"] < 700

    load = ShardLoad("gps", shards)
    load.add(skewed, sizes)
    report = load.report(duration_s)
    hot_index = load.map.shard_of_key(hot_key)
    [hot] = report["hot_shards"]
    assert hot["shard_id"] == f"shardId-{hot_index:012d}"
    # 2,000 rec/s of the hot key plus about an eighth of the other 3,000 rec/s, against the 1,000 rec/s limit
    expected = load.records[hot_index] / duration_s
    assert 2000 + 0.1 * 3000 < expected < 2000 + 0.15 * 3000
    assert hot["excess_records_per_s"] == pytest.approx(expected - 1000, abs=1e-3)
    assert hot["excess_bytes_per_s"] == 0


def test_recording_a_batch_of_latencies_at_once_equals_recording_them_one_by_one():
    from loadgen.measure.recorder import HotPathRecorder

    latencies = np.random.default_rng(3).lognormal(-5, 2, 5000)
    one_by_one, at_once = HotPathRecorder("a"), HotPathRecorder("b")
    for value in latencies.tolist():
        one_by_one.record(value)
    at_once.record_many(latencies)
    assert at_once.encode() == one_by_one.encode() and at_once.ops == one_by_one.ops
