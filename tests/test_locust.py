"""`loadgen locust` against the shared local target: headless runs write validate's report with the exact
(merged-HDR) percentiles beside Locust's own, the verdict is the process's exit code, a master merges its
workers' histograms exactly, and the locustfiles load in a real Locust process without the gevent import trap."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import redis
from hdrh.histogram import HdrHistogram

from loadgen.drive.ramp import RampPlan, peak_rate
from loadgen.edge_context import build_context
from loadgen.hot_paths import hot_paths
from loadgen.locust import LOCUSTFILE, SHAPES
from loadgen.locust.run import stage_users
from loadgen.profiles import load_profile
from loadgen.target.local_target import free_port
from summary_checks import assert_summaries_valid

REPO = Path(__file__).resolve().parents[1]
LOADGEN = [str(Path(sys.executable).with_name("loadgen"))]
FORBIDDEN = ("boto3", "botocore", "aiobotocore")


def loadgen_locust(tmp_path: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([*LOADGEN, "locust", "--stack", "food_delivery", "--env", "dev", "--out", str(tmp_path),
                           *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def stats_rows(prefix: Path, name: str = "orders_api") -> list[dict]:
    with open(f"{prefix}_stats.csv") as handle:
        return [r for r in csv.DictReader(handle) if r["Name"] == name]


def only_run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if (p / "summary.json").exists()]
    return run_dir


def failed_checks(out: Path) -> str:
    """What failed in the run dirs' summaries (for an assertion's message)."""
    lines = []
    for path in out.glob("*/summary.json"):
        for hp in json.loads(path.read_text())["hot_paths"]:
            lines += [f"{hp['name']}: {c['name']}: {c['detail']}" for c in hp.get("checks", []) if not c["passed"]]
            lines += [f"{hp['name']}: {a['name']} fires" for a in hp.get("alarms", []) if a.get("fires")]
    return "\n".join(["", *lines])


def test_each_locustfile_loads_in_a_real_locust_process_without_an_aws_client():
    for locustfile in (LOCUSTFILE, SHAPES):
        listed = subprocess.run([sys.executable, "-m", "locust", "-f", f"{LOCUSTFILE},{locustfile}", "--list"],
                                capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert "HotPathUser" in listed.stdout and "RecursionError" not in listed.stderr
    probe = ("import locust, runpy, sys; runpy.run_path(sys.argv[1]); runpy.run_path(sys.argv[2]); "
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))")
    imported = subprocess.run([sys.executable, "-c", probe, str(LOCUSTFILE), str(SHAPES)], capture_output=True,
                              text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def food_headless(local_target, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """One headless food_delivery dev run (every hot path a Locust user drives there), read by several tests: its
    process and its --out folder."""
    out = tmp_path_factory.mktemp("food_headless")
    done = loadgen_locust(out, "--users-at-peak", "4", "--", "--headless", "-u", "8", "-r", "8", "-t", "6s",
                          "--csv", str(out / "locust"), "--only-summary")
    return done, out


def test_headless_run_writes_validate_report_with_exact_percentiles_beside_locusts(food_headless):
    done, tmp_path = food_headless
    assert done.returncode == 0, done.stderr[-2000:]
    assert_summaries_valid(tmp_path)  # (the module's run is not in this test's tmp_path, which conftest checks)
    run_dir = only_run_dir(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["kind"] == "validate" and summary["driver"] == "locust" and summary["verdict"] == "pass"
    (api,) = [hp for hp in summary["hot_paths"] if hp["kind"] == "api_route"]
    histogram = HdrHistogram.decode((run_dir / "histograms" / "orders_api.hdr").read_text().strip().encode())
    assert api["ops"] == histogram.get_total_count() > 0
    assert api["latency_ms"]["p99"] == round(histogram.get_value_at_percentile(99.0) / 1000.0, 3)
    assert api["locust"]["requests"] == api["ops"] and api["locust"]["failures"] == 0
    assert len(stats_rows(tmp_path / "locust")) == 1  # Locust's CSVs (refreshed each second: not compared)
    assert summary["duration_s"] == pytest.approx(6.0, abs=1.0)
    assert api["status_counts"]["2xx"] == api["ops"] and api["errors"] == 0
    assert api["alarm"]["metric"] == "Latency" and api["alarm"]["observed"] == api["latency_ms"]["p99"]
    html = (run_dir / "report.html").read_text()
    assert "Locust&#x27;s percentiles beside the exact ones" in html or "Locust's percentiles beside" in html
    assert "Locust (its own stats, service time)" in html and "merged HdrHistograms" in html
    (geo,) = [hp for hp in summary["hot_paths"] if hp["kind"] == "redis_geo"]
    geo_histogram = HdrHistogram.decode((run_dir / "histograms" / f"{geo['name']}.hdr").read_text().strip().encode())
    assert geo["ops"] == geo_histogram.get_total_count() == geo["locust"]["requests"] > 0 and geo["errors"] == 0
    assert geo["alarm"]["metric"] == "GeoSpatialBasedCmdsLatency" and geo["alarm"]["unit"] == "us"
    assert geo["alarm"]["observed_as"].startswith("the server's own microseconds per GEO command")
    assert 0 < geo["alarm"]["observed"] < geo_histogram.get_mean_value()  # the server's time, within the round trip
    assert {hp["kind"] for hp in summary["hot_paths"] if hp["verdict"] != "not-run"} == {
        "api_route", "redis_geo", "kinesis_stream", "lambda_core", "ddb_conditional_write"}  # every kind food
    # delivery declares (the matching core and the conditional write: the next test)
    key = orders_api_key()
    assert key and all(key.encode() not in f.read_bytes() for f in tmp_path.rglob("*") if f.is_file())
    assert key not in done.stdout + done.stderr


def test_kinesis_streams_are_pushed_by_one_user_with_every_record_accounted(local_target, tmp_path):
    done = subprocess.run([*LOADGEN, "locust", "--stack", "fleet_telematics", "--env", "dev", "--out", str(tmp_path),
                           "--users-at-peak", "1", "--", "--headless", "--processes", "2", "-u", "2", "-r", "2",
                           "-t", "8s"], capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr[-2000:]
    run_dir = only_run_dir(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    streams = [hp for hp in summary["hot_paths"] if hp["kind"] == "kinesis_stream"]
    assert {hp["name"] for hp in streams} == {p.name for p in hot_paths("fleet_telematics")
                                              if p.kind == "kinesis_stream"} == {"gps_stream", "diagnostics_stream",
                                                                                "hos_stream"}
    accounting = summary["accounting"]
    for hp in streams:
        histogram = HdrHistogram.decode((run_dir / "histograms" / f"{hp['name']}.hdr").read_text().strip().encode())
        assert hp["failed"] == 0
        assert histogram.get_total_count() == hp["acknowledged"] == hp["ops"]
        assert hp["generated"] == hp["acknowledged"] + hp["failed"] + hp["in_flight"]
        assert accounting["per_stream"][hp["name"].removesuffix("_stream")] == {
            k: hp[k] for k in ("generated", "acknowledged", "failed", "in_flight")}
        assert hp["locust"]["requests"] == hp["put_records_calls"] and hp["locust"]["failures"] == 0
        assert sorted(hp["ops_per_worker"]) == [0, hp["ops"]]  # one KinesisUser in the test: no record sent twice
    assert accounting["generated"] == accounting["acknowledged"] + accounting["failed"] + accounting["in_flight"]
    assert accounting["generated"] == sum(hp["generated"] for hp in streams)
    assert accounting["acknowledged"] > 0  # (the fleet model takes its first second or two, and a busy machine
    # may starve the idle-priority generation process, so not every stream is asked to have delivered)
    ours = f"{Path(sys.executable).parent}/python -c from loadgen.drive.generation_process"
    left = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert not [line for line in left.splitlines() if line.startswith(ours)], left


def orders_api_key() -> str:
    """The x-api-key the users send on POST /orders (on the running local target)."""
    from loadgen.drive.api_requests import client_headers
    from loadgen.edge_context import build_context
    from loadgen.tf.api_routes import rest_api

    ctx = build_context("food_delivery", "dev", "local", None, "test", False, needs_api=True)
    api = rest_api(ctx.resolved)
    return client_headers(ctx, api, api.by_key("POST /orders"))["x-api-key"]


def test_a_headless_run_drives_the_matching_core_and_the_conditional_write_as_validate_accounts_them(
        food_headless):
    done, tmp_path = food_headless
    assert done.returncode == 0, done.stderr[-2000:]
    run_dir = only_run_dir(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    paths = {hp["name"]: hp for hp in summary["hot_paths"]}
    matching, writes = paths["driver_matching"], paths["assignment_write"]
    for hp, request_type in ((matching, "MATCH"), (writes, "UpdateItem")):
        assert hp["verdict"] == "pass" and hp["ops"] > 0 and hp["errors"] == 0, hp
        histogram = HdrHistogram.decode((run_dir / "histograms" / f"{hp['name']}.hdr").read_text().strip().encode())
        assert histogram.get_total_count() == hp["ops"] == hp["locust"]["requests"]
        assert hp["locust"]["failures"] == 0 and request_type in done.stdout + done.stderr  # Locust's own table
        assert "finish_error" not in hp and all(check["passed"] for check in hp["checks"]), hp["checks"]
    assert matching["assigned"] + matching["unassigned"] == matching["ops"] and matching["assigned"] > 0
    assert matching["alarm"]["metric"] == "Duration"
    assert writes["attempted_writes"] == writes["ops"]
    assert writes["attempted_writes"] == (writes["successful_writes"] + writes["conditional_failures"]
                                          + writes["write_errors"])
    assert writes["lost_updates"] == 0 and writes["unconfirmed_writes"] == 0 and writes["read_errors"] == 0
    assert writes["conditional"] and writes["table"] == "food-delivery-dev-orders" and writes["items"] == 256
    (failed_alarm,) = [a for a in writes["alarms"] if a["metric"] == "ConditionalCheckFailedRequests"]
    assert failed_alarm["observed"] is not None and not failed_alarm["fires"]
    assert summary["verdict"] == "pass"
    assert not [hp["name"] for hp in summary["hot_paths"] if hp["verdict"] == "not-run"]


def test_bad_input_is_one_line_and_exit_2(local_target, tmp_path):
    unknown_env = loadgen_locust(tmp_path, "--env", "nope", "--", "--headless", "-t", "1s")
    assert unknown_env.returncode == 2 and len(unknown_env.stderr.strip().splitlines()) == 1, unknown_env.stderr
    no_stack = subprocess.run([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-t", "1s"],
                              capture_output=True, text=True, timeout=60)
    assert no_stack.returncode == 2 and "Traceback" not in no_stack.stderr
    assert no_stack.stderr.strip().splitlines()[-1].startswith("error: loadgen's locustfile needs --stack")


def test_a_candidate_whose_threshold_is_below_the_measured_p99_exits_1(local_target, tmp_path):
    shipped = (REPO / "terraform" / "food_delivery" / "dev.tfvars").read_text()
    assert "api_latency_p99_threshold_ms                  = 1500" in shipped
    candidate = tmp_path / "tight.tfvars"
    candidate.write_text(shipped.replace("api_latency_p99_threshold_ms                  = 1500",
                                         "api_latency_p99_threshold_ms                  = 1"))
    done = loadgen_locust(tmp_path, "--tfvars", str(candidate), "--users-at-peak", "4", "--", "--headless", "-u", "4",
                          "-r", "4", "-t", "3s")
    assert done.returncode == 1, done.stderr[-2000:]
    summary = json.loads((only_run_dir(tmp_path) / "summary.json").read_text())
    (api,) = [hp for hp in summary["hot_paths"] if hp["kind"] == "api_route"]
    assert summary["verdict"] == api["verdict"] == "fail" and summary["tfvars"] == str(candidate.resolve())
    assert api["alarm"]["threshold"] == 1 and api["alarm"]["observed"] == api["latency_ms"]["p99"] > 1


def test_the_shape_sets_users_stage_by_stage_as_the_profile_says():
    plan = RampPlan.from_profile(load_profile("food_delivery", "dev"))  # 10 s x 0.25, 10 s x 0.5, 20 s x 1, 10 s x 1.25
    at = [0, 9.9, 10, 19.9, 20, 39.9, 40, 49.9, 50]
    assert [stage_users(plan, 20, t) for t in at] == [5, 5, 10, 10, 20, 20, 25, 25, None]
    half = RampPlan.from_profile(load_profile("food_delivery", "dev"), 25.0)
    assert [stage_users(half, 8, t) for t in (0, 5.1, 10.1, 20.1, 25)] == [2, 4, 8, 10, None]


def test_a_shape_run_follows_the_stages_in_users_and_offered_rate(local_target, tmp_path):
    done = loadgen_locust(tmp_path, "--shape", "--ramp-duration", "12", "--users-at-peak", "8", "--rate-scale", "4",
                          "--", "--headless", "--csv", str(tmp_path / "locust"), "--csv-full-history")
    assert done.returncode == 1, done.stderr[-2000:]  # 4x dev's orders rate is over its IncomingRecords alarm (1.5x)
    with open(tmp_path / "locust_stats_history.csv") as handle:
        counts = [int(r["User Count"]) for r in csv.DictReader(handle) if r["Name"] == "Aggregated"]
    stages = iter(counts)
    # HotPathUsers 2, 4, 8, 10 (in this order), plus the one KinesisUser
    assert all(any(n == want + 1 for n in stages) for want in (2, 4, 8, 10)), counts
    assert max(counts) == 11
    summary = json.loads((only_run_dir(tmp_path) / "summary.json").read_text())
    assert {hp["name"] for hp in summary["hot_paths"] if hp["verdict"] == "fail"} == {"orders_stream"}
    (orders,) = [hp for hp in summary["hot_paths"] if hp["name"] == "orders_stream"]
    assert orders["alarm"]["metric"] == "IncomingRecords" and orders["alarm"]["observed"] > orders["alarm"]["threshold"]
    assert [s["rate_fraction"] for s in summary["stages"]] == [0.25, 0.5, 1.0, 1.25]
    # the HotPathUsers' hot paths together (each user is dealt one of the four: one path's share moves in steps)
    dealt = [hp for hp in summary["hot_paths"] if hp["kind"] != "kinesis_stream"]
    assert {hp["kind"] for hp in dealt} == {"api_route", "redis_geo", "lambda_core", "ddb_conditional_write"}
    offered = [sum(hp["stages"][k]["target_rate"] for hp in dealt) for k in range(4)]
    assert offered == sorted(offered) and offered[0] > 0, offered
    ctx = build_context("food_delivery", "dev", "local", tmp_path, "locust", False)
    peak = 4 * sum(peak_rate(ctx, path) for path in ctx.hot_paths if path.name in {hp["name"] for hp in dealt})
    # Locust ticks a shape once a second, and each new user sends its first request as it starts
    assert abs(offered[2] - peak) < 0.35 * peak, (offered, peak)


def test_a_master_merges_its_two_workers_histograms_exactly(local_target, tmp_path):
    done = loadgen_locust(tmp_path, "--users-at-peak", "2", "--", "--headless", "--processes", "2", "-u", "6", "-r",
                          "6", "-t", "4s", "--csv", str(tmp_path / "locust"))
    assert done.returncode in (0, 1), done.stderr[-2000:]  # the verdict is not what this test is about: a busy
    # machine can starve the streams' generation process (it runs at idle priority) and fail their delivery
    run_dir = only_run_dir(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    driven = [hp for hp in summary["hot_paths"] if hp["kind"] in ("api_route", "redis_geo")]
    assert {hp["name"] for hp in driven} == {"orders_api", "driver_geo_search"}
    for hp in driven:
        histogram = HdrHistogram.decode((run_dir / "histograms" / f"{hp['name']}.hdr").read_text().strip().encode())
        assert len(hp["ops_per_worker"]) == 2 and sum(hp["ops_per_worker"]) > 0
        assert histogram.get_total_count() == sum(hp["ops_per_worker"]) == hp["ops"] == hp["locust"]["requests"]
    assert summary["processes"] == 2


def spawned(log: str) -> bool:
    """The master's log says the users are spawned (on a busy machine the workers' reports may come after its
    wait for them, and it says so instead)."""
    return "All users spawned" in log or "Spawning is complete" in log


def test_a_signal_ends_a_distributed_test_with_its_report_marked_aborted_and_no_process_left(local_target, tmp_path):
    log = tmp_path / "locust.log"
    with open(log, "w") as output:
        process = subprocess.Popen([*LOADGEN, "locust", "--stack", "food_delivery", "--env", "dev", "--out",
                                    str(tmp_path), "--users-at-peak", "2", "--", "--headless", "--processes", "2",
                                    "-u", "4", "-r", "4", "-t", "60s"], stdout=output, stderr=subprocess.STDOUT,
                                   env=os.environ.copy(), start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while not spawned(log.read_text()):
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.3)
            time.sleep(2)
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=60) == 1, log.read_text()[-2000:]
        finally:
            if process.poll() is None:  # the test failed: nothing is left behind
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    summary = json.loads((only_run_dir(tmp_path) / "summary.json").read_text())
    assert summary["aborted"] and summary["verdict"] == "fail" and "signal" in summary["abort_reason"]
    (api,) = [hp for hp in summary["hot_paths"] if hp["kind"] == "api_route"]
    assert api["ops"] > 0 and len(api["ops_per_worker"]) == 2 and api["ops"] == api["locust"]["requests"]
    left = subprocess.run(["pgrep", "-f", "--", f"--out {tmp_path}"], capture_output=True, text=True)
    assert left.returncode == 1 and left.stdout == "", left.stdout + left.stderr  # 1: no process matched


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read()) if "json" in response.headers.get("content-type", "") else response.read()


def _chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="loadgen-chromium-") as profile:
        return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--disable-background-networking", "--disable-component-update", "--disable-sync",
                               f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=60)


def test_the_web_ui_starts_a_test_and_its_verdict_tab_shows_every_hot_path_and_threshold(local_target, tmp_path):
    port = free_port()
    web = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([*LOADGEN, "locust", "--stack", "food_delivery", "--env", "dev", "--out", str(tmp_path),
                                "--users-at-peak", "2", "--", "--web-host", "127.0.0.1", "--web-port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy(),
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                before = _get(f"{web}/loadgen/verdict")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the web UI did not start"
                time.sleep(0.3)
        request = urllib.request.Request(f"{web}/swarm", data=b"user_count=6&spawn_rate=6", method="POST")
        assert json.loads(urllib.request.urlopen(request, timeout=10).read())["success"]
        time.sleep(5)
        live = _get(f"{web}/loadgen/verdict")
        tab_rows = next(e["data"] for e in _get(f"{web}/stats/requests")["extended_stats"] if e["key"] == "verdict")
        if CHROMIUM:
            shot = tmp_path / "verdict-tab.png"
            _chromium(f"--screenshot={shot}", "--window-size=1400,900", "--virtual-time-budget=4000",
                      f"{web}/?tab=verdict")
            dom = _chromium("--dump-dom", "--virtual-time-budget=4000", f"{web}/?tab=verdict").stdout
        urllib.request.urlopen(urllib.request.Request(f"{web}/stop", method="POST"), timeout=30).read()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output = process.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:  # a Locust that ignores SIGINT: the test fails, nothing is left behind
            # (Locust runs in a session of its own, holding this test's pipe: every process of the run is killed)
            os.killpg(process.pid, signal.SIGKILL)
            subprocess.run(["pkill", "-KILL", "-f", "--", f"--out {tmp_path}"], check=False)
            output = process.communicate(timeout=30)[0] + "\n(Locust did not exit within 60 s of SIGINT)"
    assert process.returncode == 0, output[-2000:] + failed_checks(tmp_path)
    declared = [p.name for p in hot_paths("food_delivery") for _ in p.alarms]  # a row per driven hot path and
    # guarding alarm (every hot path of food_delivery is driven)
    assert set(declared) == {"orders_stream", "locations_stream", "orders_api", "driver_geo_search",
                             "driver_matching", "assignment_write"}
    for verdict in (before, live):
        assert [r["hot_path"] for r in verdict["rows"]] == declared
        assert all(isinstance(r["threshold"], (int, float)) for r in verdict["rows"])
        assert verdict["breaks_first"]
    assert all(r["ops"] == 0 for r in before["rows"]) and all(r["ops"] > 0 for r in live["rows"])
    latency = next(r for r in live["rows"] if r["alarm"].endswith("latency-p99"))
    assert latency["p99_ms"] == latency["observed"] and latency["margin"].endswith("%")
    assert [r["hot_path"] for r in tab_rows] == declared
    if CHROMIUM:
        assert shot.is_file() and shot.stat().st_size > 20_000
        for name, alarm, threshold in (("orders_api", "food-delivery-dev-api-latency-p99", 1500),
                                       ("driver_geo_search", "food-delivery-dev-redis-geo-latency", 2000)):
            assert name in dom and alarm in dom and f">{threshold}<" in dom
    summary = json.loads((only_run_dir(tmp_path) / "summary.json").read_text())
    assert summary["driver"] == "locust" and summary["verdict"] == "pass"


def test_a_plain_locust_f_prepares_the_local_target_as_loadgen_locust_does(local_target, tmp_path):
    from loadgen.cli.common import build_context
    from loadgen.drive.geo_bench import workload

    ctx = build_context("food_delivery", "dev", "local", tmp_path, "locust", False, needs_api=True)
    members = {key: len(ids) for key, (_, _, ids) in workload(ctx).members.items()}
    client = redis.Redis.from_url(ctx.target.redis_url)
    client.delete(*members)  # as on a target no loadgen run has prepared
    done = subprocess.run([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--stack", "food_delivery", "--env",
                           "dev", "--out", str(tmp_path), "--users-at-peak", "2", "--headless", "-u", "5", "-r", "5",
                           "-t", "3s"], capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert {key: client.zcard(key) for key in members} == members
    summary = json.loads((only_run_dir(tmp_path) / "summary.json").read_text())
    assert next(hp for hp in summary["hot_paths"] if hp["name"] == "driver_geo_search")["ops"] > 0


def test_a_route_that_writes_a_table_gets_the_table_writes_check_as_in_validate(local_target, tmp_path):
    done = subprocess.run([*LOADGEN, "locust", "--stack", "task_api", "--env", "dev", "--out", str(tmp_path),
                           "--users-at-peak", "2", "--", "--headless", "-u", "4", "-r", "4", "-t", "4s"],
                          capture_output=True, text=True, timeout=90, env=os.environ.copy())
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr[-2000:]
    summary = json.loads((only_run_dir(tmp_path) / "summary.json").read_text())
    (route,) = [hp for hp in summary["hot_paths"] if hp["kind"] == "api_route"]
    writes = route["table_writes"]
    assert writes["table"] == "tap-task-api-dev-tasks" and writes["routes"] == ["POST /tasks"]
    assert writes["new_items"] == writes["answered_2xx"] == route["status_counts"]["2xx"] > 0
    check = next(c for c in route["checks"] if c["name"] == "table writes")
    assert check["passed"], check


def test_a_scenario_run_sends_the_scenarios_peak_and_records_it(local_target, tmp_path):
    unknown = loadgen_locust(tmp_path, "--scenario", "heatwave", "--", "--headless", "-t", "1s")
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1, unknown.stderr
    assert "food_delivery/dev.toml" in unknown.stderr and "game_night" in unknown.stderr
    done = loadgen_locust(tmp_path, "--scenario", "game_night", "--users-at-peak", "4", "--", "--headless", "-u", "4",
                          "-r", "4", "-t", "4s")
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr[-2000:]  # (the streams'
    # delivery in a 4 s test is not what this test is about)
    summary = json.loads((only_run_dir(tmp_path) / "summary.json").read_text())
    assert summary["scenario"] == summary["config"]["scenario"] == "game_night"
    (api,) = [hp for hp in summary["hot_paths"] if hp["kind"] == "api_route"]
    peaks = {s: sum(d.peak_rps for d in load_profile("food_delivery", "dev", scenario=s).demand()
                    if d.name == "POST /orders") for s in (None, "game_night")}
    assert peaks["game_night"] > 2 * peaks[None]
    assert abs(api["achieved_rate"] - peaks["game_night"]) < 0.35 * peaks["game_night"], (api["achieved_rate"], peaks)
