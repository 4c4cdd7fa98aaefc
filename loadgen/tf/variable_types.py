"""An env's variable values checked as `terraform plan` checks them: against each variable's declared `type`
(with Terraform's conversions: "5" is a number, 5 a string) and its `validation` blocks.

Where it sits: under loadgen.tf.env_model (every command that resolves an env refuses a value of the wrong type
in one line, before anything reads it) and loadgen.tf.stack_check (`tf check` lists every such value as a
finding). Without it a `gps_shard_count = "many"` passed every check and reached the capacity model as a string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from loadgen.tf.expressions import UNKNOWN, Scope, evaluate_value
from loadgen.tf.hcl_reader import Stack, TfvarsFile

_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_-]*)|(.))")


@dataclass(frozen=True)
class TypeProblem:
    """A value that does not fit its variable: where it is set, and what is wrong."""

    file: str
    line: int | None
    variable: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line or 1}: {self.message}"


def parse_type(text: str) -> Any:
    """A type constraint as data: "number", ("list", t), ("set", t), ("map", t), ("object", {k: t}),
    ("tuple", [t, ...]) or "any"; None when the text is not one the reader knows (then nothing is checked)."""
    text = text.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    tokens = [name or symbol for name, symbol in _TOKEN.findall(text) if name or symbol.strip()]
    try:
        parsed, rest = _parse(tokens)
    except (IndexError, ValueError):
        return None
    return parsed if not rest else None


def _parse(tokens: list[str]) -> tuple[Any, list[str]]:
    head, rest = tokens[0], tokens[1:]
    if head in ("number", "string", "bool", "any"):
        return head, rest
    if head in ("list", "set", "map") and rest[0] == "(":
        inner, rest = _parse(rest[1:])
        if rest[0] != ")":
            raise ValueError(head)
        return (head, inner), rest[1:]
    if head == "object" and rest[:2] == ["(", "{"]:
        fields, rest = {}, rest[2:]
        while rest[0] != "}":
            name, rest = rest[0], rest[1:]
            if rest[0] not in ("=", ":"):
                raise ValueError(name)
            fields[name], rest = _parse(rest[1:])
            if rest[0] == ",":
                rest = rest[1:]
        if rest[1] != ")":
            raise ValueError(head)
        return ("object", fields), rest[2:]
    raise ValueError(head)


def conform(value: Any, kind: Any, where: str = "") -> str | None:
    """Why `value` cannot be converted to `kind` (None when it can, or when either is not known)."""
    if value is UNKNOWN or kind in (None, "any"):
        return None
    if kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return None
        if isinstance(value, str):
            try:
                float(value)
                return None
            except ValueError:
                pass
        return f"{where or 'the value'} = {value!r} is not a number"
    if kind == "bool":
        return None if isinstance(value, bool) or value in ("true", "false") else \
            f"{where or 'the value'} = {value!r} is not a bool (true or false)"
    if kind == "string":
        return None if isinstance(value, (str, int, float, bool)) else \
            f"{where or 'the value'} = {value!r} is not a string"
    shape, inner = kind
    if shape in ("list", "set", "tuple"):
        if not isinstance(value, list):
            return f"{where or 'the value'} is not a {shape}"
        return next((p for i, item in enumerate(value)
                     if (p := conform(item, inner if shape != "tuple" else None, f"{where}[{i}]"))), None)
    if not isinstance(value, dict):
        return f"{where or 'the value'} is not a {shape}"
    if shape == "map":
        return next((p for k, item in value.items() if (p := conform(item, inner, f"{where}[{k!r}]"))), None)
    missing = [k for k in inner if k not in value]
    if missing:
        return f"{where or 'the value'} lacks the attribute {missing[0]!r} its object type requires"
    return next((p for k, t in inner.items() if (p := conform(value[k], t, f"{where}.{k}" if where else k))), None)


def problems(stack: Stack, env: str, tfvars: TfvarsFile) -> Iterator[TypeProblem]:
    """Every value the env's tfvars (or a default) gives a variable that its type or a validation refuses."""
    empty = Scope(variables={})
    for name, block in stack.variables.items():
        if name in tfvars.values:
            raw, file, line = tfvars.values[name], str(tfvars.path), tfvars.lines.get(name)
        elif "default" in block.body:
            raw, file, line = block.body["default"], str(block.file), block.line
        else:
            continue
        value = evaluate_value(raw, empty)
        kind = parse_type(block.body["type"]) if isinstance(block.body.get("type"), str) else None
        wrong = conform(value, kind, name)
        if wrong:
            yield TypeProblem(file, line, name, f"{wrong} (declared type = "
                              f"{block.body['type'].removeprefix('${').removesuffix('}')})")
            continue
        for rule in block.body.get("validation", []):
            holds = evaluate_value(rule.get("condition"), Scope(variables={name: value}))
            if holds is False:
                message = evaluate_value(rule.get("error_message"), empty)
                yield TypeProblem(file, line, name, f"{name} = {value!r} fails its validation: {message}")
