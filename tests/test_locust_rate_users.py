"""The Locust users of the matching core and the DynamoDB conditional write (a headless run drives them: in
tests/test_locust.py): the sans-I/O steps decide the same over the asyncio runner and the blocking (Locust) one;
a DynamoDB error answer is classified as botocore's."""

from __future__ import annotations

import asyncio

import pytest
import redis

from loadgen.drive.contended_writes import CONDITIONAL_FAILED, WRITES, ContendedWriter, WriteTally, error_code
from loadgen.drive.matching_bench import WORKLOAD_KEY, assign_async, assign_sync, raw_replies, set_up_matching
from loadgen.drive.resp_client import RespPool
from loadgen.drive.sans_io import run_steps
from loadgen.locust.ddb_client import DynamoDBError, error_of
from loadgen.measure.recorder import HotPathRecorder


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
