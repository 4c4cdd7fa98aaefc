"""Compliance rules are topology: a `compliance_*` key (a regulatory retention, a spec's TTL) may not differ
between envs even though its name says retention/days/ttl, and `loadgen tf check` names the env and key."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from loadgen.cli import main
from loadgen.tf.hcl_reader import load_stack
from loadgen.tf.stack_check import check_stack


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def set_key(path: Path, key: str, value: str) -> None:
    text = path.read_text()
    changed, n = re.subn(rf"^({re.escape(key)}\s*=\s*).*$", rf"\g<1>{value}", text, count=1, flags=re.M)
    assert n == 1, f"{key} not in {path}"
    path.write_text(changed)


def test_fleet_telematics_keeps_its_dot_retention_and_ttl_equal_in_every_env(copied_terraform):
    stack = load_stack(copied_terraform, "fleet_telematics")
    for key, expected in (("compliance_dot_record_retention_days", 190), ("compliance_driver_logs_retention_days", 190),
                          ("compliance_diagnostics_ttl_days", 30)):
        assert {env: t.values[key] for env, t in stack.tfvars.items()} == {e: expected for e in stack.tfvars}


def test_a_dev_copy_that_shortens_dot_record_retention_fails_naming_the_key(copied_terraform):
    dev = copied_terraform / "fleet_telematics" / "dev.tfvars"
    set_key(dev, "compliance_dot_record_retention_days", "1")
    result = run("tf", "check", "--terraform-dir", str(copied_terraform), "--stack", "fleet_telematics")
    assert result.exit_code == 1, result.output
    findings = check_stack(load_stack(copied_terraform, "fleet_telematics"))
    assert [(f.key, f.rule, Path(f.file).name) for f in findings] == [
        ("compliance_dot_record_retention_days", "compliance_diff", "dev.tfvars")]
    assert "compliance_dot_record_retention_days" in result.output and "compliance rule" in result.output


def test_a_retention_without_the_tag_may_still_differ(mini_terraform):
    stack_dir = mini_terraform / "mini"
    tf = stack_dir / "tap_stack.tf"
    tf.write_text(tf.read_text() + '\nvariable "audit_retention_days" {\n  type = number\n}\n'
                  'variable "compliance_audit_retention_days" {\n  type = number\n}\n')
    for env, days in (("dev", 7), ("staging", 30), ("prod", 365)):
        path = stack_dir / f"{env}.tfvars"
        path.write_text(path.read_text() + f"audit_retention_days = {days}\ncompliance_audit_retention_days = 365\n")
    assert check_stack(load_stack(mini_terraform, "mini")) == []
    set_key(stack_dir / "staging.tfvars", "compliance_audit_retention_days", "30")
    findings = check_stack(load_stack(mini_terraform, "mini"))
    assert [(f.key, f.rule, Path(f.file).name, f.line) for f in findings] == [
        ("compliance_audit_retention_days", "compliance_diff", "staging.tfvars", 5)]
