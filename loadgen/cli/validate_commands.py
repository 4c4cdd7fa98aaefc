"""`loadgen validate`: the capacity gate. One command answers "may this tfvars change be promoted?".

For each stack: the capacity model (profile demand against the tfvars' capacities), then every hot path driven
together through the profile's ramp on the target and judged against its alarms, the delivery checks, and
reports/<run-id>/ (summary.json, histograms, report.html). With the local target not running and no
`--target aws`, the embedded target is started for the run and stopped afterwards. Exit 0 when everything
holds, 1 when anything does not, 2 on bad input, 130/143 when stopped by SIGINT/SIGTERM (the report is written,
marked aborted).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import click

from loadgen.cli.common import (SIGNAL_EXIT, Finite, Stop, build_context, dead_services, confirm_prod_option, console,
                                embedded_target, default_terraform_dir, emit_json, json_option, out_option,
                                rate_scale_option, run_async, scenario_option, target_option, terraform_dir_option,
                                user_errors, writable)
from loadgen.cli.validate_workers import WorkerArgs, run_in_processes
from loadgen.drive.ramp import RampPlan
from loadgen.drive.scheduler import cause_of
from loadgen.drive.stack_run import StackRun, run_stack
from loadgen.errors import LoadgenError
from loadgen.hot_paths import declared_stacks
from loadgen.measure.capacity_model import capacity_model
from loadgen.measure.run_summary import HotPathResult, measured_p99_ms, write_summary
from loadgen.measure.staged_recorder import StagedRecorder
from loadgen.measure.validate_summary import build_validate_summary, target_check
from loadgen.paths import REPORTS_DIR
from loadgen.profiles import load_profile
from loadgen.report.html_report import render_report
from loadgen.report.live_board import LiveBoard
from loadgen.run_context import RunContext
from loadgen.tf import hcl_reader


async def _drive(ctx: RunContext, plan: RampPlan, rate_scale: float, board: LiveBoard, stop: Stop,
                 watched: list[StagedRecorder]) -> tuple[StackRun | None, str | None]:
    stop.install()

    def watch(recorder: StagedRecorder) -> None:
        watched.append(recorder)
        board.watch(recorder)

    watching = asyncio.create_task(stop.on_target_death(ctx.target.kind))
    try:
        run = await run_stack(ctx, plan, rate_scale, watch=watch, stop=stop.event)
        return run, _stopped_by(stop) or run.abort_reason
    except asyncio.CancelledError:
        if stop.signal is None:
            raise
        return None, _stopped_by(stop)
    except LoadgenError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever failed, the run ends with a report that names it
        return None, f"the run failed: {cause_of(exc)}"
    finally:
        watching.cancel()


def _stopped_by(stop: Stop) -> str | None:
    """Why a run stopped before its schedule ended: a signal, or a service of the local target that died."""
    if stop.signal:
        return f"stopped by {stop.signal.name}"
    return f"stopped when the local target's {', '.join(stop.died)} died" if stop.died else None


def _partial(watched: list[StagedRecorder]) -> list[HotPathResult]:
    """What an aborted run recorded, hot path by hot path."""
    return [HotPathResult(r.name, r.name, r.total(), None, 0.0, staged=r) for r in watched]


def validate_stack(stack: str, env: str, target: str, out: Path, run_id: str, *, terraform_dir: Path | None,
                   profiles_dir: Path | None, tfvars: Path | None, tf_outputs: Path | None, duration: float | None, rate_scale: float, headroom: float,
                   confirm_prod: bool, as_json: bool, processes: int = 1,
                   all_stacks_run: bool = False, scenario: str | None = None) -> tuple[dict, int | None]:
    """One stack's validate run; returns its summary and the exit code a signal asks for (or None)."""
    ctx = build_context(stack, env, target, out, "validate", confirm_prod, terraform_dir,
                        needs_api=True, tfvars=tfvars, run_id=run_id, profiles_dir=profiles_dir,
                        tf_outputs=tf_outputs, scenario=scenario)
    plan = RampPlan.from_profile(ctx.profile, duration)
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    stop, watched = Stop(), []
    began = time.perf_counter()
    if processes > 1:
        run, aborted, stopped_by = run_in_processes(WorkerArgs(
            stack, env, target, out, run_id, terraform_dir, profiles_dir, tfvars, tf_outputs, duration, rate_scale,
            confirm_prod, scenario), processes)
        stop.signal = stopped_by
    else:
        with LiveBoard(not as_json, f"validate {stack}/{env}") as board:
            run, aborted = run_async(_drive(ctx, plan, rate_scale, board, stop, watched))
    elapsed = time.perf_counter() - began
    results = run.results if run else _partial(watched)
    capacity = capacity_model(ctx.resolved, ctx.profile, headroom, measured_p99_ms(results)).to_json()
    dead = dead_services(target)
    config = {"stack": stack, "env": env, "target": target, "duration_s": plan.total_s, "rate_scale": rate_scale,
              "headroom": headroom, "tfvars": str(tfvars) if tfvars else f"{env}.tfvars",
              "profile": str(ctx.profile.path.relative_to(ctx.profile.path.parents[2])), "scenario": scenario}
    if run and run.kinesis:
        config["kinesis_accounting"] = run.kinesis["accounting"]
    summary = build_validate_summary(
        ctx, results, run.not_driven if run else {}, plan, run.elapsed_s if run else elapsed,
        rate_scale=rate_scale, processes=processes, tfvars=config["tfvars"], capacity=capacity, config=config,
        aborted=aborted, target_checks=[target_check(dead)] if target == "local" else [])
    summary["scenario"] = scenario
    if run and run.kinesis:
        summary.update(run.kinesis)
    write_summary(ctx, summary, results)
    if not all_stacks_run:
        render_report(ctx.run_dir)
    lines = [f"the local target's {d} died during the run" for d in dead] + ([aborted] if aborted and
                                                                            not stop.died else [])
    for line in lines + ([summary["shortfall"]] if summary.get("shortfall") and not lines else []):
        click.echo(f"error: {stack}/{env}: {line}; report: {ctx.run_dir}", err=True)
    return summary, SIGNAL_EXIT.get(stop.signal) if stop.signal else None


def _print(summary: dict, run_dir: Path) -> None:
    out = console()
    out.print(f"[bold]{summary['stack']} / {summary['env']}: {summary['verdict'].upper()}[/bold]")
    for check in summary["checks"]:
        mark = "ok " if check["passed"] else "FAIL"
        out.print(f"  {mark} {check['name']}: {check['detail']}")
    for hp in summary["hot_paths"]:
        alarm = hp.get("alarm") or {}
        verdict = hp["verdict"]
        why = hp.get("failed_because") or hp.get("not_run_because") or ""
        observed = f"{alarm['metric']} {alarm['observed']:g} vs {alarm['threshold']:g}" if alarm else ""
        out.print(f"  {verdict:>8}  {hp['name']:<32} ops {hp['ops']:>8,}  p99 {hp['latency_ms']['p99']:>9.3f} ms  "
                  f"{observed}  {why}")
    out.print(f"report: {run_dir}")


@click.command("validate")
@terraform_dir_option
@click.option("--profiles-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder of profiles/<stack>/{<env>.toml,hot_paths.toml} (default: the repository's profiles/).")
@click.option("--stack", default=None, help="Stack folder name (or --all).")
@click.option("--all", "all_stacks", is_flag=True, help="Every stack that declares hot paths.")
@click.option("--env", required=True, help="Environment: dev, staging or prod.")
@click.option("--tfvars", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A candidate tfvars file evaluated in place of the env's own.")
@click.option("--duration", type=Finite(min=1.0, max=86400), default=None,
              help="Seconds for the whole ramp (the profile's stages compressed proportionally; default: as the "
                   "profile says).")
@rate_scale_option
@scenario_option
@click.option("--headroom", default=1.3, show_default=True, type=Finite(min=1.0, max=100.0),
              help="Capacity must hold the top stage's demand x this.")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes sharing each hot path's schedule (their histograms are merged exactly).")
@target_option
@click.option("--tf-outputs", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="--target aws: the JSON of `terraform output -json` for the env (default: run it where the "
                   "stack folder holds state).")
@confirm_prod_option
@out_option
@json_option
@user_errors
def validate(terraform_dir, profiles_dir, stack, all_stacks, env, tfvars, duration, rate_scale, scenario, headroom,
             processes, target, tf_outputs, confirm_prod, out, as_json) -> None:
    """Capacity model + every hot path through the ramp, judged against the env's alarms; exit 0 pass, 1 fail."""
    if bool(stack) == all_stacks:
        raise LoadgenError("give exactly one of --stack S or --all")
    if (tfvars is not None or tf_outputs is not None) and all_stacks:
        raise LoadgenError("--tfvars and --tf-outputs are one stack's files; use them with --stack")
    if scenario is not None and all_stacks:
        raise LoadgenError("--scenario names one profile's scenario; use it with --stack")
    stacks = declared_stacks(profiles_dir) if all_stacks else [stack]
    if not all_stacks:
        hcl_reader.load_stack(terraform_dir or default_terraform_dir(), stack)  # an unknown stack: one line, early
        if scenario is not None:
            load_profile(stack, env, profiles_dir, scenario)  # an unknown scenario: one line, before any load
    out = writable(out or REPORTS_DIR)  # before the embedded target starts or any load is sent
    suite_id = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{env}-validate"
    summaries, signal_exit = [], None
    with embedded_target(target):
        for name in stacks:
            base, run_id = (out / suite_id, name) if all_stacks else (out, f"{suite_id}-{name}")
            summary, signal_exit = validate_stack(
                name, env, target, base, run_id, terraform_dir=terraform_dir, profiles_dir=profiles_dir,
                tfvars=tfvars, tf_outputs=tf_outputs, duration=duration,
                rate_scale=rate_scale, headroom=headroom, confirm_prod=confirm_prod, as_json=as_json,
                processes=processes, all_stacks_run=all_stacks, scenario=scenario)
            summaries.append((summary, base / run_id))
            if not as_json:
                _print(summary, base / run_id)
            if signal_exit:
                break
    verdict = "pass" if all(s["verdict"] == "pass" for s, _ in summaries) and not signal_exit else "fail"
    if all_stacks:
        suite = {"run_id": suite_id, "kind": "suite", "env": env,
                 "started_at": summaries[0][0]["started_at"] if summaries else None,
                 "stacks": [{"stack": s["stack"], "run_dir": s["stack"], "verdict": s["verdict"]}
                            for s, _ in summaries], "verdict": verdict, "aborted": signal_exit is not None}
        (out / suite_id / "summary.json").write_text(json.dumps(suite, indent=2) + "\n")
        report_dir = out / suite_id
        render_report(report_dir)
    else:
        report_dir = summaries[0][1]
    if as_json:
        emit_json(json.loads((report_dir / "summary.json").read_text()))
    else:
        click.echo(f"{'suite ' if all_stacks else ''}verdict: {verdict.upper()}  ({report_dir})")
    sys.exit(signal_exit or (0 if verdict == "pass" else 1))
