"""DynamoDB conditional writes under contention, and the stack's tables and streams created from its Terraform,
on a real moto server (its own process on loopback) reached over HTTP through aiobotocore."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from aiobotocore.session import AioSession

from loadgen.drive.ddb_bench import ddb_hot_path, run_ddb_bench
from loadgen.target.local_resources import create_streams, create_tables
from loadgen.target.local_target import is_ours, start_moto
from loadgen.profiles import load_profile
from loadgen.run_context import LOCAL_REGION, RunContext, Target, new_run_id
from loadgen.measure.run_summary import build_summary
from loadgen.tf import hcl_reader
from loadgen.tf.alarm_thresholds import alarms
from loadgen.tf.env_model import ResolvedStack
from tests.conftest import TERRAFORM


def _moto(state_dir: Path):
    """A moto server started with the local target's own starter, stopped by its pid at the end."""
    service = start_moto(state_dir)
    try:
        yield service.url
    finally:
        if is_ours(service):
            os.killpg(service.pid, signal.SIGTERM)


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory):
    """One moto server shared by the benches of this module (each run writes its own items)."""
    yield from _moto(tmp_path_factory.mktemp("moto"))


@pytest.fixture
def empty_moto_url(tmp_path: Path):
    """A moto server of its own, on which nothing exists yet."""
    yield from _moto(tmp_path / "moto")


def context(stack: str, env: str, url: str, out: Path) -> RunContext:
    return RunContext(stack=stack, env=env, resolved=ResolvedStack(hcl_reader.load_stack(TERRAFORM, stack), env),
                      profile=load_profile(stack, env), target=Target("local", None, url, LOCAL_REGION),
                      out_dir=out, run_id=new_run_id(stack, env, "ddb"))


async def _scan_versions(ctx: RunContext, table: str, hash_key: str) -> dict[str, int]:
    """Every item of this run in the table, read independently of the bench: key -> version."""
    found: dict[str, int] = {}
    async with AioSession().create_client("dynamodb", **ctx.target.client_kwargs()) as client:
        request = {"TableName": table, "ConsistentRead": True, "FilterExpression": "begins_with(#k, :run)",
                   "ExpressionAttributeNames": {"#k": hash_key},
                   "ExpressionAttributeValues": {":run": {"S": f"loadgen-{ctx.run_id}-"}}}
        for _ in range(1000):
            page = await client.scan(**request)
            found.update({item[hash_key]["S"]: int(item["version"]["N"]) for item in page["Items"]})
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return found


def test_eight_writers_on_four_items_lose_no_update_and_count_every_failure(moto_url, tmp_path):
    ctx = context("food_delivery", "dev", moto_url, tmp_path)
    [result] = asyncio.run(run_ddb_bench(ctx, writers=8, items=4, duration_s=3.0, rate=None))
    extra = result.extra

    assert result.declared == ddb_hot_path(ctx).name == "assignment_write"
    assert extra["writers"] == 8 and extra["items"] == 4
    assert result.recorder.errors == 0 and extra["write_errors"] == 0 and extra["read_errors"] == 0
    # every cycle sent exactly one write, and every write is either a success or a counted conditional failure
    assert extra["attempted_writes"] == result.recorder.ops
    assert extra["successful_writes"] + extra["conditional_failures"] == extra["attempted_writes"]
    # 8 writers on 4 items do collide: the condition rejected some writes ...
    assert extra["conditional_failures"] > 0
    # ... and lost none: the versions, read back independently, moved once per success
    versions = asyncio.run(_scan_versions(ctx, extra["table"], "order_id"))
    assert len(versions) == 4
    assert sum(versions.values()) == extra["successful_writes"]
    assert extra["lost_updates"] == 0 and extra["items_with_lost_updates"] == 0


def test_the_verdict_compares_failures_per_minute_with_the_envs_alarm_threshold(moto_url, tmp_path):
    ctx = context("property_maintenance", "dev", moto_url, tmp_path)
    results = asyncio.run(run_ddb_bench(ctx, writers=4, items=2, duration_s=1.0, rate=None))
    [entry] = build_summary(ctx, results, 1.0)["hot_paths"]
    alarm = next(a for a in alarms(ctx.resolved) if a.address == ddb_hot_path(ctx).alarms[0])

    assert entry["table"] == alarm.dimensions["TableName"]
    assert entry["alarm"]["metric"] == "ConditionalCheckFailedRequests"
    assert entry["alarm"]["threshold"] == alarm.threshold
    observed = results[0].counts_per_s["ConditionalCheckFailedRequests"] * alarm.period
    assert entry["alarm"]["observed"] == pytest.approx(observed, abs=1e-3)
    assert entry["verdict"] == ("fail" if observed > alarm.threshold else "pass")
    assert entry["lost_updates"] == 0


def test_fleet_newer_position_only_write_loses_no_update_in_an_open_loop(moto_url, tmp_path):
    ctx = context("fleet_telematics", "dev", moto_url, tmp_path)
    [result] = asyncio.run(run_ddb_bench(ctx, writers=4, items=2, duration_s=1.0, rate=60.0))
    extra = result.extra

    assert result.name == "location_write" and result.target_rate == 60.0
    assert result.recorder.errors == 0
    assert extra["attempted_writes"] == result.recorder.ops
    assert extra["successful_writes"] + extra["conditional_failures"] == extra["attempted_writes"]
    versions = asyncio.run(_scan_versions(ctx, extra["table"], "vehicle_id"))
    assert sum(versions.values()) == extra["successful_writes"]
    assert extra["lost_updates"] == 0


def test_without_the_condition_concurrent_writers_lose_updates(moto_url, tmp_path):
    ctx = context("food_delivery", "dev", moto_url, tmp_path)
    [result] = asyncio.run(run_ddb_bench(ctx, writers=8, items=4, duration_s=3.0, rate=None, conditional=False))
    extra = result.extra

    assert result.name == "assignment_write_unsafe_no_condition" and extra["conditional"] is False
    assert extra["conditional_failures"] == 0
    assert extra["successful_writes"] == extra["attempted_writes"] == result.recorder.ops
    versions = asyncio.run(_scan_versions(ctx, extra["table"], "order_id"))
    assert extra["lost_updates"] == extra["successful_writes"] - sum(versions.values())
    assert extra["lost_updates"] > 0


async def _create_and_describe(resolved: ResolvedStack, target: Target):
    async with AioSession().create_client("dynamodb", **target.client_kwargs()) as ddb, \
            AioSession().create_client("kinesis", **target.client_kwargs()) as kinesis:
        first = (await create_tables(resolved, ddb), await create_streams(resolved, kinesis))
        again = (await create_tables(resolved, ddb), await create_streams(resolved, kinesis))
        tables = {name: (await ddb.describe_table(TableName=name))["Table"] for name in first[0]}
        streams = {name: (await kinesis.describe_stream_summary(StreamName=name))["StreamDescriptionSummary"]
                   for name in first[1]}
    return first, again, tables, streams


def _keys(schema: list[dict]) -> tuple:
    return tuple((k["AttributeName"], k["KeyType"]) for k in schema)


def test_tables_and_streams_are_created_from_terraform_for_the_env(empty_moto_url):
    resolved = ResolvedStack(hcl_reader.load_stack(TERRAFORM, "food_delivery"), "dev")
    target = Target("local", None, empty_moto_url, LOCAL_REGION)
    (tables_made, streams_made), (tables_again, streams_again), tables, streams = \
        asyncio.run(_create_and_describe(resolved, target))

    declared = list(resolved.instances("aws_dynamodb_table"))
    assert sorted(tables_made) == sorted(inst.attribute("name") for inst in declared)
    assert set(tables_made.values()) == {"created"} and set(streams_made.values()) == {"created"}
    assert set(tables_again.values()) == {"exists"} and set(streams_again.values()) == {"exists"}

    for inst in declared:
        table = tables[inst.attribute("name")]
        range_key = inst.attribute("range_key") if "range_key" in inst.block.body else None
        assert _keys(table["KeySchema"]) == ((inst.attribute("hash_key"), "HASH"),) + \
            (((range_key, "RANGE"),) if range_key else ())
        assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == \
            {(a["name"], a["type"]) for a in inst.blocks("attribute")}
        assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == inst.attribute("read_capacity")
        assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == inst.attribute("write_capacity")
        made = {g["IndexName"]: g for g in table.get("GlobalSecondaryIndexes", [])}
        assert sorted(made) == sorted(g["name"] for g in inst.blocks("global_secondary_index"))
        for gsi in inst.blocks("global_secondary_index"):
            index = made[gsi["name"]]
            assert _keys(index["KeySchema"]) == ((gsi["hash_key"], "HASH"),) + \
                (((gsi["range_key"], "RANGE"),) if gsi.get("range_key") else ())
            assert index["Projection"]["ProjectionType"] == gsi["projection_type"]
            assert index["Projection"].get("NonKeyAttributes", []) == gsi.get("non_key_attributes", [])
            assert index["ProvisionedThroughput"]["WriteCapacityUnits"] == gsi["write_capacity"]

    # hand-checked against terraform/food_delivery/tap_stack.tf: the orders table the assignment write hits
    orders = tables["food-delivery-dev-orders"]
    assert _keys(orders["KeySchema"]) == (("order_id", "HASH"),)
    assert orders["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert {g["IndexName"] for g in orders["GlobalSecondaryIndexes"]} == {
        "restaurant_id-created_at-index", "driver_id-delivery_date-index", "delivery-shard-index"}

    for inst in resolved.instances("aws_kinesis_stream"):
        assert streams[inst.attribute("name")]["OpenShardCount"] == inst.attribute("shard_count")
    assert sorted(streams_made) == sorted(inst.attribute("name") for inst in resolved.instances("aws_kinesis_stream"))
