"""Every Lambda can import what its handler imports: each module is in the function's package, in the stack's
dependency layer (built from the pinned layer/requirements.txt by the same script Terraform runs), or in the
Lambda Python runtime (the standard library plus boto3/botocore).

Imports are followed with `ast` through the function's own modules (the files its archive packages), including
imports inside functions (the handlers import redis and pg8000 lazily). The layer is really built, offline from
the configured package index, so a requirement that pip cannot install or a module a wheel does not contain
fails here, not at the first invocation.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, TERRAFORM
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.hcl_reader import load_stack, stack_names

STACKS = stack_names(TERRAFORM)
BUILDER = "tools/build_dependency_layer.py"
RUNTIME_PACKAGES = {"boto3", "botocore"}
"""Third-party packages the Lambda Python runtime itself provides (AWS documents boto3 and botocore)."""
STDLIB = set(sys.stdlib_module_names)

_LAYER_CACHE: dict[str, set[str]] = {}
_STAND_IN_DIR = Path(tempfile.mkdtemp(prefix="layer-stand-in-"))


def layer_files(resolved: ResolvedStack, tmp_dir: Path) -> set[str]:
    """Names inside the dependency layer zip, built by the stack's own `data "external" "dependency_layer"` query
    (its requirements, architecture and runtime). Extra files (the CA bundle) are fetched from a local stand-in so
    the test stays offline; their paths in the layer are the stack's. Cached per query and requirements text."""
    external = next(resolved.instances("external", kind="data"), None)
    if external is None:
        return set()  # a stack whose handlers need nothing beyond the runtime has no layer
    query = dict(external.attribute("query"))
    assert all(isinstance(v, str) for v in query.values()), query
    program = external.attribute("program")
    assert program[-1].endswith(BUILDER), program
    stand_in = _STAND_IN_DIR / "stand-in.pem"
    stand_in.write_text("stand-in for a fetched file\n")
    extra = json.loads(query.get("extra_files", "{}"))
    query["extra_files"] = json.dumps({name: stand_in.as_uri() for name in extra})
    key = json.dumps(query, sort_keys=True) + Path(query["requirements"]).read_text()
    if key not in _LAYER_CACHE:
        query["output_dir"] = str(tmp_dir / "layer-build")
        result = subprocess.run([sys.executable, program[-1]], input=json.dumps(query),
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        with zipfile.ZipFile(json.loads(result.stdout)["output_path"]) as archive:
            _LAYER_CACHE[key] = set(archive.namelist())
    return _LAYER_CACHE[key]


def _module_file(files: dict[str, str] | set[str], dotted: str, prefix: str = "") -> str | None:
    base = prefix + dotted.replace(".", "/")
    for candidate in (base + ".py", base + "/__init__.py"):
        if candidate in files:
            return candidate
    return None


def _imports(source: str, module_file: str) -> list[tuple[str, str | None]]:
    """(module, imported name or None) for every import statement of a file, at any depth."""
    package = module_file.rsplit("/", 1)[0].replace("/", ".") if "/" in module_file else ""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{module}".strip(".") if module else base
            found += [(module, alias.name) for alias in node.names]
    return found


def unresolved_imports(package: dict[str, str], handler: str, layer: set[str]) -> list[str]:
    """Imports reachable from the handler module that nothing provides, as 'file: module'."""
    module_name, function = handler.rsplit(".", 1)
    entry = _module_file(package, module_name)
    if entry is None:
        return [f"handler module {module_name} is not in the package ({sorted(package)})"]
    if not any(isinstance(n, ast.FunctionDef) and n.name == function for n in ast.parse(package[entry]).body):
        return [f"{entry}: defines no function {function}"]
    problems, pending, seen = [], [entry], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for module, name in _imports(package[current], current):
            top = module.split(".", 1)[0]
            own = _module_file(package, module)
            if own is not None:
                pending.append(own)
                sub = _module_file(package, f"{module}.{name}") if name else None
                if sub:
                    pending.append(sub)
            elif any(f == top + ".py" or f.startswith(top + "/") for f in package):
                problems.append(f"{current}: {module} (its package is bundled, this module is not)")
            elif f"python/{top}.py" in layer or any(f.startswith(f"python/{top}/") for f in layer):
                if _module_file(layer, module, "python/") is None:
                    problems.append(f"{current}: {module} (the layer has {top}, but not this module)")
            elif top not in STDLIB and top not in RUNTIME_PACKAGES:
                problems.append(f"{current}: {module}")
    return problems


def _packages(resolved: ResolvedStack) -> dict[str, dict[str, str]]:
    """Each archive's output_path -> {filename in the zip: content}."""
    packages = {}
    for archive in resolved.instances("archive_file", kind="data"):
        files = {}
        source_file = archive.attribute("source_file")
        if isinstance(source_file, str):
            files[Path(source_file).name] = Path(source_file).read_text()
        for source in archive.blocks("source"):
            if isinstance(source.get("filename"), str):
                files[source["filename"]] = source.get("content") if isinstance(source.get("content"), str) else ""
        packages[archive.attribute("output_path")] = files
    return packages


def import_problems(terraform_dir: Path, stack_name: str, tmp_dir: Path) -> dict[str, list[str]]:
    """For every function of the stack (dev; the topology is the same in every env), what it cannot import."""
    resolved = ResolvedStack(load_stack(terraform_dir, stack_name), "dev")
    packages = _packages(resolved)
    layer = layer_files(resolved, tmp_dir)
    problems = {}
    functions = list(resolved.instances("aws_lambda_function"))
    assert functions, stack_name
    for function in functions:
        package = packages.get(function.attribute("filename"))
        assert package is not None, f"{function.address}: filename is not an archive_file output"
        layers = function.attribute("layers")
        attached = isinstance(layers, list) and len(layers) > 0
        if attached:
            assert "aws_lambda_layer_version.dependencies.arn" in json.dumps(function.block.body["layers"])
        problems[function.address] = unresolved_imports(package, function.attribute("handler"),
                                                        layer if attached else set())
    return problems


@pytest.mark.parametrize("name", STACKS)
def test_every_function_can_import_what_its_handler_imports(name, tmp_path):
    problems = import_problems(TERRAFORM, name, tmp_path)
    assert {address: p for address, p in problems.items() if p} == {}


@pytest.mark.parametrize("name", STACKS)
def test_every_opt_path_the_stack_configures_is_shipped_by_its_layer(name, tmp_path):
    """/opt/... paths in the Terraform (CA bundles in function environments) are files in the built layer."""
    text = "\n".join(p.read_text() for p in (TERRAFORM / name).glob("*.tf"))
    layer = layer_files(ResolvedStack(load_stack(TERRAFORM, name), "dev"), tmp_path)
    missing = [path for path in re.findall(r'"/opt/([^"]+)"', text) if path not in layer]
    assert missing == []


def test_the_check_fails_when_the_layer_loses_redis(tmp_path):
    terraform = tmp_path / "repo" / "terraform"
    shutil.copytree(TERRAFORM / "property_maintenance", terraform / "property_maintenance",
                    ignore=shutil.ignore_patterns(".build", ".terraform"))
    shutil.copytree(TERRAFORM / "tools", terraform / "tools")
    (tmp_path / "repo" / "loadgen").symlink_to(REPO / "loadgen")
    problems_before = import_problems(terraform, "property_maintenance", tmp_path)
    assert {a: p for a, p in problems_before.items() if p} == {}

    requirements = terraform / "property_maintenance" / "layer" / "requirements.txt"
    text = requirements.read_text()
    without = re.sub(r"^redis==.*\n(\s+--hash.*\n)*", "", text, flags=re.MULTILINE)
    assert without != text and "redis==" not in without
    requirements.write_text(without)

    failing = {a: p for a, p in import_problems(terraform, "property_maintenance", tmp_path).items() if p}
    assert failing, "removing redis from the layer must break the Redis handlers"
    assert all(all(line.endswith(": redis") for line in p) for p in failing.values()), failing
    assert 'aws_lambda_function.this["request_router"]' in failing
    assert 'aws_lambda_function.this["redis_sync"]' in failing
    assert len(failing) == len(problems_before), "maintenance_common (in every package) imports redis lazily"


def test_a_handler_module_missing_from_its_package_is_reported():
    package = {"router.py": "import shared_code\n\ndef handler(event, context):\n    return shared_code.x\n"}
    assert unresolved_imports(package, "router.handler", set()) == ["router.py: shared_code"]
    package["shared_code.py"] = "import redis.cluster\nimport json\n"
    assert unresolved_imports(package, "router.handler", {"python/redis/__init__.py"}) == [
        "shared_code.py: redis.cluster (the layer has redis, but not this module)"]
    assert unresolved_imports(package, "router.handler", {"python/redis/__init__.py", "python/redis/cluster.py"}) == []
    assert unresolved_imports(package, "router.missing", set()) == ["router.py: defines no function missing"]


def test_the_layer_build_is_byte_reproducible_and_ships_extra_files(tmp_path):
    pem = tmp_path / "bundle.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six==1.17.0 \\\n    --hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274\n")
    outputs = []
    for run in ("a", "b"):
        query = {"requirements": str(requirements), "architecture": "arm64", "runtime": "python3.12",
                 "output_dir": str(tmp_path / run), "extra_files": json.dumps({"certs/x.pem": pem.as_uri()})}
        result = subprocess.run([sys.executable, str(TERRAFORM / BUILDER)], input=json.dumps(query),
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        outputs.append(json.loads(result.stdout))
    assert outputs[0]["output_base64sha256"] == outputs[1]["output_base64sha256"]
    with zipfile.ZipFile(outputs[0]["output_path"]) as archive:
        assert {"python/six.py", "certs/x.pem"} <= set(archive.namelist())


def test_the_layer_build_refuses_an_unpinned_requirement(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six==1.17.0\n")
    query = {"requirements": str(requirements), "architecture": "arm64", "runtime": "python3.12",
             "output_dir": str(tmp_path / "out")}
    result = subprocess.run([sys.executable, str(TERRAFORM / BUILDER)], input=json.dumps(query),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert result.stderr.startswith("dependency layer: pip install") and len(result.stderr.strip().splitlines()) == 1
