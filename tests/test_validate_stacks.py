"""`loadgen validate` on a shipped stack: its own tfvars pass, a candidate whose matcher p99 threshold sits below
what the run measures fails, and the report names that alarm and its margin."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from conftest import TERRAFORM
from loadgen.cli import main
from loadgen.report.findings import margin_pct


def validate(tmp_path, *args: str):
    result = CliRunner().invoke(main, ["validate", "--stack", "food_delivery", "--env", "dev", "--duration", "12",
                                       "--out", str(tmp_path), "--json", *args])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip().startswith("{") else result.output


def test_the_shipped_dev_tfvars_pass(local_target, tmp_path):
    code, summary = validate(tmp_path)
    assert code == 0, summary if isinstance(summary, str) else [
        (c["name"], c["detail"]) for c in summary["checks"] if not c["passed"]] + [
        (hp["name"], hp.get("failed_because")) for hp in summary["hot_paths"] if hp["verdict"] == "fail"]
    assert (tmp_path / summary["run_id"] / "report.html").is_file()


def test_a_candidate_with_the_matcher_p99_below_the_measured_fails_naming_the_alarm(local_target, tmp_path):
    shipped = (TERRAFORM / "food_delivery" / "dev.tfvars").read_text()
    candidate = tmp_path / "candidate.tfvars"
    candidate.write_text(re.sub(r"(?m)^alarm_p99_threshold_ms\s*=.*$", "alarm_p99_threshold_ms = 1", shipped))
    code, summary = validate(tmp_path, "--tfvars", str(candidate), "--duration", "6")  # (any matcher p99 is over 1 ms)
    assert code == 1
    matching = next(hp for hp in summary["hot_paths"] if hp["name"] == "driver_matching")
    alarm = matching["alarm"]
    assert matching["verdict"] == "fail" and alarm["threshold"] == 1 and alarm["observed"] > 1
    page = (tmp_path / summary["run_id"] / "report.html").read_text()
    assert alarm["name"] in page
    assert f"{margin_pct(alarm):.1f} %" in page  # the margin, as the report's tables print it
    assert margin_pct(alarm) < 0


def test_a_dev_freeze_is_answered_429_by_the_request_throttle_and_the_report_names_its_key(local_target, tmp_path):
    # two worker processes: the scenario reaches the one that drives the routes
    result = CliRunner().invoke(main, ["validate", "--stack", "property_maintenance", "--env", "dev", "--scenario",
                                       "freeze", "--duration", "5", "--rate-scale", "4", "--processes", "2",
                                       "--out", str(tmp_path), "--json"])
    summary = json.loads(result.stdout)
    assert result.exit_code == 1 and summary["scenario"] == "freeze" and summary["config"]["scenario"] == "freeze"
    request = next(hp for hp in summary["hot_paths"] if hp["name"] == "request_api")
    assert request["status_counts"]["429"] > 0 and request["verdict"] == "fail"
    throttled = next(c for c in request["checks"] if c["name"] == "throttled")
    assert f"{request['status_counts']['429']:,} of" in throttled["detail"]
    assert "api_request_throttle_rate_limit = 5" in throttled["detail"]  # dev.tfvars
    capacity = next(c for c in summary["checks"] if c["name"] == "capacity")
    assert not capacity["passed"] and "api_request_throttle_rate_limit" in capacity["detail"]
