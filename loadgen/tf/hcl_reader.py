"""The one HCL parser of loadgen: reads a stack's .tf files and .tfvars into blocks with file and line.

Everything else in loadgen that needs Terraform asks this module (STYLE: nothing else parses HCL). It wraps
python-hcl2 and adds what it does not give: the line each block and tfvars key starts on, and a single
LoadgenError line for malformed HCL or a missing file. Parsing takes seconds per stack, so a file's parse is kept
by its text: in memory for the process, and as JSON in `.cache/hcl/` for the next one (a changed file is a new
text, parsed afresh).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import pickle
import re
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import hcl2
from hcl2.utils import SerializationOptions
from lark.exceptions import LarkError

from loadgen.errors import LoadgenError
from loadgen.paths import CACHE_DIR

_OPTIONS = SerializationOptions(with_comments=False)
_HCL2_VERSION = importlib.metadata.version("python-hcl2")
_CACHE_ENTRIES = 256
_PARSED: OrderedDict[str, bytes] = OrderedDict()
"""python-hcl2's parse of a file's text, by the text itself (pickled: each caller gets a copy of its own)."""
_FILE_BLOCKS: OrderedDict[tuple[str, str], bytes] = OrderedDict()
"""The blocks of a .tf file with their lines, by (path, text). Parsing is seconds per stack and a command or check
reads the same files again and again; a changed file is a new text, so nothing stale is ever served."""
BLOCK_MARK = "__is_block__"
ENVS = ("dev", "staging", "prod")


@dataclass(frozen=True)
class Block:
    """One top-level block: a resource, data source, variable, output, module or the locals of a file."""

    kind: str
    """`resource`, `data`, `variable`, `output`, `locals`, `module`, `terraform` or `provider`."""
    labels: tuple[str, ...]
    """The block's labels, unquoted: ("aws_sqs_queue", "orders") for a resource, ("env",) for a variable."""
    body: dict
    """python-hcl2's body: quoted strings are literals, `${...}` strings are expressions, lists of dicts marked
    `__is_block__` are nested blocks."""
    file: Path
    line: int

    @property
    def address(self) -> str:
        """Terraform address: `aws_sqs_queue.orders`, `data.aws_region.current`, `var.env`."""
        prefix = {"data": "data.", "variable": "var.", "module": "module.", "output": "output."}.get(self.kind, "")
        return prefix + ".".join(self.labels)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class TfvarsFile:
    """An env's tfvars: values as python-hcl2 gives them, and the line each key is set on."""

    env: str
    path: Path
    values: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Stack:
    """A stack folder: its blocks from every .tf file and its tfvars per env."""

    name: str
    path: Path
    blocks: tuple[Block, ...]
    tfvars: dict[str, TfvarsFile]
    modules: dict[str, "Stack"] = field(default_factory=dict)
    """Child modules called with a local `source` ("./modules/vpc"), by call name; a child has no tfvars (its
    variables come from the call's arguments)."""

    def of_kind(self, kind: str) -> Iterator[Block]:
        return (b for b in self.blocks if b.kind == kind)

    def resources(self, resource_type: str | None = None) -> Iterator[Block]:
        return (b for b in self.of_kind("resource") if resource_type in (None, b.labels[0]))

    @property
    def variables(self) -> dict[str, Block]:
        return {b.labels[0]: b for b in self.of_kind("variable")}

    @property
    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self.of_kind("locals"):
            merged.update(block.body)
        return merged

    def local_lines(self) -> dict[str, tuple[Path, int]]:
        found: dict[str, tuple[Path, int]] = {}
        for block in self.of_kind("locals"):
            text = block.file.read_text()
            for name in block.body:
                found[name] = (block.file, _line_of(text, rf"^\s*{re.escape(name)}\s*=", block.line))
        return found


def unquote(label: str) -> str:
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


def is_block_list(value: Any, key: str = "") -> bool:
    """Nested blocks are lists of marked dicts; a `dynamic` block's dicts are keyed by its label instead."""
    if not (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
        return False
    return key == "dynamic" or all(v.get(BLOCK_MARK) for v in value)


def attributes(body: dict) -> Iterator[tuple[str, Any]]:
    """The arguments of a block body (not its nested blocks)."""
    for key, value in body.items():
        if key != BLOCK_MARK and not is_block_list(value, key):
            yield key, value


def nested_blocks(body: dict) -> Iterator[tuple[str, dict]]:
    """(type, body) of every nested block; `dynamic "x"` blocks come back as ("dynamic", {"\"x\"": ...})."""
    for key, value in body.items():
        if is_block_list(value, key):
            for item in value:
                yield key, item


def parse_file(path: Path) -> dict:
    """Parse one HCL file; malformed HCL or a missing file becomes one LoadgenError line."""
    return _parse_text(path, _read(path))


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise LoadgenError(f"{path}: file not found; check the stack folder and env name") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadgenError(f"{path}: cannot be read ({exc}); fix the file's permissions or encoding") from None


def _parse_text(path: Path, text: str) -> dict:
    try:
        return _cached(_PARSED, text, lambda: _parse_or_read_parsed(text))
    except LarkError as exc:
        line = getattr(exc, "line", -1)
        where = f"{path}:{line}" if isinstance(line, int) and line > 0 else f"{path}"
        summary = str(exc).strip().splitlines()[0][:160]
        raise LoadgenError(f"{where}: malformed HCL ({summary}); fix the syntax") from None
    except Exception as exc:  # python-hcl2 raises plain exceptions for some malformed input
        raise LoadgenError(f"{path}: malformed HCL ({type(exc).__name__}: {exc}); fix the syntax") from None


def _cached(cache: OrderedDict, key: Any, compute: Any) -> Any:
    """compute() once per key (least recently used entries dropped); a fresh copy of its value every call."""
    pickled = cache.get(key)
    if pickled is None:
        pickled = pickle.dumps(compute(), protocol=pickle.HIGHEST_PROTOCOL)
        cache[key] = pickled
        if len(cache) > _CACHE_ENTRIES:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return pickle.loads(pickled)


def _parse_or_read_parsed(text: str) -> dict:
    """hcl2.loads(text), or the same parse saved by an earlier process: `.cache/hcl/` (under LOADGEN_CACHE_DIR when
    set) keeps it as JSON named by the SHA-256 of python-hcl2's version and the text, which JSON round-trips
    exactly. The cache is only ever a shortcut: unreadable or unwritable, the text is parsed."""
    digest = hashlib.sha256(f"python-hcl2 {_HCL2_VERSION}\0{_OPTIONS!r}\0{text}".encode()).hexdigest()
    folder = Path(os.environ.get("LOADGEN_CACHE_DIR") or CACHE_DIR) / "hcl"
    saved = folder / f"{digest}.json"
    try:
        parsed = json.loads(saved.read_text())
        if isinstance(parsed, dict):
            return parsed
    except (OSError, ValueError):
        pass
    parsed = hcl2.loads(text, serialization_options=_OPTIONS)
    temporary = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, prefix=f".{digest}.", delete=False) as out:
            temporary = Path(out.name)
            json.dump(parsed, out)
        os.replace(temporary, saved)  # atomic: a concurrent reader sees the whole file or none
    except (OSError, TypeError, ValueError):
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    return parsed


def _line_of(text: str, pattern: str, default: int = 1) -> int:
    match = re.search(pattern, text, flags=re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else default


def _blocks_of_file(path: Path) -> tuple[Block, ...]:
    text = _read(path)
    return _cached(_FILE_BLOCKS, (str(path), text), lambda: tuple(_scan_blocks(path, text)))


def _scan_blocks(path: Path, text: str) -> Iterator[Block]:
    parsed = _parse_text(path, text)
    for kind, entries in parsed.items():
        for entry in entries if isinstance(entries, list) else [entries]:
            if kind in ("locals", "terraform"):
                yield Block(kind, (), entry, path, _line_of(text, rf"^{kind}\s*\{{"))
                continue
            yield from _labelled(kind, entry, (), path, text)


def _labelled(kind: str, node: dict, labels: tuple[str, ...], path: Path, text: str) -> Iterator[Block]:
    """Blocks with labels nest one dict level per label in python-hcl2's output."""
    if node.get(BLOCK_MARK):
        pattern = rf"^{kind}" + "".join(rf'\s+"{re.escape(label)}"' for label in labels) + r"\s*\{"
        yield Block(kind, labels, node, path, _line_of(text, pattern))
        return
    for label, inner in node.items():
        yield from _labelled(kind, inner, labels + (unquote(label),), path, text)


def load_tfvars(path: Path, env: str) -> TfvarsFile:
    values = parse_file(path)
    text = path.read_text()
    lines = {key: _line_of(text, rf"^\s*{re.escape(key)}\s*=") for key in values}
    return TfvarsFile(env=env, path=path, values=values, lines=lines)


def stack_names(terraform_dir: Path) -> list[str]:
    """Every folder of terraform/ that holds a stack (a tap_stack.tf or a main.tf)."""
    if not terraform_dir.is_dir():
        raise LoadgenError(f"{terraform_dir}: terraform folder not found; pass --terraform-dir DIR")
    return sorted(
        p.name for p in terraform_dir.iterdir()
        if p.is_dir() and ((p / "tap_stack.tf").exists() or (p / "main.tf").exists())
    )


def load_stack(terraform_dir: Path, name: str) -> Stack:
    """Parse every .tf file of a stack folder, its dev/staging/prod tfvars and the local modules it calls."""
    known = stack_names(terraform_dir)
    if name not in known:
        raise LoadgenError(f"{terraform_dir}: unknown stack '{name}'; known stacks: {', '.join(known) or 'none'}")
    path = terraform_dir / name
    blocks = tuple(b for tf in sorted(path.glob("*.tf")) for b in _blocks_of_file(tf))
    tfvars = {env: load_tfvars(path / f"{env}.tfvars", env) for env in ENVS if (path / f"{env}.tfvars").exists()}
    return Stack(name=name, path=path, blocks=blocks, tfvars=tfvars, modules=_local_modules(name, blocks, path, ()))


def module_source(block: Block) -> str | None:
    """The local folder a module call reads (`./modules/x`), or None for a registry/remote source."""
    source = block.body.get("source")
    source = unquote(source) if isinstance(source, str) else None
    return source if source and source.startswith(("./", "../")) else None


def _local_modules(name: str, blocks: tuple[Block, ...], path: Path, seen: tuple[Path, ...]) -> dict[str, Stack]:
    modules = {}
    for block in blocks:
        source = module_source(block) if block.kind == "module" else None
        if source is None:
            continue
        child_path = path / source
        if not child_path.is_dir():
            raise LoadgenError(f"{block.where}: module {block.labels[0]} reads {source}, which is not a folder")
        if child_path.resolve() in seen:
            raise LoadgenError(f"{block.where}: module {block.labels[0]} calls itself through {source}")
        child_blocks = tuple(b for tf in sorted(child_path.glob("*.tf")) for b in _blocks_of_file(tf))
        child_name = f"{name}/module.{block.labels[0]}"
        modules[block.labels[0]] = Stack(name=child_name, path=child_path, blocks=child_blocks, tfvars={},
                                         modules=_local_modules(child_name, child_blocks, child_path,
                                                                seen + (child_path.resolve(),)))
    return modules


def check_env(stack: Stack, env: str) -> TfvarsFile:
    if env not in stack.tfvars:
        raise LoadgenError(
            f"{stack.path / (env + '.tfvars')}: unknown env '{env}' for stack {stack.name}; "
            f"known envs: {', '.join(stack.tfvars) or 'none'}"
        )
    return stack.tfvars[env]


def with_candidate_tfvars(stack: Stack, env: str, path: Path) -> Stack:
    """The stack with `path` read as the env's tfvars in place of its own (`--tfvars CANDIDATE`): the candidate
    must set only variables the stack declares, since a typo would silently fall back to a default."""
    check_env(stack, env)
    if not path.is_file():
        raise LoadgenError(f"{path}: candidate tfvars file not found; pass an existing .tfvars file")
    candidate = load_tfvars(path, env)
    unknown = sorted(set(candidate.values) - set(stack.variables))
    if unknown:
        raise LoadgenError(f"{path}:{candidate.lines.get(unknown[0], 1)}: '{unknown[0]}' is not a variable of stack "
                           f"{stack.name}; remove it or fix its name")
    return replace(stack, tfvars={**stack.tfvars, env: candidate})
