"""`loadgen tf check`: parity rules on a small stack, and the one-line error for malformed HCL."""

from pathlib import Path

from click.testing import CliRunner

from loadgen.cli import main
from loadgen.tf import hcl_reader
from loadgen.tf.hcl_reader import load_stack
from loadgen.tf.stack_check import check_stack


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def set_value(path: Path, key: str, value: str) -> None:
    lines = [f"{key} = {value}" if line.split("=")[0].strip() == key else line
             for line in path.read_text().splitlines()]
    if not any(line.startswith(f"{key} =") for line in lines):
        lines.append(f"{key} = {value}")
    path.write_text("\n".join(lines) + "\n")


def test_parity_clean_stack_passes(mini_terraform):
    result = run("tf", "check", "--terraform-dir", str(mini_terraform))
    assert result.exit_code == 0, result.output
    assert check_stack(load_stack(mini_terraform, "mini")) == []


def test_capacity_only_difference_passes(mini_terraform):
    set_value(mini_terraform / "mini" / "prod.tfvars", "orders_shard_count", "64")
    assert run("tf", "check", "--terraform-dir", str(mini_terraform)).exit_code == 0


def test_route_path_change_in_prod_fails_naming_file_and_key(mini_terraform):
    for env in ("dev", "staging"):
        set_value(mini_terraform / "mini" / f"{env}.tfvars", "route_path", '"orders"')
    set_value(mini_terraform / "mini" / "prod.tfvars", "route_path", '"orders-v2"')
    result = run("tf", "check", "--terraform-dir", str(mini_terraform))
    assert result.exit_code == 1
    assert "prod.tfvars:4: route_path: differs between envs" in result.output


def test_resource_count_change_fails_even_for_a_count_named_key(mini_terraform):
    for env, count in (("dev", "2"), ("staging", "2"), ("prod", "3")):
        set_value(mini_terraform / "mini" / f"{env}.tfvars", "az_count", count)
    findings = check_stack(load_stack(mini_terraform, "mini"))
    assert [(f.key, f.rule) for f in findings] == [("az_count", "topology_diff")]
    assert "aws_subnet.private" in findings[0].message


def test_missing_key_undeclared_variable_and_unresolved_threshold_are_findings(mini_terraform):
    stack_dir = mini_terraform / "mini"
    (stack_dir / "staging.tfvars").write_text('env = "staging"\norders_shard_count = 4\n')
    tf = stack_dir / "tap_stack.tf"
    tf.write_text(tf.read_text().replace('path_part   = var.route_path', 'path_part   = var.route_pth'))
    rules = {(f.key, f.rule) for f in check_stack(load_stack(mini_terraform, "mini"))}
    assert ("alarm_p99_threshold_ms", "tfvars_keys") in rules
    assert ("alarm_p99_threshold_ms", "unset_variable") in rules
    assert ("var.route_pth", "undeclared_variable") in rules
    assert ("aws_cloudwatch_metric_alarm.matcher_duration_p99", "alarm_threshold") in rules


def test_malformed_hcl_exits_2_with_one_line(mini_terraform):
    tf = mini_terraform / "mini" / "tap_stack.tf"
    tf.write_text(tf.read_text() + '\nresource "aws_sqs_queue" "broken" {\n  name = [\n')
    result = run("tf", "check", "--terraform-dir", str(mini_terraform))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "tap_stack.tf" in lines[0] and "malformed HCL" in lines[0]
    assert "Traceback" not in result.output


def test_unknown_stack_and_env_exit_2_with_one_line(mini_terraform):
    for args in (("--stack", "nope", "--env", "dev"), ("--stack", "mini", "--env", "qa")):
        result = run("tf", "alarms", "--terraform-dir", str(mini_terraform), *args)
        assert result.exit_code == 2
        assert len(result.stderr.strip().splitlines()) == 1


def test_alarms_expand_for_each_and_resolve_thresholds(mini_terraform):
    import json

    result = run("tf", "alarms", "--terraform-dir", str(mini_terraform), "--stack", "mini", "--env", "prod", "--json")
    alarms = {a["address"]: a for a in json.loads(result.output)["alarms"]}
    orders = alarms['aws_cloudwatch_metric_alarm.kinesis_incoming_records["orders"]']
    assert orders["threshold"] == 16 * 1000 * 60 * 0.8
    assert orders["dimensions"] == {"StreamName": "mini-prod-orders"}
    assert alarms["aws_cloudwatch_metric_alarm.matcher_duration_p99"]["threshold"] == 500
    assert alarms["aws_cloudwatch_metric_alarm.matcher_duration_p99"]["extended_statistic"] == "p99"


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def check_copy(terraform_dir: Path, stack: str):
    return run("tf", "check", "--terraform-dir", str(terraform_dir), "--stack", stack)


def test_copied_stack_with_a_route_path_change_in_prod_fails(copied_terraform):
    prod = copied_terraform / "food_delivery" / "prod.tfvars"
    replace_in(prod, 'stage_name                     = "v1"', 'stage_name                     = "v2"')
    result = check_copy(copied_terraform, "food_delivery")
    assert result.exit_code == 1
    assert "food_delivery/prod.tfvars:28: stage_name: differs between envs" in result.output


def test_copied_stack_with_a_rule_pattern_change_in_prod_fails(copied_terraform):
    prod = copied_terraform / "food_delivery" / "prod.tfvars"
    replace_in(prod, '"cron(30 4 * * ? *)"', '"cron(30 5 * * ? *)"')
    result = check_copy(copied_terraform, "food_delivery")
    assert result.exit_code == 1
    assert "prod.tfvars:136: earnings_schedule_expression: differs between envs" in result.output


def test_copied_stack_with_a_resource_count_change_in_prod_fails(copied_terraform):
    prod = copied_terraform / "property_maintenance" / "prod.tfvars"
    replace_in(prod, '["us-east-1a", "us-east-1b"]', '["us-east-1a", "us-east-1b", "us-east-1c"]')
    replace_in(prod, '"10.42.16.0/20", "10.42.32.0/20"]', '"10.42.16.0/20", "10.42.32.0/20", "10.42.48.0/20"]')
    result = check_copy(copied_terraform, "property_maintenance")
    assert result.exit_code == 1
    assert "prod.tfvars:19: availability_zones:" in result.output
    assert "prod.tfvars:21: private_subnet_cidrs: differs in length between envs" in result.output
    assert "changes the instances of aws_subnet." in result.output


def test_copied_stack_with_a_capacity_only_change_in_prod_passes(copied_terraform):
    prod = copied_terraform / "food_delivery" / "prod.tfvars"
    text = prod.read_text()
    prod.write_text(text.replace("orders_shard_count", "orders_shard_count = 32\n#", 1))
    assert "orders_shard_count = 32" in prod.read_text()
    assert check_copy(copied_terraform, "food_delivery").exit_code == 0


def test_a_value_its_variable_type_or_validation_refuses_is_a_finding_and_exit_2_elsewhere(copied_terraform):
    prod = copied_terraform / "fleet_telematics" / "prod.tfvars"
    text = prod.read_text()
    set_value(prod, "gps_shard_count", '"many"')
    result = check_copy(copied_terraform, "fleet_telematics")
    assert result.exit_code == 1
    assert "gps_shard_count = 'many' is not a number (declared type = number)" in result.output
    capacity = run("capacity", "--stack", "fleet_telematics", "--env", "prod", "--terraform-dir", str(copied_terraform))
    assert capacity.exit_code == 2 and len(capacity.stderr.strip().splitlines()) == 1
    assert "prod.tfvars:" in capacity.stderr and "gps_shard_count = 'many' is not a number" in capacity.stderr
    prod.write_text(text)
    set_value(prod, "env", '"qa"')  # declared with a validation block: dev, staging or prod
    result = check_copy(copied_terraform, "fleet_telematics")
    assert result.exit_code == 1 and "env = 'qa' fails its validation: env must be dev, staging or prod." in \
        result.output


def test_a_changed_file_is_parsed_afresh_and_a_damaged_saved_parse_is_ignored(mini_terraform, tmp_path, monkeypatch):
    monkeypatch.setenv("LOADGEN_CACHE_DIR", str(tmp_path / "cache"))
    tfvars = mini_terraform / "mini" / "prod.tfvars"
    assert hcl_reader.load_stack(mini_terraform, "mini").tfvars["prod"].values["orders_shard_count"] == 16
    tfvars.write_text(tfvars.read_text().replace("orders_shard_count = 16", "orders_shard_count = 24"))
    assert hcl_reader.load_stack(mini_terraform, "mini").tfvars["prod"].values["orders_shard_count"] == 24
    saved = sorted((tmp_path / "cache" / "hcl").glob("*.json"))
    assert saved  # what the next process reads instead of parsing again
    for path in saved:
        path.write_text('{"damaged": ')
    hcl_reader._PARSED.clear()
    hcl_reader._FILE_BLOCKS.clear()
    stack = hcl_reader.load_stack(mini_terraform, "mini")
    assert stack.tfvars["prod"].values["orders_shard_count"] == 24
    assert "orders_shard_count" in stack.variables
