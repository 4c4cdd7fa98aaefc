"""The API half of `loadgen bench harness`, and `loadgen bench locust-ceiling`: the highest open-loop request
rate the API driver sustains on one core, beside Locust's FastHttpUser on the same core and server.

Where it sits: the API driver's own path (drive.scheduler's open loop, drive.http_client's pool, HDR recording:
what `loadgen push api` sends with) against an HTTP server in its own process: for the harness, a fast local
server on the other core, nginx (`return 200`) when it is on PATH, else target.http_sink; for locust-ceiling,
the local target's API Gateway emulator on its cheapest route (its health route: no key, no validation, no
handler), so the figures are what one Locust worker process and the API driver each get out of the emulator
the stacks' routes are measured on. A rate is sustained when, over `seconds` of it, fewer than 1% of the
requests started late, p99 (from the intended start) is under 5 ms and nothing failed; the search doubles the
rate until one fails, then bisects. Locust runs headless (FastHttpUser, `users` users, no wait: one process,
which is what each Locust worker is) pinned to the measured core against the same server and path; its
requests/s are read from its own CSV stats. `api_over_locust` is the driver's sustained open-loop rate over
Locust's closed-loop throughput. Printed, never asserted.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from loadgen.bench.push_ceiling import pinned_to
from loadgen.drive.http_client import HttpPool
from loadgen.drive.scheduler import frozen_heap, run_open_loop
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.target.children import stop_child
from loadgen.target.api_emulator import HEALTH_PATH
from loadgen.target.http_sink import start_http_sink
from loadgen.target.local_target import free_port

LATE_LIMIT = 0.01
P99_LIMIT_MS = 5.0
CONNECTIONS = 256
LOCUSTFILE = textwrap.dedent("""\
    from locust import FastHttpUser, constant, task


    class Sink(FastHttpUser):
        wait_time = constant(0)

        @task
        def hit(self):
            self.client.get({path!r})
    """)


async def open_loop_step(url: str, rate: float, seconds: float, path: str = "/") -> dict:
    """`rate` requests/s of GET `path` for `seconds`, open loop: late fraction, p99 from the intended start,
    errors."""
    pool = HttpPool(url, CONNECTIONS, {}, 10.0)
    recorder = StagedRecorder("api_ceiling", [0.0], seconds)

    async def get(i: int) -> bool:
        status, _ = await pool.request("GET", path)
        return status == 200

    try:
        with frozen_heap():
            await run_open_loop(get, np.arange(0.0, seconds, 1.0 / rate), recorder, CONNECTIONS)
    finally:
        await pool.close()
    total = recorder.total()
    return {"rate": rate, "late_fraction": recorder.late_starts / max(total.ops, 1),
            "p99_ms": total.latency_ms()["p99"], "errors": total.errors}


def sustained(step: dict) -> bool:
    return step["late_fraction"] < LATE_LIMIT and step["p99_ms"] < P99_LIMIT_MS and step["errors"] == 0


async def open_loop_ceiling(url: str, seconds: float, path: str = "/", start_rate: float = 1000.0,
                            bisections: int = 4) -> dict:
    steps, low, high = [], 0.0, None
    rate = start_rate
    while high is None and rate <= 1_000_000:
        step = await open_loop_step(url, rate, seconds, path)
        steps.append(step)
        if sustained(step):
            low, rate = rate, rate * 2
        else:
            high = rate
    for _ in range(bisections if high is not None else 0):
        rate = round((low + high) / 2)
        step = await open_loop_step(url, rate, seconds, path)
        steps.append(step)
        if sustained(step):
            low = rate
        else:
            high = rate
    return {"sustained_requests_per_s": low, "steps": [{k: round(v, 4) if isinstance(v, float) else v
                                                        for k, v in s.items()} for s in steps]}


def locust_requests_per_s(url: str, seconds: float, users: int, cpu: int | None, path: str = "/") -> float | None:
    """Locust FastHttpUser's throughput against url + path (its CSV's aggregated Requests/s); None if it
    failed."""
    with tempfile.TemporaryDirectory(prefix="loadgen-locust-") as scratch:
        locustfile = Path(scratch) / "locustfile.py"
        locustfile.write_text(LOCUSTFILE.format(path=path))
        prefix = Path(scratch) / "stats"
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(users), "-r", str(users),
             "-t", f"{max(1, round(seconds))}s", "--host", url, "--csv", str(prefix), "--only-summary",
             "--loglevel", "ERROR"],
            capture_output=True, text=True, timeout=seconds + 60, check=False,
            preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None)
        stats = Path(f"{prefix}_stats.csv")
        if not stats.exists():
            return None
        with stats.open() as handle:
            row = next((r for r in csv.DictReader(handle) if r.get("Name") == "Aggregated"), None)
        return float(row["Requests/s"]) if row else None


@contextmanager
def fast_server(cpu: int | None) -> Iterator[tuple[str, str]]:
    """(URL, what it is): nginx answering `return 200` when on PATH, else the instant HTTP sink."""
    port = free_port()
    nginx = shutil.which("nginx")
    if nginx:
        with tempfile.TemporaryDirectory(prefix="loadgen-nginx-") as prefix:
            conf = Path(prefix) / "nginx.conf"
            conf.write_text(textwrap.dedent(f"""\
                worker_processes 1; daemon off; pid {prefix}/nginx.pid; error_log {prefix}/error.log;
                events {{ worker_connections 4096; }}
                http {{ access_log off; keepalive_requests 1000000;
                  server {{ listen 127.0.0.1:{port}; location / {{ return 200 '{{}}'; }} }} }}
                """))
            process = subprocess.Popen([nginx, "-p", prefix, "-c", str(conf)],
                                       preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None)
            try:
                yield f"http://127.0.0.1:{port}", "nginx"
            finally:
                stop_child(process)
        return
    url, process = start_http_sink(port, cpu)
    try:
        yield url, "loadgen http_sink"
    finally:
        stop_child(process)


async def measure_both(url: str, path: str, server: str, measured_cpu: int | None, seconds: float,
                       users: int) -> dict:
    """The API driver's open-loop ceiling and Locust's throughput against the same server and path, one after the
    other on the measured core."""
    with pinned_to(measured_cpu):
        ours = await open_loop_ceiling(url, seconds, path)
    locust = locust_requests_per_s(url, max(seconds, 5.0), users, measured_cpu, path)
    rate = ours["sustained_requests_per_s"]
    return {"server": server, "path": path, "open_loop": ours, "locust_users": users,
            "locust_requests_per_s": locust, "api_over_locust": round(rate / locust, 3) if locust else None,
            "criteria": {"late_fraction_below": LATE_LIMIT, "p99_ms_below": P99_LIMIT_MS}}


async def run_api_ceiling(measured_cpu: int | None, sink_cpu: int | None, seconds: float = 3.0,
                          users: int = 32) -> dict:
    with fast_server(sink_cpu) as (url, server):
        return await measure_both(url, "/", server, measured_cpu, seconds, users)


async def run_locust_ceiling(api_url: str, measured_cpu: int | None, seconds: float = 3.0, users: int = 32) -> dict:
    """Against the local target's API emulator (`api_url`), on its health route."""
    return await measure_both(api_url.rstrip("/"), HEALTH_PATH, "loadgen API Gateway emulator", measured_cpu,
                              seconds, users)
