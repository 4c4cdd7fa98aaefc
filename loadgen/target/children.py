"""Stopping a process loadgen started for a bench (a sink, nginx): asked to end, waited for a bounded time, then
killed, so a bench never leaves one running.

Where it sits: beside the sinks in loadgen.target; the local target's services have their own group-wide stop
(loadgen.target.local_target)."""

from __future__ import annotations

import subprocess


def stop_child(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM, up to `grace_s` to exit, then SIGKILL; returns once it has exited."""
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
