"""The Locust users of the matching core and the DynamoDB conditional write: a headless run drives them with the
asyncio drivers' own steps and accounts them as `loadgen validate` does; the sans-I/O steps decide the same
over the asyncio runner and the blocking (Locust) one; a DynamoDB error answer is classified as botocore's."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis
from hdrh.histogram import HdrHistogram

from loadgen.drive.contended_writes import CONDITIONAL_FAILED, WRITES, ContendedWriter, WriteTally, error_code
from loadgen.drive.matching_bench import WORKLOAD_KEY, assign_async, assign_sync, raw_replies, set_up_matching
from loadgen.drive.resp_client import RespPool
from loadgen.drive.sans_io import run_steps
from loadgen.locust.ddb_client import DynamoDBError, error_of
from loadgen.measure.recorder import HotPathRecorder
from tests.test_locust import loadgen_locust, only_run_dir


def test_a_headless_run_drives_the_matching_core_and_the_conditional_write_as_validate_accounts_them(
        local_target, tmp_path):
    done = loadgen_locust(tmp_path, "--users-at-peak", "4", "--", "--headless", "-u", "8", "-r", "8", "-t", "6s",
                          "--only-summary")
    assert done.returncode == 0, done.stderr[-2000:]
    run_dir = only_run_dir(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    paths = {hp["name"]: hp for hp in summary["hot_paths"]}
    matching, writes = paths["driver_matching"], paths["assignment_write"]
    for hp, request_type in ((matching, "MATCH"), (writes, "UpdateItem")):
        assert hp["verdict"] == "pass" and hp["ops"] > 0 and hp["errors"] == 0, hp
        histogram = HdrHistogram.decode((run_dir / "histograms" / f"{hp['name']}.hdr").read_text().strip().encode())
        assert histogram.get_total_count() == hp["ops"] == hp["locust"]["requests"]
        assert hp["locust"]["failures"] == 0 and request_type in done.stdout + done.stderr  # Locust's own table
        assert "finish_error" not in hp and all(check["passed"] for check in hp["checks"]), hp["checks"]
    assert matching["assigned"] + matching["unassigned"] == matching["ops"] and matching["assigned"] > 0
    assert matching["alarm"]["metric"] == "Duration"
    assert writes["attempted_writes"] == writes["ops"]
    assert writes["attempted_writes"] == (writes["successful_writes"] + writes["conditional_failures"]
                                          + writes["write_errors"])
    assert writes["lost_updates"] == 0 and writes["unconfirmed_writes"] == 0 and writes["read_errors"] == 0
    assert writes["conditional"] and writes["table"] == "food-delivery-dev-orders" and writes["items"] == 256
    (failed_alarm,) = [a for a in writes["alarms"] if a["metric"] == "ConditionalCheckFailedRequests"]
    assert failed_alarm["observed"] is not None and not failed_alarm["fires"]
    assert summary["verdict"] == "pass"
    assert not [hp["name"] for hp in summary["hot_paths"] if hp["verdict"] == "not-run"]


def test_an_assignment_decides_the_same_over_the_asyncio_and_the_blocking_runner(local_target):
    from loadgen.edge_context import build_context

    ctx = build_context("food_delivery", "dev", "local", None, "test", False)
    matcher = asyncio.run(set_up_matching(ctx))
    seen: dict[str, list] = {"asyncio": [], "blocking": []}

    async def over_resp_pool() -> list[bool]:
        pool = await RespPool.connect(ctx.target.redis_url, 1)
        call = pool.call

        async def recorded(payload: bytes):
            seen["asyncio"].append(await call(payload))
            return seen["asyncio"][-1]

        pool.call = recorded
        try:
            return [await assign_async(pool, matcher.steps(i)) for i in range(60)]
        finally:
            await pool.close()

    asynchronous = asyncio.run(over_resp_pool())
    client = raw_replies(redis.Redis.from_url(ctx.target.redis_url, protocol=2))
    client.delete(WORKLOAD_KEY[ctx.profile.domain])  # the same workload as the first run started from
    execute = client.execute_command
    client.execute_command = lambda *args: seen["blocking"].append(execute(*args)) or seen["blocking"][-1]
    blocking = [assign_sync(client, matcher.steps(i)) for i in range(60)]
    assert blocking == asynchronous and sum(asynchronous) > 0
    assert seen["blocking"] == seen["asyncio"]  # every reply in RespPool's raw shape (bytes distances and scores)
    assert any(isinstance(reply, list) and reply and isinstance(reply[0][1], bytes) for reply in seen["blocking"])


class _Table:
    name, hash_key, range_key = "orders", "order_id", None


def test_a_conditional_check_failure_answer_counts_as_the_asyncio_driver_counts_it():
    answer = error_of(400, b'{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",'
                           b'"message":"The conditional request failed"}')
    assert isinstance(answer, DynamoDBError) and error_code(answer) == CONDITIONAL_FAILED
    assert error_code(error_of(400, b'{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException"}')) == \
        "ValidationException"
    assert error_code(TimeoutError("no answer")) is None
    key = {"order_id": {"S": "o-1"}}
    tally = WriteTally(per_item_successes=[0])
    writer = ContendedWriter(_Table(), WRITES["orders"], [key], ["DV000001"], True, tally, HotPathRecorder("w"),
                             lambda: 0.0)
    item = {**key, "version": {"N": "3"}, "status": {"S": "placed"}}
    calls = []

    def call(request):
        calls.append(request)
        if request[0] == "GetItem":
            return {"Item": item}
        raise answer

    assert run_steps(writer.steps(0), call) is True
    assert [operation for operation, _ in calls] == ["GetItem", "UpdateItem"]
    assert calls[1][1]["ConditionExpression"] == "#status = :seen AND #version = :v"
    assert (tally.writes_sent, tally.conditional_failures, tally.successful_writes, tally.write_errors) == (1, 1, 0, 0)
    with pytest.raises(ZeroDivisionError):  # a write that fails otherwise is a write error, raised as it came
        run_steps(writer.steps(1), lambda request: {"Item": item} if request[0] == "GetItem" else 1 / 0)
    assert (tally.writes_sent, tally.write_errors, tally.per_item_successes) == (2, 1, [0])
