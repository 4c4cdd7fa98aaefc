"""AWS provider 5.x schema, read from the cdktf bindings' jsii assembly, and the check of stacks against it.

`terraform validate` cannot run here (no provider download), so the argument names, nested blocks and required
flags of every `aws_*` resource and data source come from the PyPI wheel `cdktf-cdktf-provider-aws==19.65.1`
(generated from hashicorp/aws 5.99.1). The wheel is fetched once by `.ci/setup`; the compact schema extracted
from it is cached beside it as JSON.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from loadgen.paths import CACHE_DIR
from loadgen.errors import LoadgenError

WHEEL_NAME = "cdktf_cdktf_provider_aws-19.65.1-py3-none-any.whl"
PROVIDER_VERSION = "5.99.1"
_DOC_LINK = re.compile(r"docs/(resources|data-sources)/(\w+)")
_ANCHOR = re.compile(r"#(\w+)\s+\w+#")
_META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}
# The archive provider's one data source, which the stacks use to package Lambda code.
_ARCHIVE_FILE = {
    "attributes": {
        "type": True, "output_path": True, "source_file": False, "source_dir": False, "source_content": False,
        "source_content_filename": False, "excludes": False, "exclude_symlink_directories": False,
        "output_file_mode": False,
    },
    "blocks": {"source": {"required": False, "attributes": {"content": True, "filename": True}, "blocks": {}}},
}
# The external provider's data source, which runs the stacks' dependency-layer build (hashicorp/external 2.x).
_EXTERNAL = {"attributes": {"program": True, "query": False, "working_dir": False}, "blocks": {}}


def default_cache_dir() -> Path:
    """Where `.ci/setup` downloads the wheel: LOADGEN_CACHE_DIR, else `.cache/` at the repository root."""
    return Path(os.environ.get("LOADGEN_CACHE_DIR") or CACHE_DIR)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _tf_name(prop: dict) -> str:
    match = _ANCHOR.search(prop.get("docs", {}).get("summary", ""))
    return match.group(1) if match else _snake(prop["name"])


def _struct_fqn(type_ref: dict, types: dict) -> str | None:
    """The struct behind a property, if the property is a nested block (or list of them)."""
    if "fqn" in type_ref:
        fqn = type_ref["fqn"]
        return fqn if types.get(fqn, {}).get("datatype") else None
    if "collection" in type_ref:
        return _struct_fqn(type_ref["collection"]["elementtype"], types)
    if "union" in type_ref:
        for member in type_ref["union"]["types"]:
            found = _struct_fqn(member, types)
            if found:
                return found
    return None


def _struct_schema(fqn: str, types: dict, depth: int = 0) -> dict:
    attributes: dict[str, bool] = {}
    blocks: dict[str, dict] = {}
    opaque: list[str] = []
    for prop in types[fqn].get("properties", []):
        name = _tf_name(prop)
        if prop["type"].get("primitive") == "any":
            # cdktf gives up on recursive blocks (WAF rule statements): present, contents unchecked.
            opaque.append(name)
            attributes[name] = not prop.get("optional", False)
            continue
        nested = _struct_fqn(prop["type"], types) if depth < 12 else None
        if nested:
            schema = _struct_schema(nested, types, depth + 1)
            schema["required"] = not prop.get("optional", False)
            blocks[name] = schema
        else:
            attributes[name] = not prop.get("optional", False)
    return {"attributes": attributes, "blocks": blocks, "opaque": opaque}


def extract_schema(wheel: Path) -> dict:
    """Read the jsii assembly out of the wheel and keep, per type, its arguments, blocks and required flags."""
    with zipfile.ZipFile(wheel) as zipped:
        member = next(n for n in zipped.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(zipped.read(member)), mode="r:gz") as tgz:
            assembly = json.load(tgz.extractfile("package/.jsii"))
    types = assembly["types"]
    schema: dict[str, dict] = {"resource": {}, "data": {}}
    for fqn, entry in types.items():
        base = entry.get("base")
        if base not in ("cdktf.TerraformResource", "cdktf.TerraformDataSource"):
            continue
        link = _DOC_LINK.search(entry.get("docs", {}).get("summary", ""))
        params = entry.get("initializer", {}).get("parameters", [])
        config = next((p["type"].get("fqn") for p in params if p["name"] == "config"), None)
        if not link or config not in types:
            continue
        kind = "resource" if link.group(1) == "resources" else "data"
        schema[kind]["aws_" + link.group(2)] = _struct_schema(config, types)
    return {"provider_version": PROVIDER_VERSION, **schema}


def load_schema(cache_dir: Path | None = None) -> dict:
    """The compact schema, extracted from the downloaded wheel on first use and cached as gzipped JSON."""
    cache_dir = cache_dir or default_cache_dir()
    cached = cache_dir / f"aws_provider_schema_{PROVIDER_VERSION}.json.gz"
    if cached.exists():
        with gzip.open(cached, "rt") as handle:
            schema = json.load(handle)
    else:
        wheel = cache_dir / "wheels" / WHEEL_NAME
        if not wheel.exists():
            raise LoadgenError(
                f"{wheel}: provider schema wheel not found; run `bash .ci/setup` "
                f"(or: pip download --no-deps cdktf-cdktf-provider-aws==19.65.1 -d {wheel.parent})"
            )
        schema = extract_schema(wheel)
        cached.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(cached, "wt") as handle:
            json.dump(schema, handle)
    schema["data"]["archive_file"] = _ARCHIVE_FILE
    schema["data"]["external"] = _EXTERNAL
    return schema


@dataclass(frozen=True)
class SchemaFinding:
    """One way a stack's HCL disagrees with the provider schema."""

    file: str
    line: int
    address: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.address}: {self.message}"


_META_BLOCKS = {"lifecycle", "provisioner", "connection"}


def _check_body(body: dict, spec: dict, path: str) -> list[str]:
    """Messages for unknown arguments/blocks and missing required ones in one (nested) block body."""
    from loadgen.tf.hcl_reader import attributes, nested_blocks, unquote

    problems: list[str] = []
    present: set[str] = set()
    for name, _ in attributes(body):
        present.add(name)
        if name in spec["attributes"] or name in spec["blocks"] or (not path and name in _META_ARGUMENTS):
            continue
        problems.append(f"unknown argument '{path}{name}'")
    for name, inner in nested_blocks(body):
        if name == "dynamic":
            for label, dynamic in inner.items():
                if label == "__is_block__":
                    continue
                block_name = unquote(label)
                present.add(block_name)
                content = next((b for n, b in nested_blocks(dynamic) if n == "content"), None)
                if block_name not in spec["blocks"]:
                    problems.append(f"unknown block '{path}{block_name}' (in dynamic)")
                elif content is not None:
                    problems += _check_body(content, spec["blocks"][block_name], f"{path}{block_name}.")
            continue
        present.add(name)
        if (not path and name in _META_BLOCKS) or name in spec.get("opaque", ()):
            continue
        if name in spec["blocks"]:
            problems += _check_body(inner, spec["blocks"][name], f"{path}{name}.")
        elif name in spec["attributes"]:
            problems.append(f"'{path}{name}' is an argument, not a block; write `{name} = ...`")
        else:
            problems.append(f"unknown block '{path}{name}'")
    for name, required in spec["attributes"].items():
        if required and name not in present:
            problems.append(f"missing required argument '{path}{name}'")
    for name, block in spec["blocks"].items():
        if block.get("required") and name not in present:
            problems.append(f"missing required block '{path}{name}'")
    return problems


def check_blocks(blocks, schema: dict) -> list[SchemaFinding]:
    """Check every resource and data source against the provider schema."""
    findings = []
    for block in blocks:
        if block.kind not in ("resource", "data"):
            continue
        type_name = block.labels[0]
        spec = schema[block.kind].get(type_name)
        if spec is None:
            if type_name.startswith("aws_") or type_name == "archive_file" or block.kind == "data":
                kind = "resource type" if block.kind == "resource" else "data source"
                findings.append(SchemaFinding(str(block.file), block.line, block.address,
                                              f"unknown {kind} '{type_name}' in AWS provider {PROVIDER_VERSION}"))
            continue
        for message in _check_body(block.body, spec, ""):
            findings.append(SchemaFinding(str(block.file), block.line, block.address, message))
    return findings


def describe(schema: dict, type_name: str) -> str:
    """A readable list of a type's arguments and nested blocks (`data.aws_x` for data sources)."""
    kind, name = ("data", type_name[5:]) if type_name.startswith("data.") else ("resource", type_name)
    spec = schema[kind].get(name)
    if spec is None:
        close = sorted(t for t in schema[kind] if name.replace("aws_", "") in t)[:20]
        return f"unknown {kind} '{name}'; similar: {', '.join(close) or 'none'}"
    lines: list[str] = [f"{kind} {name}"]

    def walk(block: dict, indent: str) -> None:
        for attr, required in sorted(block["attributes"].items()):
            lines.append(f"{indent}{attr}{'  (required)' if required else ''}")
        for child, inner in sorted(block["blocks"].items()):
            lines.append(f"{indent}{child} {{ }}{'  (required block)' if inner.get('required') else ''}")
            walk(inner, indent + "  ")

    walk(spec, "  ")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """`python -m loadgen.tf.provider_schema check DIR... | describe TYPE...` for stack authors."""
    from loadgen.tf.hcl_reader import _blocks_of_file

    if len(argv) < 2 or argv[0] not in ("check", "describe"):
        print("usage: python -m loadgen.tf.provider_schema check DIR... | describe TYPE...", file=sys.stderr)
        return 2
    try:
        schema = load_schema()
        if argv[0] == "describe":
            print("\n\n".join(describe(schema, t) for t in argv[1:]))
            return 0
        blocks = [b for d in argv[1:] for tf in sorted(Path(d).rglob("*.tf")) for b in _blocks_of_file(tf)]
    except LoadgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    findings = check_blocks(blocks, schema)
    for finding in findings:
        print(finding)
    print(f"{len(findings)} schema finding(s) in {len(blocks)} blocks")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
