"""task_api on the embedded local target: `loadgen validate --stack task_api --env dev` drives POST /tasks through
the API emulator into the stack's real handler, whose items are read back from the local DynamoDB and counted
against the 2xx answers; the report judges the API's latency, 5XX and 4XX alarms (thresholds from dev.tfvars) and
lists the write-throttle alarm, which the local DynamoDB cannot trip, as not measured."""

from __future__ import annotations

import json
import uuid

import boto3
import numpy as np
from click.testing import CliRunner

from conftest import TERRAFORM
from loadgen.cli import main
from loadgen.hot_paths import hot_paths
from loadgen.measure.recorder import HotPathRecorder
from loadgen.measure.run_summary import HotPathResult, judge
from loadgen.run_context import LOCAL_CREDENTIALS, LOCAL_REGION
from loadgen.target.local_target import LocalTarget
from loadgen.tf.alarm_thresholds import alarms
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.hcl_reader import load_stack

DEV = ResolvedStack(load_stack(TERRAFORM, "task_api"), "dev")
API_ALARMS = {"Latency": "api_latency_p95", "5XXError": "api_5xx", "4XXError": "api_4xx"}


def dev_alarms() -> dict[str, object]:
    return {a.address: a for a in alarms(DEV)}


def tasks_table(state) -> tuple[object, str]:
    """A client of the local target's DynamoDB and the tasks table's name as dev resolves it."""
    _, endpoint = LocalTarget(state).endpoints()
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=LOCAL_REGION, **LOCAL_CREDENTIALS)
    return client, next(DEV.instances("aws_dynamodb_table")).attribute("name")


def items(client, table: str) -> dict[str, dict]:
    found, start = {}, None
    while True:
        page = client.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        found.update({item["id"]["S"]: item for item in page["Items"]})
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


def test_validate_dev_writes_one_task_per_2xx_and_judges_the_api_alarms(local_target, tmp_path):
    client, table = tasks_table(local_target)
    before = items(client, table) if table in client.list_tables()["TableNames"] else {}
    result = CliRunner().invoke(main, ["validate", "--stack", "task_api", "--env", "dev", "--duration", "8",
                                       "--out", str(tmp_path), "--json"])
    assert result.stdout.strip().startswith("{"), result.output
    summary = json.loads(result.stdout)
    assert result.exit_code == 0, [(c["name"], c["detail"]) for c in summary["checks"] if not c["passed"]]
    [hp] = summary["hot_paths"]
    assert (hp["name"], hp["kind"], hp["verdict"]) == ("create_task_api", "api_route", "pass")

    # the handler wrote to the local DynamoDB: one new item per 2xx answer, read back here
    new = {k: v for k, v in items(client, table).items() if k not in before}
    answered = hp["status_counts"]["2xx"]
    assert answered == hp["ops"] > 0
    assert len(new) == answered == hp["table_writes"]["new_items"]
    assert next(c for c in hp["checks"] if c["name"] == "table writes")["passed"]
    for task in new.values():
        assert uuid.UUID(task["id"]["S"]) and task["status"]["S"] == "open"
        assert task["title"]["S"].startswith("PJ") and task["priority"]["S"] in ("low", "normal", "high")

    # every API alarm the run measures judged it, each with dev's threshold; the throttle alarm is not measured
    found = dev_alarms()
    judged = {a["metric"]: a for a in hp["alarms"]}
    assert set(judged) == set(API_ALARMS)
    for metric, name in API_ALARMS.items():
        address = f"aws_cloudwatch_metric_alarm.{name}"
        assert judged[metric]["address"] == address and judged[metric]["threshold"] == found[address].threshold
        assert judged[metric]["fires"] is False
    assert judged["5XXError"]["observed"] == judged["4XXError"]["observed"] == 0.0
    assert judged["Latency"]["observed"] == hp["latency_ms"]["p95"]
    assert [a["metric"] for a in hp["alarms_not_measured"]] == ["WriteThrottleEvents"]
    page = (tmp_path / summary["run_id"] / "report.html").read_text()
    assert all(found[f"aws_cloudwatch_metric_alarm.{name}"].name in page for name in API_ALARMS.values())

    # the capacity model judged the tasks table on its autoscaling range
    keys = {r["key"] for r in summary["capacity"]["resources"]}
    assert {"ddb_write_min_capacity", "ddb_write_max_capacity", "api_throttle_rate_limit"} <= keys


def test_a_4xx_share_above_the_threshold_fails_the_route_while_its_latency_passes():
    """The 4XX alarm is an Average of API Gateway's 0/1 metric: the share of requests answered 4xx."""
    [path] = hot_paths("task_api")
    recorder = HotPathRecorder(path.name)
    recorder.record_many(np.full(70, 0.05))
    recorder.record_many(np.full(30, 0.01), ok=False)
    span = 10.0
    result = HotPathResult(path.name, path.name, recorder, 10.0, recorder.ops / span,
                           counts_per_s={"4XXError": 30 / span, "5XXError": 0.0})
    entry = judge(result, path, dev_alarms())
    judged = {a["metric"]: a for a in entry["alarms"]}
    assert judged["4XXError"]["observed"] == 0.3 and judged["4XXError"]["unit"] == "share of requests"
    assert judged["4XXError"]["fires"] and not judged["Latency"]["fires"] and not judged["5XXError"]["fires"]
    assert entry["verdict"] == "fail" and entry["alarm"]["metric"] == "4XXError"
