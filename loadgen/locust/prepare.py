"""The target made ready for a Locust test, outside gevent: the emulator warmed and the routes' state primed, the
GEO members the queries search loaded, the matching core's workload hash and surge zones reset and seeded
(drive.matching_bench.set_up_matching), the conditional write's table created from Terraform (local target)
or checked (aws: drive.ddb_bench.prepare_table), the streams created from Terraform (local target). (The item
counts of the tables the routes write, for their `table_writes` check, the master reads itself, before and after
each test, over loadgen.locust.ddb_client.)

Where it sits: `loadgen locust` calls `prepare_target` in its own process before it starts Locust; a plain
`locust -f loadgen/locust/locustfile.py` runs this module as a child process at init (`python -m
loadgen.locust.prepare --stack S --env E ...`, on the master or a local runner, never on a worker), since the
clients that prepare (aiobotocore) must not be imported into Locust's gevent process. `loadgen locust` tells its
Locust it has prepared through loadgen.locust.PREPARED_ENV. A failure is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loadgen.drive.api_pusher import prepare_local
from loadgen.drive.ddb_bench import prepare_table
from loadgen.drive.geo_bench import load_workload
from loadgen.drive.kinesis_pusher import create_target_streams
from loadgen.drive.matching_bench import set_up_matching
from loadgen.drive.scheduler import run_async
from loadgen.edge_context import build_context
from loadgen.errors import LoadgenError
from loadgen.locust.run import not_driven_because
from loadgen.run_context import RunContext

def driven_kinds(ctx: RunContext) -> set[str]:
    """The kinds of the stack's hot paths the Locust users drive on ctx's target."""
    return {p.kind for p in ctx.hot_paths if not not_driven_because(ctx, p)}


def prepare_target(ctx: RunContext) -> None:
    kinds = driven_kinds(ctx)
    if ctx.target.kind == "local" and "api_route" in kinds:
        run_async(prepare_local(ctx))
    if "redis_geo" in kinds and "lambda_core" not in kinds:
        run_async(load_workload(ctx))
    if "lambda_core" in kinds:  # the same GEO members, then the matcher's workload hash and surge zones
        run_async(set_up_matching(ctx))
    if "ddb_conditional_write" in kinds:
        run_async(prepare_table(ctx))
    if ctx.target.kind == "local" and "kinesis_stream" in kinds:
        run_async(create_target_streams(ctx))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadgen.locust.prepare")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--env", required=True)
    parser.add_argument("--target", default="local", choices=("local", "aws"))
    parser.add_argument("--tfvars")
    parser.add_argument("--scenario")
    args = parser.parse_args(argv)
    try:
        ctx = build_context(args.stack, args.env, args.target, None, "locust", False, needs_api=True,
                            tfvars=Path(args.tfvars) if args.tfvars else None, scenario=args.scenario)
        prepare_target(ctx)
    except LoadgenError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
