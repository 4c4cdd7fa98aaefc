"""POST /orders: validate the order against order_request.json and put it on the orders stream.

The same schemas/order_request.json that API Gateway's request validator uses is packaged next
to this handler, so both layers enforce identical rules (a small draft-04 subset validator is
below: type, required, properties, additionalProperties, items, min/maxItems,
min/maxLength, pattern, minimum/maximum, enum). Accepted orders are written with PutRecords,
PartitionKey = restaurant_id, so one restaurant's orders stay ordered on one shard.
Idempotency: the order_id is a UUIDv5 of (customer_id, client_request_id or Idempotency-Key
header) when one is given, so a client retry maps to the same order_id.
"""

import base64
import json
import os
import re
import time
import uuid
from pathlib import Path

import boto3

kinesis = boto3.client("kinesis")

ORDERS_STREAM = os.environ["ORDERS_STREAM"]
CORS_ALLOW_ORIGIN = os.environ.get("CORS_ALLOW_ORIGIN", "*")
SCHEMA = json.loads(Path(__file__).with_name("order_request.json").read_text())
ORDER_NAMESPACE = uuid.UUID("6f1c7d1e-2b0a-4c55-9d7e-5f1b2f0a9c41")
PUT_ATTEMPTS = 3

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def validate(value, schema, path="$"):
    """Errors of value against a draft-04 subset schema (empty list = valid)."""
    expected = schema.get("type")
    if expected and not _TYPES[expected](value):
        return [f"{path}: expected {expected}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: must be one of {schema['enum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: does not match {schema['pattern']}")
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: above {schema['maximum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: more than {schema['maxItems']} items")
        for i, item in enumerate(value):
            errors.extend(validate(item, schema.get("items", {}), f"{path}[{i}]"))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{path}.{name}: required")
        if schema.get("additionalProperties") is False:
            for name in value:
                if name not in props:
                    errors.append(f"{path}.{name}: not allowed")
        for name, sub in props.items():
            if name in value:
                errors.extend(validate(value[name], sub, f"{path}.{name}"))
    return errors


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": CORS_ALLOW_ORIGIN,
        },
        "body": json.dumps(body),
    }


def _header(event, name):
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def handler(event, context):
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8")
    try:
        order = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _response(400, {"message": "body must be JSON"})
    errors = validate(order, SCHEMA)
    if errors:
        return _response(400, {"message": "invalid order", "errors": errors[:20]})

    idempotency_key = order.get("client_request_id") or _header(event, "Idempotency-Key")
    if idempotency_key:
        order_id = str(uuid.uuid5(ORDER_NAMESPACE, f"{order['customer_id']}:{idempotency_key}"))
    else:
        order_id = str(uuid.uuid4())
    subtotal = round(sum(i["quantity"] * i["unit_price"] for i in order["items"]), 2)
    record = dict(order)
    record.update(
        {
            "order_id": order_id,
            "status": "placed",
            "subtotal": subtotal,
            "tip": order.get("tip", 0),
            "currency": order.get("currency", "USD"),
            "placed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "schema_version": 1,
        }
    )
    entry = {"Data": json.dumps(record).encode("utf-8"), "PartitionKey": order["restaurant_id"]}

    for attempt in range(PUT_ATTEMPTS):
        result = kinesis.put_records(StreamName=ORDERS_STREAM, Records=[entry])
        if result.get("FailedRecordCount", 0) == 0:
            shard = result["Records"][0]["ShardId"]
            print(json.dumps({"event": "order_accepted", "order_id": order_id, "restaurant_id": order["restaurant_id"], "shard": shard}))
            return _response(202, {"order_id": order_id, "status": "placed"})
        code = result["Records"][0].get("ErrorCode")
        print(json.dumps({"event": "order_put_retry", "order_id": order_id, "error": code, "attempt": attempt + 1}))
        time.sleep(0.05 * (2**attempt))
    return _response(503, {"message": "order intake is busy, retry with the same client_request_id"})
