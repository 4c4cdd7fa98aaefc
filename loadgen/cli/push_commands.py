"""`loadgen push ...`: the fleets' load into the stacks' front doors (Kinesis, API Gateway) at per-env rates."""

from __future__ import annotations

import click

from loadgen.drive.api_pusher import push_api, status_counts
from loadgen.cli.common import (Finite, Stop, build_context, finish_run, rate_scale_option, run_async, run_options,
                                user_errors)
from loadgen.drive.kinesis_pusher import push_kinesis
from loadgen.drive.ramp import RampPlan
from loadgen.report.live_board import LiveBoard


@click.group()
def push() -> None:
    """Push the fleets' load into the stacks' front doors (Kinesis, API Gateway) at per-env rates."""


duration_option = click.option("--duration", default=60.0, show_default=True, type=Finite(0.1, 86400),
                               help="Seconds of load.")


@push.command("kinesis")
@run_options
@duration_option
@rate_scale_option
@user_errors
def push_kinesis_command(terraform_dir, stack, env, target, confirm_prod, out, as_json, duration,
                         rate_scale) -> None:
    """PutRecords at the profile's rates x --rate-scale; every record acknowledged, retried or reported failed."""
    ctx = build_context(stack, env, target, out, "push-kinesis", confirm_prod, terraform_dir)
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    stop = Stop()
    with LiveBoard(not as_json, f"push kinesis {stack}/{env}") as board:
        outcome = run_async(stop.around(lambda event: push_kinesis(ctx, RampPlan.constant(duration), rate_scale,
                                                                   board.watch, event)))
    accounting = outcome.accounting
    if not as_json:
        click.echo(f"generated {accounting['generated']:,} = acknowledged {accounting['acknowledged']:,} + failed "
                   f"{accounting['failed']:,} + in flight {accounting['in_flight']:,}"
                   + ("  (aborted)" if outcome.aborted else ""))
    ran_s = outcome.elapsed_s if outcome.aborted else outcome.duration_s  # an aborted run: the time it ran
    finish_run(ctx, outcome.results, ran_s, as_json, outcome.summary_fields(), stop.signal)


@push.command("api")
@run_options
@duration_option
@rate_scale_option
@user_errors
def push_api_command(terraform_dir, stack, env, target, confirm_prod, out, as_json, duration, rate_scale) -> None:
    """The stack's REST routes with x-api-key at the profile's rates x --rate-scale, open loop; status classes
    counted per route. On --target aws: LOADGEN_API_URL (stage invoke URL) and LOADGEN_API_KEY."""
    ctx = build_context(stack, env, target, out, "push-api", confirm_prod, terraform_dir, needs_api=True)
    stop = Stop()
    with LiveBoard(not as_json, f"push api {stack}/{env}") as board:
        results, elapsed = run_async(stop.around(lambda event: push_api(ctx, RampPlan.constant(duration),
                                                                        rate_scale, board.watch, stop=event)))
    ran_s = min(elapsed, duration) if stop.signal else duration  # an aborted run: the time it ran
    finish_run(ctx, results, ran_s, as_json, {"status_counts": status_counts(results)}, stop.signal)
