"""loadgen as a Locust citizen: locustfiles whose users send the stacks' API, GEO, matching-core, DynamoDB
conditional-write and Kinesis hot paths on an intended schedule, record exact latencies from the intended start
into HdrHistograms merged across workers, and judge them against the Terraform alarms (`loadgen locust`, or
`locust -f` on LOCUSTFILE and SHAPES).

Where it sits: drive.api_requests, drive.put_records_batches, drive.matching_bench's matchers and
drive.contended_writes (what a request, a PutRecords call, an assignment and a contended write are, shared with
the asyncio drivers) -> users, operations with ddb_client, kinesis_user, run and recording (gevent side) ->
report (reports/<run-id>/, as validate writes it) and verdict_tab (the web UI). Nothing in this package imports
boto3, botocore or aiobotocore when it is imported: Locust's gevent patching comes first (botocore and
aiobotocore are imported at init, patched: the stream and table definitions, and an AWS target's
credentials).
"""

import tomllib
from pathlib import Path

from loadgen.hot_paths import FILE_NAME
from loadgen.paths import PROFILES_DIR

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SHAPES = Path(__file__).with_name("shapes.py")
PREPARED_ENV = "LOADGEN_LOCUST_PREPARED"
"""Set to "1" in Locust's environment by `loadgen locust`, which prepared the target (loadgen.locust.prepare)
before starting it; a plain `locust -f` prepares it at init."""


def shape_name(stack: str, env: str, scenario: str | None = None) -> str:
    """The LoadTestShape class of a stack and env's profile ramp (under one of its scenarios), e.g.
    FoodDeliveryDevShape, FoodDeliveryDevGameNightShape."""
    words = (*stack.split("_"), env, *(scenario.split("_") if scenario else ()))
    return "".join(part.title() for part in words) + "Shape"


def stack_shapes(stack: str) -> dict[str, tuple[str, str | None]]:
    """Shape class name -> (env, scenario or None), for every env of the stack with a profile
    (profiles/<stack>/<env>.toml) and every [scenarios.NAME] it declares."""
    shapes = {}
    for path in sorted((PROFILES_DIR / stack).glob("*.toml")):
        if path.name == FILE_NAME:
            continue
        for scenario in (None, *sorted(tomllib.loads(path.read_text()).get("scenarios", {}))):
            shapes[shape_name(stack, path.stem, scenario)] = (path.stem, scenario)
    return shapes
