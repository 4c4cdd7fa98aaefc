"""The summary.json schema and report.html: what conforms, what is rejected (by JSON path), and a rendered page
that puts the verdict first, has a table per hot path, embeds its plots and asks for nothing outside the file."""

from __future__ import annotations

import base64
import copy
import json
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from loadgen.errors import LoadgenError
from loadgen.measure.recorder import HotPathRecorder
from loadgen.measure.summary_schema import validate_summary
from loadgen.report.findings import failures, margin_pct, public
from loadgen.report.html_report import render_report
from loadgen.report.plots import percentile_spectrum
from run_dirs import MATCHING, ORDERS_API, SECRET_VALUE, TRACKING, write_stack_run, write_suite_run
from summary_checks import assert_summaries_valid, summary_problems

PATHS = [MATCHING, ORDERS_API, TRACKING]


class PageParts(HTMLParser):
    """Tables, images, links and section ids of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables, self.img_srcs, self.urls, self.ids = 0, [], [], []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        self.tables += tag == "table"
        if tag == "img":
            self.img_srcs.append(attrs.get("src", ""))
        self.urls += [v for k, v in attrs.items() if k in ("src", "href") and v]
        if attrs.get("id"):
            self.ids.append(attrs["id"])


def parts(page: str) -> PageParts:
    parser = PageParts()
    parser.feed(page)
    return parser


@pytest.fixture
def stack_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run-a"
    write_stack_run(run_dir, PATHS)
    return run_dir


def test_the_test_runs_conform_to_the_schema(tmp_path: Path) -> None:
    write_stack_run(tmp_path / "one", PATHS)
    write_suite_run(tmp_path / "suite", {"food_delivery": [MATCHING, ORDERS_API], "fleet_telematics": [TRACKING]})
    assert assert_summaries_valid(tmp_path) == 4


def test_a_bench_summary_without_the_validate_keys_still_conforms(stack_run: Path) -> None:
    summary = json.loads((stack_run / "summary.json").read_text())
    for key in ("kind", "aborted", "abort_reason", "rate_scale", "processes", "tfvars", "stages", "checks",
                "capacity", "config"):
        del summary[key]
    for hot_path in summary["hot_paths"]:
        for key in ("kind", "stages", "checks", "timeline"):
            del hot_path[key]
    validate_summary(summary)
    summary["kind"] = "validate"
    with pytest.raises(LoadgenError, match=r"\$: 'target_detail'|\$: 'aborted'|is a required property"):
        validate_summary(summary)


@pytest.mark.parametrize("break_it, path, what", [
    (lambda s: s.pop("verdict"), r"\$", "'verdict' is a required property"),
    (lambda s: s["hot_paths"][1].__setitem__("ops", "1200"), r"\$\.hot_paths\[1\]\.ops", "is not of type 'integer'"),
    (lambda s: s["hot_paths"][0]["alarm"].__setitem__("threshold", "40ms"), r"\$\.hot_paths\[0\]\.alarm\.threshold",
     "is not of type 'number'"),
    (lambda s: s.__setitem__("verdict", "maybe"), r"\$\.verdict", "is not one of"),
    (lambda s: s["hot_paths"][2].pop("timeline"), r"\$\.hot_paths\[2\]", "'timeline' is a required property"),
    (lambda s: s["hot_paths"][0]["timeline"]["ops"].pop(), r"\$\.hot_paths\[0\]\.timeline", "different lengths"),
    (lambda s: s["capacity"]["resources"][0].pop("recommended"), r"\$\.capacity\.resources\[0\]",
     "'recommended' is a required property"),
    (lambda s: s["hot_paths"].append(copy.deepcopy(s["hot_paths"][0])), r"\$\.hot_paths\[3\]\.name",
     "appears twice"),
])
def test_a_broken_summary_is_rejected_naming_the_path(stack_run: Path, break_it, path: str, what: str) -> None:
    summary = json.loads((stack_run / "summary.json").read_text())
    validate_summary(copy.deepcopy(summary))
    break_it(summary)
    with pytest.raises(LoadgenError) as error:
        validate_summary(summary, "reports/x/summary.json")
    message = str(error.value)
    assert message.startswith("reports/x/summary.json: ")
    assert re.search(rf"summary\.json: {path}: ", message), message
    assert what in message
    assert "\n" not in message


def test_the_folder_check_names_every_broken_summary_and_missing_suite_member(tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("broken")  # not this test's tmp_path, which conftest checks afterwards
    write_suite_run(folder / "suite", {"food_delivery": [MATCHING], "fleet_telematics": [TRACKING]})
    broken = folder / "suite" / "food_delivery" / "summary.json"
    summary = json.loads(broken.read_text())
    summary["hot_paths"][0]["errors"] = -1
    broken.write_text(json.dumps(summary))
    shutil.rmtree(folder / "suite" / "fleet_telematics")
    problems = summary_problems(folder)
    assert len(problems) == 2
    assert any("food_delivery/summary.json: $.hot_paths[0].errors" in p for p in problems)
    assert any("fleet_telematics/summary.json is missing" in p for p in problems)
    with pytest.raises(AssertionError, match="break the schema"):
        assert_summaries_valid(folder)


def test_the_spectrum_reads_the_histogram() -> None:
    recorder = HotPathRecorder("uniform")
    recorder.record_many(np.arange(1, 10_001) / 1000.0)  # 1 ms .. 10 s, one each
    percentiles, values_ms = percentile_spectrum(recorder.histogram)
    assert percentiles[0] == 0.0 and percentiles[-1] == pytest.approx(99.99)
    median = values_ms[np.argmin(abs(percentiles - 50.0))]
    assert median == pytest.approx(100.0 * percentiles[np.argmin(abs(percentiles - 50.0))], rel=0.002)
    assert values_ms[-1] == pytest.approx(9999.0, rel=0.001)
    assert (np.diff(values_ms) >= 0).all()


def test_margin_is_the_room_left_under_the_threshold() -> None:
    alarm = {"threshold": 40.0, "observed": 10.0, "comparison": "GreaterThanThreshold"}
    assert margin_pct(alarm) == pytest.approx(75.0)
    assert margin_pct({**alarm, "observed": 50.0}) == pytest.approx(-25.0)
    assert margin_pct({**alarm, "comparison": "LessThanThreshold", "observed": 50.0}) == pytest.approx(25.0)
    assert margin_pct(None) is None


def test_secret_sounding_keys_are_dropped_at_any_depth() -> None:
    config = {"seed": 7, "api_key_id": "x", "nested": {"Password": "x", "region": "r", "list": [{"SessionToken": 1}]}}
    assert public(config) == {"seed": 7, "nested": {"region": "r", "list": [{}]}}


def test_the_report_puts_the_verdict_first_with_a_table_per_hot_path_and_embedded_plots(stack_run: Path) -> None:
    summary = json.loads((stack_run / "summary.json").read_text())
    path = render_report(stack_run)
    page = path.read_text()
    assert path == stack_run / "report.html"
    found = parts(page)

    verdict = summary["verdict"].upper()
    assert page.index('id="verdict"') < page.index("<table")
    assert re.search(rf'<div class="word">{verdict}</div>', page)
    failing = [hp for hp in summary["hot_paths"] if hp["verdict"] == "fail"]
    assert failing, "the simulated run should have a hot path over its threshold"
    head = page[:page.index("<table")]
    for hp in failing:
        assert hp["alarm"]["name"] in head
        assert f"{margin_pct(hp['alarm']):.1f}%" in head

    for hp in summary["hot_paths"]:
        assert any(i.startswith("hp-") and i.endswith(hp["name"].replace("_", "-")) for i in found.ids), hp["name"]
        assert (stack_run / "plots" / f"{hp['name']}.png").stat().st_size > 10_000
    # per hot path: numbers, stages, checks (+ errors by cause for one); plus meta, stages, checks, capacity, overview
    assert found.tables >= 3 * len(summary["hot_paths"]) + 5
    assert len(found.img_srcs) == len(summary["hot_paths"])
    for src in found.img_srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [u for u in found.urls if re.match(r"^(https?:)?//", u)]
    assert not re.search(r"url\(|@import|<script|<link", page)
    assert SECRET_VALUE not in page
    assert summary["capacity"]["resources"][0]["key"] in page


def test_the_capacity_table_highlights_what_breaks_first(tmp_path: Path) -> None:
    write_stack_run(tmp_path / "tight", PATHS, capacity_per_path=250.0)
    summary = json.loads((tmp_path / "tight" / "summary.json").read_text())
    breaks = summary["capacity"]["breaks_first"]
    assert breaks == f"{TRACKING.name}_reserved_concurrency"
    page = render_report(tmp_path / "tight").read_text()
    assert re.search(rf'<tr class="breaks"><td class="l">{breaks}</td>', page)
    assert f"capacity: {breaks} breaks first" in page


def test_an_aborted_run_names_its_reason_and_failed_checks(stack_run: Path) -> None:
    summary_path = stack_run / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary.update(aborted=True, abort_reason="redis-server died (exit -9)", verdict="fail")
    summary["checks"].append({"name": "nothing in flight", "passed": False, "detail": "12 records in flight"})
    summary_path.write_text(json.dumps(summary))
    lines = failures(summary)
    assert lines[0] == "aborted: redis-server died (exit -9)"
    assert "check nothing in flight: 12 records in flight" in lines
    page = render_report(stack_run).read_text()
    head = page[:page.index("<table")]
    assert "FAIL (aborted)" in head and "redis-server died" in head and "12 records in flight" in head


def test_a_suite_gets_one_page_with_a_section_per_stack(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    write_suite_run(suite, {"food_delivery": [MATCHING, ORDERS_API], "fleet_telematics": [TRACKING]})
    page = render_report(suite).read_text()
    found = parts(page)
    assert "stack-food_delivery" in found.ids and "stack-fleet_telematics" in found.ids
    assert len(found.img_srcs) == 3
    assert (suite / "fleet_telematics" / "plots" / f"{TRACKING.name}.png").is_file()
    assert f"fleet_telematics: {TRACKING.name}: alarm" in page[:page.index("<table")]


def test_rendering_a_run_dir_without_a_summary_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LoadgenError, match=r"summary\.json: no summary\.json here"):
        render_report(tmp_path)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="loadgen-chromium-") as profile:
        return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                               "--no-first-run", "--disable-background-networking", "--disable-component-update",
                               "--disable-sync", f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/setup installs it)")
def test_report_in_headless_chromium(stack_run: Path, tmp_path: Path) -> None:
    from matplotlib import image

    summary = json.loads((stack_run / "summary.json").read_text())
    url = render_report(stack_run).resolve().as_uri()
    shot = tmp_path / "report.png"
    _chromium(f"--screenshot={shot}", "--window-size=1400,3000", url)
    assert shot.is_file() and shot.stat().st_size > 50_000
    pixels = image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (3000, 1400)
    rgb = (pixels.reshape(-1, 3) * 255).round().astype(np.uint32)
    assert len(np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2])) > 200  # text, tables and plots, not a blank
    # the verdict banner is the first thing on the page: its colour fills a band near the top
    top = pixels[:250].reshape(-1, 3) * 255
    banner = {"fail": (0xc6, 0x28, 0x28), "pass": (0x2e, 0x7d, 0x32)}[summary["verdict"]]
    assert (abs(top - np.array(banner)).max(axis=1) < 8).mean() > 0.2

    dom = _chromium("--dump-dom", url).stdout
    found = parts(dom)
    assert f">{summary['verdict'].upper()}<" in dom
    assert found.tables >= 3 * len(summary["hot_paths"]) + 5
    assert len([s for s in found.img_srcs if s.startswith("data:image/png;base64,")]) == len(summary["hot_paths"])
    for hp in summary["hot_paths"]:
        assert hp["name"] in dom


def test_what_run_summary_writes_today_conforms_and_renders(tmp_path: Path) -> None:
    """The engine's own writer (build_summary/write_summary) against the schema: every alarm kind of a stack
    (latency in ms and us, counts per period), with real histograms; the page renders without a timeline."""
    from loadgen.hot_paths import hot_paths
    from loadgen.measure.run_summary import HotPathResult, build_summary, write_summary
    from loadgen.profiles import load_profile
    from loadgen.run_context import RunContext, Target
    from loadgen.tf import hcl_reader
    from loadgen.tf.env_model import ResolvedStack
    from loadgen.paths import TERRAFORM_DIR

    resolved = ResolvedStack(hcl_reader.load_stack(TERRAFORM_DIR, "food_delivery"), "dev")
    ctx = RunContext(stack="food_delivery", env="dev", resolved=resolved, profile=load_profile("food_delivery", "dev"),
                     target=Target("local", None, None, "us-east-1"), out_dir=tmp_path, run_id="bench-run")
    results = []
    for i, path in enumerate(hot_paths("food_delivery")):
        recorder = HotPathRecorder(path.name)
        recorder.record_many(np.random.default_rng(i).lognormal(np.log(0.004), 0.5, 2_000))
        results.append(HotPathResult(path.name, path.name, recorder, 200.0, 199.0,
                                     counts_per_s={"ConditionalCheckFailedRequests": 0.5, "IncomingRecords": 200.0}))
    summary = build_summary(ctx, results, 10.0)
    write_summary(ctx, summary, results)
    assert {hp["alarm"]["unit"] for hp in summary["hot_paths"] if hp["alarm"]} >= {"ms", "us"}
    assert assert_summaries_valid(tmp_path) == 1
    page = render_report(ctx.run_dir).read_text()
    assert len(parts(page).img_srcs) == len(results)
    assert page.count('class="plot"') == len(results)


def test_a_damaged_histogram_is_one_clear_error(stack_run: Path) -> None:
    (stack_run / "histograms" / f"{MATCHING.name}.hdr").write_text("not-base64!!\n")
    with pytest.raises(LoadgenError, match=rf"{MATCHING.name}\.hdr: not an encoded HdrHistogram"):
        render_report(stack_run)
