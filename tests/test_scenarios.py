"""Named scenarios ([scenarios.NAME] in a profile): they change rates and mixes, never topology; every command
that reads a profile takes `--scenario NAME`; a bad one is one line and exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from fleet_models.geography import METROS
from loadgen.cli import main
from loadgen.errors import LoadgenError
from loadgen.locust import stack_shapes
from loadgen.paths import PROFILES_DIR
from loadgen.profiles import load_profile

SHIPPED = {"property_maintenance": "freeze", "food_delivery": "game_night", "fleet_telematics": "shift_change"}


def peaks(stack: str, env: str, scenario: str | None = None) -> dict[str, float]:
    return {d.name: d.peak_rps for d in load_profile(stack, env, scenario=scenario).demand()}


@pytest.mark.parametrize("stack", sorted(SHIPPED))
def test_every_env_ships_the_scenario_with_the_same_topology(stack):
    for env in ("dev", "staging", "prod"):
        everyday, scenario = load_profile(stack, env), load_profile(stack, env, scenario=SHIPPED[stack])
        assert SHIPPED[stack] in everyday.scenarios and scenario.scenario == SHIPPED[stack]
        assert scenario.fleet == everyday.fleet and scenario.streams == everyday.streams
        assert scenario.stages == everyday.stages
        assert [d.name for d in scenario.demand()] == [d.name for d in everyday.demand()]


def test_a_freeze_bursts_one_metros_requests_with_more_emergencies_and_vendor_updates_following():
    profile = load_profile("property_maintenance", "prod", scenario="freeze")
    config = profile.config()
    everyday, freeze = peaks("property_maintenance", "prod"), peaks("property_maintenance", "prod", "freeze")
    assert freeze["POST /request"] > 1.5 * everyday["POST /request"]
    assert freeze["POST /vendor/status"] > 1.5 * everyday["POST /vendor/status"]
    demand = {d.name: d for d in config.demand()}
    lag_s = demand["POST /vendor/status"].peak_time_s - demand["POST /request"].peak_time_s
    assert lag_s == pytest.approx(config.surge.vendor_lag_h * 3600, abs=600)
    portfolio = config.build()
    t0 = config.peak_time_s - 1800
    batch = portfolio.generate(t0, t0 + 3600)["POST /request"]
    bodies = [json.loads(b) for b in batch.data]
    dallas = next(m for m in METROS if m.name == config.surge.metro)
    near = np.mean([abs(b["location"]["lat"] - dallas.lat) < 1 and abs(b["location"]["lon"] - dallas.lon) < 1
                    for b in bodies])
    emergency = np.mean([b["priority"] == "emergency" for b in bodies])
    # everyday requests come from all six metros, one in twelve an emergency
    assert len(bodies) > 300 and near > 0.6 and emergency > 0.3


def test_a_game_night_triples_dinner_orders_and_doubles_driver_fixes():
    config = load_profile("food_delivery", "dev", scenario="game_night").config()
    game = config.game_night
    everyday, night = peaks("food_delivery", "dev"), peaks("food_delivery", "dev", "game_night")
    assert night["POST /orders"] > 2 * everyday["POST /orders"]
    assert night["locations"] == pytest.approx(everyday["locations"] * 2)
    assert game.during(config.peak_time_s)
    world = config.build()
    inside = len(world.generate(config.peak_time_s, config.peak_time_s + 10)["locations"])
    assert inside == pytest.approx(config.drivers * 10 / game.location_interval_s, rel=0.02)


def test_a_scenario_that_would_change_topology_is_one_line(tmp_path):
    shutil.copytree(PROFILES_DIR / "property_maintenance", tmp_path / "property_maintenance")
    path = tmp_path / "property_maintenance" / "dev.toml"
    path.write_text(path.read_text() + "\n[scenarios.bigger]\nunits = 600000\n")
    with pytest.raises(LoadgenError, match=r"dev\.toml: .*\[scenarios\.bigger\].*never topology") as raised:
        load_profile("property_maintenance", "dev", tmp_path)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("line, complaint", [("unit_fraction = 1.5", "is a share"),
                                             ("hour = 25.0", "hour of the day"),
                                             ("duration_h = 0", "must be > 0")])
def test_scenario_numbers_are_checked_like_the_rest_of_the_profile(tmp_path, line, complaint):
    shutil.copytree(PROFILES_DIR / "property_maintenance", tmp_path / "property_maintenance")
    path = tmp_path / "property_maintenance" / "dev.toml"
    text = path.read_text()
    key = line.split(" = ")[0]
    start = text.index("[scenarios.freeze]")
    head, tail = text[:start], text[start:]
    tail = "\n".join(line if row.startswith(f"{key} = ") else row for row in tail.splitlines())
    path.write_text(head + tail + "\n")
    with pytest.raises(LoadgenError, match=rf"\[scenarios\.freeze\]\.{key} = .*{complaint}"):
        load_profile("property_maintenance", "dev", tmp_path)


@pytest.mark.parametrize("command", [["profile", "show"], ["capacity"], ["validate", "--duration", "2"]])
def test_an_unknown_scenario_is_one_line_naming_the_file_and_its_scenarios(command, tmp_path):
    result = CliRunner().invoke(main, [*command, "--stack", "property_maintenance", "--env", "dev",
                                       "--scenario", "heatwave", "--out", str(tmp_path)][:None if command[0] ==
                                                                                       "validate" else -2])
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert "property_maintenance/dev.toml" in line and "'heatwave'" in line and "freeze" in line


def test_profile_show_prints_the_scenarios_peak_and_when():
    result = CliRunner().invoke(main, ["profile", "show", "--stack", "property_maintenance", "--env", "prod",
                                       "--scenario", "freeze", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["scenario"] == "freeze" and report["scenarios"] == ["freeze"]
    request = next(r for r in report["rates"] if r["name"] == "POST /request")
    assert request["peak_rps"] == pytest.approx(peaks("property_maintenance", "prod", "freeze")["POST /request"])
    assert request["peak_at_utc"].startswith("Tue 07:")  # the surge's hour (07:00) on the morning's rise


def test_capacity_under_a_freeze_sets_the_throttle_and_the_request_router_against_the_surge():
    result = CliRunner().invoke(main, ["capacity", "--stack", "property_maintenance", "--env", "prod",
                                       "--scenario", "freeze", "--json"])
    payload = json.loads(result.stdout)
    assert payload["scenario"] == "freeze" and result.exit_code == (1 if payload["verdict"] == "fail" else 0)
    rows = {(r["key"], r["resource"].split(" (")[0]): r for r in payload["resources"]}
    top = payload["top_stage_rate_fraction"]
    surge = peaks("property_maintenance", "prod", "freeze")["POST /request"] * top
    throttle = rows[("api_request_throttle_rate_limit", "stage v1 request/POST throttle rate")]
    assert throttle["demand"] == pytest.approx(surge, rel=1e-3)
    router = next(r for r in payload["resources"] if r["key"] == "lambda_request_router_reserved_concurrency")
    assert router["detail"]["arrivals_per_s"] == pytest.approx(surge, rel=1e-3)
    assert router["demand"] == pytest.approx(surge * router["detail"]["duration_s"], rel=1e-3)


def test_each_scenario_has_its_own_pickable_locust_shape():
    assert stack_shapes("property_maintenance")["PropertyMaintenanceDevFreezeShape"] == ("dev", "freeze")
    assert stack_shapes("property_maintenance")["PropertyMaintenanceDevShape"] == ("dev", None)
    # the shape classes themselves, in a process of their own (Locust patches with gevent on import)
    probe = ("from loadgen.locust.profile_shapes import profile_shapes; s = profile_shapes(); "
             "print(sorted((n, c.env, c.scenario, c.abstract) for n, c in s.items() if 'Scenario' not in n))")
    listed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    shapes = {name: rest for name, *rest in eval(listed.stdout)}  # noqa: S307 - our own repr of tuples
    assert shapes["PropertyMaintenanceDevFreezeShape"] == ["dev", "freeze", False]
    assert shapes["FoodDeliveryProdGameNightShape"] == ["prod", "game_night", False]
    assert shapes["FleetTelematicsStagingShiftChangeShape"] == ["staging", "shift_change", False]
    assert shapes["TaskApiDevShape"] == ["dev", None, False]
