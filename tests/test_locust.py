"""`loadgen locust` against the shared local target: headless runs write validate's report with the exact
(merged-HDR) percentiles beside Locust's own, the verdict is the process's exit code, a master merges its
workers' histograms exactly, and the locustfiles load in a real Locust process without the gevent import trap."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from loadgen.locust import LOCUSTFILE, SHAPES

REPO = Path(__file__).resolve().parents[1]
LOADGEN = [str(Path(sys.executable).with_name("loadgen"))]
FORBIDDEN = ("boto3", "botocore", "aiobotocore")


def loadgen_locust(tmp_path: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([*LOADGEN, "locust", "--stack", "food_delivery", "--env", "dev", "--out", str(tmp_path),
                           *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def only_run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if (p / "summary.json").exists()]
    return run_dir


def test_each_locustfile_loads_in_a_real_locust_process_without_an_aws_client():
    for locustfile in (LOCUSTFILE, SHAPES):
        listed = subprocess.run([sys.executable, "-m", "locust", "-f", f"{LOCUSTFILE},{locustfile}", "--list"],
                                capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert "ApiRouteUser" in listed.stdout and "RecursionError" not in listed.stderr
    probe = ("import locust, runpy, sys; runpy.run_path(sys.argv[1]); runpy.run_path(sys.argv[2]); "
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))")
    imported = subprocess.run([sys.executable, "-c", probe, str(LOCUSTFILE), str(SHAPES)], capture_output=True,
                              text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "[]"


def test_headless_run_writes_validate_report_with_exact_percentiles_beside_locusts(local_target, tmp_path):
    done = loadgen_locust(tmp_path, "--users-at-peak", "4", "--", "--headless", "-u", "8", "-r", "8", "-t", "6s",
                          "--csv", str(tmp_path / "locust"), "--only-summary")
    assert done.returncode == 0, done.stderr[-2000:]
    run_dir = only_run_dir(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["kind"] == "validate" and summary["driver"] == "locust" and summary["verdict"] == "pass"
    (api,) = [hp for hp in summary["hot_paths"] if hp["kind"] == "api_route"]
    histogram = HdrHistogram.decode((run_dir / "histograms" / "orders_api.hdr").read_text().strip().encode())
    assert api["ops"] == histogram.get_total_count() > 0
    assert api["latency_ms"]["p99"] == round(histogram.get_value_at_percentile(99.0) / 1000.0, 3)
    with open(tmp_path / "locust_stats.csv") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "orders_api")
    assert int(row["Request Count"]) == api["locust"]["requests"] == api["ops"]
    assert api["status_counts"]["2xx"] == api["ops"] and api["errors"] == 0
    assert api["alarm"]["metric"] == "Latency" and api["alarm"]["observed"] == api["latency_ms"]["p99"]
    html = (run_dir / "report.html").read_text()
    assert "Locust&#x27;s percentiles beside the exact ones" in html or "Locust's percentiles beside" in html
    assert "Locust (its own stats, service time)" in html and "merged HdrHistograms" in html
    assert {hp["verdict"] for hp in summary["hot_paths"] if hp["kind"] != "api_route"} == {"not-run"}
