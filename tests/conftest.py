"""Shared fixtures: a tiny stack written into a temporary terraform/ folder, the repository's terraform/, and an
embedded local target shared by the modules whose runs only need one running."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from summary_checks import assert_summaries_valid

REPO = Path(__file__).resolve().parents[1]
TERRAFORM = REPO / "terraform"

MINI_STACK = '''
terraform {
  required_version = ">= 1.5"
}

variable "env" {
  type        = string
  description = "Environment name."
}

variable "project_name" {
  type        = string
  description = "Prefix of every name."
  default     = "mini"
}

variable "az_count" {
  type        = number
  description = "How many AZs get a subnet."
  default     = 2
}

variable "route_path" {
  type        = string
  description = "API route."
  default     = "orders"
}

variable "orders_shard_count" {
  type        = number
  description = "Shards of the orders stream."
}

variable "alarm_p99_threshold_ms" {
  type        = number
  description = "p99 duration alarm threshold."
}

locals {
  name_prefix = "${var.project_name}-${var.env}"
  streams = {
    orders = { name = "orders", shards = var.orders_shard_count }
    audit  = { name = "audit", shards = 1 }
  }
}

resource "aws_subnet" "private" {
  count      = var.az_count
  vpc_id     = "vpc-123"
  cidr_block = cidrsubnet("10.0.0.0/16", 8, count.index)
}

resource "aws_kinesis_stream" "streams" {
  for_each    = local.streams
  name        = "${local.name_prefix}-${each.value.name}"
  shard_count = each.value.shards
  stream_mode_details {
    stream_mode = "PROVISIONED"
  }
}

resource "aws_api_gateway_resource" "route" {
  rest_api_id = "abc"
  parent_id   = "root"
  path_part   = var.route_path
}

resource "aws_cloudwatch_metric_alarm" "matcher_duration_p99" {
  alarm_name          = "${local.name_prefix}-matcher-p99"
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  extended_statistic  = "p99"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 3
  period              = 60
  threshold           = var.alarm_p99_threshold_ms
  unit                = "Milliseconds"
}

resource "aws_cloudwatch_metric_alarm" "kinesis_incoming_records" {
  for_each            = aws_kinesis_stream.streams
  alarm_name          = "${local.name_prefix}-${each.key}-incoming"
  namespace           = "AWS/Kinesis"
  metric_name         = "IncomingRecords"
  statistic           = "Sum"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  period              = 60
  threshold           = each.value.shard_count * 1000 * 60 * 0.8
  dimensions = {
    StreamName = each.value.name
  }
}
'''

MINI_TFVARS = {
    "dev": 'env = "dev"\norders_shard_count = 2\nalarm_p99_threshold_ms = 900\n',
    "staging": 'env = "staging"\norders_shard_count = 4\nalarm_p99_threshold_ms = 700\n',
    "prod": 'env = "prod"\norders_shard_count = 16\nalarm_p99_threshold_ms = 500\n',
}


@pytest.fixture
def mini_terraform(tmp_path: Path) -> Path:
    """A terraform/ folder holding one small, parity-clean stack called `mini`."""
    stack = tmp_path / "terraform" / "mini"
    stack.mkdir(parents=True)
    (stack / "tap_stack.tf").write_text(MINI_STACK)
    for env, text in MINI_TFVARS.items():
        (stack / f"{env}.tfvars").write_text(text)
    return tmp_path / "terraform"


@pytest.fixture
def copied_terraform(tmp_path: Path) -> Path:
    """A copy of the repository's terraform/ that a test may break."""
    target = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, target, ignore=shutil.ignore_patterns("build", ".terraform"))
    return target


@contextmanager
def _state_dir_env(state: Path):
    """LOADGEN_STATE_DIR set to `state` for what runs inside, the previous value restored after."""
    previous = os.environ.get("LOADGEN_STATE_DIR")
    os.environ["LOADGEN_STATE_DIR"] = str(state)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("LOADGEN_STATE_DIR", None)
        else:
            os.environ["LOADGEN_STATE_DIR"] = previous


@pytest.fixture(scope="session")
def _shared_target(tmp_path_factory):
    """One embedded target (`loadgen local up`) for every module whose runs only need a running one; `loadgen
    local down` when the session ends. Tests that need a fresh, private or killed target start their own."""
    from click.testing import CliRunner

    from loadgen.cli import main

    state = tmp_path_factory.mktemp("state")
    with _state_dir_env(state):
        assert CliRunner().invoke(main, ["local", "up"]).exit_code == 0
    yield state
    with _state_dir_env(state):
        assert CliRunner().invoke(main, ["local", "down"]).exit_code == 0


@pytest.fixture(scope="module")
def local_target(_shared_target):
    """The shared embedded target, as LOADGEN_STATE_DIR for a module's runs (validate uses a running one and leaves
    it running); yields its state folder."""
    with _state_dir_env(_shared_target):
        yield _shared_target


@pytest.fixture(autouse=True)
def _summaries_hold_to_the_schema(tmp_path: Path):
    """Every summary.json a test leaves in its tmp_path holds to loadgen/measure/summary.schema.json."""
    yield
    assert_summaries_valid(tmp_path)
