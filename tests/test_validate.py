"""`loadgen validate` end to end: a stack the engine has never seen runs through it with no engine change, the
embedded target is started and stopped for the run, and the verdict follows the candidate tfvars. Only the first
test is about the embedded target; the others run on the shared running one (conftest's local_target)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hdrh.histogram import HdrHistogram

from loadgen.cli import main
from loadgen.target.local_target import LocalTarget

FAKE_STACK = '''
variable "env" {
  type        = string
  description = "Environment name."
}

variable "locations_shards" {
  type        = number
  description = "Shards of the locations stream."
}

variable "geo_latency_threshold_us" {
  type        = number
  description = "Redis GEO command latency alarm (microseconds)."
}

variable "conditional_failures_threshold" {
  type        = number
  description = "Failed conditional assignment writes per minute."
}

locals {
  name_prefix  = "tiny-${var.env}"
  match_config = { max_radius_km = 8 }
  streams = {
    orders    = { shards = 1 }
    locations = { shards = var.locations_shards }
  }
}

resource "aws_kinesis_stream" "streams" {
  for_each    = local.streams
  name        = "${local.name_prefix}-${each.key}"
  shard_count = each.value.shards
}

resource "aws_dynamodb_table" "assignments" {
  name         = "${local.name_prefix}-assignments"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "order_id"
  attribute {
    name = "order_id"
    type = "S"
  }
}

resource "aws_cloudwatch_metric_alarm" "incoming_records" {
  for_each            = aws_kinesis_stream.streams
  alarm_name          = "${local.name_prefix}-${each.key}-incoming"
  namespace           = "AWS/Kinesis"
  metric_name         = "IncomingRecords"
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.shard_count * 1000 * 60 * 0.8
  dimensions          = { StreamName = each.value.name }
}

resource "aws_cloudwatch_metric_alarm" "geo_latency" {
  alarm_name          = "${local.name_prefix}-geo"
  namespace           = "AWS/ElastiCache"
  metric_name         = "GeoSpatialBasedCmdsLatency"
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.geo_latency_threshold_us
}

resource "aws_cloudwatch_metric_alarm" "conditional_failures" {
  alarm_name          = "${local.name_prefix}-conditional"
  namespace           = "AWS/DynamoDB"
  metric_name         = "ConditionalCheckFailedRequests"
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.conditional_failures_threshold
  dimensions          = { TableName = aws_dynamodb_table.assignments.name }
}
'''

FAKE_PROFILE = '''
stack = "tiny_orders"
env = "dev"
domain = "orders"
seed = 7

[fleet]
restaurants = 40
drivers = 200
customers = 1000
orders_per_day = 100000

[streams.orders]
partition_key = "restaurant_id"

[streams.locations]
interval_s = 4.0
partition_key = "driver_id"

[[stages]]
duration_s = 2
rate_fraction = 0.5

[[stages]]
duration_s = 4
rate_fraction = 1.0
'''

FAKE_HOT_PATHS = '''
[[hot_path]]
name = "locations_stream"
kind = "kinesis_stream"
rate_source = "locations"
alarms = ['aws_cloudwatch_metric_alarm.incoming_records["locations"]']

[[hot_path]]
name = "nearby_drivers"
kind = "redis_geo"
rate_source = "orders"
alarms = ["aws_cloudwatch_metric_alarm.geo_latency"]

[[hot_path]]
name = "assignment"
kind = "ddb_conditional_write"
rate_source = "orders"
alarms = ["aws_cloudwatch_metric_alarm.conditional_failures"]
'''


@pytest.fixture
def fake_stack(tmp_path: Path) -> tuple[Path, Path]:
    """terraform/tiny_orders and profiles/tiny_orders in a tmp dir: nothing of it is known to the engine."""
    terraform = tmp_path / "terraform" / "tiny_orders"
    terraform.mkdir(parents=True)
    (terraform / "tap_stack.tf").write_text(FAKE_STACK)
    (terraform / "dev.tfvars").write_text(
        'env = "dev"\nlocations_shards = 1\ngeo_latency_threshold_us = 5000\nconditional_failures_threshold = 1000\n')
    profiles = tmp_path / "profiles" / "tiny_orders"
    profiles.mkdir(parents=True)
    (profiles / "dev.toml").write_text(FAKE_PROFILE)
    (profiles / "hot_paths.toml").write_text(FAKE_HOT_PATHS)
    return tmp_path / "terraform", tmp_path / "profiles"


def test_a_new_stack_runs_through_validate_with_no_engine_change(fake_stack, tmp_path, monkeypatch):
    terraform, profiles = fake_stack
    state = tmp_path / "state"
    monkeypatch.setenv("LOADGEN_STATE_DIR", str(state))
    result = CliRunner().invoke(main, ["validate", "--stack", "tiny_orders", "--env", "dev", "--terraform-dir",
                                       str(terraform), "--profiles-dir", str(profiles), "--out",
                                       str(tmp_path / "reports"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["kind"] == "validate" and summary["verdict"] == "pass"
    paths = {hp["name"]: hp for hp in summary["hot_paths"]}
    for name in ("locations_stream", "nearby_drivers", "assignment"):
        hp = paths[name]
        assert hp["verdict"] == "pass" and hp["ops"] > 0, hp
        assert [s["index"] for s in hp["stages"]] == [0, 1]
        assert hp["stages"][1]["target_rate"] > hp["stages"][0]["target_rate"]  # the ramp ran
    assert paths["nearby_drivers"]["alarm"]["observed_as"].startswith("the server's own microseconds")
    assert summary["accounting"]["generated"] == summary["accounting"]["acknowledged"] > 0
    run_dir = tmp_path / "reports" / summary["run_id"]
    assert (run_dir / "summary.json").is_file() and (run_dir / "histograms" / "assignment.hdr").is_file()
    assert not LocalTarget(state).services()  # the embedded target was started for the run and stopped


def test_a_candidate_tfvars_that_cannot_hold_the_load_fails_naming_the_alarm(fake_stack, tmp_path, local_target):
    terraform, profiles = fake_stack
    candidate = tmp_path / "candidate.tfvars"
    candidate.write_text('env = "dev"\nlocations_shards = 1\ngeo_latency_threshold_us = 0.001\n'
                         'conditional_failures_threshold = 1000\n')
    result = CliRunner().invoke(main, ["validate", "--stack", "tiny_orders", "--env", "dev", "--terraform-dir",
                                       str(terraform), "--profiles-dir", str(profiles), "--tfvars", str(candidate),
                                       "--out", str(tmp_path / "reports"), "--json"])
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    geo = next(hp for hp in summary["hot_paths"] if hp["name"] == "nearby_drivers")
    assert geo["verdict"] == "fail" and geo["alarm"]["name"] == "tiny-dev-geo"
    assert summary["tfvars"] == str(candidate)


def test_a_candidate_tfvars_with_an_unknown_variable_is_one_line(fake_stack, tmp_path):
    terraform, profiles = fake_stack
    candidate = tmp_path / "typo.tfvars"
    candidate.write_text('env = "dev"\nlocation_shards = 1\n')
    result = CliRunner().invoke(main, ["validate", "--stack", "tiny_orders", "--env", "dev", "--terraform-dir",
                                       str(terraform), "--profiles-dir", str(profiles), "--tfvars", str(candidate)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "location_shards" in result.output and "typo.tfvars:2" in result.output


def test_two_worker_processes_share_each_schedule_and_their_histograms_merge_exactly(fake_stack, tmp_path,
                                                                                     local_target):
    terraform, profiles = fake_stack
    result = CliRunner().invoke(main, ["validate", "--stack", "tiny_orders", "--env", "dev", "--terraform-dir",
                                       str(terraform), "--profiles-dir", str(profiles), "--processes", "2",
                                       "--out", str(tmp_path / "reports"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["processes"] == 2
    for name in ("nearby_drivers", "assignment"):  # rate-driven: every other operation in each worker
        hp = next(h for h in summary["hot_paths"] if h["name"] == name)
        workers = hp["ops_per_worker"]
        assert len(workers) == 2 and min(workers) > 0 and sum(workers) == hp["ops"]
        assert hp["ops"] == sum(stage["scheduled"] for stage in hp["stages"])
        merged = HdrHistogram.decode((tmp_path / "reports" / summary["run_id"] / "histograms" /
                                      f"{name}.hdr").read_text().strip().encode())
        assert merged.get_total_count() == hp["ops"]
    assert summary["accounting"]["generated"] == summary["accounting"]["acknowledged"] > 0


def test_load_the_local_target_cannot_take_fails_with_one_line_saying_so(fake_stack, tmp_path, monkeypatch):
    terraform, profiles = fake_stack
    monkeypatch.setenv("LOADGEN_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(main, ["validate", "--stack", "tiny_orders", "--env", "dev", "--terraform-dir",
                                       str(terraform), "--profiles-dir", str(profiles), "--rate-scale", "40",
                                       "--duration", "4", "--out", str(tmp_path / "reports"), "--json"])
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    line = summary["shortfall"]
    assert line.startswith("the local target sustained ") and "lower --rate-scale, or run against --target aws" in line
    worst = next(hp for hp in summary["hot_paths"] if f"on {hp['name']} in stage" in line)
    assert any(not c["passed"] and "offered" in c["detail"] for c in worst["checks"])  # delivered vs offered counts
    errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and line in errors[0]
