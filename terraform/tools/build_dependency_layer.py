#!/usr/bin/env python3
"""Builds a stack's Lambda dependency layer from its pinned requirements: the `data "external"` program.

Where it sits: every stack whose handlers import third-party libraries (redis, pg8000) declares
`data "external" "dependency_layer"` running this script; `aws_lambda_layer_version.dependencies` uploads the
zip it returns. Terraform runs it on every plan, so the layer exists wherever the stack is planned (a fresh
checkout, a CI runner with existing state) and no one builds or publishes anything by hand.

Protocol (Terraform's external data source): a JSON object of strings on stdin, a JSON object of strings on
stdout, a one-line reason on stderr and exit 1 on failure.

Query keys:
  requirements   path of the pinned requirements file (`name==version --hash=sha256:...` for every
                 distribution, dependencies included: pip runs with --require-hashes)
  architecture   the functions' instruction set, `arm64` or `x86_64` (selects the manylinux wheels)
  runtime        the functions' runtime, `python3.12` (selects the wheels' Python version)
  output_dir     where the zip is written (`<stack>/.build`, ignored by git)
  extra_files    optional: a JSON object {"path/in/layer": "https://url"}; each is fetched and stored at that
                 path (the layer is unpacked under /opt, so "certs/x.pem" is /opt/certs/x.pem)

Result keys: output_path, output_base64sha256, requirements_sha256.

Reproducible: wheels only (`--only-binary=:all:`) for the target platform, exact versions and hashes,
no bytecode (`--no-compile`), and a zip written with sorted entries, fixed timestamps and modes. The same
requirements give a byte-identical zip on any machine, so the layer version is replaced only when the
requirements (or a fetched extra file) change. A zip already built for the same inputs is reused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class BuildError(Exception):
    """A reason the layer cannot be built, reported to Terraform as one line."""


def _python_version(runtime: str) -> str:
    if not runtime.startswith("python3."):
        raise BuildError(f"runtime {runtime!r} is not a python3.x Lambda runtime")
    return runtime[len("python"):]


def _fetch(url: str) -> bytes:
    if not url.startswith(("https://", "file://")):
        raise BuildError(f"extra file URL {url!r} must be https:// (or file:// for tests)")
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - scheme checked above
        return response.read()


def _install(requirements: Path, architecture: str, runtime: str, target: Path) -> None:
    if architecture not in PLATFORMS:
        raise BuildError(f"architecture {architecture!r} is not one of {', '.join(PLATFORMS)}")
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--require-hashes", "--only-binary=:all:", "--no-compile",
        "--platform", PLATFORMS[architecture], "--implementation", "cp",
        "--python-version", _python_version(runtime),
        "--target", str(target), "-r", str(requirements),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise BuildError(f"pip install -r {requirements} failed: {detail}")


def _write_zip(files: dict[str, bytes], path: Path) -> None:
    """A byte-reproducible zip: sorted names, fixed timestamps, fixed modes."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    tmp.replace(path)


def _layer_files(site: Path) -> dict[str, bytes]:
    files = {}
    for file in site.rglob("*"):
        relative = file.relative_to(site)
        if file.is_dir() or "__pycache__" in relative.parts or relative.parts[0] == "bin":
            continue
        files[f"python/{relative.as_posix()}"] = file.read_bytes()
    return files


def build(query: dict[str, str]) -> dict[str, str]:
    """Build (or reuse) the layer zip for a query; returns Terraform's result map."""
    missing = [k for k in ("requirements", "architecture", "runtime", "output_dir") if not query.get(k)]
    if missing:
        raise BuildError(f"query lacks {', '.join(missing)}")
    requirements = Path(query["requirements"])
    if not requirements.is_file():
        raise BuildError(f"{requirements}: requirements file not found")
    extra = json.loads(query.get("extra_files") or "{}")
    extra_bytes = {name: _fetch(url) for name, url in sorted(extra.items())}
    inputs = hashlib.sha256()
    inputs.update(requirements.read_bytes())
    for part in (query["architecture"], query["runtime"]):
        inputs.update(b"\0" + part.encode())
    for name, content in extra_bytes.items():
        inputs.update(b"\0" + name.encode() + b"\0" + hashlib.sha256(content).digest())
    key = inputs.hexdigest()
    output_dir = Path(query["output_dir"])
    output_dir.mkdir(parents=True, exist_ok=True)
    zip_path = output_dir / f"dependency-layer-{key[:16]}.zip"
    if not zip_path.exists():
        with tempfile.TemporaryDirectory() as tmp:
            site = Path(tmp) / "site"
            _install(requirements, query["architecture"], query["runtime"], site)
            files = _layer_files(site)
            for name, content in extra_bytes.items():
                files[name] = content
            _write_zip(files, zip_path)
    digest = hashlib.sha256(zip_path.read_bytes()).digest()
    return {
        "output_path": str(zip_path),
        "output_base64sha256": base64.b64encode(digest).decode(),
        "requirements_sha256": hashlib.sha256(requirements.read_bytes()).hexdigest(),
    }


def main() -> int:
    try:
        query = json.load(sys.stdin)
        print(json.dumps(build({k: str(v) for k, v in query.items()})))
        return 0
    except (BuildError, OSError, ValueError) as exc:
        print(f"dependency layer: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
