"""Attributes known only after apply (ids, ARNs, endpoints), evaluated as named placeholders.

`ResolvedStack` evaluates `aws_lambda_function.this["x"].invoke_arn` or `aws_api_gateway_resource.a.id` to
UNKNOWN, which is right for reports but loses *which* resource an argument points at. Wiring that Terraform
resolves at apply time (a method's `resource_id`, an integration's `uri`, a Lambda's environment) is read here
instead: `ComputedView(resolved).instance(inst)` re-evaluates an instance in a scope where every attribute that
does not resolve is a `Computed` string naming the resource address and attribute, `<<aws_sns_topic.x.arn>>`,
which templates embed and callers look up (`computed_refs`) or replace with a local stand-in.
"""

from __future__ import annotations

import re
from typing import Any

from loadgen.tf.env_model import ResolvedStack, ResourceInstance
from loadgen.tf.expressions import UNKNOWN, Scope

_REF = re.compile(r"<<(?P<address>[a-z0-9_]+\.[A-Za-z0-9_-]+(?:\[[^\]]*\])?)\.(?P<attribute>[A-Za-z0-9_.]+)>>")


class Computed(str):
    """An attribute that exists only after apply, as the text `<<address.attribute>>`."""

    address: str
    path: str

    def __new__(cls, address: str, path: str) -> "Computed":
        made = super().__new__(cls, f"<<{address}.{path}>>")
        made.address, made.path = address, path
        return made

    def attribute(self, name: str) -> "Computed":
        return Computed(self.address, f"{self.path}.{name}")

    def element(self, index: Any) -> "Computed":
        return Computed(self.address, f"{self.path}.{index}")


def computed_refs(value: Any) -> list[tuple[str, str]]:
    """(address, attribute) of every placeholder in a string (or the strings inside a list or dict)."""
    if isinstance(value, str):
        return [(m.group("address"), m.group("attribute")) for m in _REF.finditer(value)]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in computed_refs(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in computed_refs(item)]
    return []


def substitute(value: str, replace) -> str:
    """The string with each placeholder replaced by `replace(address, attribute)`."""
    return _REF.sub(lambda m: replace(m.group("address"), m.group("attribute")), value)


class _Placeholding:
    """A resource instance whose unresolvable attributes are placeholders."""

    def __init__(self, instance: ResourceInstance):
        self.instance = instance

    def attribute(self, name: str) -> Any:
        value = self.instance.attribute(name)
        return Computed(self.instance.address, name) if value is UNKNOWN else value


def _wrap(value: Any) -> Any:
    if isinstance(value, ResourceInstance):
        return _Placeholding(value)
    if isinstance(value, dict):
        return {k: _wrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class ComputedView:
    """A ResolvedStack in which references to computed attributes are placeholders instead of UNKNOWN."""

    def __init__(self, resolved: ResolvedStack):
        self.resolved = resolved
        base = resolved.scope
        self.scope = Scope(base.variables, base.locals_source,
                           lambda type_, name: _wrap(base.resolve_resource(type_, name)),
                           path_module=base.path_module,
                           resolve_data=lambda type_, name: _wrap(base.resolve_data(type_, name)))

    def instance(self, inst: ResourceInstance) -> ResourceInstance:
        """The same instance, its arguments evaluated with placeholders (its `each.value` too)."""
        if inst.scope.each is None:
            return ResourceInstance(inst.block, inst.key, self.scope)
        items = ResourceInstance(inst.block, None, self.scope).value(inst.block.body.get("for_each"))
        value = items.get(inst.key, UNKNOWN) if isinstance(items, dict) else inst.key
        return ResourceInstance(inst.block, inst.key, self.scope.with_each(inst.key, value))

    def instances(self, type_name: str, kind: str = "resource") -> list[ResourceInstance]:
        return [self.instance(inst) for inst in self.resolved.instances(type_name, kind)]


def reference(value: Any) -> tuple[str, str] | None:
    """(address, attribute) when the value is exactly one placeholder (an argument that points at a resource's
    computed attribute, e.g. an integration's `uri`), else None."""
    refs = computed_refs(value) if isinstance(value, str) else []
    return refs[0] if len(refs) == 1 and value == f"<<{refs[0][0]}.{refs[0][1]}>>" else None


def known(value: Any) -> Any:
    """The value, or None when it does not resolve."""
    return None if value is UNKNOWN else value
