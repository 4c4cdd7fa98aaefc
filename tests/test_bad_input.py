"""Bad input on the command line: one line on stderr naming the option and where to read more, exit 2, nothing
sent and no report folder written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from loadgen.cli import main
from loadgen.paths import PROFILES_DIR
from tests.conftest import TERRAFORM

CASES = [
    (["validate", "--stack", "food_delivery", "--env", "dev", "--duration", "nan"], "--duration"),
    (["validate", "--stack", "food_delivery", "--env", "dev", "--rate-scale", "nan"], "--rate-scale"),
    (["validate", "--stack", "food_delivery", "--env", "dev", "--rate-scale", "inf"], "--rate-scale"),
    (["validate", "--stack", "food_delivery", "--env", "dev", "--headroom", "nan"], "--headroom"),
    (["validate", "--stack", "food_delivery", "--env", "dev", "--duration", "0"], "--duration"),
    (["push", "api", "--stack", "food_delivery", "--env", "dev", "--rate-scale", "nan"], "--rate-scale"),
    (["push", "kinesis", "--stack", "food_delivery", "--env", "dev", "--duration", "inf"], "--duration"),
    (["bench", "geo", "--stack", "fleet_telematics", "--env", "dev", "--rate", "nan"], "--rate"),
    (["capacity", "--stack", "fleet_telematics", "--env", "prod", "--headroom", "nan"], "--headroom"),
    (["validate", "--stack", "food_delivery", "--env", "dev", "--no-such-option"], "--no-such-option"),
]


@pytest.mark.parametrize("args,option", CASES, ids=[" ".join(a[:2] + a[-2:]) for a, _ in CASES])
def test_a_bad_option_is_one_line_and_exit_2(args, option, tmp_path):
    out = tmp_path / "reports"
    extra = ["--out", str(out)] if args[0] in ("validate", "push") else []
    result = CliRunner().invoke(main, [*args, *extra], prog_name="loadgen")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: loadgen ") and option in lines[0], result.stderr
    assert "--help" in lines[0] and "Traceback" not in result.output
    assert not out.exists()  # nothing ran, nothing written


def copy_of(tree: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(tree, target, ignore=shutil.ignore_patterns("build", ".terraform"))
    return target


def edited(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_bad_files_are_one_line_and_exit_2_before_any_load(local_target, tmp_path):
    """A profile number out of range, a tfvars value its type refuses, a guarding alarm that is not there or has no
    numeric threshold: validate refuses each in one line naming the file, sends nothing, writes no report."""
    terraform, profiles = copy_of(TERRAFORM, tmp_path, "terraform"), copy_of(PROFILES_DIR, tmp_path, "profiles")
    hot_paths = profiles / "food_delivery" / "hot_paths.toml"
    cases = [
        (profiles / "food_delivery" / "dev.toml", "orders_per_day = ", "orders_per_day = -", "dev.toml",
         "orders_per_day = -"),
        (terraform / "food_delivery" / "dev.tfvars", "orders_shard_count", "orders_shard_count = \"many\"\n#",
         "dev.tfvars", "orders_shard_count = 'many' is not a number"),
        (hot_paths, 'kinesis_incoming_records["orders"]', 'kinesis_incoming_records["no_such"]', "hot_paths.toml",
         "names alarm"),
        (terraform / "food_delivery" / "tap_stack.tf", "matcher         = { threshold = var.alarm_p99_threshold_ms",
         "matcher         = { threshold = var.no_such_variable", "tap_stack.tf", "no numeric threshold"),
    ]
    for path, old, new, file_named, says in cases:
        original = path.read_text()
        edited(path, old, new)
        out = tmp_path / "reports"
        result = CliRunner().invoke(main, ["validate", "--stack", "food_delivery", "--env", "dev", "--terraform-dir",
                                           str(terraform), "--profiles-dir", str(profiles), "--out", str(out)],
                                    prog_name="loadgen")
        path.write_text(original)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1, result.output
        assert lines[0].startswith("error: ") and file_named in lines[0] and says in lines[0], lines[0]
        assert not out.exists()


def test_an_output_folder_that_cannot_be_written_is_refused_before_the_target_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("LOADGEN_STATE_DIR", str(tmp_path / "state"))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = CliRunner().invoke(main, ["validate", "--stack", "food_delivery", "--env", "dev", "--out",
                                       str(blocker / "reports")], prog_name="loadgen")
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and "cannot write the report there" in lines[0], result.output
    assert not (tmp_path / "state").exists()  # refused before the embedded target was started
