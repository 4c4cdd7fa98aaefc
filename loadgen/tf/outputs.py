"""A deployed env's Terraform outputs: how `--target aws` finds the stack as its users have it.

Where it sits: the Terraform layer (reads what Terraform says, knows nothing of the engine). The outputs come from
`--tf-outputs FILE` (the JSON `terraform output -json` prints) or, when the stack folder holds state, from running
`terraform output -json` there. Which output is the API URL, the API key id or the Redis endpoint is the stack's
declaration (profiles/<stack>/hot_paths.toml `[outputs]`), not this module's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from loadgen.errors import LoadgenError

TERRAFORM_TIMEOUT_S = 120


def read_outputs(stack_dir: Path, outputs_file: Path | None) -> dict[str, Any]:
    """Output name -> value, from the file, else from the stack folder's state, else {} (nothing deployed)."""
    if outputs_file is not None:
        try:
            text = outputs_file.read_text()
        except OSError as exc:
            raise LoadgenError(f"{outputs_file}: cannot be read ({exc.strerror}); pass the file `terraform output "
                               "-json` wrote") from None
        return _values(text, str(outputs_file))
    if not ((stack_dir / "terraform.tfstate").is_file() or (stack_dir / ".terraform").is_dir()):
        return {}
    binary = shutil.which("terraform")
    if binary is None:
        raise LoadgenError(f"{stack_dir}: holds Terraform state but no `terraform` is on PATH to read its outputs; "
                           "pass --tf-outputs FILE (`terraform output -json > FILE` where the state is)")
    try:
        done = subprocess.run([binary, "output", "-json"], cwd=stack_dir, capture_output=True, text=True,
                              timeout=TERRAFORM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise LoadgenError(f"{stack_dir}: `terraform output -json` did not answer in {TERRAFORM_TIMEOUT_S}s; pass "
                           "--tf-outputs FILE") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise LoadgenError(f"{stack_dir}: `terraform output -json` failed ({first}); pass --tf-outputs FILE")
    return _values(done.stdout, f"{stack_dir}: terraform output -json")


def _values(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadgenError(f"{where}: not the JSON of `terraform output -json` ({exc.msg} at line {exc.lineno})") \
            from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) and "value" in v for v in data.values()):
        raise LoadgenError(f"{where}: not the JSON of `terraform output -json` (each output is {{\"value\": ...}})")
    return {name: entry["value"] for name, entry in data.items()}


def required_output(outputs: dict[str, Any], name: str, stack: str, what: str) -> Any:
    """An output the run needs, or one line naming it and how to get it."""
    value = outputs.get(name)
    if value in (None, ""):
        raise LoadgenError(f"terraform/{stack}: output '{name}' ({what}) is missing; after `terraform apply`, run "
                           f"`terraform output -json > outputs.json` in terraform/{stack} and pass "
                           "--tf-outputs outputs.json")
    return value
