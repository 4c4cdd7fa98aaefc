"""Validation of Kinesis record payloads against the stack's schemas/*.json (JSON Schema draft-04 subset).

The producers are generated from the same schema files, and archive_file packs the file next to this module
(`schemas/<name>.json`), so what the handlers accept is exactly what the schema says. Only the keywords the
record schemas use are implemented: type, required, additionalProperties, properties, enum, minimum, maximum,
pattern, minLength, maxLength, items, maxItems, uniqueItems. No third-party dependency (jsonschema is not in
the Lambda runtime).
"""

from __future__ import annotations

import base64
import json
import os
import re
from functools import lru_cache
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
# In the Lambda package the schemas sit beside this module; in the repository they are one level up.
_SEARCH_DIRS = (os.path.join(_HERE, "schemas"), os.path.join(_HERE, "..", "schemas"))


class RecordError(ValueError):
    """The payload is not valid for its schema; the message says which field and why."""


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """The parsed schema `schemas/<name>.json` (cached per container)."""
    for directory in _SEARCH_DIRS:
        path = os.path.join(directory, f"{name}.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
    raise FileNotFoundError(f"schema {name}.json not found in {_SEARCH_DIRS}")


@lru_cache(maxsize=None)
def _pattern(expression: str) -> re.Pattern:
    return re.compile(expression)


def _type_ok(value: Any, expected: str) -> bool:
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "string":
        return isinstance(value, str)
    if expected == "array":
        return isinstance(value, list)
    if expected == "object":
        return isinstance(value, dict)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "null":
        return value is None
    return False


def _check(value: Any, schema: dict, path: str) -> None:
    expected = schema.get("type")
    if expected is not None:
        types = expected if isinstance(expected, list) else [expected]
        if not any(_type_ok(value, t) for t in types):
            raise RecordError(f"{path}: expected {expected}, got {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise RecordError(f"{path}: {value!r} not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise RecordError(f"{path}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise RecordError(f"{path}: {value} > maximum {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise RecordError(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise RecordError(f"{path}: longer than {schema['maxLength']}")
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            raise RecordError(f"{path}: does not match {schema['pattern']}")
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise RecordError(f"{path}: more than {schema['maxItems']} items")
        if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
            raise RecordError(f"{path}: items are not unique")
        if isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                _check(item, schema["items"], f"{path}[{index}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                raise RecordError(f"{path}.{key}: required")
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(properties))
            if extra:
                raise RecordError(f"{path}: unexpected field(s) {', '.join(extra)}")
        for key, sub in properties.items():
            if key in value:
                _check(value[key], sub, f"{path}.{key}")


def validate(payload: Any, schema_name: str) -> dict:
    """Return the payload if it is valid for `schemas/<schema_name>.json`, else raise RecordError."""
    _check(payload, load_schema(schema_name), "$")
    return payload


def decode_kinesis(record: dict, schema_name: str) -> dict:
    """Decode one Lambda Kinesis event record (base64 JSON in record["kinesis"]["data"]) and validate it."""
    try:
        raw = base64.b64decode(record["kinesis"]["data"], validate=True)
        payload = json.loads(raw)
    except (KeyError, ValueError) as exc:
        raise RecordError(f"undecodable record: {exc}") from exc
    return validate(payload, schema_name)


def decode_firehose(record: dict, schema_name: str) -> dict:
    """Decode one Firehose transformation record (base64 JSON in record["data"]) and validate it."""
    try:
        payload = json.loads(base64.b64decode(record["data"], validate=True))
    except (KeyError, ValueError) as exc:
        raise RecordError(f"undecodable record: {exc}") from exc
    return validate(payload, schema_name)
