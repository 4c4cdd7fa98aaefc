"""The worker process of one Lambda function in the local API emulator: its environment, its handler imported once
(the function's init), and each invocation timed around the handler call (Lambda's Duration).

Where it sits: loadgen.target.api_emulator keeps a process pool per function (its packaging, environment and
routing are the emulator's) and runs `init_worker` once in each worker, then `warm` / `invoke` per call. The
workers are forked from a fork server (CONTEXT) that has imported only this module and boto3, so a worker starts
in milliseconds instead of importing the emulator's own modules (aiohttp, the Terraform reader) anew, and the
handler's import is its own modules' (as Lambda's init is). A fork server, not a plain fork: the emulator's
process runs an event loop and threads, which a forked child must not inherit.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
import time
import traceback
import uuid
from typing import Any

from loadgen.paths import REPO_ROOT

KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload([__name__, "boto3"])
"""What the fork server imports before it forks workers (a module missing there is skipped, not an error)."""

_handler: Any = None
_function_name = ""


def init_worker(package_dir: str, environment: dict[str, str], function_name: str) -> None:
    """Runs once in each worker: the function's environment, and its package (then the repo) on sys.path."""
    global _function_name
    for name in list(os.environ):
        if name not in KEPT_ENV:
            del os.environ[name]
    os.environ.update(environment)
    sys.path[:0] = [package_dir, str(REPO_ROOT)]
    _function_name = function_name


class _Context:
    """The Lambda context object handlers may read."""

    def __init__(self, function_name: str, deadline: float):
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 0
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _load(handler: str) -> Any:
    """The handler function, imported once per worker (its module's top level is the Lambda's init)."""
    global _handler
    if _handler is None:
        module, function = handler.rsplit(".", 1)
        _handler = getattr(importlib.import_module(module), function)
    return _handler


def warm(handler: str) -> None:
    """Warm-up: import the handler before the measured run, as Lambda's init runs before a container's first
    request; an import that fails is left to the first request, which answers 502 with the error."""
    try:
        _load(handler)
    except Exception:  # noqa: BLE001 - reported by the request that meets it
        pass


def invoke(handler: str, event: dict, timeout_s: float) -> tuple[str, Any, float]:
    """Import (once) and call the handler: ("ok", response, duration_s) or ("error", {"errorType",
    "errorMessage"}, duration_s), traceback to the log. The duration is the handler call's alone, on this process's
    perf_counter (as Lambda's Duration, it leaves out the import, which is the function's init)."""
    started = None
    try:
        function = _load(handler)
        started = time.perf_counter()
        response = function(event, _Context(_function_name, time.monotonic() + timeout_s))
        return "ok", response, time.perf_counter() - started
    except Exception as exc:  # noqa: BLE001 - a failing handler is its error, as in Lambda
        duration = time.perf_counter() - started if started is not None else 0.0
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        return "error", {"errorType": type(exc).__name__, "errorMessage": str(exc).splitlines()[0][:300] if str(exc)
                         else ""}, duration
