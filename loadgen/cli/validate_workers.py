"""`loadgen validate --processes N`: one stack's hot paths driven by N worker processes on one schedule.

Where it sits: the CLI edge (each worker builds its RunContext from the same arguments, as the parent would)
-> drive.stack_run in each worker with its shard (k, N): every N-th operation of each rate-driven hot path,
the model-driven ones in worker 0 -> measure.wire (results as plain data) -> merged exactly in the parent.
The parent starts the workers, waits until every one has prepared, hands them one start time on the shared
monotonic clock (CLOCK_MONOTONIC is machine-wide, so their schedules line up), forwards a stop (SIGINT or
SIGTERM) and collects. Workers ignore SIGINT: a Ctrl-C reaches the whole process group, and the parent decides.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from loadgen.cli.common import build_context, run_async
from loadgen.drive.ramp import RampPlan
from loadgen.drive.scheduler import cause_of, clock
from loadgen.drive.stack_run import LEAD_S, StackRun, run_stack
from loadgen.errors import LoadgenError
from loadgen.measure.wire import merge_results, result_from_wire, result_to_wire

PREPARE_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class WorkerArgs:
    """What every worker needs to build the same RunContext the parent has."""

    stack: str
    env: str
    target: str
    out: Path
    run_id: str
    terraform_dir: Path | None
    profiles_dir: Path | None
    tfvars: Path | None
    tf_outputs: Path | None
    duration: float | None
    rate_scale: float
    confirm_prod: bool
    scenario: str | None = None


def _worker(args: WorkerArgs, k: int, n: int, conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        ctx = build_context(args.stack, args.env, args.target, args.out, "validate", args.confirm_prod,
                            args.terraform_dir, needs_api=True, tfvars=args.tfvars, run_id=args.run_id,
                            profiles_dir=args.profiles_dir, tf_outputs=args.tf_outputs,
                            scenario=args.scenario)
        plan = RampPlan.from_profile(ctx.profile, args.duration)
        run = run_async(_worker_run(ctx, plan, args.rate_scale, (k, n), conn))
        conn.send(("done", {"results": [result_to_wire(r) for r in run.results], "not_driven": run.not_driven,
                            "kinesis": run.kinesis, "elapsed_s": run.elapsed_s, "abort_reason": run.abort_reason}))
    except LoadgenError as exc:
        conn.send(("error", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - the parent reports it and ends the run
        conn.send(("error", f"worker {k} failed: {cause_of(exc)}"))
    finally:
        conn.close()


async def _worker_run(ctx, plan: RampPlan, rate_scale: float, shard: tuple[int, int], conn: Connection) -> StackRun:
    loop = asyncio.get_running_loop()
    stop, began = asyncio.Event(), loop.create_future()

    def listen() -> None:  # the parent's messages: the start time, then perhaps a stop
        while True:
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):
                loop.call_soon_threadsafe(stop.set)
                return
            if kind == "start":
                loop.call_soon_threadsafe(began.set_result, value)
            elif kind == "stop":  # also releases a worker still waiting for its start
                loop.call_soon_threadsafe(stop.set)
                loop.call_soon_threadsafe(lambda: began.done() or began.set_result(clock()))
                return

    threading.Thread(target=listen, daemon=True).start()

    async def start() -> float:
        conn.send(("ready", None))
        return await began

    return await run_stack(ctx, plan, rate_scale, shard, stop=stop, start=start)


def run_in_processes(args: WorkerArgs, n: int) -> tuple[StackRun | None, str | None, signal.Signals | None]:
    """Run the stack in n workers; returns the merged run (None if a worker failed), why it ended early (or
    None), and the signal that stopped it (or None)."""
    context = multiprocessing.get_context("spawn")
    pipes = [context.Pipe() for _ in range(n)]
    workers = [context.Process(target=_worker, args=(args, k, n, child), daemon=True)
               for k, (_, child) in enumerate(pipes)]
    conns = [parent for parent, _ in pipes]
    received: dict[int, dict] = {}
    stopped: list[signal.Signals] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def stop_all() -> None:
        for conn in conns:
            try:
                conn.send(("stop", None))
            except OSError:  # that worker is gone already
                pass

    def on_signal(sig: int, _frame) -> None:
        if not stopped:
            stopped.append(signal.Signals(sig))
            stop_all()

    for sig in previous:
        signal.signal(sig, on_signal)
    try:
        for worker in workers:
            worker.start()
        for child in (c for _, c in pipes):
            child.close()
        failure = _gather(conns, workers, received, "ready", PREPARE_TIMEOUT_S)
        if failure is None:
            began = clock() + LEAD_S
            for conn in conns:
                conn.send(("start", began))
            failure = _gather(conns, workers, received, "done", None)
        if failure is not None:
            stop_all()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
                worker.join()
    if failure is not None:
        return None, failure, stopped[0] if stopped else None
    runs = [received[k] for k in range(n)]
    aborted = (f"stopped by {stopped[0].name}" if stopped
               else next((r["abort_reason"] for r in runs if r["abort_reason"]), None))
    merged = merge_results([[result_from_wire(w) for w in run["results"]] for run in runs])
    return (StackRun(merged, runs[0]["not_driven"], runs[0]["kinesis"], max(r["elapsed_s"] for r in runs)), aborted,
            stopped[0] if stopped else None)


def _gather(conns: list[Connection], workers: list, received: dict, expect: str,
            timeout_s: float | None) -> str | None:
    """Wait for `expect` from every worker; the first error or death ends the wait (returned as the reason)."""
    waiting = set(range(len(conns)))
    deadline = None if timeout_s is None else clock() + timeout_s
    while waiting:
        if deadline is not None and clock() > deadline:
            return f"workers {sorted(waiting)} did not get ready within {timeout_s:.0f}s"
        for conn in wait([conns[k] for k in waiting], timeout=1.0):
            k = conns.index(conn)
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):
                return f"worker {k} died (exit code {workers[k].exitcode})"
            if kind == "error":
                return value
            if kind == expect:
                waiting.discard(k)
                if kind == "done":
                    received[k] = value
        for k in list(waiting):
            if not workers[k].is_alive() and not conns[k].poll():
                return f"worker {k} died (exit code {workers[k].exitcode})"
    return None
