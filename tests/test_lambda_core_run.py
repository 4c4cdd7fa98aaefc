"""fleet_telematics' stream functions as lambda_core hot paths: `loadgen validate` invokes the real
location_processor and diagnostics_processor handlers in the local emulator's workers with Kinesis batches of the
fleet model's records, judges their Duration alarms by the handlers' own duration, says why the anomaly detector's
alarm is not measured, and counts a handler's failure (raised, or batchItemFailures) as a failed operation with
its cause. On AWS the hot paths are not run."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import boto3
from click.testing import CliRunner

from conftest import TERRAFORM
from loadgen.cli import main
from loadgen.cli.common import build_context
from loadgen.drive.drivers import not_driven_because, rate_driver
from loadgen.drive.prepared import run_prepared
from loadgen.measure.recorder import HotPathRecorder
from loadgen.measure.run_summary import HotPathResult
from loadgen.measure.wire import merge_results, result_from_wire, result_to_wire
from loadgen.profiles import load_profile
from loadgen.run_context import RunContext, Target
from loadgen.target.api_emulator import LAMBDA_PREFIX
from loadgen.target.local_resources import create_tables, table_definitions
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.hcl_reader import load_stack

STREAM_PATHS = ("location_processing", "diagnostics_processing")


def dev_context():
    return build_context("fleet_telematics", "dev", "local", None, "test", False, needs_api=True)


def table(ctx, key: str) -> str:
    return next(t.name for t in table_definitions(ctx.resolved) if t.address == f'aws_dynamodb_table.this["{key}"]')


def fleet_positions(ctx) -> int:
    """vehicle_locations items written for the fleet's vehicles (the location_write bench's keys start loadgen-)."""
    client = boto3.client("dynamodb", **ctx.target.client_kwargs())
    pages = client.get_paginator("scan").paginate(
        TableName=table(ctx, "locations"), Select="COUNT", FilterExpression="NOT begins_with(vehicle_id, :bench)",
        ExpressionAttributeValues={":bench": {"S": "loadgen-"}})
    return sum(page["Count"] for page in pages)


def test_validate_invokes_both_stream_functions_and_judges_their_handlers_duration(local_target, tmp_path):
    ctx = dev_context()
    result = CliRunner().invoke(main, ["validate", "--stack", "fleet_telematics", "--env", "dev", "--duration", "8",
                                       "--out", str(tmp_path), "--json"])
    summary = json.loads(result.stdout)
    paths = {hp["name"]: hp for hp in summary["hot_paths"]}
    for name in STREAM_PATHS:
        hp = paths[name]
        assert hp["verdict"] != "not-run" and hp["ops"] > 0 and hp["errors"] == 0, hp
        # one shard x parallelization 1 gathers the top stage's records/s (1.5 x the duty-cycle peaks of dev's 200
        # vehicles: 17.3 gps, 11.7 diagnostics) over dev's 1 s batching window: fewer than the batch size of 100
        batch = {"location_processing": 26, "diagnostics_processing": 18}[name]
        assert hp["batch_size"] == batch and hp["records"] == batch * hp["ops"]
        duration = next(a for a in hp["alarms"] if a["metric"] == "Duration")
        assert duration["observed"] == hp["handler_duration_ms"]["p95"]
        assert duration["observed_as"].startswith("the handler's duration")
        assert hp["latency_ms"]["p95"] >= hp["handler_duration_ms"]["p50"]  # the round trip holds the handler call
    assert paths["location_processing"]["function"] == "fleet-telematics-dev-location-processor"
    (anomaly,) = paths["diagnostics_processing"]["alarms_not_measured"]
    assert anomaly["address"] == "aws_cloudwatch_metric_alarm.anomaly_duration_p95"
    assert 'dynamodb stream of aws_dynamodb_table.this["diagnostics"]' in anomaly["reason"]
    assert "REDIS_AUTH_SECRET_ARN" in paths["location_processing"]["unreachable_locally"]
    # every fix of every batch is a vehicle's newest position: at most one item per vehicle of the dev fleet
    assert 0 < fleet_positions(ctx) <= 200
    assert (tmp_path / summary["run_id"] / "histograms" / "location_processing.duration.hdr").is_file()


async def run_for(ctx, name: str, rate: float, seconds: float):
    path = next(p for p in ctx.hot_paths if p.name == name)
    prepared = await rate_driver(path, 100.0)(ctx, 8)  # 100 records/s fill dev's batch size of 100 in its 1 s window
    return await run_prepared(prepared, name, name, rate, seconds)


def test_a_failing_handler_fails_its_invocations_with_the_cause(local_target):
    ctx = dev_context()
    client = boto3.client("dynamodb", **ctx.target.client_kwargs())
    asyncio.run(run_for(ctx, "location_processing", 2.0, 0.5))  # the emulator has made the stack's tables
    for key in ("locations", "diagnostics"):  # as Terraform made them, protected from deletion
        client.update_table(TableName=table(ctx, key), DeletionProtectionEnabled=False)
        client.delete_table(TableName=table(ctx, key))
    try:
        located = asyncio.run(run_for(ctx, "location_processing", 2.0, 1.5))
        diagnosed = asyncio.run(run_for(ctx, "diagnostics_processing", 2.0, 1.5))
    finally:
        asyncio.run(_recreate(ctx))
    # the location processor reports every record's failed write in batchItemFailures
    assert located.recorder.ops == located.recorder.errors == 3
    assert located.staged.error_causes == {"InvocationFailed: batchItemFailures reported by location_processor": 3}
    assert located.extra["failed_records"] == located.extra["records"] == 300
    # the diagnostics processor's BatchWriteItem raises out of the handler: Lambda's Unhandled error
    assert diagnosed.recorder.errors == 3
    (cause,) = diagnosed.staged.error_causes
    assert cause.startswith("InvocationFailed: ResourceNotFoundException")


async def _recreate(ctx) -> None:
    from aiobotocore.session import get_session

    async with get_session().create_client("dynamodb", **ctx.target.client_kwargs()) as client:
        await create_tables(ctx.resolved, client)


def test_on_aws_the_stream_functions_are_not_run_and_say_why():
    resolved = ResolvedStack(load_stack(TERRAFORM, "fleet_telematics"), "dev")
    ctx = RunContext("fleet_telematics", "dev", resolved, load_profile("fleet_telematics", "dev"),
                     Target("aws", None, None, "us-east-1"), TERRAFORM, "aws-run")
    reasons = {p.name: not_driven_because(ctx, p) for p in ctx.hot_paths if p.name in STREAM_PATHS}
    assert reasons == {
        "location_processing": "location_processor is invoked only on the local target's emulator: loadgen never "
                               "invokes a production function directly",
        "diagnostics_processing": "diagnostics_processor is invoked only on the local target's emulator: loadgen "
                                  "never invokes a production function directly"}


def invoke_status(url: str, body: bytes) -> tuple[int, str | None]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("x-amzn-ErrorType")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("x-amzn-ErrorType")


def test_the_invoke_endpoint_answers_as_lambda_for_an_unknown_function_and_a_body_that_is_not_json(local_target):
    base = f"{dev_context().target.api_url}{LAMBDA_PREFIX}/fleet_telematics/dev/2015-03-31/functions"
    assert invoke_status(f"{base}/no_such_function/invocations", b"{}") == (404, "ResourceNotFoundException")
    assert invoke_status(f"{base}/location_processor/invocations", b"{not json") == (
        400, "InvalidRequestContentException")


def test_the_handlers_duration_crosses_processes_and_merges_exactly():
    def worker(ms: list[float]) -> HotPathResult:
        duration = HotPathRecorder("fleet-telematics-dev-location-processor")
        for value in ms:
            duration.record(value / 1000)
        return HotPathResult("location_processing", "location_processing", HotPathRecorder("location_processing"),
                             0.3, 0.3, extra={"records": 100 * len(ms)}, duration=duration,
                             not_measured={"alarm.address": "why"})

    merged, = merge_results([[result_from_wire(result_to_wire(worker(ms)))] for ms in ([100, 200], [300, 400])])
    assert merged.duration.name == "fleet-telematics-dev-location-processor"
    assert merged.duration.ops == 4 and merged.duration.histogram.get_max_value() // 1000 == 400
    assert merged.extra["records"] == 400 and merged.not_measured == {"alarm.address": "why"}
