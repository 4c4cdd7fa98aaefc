"""The hot paths of each stack, declared once as data: what is driven, and the alarms in terraform/ that judge it.

A hot path is data (STYLE: Rally's track), read from `profiles/<stack>/hot_paths.toml` beside the stack's load
profiles: its name, what kind of operation drives it (drive.drivers maps each kind to one driver), the profile's
stream or route whose rate drives it, and the addresses of the CloudWatch alarms that guard it: every one a run
measures judges it, and one that would fire fails it. Adding a stack is a Terraform folder, profiles and this
file: no engine change. The alarms' thresholds are always read from terraform/, never copied.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from loadgen.errors import LoadgenError
from loadgen.paths import PROFILES_DIR

KINDS = ("api_route", "kinesis_stream", "lambda_core", "redis_geo", "ddb_conditional_write")
FILE_NAME = "hot_paths.toml"


@dataclass(frozen=True)
class HotPath:
    """One operation whose latency or throughput the stack's alarms guard."""

    name: str
    """Stable name, used as the hot path's key in summary.json."""
    kind: str
    """What drives it: one of KINDS."""
    alarms: tuple[str, ...]
    """Alarm resource addresses in the stack's Terraform; every one a run measures judges the hot path."""
    description: str
    rate_source: str
    """The profile's stream or route whose rate drives this hot path (fleet_models.demand.Demand.name)."""
    state_table: str | None = None
    """An aws_dynamodb_table address the world's state is primed into before the run (the model's
    `primed_state(rate_source)` items: e.g. the open requests vendor status updates refer to)."""
    writes_table: str | None = None
    """An aws_dynamodb_table address an `api_route`'s handler puts one new item into per 2xx answer: the capacity
    model sets the table's write demand from the route's rate, and on the local target the driver counts the
    table's new items against the 2xx answers (the write is part of the route's operation, not a hot path of its
    own)."""
    function: str | None = None
    """A `lambda_core` hot path's Lambda function (its for_each key or function_name in the stack's Terraform),
    when the hot path is that function invoked by its stream's event source mapping: drive.stream_invoker invokes
    its real handler with batches of the rate source's records. Without it, a lambda_core hot path is the
    domain's shared matching core (drive.matching_bench)."""


def _field(entry: dict, key: str, path: Path, index: int, kind: type = str):
    value = entry.get(key)
    if not isinstance(value, kind) or not value:
        raise LoadgenError(f"{path}: hot_path #{index + 1} needs a non-empty {key} "
                           f"({'a list of alarm addresses' if kind is list else 'a string'})")
    return value


@functools.lru_cache(maxsize=64)
def _load(path: Path, stamp: tuple[int, int]) -> tuple[HotPath, ...]:
    """The file's hot paths, read once per version of the file (`stamp`: its mtime and size, so an edited file is
    read again in a long-lived process)."""
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise LoadgenError(f"{path}: malformed TOML ({exc}); fix the syntax") from None
    declared = []
    for index, entry in enumerate(data.get("hot_path", [])):
        kind = _field(entry, "kind", path, index)
        if kind not in KINDS:
            raise LoadgenError(f"{path}: hot_path #{index + 1} has kind {kind!r}; known: {', '.join(KINDS)}")
        alarms = _field(entry, "alarms", path, index, list)
        if not all(isinstance(a, str) and a.startswith("aws_cloudwatch_metric_alarm.") for a in alarms):
            raise LoadgenError(f"{path}: hot_path #{index + 1}: every alarm must be an "
                               "aws_cloudwatch_metric_alarm address")
        tables = {}
        for key in ("state_table", "writes_table"):
            tables[key] = entry.get(key)
            if tables[key] is not None and not (isinstance(tables[key], str)
                                                and tables[key].startswith("aws_dynamodb_table.")):
                raise LoadgenError(f"{path}: hot_path #{index + 1}: {key} must be an aws_dynamodb_table address")
        if tables["writes_table"] is not None and kind != "api_route":
            raise LoadgenError(f"{path}: hot_path #{index + 1}: writes_table belongs to an api_route hot path "
                               "(the table its handler writes one item to per 2xx answer)")
        function = entry.get("function")
        if function is not None and (kind != "lambda_core" or not isinstance(function, str) or not function):
            raise LoadgenError(f"{path}: hot_path #{index + 1}: function belongs to a lambda_core hot path (the "
                               "name of the Lambda function its stream's event source mapping invokes)")
        declared.append(HotPath(_field(entry, "name", path, index), kind, tuple(alarms),
                                str(entry.get("description", "")), _field(entry, "rate_source", path, index),
                                tables["state_table"], tables["writes_table"], function))
    names = [p.name for p in declared]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise LoadgenError(f"{path}: hot path '{duplicate}' is declared twice; names must be unique")
    return tuple(declared)


def hot_paths(stack: str, profiles_dir: Path | None = None) -> tuple[HotPath, ...]:
    """The stack's hot paths (empty for a stack with none declared yet)."""
    path = (profiles_dir or PROFILES_DIR) / stack / FILE_NAME
    if not path.is_file():
        return ()
    stat = path.stat()
    return _load(path, (stat.st_mtime_ns, stat.st_size))


KEY_OUTPUTS = "api_keys"
OUTPUT_ROLES = {"api_url": "the REST API stage's invoke URL", "api_key_id": "the API key's id",
                "redis_endpoint": "the Redis endpoint"}


def stack_outputs(stack: str, profiles_dir: Path | None = None) -> dict[str, str]:
    """Which Terraform output is what (`[outputs]` in hot_paths.toml: role -> output name), for --target aws."""
    path = (profiles_dir or PROFILES_DIR) / stack / FILE_NAME
    if not path.is_file():
        return {}
    outputs = dict(tomllib.loads(path.read_text()).get("outputs", {}))
    outputs.pop(KEY_OUTPUTS, None)
    unknown = sorted(set(outputs) - set(OUTPUT_ROLES))
    if unknown:
        raise LoadgenError(f"{path}: [outputs] {unknown[0]} is not a role loadgen knows ({', '.join(OUTPUT_ROLES)})")
    return outputs


def key_outputs(stack: str, profiles_dir: Path | None = None) -> dict[str, str]:
    """Per API key of the stack (its Terraform address), the output holding its id (`[outputs.api_keys]` in
    hot_paths.toml), for --target aws: each route is sent with its own client's key, as the emulator does."""
    path = (profiles_dir or PROFILES_DIR) / stack / FILE_NAME
    if not path.is_file():
        return {}
    keys = tomllib.loads(path.read_text()).get("outputs", {}).get(KEY_OUTPUTS, {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise LoadgenError(f"{path}: [outputs.{KEY_OUTPUTS}] maps an aws_api_gateway_api_key address to the name "
                           "of the output holding its id, e.g. \"aws_api_gateway_api_key.vendor\" = \"vendor_key_id\"")
    return keys


def declared_stacks(profiles_dir: Path | None = None) -> list[str]:
    """Every stack with hot paths declared."""
    root = profiles_dir or PROFILES_DIR
    return sorted(p.parent.name for p in root.glob(f"*/{FILE_NAME}"))


def guarded_by(stack: str, profiles_dir: Path | None = None) -> dict[str, str]:
    """Alarm address -> the hot path it guards."""
    return {alarm: path.name for path in hot_paths(stack, profiles_dir) for alarm in path.alarms}


def of_kind(paths: tuple[HotPath, ...], kind: str, stack: str) -> HotPath:
    """The stack's first hot path of a kind, or one clear error."""
    for path in paths:
        if path.kind == kind:
            return path
    raise LoadgenError(f"stack '{stack}' declares no {kind} hot path (profiles/{stack}/{FILE_NAME})")
