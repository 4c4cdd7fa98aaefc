"""The notebooks' run loader (loadgen.report.runs_frame): run dirs -> DataFrames with the summary's keys per hot
path and per stage, histograms -> percentile spectrum, on small runs recorded in real HdrHistograms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from loadgen.errors import LoadgenError
from loadgen.measure.recorder import HotPathRecorder
from loadgen.report.runs_frame import hot_paths_frame, spectrum_frame, stages_frame
from run_dirs import MATCHING, ORDERS_API, TRACKING, write_stack_run, write_suite_run


def _histogram(run_dir: Path, entry: dict):
    encoded = (run_dir / "histograms" / f"{entry['name']}.hdr").read_text().strip()
    return HotPathRecorder.decode(entry["name"], encoded, entry["ops"], entry["errors"]).histogram


def test_one_row_per_hot_path_with_the_summarys_keys(tmp_path: Path) -> None:
    summary = write_stack_run(tmp_path / "run", [MATCHING, ORDERS_API], seed=4)
    frame = hot_paths_frame(tmp_path / "run").set_index("name")
    assert list(frame.index) == [MATCHING.name, ORDERS_API.name]
    for entry in summary["hot_paths"]:
        row = frame.loc[entry["name"]]
        assert (row["run_id"], row["stack"], row["env"]) == ("run", summary["stack"], "dev")
        for key in ("kind", "ops", "errors", "target_rate", "achieved_rate", "verdict"):
            assert row[key] == entry[key]
        for key, value in entry["latency_ms"].items():
            assert row[f"latency_ms.{key}"] == value
        assert row["status_counts.5xx"] == entry["status_counts"]["5xx"]
    assert frame.loc[MATCHING.name, "alarm.threshold"] == MATCHING.threshold_ms
    assert np.isnan(frame.loc[ORDERS_API.name, "alarm.threshold"])  # no alarm guards it
    assert not {"stages", "timeline", "checks"} & set(frame.columns)


def test_a_suite_and_a_stack_run_are_read_together(tmp_path: Path) -> None:
    write_suite_run(tmp_path / "suite", {"food_delivery": [MATCHING], "fleet_telematics": [TRACKING]}, seed=2)
    write_stack_run(tmp_path / "single", [ORDERS_API], seed=2)
    frame = hot_paths_frame([tmp_path / "suite", str(tmp_path / "single")])
    assert list(zip(frame["run_id"], frame["stack"], frame["name"])) == [
        ("food_delivery", "food_delivery", MATCHING.name), ("fleet_telematics", "fleet_telematics", TRACKING.name),
        ("single", "food_delivery", ORDERS_API.name)]
    assert frame["run_dir"].iloc[1] == str(tmp_path / "suite" / "fleet_telematics")


def test_one_row_per_stage(tmp_path: Path) -> None:
    summary = write_stack_run(tmp_path / "run", [MATCHING, TRACKING], seed=5)
    frame = stages_frame(tmp_path / "run")
    expected = [(e["name"], s) for e in summary["hot_paths"] for s in e["stages"]]
    assert len(frame) == len(expected) == 4
    for (_, row), (name, stage) in zip(frame.iterrows(), expected):
        assert row["hot_path"] == name
        for key in ("index", "start_s", "duration_s", "target_rate", "achieved_rate", "ops", "errors"):
            assert row[key] == stage[key]
        assert row["latency_ms.p99"] == stage["latency_ms"]["p99"]


def test_the_spectrum_is_read_from_the_histogram(tmp_path: Path) -> None:
    summary = write_stack_run(tmp_path / "run", [MATCHING, ORDERS_API], seed=6)
    frame = spectrum_frame(tmp_path / "run", points=161)
    assert set(frame["hot_path"]) == {MATCHING.name, ORDERS_API.name}
    for entry in summary["hot_paths"]:
        spectrum = frame[frame["hot_path"] == entry["name"]]
        histogram = _histogram(tmp_path / "run", entry)
        assert len(spectrum) == 161 and spectrum["percentile"].iloc[0] == 0.0
        assert spectrum["percentile"].iloc[-1] == pytest.approx(99.99)
        assert spectrum["latency_ms"].is_monotonic_increasing
        for percentile in (90.0, 99.0, 99.9):  # 1, 2 and 3 nines are points of the spectrum
            value = spectrum.loc[np.isclose(spectrum["percentile"], percentile), "latency_ms"].item()
            assert value == histogram.get_value_at_percentile(percentile) / 1000.0
        p99 = spectrum.loc[np.isclose(spectrum["percentile"], 99.0), "latency_ms"].item()
        assert p99 == pytest.approx(entry["latency_ms"]["p99"], abs=1e-3)
        assert spectrum["latency_ms"].max() <= entry["latency_ms"]["max"]


def test_a_run_without_histograms_has_no_spectrum(tmp_path: Path) -> None:
    write_stack_run(tmp_path / "run", [MATCHING], seed=1)
    for hdr in (tmp_path / "run" / "histograms").iterdir():
        hdr.unlink()
    assert spectrum_frame(tmp_path / "run").empty
    assert len(hot_paths_frame(tmp_path / "run")) == 1


def test_a_bad_run_dir_is_one_loadgen_error(tmp_path: Path) -> None:
    with pytest.raises(LoadgenError, match="no such run dir"):
        hot_paths_frame(tmp_path / "nowhere")
    broken = tmp_path.parent / f"{tmp_path.name}-broken"  # outside tmp_path, which conftest checks
    write_stack_run(broken, [MATCHING])
    (broken / "summary.json").write_text(json.dumps({"run_id": "x"}))
    with pytest.raises(LoadgenError, match="summary.json"):
        stages_frame(broken)
