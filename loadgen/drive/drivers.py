"""One driver per hot-path kind (STYLE: Rally's runner registry): the engine looks a kind up here and never
asks which stack it is driving.

Where it sits: loadgen.hot_paths declares each hot path (name, kind, rate source, alarms) -> a driver prepares
what one operation of that kind needs on the target (members loaded, tables created and seeded, connections
opened: set-up, outside the timing) -> the scheduler drives its operations at their intended times -> the
driver's `finish` adds what only it knows (lost updates, assignments, GEO members) to the hot path's summary.

Two families:
- rate-driven kinds (`redis_geo`, `lambda_core`, `ddb_conditional_write`): operations at the profile's rate of
  the hot path's rate source, through the ramp (RampPlan.offsets); their driver is a `prepare` function here
  (`rate_driver`). A `lambda_core` hot path is one of two things, and says which: one that names its `function`
  is that Lambda invoked by its Kinesis stream's event source mapping (drive.stream_invoker: the real handler, a
  batch of records per operation, local target only); one without is the domain's shared matching core
  (drive.matching_bench).
- model-driven kinds (`api_route`, `kinesis_stream`): the fleet model says what is sent and when (request
  bodies, records with partition keys), mapped onto the ramp (RampPlan.wall_times); their drivers
  (drive.api_pusher, drive.kinesis_pusher) drive every hot path of their kind of a stack at once, since one
  model run generates them together.
"""

from __future__ import annotations

import functools
from typing import Awaitable, Callable

from loadgen.drive.api_pusher import ApiDriver
from loadgen.drive.ddb_bench import prepare_contended_write
from loadgen.drive.geo_bench import prepare_geo_search
from loadgen.drive.kinesis_pusher import KinesisDriver
from loadgen.drive.matching_bench import MATCHERS, prepare_matching
from loadgen.drive.prepared import PreparedOperation
from loadgen.drive.stream_invoker import prepare_stream_invocations, stream_function
from loadgen.errors import LoadgenError
from loadgen.hot_paths import HotPath
from loadgen.run_context import RunContext


Prepare = Callable[[RunContext, int], Awaitable[PreparedOperation]]

RATE_DRIVEN: dict[str, Prepare] = {
    "redis_geo": prepare_geo_search,
    "lambda_core": prepare_matching,
    "ddb_conditional_write": prepare_contended_write,
}
MODEL_DRIVEN: dict[str, type] = {
    "api_route": ApiDriver,
    "kinesis_stream": KinesisDriver,
}
"""Drivers constructed with (ctx, plan, rate_scale, watch), then `prepare()`, `run(began)`, `close()`."""
KINDS = (*RATE_DRIVEN, *MODEL_DRIVEN)


def rate_driver(path: HotPath, top_rate: float, shard: tuple[int, int] = (0, 1)) -> Prepare:
    """The driver preparing a rate-driven hot path (worker `shard` = (k, n) of a validate run): its kind's, or for
    a lambda_core hot path naming its `function`, that function's stream invocations (batched as Lambda would at
    `top_rate`, the rate source's records/s at the run's top stage)."""
    if path.kind == "lambda_core" and path.function:
        return functools.partial(prepare_stream_invocations, path=path, rate_per_s=top_rate, shard=shard)
    return RATE_DRIVEN[path.kind]


def _stream_function_not_driven(ctx: RunContext, path: HotPath) -> str | None:
    if ctx.target.kind != "local":
        return (f"{path.function} is invoked only on the local target's emulator: loadgen never invokes a "
                "production function directly")
    if ctx.target.api_url is None:
        return "no API emulator URL for the target (it serves the Lambda Invoke endpoint)"
    try:
        stream_function(ctx, path)
    except LoadgenError as exc:
        return str(exc)
    return None


def not_driven_because(ctx: RunContext, path: HotPath) -> str | None:
    """Why this hot path cannot be driven here, or None when its driver can run it."""
    if path.kind not in KINDS:
        return f"kind '{path.kind}' has no driver (known: {', '.join(KINDS)})"
    if path.kind == "lambda_core" and path.function:
        return _stream_function_not_driven(ctx, path)
    if path.kind == "lambda_core" and ctx.profile.domain not in MATCHERS:
        return (f"the {ctx.profile.domain} domain has no shared matching core, and the hot path names no "
                "`function` for its stream's event source mapping to invoke")
    if path.kind == "api_route" and ctx.target.api_url is None:
        return "no API URL for the target"
    return None
