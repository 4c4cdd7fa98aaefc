"""A stack's Lambda functions as one env deploys them, and what feeds them: read from its Terraform.

Where it sits: in loadgen/tf (the only reader of terraform/), under `loadgen.tf.api_routes` (the function behind
an AWS_PROXY integration) and the local target's API emulator, which runs a function's real handler in a worker
process of its own; `loadgen.drive.stream_invoker` reads a function's stream mapping here to invoke it as Lambda's
poller would. A function is its `aws_lambda_function`: handler `module.function`, the `archive_file` it is
packaged from (its files laid out as in the zip), the handler's source in terraform/<stack>/lambda/ and its
environment evaluated for the env (values known only after apply stay `<<address.attribute>>` placeholders:
`unresolved`). What feeds it is its `aws_lambda_event_source_mapping`: the Kinesis stream (directly or through an
enhanced fan-out `aws_kinesis_stream_consumer`), DynamoDB table stream or SQS queue, and the batch size,
batching window and parallelization the env gives it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadgen.errors import LoadgenError
from loadgen.tf.computed import ComputedView, computed_refs, known, reference
from loadgen.tf.env_model import ResolvedStack, ResourceInstance
from loadgen.tf.expressions import UNKNOWN

DEFAULT_TIMEOUT_S = 3.0
"""Lambda's timeout for a function that sets none."""
DEFAULT_BATCH_SIZE = {"kinesis": 100, "dynamodb": 100, "sqs": 10}
"""Lambda's batch size for a mapping that sets none, per source."""
SOURCE_KINDS = {"aws_kinesis_stream": "kinesis", "aws_dynamodb_table": "dynamodb", "aws_sqs_queue": "sqs"}


@dataclass(frozen=True)
class LambdaFunction:
    """An aws_lambda_function as the env deploys it."""

    address: str
    key: str
    """Its for_each key (e.g. `order_validator`), or its name."""
    function_name: str
    handler: str
    """`module.function`, as Lambda reads it."""
    source: Path | None
    """The handler module's file in terraform/<stack>/lambda/."""
    archive: str
    """Address of the archive_file the function's `filename` is built by."""
    package: dict[str, str] = field(repr=False)
    """The archive's files, as laid out in the zip: file name -> text."""
    environment: dict[str, str] = field(repr=False)
    """Environment variables for the env; values that exist only after apply are `<<address.attr>>` placeholders."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """The function's `timeout`, the time a handler is given (Lambda's default when unset)."""

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def function(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    @property
    def unresolved(self) -> dict[str, list[tuple[str, str]]]:
        """Variable -> the (address, attribute) placeholders in its value."""
        return {name: refs for name, value in self.environment.items() if (refs := computed_refs(value))}


def _number(value: Any, default: float) -> float:
    value = known(value)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _archive_files(inst: ResourceInstance, stack_dir: Path) -> dict[str, str]:
    """The files of an archive_file as laid out in its zip."""
    files: dict[str, str] = {}
    source_file = known(inst.attribute("source_file"))
    if isinstance(source_file, str):
        files[Path(source_file).name] = Path(source_file).read_text()
    source_dir = known(inst.attribute("source_dir"))
    if isinstance(source_dir, str):
        for path in sorted(Path(source_dir).rglob("*")):
            if path.is_file():
                files[str(path.relative_to(source_dir))] = path.read_text()
    for source in inst.blocks("source"):
        if isinstance(source, dict) and isinstance(source.get("filename"), str) and \
                isinstance(source.get("content"), str):
            files[source["filename"]] = source["content"]
    return files


def _source_file(stack_dir: Path, text: str | None) -> Path | None:
    """The file under the stack's lambda/ folder whose text the archive packs as the handler module."""
    if text is None:
        return None
    return next((p for p in sorted((stack_dir / "lambda").glob("**/*.py")) if p.read_text() == text), None)


def lambda_function(inst: ResourceInstance, archives: dict[str, ResourceInstance], stack_dir: Path) -> LambdaFunction:
    """The function an aws_lambda_function instance (evaluated with placeholders: loadgen.tf.computed) deploys, with
    its package read from the archive_file its `filename` is the output of (`archives`: address -> instance)."""
    handler = known(inst.attribute("handler"))
    if not isinstance(handler, str) or "." not in handler:
        raise LoadgenError(f"{inst.block.where}: {inst.address} handler does not resolve to `module.function`")
    filename = known(inst.attribute("filename"))
    archive = next((a for a in archives.values() if known(a.attribute("output_path")) == filename), None)
    if archive is None:
        raise LoadgenError(f"{inst.block.where}: {inst.address} filename {filename!r} is not the output_path of any "
                           "archive_file in the stack")
    package = _archive_files(archive, stack_dir)
    module = handler.rsplit(".", 1)[0]
    environment: dict[str, str] = {}
    for block in inst.blocks("environment"):
        variables = block.get("variables") if isinstance(block, dict) else None
        if not isinstance(variables, dict):
            raise LoadgenError(f"{inst.block.where}: {inst.address} environment variables do not resolve")
        for name, value in variables.items():
            environment[name] = value if isinstance(value, str) else (
                f"<<{inst.address}.environment.{name}>>" if value is UNKNOWN else json.dumps(value))
    name = known(inst.attribute("function_name"))
    return LambdaFunction(inst.address, str(inst.key) if inst.key is not None else inst.block.labels[1],
                          str(name), handler, _source_file(stack_dir, package.get(module.replace(".", "/") + ".py")),
                          archive.address, package, environment,
                          _number(inst.attribute("timeout"), DEFAULT_TIMEOUT_S))


@dataclass(frozen=True)
class EventSourceMapping:
    """An aws_lambda_event_source_mapping as the env deploys it: what feeds a function, and in what batches."""

    address: str
    function: str
    """The aws_lambda_function address it invokes."""
    source: str
    """The address of what feeds it: an aws_kinesis_stream, an aws_dynamodb_table (its stream) or an aws_sqs_queue."""
    source_kind: str
    """`kinesis`, `dynamodb`, `sqs`, or `unknown` (a source the reader does not follow)."""
    via: str | None
    """The aws_kinesis_stream_consumer (enhanced fan-out) the function reads its stream through, if any."""
    batch_size: int
    """Records per invocation at most (the mapping's, else Lambda's default for the source)."""
    batching_window_s: float
    parallelization: int
    """Concurrent batches per shard."""
    reports_item_failures: bool
    """`ReportBatchItemFailures`: the handler's batchItemFailures are retried, not the whole batch."""


def event_source_mappings(resolved: ResolvedStack) -> list[EventSourceMapping]:
    """Every event source mapping of the stack for the env."""
    view = ComputedView(resolved)
    consumers = {inst.address: inst for inst in view.instances("aws_kinesis_stream_consumer")}
    mappings = []
    for inst in view.instances("aws_lambda_event_source_mapping"):
        function = reference(inst.attribute("function_name"))
        source = reference(inst.attribute("event_source_arn"))
        if function is None or not function[0].startswith("aws_lambda_function."):
            raise LoadgenError(f"{inst.block.where}: {inst.address} function_name is not a Lambda function of the stack")
        via = None
        if source and source[0] in consumers:
            via, source = source[0], reference(consumers[source[0]].attribute("stream_arn"))
        address = source[0] if source else str(inst.attribute("event_source_arn"))
        kind = SOURCE_KINDS.get(address.split(".")[0], "unknown")
        responses = known(inst.attribute("function_response_types")) or []
        mappings.append(EventSourceMapping(
            inst.address, function[0], address, kind, via,
            int(_number(inst.attribute("batch_size"), DEFAULT_BATCH_SIZE.get(kind, 100))),
            _number(inst.attribute("maximum_batching_window_in_seconds"), 0.0),
            int(_number(inst.attribute("parallelization_factor"), 1)),
            "ReportBatchItemFailures" in responses))
    return mappings


def function_instance(resolved: ResolvedStack, name: str) -> ResourceInstance:
    """The aws_lambda_function instance whose function_name, for_each key or address is `name`."""
    for inst in ComputedView(resolved).instances("aws_lambda_function"):
        if name in (known(inst.attribute("function_name")), inst.key, inst.address):
            return inst
    raise LoadgenError(f"stack '{resolved.stack.name}' env '{resolved.env}' has no aws_lambda_function named "
                       f"'{name}' (by function_name, for_each key or address)")


def function_named(resolved: ResolvedStack, name: str) -> LambdaFunction:
    """The function whose function_name, for_each key or address is `name`, with its package and environment."""
    archives = {inst.address: inst for inst in ComputedView(resolved).instances("archive_file", "data")}
    return lambda_function(function_instance(resolved, name), archives, Path(resolved.stack.path))
