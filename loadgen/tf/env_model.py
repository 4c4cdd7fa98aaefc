"""One stack resolved for one env: variables from defaults + tfvars, locals, and resource instances.

This is the reader's view that alarms, capacities and (later) the local target's tables and streams are read
from: `ResolvedStack(stack, "prod").instances("aws_kinesis_stream")` gives each stream instance (a `for_each`
expanded to its keys) whose arguments evaluate to what prod would get. Local modules are followed: a module
call's arguments, evaluated in the caller's scope, are the child's variables, and the child's instances come
back with addresses like `module.database.aws_rds_cluster_instance.writer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from loadgen.errors import LoadgenError
from loadgen.tf import variable_types
from loadgen.tf.expressions import UNKNOWN, ExpressionError, Scope, evaluate_value
from loadgen.tf.hcl_reader import Block, Stack, attributes, check_env, is_block_list

MODULE_META = {"source", "version", "count", "for_each", "depends_on", "providers"}


def variable_values(stack: Stack, env: str) -> dict[str, Any]:
    """Every declared variable's value for the env: its tfvars value, else its default, else UNKNOWN. A value its
    variable's type or validation refuses is one LoadgenError line, as `terraform plan` would refuse it."""
    tfvars = check_env(stack, env)
    wrong = next(variable_types.problems(stack, env, tfvars), None)
    if wrong is not None:
        raise LoadgenError(f"{str(wrong).rstrip('.')}; fix the value")
    empty = Scope(variables={})
    values: dict[str, Any] = {}
    for name, block in stack.variables.items():
        if name in tfvars.values:
            values[name] = evaluate_value(tfvars.values[name], empty)
        elif "default" in block.body:
            values[name] = evaluate_value(block.body["default"], empty)
        else:
            values[name] = UNKNOWN
    return values


@dataclass
class ResourceInstance:
    """One instance of a resource block: the block plus its `each.key`/`each.value` (or count index)."""

    block: Block
    key: Any
    scope: Scope
    prefix: str = ""
    """`module.<call>.` for an instance of a child module's block, "" in the root."""

    @property
    def address(self) -> str:
        base = self.prefix + self.block.address
        if self.key is None:
            return base
        return f'{base}["{self.key}"]' if isinstance(self.key, str) else f"{base}[{self.key}]"

    def value(self, raw: Any) -> Any:
        """Evaluate a piece of this instance's body (an argument or nested block body)."""
        try:
            return evaluate_value(raw, self.scope)
        except (ExpressionError, TypeError, KeyError, IndexError, ValueError, ZeroDivisionError):
            return UNKNOWN

    def attribute(self, name: str) -> Any:
        raw = self.block.body.get(name, UNKNOWN)
        if raw is UNKNOWN:
            return UNKNOWN
        if is_block_list(raw, name):
            return [self.value(body) for body in raw]
        return self.value(raw)

    def blocks(self, name: str) -> list[dict]:
        """Evaluated bodies of the nested blocks `name` (static ones; dynamic blocks are expanded too)."""
        found = [self.value(body) for body in self.block.body.get(name, []) if isinstance(body, dict)]
        for dynamic in self.block.body.get("dynamic", []):
            spec = dynamic.get(f'"{name}"')
            if not spec:
                continue
            items = self.value(spec.get("for_each"))
            if not isinstance(items, (dict, list)):
                continue
            pairs = items.items() if isinstance(items, dict) else enumerate(items)
            content = spec.get("content", [{}])[0]
            for key, item in pairs:
                iterator = {"key": key, "value": item}
                found.append(_evaluate_with_iterator(content, self.scope, name, iterator))
        return found


def _evaluate_with_iterator(content: dict, scope: Scope, name: str, iterator: dict) -> Any:
    """A dynamic block's content sees its iterator as `<name>.key` / `<name>.value`."""
    inner = Scope(scope.variables, scope.locals_source, scope.resolve_resource, scope.each, scope.path_module,
                  scope.resolve_data)
    original = inner.resolve_resource

    def resolve(type_: str, attr: str) -> Any:
        if type_ == name:
            return iterator.get(attr, UNKNOWN)
        return original(type_, attr)

    inner.resolve_resource = resolve
    try:
        return evaluate_value(content, inner)
    except (ExpressionError, TypeError, KeyError, IndexError, ValueError, ZeroDivisionError):
        return UNKNOWN


class ResolvedStack:
    """A stack as one env sees it."""

    def __init__(self, stack: Stack, env: str, variables: dict[str, Any] | None = None, prefix: str = ""):
        self.stack = stack
        self.env = env
        self.prefix = prefix
        self.variables = variable_values(stack, env) if variables is None else variables
        self._blocks = {(b.kind, b.labels[:2]): b for b in stack.blocks if b.kind in ("resource", "data")}
        self.scope = Scope(self.variables, stack.locals, self._resolve_resource, path_module=str(stack.path),
                           resolve_data=self._resolve_data)
        self._expanded: dict[str, Any] = {}
        self._children: list[ResolvedStack] | None = None

    @property
    def children(self) -> list["ResolvedStack"]:
        """The local modules this stack calls, each resolved with the variables its call passes."""
        if self._children is None:
            self._children = []
            empty = Scope(variables={})
            for block in self.stack.of_kind("module"):
                child = self.stack.modules.get(block.labels[0])
                if child is None:
                    continue
                call = ResourceInstance(block, None, self.scope)
                passed = {k: call.value(v) for k, v in attributes(block.body) if k not in MODULE_META}
                values = {}
                for name, variable in child.variables.items():
                    if name in passed:
                        values[name] = passed[name]
                    elif "default" in variable.body:
                        values[name] = evaluate_value(variable.body["default"], empty)
                    else:
                        values[name] = UNKNOWN
                self._children.append(ResolvedStack(child, self.env, values, f"{self.prefix}module.{block.labels[0]}."))
        return self._children

    def _resolve_resource(self, type_: str, name: str) -> Any:
        return self._resolve(self._blocks.get(("resource", (type_, name))))

    def _resolve_data(self, type_: str, name: str) -> Any:
        return self._resolve(self._blocks.get(("data", (type_, name))))

    def _resolve(self, block: Block | None) -> Any:
        if block is None:
            return UNKNOWN
        instances = self.instances_of(block)
        if "for_each" in block.body:
            return {inst.key: inst for inst in instances} if instances is not None else UNKNOWN
        if "count" in block.body:
            return list(instances) if instances is not None else UNKNOWN
        return instances[0] if instances else UNKNOWN

    def instances_of(self, block: Block) -> list[ResourceInstance] | None:
        if block.address in self._expanded:
            return self._expanded[block.address]
        self._expanded[block.address] = None  # guards against a reference cycle
        instances: list[ResourceInstance] | None
        if "for_each" in block.body:
            items = ResourceInstance(block, None, self.scope).value(block.body["for_each"])
            if isinstance(items, dict):
                instances = [ResourceInstance(block, k, self.scope.with_each(k, v), self.prefix) for k, v in items.items()]
            elif isinstance(items, list) and all(isinstance(i, str) for i in items):
                instances = [ResourceInstance(block, k, self.scope.with_each(k, k), self.prefix) for k in items]
            else:
                instances = None
        elif "count" in block.body:
            count = ResourceInstance(block, None, self.scope).value(block.body["count"])
            instances = [ResourceInstance(block, i, self.scope, self.prefix) for i in range(count)] if isinstance(count, int) else None
        else:
            instances = [ResourceInstance(block, None, self.scope, self.prefix)]
        self._expanded[block.address] = instances
        return instances

    def instances(self, type_name: str, kind: str = "resource") -> Iterator[ResourceInstance]:
        """Every instance of every resource (or `kind="data"` data source) of this type, in this stack and the
        local modules it calls; a for_each that cannot be resolved yields one instance with key None so its
        arguments are still reported."""
        for block in self.stack.of_kind(kind):
            if block.labels[0] != type_name:
                continue
            expanded = self.instances_of(block)
            yield from expanded if expanded is not None else [ResourceInstance(block, None, self.scope, self.prefix)]
        for child in self.children:
            yield from child.instances(type_name, kind)
