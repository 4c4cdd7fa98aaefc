"""`loadgen capacity`: the profile's top-stage demand against the tfvars, judged resource by resource."""

from __future__ import annotations

import functools
import json
import math
import re

import numpy as np
import pytest
from click.testing import CliRunner

from loadgen.cli import main
from loadgen.measure.capacity_model import (SAMPLE_WINDOW_S, SCALE_OUT_LAG_S, KeyLoad, capacity_model,
                                           shards_needed, top_stage_fraction)
from loadgen.measure.shard_model import ShardLoad, hash_key
from loadgen.profiles import KINESIS_BYTES_PER_SHARD, KINESIS_RECORDS_PER_SHARD, load_profile
from loadgen.tf import hcl_reader
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.variable_source import tfvars_key

from conftest import TERRAFORM

STACKS = ("fleet_telematics", "food_delivery", "property_maintenance", "task_api")
ENVS = ("dev", "staging", "prod")
ROW_KEYS = {"key", "resource", "demand", "capacity", "utilization", "saturates_at_multiple", "recommended", "unit",
            "detail"}
HEADROOM = 1.3


def run(*args: str):
    return CliRunner().invoke(main, ["capacity", *args])


def capacity_json(*args: str) -> tuple[int, dict]:
    result = run(*args, "--json")
    return result.exit_code, json.loads(result.stdout)


def gps_shards_cut_to(tmp_path, shards: int):
    text = (TERRAFORM / "fleet_telematics" / "prod.tfvars").read_text()
    candidate, replaced = re.subn(r"(?m)^gps_shard_count\s*=\s*\d+", f"gps_shard_count = {shards}", text)
    assert replaced == 1
    path = tmp_path / "candidate.tfvars"
    path.write_text(candidate)
    return path


@functools.cache
def busiest_moment(stream: str):
    """The prod fleet's records of one stream over the sample window at its busiest moment."""
    config = load_profile("fleet_telematics", "prod").config()
    return config.build().generate(config.peak_time_s, config.peak_time_s + SAMPLE_WINDOW_S)[stream]


def hottest_shard(stream: str, shard_count: int, load_multiple: float) -> tuple[float, float]:
    """The prod stream's hottest shard (records/s, bytes/s) at `load_multiple` x the profile's peak, counted
    record by record through the pusher's shard model over the same busiest-moment sample."""
    profile = load_profile("fleet_telematics", "prod")
    batch = busiest_moment(stream)
    load = ShardLoad(stream, shard_count)
    load.add(batch.partition_keys, np.fromiter(map(len, batch.data), dtype=np.int64))
    report = load.report(SAMPLE_WINDOW_S)
    peak = {d.name: d for d in profile.demand()}[stream].peak_rps
    scale = load_multiple * peak / (len(batch) / SAMPLE_WINDOW_S)
    return report["max_records_per_s"] * scale, report["max_bytes_per_s"] * scale


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_and_env_exits_with_its_verdict_and_the_json_contract(stack, env):
    code, payload = capacity_json("--stack", stack, "--env", env)
    assert {"stack", "env", "tfvars", "headroom", "resources", "breaks_first", "verdict"} <= set(payload)
    assert code == (1 if payload["verdict"] == "fail" else 0)
    assert payload["resources"], "every stack has constrained resources"
    for row in payload["resources"]:
        assert ROW_KEYS <= set(row)
    failing = [r for r in payload["resources"] if r["holds"] is False]
    assert (payload["verdict"] == "fail") == bool(failing)
    unknown = [r for r in payload["resources"] if r["holds"] is None]
    assert all(r["upper_bound"] for r in unknown)  # only timeout-bound durations are left unjudged
    load_driven = [r for r in payload["resources"] if r["saturates_at_multiple"] is not None and r["holds"] is not None]
    lowest = min(load_driven, key=lambda r: r["saturates_at_multiple"])
    assert payload["breaks_first"] in {lowest["key"]} | {r["key"] for r in failing if r["saturates_at_multiple"] is None}


@pytest.mark.parametrize("stack", STACKS)
def test_keys_that_are_tfvars_variables_hold_the_value_the_capacity_is_read_from(stack):
    resolved = ResolvedStack(hcl_reader.load_stack(TERRAFORM, stack), "prod")
    result = capacity_model(resolved, load_profile(stack, "prod"), HEADROOM)
    variables = [r for r in result.resources if r.key in resolved.variables]
    assert variables, "capacities are traced back to tfvars variables"
    for row in variables:
        assert resolved.variables[row.key] == row.current, row.resource


def test_shipped_fleet_telematics_prod_verdict_is_what_its_demand_says():
    """The prod profile's top stage is 1.5x the fleet's steady rate; prod.tfvars sized GPS at 600 rec/s per shard
    for 1x. Whatever the verdict, the exit code follows it and the GPS row is the real hottest shard."""
    code, payload = capacity_json("--stack", "fleet_telematics", "--env", "prod")
    assert code == (1 if payload["verdict"] == "fail" else 0)
    gps = next(r for r in payload["resources"] if r["key"] == "gps_shard_count" and "write" in r["resource"])
    records, _ = hottest_shard("gps", gps["current"], top_stage_fraction(load_profile("fleet_telematics", "prod")))
    assert gps["detail"]["hottest_shard_records_per_s"] == pytest.approx(records, rel=1e-6)
    assert gps["detail"]["hottest_shard_records_per_s"] > gps["detail"]["even_split_records_per_s"]


def test_shipped_fleet_telematics_prod_holds_its_profile():
    assert run("--stack", "fleet_telematics", "--env", "prod").exit_code == 0


def test_gps_cut_to_two_shards_fails_names_the_key_and_recommends_what_holds(tmp_path):
    code, payload = capacity_json("--stack", "fleet_telematics", "--env", "prod",
                                  "--tfvars", str(gps_shards_cut_to(tmp_path, 2)))
    assert code == 1
    assert payload["verdict"] == "fail"
    assert payload["tfvars"].endswith("candidate.tfvars")
    assert payload["breaks_first"] == "gps_shard_count"
    gps = next(r for r in payload["resources"] if r["key"] == "gps_shard_count" and "write" in r["resource"])
    assert gps["current"] == 2 and gps["holds"] is False
    recommended = gps["recommended"]
    multiple = top_stage_fraction(load_profile("fleet_telematics", "prod")) * HEADROOM
    records, nbytes = hottest_shard("gps", recommended, multiple)
    assert records <= KINESIS_RECORDS_PER_SHARD and nbytes <= KINESIS_BYTES_PER_SHARD
    records, nbytes = hottest_shard("gps", recommended - 1, multiple)
    assert records > KINESIS_RECORDS_PER_SHARD or nbytes > KINESIS_BYTES_PER_SHARD


def test_the_recommended_shard_count_holds_when_applied(tmp_path):
    _, payload = capacity_json("--stack", "fleet_telematics", "--env", "prod",
                               "--tfvars", str(gps_shards_cut_to(tmp_path, 2)))
    recommended = next(r for r in payload["resources"] if r["key"] == "gps_shard_count")["recommended"]
    _, applied = capacity_json("--stack", "fleet_telematics", "--env", "prod",
                               "--tfvars", str(gps_shards_cut_to(tmp_path, recommended)))
    assert all(r["holds"] for r in applied["resources"] if r["key"] == "gps_shard_count")


def test_a_measured_p99_replaces_the_timeout_in_littles_law():
    resolved = ResolvedStack(hcl_reader.load_stack(TERRAFORM, "food_delivery"), "prod")
    profile = load_profile("food_delivery", "prod")
    by_timeout = capacity_model(resolved, profile, HEADROOM)
    measured = capacity_model(resolved, profile, HEADROOM, {"orders_api": 40.0})

    def validator(result):
        return next(r for r in result.resources if 'order_validator' in r.resource and "Little" in r.resource)

    timeout_s = resolved.variables["api_timeout_s"]
    rate = validator(by_timeout).detail["arrivals_per_s"]
    assert validator(by_timeout).demand == pytest.approx(rate * timeout_s)
    assert validator(measured).demand == pytest.approx(rate * 0.040)
    assert validator(measured).detail["duration_basis"].startswith("measured p99")


def test_headroom_moves_the_verdict_not_the_demand():
    resolved = ResolvedStack(hcl_reader.load_stack(TERRAFORM, "fleet_telematics"), "dev")
    profile = load_profile("fleet_telematics", "dev")
    low, high = capacity_model(resolved, profile, 1.0), capacity_model(resolved, profile, 100.0)
    assert [r.demand for r in low.resources] == [r.demand for r in high.resources]
    gps = [r for r in high.resources if r.key == "gps_shard_count" and "write" in r.resource][0]
    assert not gps.holds(100.0) and gps.recommended > gps.current
    assert high.verdict == "fail"


def test_a_missing_candidate_file_is_one_line_and_exit_2(tmp_path):
    missing = tmp_path / "nope.tfvars"
    result = run("--stack", "fleet_telematics", "--env", "prod", "--tfvars", str(missing))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0] and "not found" in lines[0]


def test_a_candidate_setting_an_undeclared_variable_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "typo.tfvars"
    path.write_text((TERRAFORM / "fleet_telematics" / "prod.tfvars").read_text() + "\ngps_shards = 4\n")
    result = run("--stack", "fleet_telematics", "--env", "prod", "--tfvars", str(path))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "gps_shards" in lines[0]


def test_the_table_names_the_verdict_and_what_breaks_first():
    result = run("--stack", "food_delivery", "--env", "dev")
    assert result.exit_code in (0, 1)
    assert "breaks first:" in result.stdout and "verdict:" in result.stdout
    assert f"verdict: {'fail' if result.exit_code else 'pass'}" in result.stdout


def test_sqs_consumers_need_arrivals_over_batch_size_times_p99_concurrent_batches():
    """food_delivery's customer queue subscribes to every order stage the orders model emits (placed, assigned,
    picked_up, delivered): four messages per order."""
    resolved = ResolvedStack(hcl_reader.load_stack(TERRAFORM, "food_delivery"), "prod")
    profile = load_profile("food_delivery", "prod")
    result = capacity_model(resolved, profile, HEADROOM, {"customer_consumer": 300.0})
    row = next(r for r in result.resources if 'customer_notifications' in r.resource)
    orders = {d.name: d for d in profile.demand()}["orders"].peak_rps * top_stage_fraction(profile)
    assert row.detail["messages_per_s"] == pytest.approx(4 * orders, rel=1e-3)
    assert row.demand == pytest.approx(row.detail["messages_per_s"] / resolved.variables["sqs_batch_size"] * 0.3,
                                       rel=1e-3)
    assert row.key == "sqs_max_concurrency" and row.capacity == resolved.variables["sqs_max_concurrency"]


def test_what_the_model_cannot_judge_is_listed_not_dropped():
    _, payload = capacity_json("--stack", "fleet_telematics", "--env", "dev")
    skipped = {s["resource"] for s in payload["not_modelled"]}
    assert 'aws_sqs_queue.this["maintenance"]' in skipped
    assert 'aws_dynamodb_table.this["thresholds"]' in skipped
    judged = {r["resource"].rsplit(" ", 1)[0] for r in payload["resources"]}
    assert not skipped & judged


def test_strongly_consistent_reads_and_writes_round_up_per_item():
    """driver_logs: one consistent read (4 KB units) and one write (1 KB units) per HOS record."""
    resolved = ResolvedStack(hcl_reader.load_stack(TERRAFORM, "fleet_telematics"), "dev")
    profile = load_profile("fleet_telematics", "dev")
    result = capacity_model(resolved, profile, HEADROOM)
    rows = {r.unit: r for r in result.resources if 'driver_logs' in r.resource}
    config = profile.config()
    sizes = np.array([len(d) for d in config.build().generate(config.peak_time_s, config.peak_time_s
                                                              + SAMPLE_WINDOW_S)["hos"].data])
    rate = {d.name: d for d in profile.demand()}["hos"].peak_rps * top_stage_fraction(profile)
    assert rows["WCU"].demand == pytest.approx(rate * np.mean(-(-sizes // 1024)))
    assert rows["RCU"].demand == pytest.approx(rate * np.mean(-(-sizes // 4096)))
    assert (rows["WCU"].key, rows["RCU"].key) == ("driver_logs_wcu", "driver_logs_rcu")


def small_world(records_per_key: list[float], record_bytes: float = 100.0) -> KeyLoad:
    keys = [f"K{i:04d}" for i in range(len(records_per_key))]
    records = np.array(records_per_key, dtype=np.float64)
    return KeyLoad(np.array([hash_key(k) for k in keys], dtype=object), records, records * record_bytes, 1.0)


def test_the_shard_search_finds_the_first_count_whose_hottest_shard_holds():
    rng = np.random.default_rng(7)
    load = small_world(rng.integers(1, 5, size=2000).tolist())
    found = shards_needed(load, 9000.0, KINESIS_RECORDS_PER_SHARD, KINESIS_BYTES_PER_SHARD)
    assert load.hottest(found, 9000.0)[0] <= KINESIS_RECORDS_PER_SHARD
    assert all(load.hottest(n, 9000.0)[0] > KINESIS_RECORDS_PER_SHARD for n in range(1, found))


def test_no_shard_count_holds_a_partition_key_hotter_than_a_shard():
    load = small_world([900.0] + [1.0] * 100)
    assert shards_needed(load, 1500.0, KINESIS_RECORDS_PER_SHARD, KINESIS_BYTES_PER_SHARD) is None
    assert shards_needed(load, 1000.0, KINESIS_RECORDS_PER_SHARD, KINESIS_BYTES_PER_SHARD) is not None


def test_a_route_too_rare_for_the_window_still_sizes_its_table_writes():
    """property_maintenance dev files a request every few minutes: the item size comes from the time after the
    window, and the table is judged rather than listed as not modelled."""
    _, payload = capacity_json("--stack", "property_maintenance", "--env", "dev")
    wcu = next(r for r in payload["resources"] if r["resource"] == "aws_dynamodb_table.maintenance_requests WCU")
    assert wcu["key"] == "ddb_maintenance_requests_write_capacity"
    assert wcu["detail"]["sources"][0]["max_item_bytes"] > 0
    assert "aws_dynamodb_table.maintenance_requests" not in {s["resource"] for s in payload["not_modelled"]}


def test_a_capacity_is_traced_to_the_variable_that_sets_it_or_left_at_its_address(mini_terraform):
    """mini: `shard_count = each.value.shards`, the orders entry of local.streams reads var.orders_shard_count and
    the audit entry is a literal 1 that no tfvars sets."""
    resolved = ResolvedStack(hcl_reader.load_stack(mini_terraform, "mini"), "staging")
    found = {}
    for inst in resolved.instances("aws_kinesis_stream"):
        found[inst.key] = tfvars_key(resolved, inst, inst.block.body["shard_count"], inst.attribute("shard_count"),
                                     f"{inst.address}.shard_count")
    assert found == {"orders": "orders_shard_count", "audit": 'aws_kinesis_stream.streams["audit"].shard_count'}


def task_api_candidate(tmp_path, env: str, **values) -> str:
    """The env's shipped tfvars with some keys changed (a candidate file)."""
    text = (TERRAFORM / "task_api" / f"{env}.tfvars").read_text()
    for key, value in values.items():
        text, replaced = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text)
        assert replaced == 1, key
    path = tmp_path / f"{env}-candidate.tfvars"
    path.write_text(text)
    return str(path)


def rows_of(payload: dict, key: str) -> list[dict]:
    return [r for r in payload["resources"] if r["key"] == key]


@pytest.mark.parametrize("env", ENVS)
def test_task_api_shipped_envs_hold_their_profiles_on_the_autoscaling_range(env):
    code, payload = capacity_json("--stack", "task_api", "--env", env)
    assert code == 0, [(r["key"], r["resource"]) for r in payload["resources"] if r["holds"] is False]
    resolved = ResolvedStack(hcl_reader.load_stack(TERRAFORM, "task_api"), env)
    profile = load_profile("task_api", env)
    writes = {d.name: d for d in profile.demand()}["POST /tasks"].peak_rps * top_stage_fraction(profile)
    target = resolved.variables["ddb_target_utilization_percent"] / 100
    # the table and its status index, each judged at its max (at the target utilization) and before scale-out
    for key, bound in (("ddb_write_max_capacity", "max"), ("ddb_write_min_capacity", "min")):
        rows = rows_of(payload, key)
        assert {r["resource"].split(" WCU")[0] for r in rows} == {
            "aws_dynamodb_table.tasks", "aws_dynamodb_table.tasks GSI status-created_at-index"}
        assert all(r["current"] == resolved.variables[key] and r["holds"] for r in rows)
    for row in rows_of(payload, "ddb_write_max_capacity"):
        assert row["demand"] == pytest.approx(writes, rel=1e-3)  # one 1 KB write per created task
        assert row["capacity"] == pytest.approx(resolved.variables["ddb_write_max_capacity"] * target)
    # the route's demand against the stage's and the usage plan's throttles
    throttles = rows_of(payload, "api_throttle_rate_limit")
    assert {r["resource"].split(" throttle")[0] for r in throttles} == {
        "stage v1 tasks/POST", "usage plan aws_api_gateway_usage_plan.main key aws_api_gateway_api_key.client"}
    assert all(r["demand"] == pytest.approx(writes, rel=1e-3) for r in throttles)
    not_modelled = " ".join(s["resource"] for s in payload["not_modelled"])
    assert 'dynamodb["table_read"]' in not_modelled and 'dynamodb["index_read"]' in not_modelled


def test_task_api_max_capacity_below_the_demand_at_target_fails_and_the_recommendation_holds(tmp_path):
    code, payload = capacity_json("--stack", "task_api", "--env", "prod",
                                  "--tfvars", task_api_candidate(tmp_path, "prod", ddb_write_max_capacity=300))
    assert code == 1 and payload["verdict"] == "fail"
    [table, index] = rows_of(payload, "ddb_write_max_capacity")
    assert table["holds"] is False and index["holds"] is False and table["current"] == 300
    target = table["detail"]["target_utilization"]
    assert table["recommended"] == math.ceil(table["demand"] * HEADROOM / target)
    assert (table["recommended"] - 1) * target < table["demand"] * HEADROOM <= table["recommended"] * target
    code, applied = capacity_json("--stack", "task_api", "--env", "prod", "--tfvars", task_api_candidate(
        tmp_path, "prod", ddb_write_max_capacity=max(table["recommended"], index["recommended"])))
    assert code == 0 and all(r["holds"] for r in rows_of(applied, "ddb_write_max_capacity"))


def test_task_api_steps_within_the_scaling_lag_run_on_the_min_capacity(tmp_path):
    """Target tracking catches up with a stage SCALE_OUT_LAG_S after it begins: dev's 50 s ramp runs on its min
    capacity throughout; prod's surge stage (at 480 s) meets the capacity scaled for the 1x stage (begun at 180 s),
    while the stages before it meet the min. A floor below the steps fails on ddb_write_min_capacity."""
    _, dev = capacity_json("--stack", "task_api", "--env", "dev")
    [row, _] = rows_of(dev, "ddb_write_min_capacity")
    assert {s["capacity_basis"] for s in row["detail"]["steps"]} == {"min capacity"}
    code, prod = capacity_json("--stack", "task_api", "--env", "prod",
                               "--tfvars", task_api_candidate(tmp_path, "prod", ddb_write_min_capacity=50))
    assert code == 1
    [row, _] = rows_of(prod, "ddb_write_min_capacity")
    steps = row["detail"]["steps"]
    assert row["detail"]["scale_out_lag_s"] == SCALE_OUT_LAG_S == 240
    assert [s["capacity_basis"] for s in steps] == ["min capacity"] * 3 + ["scaled out for stage 2"]
    assert steps[3]["capacity_at_step"] == pytest.approx(steps[2]["demand"] / row["detail"]["target_utilization"],
                                                         rel=1e-3)
    assert row["holds"] is False and row["current"] == 50 and row["demand"] == steps[2]["demand"]
    # the recommended floor holds every step with headroom, the 1x stage (on the min) and the surge (on neither)
    assert row["recommended"] == math.ceil(max(steps[2]["demand"], steps[3]["demand"]) * HEADROOM)
    code, applied = capacity_json("--stack", "task_api", "--env", "prod", "--tfvars", task_api_candidate(
        tmp_path, "prod", ddb_write_min_capacity=row["recommended"]))
    assert code == 0
