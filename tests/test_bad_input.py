"""Bad input on the command line: one line on stderr naming the option and where to read more, exit 2, nothing
sent and no report folder written."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from loadgen.cli import main

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
