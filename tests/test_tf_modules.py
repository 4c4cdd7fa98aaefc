"""`loadgen tf check` and `tf capacity` follow local modules: terraform/platform's per-env instance class and
Lambda memory resolve through modules/database and modules/compute, module resources are schema-checked, and a
module call that passes an undeclared variable or omits a required one is a finding."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from conftest import TERRAFORM
from loadgen.cli import main
from loadgen.tf.hcl_reader import load_stack
from loadgen.tf.provider_schema import load_schema
from loadgen.tf.stack_check import check_stack, schema_findings


def cli_json(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("env, instance_class, memory", [
    ("dev", "db.t4g.medium", 128), ("staging", "db.t4g.medium", 256), ("prod", "db.r6g.large", 512)])
def test_platform_capacity_resolves_through_the_modules(env, instance_class, memory):
    report = cli_json("tf", "capacity", "--stack", "platform", "--env", env)
    assert report["aurora_instances"]["module.database.aws_rds_cluster_instance.writer"]["instance_class"] == instance_class
    assert report["lambda_functions"]["module.compute.aws_lambda_function.event_processor"]["memory_mb"] == memory


def test_platform_module_alarm_threshold_comes_from_each_env():
    thresholds = {env: {a["address"]: a["threshold"] for a in cli_json("tf", "alarms", "--stack", "platform",
                                                                         "--env", env)["alarms"]}
                  for env in ("dev", "prod")}
    address = "module.compute.aws_cloudwatch_metric_alarm.errors"
    assert thresholds["dev"][address] == 10 and thresholds["prod"][address] == 1


def test_check_lists_five_stacks_with_zero_findings():
    report = cli_json("tf", "check")
    assert sorted(s["stack"] for s in report["stacks"]) == [
        "fleet_telematics", "food_delivery", "platform", "property_maintenance", "task_api"]
    assert report["findings_total"] == 0


def test_a_misspelled_argument_inside_a_module_is_a_schema_finding(copied_terraform):
    tf = copied_terraform / "platform" / "modules" / "database" / "main.tf"
    text, n = re.subn(r"\binstance_class(\s*=\s*var\.instance_class)", r"instance_klass\1", tf.read_text(), count=1)
    assert n == 1
    tf.write_text(text)
    findings = schema_findings(load_stack(copied_terraform, "platform"), load_schema())
    assert sorted((f.key, f.message) for f in findings) == [
        ("aws_rds_cluster_instance.writer", "missing required argument 'instance_class'"),
        ("aws_rds_cluster_instance.writer", "unknown argument 'instance_klass'")]
    assert all(f.file.endswith("modules/database/main.tf") for f in findings)


def test_module_calls_must_match_the_module_variables(copied_terraform):
    main_tf = copied_terraform / "platform" / "main.tf"
    text = main_tf.read_text()
    text, removed = re.subn(r"\n\s*instance_class\s*=\s*var\.db_instance_class", "", text, count=1)
    text, added = re.subn(r"(\n\s*memory_size\s*=\s*var\.lambda_memory_size)", r"\1\n  memory_mb = 1", text, count=1)
    assert removed == added == 1
    main_tf.write_text(text)
    findings = {(f.key, f.rule) for f in check_stack(load_stack(copied_terraform, "platform"))}
    assert findings == {("module.database.instance_class", "module_input"), ("module.compute.memory_mb", "module_input")}


def test_an_undeclared_variable_inside_a_module_is_a_finding(copied_terraform):
    tf = copied_terraform / "platform" / "modules" / "compute" / "main.tf"
    text, n = re.subn(r"(memory_size\s*=\s*)var\.memory_size", r"\1var.memory_mb", tf.read_text(), count=1)
    assert n == 1
    tf.write_text(text)
    findings = [(f.key, f.rule) for f in check_stack(load_stack(copied_terraform, "platform"))]
    assert ("var.memory_mb", "undeclared_variable") in findings


def test_a_capacity_that_reaches_a_module_count_is_a_topology_finding(copied_terraform):
    tf = copied_terraform / "platform" / "modules" / "compute" / "main.tf"
    text = tf.read_text()
    anchor = 'resource "aws_cloudwatch_metric_alarm" "errors" {\n'
    assert anchor in text
    tf.write_text(text.replace(anchor, anchor + "  count = var.memory_size > 200 ? 1 : 0\n", 1))
    findings = [f for f in check_stack(load_stack(copied_terraform, "platform")) if f.rule == "topology_diff"]
    assert [f.key for f in findings] == ["lambda_memory_size"]
    assert "module.compute.aws_cloudwatch_metric_alarm.errors (dev: 0, staging: 1, prod: 1)" in findings[0].message


def test_platform_check_stays_clean_through_its_modules():
    assert check_stack(load_stack(TERRAFORM, "platform")) == []
