"""Test helper: every summary.json under a folder holds to loadgen/measure/summary.schema.json.

Hook it where a test leaves run dirs, e.g. in conftest.py:

    from summary_checks import assert_summaries_valid

    @pytest.fixture(autouse=True)
    def _summaries_hold_to_the_schema(tmp_path):
        yield
        assert_summaries_valid(tmp_path)
"""

from __future__ import annotations

import json
from pathlib import Path

from loadgen.errors import LoadgenError
from loadgen.measure.summary_schema import validate_summary


def summary_problems(folder: Path) -> list[str]:
    """One line per summary.json under `folder` that is unreadable or breaks the schema, and per suite entry whose
    run_dir holds no summary.json."""
    problems = []
    for path in sorted(Path(folder).rglob("summary.json")):
        try:
            summary = json.loads(path.read_text())
            validate_summary(summary, str(path))
        except (OSError, ValueError) as exc:
            problems.append(f"{path}: not readable JSON ({exc})")
            continue
        except LoadgenError as exc:
            problems.append(str(exc))
            continue
        if summary.get("kind") == "suite":
            for entry in summary["stacks"]:
                if not (path.parent / entry["run_dir"] / "summary.json").is_file():
                    problems.append(f"{path}: stack {entry['stack']}: {entry['run_dir']}/summary.json is missing")
    return problems


def assert_summaries_valid(folder: Path) -> int:
    """Fail (AssertionError listing every problem) unless every summary.json under `folder` is valid; return how
    many were checked."""
    problems = summary_problems(folder)
    assert not problems, "summaries that break the schema:\n" + "\n".join(problems)
    return len(list(Path(folder).rglob("summary.json")))
