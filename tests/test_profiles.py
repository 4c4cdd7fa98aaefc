"""Profiles: every stack and env loads, its rates follow from the fleet, and bad files get one clear line."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from loadgen.cli import main
from loadgen.errors import LoadgenError
from loadgen.paths import PROFILES_DIR
from loadgen.profiles import load_profile

STACKS = ("property_maintenance", "fleet_telematics", "food_delivery", "task_api")


def cli_json(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("stack", STACKS)
def test_profiles_scale_up_from_dev_to_prod(stack):
    peaks = [sum(d.peak_rps for d in load_profile(stack, env).demand()) for env in ("dev", "staging", "prod")]
    assert 0 < peaks[0] < peaks[1] < peaks[2]


def test_fleet_telematics_prod_peak_follows_the_duty_cycle_and_fits_its_shards():
    report = cli_json("profile", "show", "--stack", "fleet_telematics", "--env", "prod")
    assert report["fleet"]["vehicles"] == 234_000
    rates = {r["name"]: r for r in report["rates"]}
    gps, hos = rates["gps"], rates["hos"]
    # below every vehicle driving at once (234,000 / 10 s), well above the night's heartbeats
    assert 234_000 / 900 < gps["mean_rps"] < gps["peak_rps"] < 23_400
    assert gps["peak_to_mean"] >= 1.5 and gps["peak_to_mean"] == round(gps["peak_rps"] / gps["mean_rps"], 2)
    assert 0 <= gps["peak_hour_utc"] < 24 and gps["peak_at_utc"][-5:-3] == f"{int(gps['peak_hour_utc']):02d}"
    # the ELD reports its driver's duty status whatever it is
    assert hos["peak_rps"] == pytest.approx(hos["mean_rps"]) and hos["peak_rps"] == pytest.approx(234_000 / 60)
    for stream in ("gps", "diagnostics", "hos"):
        assert rates[stream]["shards"] > 0
        assert rates[stream]["peak_shard_records_utilization"] <= 1.0


def test_property_maintenance_prod_is_120k_units_with_both_routes():
    report = cli_json("profile", "show", "--stack", "property_maintenance", "--env", "prod")
    assert report["fleet"]["units"] == 120_000
    assert {r["name"] for r in report["rates"]} == {"POST /request", "POST /vendor/status"}
    assert all(r["throttle_rps"] for r in report["rates"])


def test_task_api_dev_creates_tasks_within_its_throttle():
    report = cli_json("profile", "show", "--stack", "task_api", "--env", "dev")
    assert report["domain"] == "tasks" and report["fleet"]["users"] == 2000
    [route] = report["rates"]
    assert route["name"] == "POST /tasks" and route["kind"] == "api"
    top = max(s["rate_fraction"] for s in report["stages"])
    assert 0 < route["peak_rps"] * top < route["throttle_rps"]


def test_bench_generate_reports_its_figures():
    report = cli_json("bench", "generate", "--domain", "orders", "--env", "dev", "--seconds", "3")
    for key in ("records_per_s", "bytes_per_s", "peak_demand_rps", "ratio", "peak_rss_mb"):
        assert isinstance(report[key], float) and report[key] > 0
    assert report["records"] > 0


def test_a_malformed_profile_is_one_line_naming_the_file(tmp_path):
    (tmp_path / "food_delivery").mkdir()
    (tmp_path / "food_delivery" / "dev.toml").write_text('stack = "food_delivery"\nenv = "dev"\ndomain = [\n')
    with pytest.raises(LoadgenError) as error:
        load_profile("food_delivery", "dev", tmp_path)
    assert "dev.toml" in str(error.value) and "malformed TOML" in str(error.value)
    assert "\n" not in str(error.value)


def test_an_unknown_env_exits_2_with_one_line():
    result = CliRunner().invoke(main, ["profile", "show", "--stack", "food_delivery", "--env", "qa"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("stack,old,new,named", [
    ("fleet_telematics", "interval_s = 10.0", "interval_s = -10.0", "interval_s = -10.0"),
    ("fleet_telematics", "vehicles = 234000", "vehicles = 0", "vehicles = 0"),
    ("fleet_telematics", "violator_fraction = 0.02", "violator_fraction = 1.5", "violator_fraction = 1.5"),
    ("fleet_telematics", "interval_s = 10.0", "interval_s = nan", "interval_s = nan"),
    ("food_delivery", "orders_per_day = ", "orders_per_day = -", "orders_per_day = -"),
    ("fleet_telematics", "rate_fraction = 0.25", "rate_fraction = -0.25", "rate_fraction = -0.25"),
    ("fleet_telematics", "duration_s = 60", "duration_s = inf", "duration_s = inf"),
])
def test_a_profile_number_out_of_its_domain_is_one_line_and_exit_2(tmp_path, stack, old, new, named):
    shutil.copytree(PROFILES_DIR / stack, tmp_path / stack)
    path = tmp_path / stack / "prod.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(LoadgenError) as error:
        load_profile(stack, "prod", tmp_path)
    assert "prod.toml" in str(error.value) and named in str(error.value) and "\n" not in str(error.value)
