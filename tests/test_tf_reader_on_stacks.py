"""What the simulator reads from the real stacks: alarms per env, capacities, hot-path contracts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TERRAFORM
from loadgen.cli import main
from loadgen.hot_paths import declared_stacks, hot_paths
from loadgen.tf.alarm_thresholds import alarms
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.hcl_reader import load_stack


def cli_json(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def alarm_map(stack: str, env: str) -> dict[str, dict]:
    return {a["address"]: a for a in cli_json("tf", "alarms", "--stack", stack, "--env", env)["alarms"]}


def test_check_json_lists_the_three_stacks_with_three_envs():
    report = cli_json("tf", "check")
    stacks = {s["stack"]: s for s in report["stacks"]}
    for name in ("property_maintenance", "fleet_telematics", "food_delivery"):
        assert stacks[name]["envs"] == ["dev", "staging", "prod"]
    assert report["findings_total"] == 0


def test_food_delivery_matcher_p99_threshold_differs_between_prod_and_dev():
    prod = alarm_map("food_delivery", "prod")['aws_cloudwatch_metric_alarm.lambda_duration_p99["matcher"]']
    dev = alarm_map("food_delivery", "dev")['aws_cloudwatch_metric_alarm.lambda_duration_p99["matcher"]']
    assert prod["extended_statistic"] == "p99" and prod["metric"] == "Duration"
    assert isinstance(prod["threshold"], (int, float)) and prod["threshold"] != dev["threshold"]
    assert prod["hot_path"] == "driver_matching"


def test_fleet_telematics_has_kinesis_alarms_for_each_stream():
    found = alarm_map("fleet_telematics", "prod")
    for metric in ("incoming_records", "incoming_bytes", "get_records_latency", "iterator_age"):
        for stream in ("diagnostics", "hos", "gps"):
            alarm = found[f'aws_cloudwatch_metric_alarm.kinesis_{metric}["{stream}"]']
            assert alarm["namespace"] == "AWS/Kinesis"
            assert isinstance(alarm["threshold"], (int, float))
            assert isinstance(alarm["dimensions"]["StreamName"], str)


def test_property_maintenance_guards_conditional_writes_and_redis_geo():
    found = alarm_map("property_maintenance", "prod")
    ccf = found["aws_cloudwatch_metric_alarm.assignment_conditional_check_failed"]
    assert (ccf["namespace"], ccf["metric"]) == ("AWS/DynamoDB", "ConditionalCheckFailedRequests")
    geo = found["aws_cloudwatch_metric_alarm.redis_geo_latency"]
    assert (geo["namespace"], geo["metric"]) == ("AWS/ElastiCache", "GeoSpatialBasedCmdsLatency")


def test_fleet_telematics_prod_capacity_gives_three_shard_counts():
    streams = cli_json("tf", "capacity", "--stack", "fleet_telematics", "--env", "prod")["kinesis_streams"]
    shards = {address.split('"')[1]: s["shard_count"] for address, s in streams.items()}
    assert set(shards) == {"diagnostics", "hos", "gps"}
    assert all(isinstance(n, int) and n > 0 for n in shards.values())
    dev = cli_json("tf", "capacity", "--stack", "fleet_telematics", "--env", "dev")["kinesis_streams"]
    assert sum(s["shard_count"] for s in dev.values()) < sum(shards.values())


@pytest.mark.parametrize("stack", declared_stacks())
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_declared_hot_path_alarm_exists_with_a_numeric_threshold(stack, env):
    found = {a.address: a for a in alarms(ResolvedStack(load_stack(TERRAFORM, stack), env))}
    for path in hot_paths(stack):
        for address in path.alarms:
            assert address in found, f"{stack}: {path.name} names {address}, which tap_stack.tf lacks"
            assert found[address].threshold_is_number


@pytest.mark.parametrize("stack", declared_stacks())
def test_every_alarm_threshold_differs_between_dev_and_prod(stack):
    dev = {a.address: a.threshold for a in alarms(ResolvedStack(load_stack(TERRAFORM, stack), "dev"))}
    prod = {a.address: a.threshold for a in alarms(ResolvedStack(load_stack(TERRAFORM, stack), "prod"))}
    same = sorted(address for address in dev if dev[address] == prod.get(address))
    assert same == []


def test_property_maintenance_priority_matrix_seed_matches_the_matching_core():
    """The rules the stack seeds into priority_matrix are the core's reference rules (no silent drift)."""
    from loadgen.matching.vendor_assignment import DEFAULT_RULES

    seeded = ResolvedStack(load_stack(TERRAFORM, "property_maintenance"), "prod").scope.local("priority_rules")
    assert set(seeded) == set(DEFAULT_RULES)
    for name, rule in DEFAULT_RULES.items():
        for field in ("max_distance_km", "distance_weight", "workload_weight", "rating_weight", "response_sla_minutes"):
            assert float(seeded[name][field]) == float(getattr(rule, field)), (name, field)


def test_the_terraform_layer_imports_nothing_of_the_engine():
    import ast

    allowed = ("loadgen.tf", "loadgen.errors", "loadgen.paths")
    for module in (Path(__file__).resolve().parents[1] / "loadgen" / "tf").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.startswith("loadgen"):
                    assert name.startswith(allowed), f"{module.name} imports {name}"
