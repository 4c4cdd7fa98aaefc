"""Evaluates the HCL expressions python-hcl2 hands back as strings, for one env's resolved variables.

The reader needs values, not text: an alarm's threshold for prod, a stream's shard count, the keys a `for_each`
expands to. This module parses the expression language (literals, templates, references, operators,
conditionals, function calls, `for` expressions, splats) and evaluates what can be known from tfvars alone.
Anything only known after apply (an ARN, a generated id, a file on disk) evaluates to `UNKNOWN`, which spreads
through every operation that touches it instead of guessing.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable


class _Unknown:
    """A value Terraform only knows after apply (or that this evaluator cannot compute)."""

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False

    def __copy__(self) -> "_Unknown":
        return self

    def __deepcopy__(self, memo: dict) -> "_Unknown":
        return self


UNKNOWN = _Unknown()


class ExpressionError(ValueError):
    """The text is not an HCL expression this evaluator can parse."""


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|\[\*\]|\.\*|[-+*/%<>!?:.,()\[\]{}=])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _scan_string(text: str, start: int) -> int:
    """Index just past the closing quote of the string starting at text[start] == '"'."""
    i, depth = start + 1, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if depth == 0 and ch == '"':
            return i + 1
        if ch in "$%" and text.startswith("{", i + 1) and not text.startswith(ch * 2, i - 1):
            depth += 1
            i += 2
            continue
        if depth and ch == '"':
            i = _scan_string(text, i)
            continue
        if depth and ch == "{":
            depth += 1
        elif depth and ch == "}":
            depth -= 1
        i += 1
    raise ExpressionError(f"unterminated string in {text!r}")


def tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos] == '"':
            end = _scan_string(text, pos)
            tokens.append(_Token("string", text[pos + 1:end - 1]))
            pos = end
            continue
        if text.startswith("<<", pos):
            raise ExpressionError("heredoc inside an expression")
        match = _TOKEN.match(text, pos)
        if not match:
            raise ExpressionError(f"unexpected character {text[pos]!r} in {text!r}")
        pos = match.end()
        if match.lastgroup != "ws":
            tokens.append(_Token(match.lastgroup, match.group()))
    tokens.append(_Token("end", ""))
    return tokens


# --- syntax tree: tuples of (tag, ...) keep the parser and evaluator small ---------------------------------


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def take(self, text: str | None = None) -> _Token:
        token = self.peek()
        if text is not None and token.text != text:
            raise ExpressionError(f"expected {text!r}, found {token.text!r}")
        self.pos += 1
        return token

    def at(self, *texts: str) -> bool:
        return self.peek().kind in ("op", "ident") and self.peek().text in texts

    def skip_newline_commas(self) -> None:
        while self.at(","):
            self.take()

    def parse(self) -> tuple:
        node = self.expression()
        if self.peek().kind != "end":
            raise ExpressionError(f"unexpected {self.peek().text!r}")
        return node

    def expression(self) -> tuple:
        node = self.binary(0)
        if self.at("?"):
            self.take()
            then = self.expression()
            self.take(":")
            return ("cond", node, then, self.expression())
        return node

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> tuple:
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in self._LEVELS[level]:
            op = self.take().text
            node = ("bin", op, node, self.binary(level + 1))
        return node

    def unary(self) -> tuple:
        if self.at("-", "!"):
            op = self.take().text
            return ("unary", op, self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: tuple) -> tuple:
        while True:
            if self.at("."):
                self.take()
                token = self.take()
                node = ("attr", node, token.text)
            elif self.at("["):
                self.take()
                index = self.expression()
                self.take("]")
                node = ("index", node, index)
            elif self.at("[*]", ".*"):
                self.take()
                rest: list[tuple] = []
                while self.at(".") or self.at("["):
                    if self.at("."):
                        self.take()
                        rest.append(("attr", self.take().text))
                    else:
                        self.take()
                        rest.append(("index", self.expression()))
                        self.take("]")
                node = ("splat", node, tuple(rest))
            else:
                return node

    def primary(self) -> tuple:
        token = self.take()
        if token.kind == "number":
            value = float(token.text)
            return ("lit", int(value) if value.is_integer() and "." not in token.text and "e" not in token.text.lower() else value)
        if token.kind == "string":
            return ("template", token.text)
        if token.kind == "ident":
            if token.text in ("true", "false"):
                return ("lit", token.text == "true")
            if token.text == "null":
                return ("lit", None)
            if self.at("("):
                self.take()
                args: list[tuple] = []
                while not self.at(")"):
                    args.append(self.expression())
                    if self.at("..."):
                        self.take()
                        args[-1] = ("expand", args[-1])
                    self.skip_newline_commas()
                self.take(")")
                return ("call", token.text, tuple(args))
            return ("ref", token.text)
        if token.text == "(":
            node = self.expression()
            self.take(")")
            return node
        if token.text == "[":
            return self.tuple_or_for()
        if token.text == "{":
            return self.object_or_for()
        raise ExpressionError(f"unexpected {token.text!r}")

    def for_head(self) -> tuple[str | None, str, tuple]:
        self.take("for")
        first = self.take().text
        second = None
        if self.at(","):
            self.take()
            second = self.take().text
        self.take("in")
        collection = self.expression()
        self.take(":")
        return (first, second, collection) if second else (None, first, collection)

    def for_condition(self) -> tuple | None:
        if self.at("if"):
            self.take()
            return self.expression()
        return None

    def tuple_or_for(self) -> tuple:
        if self.at("for"):
            key, value, collection = self.for_head()
            body = self.expression()
            condition = self.for_condition()
            self.take("]")
            return ("for_tuple", key, value, collection, body, condition)
        items: list[tuple] = []
        while not self.at("]"):
            items.append(self.expression())
            self.skip_newline_commas()
        self.take("]")
        return ("tuple", tuple(items))

    def object_or_for(self) -> tuple:
        if self.at("for"):
            key, value, collection = self.for_head()
            key_expr = self.expression()
            self.take("=>")
            value_expr = self.expression()
            grouped = False
            if self.at("..."):
                self.take()
                grouped = True
            condition = self.for_condition()
            self.take("}")
            return ("for_object", key, value, collection, key_expr, value_expr, condition, grouped)
        items: list[tuple[tuple, tuple]] = []
        while not self.at("}"):
            token = self.peek()
            if token.kind == "ident" and self.peek(1).text in ("=", ":"):
                self.take()
                key: tuple = ("lit", token.text)
            else:
                key = self.expression()
            self.take("=" if self.at("=") else ":")
            items.append((key, self.expression()))
            self.skip_newline_commas()
        self.take("}")
        return ("object", tuple(items))


_PARSED: dict[str, tuple] = {}


def parse(text: str) -> tuple:
    if text not in _PARSED:
        _PARSED[text] = _Parser(text).parse()
    return _PARSED[text]


# --- evaluation ----------------------------------------------------------------------------------------------


def _unknown_in(*values: Any) -> bool:
    return any(v is UNKNOWN for v in values)


def _format(spec: str, *args: Any) -> str:
    out, args_iter = [], iter(args)
    for part in re.split(r"(%[-+ 0#]*\d*(?:\.\d+)?[sdfvq%])", spec):
        if part == "%%":
            out.append("%")
        elif part.startswith("%") and len(part) > 1:
            value = next(args_iter)
            out.append(("%" + part[1:-1] + ("s" if part[-1] in "vq" else part[-1])) % value)
        else:
            out.append(part)
    return "".join(out)


def _merge(*maps: Any) -> Any:
    merged: dict = {}
    for item in maps:
        if item is None:
            continue
        if not isinstance(item, dict):
            return UNKNOWN
        merged.update(item)
    return merged


def _lookup(mapping: Any, key: Any, *default: Any) -> Any:
    if not isinstance(mapping, dict):
        return UNKNOWN
    if key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise ExpressionError(f"lookup: key {key!r} not found")


def _flatten(items: Any) -> list:
    flat: list = []
    for item in items:
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat


def _read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ExpressionError(f"file: {exc.strerror}: {path}") from None


def _to_number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ExpressionError("tonumber: bool")
    if isinstance(value, (int, float)) or value is None:
        return value
    number = float(value)
    return int(number) if number.is_integer() else number


def _to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "merge": _merge,
    "lookup": _lookup,
    "concat": lambda *lists: [x for item in lists for x in item],
    "length": lambda value: len(value),
    "max": lambda *values: max(values),
    "min": lambda *values: min(values),
    "ceil": lambda value: math.ceil(value),
    "floor": lambda value: math.floor(value),
    "abs": lambda value: abs(value),
    "pow": lambda base, exp: base**exp,
    "tonumber": _to_number,
    "tostring": _to_string,
    "tobool": lambda value: value if isinstance(value, bool) else value == "true",
    "tolist": list,
    "toset": lambda value: sorted(set(value), key=str),
    "tomap": dict,
    "upper": lambda value: value.upper(),
    "lower": lambda value: value.lower(),
    "title": lambda value: value.title(),
    "format": _format,
    "join": lambda sep, items: sep.join(_to_string(i) for i in items),
    "split": lambda sep, text: text.split(sep),
    "replace": lambda text, old, new: text.replace(old, new),
    "substr": lambda text, offset, length: text[offset:] if length < 0 else text[offset:offset + length],
    "trimspace": lambda text: text.strip(),
    "coalesce": lambda *values: next((v for v in values if v not in (None, "")), None),
    "contains": lambda items, value: value in items,
    "keys": lambda mapping: sorted(mapping),
    "values": lambda mapping: [mapping[k] for k in sorted(mapping)],
    "element": lambda items, index: items[index % len(items)],
    "flatten": _flatten,
    "distinct": lambda items: list(dict.fromkeys(items)),
    "range": lambda *args: list(range(*[int(a) for a in args])),
    "zipmap": lambda keys, values: dict(zip(keys, values)),
    "slice": lambda items, start, end: items[start:end],
    "jsonencode": lambda value: json.dumps(value, separators=(",", ":")),
    "sum": lambda items: sum(items),
    "file": _read_file,
}


@dataclass
class Scope:
    """What names resolve to: variables (defaults overlaid by an env's tfvars), locals, `each`, resources."""

    variables: dict[str, Any]
    locals_source: dict[str, Any] = field(default_factory=dict)
    resolve_resource: Callable[[str, str], Any] = lambda type_, name: UNKNOWN
    each: dict[str, Any] | None = None
    path_module: Any = UNKNOWN
    """`path.module`: the stack folder, so `file("${path.module}/x")` reads what Terraform would read."""
    resolve_data: Callable[[str, str], Any] = lambda type_, name: UNKNOWN
    _locals: dict[str, Any] = field(default_factory=dict)
    _evaluating: set[str] = field(default_factory=set)

    def with_each(self, key: Any, value: Any) -> "Scope":
        return Scope(self.variables, self.locals_source, self.resolve_resource, {"key": key, "value": value},
                     self.path_module, self.resolve_data, self._locals, self._evaluating)

    def local(self, name: str) -> Any:
        if name not in self._locals:
            if name not in self.locals_source or name in self._evaluating:
                return UNKNOWN
            self._evaluating.add(name)
            try:
                self._locals[name] = evaluate_value(self.locals_source[name], Scope(
                    self.variables, self.locals_source, self.resolve_resource, None, self.path_module,
                    self.resolve_data, self._locals, self._evaluating))
            finally:
                self._evaluating.discard(name)
        return self._locals[name]


def _get_attr(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name, UNKNOWN)
    if hasattr(value, "attribute"):
        return value.attribute(name)
    return UNKNOWN


def _get_index(value: Any, index: Any) -> Any:
    if value is UNKNOWN or index is UNKNOWN:
        return UNKNOWN
    if hasattr(value, "element"):  # a placeholder for a computed attribute (loadgen.tf.computed)
        return value.element(index)
    if isinstance(value, dict):
        return value.get(index if isinstance(index, str) else _to_string(index), UNKNOWN)
    if isinstance(value, list) and isinstance(index, (int, float)) and -len(value) <= int(index) < len(value):
        return value[int(index)]
    return UNKNOWN


_REFERENCE_ROOTS = ("var", "local", "each", "data", "path", "module", "count", "terraform", "self")


class _Evaluator:
    def __init__(self, scope: Scope):
        self.scope = scope
        self.bindings: list[dict[str, Any]] = []

    def run(self, node: tuple) -> Any:
        return getattr(self, "_" + node[0])(*node[1:])

    def _lit(self, value: Any) -> Any:
        return value

    def _template(self, raw: str) -> Any:
        return render_template(raw, self.scope, self.bindings)

    def _ref(self, name: str) -> Any:
        for binding in reversed(self.bindings):
            if name in binding:
                return binding[name]
        if name in _REFERENCE_ROOTS:
            return ("root", name)
        return ("resource_type", name)

    def _attr(self, node: tuple, name: str) -> Any:
        base = self.run(node)
        if isinstance(base, tuple) and base and base[0] == "root":
            root = base[1]
            if root == "var":
                return self.scope.variables.get(name, UNKNOWN)
            if root == "local":
                return self.scope.local(name)
            if root == "each":
                return UNKNOWN if self.scope.each is None else self.scope.each.get(name, UNKNOWN)
            if root == "path" and name == "module":
                return self.scope.path_module
            if root == "data":
                return ("data_type", name)
            return UNKNOWN
        if isinstance(base, tuple) and base and base[0] == "data_type":
            return self.scope.resolve_data(base[1], name)
        if isinstance(base, tuple) and base and base[0] == "resource_type":
            return self.scope.resolve_resource(base[1], name)
        return _get_attr(base, name)

    def _index(self, node: tuple, index: tuple) -> Any:
        return _get_index(self.run(node), self.run(index))

    def _splat(self, node: tuple, rest: tuple) -> Any:
        base = self.run(node)
        if base is UNKNOWN:
            return UNKNOWN
        items = list(base.values()) if isinstance(base, dict) else base if isinstance(base, list) else [base]
        out = []
        for item in items:
            for step in rest:
                item = _get_attr(item, step[1]) if step[0] == "attr" else _get_index(item, self.run(step[1]))
            out.append(item)
        return out

    def _unary(self, op: str, node: tuple) -> Any:
        value = self.run(node)
        if value is UNKNOWN:
            return UNKNOWN
        return -value if op == "-" else not value

    def _bin(self, op: str, left: tuple, right: tuple) -> Any:
        a = self.run(left)
        if op == "&&" and a is False:
            return False
        if op == "||" and a is True:
            return True
        b = self.run(right)
        if _unknown_in(a, b):
            return UNKNOWN
        if op in ("==", "!="):
            return (a == b) == (op == "==")
        if op in ("&&", "||"):
            return (a and b) if op == "&&" else (a or b)
        a, b = _to_number(a), _to_number(b)
        result = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
                  "%": lambda: a % b, "<": lambda: a < b, ">": lambda: a > b, "<=": lambda: a <= b,
                  ">=": lambda: a >= b}[op]()
        return int(result) if isinstance(result, float) and result.is_integer() and op != "/" else result

    def _cond(self, test: tuple, then: tuple, other: tuple) -> Any:
        value = self.run(test)
        if value is UNKNOWN:
            return UNKNOWN
        return self.run(then) if value else self.run(other)

    def _call(self, name: str, args: tuple) -> Any:
        if name == "try":
            for arg in args:
                try:
                    value = self.run(arg)
                except (ExpressionError, KeyError, IndexError, TypeError, ValueError):
                    continue
                if value is not UNKNOWN:
                    return value
            return UNKNOWN
        if name == "can":
            try:
                return self.run(args[0]) is not UNKNOWN or UNKNOWN
            except (ExpressionError, KeyError, IndexError, TypeError, ValueError):
                return False
        function = _FUNCTIONS.get(name)
        values: list[Any] = []
        for arg in args:
            if arg[0] == "expand":
                expanded = self.run(arg[1])
                values.extend(expanded if isinstance(expanded, list) else [UNKNOWN])
            else:
                values.append(self.run(arg))
        if function is None or _contains_unknown(values):
            return UNKNOWN
        try:
            return function(*values)
        except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, AttributeError) as exc:
            raise ExpressionError(f"{name}(): {exc}") from None

    def _tuple(self, items: tuple) -> list:
        return [self.run(item) for item in items]

    def _object(self, items: tuple) -> dict:
        out = {}
        for key, value in items:
            name = self.run(key)
            if isinstance(name, tuple):  # a bare identifier key parsed as a reference
                name = key[1] if key[0] == "ref" else UNKNOWN
            out[_to_string(name) if name is not UNKNOWN else "?"] = self.run(value)
        return out

    def _iterate(self, key: str | None, value: str, collection: tuple):
        items = self.run(collection)
        if items is UNKNOWN:
            return None
        pairs = items.items() if isinstance(items, dict) else enumerate(items)
        return [({value: v} if key is None else {key: k, value: v}) for k, v in pairs]

    def _with(self, binding: dict, node: tuple) -> Any:
        self.bindings.append(binding)
        try:
            return self.run(node)
        finally:
            self.bindings.pop()

    def _for_tuple(self, key, value, collection, body, condition) -> Any:
        bindings = self._iterate(key, value, collection)
        if bindings is None:
            return UNKNOWN
        return [self._with(b, body) for b in bindings if condition is None or self._with(b, condition)]

    def _for_object(self, key, value, collection, key_expr, value_expr, condition, grouped) -> Any:
        bindings = self._iterate(key, value, collection)
        if bindings is None:
            return UNKNOWN
        out: dict = {}
        for binding in bindings:
            if condition is not None and not self._with(binding, condition):
                continue
            name = _to_string(self._with(binding, key_expr))
            item = self._with(binding, value_expr)
            if grouped:
                out.setdefault(name, []).append(item)
            else:
                out[name] = item
        return out


def _contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, list):
        return any(_contains_unknown(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_unknown(v) for v in value.values())
    return False


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def render_template(raw: str, scope: Scope, bindings: list[dict[str, Any]] | None = None) -> Any:
    """A quoted HCL string (without its quotes): escapes undone, `${...}` interpolated, `%{...}` unknown."""
    if raw.startswith("<<"):
        lines = raw.split("\n")[1:-1]
        if raw.startswith("<<-"):
            indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
            lines = [l[indent:] for l in lines]
        raw = "\n".join(lines) + "\n"
    parts: list[Any] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            parts.append(_ESCAPES.get(raw[i + 1], raw[i + 1]))
            i += 2
        elif raw.startswith("$${", i) or raw.startswith("%%{", i):
            parts.append(raw[i + 1:i + 3])
            i += 3
        elif raw.startswith("${", i) or raw.startswith("%{", i):
            end = _matching_brace(raw, i + 1)
            if ch == "%":
                return UNKNOWN
            evaluator = _Evaluator(scope)
            evaluator.bindings = list(bindings or [])
            inner = raw[i + 2:end].strip().lstrip("~").rstrip("~")
            value = evaluator.run(parse(inner))
            if value is UNKNOWN or isinstance(value, (dict, list, tuple)):
                return UNKNOWN
            parts.append(_to_string(value) if value is not None else "")
            i = end + 1
        else:
            parts.append(ch)
            i += 1
    return "".join(parts)


def _matching_brace(text: str, open_at: int) -> int:
    depth, i = 0, open_at
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i = _scan_string(text, i)
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ExpressionError(f"unbalanced braces in {text!r}")


def evaluate(text: str, scope: Scope) -> Any:
    """Evaluate one expression's text (without `${ }`)."""
    return _Evaluator(scope).run(parse(text))


def evaluate_value(value: Any, scope: Scope) -> Any:
    """Evaluate a value as python-hcl2 serializes it: `${expr}`, a quoted template, a literal, a list or a dict."""
    if isinstance(value, str):
        if value.startswith("${") and value.endswith("}") and _matching_brace(value, 1) == len(value) - 1:
            return evaluate(value[2:-1], scope)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return render_template(value[1:-1], scope)
        return value
    if isinstance(value, list):
        return [evaluate_value(v, scope) for v in value]
    if isinstance(value, dict):
        return {(k[1:-1] if k[:1] == '"' else k): evaluate_value(v, scope)
                for k, v in value.items() if k != "__is_block__"}
    return value


def known_or_none(value: Any) -> Any:
    """The value with every UNKNOWN inside it replaced by None (for JSON reports)."""
    if value is UNKNOWN:
        return None
    if isinstance(value, dict):
        return {k: known_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [known_or_none(v) for v in value]
    return value


def references(value: Any) -> set[str]:
    """The `var.x` and `local.x` names a value mentions, as "var.x" / "local.x" (for parity analysis)."""
    text = json.dumps(value)
    return {f"{root}.{name}" for root, name in re.findall(r"\b(var|local)\.([A-Za-z_][A-Za-z0-9_-]*)", text)}
