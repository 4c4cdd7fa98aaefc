"""The contract of summary.json, checked: `summary.schema.json` (JSON Schema 2020-12) beside this module.

Runs write summaries (run_summary.py), reports and comparisons read them (loadgen/report/); both sides hold to the
schema. A violation becomes one LoadgenError line naming the file, the JSON path of the first violation and what
is wrong there.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from loadgen.errors import LoadgenError

SCHEMA_PATH = Path(__file__).with_name("summary.schema.json")
TIMELINE_SERIES = ("t_s", "ops", "errors", "p99_ms")


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _message(error: ValidationError) -> str:
    text = error.message
    return text if len(text) <= 160 else text[:157] + "..."


def _semantic_violation(summary: dict) -> str | None:
    """What the schema cannot say: hot-path names are unique in a run (each names its histogram file), stacks
    are unique in a suite, and a timeline's series all have one value per interval."""
    names = [hp.get("name") for hp in summary.get("hot_paths") or [] if isinstance(hp, dict)]
    for i, name in enumerate(names):
        if name in names[:i]:
            return f"$.hot_paths[{i}].name: {name!r} appears twice (each hot path has one histograms/<name>.hdr)"
    stacks = [s.get("stack") for s in summary.get("stacks") or [] if isinstance(s, dict)]
    for i, stack in enumerate(stacks):
        if stack in stacks[:i]:
            return f"$.stacks[{i}].stack: {stack!r} appears twice"
    for i, hot_path in enumerate(summary.get("hot_paths") or []):
        timeline = hot_path.get("timeline") if isinstance(hot_path, dict) else None
        if not isinstance(timeline, dict):
            continue
        lengths = {key: len(timeline.get(key) or []) for key in TIMELINE_SERIES}
        if len(set(lengths.values())) > 1:
            return f"$.hot_paths[{i}].timeline: series of different lengths {lengths}"
    return None


def validate_summary(summary: Any, source: str = "summary.json") -> None:
    """Raise LoadgenError naming `source` and the JSON path of the first violation when `summary` breaks the
    schema (the shallowest violation, as jsonschema's best_match picks it)."""
    error = best_match(_validator().iter_errors(summary))
    if error is not None:
        raise LoadgenError(f"{source}: {error.json_path}: {_message(error)} "
                           f"(the schema is {SCHEMA_PATH.name}; re-run the command that wrote it)")
    problem = _semantic_violation(summary)
    if problem:
        raise LoadgenError(f"{source}: {problem} (re-run the command that wrote it)")


def load_summary(run_dir: Path) -> dict:
    """summary.json of a run dir, parsed and validated; one clear LoadgenError line when it is missing or broken."""
    path = Path(run_dir) / "summary.json"
    if not path.is_file():
        raise LoadgenError(f"{path}: no summary.json here; pass a run dir such as reports/<run-id>/ "
                           f"that a loadgen run wrote")
    try:
        summary = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoadgenError(f"{path}: not readable JSON ({exc}); re-run the command that wrote it") from None
    validate_summary(summary, str(path))
    return summary
