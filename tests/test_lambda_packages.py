"""The Lambda code the stacks package is real: every file a stack points at exists and compiles, and the
hot-path handlers import the same matching core the simulator benchmarks."""

from __future__ import annotations

import ast
import py_compile
import re

import pytest

from conftest import REPO, TERRAFORM
from pathlib import Path

from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.expressions import UNKNOWN
from loadgen.tf.hcl_reader import load_stack, stack_names

MODULE_FILE = re.compile(r'(?:file|templatefile)\("\$\{path\.module\}/([^"$]+)"')


SIBLING_FILE = re.compile(r'Path\(__file__\)\.with_name\("([^"]+)"\)')


@pytest.mark.parametrize("name", stack_names(TERRAFORM))
def test_every_archive_packages_files_that_exist(name):
    """Each archive_file instance (for_each expanded) points at files that are there, and packs the files its
    modules read next to themselves (`Path(__file__).with_name(...)`: a request schema, the Aurora schema)."""
    resolved = ResolvedStack(load_stack(TERRAFORM, name), "dev")
    archives = list(resolved.instances("archive_file", kind="data"))
    assert archives
    for archive in archives:
        source_file = archive.attribute("source_file")
        sources = archive.blocks("source")
        assert source_file is not UNKNOWN or sources, archive.address
        if source_file is not UNKNOWN:
            assert Path(source_file).is_file(), f"{archive.address}: {source_file}"
        for source in sources:
            assert isinstance(source.get("content"), str), f"{archive.address}: unreadable source {source}"
        packed = {source["filename"]: source["content"] for source in sources}
        read = {(module, sibling) for module, text in packed.items() if module.endswith(".py")
                for sibling in SIBLING_FILE.findall(text)}
        assert {(module, sibling) for module, sibling in read if sibling not in packed} == set(), archive.address


@pytest.mark.parametrize("name", stack_names(TERRAFORM))
def test_every_template_and_schema_file_a_stack_reads_exists(name):
    stack_dir = TERRAFORM / name
    text = "\n".join(p.read_text() for p in stack_dir.glob("*.tf"))
    missing = [rel for rel in MODULE_FILE.findall(text) if not (stack_dir / rel).is_file()]
    assert missing == []


@pytest.mark.parametrize("name", stack_names(TERRAFORM))
def test_every_handler_compiles_and_every_function_has_an_archive(name, tmp_path):
    stack = load_stack(TERRAFORM, name)
    stacks = [stack, *stack.modules.values()]  # a modular stack (platform) keeps its handlers in its modules
    handlers = sorted(p for s in stacks for p in (s.path / "lambda").glob("*.py"))
    assert handlers
    for path in handlers:
        py_compile.compile(str(path), cfile=str(tmp_path / (path.name + "c")), doraise=True)
    assert any(b.labels[0] == "archive_file" for s in stacks for b in s.of_kind("data"))


@pytest.mark.parametrize("stack, handler, core", [
    ("property_maintenance", "request_router.py", "loadgen.matching.vendor_assignment"),
    ("food_delivery", "matcher.py", "loadgen.matching.driver_matching"),
])
def test_hot_path_handlers_import_the_shared_matching_core(stack, handler, core):
    tree = ast.parse((TERRAFORM / stack / "lambda" / handler).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert core in imported
    text = (TERRAFORM / stack / "tap_stack.tf").read_text()
    assert "../../loadgen/matching/" + core.rsplit(".", 1)[1] + ".py" in text
    assert (REPO / (core.replace(".", "/") + ".py")).exists()
