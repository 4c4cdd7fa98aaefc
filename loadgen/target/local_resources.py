"""The stack's DynamoDB tables and Kinesis streams, created on a target from the stack's own Terraform.

Where it sits: between loadgen/tf (the only reader of terraform/) and the benches and pushers that write to a
target. On the embedded local target (a moto server) nothing exists until it is created, so every
`aws_dynamodb_table` and `aws_kinesis_stream` instance of the stack is read for the env through
`ResolvedStack.instances(...)` and turned into the CreateTable / CreateStream call Terraform would make: table
names, key schema, attribute definitions, global and local secondary indexes, billing mode and the env's
capacities, stream specification, deletion protection, TTL and tags; stream names, the env's shard counts, stream
mode and retention. Nothing is copied by hand, so a tfvars change is what the next run sees.

Left out, because the local target has nothing to bind them to: server-side encryption (a KMS key ARN that only
exists after apply), point-in-time recovery and stream encryption. Creation is idempotent: a table or stream that
already exists is left alone (it is not compared or updated), reported as `exists`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Generator, Iterable

from aiobotocore.session import AioSession
from botocore.exceptions import ClientError

from loadgen.drive.sans_io import run_steps_async
from loadgen.errors import LoadgenError
from loadgen.tf.env_model import ResolvedStack, ResourceInstance
from loadgen.tf.expressions import UNKNOWN

ACTIVE_TIMEOUT_S = 120.0
"""How long creation waits for a table or stream to become ACTIVE (moto is immediate; AWS takes seconds)."""
ACTIVE_POLL_S = 0.5


def _where(inst: ResourceInstance) -> str:
    return f"{inst.block.file}:{inst.block.line} {inst.address}"


def _required(inst: ResourceInstance, name: str) -> Any:
    value = inst.attribute(name)
    if value is UNKNOWN or value is None:
        raise LoadgenError(f"{_where(inst)}: `{name}` does not resolve; cannot create it on the target")
    return value


def _optional(inst: ResourceInstance, name: str, default: Any = None) -> Any:
    """An argument that may be absent or null (Terraform's default then applies); unresolvable is an error."""
    if name not in inst.block.body:
        return default
    value = inst.attribute(name)
    if value is UNKNOWN:
        raise LoadgenError(f"{_where(inst)}: `{name}` does not resolve; cannot create it on the target")
    return default if value is None else value


def _known(value: Any) -> Any:
    return None if value is UNKNOWN else value


@dataclass(frozen=True)
class TableDefinition:
    """One `aws_dynamodb_table` instance as the env defines it."""

    address: str
    name: str
    hash_key: str
    range_key: str | None
    attribute_types: dict[str, str]
    """Attribute name -> DynamoDB scalar type (S, N, B) of every declared attribute."""
    create_request: dict
    """Keyword arguments of CreateTable."""
    ttl_attribute: str | None
    """The TTL attribute when the table's ttl block enables it."""

    def key_type(self, attribute: str) -> str:
        return self.attribute_types.get(attribute, "S")


def _throughput(inst: ResourceInstance, body: dict, what: str) -> dict:
    read, write = _known(body.get("read_capacity")), _known(body.get("write_capacity"))
    if not isinstance(read, int) or not isinstance(write, int):
        raise LoadgenError(f"{_where(inst)}: {what} is PROVISIONED but read_capacity/write_capacity do not resolve "
                           f"to numbers ({read!r}, {write!r})")
    return {"ReadCapacityUnits": read, "WriteCapacityUnits": write}


def _projection(index: dict) -> dict:
    projection = {"ProjectionType": _known(index.get("projection_type")) or "ALL"}
    non_key = _known(index.get("non_key_attributes"))
    if non_key:
        projection["NonKeyAttributes"] = list(non_key)
    return projection


def _key_schema(hash_key: str, range_key: str | None) -> list[dict]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def table_definition(inst: ResourceInstance) -> TableDefinition:
    """The CreateTable call (and TTL) Terraform would make for this instance in its env."""
    name = _required(inst, "name")
    hash_key = _required(inst, "hash_key")
    range_key = _optional(inst, "range_key")
    attributes = inst.blocks("attribute")
    if not all(isinstance(a, dict) and _known(a.get("name")) and _known(a.get("type")) for a in attributes):
        raise LoadgenError(f"{_where(inst)}: an attribute block does not resolve; cannot create the table")
    types = {a["name"]: a["type"] for a in attributes}
    billing = _optional(inst, "billing_mode", "PROVISIONED")
    provisioned = billing == "PROVISIONED"
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": _key_schema(hash_key, range_key),
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in types.items()],
        "BillingMode": billing,
    }
    if provisioned:
        capacities = {"read_capacity": inst.attribute("read_capacity"),
                      "write_capacity": inst.attribute("write_capacity")}
        request["ProvisionedThroughput"] = _throughput(inst, capacities, f"table {name}")
    gsis = []
    for index in inst.blocks("global_secondary_index"):
        if not isinstance(index, dict) or _known(index.get("name")) is None or _known(index.get("hash_key")) is None:
            raise LoadgenError(f"{_where(inst)}: a global_secondary_index block does not resolve")
        gsi = {"IndexName": index["name"], "KeySchema": _key_schema(index["hash_key"], _known(index.get("range_key"))),
               "Projection": _projection(index)}
        if provisioned:
            gsi["ProvisionedThroughput"] = _throughput(inst, index, f"index {index['name']} of table {name}")
        gsis.append(gsi)
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    lsis = []
    for index in inst.blocks("local_secondary_index"):
        if not isinstance(index, dict) or _known(index.get("name")) is None or _known(index.get("range_key")) is None:
            raise LoadgenError(f"{_where(inst)}: a local_secondary_index block does not resolve")
        lsis.append({"IndexName": index["name"], "KeySchema": _key_schema(hash_key, index["range_key"]),
                     "Projection": _projection(index)})
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    if _optional(inst, "stream_enabled", False):
        request["StreamSpecification"] = {"StreamEnabled": True,
                                          "StreamViewType": _required(inst, "stream_view_type")}
    if _optional(inst, "deletion_protection_enabled", False):
        request["DeletionProtectionEnabled"] = True
    tags = _known(inst.attribute("tags")) if "tags" in inst.block.body else None
    if isinstance(tags, dict) and all(isinstance(v, str) for v in tags.values()) and tags:
        request["Tags"] = [{"Key": str(k), "Value": v} for k, v in tags.items()]
    ttl = next((t for t in inst.blocks("ttl") if isinstance(t, dict) and _known(t.get("enabled")) is True), None)
    return TableDefinition(inst.address, name, hash_key, range_key, types, request,
                           _known(ttl.get("attribute_name")) if ttl else None)


def table_definitions(resolved: ResolvedStack) -> list[TableDefinition]:
    """Every DynamoDB table of the stack for the env."""
    return [table_definition(inst) for inst in resolved.instances("aws_dynamodb_table")]


def find_table(resolved: ResolvedStack, name: str) -> TableDefinition:
    """The table the stack names `name` for the env (e.g. the TableName dimension of an alarm)."""
    for inst in resolved.instances("aws_dynamodb_table"):
        if _known(inst.attribute("name")) == name:
            return table_definition(inst)
    raise LoadgenError(f"{resolved.stack.path}: no aws_dynamodb_table is named '{name}' in env {resolved.env}")


@dataclass(frozen=True)
class StreamDefinition:
    """One `aws_kinesis_stream` instance as the env defines it."""

    address: str
    name: str
    shard_count: int | None
    """None in ON_DEMAND mode."""
    mode: str
    retention_hours: int | None
    create_request: dict


def stream_definition(inst: ResourceInstance) -> StreamDefinition:
    name = _required(inst, "name")
    modes = [m for m in inst.blocks("stream_mode_details") if isinstance(m, dict)]
    mode = _known(modes[0].get("stream_mode")) if modes else "PROVISIONED"
    if mode not in ("PROVISIONED", "ON_DEMAND"):
        raise LoadgenError(f"{_where(inst)}: stream_mode does not resolve to PROVISIONED or ON_DEMAND ({mode!r})")
    request: dict[str, Any] = {"StreamName": name, "StreamModeDetails": {"StreamMode": mode}}
    shards = None
    if mode == "PROVISIONED":
        shards = _required(inst, "shard_count")
        if not isinstance(shards, int) or shards < 1:
            raise LoadgenError(f"{_where(inst)}: shard_count resolves to {shards!r}, not a positive number")
        request["ShardCount"] = shards
    retention = _optional(inst, "retention_period")
    return StreamDefinition(inst.address, name, shards, mode, retention if isinstance(retention, int) else None,
                            request)


def stream_definitions(resolved: ResolvedStack) -> list[StreamDefinition]:
    """Every Kinesis stream of the stack for the env."""
    return [stream_definition(inst) for inst in resolved.instances("aws_kinesis_stream")]


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


async def _wait_active(describe, status_of, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ACTIVE_TIMEOUT_S
    while True:
        if status_of(await describe()) == "ACTIVE":
            return
        if loop.time() >= deadline:
            raise LoadgenError(f"{what} did not become ACTIVE within {ACTIVE_TIMEOUT_S:.0f}s")
        await asyncio.sleep(ACTIVE_POLL_S)


async def create_tables(resolved: ResolvedStack, client: Any) -> dict[str, str]:
    """Create every table of the stack for the env on the target behind `client` (an aiobotocore DynamoDB
    client); returns table name -> `created` or `exists` (an existing table is left as it is)."""
    outcome: dict[str, str] = {}
    for table in table_definitions(resolved):
        try:
            await client.create_table(**table.create_request)
        except ClientError as exc:
            if _code(exc) != "ResourceInUseException":
                raise LoadgenError(f"creating table {table.name} ({table.address}) failed: {exc}") from None
            outcome[table.name] = "exists"
            continue
        await _wait_active(lambda t=table: client.describe_table(TableName=t.name),
                           lambda r: r["Table"]["TableStatus"], f"table {table.name}")
        if table.ttl_attribute:
            await client.update_time_to_live(TableName=table.name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": table.ttl_attribute})
        outcome[table.name] = "created"
    return outcome


async def create_streams(resolved: ResolvedStack, client: Any) -> dict[str, str]:
    """Create every Kinesis stream of the stack for the env (shard count and mode of the env) on the target behind
    `client` (an aiobotocore Kinesis client); returns stream name -> `created` or `exists`."""
    outcome: dict[str, str] = {}
    for stream in stream_definitions(resolved):
        try:
            await client.create_stream(**stream.create_request)
        except ClientError as exc:
            if _code(exc) != "ResourceInUseException":
                raise LoadgenError(f"creating stream {stream.name} ({stream.address}) failed: {exc}") from None
            outcome[stream.name] = "exists"
            continue
        await _wait_active(lambda s=stream: client.describe_stream_summary(StreamName=s.name),
                           lambda r: r["StreamDescriptionSummary"]["StreamStatus"], f"stream {stream.name}")
        if stream.retention_hours and stream.retention_hours > 24:
            await client.increase_stream_retention_period(StreamName=stream.name,
                                                          RetentionPeriodHours=stream.retention_hours)
        outcome[stream.name] = "created"
    return outcome


BATCH_WRITE_ITEMS = 25
"""DynamoDB's BatchWriteItem limit."""


def table_at(resolved: ResolvedStack, address: str, role: str) -> TableDefinition:
    """The table at an aws_dynamodb_table instance address; `role` names the hot-path field that gave it."""
    table = next((table_definition(inst) for inst in resolved.instances("aws_dynamodb_table")
                  if inst.address == address), None)
    if table is None:
        raise LoadgenError(f"{resolved.stack.path}: no {address} in env {resolved.env}; fix the hot path's {role}")
    return table


def count_steps(table: TableDefinition) -> Generator[tuple[str, dict], dict, int]:
    """The table's item count, read by a paginated COUNT scan (local target: a small moto table), sans I/O
    (drive.sans_io): yields each ("Scan", request), is sent its answer."""
    count, start = 0, None
    while True:
        page = yield "Scan", {"TableName": table.name, "Select": "COUNT",
                              **({"ExclusiveStartKey": start} if start else {})}
        count += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return count


async def count_tables(client_kwargs: dict, tables: Iterable[TableDefinition]) -> dict[str, int]:
    """Item count per table name, over one DynamoDB client made with `client_kwargs` (local target only: a COUNT
    scan is not something to run on a real table)."""
    named = {table.name: table for table in tables}
    if not named:
        return {}
    async with AioSession().create_client("dynamodb", **client_kwargs) as client:
        return {name: await run_steps_async(count_steps(table), lambda call: client.scan(**call[1]))
                for name, table in named.items()}


async def prime_table(resolved: ResolvedStack, address: str, items: list[dict], client: Any, width: int = 8) -> int:
    """Put the world's state (`items`, DynamoDB JSON) into the table at `address` (an aws_dynamodb_table
    instance address) before a run; unprocessed items are retried until none is left. Returns items written."""
    table = table_at(resolved, address, "state_table")
    chunks = [items[i:i + BATCH_WRITE_ITEMS] for i in range(0, len(items), BATCH_WRITE_ITEMS)]

    async def write(chunk: list[dict]) -> None:
        requests = [{"PutRequest": {"Item": item}} for item in chunk]
        for _ in range(20):
            answer = await client.batch_write_item(RequestItems={table.name: requests})
            requests = answer.get("UnprocessedItems", {}).get(table.name, [])
            if not requests:
                return
            await asyncio.sleep(0.05)
        raise LoadgenError(f"priming {table.name}: {len(requests)} items stayed unprocessed; is the target healthy?")

    for start in range(0, len(chunks), width):
        await asyncio.gather(*(write(chunk) for chunk in chunks[start:start + width]))
    return len(items)
