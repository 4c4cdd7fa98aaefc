"""`loadgen tf check`: parity rules on a small stack, and the one-line error for malformed HCL."""

from pathlib import Path

from click.testing import CliRunner

from loadgen.cli import main
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
