"""`loadgen tf check`: the rules every stack keeps so that dev, staging and prod differ only in capacities.

Parity is checked where it can break: the tfvars (same keys everywhere; values that differ only for keys whose
names say they are capacities, rates, thresholds, retentions or sizes, never for a key tagged as a compliance
rule (`compliance_` prefix: a regulatory retention or TTL is a rule, not a capacity) and never for a variable
that feeds a `count` or `for_each`), the variables (declared, and set where they have no default) and the alarms (a numeric
threshold in every env). Local modules are followed: each call passes only variables the module declares and
every variable without a default, the module's own references resolve, its alarms are judged with the values
the envs pass down, and (`--schema`) its resources are checked against the AWS provider schema too.
"""

from __future__ import annotations


from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from loadgen.tf.alarm_thresholds import alarms
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.expressions import UNKNOWN, Scope, evaluate_value, references
from loadgen.tf.hcl_reader import ENVS, Stack, attributes
from loadgen.tf.variable_types import problems

CAPACITY_TOKENS = (
    "memory", "timeout", "concurrency", "concurrent", "capacity", "rcu", "wcu", "shard", "throttle", "rate",
    "burst", "limit", "quota", "threshold", "retention", "size", "days", "hours", "seconds", "minutes", "ttl",
    "node_type", "instance_class", "num_cache_clusters", "replicas", "node_groups", "min_", "max_", "interval",
    "batch", "parallelization", "buffer", "cidr",
)
ENV_KEYS = ("env", "environment")
COMPLIANCE_PREFIX = "compliance_"
"""Keys named `compliance_*` are compliance rules (DOT record retention, a spec's TTL): the same in every env."""


@dataclass(frozen=True)
class Finding:
    """One broken rule: where (file, line), which key, and why."""

    stack: str
    file: str
    line: int | None
    key: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}"

    def to_json(self) -> dict:
        return asdict(self)


def is_compliance_key(key: str) -> bool:
    """True if the key is tagged as a compliance rule, which no env may change."""
    return key.lower().startswith(COMPLIANCE_PREFIX)


def is_capacity_key(key: str) -> bool:
    """True if the variable's name says it is a capacity, rate, threshold, retention or size."""
    return key in ENV_KEYS or any(token in key.lower() for token in CAPACITY_TOKENS)


def _shape(resolved: ResolvedStack, block) -> Any:
    """How many instances a block has in an env: its for_each keys, its count, or UNKNOWN."""
    instances = resolved.instances_of(block)
    if instances is None:
        return UNKNOWN
    return sorted(str(i.key) for i in instances) if "for_each" in block.body else len(instances)


def _transitive_variables(stack: Stack, value: Any) -> set[str]:
    local_refs = {name: references(v) for name, v in stack.locals.items()}
    pending, seen, found = list(references(value)), set(), set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        root, name = ref.split(".", 1)
        if root == "var":
            found.add(name)
        else:
            pending.extend(local_refs.get(name, ()))
    return found


def _resolved_module(resolved: ResolvedStack, prefix: str) -> ResolvedStack | None:
    if resolved.prefix == prefix:
        return resolved
    for child in resolved.children:
        if prefix.startswith(child.prefix):
            return _resolved_module(child, prefix)
    return None


def _module_topology(stack: Stack, differing: dict[str, dict[str, Any]],
                     resolved: dict[str, ResolvedStack]) -> dict[str, str]:
    """Differing root variables that reach a module's count/for_each through the module calls' arguments."""
    from loadgen.tf.env_model import MODULE_META

    shaped: dict[str, str] = {}

    def visit(parent: Stack, roots_of: dict[str, set[str]], prefix: str) -> None:
        for call in parent.of_kind("module"):
            child = parent.modules.get(call.labels[0])
            if child is None:
                continue
            child_roots = {}
            for arg, value in attributes(call.body):
                if arg in MODULE_META:
                    continue
                roots = set().union(*(roots_of.get(v, set()) for v in _transitive_variables(parent, value)))
                if roots:
                    child_roots[arg] = roots
            child_prefix = f"{prefix}module.{call.labels[0]}."
            for block in child.blocks:
                if block.kind not in ("resource", "data") or not ({"count", "for_each"} & set(block.body)):
                    continue
                meta = block.body.get("for_each", block.body.get("count"))
                suspects = set().union(*(child_roots.get(v, set()) for v in _transitive_variables(child, meta)))
                if not suspects:
                    continue
                shapes = {}
                for env, r in resolved.items():
                    module = _resolved_module(r, child_prefix)
                    shapes[env] = _shape(module, block) if module is not None else UNKNOWN
                if any(v is UNKNOWN for v in shapes.values()) or len({repr(v) for v in shapes.values()}) > 1:
                    described = ", ".join(f"{env}: {'?' if v is UNKNOWN else v}" for env, v in shapes.items())
                    for name in sorted(suspects):
                        shaped.setdefault(name, f"{child_prefix}{block.address} ({described})")
            visit(child, child_roots, child_prefix)

    visit(stack, {name: {name} for name in differing}, "")
    return shaped


def topology_variables(stack: Stack, differing: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Differing variables that change how many instances a block has (count/for_each), mapped to why; blocks
    of local modules count too, when the variable reaches their count/for_each through the module call."""
    resolved = {env: ResolvedStack(stack, env) for env in stack.tfvars}
    shaped: dict[str, str] = dict(_module_topology(stack, differing, resolved)) if stack.modules else {}
    for block in stack.blocks:
        if block.kind not in ("resource", "data") or not ({"count", "for_each"} & set(block.body)):
            continue
        meta = block.body.get("for_each", block.body.get("count"))
        suspects = sorted(_transitive_variables(stack, meta) & set(differing))
        if not suspects:
            continue
        shapes = {env: _shape(r, block) for env, r in resolved.items()}
        if any(v is UNKNOWN for v in shapes.values()) or len({repr(v) for v in shapes.values()}) > 1:
            described = ", ".join(f"{env}: {'?' if v is UNKNOWN else v}" for env, v in shapes.items())
            for name in suspects:
                shaped.setdefault(name, f"{block.address} ({described})")
    return shaped


def _undeclared_references(stack: Stack) -> Iterator[Finding]:
    declared = set(stack.variables)
    local_lines = stack.local_lines()
    for block in stack.blocks:
        if block.kind == "locals":
            for name, value in block.body.items():
                for ref in sorted(references(value)):
                    if ref.startswith("var.") and ref[4:] not in declared:
                        file, line = local_lines.get(name, (block.file, block.line))
                        yield Finding(stack.name, str(file), line, ref, "undeclared_variable",
                                      f"used by local.{name} but not declared; add a variable block")
            continue
        for ref in sorted(references(block.body)):
            if ref.startswith("var.") and ref[4:] not in declared:
                yield Finding(stack.name, str(block.file), block.line, ref, "undeclared_variable",
                              f"used by {block.address} but not declared; add a variable block")
            if ref.startswith("local.") and ref[6:] not in stack.locals:
                yield Finding(stack.name, str(block.file), block.line, ref, "undeclared_local",
                              f"used by {block.address} but no locals block defines it")


def _tfvars_keys(stack: Stack) -> Iterator[Finding]:
    if sorted(stack.tfvars) != sorted(ENVS):
        missing = [env for env in ENVS if env not in stack.tfvars]
        yield Finding(stack.name, str(stack.path), None, ",".join(missing), "missing_tfvars",
                      f"no {', '.join(e + '.tfvars' for e in missing)}; every stack has dev, staging and prod")
    all_keys = set().union(*(t.values for t in stack.tfvars.values())) if stack.tfvars else set()
    for env, tfvars in stack.tfvars.items():
        for key in sorted(all_keys - set(tfvars.values)):
            others = [e for e, t in stack.tfvars.items() if key in t.values]
            yield Finding(stack.name, str(tfvars.path), None, key, "tfvars_keys",
                          f"set in {', '.join(others)} but not in {env}; every env sets the same keys")
        for key in sorted(set(tfvars.values) - set(stack.variables)):
            yield Finding(stack.name, str(tfvars.path), tfvars.lines.get(key), key, "undeclared_variable",
                          "set in tfvars but no variable declares it")
    for name, block in stack.variables.items():
        if "default" in block.body:
            continue
        for env, tfvars in stack.tfvars.items():
            if name not in tfvars.values:
                yield Finding(stack.name, str(tfvars.path), None, name, "unset_variable",
                              f"has no default and {env}.tfvars does not set it")


def _describe(values: dict[str, Any]) -> str:
    return ", ".join(f"{env}={str(value)[:40]}" for env, value in values.items())


def _value_differences(stack: Stack) -> Iterator[Finding]:
    empty = Scope(variables={})
    common = set.intersection(*(set(t.values) for t in stack.tfvars.values())) if stack.tfvars else set()
    differing = {}
    for key in sorted(common):
        values = {env: evaluate_value(t.values[key], empty) for env, t in stack.tfvars.items()}
        if len({repr(v) for v in values.values()}) > 1:
            differing[key] = values
    shaped = topology_variables(stack, differing)
    for key, values in differing.items():
        env, tfvars = next((e, t) for e, t in reversed(stack.tfvars.items()))
        where = (str(tfvars.path), tfvars.lines.get(key))
        lengths = {len(v) for v in values.values() if isinstance(v, (list, dict))}
        if key in shaped:
            reason = f"differs between envs ({_describe(values)}) and changes the instances of {shaped[key]}"
        elif is_compliance_key(key):
            yield from _compliance_differences(stack, key, values)
            continue
        elif len(lengths) > 1:
            reason = f"differs in length between envs ({_describe(values)}); resource counts must be identical"
        elif not is_capacity_key(key):
            reason = (f"differs between envs ({_describe(values)}) but is not a capacity/rate/threshold/"
                      "retention/size key; topology must be identical")
        else:
            continue
        yield Finding(stack.name, where[0], where[1], key, "topology_diff", reason)


def _compliance_differences(stack: Stack, key: str, values: dict[str, Any]) -> Iterator[Finding]:
    """One finding per env whose compliance value departs from the value most envs (prod on a tie) set."""
    counts: dict[str, int] = {}
    for value in values.values():
        counts[repr(value)] = counts.get(repr(value), 0) + 1
    reference = max(counts, key=lambda v: (counts[v], v == repr(values.get("prod"))))
    for env, value in values.items():
        if repr(value) == reference:
            continue
        tfvars = stack.tfvars[env]
        yield Finding(stack.name, str(tfvars.path), tfvars.lines.get(key), key, "compliance_diff",
                      f"is a compliance rule and differs between envs ({_describe(values)}); "
                      "compliance retentions/TTLs are the same in every env")


def _alarm_thresholds(stack: Stack) -> Iterator[Finding]:
    for env in stack.tfvars:
        for alarm in alarms(ResolvedStack(stack, env)):
            if not alarm.threshold_is_number and not alarm.compares_to_metric:
                yield Finding(stack.name, alarm.file, alarm.line, alarm.address, "alarm_threshold",
                              f"threshold does not resolve to a number in {env} "
                              f"(got {alarm.threshold!r}); use a var set in {env}.tfvars")


def _module_stacks(stack: Stack) -> Iterator[Stack]:
    """Every local module a stack calls, at any depth."""
    for child in stack.modules.values():
        yield child
        yield from _module_stacks(child)


def _module_inputs(stack: Stack) -> Iterator[Finding]:
    """A module call passes only declared variables and every variable that has no default."""
    from loadgen.tf.env_model import MODULE_META

    for parent in (stack, *_module_stacks(stack)):
        for block in parent.of_kind("module"):
            child = parent.modules.get(block.labels[0])
            if child is None:
                continue
            passed = {k for k, _ in attributes(block.body) if k not in MODULE_META}
            for name in sorted(passed - set(child.variables)):
                yield Finding(stack.name, str(block.file), block.line, f"{block.address}.{name}", "module_input",
                              f"passes {name}, which {child.path.name} does not declare")
            for name, variable in sorted(child.variables.items()):
                if name not in passed and "default" not in variable.body:
                    yield Finding(stack.name, str(block.file), block.line, f"{block.address}.{name}", "module_input",
                                  f"does not pass {name}, which {child.path.name} requires (no default)")


def check_stack(stack: Stack) -> list[Finding]:
    """Every parity and reader rule for one stack (and the local modules it calls)."""
    findings = list(_undeclared_references(stack))
    for child in _module_stacks(stack):
        findings += _undeclared_references(child)
    findings += _module_inputs(stack)
    findings += _tfvars_keys(stack)
    typed = list(_variable_types(stack))
    if typed:  # an env whose values its types refuse does not resolve (terraform plan would stop there too)
        return findings + typed
    findings += _value_differences(stack)
    findings += _alarm_thresholds(stack)
    return findings


def _variable_types(stack: Stack) -> Iterator[Finding]:
    for env, tfvars in stack.tfvars.items():
        for problem in problems(stack, env, tfvars):
            yield Finding(stack.name, problem.file, problem.line, problem.variable, "variable_type", problem.message)


def schema_findings(stack: Stack, schema: dict) -> list[Finding]:
    from loadgen.tf.provider_schema import check_blocks

    blocks = [b for s in (stack, *_module_stacks(stack)) for b in s.blocks]
    return [Finding(stack.name, f.file, f.line, f.address, "schema", f.message)
            for f in check_blocks(blocks, schema)]


def relative(findings: Iterable[Finding], root: Path) -> list[Finding]:
    """Findings with paths relative to `root` where possible (reports never carry this machine's paths)."""
    out = []
    for f in findings:
        try:
            file = str(Path(f.file).resolve().relative_to(root.resolve()))
        except ValueError:
            file = f.file
        out.append(Finding(f.stack, file, f.line, f.key, f.rule, f.message))
    return out



