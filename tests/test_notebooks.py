"""notebooks/: every notebook executed top to bottom with papermill against small runs made here, its conclusion
checked against the capacity model's (or the histograms') figure for the same input; committed without outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest
from click.testing import CliRunner
from jupyter_client.manager import KernelManager

from loadgen.cli import main
from loadgen.measure.capacity_model import capacity_model
from loadgen.measure.recorder import HotPathRecorder
from loadgen.measure.sizing import hottest_shard_curve, shard_sizing, stream_demand_by_stage
from loadgen.profiles import load_profile
from loadgen.report.compare import compare_runs
from loadgen.report.runs_frame import hot_paths_frame
from loadgen.report.tuning import comparison, latency_against_alarms, shard_conclusion
from loadgen.tf import hcl_reader
from loadgen.tf.env_model import ResolvedStack
from run_dirs import ORDERS_API, SimulatedPath, write_stack_run
from tests.conftest import REPO, TERRAFORM

NOTEBOOKS = REPO / "notebooks"
NAMES = ("kinesis_shard_sizing", "lambda_concurrency_and_latency", "redis_geo_tuning",
         "conditional_write_contention", "run_comparison")


def execute(name: str, out: Path, **parameters) -> dict:
    """Run the notebook with papermill (its executed copy beside the results) and return what it concluded."""
    results = out / f"{name}.json"
    papermill.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(out / f"{name}.ipynb"),
                               parameters={**parameters, "results_json": str(results)}, kernel_name="python3",
                               progress_bar=False, cwd=str(REPO))
    return json.loads(results.read_text())


def cli_json(*args: str) -> dict | list:
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def p99_ms(run_dir: Path, name: str) -> float:
    """A hot path's p99 read from its histogram, not from the summary."""
    summary = json.loads((run_dir / "summary.json").read_text())
    entry = next(e for e in summary["hot_paths"] if e["name"] == name)
    encoded = (run_dir / "histograms" / f"{name}.hdr").read_text().strip()
    recorder = HotPathRecorder.decode(name, encoded, entry["ops"], entry["errors"])
    return recorder.histogram.get_value_at_percentile(99.0) / 1000.0


def test_every_notebook_is_tested_and_committed_without_outputs() -> None:
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)
    for name in NAMES:
        book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(book)
        code = [c for c in book.cells if c.cell_type == "code"]
        assert [c for c in code if c.outputs or c.execution_count is not None] == [], f"{name} carries outputs"
        assert "parameters" in code[0].metadata.get("tags", []), f"{name}: first code cell is not `parameters`"
        assert "results_json" in code[0].source and "conclusion" in code[-1].metadata.get("tags", [])


def test_the_kernel_papermill_starts_is_this_interpreter() -> None:
    assert KernelManager(kernel_name="python3").format_kernel_cmd()[0] == sys.executable


def test_kinesis_shard_sizing_concludes_what_loadgen_capacity_recommends(tmp_path: Path) -> None:
    results = execute("kinesis_shard_sizing", tmp_path, stack="food_delivery", envs=["prod"], env="prod",
                      headroom=1.3, multiples=[1.0, 2.0])
    capacity = cli_json("capacity", "--stack", "food_delivery", "--env", "prod", "--headroom", "1.3")
    expected = {r["key"]: (r["recommended"], r["current"]) for r in capacity["resources"]
                if r["key"].endswith("_shard_count") and " write (" in r["resource"]}
    assert {f["key"]: (f["needed"], f["shards"]) for f in results["figures"]} == expected
    for key, (needed, shards) in expected.items():
        assert f"prod needs {needed} shards for " in results["conclusion"]
        assert f"tfvars has {shards} ({key})" in results["conclusion"]


def test_lambda_concurrency_uses_the_worst_measured_p99(tmp_path: Path) -> None:
    matching = SimulatedPath("driver_matching", peak_rate=40.0, median_ms=30.0, threshold_ms=400.0)
    runs = [tmp_path / "runs" / "a", tmp_path / "runs" / "b"]
    write_stack_run(runs[0], [matching, ORDERS_API], stack="food_delivery", seed=1)
    write_stack_run(runs[1], [matching, ORDERS_API], stack="food_delivery", seed=2, latency_factor=1.4)
    results = execute("lambda_concurrency_and_latency", tmp_path, stack="food_delivery", env="dev",
                      run_dirs=[str(r) for r in runs], headroom=1.3)
    worst = {name: max(p99_ms(r, name) for r in runs) for name in ("driver_matching", "orders_api")}
    assert results["figures"]["p99_ms"] == pytest.approx(worst)
    model = capacity_model(ResolvedStack(hcl_reader.load_stack(TERRAFORM, "food_delivery"), "dev"),
                           load_profile("food_delivery", "dev"), 1.3, worst)
    expected = [(r.key, r.resource, r.detail["duration_basis"], r.current, r.recommended) for r in model.resources
                if "Little's law" in r.resource]
    assert [(f["key"], f["resource"], f["duration_basis"], f["limit"], f["recommended"])
            for f in results["figures"]["rows"]] == expected
    assert "measured p99 (orders_api)" in [basis for _, _, basis, _, _ in expected]
    for key, resource, _, limit, recommended in expected:
        assert f"dev {key} ({resource.split(' concurrency')[0]}) needs {recommended} at 1.3x" in results["conclusion"]
        assert f"tfvars has {limit}" in results["conclusion"]


def test_run_comparison_lists_the_regressions_loadgen_report_finds(tmp_path: Path) -> None:
    paths = [SimulatedPath("driver_matching", peak_rate=100.0, median_ms=4.0, threshold_ms=40.0), ORDERS_API]
    base, same, slower = (tmp_path / "runs" / n for n in ("base", "same", "slower"))
    write_stack_run(base, paths, seed=3)
    write_stack_run(same, paths, seed=3)
    write_stack_run(slower, paths, seed=3, latency_factor=1.5)
    results = execute("run_comparison", tmp_path, run_dirs=[str(base), str(same), str(slower)], threshold_pct=10.0)
    regressions = compare_runs(base, slower, 10.0).regressions
    assert regressions and compare_runs(base, same, 10.0).regressions == []
    assert sorted((Path(r["contender_dir"]).name, r["hot_path"], r["metric"]) for r in results["figures"]["regressions"]) \
        == sorted(("slower", d.hot_path, d.metric) for d in regressions)
    assert cli_json("report", str(slower), "--compare", str(base))["regressions"] == len(regressions)
    assert results["conclusion"].startswith(f"{len(regressions)} regression(s) beyond 10%")


def test_redis_geo_tuning_compares_the_commands_from_their_histograms(local_target, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    handlers = cli_json("bench", "geo", "--stack", "food_delivery", "--env", "dev", "--duration", "1", "--rate", "40",
                        "--out", str(out))
    narrower = cli_json("bench", "geo", "--stack", "food_delivery", "--env", "dev", "--duration", "1", "--rate", "40",
                        "--radius-km", "1.5", "--count", "5", "--out", str(out))
    run_dirs = [out / handlers["run_id"], out / narrower["run_id"]]
    results = execute("redis_geo_tuning", tmp_path, run_dirs=[str(r) for r in run_dirs])
    figures = results["figures"]
    assert len(figures) == 4 and {f["command"] for f in figures} == {"GEORADIUS", "GEOSEARCH"}
    assert {(f["radius_km"], f["count"]) for f in figures if f["run_id"] == narrower["run_id"]} == {(1.5, 5)}
    assert {(f["radius_km"], f["count"]) for f in figures if f["run_id"] == handlers["run_id"]} == \
        {(h["radius_km"], h["count"]) for h in handlers["hot_paths"]} != {(1.5, 5)}
    for run_dir in run_dirs:
        p99 = {f["command"]: f["p99_ms"] for f in figures if f["run_id"] == run_dir.name}
        for f in (f for f in figures if f["run_id"] == run_dir.name):
            assert f["p99_ms"] == pytest.approx(p99_ms(run_dir, f["name"]), abs=1e-3)
        faster = min(p99, key=p99.get)
        assert f"GEORADIUS p99 {p99['GEORADIUS']:.3f} ms" in results["conclusion"]
        assert f"GEOSEARCH p99 {p99['GEOSEARCH']:.3f} ms" in results["conclusion"]
        assert f"({run_dir.name}): GEOSEARCH p99 {p99['GEOSEARCH']:.3f} ms vs GEORADIUS p99 " \
               f"{p99['GEORADIUS']:.3f} ms, {faster} faster" in results["conclusion"]


def test_conditional_write_contention_against_each_envs_alarm(local_target, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    summaries = [cli_json("bench", "ddb", "--stack", "food_delivery", "--env", "dev", "--duration", "1", "--max",
                          "--concurrency", writers, "--items", items, "--out", str(out))
                 for writers, items in (("2", "4"), ("6", "1"))]
    envs = ["dev", "staging", "prod"]
    results = execute("conditional_write_contention", tmp_path, stack="food_delivery", envs=envs,
                      run_dirs=[str(out / s["run_id"]) for s in summaries])
    table = summaries[0]["hot_paths"][0]["table"]
    address = next(a for a, t in cli_json("tf", "capacity", "--stack", "food_delivery", "--env", "dev")
                   ["dynamodb_tables"].items() if t["name"] == table)
    writes = next(r for r in cli_json("capacity", "--stack", "food_delivery", "--env", "dev")["resources"]
                  if r["resource"] in (f"{address} WCU", f"{address} write request units"))
    units = writes["demand"] / sum(s["records_per_s"] * s["writes_per_record"] for s in writes["detail"]["sources"])
    thresholds = {}
    for env in envs:
        alarm = next(a for a in cli_json("tf", "alarms", "--stack", "food_delivery", "--env", env)["alarms"]
                     if a["address"] == summaries[0]["hot_paths"][0]["alarm"]["address"])
        thresholds[env] = (alarm["threshold"], alarm["period"])
    assert {t["env"]: (t["threshold"], t["period"]) for t in results["figures"]["thresholds"]} == thresholds
    for summary, row in zip(summaries, results["figures"]["runs"]):
        entry = summary["hot_paths"][0]
        assert (row["writers"], row["items"]) == (entry["writers"], entry["items"])
        assert row["conditional_failures"] == entry["conditional_failures"]
        assert row["failures_per_period"] == entry["alarm"]["observed"]
        assert row["failed_wcu_per_s"] == pytest.approx(entry["conditional_failures_per_s"] * units, rel=1e-3)
        verdicts = ", ".join(f"{env} {'fires' if entry['conditional_failures_per_s'] * period > threshold else 'holds'}"
                             f" (> {threshold:g}/{period:g}s)" for env, (threshold, period) in thresholds.items())
        assert f"{entry['writers']} writers on {entry['items']} items: " in results["conclusion"]
        assert f"alarm {verdicts}" in results["conclusion"]


# --- the package functions the notebooks call, on their own -----------------------------------------------------

def test_stage_demand_tops_out_at_the_rate_the_model_sizes_shards_for() -> None:
    stages = stream_demand_by_stage("food_delivery", ["prod"])  # prod's sample is the one loadgen capacity made
    sizing = shard_sizing("food_delivery", ["prod"], [1.0])
    top = stages.groupby("stream")["records_per_s"].max()
    for row in sizing.itertuples():
        stream = row.stream.split('["')[1].rstrip('"]')
        assert top[stream] == pytest.approx(row.stream_records_per_s, abs=1e-3)
    curve = hottest_shard_curve("food_delivery", "prod", [1, 4])
    one = curve[curve["shards"] == 1]
    assert (one["hottest_records_per_s"] == one["stream_records_per_s"]).all() and (one["hot_over_even"] == 1).all()
    assert (curve["hottest_records_per_s"] >= curve["even_split_records_per_s"] - 1e-9).all()


def test_a_stream_no_shard_count_can_hold_is_said_so() -> None:
    sizing = pd.DataFrame([{"env": "prod", "stream": "s", "key": "s_shard_count", "multiple": 2.0, "shards": 4,
                            "needed": None}])
    assert shard_conclusion(sizing, "prod", 2.0) == ("prod needs no shard count (one partition key alone exceeds a "
                                                     "limit) shards for s at 2x; tfvars has 4 (s_shard_count)")
    assert shard_conclusion(sizing, "dev", 2.0).startswith("dev: no Kinesis stream")


def test_latency_margins_are_the_alarms_own(tmp_path: Path) -> None:
    summary = write_stack_run(tmp_path / "run", [SimulatedPath("m", 100.0, 4.0, 40.0), ORDERS_API], seed=9)
    latency = latency_against_alarms(hot_paths_frame(tmp_path / "run"), "lambda_core")
    alarm = summary["hot_paths"][0]["alarm"]
    assert list(latency["name"]) == ["m"]
    assert latency["margin"].item() == pytest.approx((alarm["threshold"] - alarm["observed"]) / alarm["threshold"])
    with pytest.raises(ValueError, match="baseline and at least one contender"):
        comparison([tmp_path / "run"])
