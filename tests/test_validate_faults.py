"""Whatever dies mid-run, `loadgen validate` ends, writes an aborted or failed report whose accounting adds up,
names the cause in one line, exits non-zero and leaves no process of ours running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import redis

from loadgen.run_context import LOCAL_CREDENTIALS, LOCAL_REGION
from loadgen.target.local_target import LocalTarget, _cmdline, group_members

LOADGEN = [str(Path(sys.executable).parent / "loadgen")]
RUN_S = 20


def start_validate(tmp_path: Path, stack: str, state: Path | None = None) -> tuple[subprocess.Popen, Path]:
    """`loadgen validate` on the embedded target in `state` (default: a private folder, the target started for the
    run)."""
    state = state or tmp_path / "state"
    env = {**os.environ, "LOADGEN_STATE_DIR": str(state)}
    process = subprocess.Popen([*LOADGEN, "validate", "--stack", stack, "--env", "dev", "--duration", str(RUN_S),
                                "--out", str(tmp_path / "reports"), "--json"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, state


def wait_until_running(state: Path, process: subprocess.Popen, seconds: float = 90, geo_before: int = 0) -> dict:
    """The embedded target's services, once load flows (its Redis has answered GEO queries of the run: more than
    `geo_before`, the calls it had answered before)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        services = LocalTarget(state).services()
        if (set(services) == {"redis", "moto", "postgres", "api"}
                and _geo_calls(services["redis"].port) > geo_before + 2):
            return services
        time.sleep(0.2)
    raise AssertionError("the run never started sending load")


def _geo_calls(port: int) -> int:
    try:
        stats = redis.Redis(port=port, socket_timeout=2).info("commandstats")
    except redis.RedisError:
        return 0
    return sum(int(v.get("calls", 0)) for k, v in stats.items() if k in ("cmdstat_geosearch", "cmdstat_georadius"))


def finish(process: subprocess.Popen) -> tuple[int, dict, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, json.loads(out), err


def assert_nothing_left(state: Path, services: dict) -> None:
    """No service recorded, and no process in any service's process group (its workers included)."""
    assert not LocalTarget(state).services()
    left = {name: group_members(service.pid) for name, service in services.items() if group_members(service.pid)}
    assert not left, f"processes left in the target's process groups: {left}"


def assert_kinesis_adds_up(summary: dict) -> None:
    accounting = summary["accounting"]
    assert accounting["generated"] == accounting["acknowledged"] + accounting["failed"] + accounting["in_flight"]
    assert accounting["generated"] > 0


def test_sigint_mid_run_writes_an_aborted_report_and_exits_130(tmp_path, local_target):
    """On the shared running target (a target the run started is stopped with it: the kill tests below)."""
    before = _geo_calls(LocalTarget(local_target).services()["redis"].port)
    process, state = start_validate(tmp_path, "food_delivery", local_target)
    services = wait_until_running(state, process, geo_before=before)
    generators = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                  if "generation_process" in _cmdline(pid) and _parent(pid) == process.pid]
    assert generators  # the streams' generation process, a child of the run
    process.send_signal(signal.SIGINT)
    code, summary, err = finish(process)
    assert code == 130
    assert summary["aborted"] is True and summary["abort_reason"] == "stopped by SIGINT"
    assert summary["verdict"] == "fail" and summary["duration_s"] < RUN_S
    assert_kinesis_adds_up(summary)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "stopped by SIGINT" in lines[0]
    assert all(_cmdline(pid) == "" for pid in generators)  # the run's own processes ended with it
    assert LocalTarget(state).services() == services  # a running target is left running, as it was found


@pytest.mark.parametrize("stack, service, cause", [
    ("food_delivery", "redis", "redis"),
    ("fleet_telematics", "moto", "moto"),
    ("food_delivery", "api", "api"),
])
def test_a_service_killed_mid_run_fails_the_run_naming_it(tmp_path, stack, service, cause):
    process, state = start_validate(tmp_path, stack)
    services = wait_until_running(state, process)
    os.killpg(services[service].pid, signal.SIGKILL)
    code, summary, err = finish(process)
    assert code == 1
    assert summary["verdict"] == "fail"
    alive = next(c for c in summary["checks"] if c["name"] == "target alive")
    assert not alive["passed"] and alive["detail"].startswith(f"{service} (127.0.0.1:{services[service].port}")
    assert summary["aborted"] and summary["abort_reason"].startswith(f"stopped when the local target's {service} (")
    assert summary["duration_s"] < RUN_S  # stopped at the death, not pushing at a dead target to the schedule's end
    # the run stops within a second of the death: its operations against the dead service may not have failed yet
    assert all(hp["error_causes"] for hp in summary["hot_paths"] if hp["errors"])
    if "accounting" in summary:
        assert_kinesis_adds_up(summary)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and f"local target's {cause}" in lines[0]
    assert_nothing_left(state, services)


def test_sigterm_mid_push_writes_an_aborted_report_and_exits_143(tmp_path, local_target):
    out = tmp_path / "reports"
    process = subprocess.Popen([*LOADGEN, "push", "kinesis", "--stack", "food_delivery", "--env", "dev", "--duration",
                                str(RUN_S), "--out", str(out), "--json"],
                               env={**os.environ, "LOADGEN_STATE_DIR": str(local_target)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    generators = []
    while time.monotonic() < deadline and process.poll() is None and not generators:
        generators = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                      if "generation_process" in _cmdline(pid) and _parent(pid) == process.pid]
        time.sleep(0.2)
    assert generators, "the push never started generating"
    time.sleep(3)  # records flow for a few seconds before the signal
    process.send_signal(signal.SIGTERM)
    code, summary, err = finish(process)
    assert code == 143
    assert summary["aborted"] is True and summary["abort_reason"] == "stopped by SIGTERM"
    assert summary["verdict"] == "fail" and summary["duration_s"] < RUN_S  # the time it ran, not the schedule
    assert_kinesis_adds_up(summary)
    assert summary["accounting"]["acknowledged"] > 0
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "stopped by SIGTERM" in lines[0]
    assert all(_cmdline(pid) == "" for pid in generators)  # its generation process ended with it


def test_kinesis_load_the_local_target_cannot_take_fails_with_one_line_and_the_counts(tmp_path, local_target):
    """30,000 records/s offered for 2 s: more than the local moto takes; the run says so and fails."""
    process = subprocess.run([*LOADGEN, "push", "kinesis", "--stack", "fleet_telematics", "--env", "dev",
                              "--rate-scale", "1500", "--duration", "2", "--out", str(tmp_path / "reports"), "--json"],
                             env={**os.environ, "LOADGEN_STATE_DIR": str(local_target)}, capture_output=True,
                             text=True, timeout=180)
    assert process.returncode == 1 and "Traceback" not in process.stderr
    summary = json.loads(process.stdout)
    lines = [line for line in process.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and summary["shortfall"] in lines[0]
    assert summary["shortfall"].startswith("the local target sustained ") and "lower --rate-scale" in lines[0]
    short = [c for hp in summary["hot_paths"] if hp.get("kind") == "kinesis_stream" for c in hp["checks"]
             if c["name"] == "stage 0 delivery" and not c["passed"]]
    assert short and all("offered" in c["detail"] for c in short)  # delivered of offered, in counts
    assert_kinesis_adds_up(summary)


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def test_moto_killed_during_a_conditional_write_bench_ends_in_a_failed_report(tmp_path):
    """The final version read-back cannot reach DynamoDB: that is the run's finding, not a traceback."""
    env = {**os.environ, "LOADGEN_STATE_DIR": str(tmp_path / "state")}
    subprocess.run([*LOADGEN, "local", "up"], env=env, check=True, capture_output=True, timeout=180)
    target = LocalTarget(tmp_path / "state")
    services = target.services()
    try:
        process = subprocess.Popen([*LOADGEN, "bench", "ddb", "--stack", "food_delivery", "--env", "dev",
                                    "--duration", "10", "--out", str(tmp_path / "reports"), "--json"],
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, endpoint = target.endpoints()
        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=LOCAL_REGION, **LOCAL_CREDENTIALS)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None and not _items(dynamodb):
            time.sleep(0.2)
        assert _items(dynamodb), "the bench never seeded its hot items"
        time.sleep(1)  # writes contend for a second
        os.killpg(services["moto"].pid, signal.SIGKILL)
        code, summary, err = finish(process)
    finally:
        subprocess.run([*LOADGEN, "local", "down"], env=env, capture_output=True, timeout=120)
    assert code == 1 and "Traceback" not in err
    [hp] = summary["hot_paths"]
    assert hp["verdict"] == "fail" and hp["errors"] > 0 and hp["error_causes"]
    assert any(c["name"] == "driver finish" and not c["passed"] for c in hp["checks"])
    alive = next(c for c in summary["checks"] if c["name"] == "target alive")
    assert not alive["passed"] and alive["detail"].startswith(f"moto (127.0.0.1:{services['moto'].port}")
    assert (tmp_path / "reports" / summary["run_id"] / "summary.json").is_file()
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "local target's moto" in lines[0]
    assert_nothing_left(tmp_path / "state", services)


def _items(dynamodb) -> int:
    """Items in the local DynamoDB's tables (0 when it does not answer)."""
    try:
        return sum(dynamodb.scan(TableName=name, Select="COUNT")["Count"]
                   for name in dynamodb.list_tables()["TableNames"])
    except Exception:  # noqa: BLE001 - not up yet, or already gone
        return 0
