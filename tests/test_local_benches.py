"""The embedded local target and the benches that use it, end to end on a real Redis server."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from loadgen.cli import main
from loadgen.cli.common import build_context
from loadgen.profiles import load_profile
from loadgen.target.api_emulator import HEALTH_PATH
from loadgen.target.local_target import LocalTarget, _cmdline


@pytest.fixture(scope="module")
def local_target(tmp_path_factory):
    """`loadgen local up` into a private state folder; `loadgen local down` afterwards, checked."""
    state = tmp_path_factory.mktemp("local-target")
    previous = os.environ.get("LOADGEN_STATE_DIR")
    os.environ["LOADGEN_STATE_DIR"] = str(state)
    result = CliRunner().invoke(main, ["local", "up", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    yield status
    pids = [s["pid"] for s in status["services"].values()]
    down = CliRunner().invoke(main, ["local", "down"])
    assert down.exit_code == 0
    assert all(_cmdline(pid) == "" for pid in pids)  # nothing of ours left running
    assert not LocalTarget(state).services()
    if previous is None:
        os.environ.pop("LOADGEN_STATE_DIR", None)
    else:
        os.environ["LOADGEN_STATE_DIR"] = previous


def run_json(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_status_reports_loopback_endpoints(local_target):
    status = run_json("local", "status")
    assert status["up"] is True
    assert status["redis_url"].startswith("redis://127.0.0.1:")
    assert status["aws_endpoint_url"].startswith("http://127.0.0.1:")


def test_the_local_target_never_takes_redis_url_from_the_environment(local_target, tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1")  # meant for --target aws; must not send local load there
    ctx = build_context("fleet_telematics", "dev", "local", tmp_path, "bench", False)
    assert ctx.target.redis_url == local_target["redis_url"]


def test_geo_bench_reports_georadius_and_geosearch(local_target, tmp_path):
    summary = run_json("bench", "geo", "--stack", "property_maintenance", "--env", "dev", "--duration", "1",
                       "--rate", "50", "--out", str(tmp_path))
    names = [h["name"] for h in summary["hot_paths"]]
    assert names == ["vendor_geo_search_georadius", "vendor_geo_search_geosearch"]
    for hot_path in summary["hot_paths"]:
        assert hot_path["ops"] == 50 and hot_path["errors"] == 0
        assert hot_path["alarm"]["metric"] == "GeoSpatialBasedCmdsLatency"
        assert hot_path["verdict"] in ("pass", "fail")
    written = json.loads((tmp_path / summary["run_id"] / "summary.json").read_text())
    assert written == summary
    for key in ("run_id", "stack", "env", "target", "started_at", "duration_s", "hot_paths", "verdict"):
        assert key in written
    assert sorted(p.name for p in (tmp_path / summary["run_id"] / "histograms").iterdir()) == [
        "vendor_geo_search_georadius.hdr", "vendor_geo_search_geosearch.hdr"]


def test_geo_bench_max_mode_compares_with_redis_benchmark_when_present(local_target, tmp_path):
    import shutil

    summary = run_json("bench", "geo", "--stack", "fleet_telematics", "--env", "dev", "--duration", "0.5", "--max",
                       "--concurrency", "4", "--out", str(tmp_path))
    fleet = load_profile("fleet_telematics", "dev").model()
    assert summary["geo_load"]["members_loaded"] == fleet.config.vehicles + len(fleet.geofences.ids())
    for hot_path in summary["hot_paths"]:
        assert hot_path["ops"] > 0 and hot_path["target_rate"] is None
        if shutil.which("redis-benchmark"):
            assert hot_path["redis_benchmark_ratio"] > 0


@pytest.mark.parametrize("stack", ["property_maintenance", "food_delivery"])
def test_matching_bench_assigns_with_the_shared_core(local_target, tmp_path, stack):
    summary = run_json("bench", "matching", "--stack", stack, "--env", "dev", "--duration", "1", "--rate", "40",
                       "--out", str(tmp_path))
    (hot_path,) = summary["hot_paths"]
    assert hot_path["ops"] == 40 and hot_path["errors"] == 0
    assert hot_path["assigned"] + hot_path["unassigned"] == 40 and hot_path["assigned"] > 0
    assert hot_path["alarm"]["metric"] == "Duration"


def test_a_bench_without_a_running_target_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("LOADGEN_STATE_DIR", str(tmp_path / "nothing"))
    result = CliRunner().invoke(main, ["bench", "geo", "--stack", "food_delivery", "--env", "dev"])
    assert result.exit_code == 2
    assert "loadgen local up" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["bench", "geo"], ["bench", "matching"], ["push", "kinesis"], ["push", "api"]])
def test_aws_prod_without_confirmation_exits_2_before_sending(monkeypatch, command):
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # were anything sent, it would fail differently
    result = CliRunner().invoke(main, [*command, "--stack", "food_delivery", "--env", "prod", "--target", "aws"])
    assert result.exit_code == 2
    assert "--confirm-prod" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_locust_ceiling_measures_one_locust_process_and_the_api_driver_on_the_emulators_cheapest_route(local_target):
    result = run_json("bench", "locust-ceiling", "--seconds", "0.5", "--users", "4")
    assert result["server"] == "loadgen API Gateway emulator" and result["path"] == HEALTH_PATH
    assert result["locust_requests_per_s"] > 0 and result["open_loop"]["sustained_requests_per_s"] > 0
    assert result["api_over_locust"] == round(result["open_loop"]["sustained_requests_per_s"]
                                              / result["locust_requests_per_s"], 3)
    assert run_json("local", "status")["up"]  # a running target is used, and left running
