"""`loadgen report`: re-rendering a run, and baseline vs contender with deltas, regressions beyond the threshold
(latency up, rate down), one-sided hot paths, exit codes 0/1/2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from loadgen.cli import main
from loadgen.errors import LoadgenError
from loadgen.report.compare import compare_runs
from run_dirs import MATCHING, ORDERS_API, TRACKING, SimulatedPath, write_stack_run, write_suite_run

PATHS = [MATCHING, ORDERS_API]
LATENCIES = ("p50", "p95", "p99", "max")


def report(*args: str | Path):
    return CliRunner().invoke(main, ["report", *map(str, args)])


@pytest.fixture
def baseline(tmp_path_factory) -> Path:
    """A run some tests damage on purpose: outside tmp_path, which conftest checks against the schema."""
    folder = tmp_path_factory.mktemp("baseline")
    write_stack_run(folder / "baseline", PATHS, seed=3)
    return folder / "baseline"


def test_an_unchanged_run_has_no_regression(baseline: Path, tmp_path: Path) -> None:
    write_stack_run(tmp_path / "again", PATHS, seed=3)
    comparison = compare_runs(baseline, tmp_path / "again")
    assert len(comparison.deltas) == 5 * len(PATHS)
    assert all(d.diff == 0 and d.diff_pct == 0 for d in comparison.deltas)
    assert comparison.regressions == [] and comparison.verdict_changes == []
    result = report(tmp_path / "again", "--compare", baseline)
    assert result.exit_code == 0, result.output
    assert "no regression beyond 10%" in result.output
    for path in PATHS:
        assert path.name in result.output


def test_contender_p99_up_50_percent_is_flagged(baseline: Path, tmp_path: Path) -> None:
    write_stack_run(tmp_path / "slower", PATHS, seed=3, latency_factor=1.5)
    comparison = compare_runs(baseline, tmp_path / "slower")
    p99 = {d.hot_path: d for d in comparison.deltas if d.metric == "p99"}
    assert set(p99) == {p.name for p in PATHS}
    for d in p99.values():
        assert d.regression
        assert d.diff_pct == pytest.approx(50.0, abs=0.5)  # HdrHistogram's 3 significant digits
        assert d.diff == pytest.approx(d.contender - d.baseline)
    assert not [d for d in comparison.regressions if d.metric == "achieved_rate"]
    result = report(tmp_path / "slower", "--compare", baseline)
    assert result.exit_code == 1, result.output
    assert f"{MATCHING.name} p99 +5" in result.output and "regression > 10%" in result.output


def test_a_verdict_that_changed_is_listed(tmp_path: Path) -> None:
    tight = [SimulatedPath("order_matching", peak_rate=200.0, median_ms=4.0, threshold_ms=14.0)]
    base = write_stack_run(tmp_path / "base", tight, seed=3)
    slow = write_stack_run(tmp_path / "slow", tight, seed=3, latency_factor=1.5)
    assert (base["hot_paths"][0]["verdict"], slow["hot_paths"][0]["verdict"]) == ("pass", "fail")
    assert compare_runs(tmp_path / "base", tmp_path / "slow").verdict_changes == \
        ["food_delivery/order_matching: pass -> fail"]
    assert compare_runs(tmp_path / "base", tmp_path / "base").verdict_changes == []
    assert "verdicts changed: food_delivery/order_matching: pass -> fail" in \
        report(tmp_path / "slow", "--compare", tmp_path / "base").output


def test_faster_is_no_regression_and_the_threshold_decides(baseline: Path, tmp_path: Path) -> None:
    write_stack_run(tmp_path / "faster", PATHS, seed=3, latency_factor=0.5)
    assert compare_runs(baseline, tmp_path / "faster").regressions == []
    write_stack_run(tmp_path / "bit-slower", PATHS, seed=3, latency_factor=1.05)
    assert compare_runs(baseline, tmp_path / "bit-slower", threshold_pct=10).regressions == []
    assert {d.metric for d in compare_runs(baseline, tmp_path / "bit-slower", threshold_pct=2).regressions} == \
        set(LATENCIES)
    assert report(tmp_path / "bit-slower", "--compare", baseline, "--threshold", "2").exit_code == 1
    assert report(tmp_path / "bit-slower", "--compare", baseline, "--threshold", "10").exit_code == 0


def test_a_lower_achieved_rate_is_a_regression(baseline: Path, tmp_path: Path) -> None:
    write_stack_run(tmp_path / "short", PATHS, seed=3)
    summary_path = tmp_path / "short" / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["hot_paths"][1]["achieved_rate"] *= 0.8
    summary_path.write_text(json.dumps(summary))
    regressions = compare_runs(baseline, tmp_path / "short").regressions
    assert [(d.hot_path, d.metric) for d in regressions] == [(ORDERS_API.name, "achieved_rate")]
    assert regressions[0].diff_pct == pytest.approx(-20.0, abs=0.01)


def test_hot_paths_on_one_side_only_are_listed(baseline: Path, tmp_path: Path) -> None:
    write_stack_run(tmp_path / "other", [MATCHING, TRACKING], seed=3)
    result = report(tmp_path / "other", "--compare", baseline, "--json")
    payload = json.loads(result.output)
    assert payload["only_in_baseline"] == [f"food_delivery/{ORDERS_API.name}"]
    assert payload["only_in_contender"] == [f"food_delivery/{TRACKING.name}"]
    assert {d["hot_path"] for d in payload["deltas"]} == {MATCHING.name}


def test_suites_are_matched_by_stack_then_hot_path(tmp_path: Path) -> None:
    stacks = {"food_delivery": PATHS, "fleet_telematics": [TRACKING]}
    write_suite_run(tmp_path / "base", stacks, seed=5)
    write_suite_run(tmp_path / "same", stacks, seed=5)
    assert compare_runs(tmp_path / "base", tmp_path / "same").regressions == []
    slow_telematics = tmp_path / "slow"
    write_suite_run(slow_telematics, stacks, seed=5)
    write_stack_run(slow_telematics / "fleet_telematics", [TRACKING], stack="fleet_telematics", seed=6,
                    latency_factor=1.5)
    comparison = compare_runs(tmp_path / "base", slow_telematics)
    assert {(d.stack, d.hot_path) for d in comparison.regressions} == {("fleet_telematics", TRACKING.name)}
    # a single stack's run against a suite: matched to the suite's stack of the same name
    write_stack_run(tmp_path / "single", PATHS, seed=5)
    mixed = compare_runs(tmp_path / "base", tmp_path / "single")
    assert mixed.regressions == [] and mixed.only_in_baseline == ["fleet_telematics"]


def test_runs_of_different_stacks_cannot_be_compared(baseline: Path, tmp_path: Path) -> None:
    write_stack_run(tmp_path / "fleet", [TRACKING], stack="fleet_telematics")
    with pytest.raises(LoadgenError, match="share no stack"):
        compare_runs(baseline, tmp_path / "fleet")


def test_report_without_compare_renders_and_prints_the_path(baseline: Path) -> None:
    result = report(baseline)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(baseline / "report.html")
    assert (baseline / "report.html").stat().st_size > 10_000


@pytest.mark.parametrize("damage, expected", [
    (lambda run: (run / "summary.json").unlink(), r"summary.json: no summary.json here"),
    (lambda run: (run / "summary.json").write_text("{\"run_id\": "), r"summary.json: not readable JSON"),
    (lambda run: (run / "summary.json").write_text(json.dumps({**json.loads((run / "summary.json").read_text()),
                                                                "verdict": "ok"})),
     r"summary.json: \$.verdict: 'ok' is not one of"),
])
def test_bad_input_is_one_line_naming_the_file_and_exit_2(baseline: Path, damage, expected) -> None:
    broken = baseline.parent / "broken"  # outside tmp_path, which conftest checks against the schema
    write_stack_run(broken, PATHS, seed=3)
    damage(broken)
    for args in ((broken,), (baseline, "--compare", broken)):
        result = report(*args)
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ")
        assert str(broken / "summary.json") in lines[0]
        assert re.search(expected, lines[0]), lines[0]


def test_a_missing_run_dir_is_exit_2(tmp_path: Path) -> None:
    result = report(tmp_path / "nowhere")
    assert result.exit_code == 2 and "no such run dir" in result.stderr
