"""Which tfvars variable sets a resource argument: the key a user edits to change a capacity.

Part of loadgen/tf (the Terraform reader). An argument's expression is followed through `each.value.x` (into the
local map its for_each iterates) and `local.x.y` to the `var.` references it reads; of those, the one whose value
for the env equals the argument's resolved value is its source (`gps_shard_count`, or `map_var.key.field` for a map
variable). Capacity models report it so a finding names the line of the .tfvars to change.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from loadgen.tf.env_model import ResolvedStack, ResourceInstance
from loadgen.tf.expressions import UNKNOWN
from loadgen.tf.hcl_reader import BLOCK_MARK

_VAR = re.compile(r"\bvar\.([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*|\[\"[^\"]+\"\])*)")
_EACH = re.compile(r"\beach\.value\.([A-Za-z_]\w*)")
_LOCAL = re.compile(r"\blocal\.([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)")


def _strings(raw: Any) -> Iterable[str]:
    if isinstance(raw, str):
        yield raw
    elif isinstance(raw, dict):
        for key, value in raw.items():
            if key != BLOCK_MARK:
                yield from _strings(value)
    elif isinstance(raw, list):
        for value in raw:
            yield from _strings(value)


def _walk(value: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return UNKNOWN
        value = value[part]
    return value


def _var_refs(resolved: ResolvedStack, inst: ResourceInstance, raw: Any, seen: set | None = None) -> list[tuple]:
    """(variable, path) of every variable the raw expression reads, through `each.value.x` and `local.x.y`."""
    seen = set() if seen is None else seen
    locals_ = resolved.stack.locals
    found: list[tuple] = []
    for text in _strings(raw):
        if text in seen:
            continue
        seen.add(text)
        for m in _VAR.finditer(text):
            path = [p.strip('.[]"') for p in re.findall(r'\.[A-Za-z_]\w*|\["[^"]+"\]', m.group(2))]
            found.append((m.group(1), tuple(path)))
        for m in _EACH.finditer(text):
            source = inst.block.body.get("for_each")
            local = _LOCAL.fullmatch(source.strip("${}")) if isinstance(source, str) else None
            if local and inst.key is not None:
                path = [p for p in local.group(2).split(".") if p] + [str(inst.key)]
                entry = _walk(locals_.get(local.group(1)), path)
                if isinstance(entry, dict) and m.group(1) in entry:
                    found += _var_refs(resolved, inst, entry[m.group(1)], seen)
        for m in _LOCAL.finditer(text):
            target = _walk(locals_.get(m.group(1)), [p for p in m.group(2).split(".") if p])
            if target is not UNKNOWN:
                found += _var_refs(resolved, inst, target, seen)
    return found


def tfvars_key(resolved: ResolvedStack, inst: ResourceInstance, raw: Any, value: Any, fallback: str) -> str:
    """The variable (or `map.path`) among those the expression reads whose value is the resolved capacity."""
    for name, path in _var_refs(resolved, inst, raw):
        current = _walk(resolved.variables.get(name, UNKNOWN), list(path)) if path else resolved.variables.get(name)
        if _number(current) is not None and _number(current) == _number(value):
            return ".".join((name, *path))
    return fallback


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
