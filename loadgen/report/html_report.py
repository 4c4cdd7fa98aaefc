"""report.html: the page a team attaches to a change request, rendered from a run dir (summary.json + histograms).

Self-contained: inline CSS, plots as base64 PNG data URIs (also written to plots/<hot path>.png), no script and no
external request. Order: the verdict (and what failed, by name), the run, its checks, the capacity table, then a
section per hot path (numbers, stages, plots), and the run's configuration with anything secret-sounding dropped.
A suite run gets one page with a section per stack.
"""

from __future__ import annotations

import base64
import html
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from loadgen.report import plots
from loadgen.report.findings import failures, margin_pct, number, public, tally
from loadgen.report.run_dir import Run, StackRun, load_run

REPORT_NAME = "report.html"

CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1250px;color:#222;
 padding:0 16px;font-size:14px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #ddd;padding-bottom:4px}
h3{font-size:16px;margin:22px 0 6px} h4{font-size:14px;margin:12px 0 4px;color:#444}
.verdict{border-radius:8px;padding:16px 22px;margin:8px 0 18px;color:#fff}
.verdict .word{font-size:44px;font-weight:800;letter-spacing:2px}
.verdict ul{margin:8px 0 0;padding-left:22px;font-size:15px}
.v-pass{background:#2e7d32} .v-fail{background:#c62828} .v-aborted{background:#e65100}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f1f3f5} td.l,th.l{text-align:left;white-space:normal}
.badge{display:inline-block;border-radius:4px;padding:1px 7px;color:#fff;font-weight:600;font-size:12px}
.b-pass{background:#2e7d32} .b-fail{background:#c62828} .b-no-alarm{background:#757575} .b-not-run{background:#ef6c00}
tr.breaks td{background:#ffebee;font-weight:700}
.muted{color:#666} .meta td{text-align:left}
img.plot{width:100%;max-width:800px;border:1px solid #ddd}
pre{background:#f6f8fa;padding:8px;font-size:12px;overflow-x:auto}
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _num(value: Any) -> str:
    return _esc(number(value))


def _margin(margin: float | None) -> str:
    return "–" if margin is None else f"{margin:.1f} %"


def _badge(verdict: str) -> str:
    return f'<span class="badge b-{_esc(verdict)}">{_esc(verdict)}</span>'


def _table(headers: list[str], rows: list[list[str]], left: int = 1, row_classes: list[str] | None = None,
           text: tuple[int, ...] = ()) -> str:
    """An HTML table of already-escaped cells; the first `left` columns and those in `text` are left-aligned."""
    lefts = set(range(left)) | set(text)
    head = "".join(f'<th class="l">{h}</th>' if i in lefts else f"<th>{h}</th>" for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        css = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        cells = "".join(f'<td class="l">{c}</td>' if i in lefts else f"<td>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _verdict_block(verdict: str, aborted: bool, lines: list[str], title: str) -> str:
    css = "v-aborted" if aborted else f"v-{verdict}"
    word = verdict.upper() + (" (aborted)" if aborted else "")
    items = "".join(f"<li>{_esc(line)}</li>" for line in lines)
    return (f'<div class="verdict {css}" id="verdict"><div class="word">{_esc(word)}</div>'
            f"<div>{_esc(title)}</div>{f'<ul>{items}</ul>' if items else ''}</div>")


def _meta(summary: dict) -> str:
    target = public(summary.get("target_detail") or {})
    where = summary.get("target", "") + (f" ({target.get('region')})" if target.get("region") else "")
    rows = [("run", summary.get("run_id")), ("stack / env", f"{summary.get('stack')} / {summary.get('env')}"),
            ("target", where), ("tfvars", summary.get("tfvars")), ("started", summary.get("started_at")),
            ("duration", f"{_num(summary.get('duration_s'))} s"), ("rate scale", summary.get("rate_scale")),
            ("processes", summary.get("processes"))]
    cells = "".join(f'<tr><th class="l">{_esc(k)}</th><td>{_num(v)}</td></tr>' for k, v in rows if v is not None)
    return f'<table class="meta">{cells}</table>'


def _checks(checks: list[dict]) -> str:
    rows = [[_esc(c["name"]), _badge("pass" if c["passed"] else "fail"), _esc(c["detail"])] for c in checks]
    return _table(["check", "result", "detail"], rows, text=(2,))


def _capacity(capacity: dict | None) -> str:
    if not capacity:
        return '<p class="muted">capacity model not run</p>'
    breaks = capacity.get("breaks_first")
    rows, classes = [], []
    for r in capacity.get("resources") or []:
        rows.append([_esc(r["key"]), _esc(r["resource"]), _num(r["demand"]), _num(r["capacity"]),
                     _num(None if r["utilization"] is None else 100.0 * r["utilization"]) + " %",
                     _num(r["saturates_at_multiple"]) + ("×" if r["saturates_at_multiple"] is not None else ""),
                     _num(r["recommended"])])
        classes.append("breaks" if breaks and r["key"] == breaks else "")
    head = (f"<p>verdict {_badge(capacity['verdict'])} — breaks first: "
            f"<b>{_esc(breaks) if breaks else 'nothing at this demand'}</b></p>")
    return head + _table(["tfvars key", "resource", "demand", "capacity", "utilization", "saturates at",
                          "recommended"], rows, left=2, row_classes=classes)


def _anchor(stack: str, name: str) -> str:
    return "hp-" + "".join(c if c.isalnum() else "-" for c in f"{stack}-{name}")


def _overview(stack: str, hot_paths: list[dict]) -> str:
    rows = []
    for hp in hot_paths:
        alarm = hp.get("alarm") or {}
        margin = margin_pct(hp.get("alarm"))
        rows.append([f'<a href="#{_anchor(stack, hp["name"])}">{_esc(hp["name"])}</a>', _num(hp["ops"]),
                     _num(hp["achieved_rate"]), _num(hp["target_rate"]), _num(hp["latency_ms"]["p99"]),
                     _esc(alarm.get("name", "–")), _margin(margin), _badge(hp["verdict"])])
    return _table(["hot path", "ops", "achieved /s", "target /s", "p99 ms", "alarm", "margin", "verdict"], rows,
                  text=(5,))


def _hot_path_numbers(hp: dict) -> str:
    alarm, lat = hp.get("alarm"), hp["latency_ms"]
    margin = margin_pct(alarm)
    unit = f" {alarm['unit']}" if alarm else ""
    judged = ([_esc(alarm["name"]), _esc(alarm["statistic"]), _num(alarm["threshold"]) + _esc(unit),
               _num(alarm["observed"]) + _esc(unit)] if alarm else ["none measured", "–", "–", "–"])
    row = [_num(hp["ops"]), _num(hp["errors"]), _num(hp["late_starts"]), _num(hp["target_rate"]),
           _num(hp["achieved_rate"]), *[_num(lat[k]) for k in ("p50", "p95", "p99", "p999", "max")],
           *judged, _margin(margin), _badge(hp["verdict"])]
    return _table(["ops", "errors", "late starts", "target /s", "achieved /s", "p50 ms", "p95 ms", "p99 ms",
                   "p99.9 ms", "max ms", "alarm", "statistic", "threshold", "observed", "margin", "verdict"],
                  [row], left=0, text=(10, 11))


def _hot_path_stages(stages: list[dict]) -> str:
    rows = []
    for s in stages:
        ratio = (100.0 * s["achieved_rate"] / s["target_rate"]) if s.get("target_rate") else None
        rows.append([_num(s["index"]), _num(s["start_s"]), _num(s["duration_s"]), _num(s["target_rate"]),
                     _num(s["achieved_rate"]), "–" if ratio is None else f"{ratio:.1f} %", _num(s["ops"]),
                     _num(s["errors"]), *[_num(s["latency_ms"][k]) for k in ("p50", "p95", "p99", "p999", "max")]])
    return _table(["stage", "start s", "duration s", "target /s", "achieved /s", "achieved/target", "ops", "errors",
                   "p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms"], rows, left=0)


def _hot_path_alarms(hp: dict) -> str:
    """Every alarm the run judged the hot path by, and those it could not measure."""
    rows = [[_esc(a["name"]), _esc(a["metric"]), _esc(a["statistic"]), _num(a["threshold"]) + " " + _esc(a["unit"]),
             _num(a["observed"]) + " " + _esc(a["unit"]), _margin(margin_pct(a)),
             _badge("fail" if a["fires"] else "pass"), _esc(a["observed_as"])] for a in hp.get("alarms") or []]
    rows += [[_esc(a["address"]), _esc(a["metric"]), "–", "–", "not measured by this run", "–", "–",
              _esc(a.get("reason", "–"))] for a in hp.get("alarms_not_measured") or []]
    return _table(["alarm", "metric", "statistic", "threshold", "observed", "margin", "judged", "observed as"], rows,
                  text=(7,))


def _beside_locust(hp: dict) -> str:
    """A Locust run's percentiles side by side: loadgen's, read from the merged HdrHistograms (latency from the
    intended start), and Locust's own (service time, rounded to 1 ms under 100 ms and 10 ms under 1 s)."""
    own, lat = hp["locust"], hp["latency_ms"]
    keys = ("p50", "p95", "p99", "p999", "max")
    rows = [["loadgen (merged HdrHistograms, from the intended start)", _num(hp["ops"]), _num(hp["errors"]),
             *[_num(lat[k]) for k in keys]],
            ["Locust (its own stats, service time)", _num(own["requests"]), _num(own["failures"]),
             *[_num(own["latency_ms"][k]) for k in keys]]]
    return _table(["percentiles from", "requests", "failures", "p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms"],
                  rows, text=(0,))


CORE_KEYS = {"name", "kind", "ops", "errors", "late_starts", "target_rate", "achieved_rate", "latency_ms", "alarm",
             "alarms", "alarms_not_measured", "verdict", "failed_because", "error_causes", "stages", "checks",
             "timeline", "locust"}


def _hot_path_section(run: StackRun, hp: dict, png: bytes) -> str:
    stack = run.summary.get("stack", "")
    kind = f' <span class="muted">({_esc(hp["kind"])})</span>' if hp.get("kind") else ""
    parts = [f'<h3 id="{_anchor(stack, hp["name"])}">{_esc(hp["name"])} {_badge(hp["verdict"])}{kind}</h3>',
             _hot_path_numbers(hp)]
    if hp.get("failed_because"):
        parts.append(f"<p><b>failed because:</b> {_esc(hp['failed_because'])}</p>")
    if hp.get("alarm"):
        parts.append(f'<p class="muted">observed as {_esc(hp["alarm"]["observed_as"])}; alarm '
                     f'{_esc(hp["alarm"]["address"])} fires when {_esc(hp["alarm"]["comparison"])}</p>')
    if hp.get("locust"):
        parts += ["<h4>Locust's percentiles beside the exact ones</h4>", _beside_locust(hp)]
    if len(hp.get("alarms") or []) + len(hp.get("alarms_not_measured") or []) > 1:
        parts += ["<h4>alarms</h4>", _hot_path_alarms(hp)]
    if hp.get("stages"):
        parts += ["<h4>stages</h4>", _hot_path_stages(hp["stages"])]
    if hp.get("checks"):
        parts += ["<h4>checks</h4>", _checks(hp["checks"])]
    if hp.get("error_causes"):
        rows = [[_esc(cause), _num(count)] for cause, count in hp["error_causes"].items()]
        parts += ["<h4>errors by cause</h4>", _table(["cause", "errors"], rows)]
    parts.append(f'<img class="plot" alt="plots of {_esc(hp["name"])}" '
                 f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">')
    extra = public({k: v for k, v in hp.items() if k not in CORE_KEYS})
    if extra:
        parts.append(f"<details><summary>more measurements ({_esc(', '.join(extra))})</summary>"
                     f"<pre>{_esc(json.dumps(extra, indent=2, default=str))}</pre></details>")
    return "\n".join(parts)


def _stack_section(run: StackRun, with_verdict: bool, pngs: dict[tuple[Path, str], bytes]) -> str:
    s = run.summary
    title = f"{s.get('stack')} / {s.get('env')} on {s.get('target')}"
    if with_verdict:
        parts = [_verdict_block(s["verdict"], bool(s.get("aborted")), failures(s), f"{title} — {tally(s)}")]
    else:
        parts = [f'<h2 id="stack-{_esc(s.get("stack"))}">{_esc(title)} {_badge(s["verdict"])}</h2>',
                 f"<p>{_esc(tally(s))}{' — aborted: ' + _esc(s.get('abort_reason')) if s.get('aborted') else ''}</p>"]
    parts.append(_meta(s))
    if s.get("stages"):
        rows = [[_num(x["index"]), _num(x["start_s"]), _num(x["duration_s"]), _num(x["rate_fraction"])]
                for x in s["stages"]]
        parts += ["<h4>ramp stages</h4>", _table(["stage", "start s", "duration s", "× peak rate"], rows, left=0)]
    if s.get("checks"):
        parts += ["<h4>run checks</h4>", _checks(s["checks"])]
    if "capacity" in s:
        parts += ["<h4>capacity</h4>", _capacity(s["capacity"])]
    parts += ["<h4>hot paths</h4>", _overview(s.get("stack", ""), s["hot_paths"])]
    parts += [_hot_path_section(run, hp, pngs[run.run_dir, hp["name"]]) for hp in s["hot_paths"]]
    config = public(s.get("config"))
    if config:
        parts += ["<h4>configuration</h4>", f"<pre>{_esc(json.dumps(config, indent=2, default=str))}</pre>"]
    return "\n".join(parts)


def _plot(job: tuple[StackRun, int]) -> bytes:
    stack, index = job
    hp = stack.summary["hot_paths"][index]
    return plots.hot_path_png(hp, stack.histogram(hp), float(stack.summary.get("duration_s") or 0.0))


def render_plots(run: Run, processes: int) -> dict[tuple[Path, str], bytes]:
    """Every hot path's PNG, keyed by (its stack's run dir, its name), also written to <run dir>/plots/<name>.png.
    Drawing is matplotlib's pure-Python work (about half a second a hot path), so with `processes` > 1 the plots
    are drawn in that many forked processes at once."""
    jobs = [(stack, i) for stack in run.stacks for i in range(len(stack.summary["hot_paths"]))]
    if processes > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(min(processes, len(jobs)), mp_context=multiprocessing.get_context("fork")) as pool:
            pngs = list(pool.map(_plot, jobs))
    else:
        pngs = [_plot(job) for job in jobs]
    drawn = {}
    for (stack, i), png in zip(jobs, pngs):
        name = stack.summary["hot_paths"][i]["name"]
        (stack.run_dir / "plots").mkdir(parents=True, exist_ok=True)
        (stack.run_dir / "plots" / f"{name}.png").write_bytes(png)
        drawn[stack.run_dir, name] = png
    return drawn


def report_html(run: Run, pngs: dict[tuple[Path, str], bytes]) -> str:
    """The whole page for a loaded run (a stack's run, or a suite with a section per stack), with its plots
    (render_plots)."""
    if run.is_suite:
        s = run.summary
        lines = [f"{stack.summary['stack']}: {line}" for stack in run.stacks for line in failures(stack.summary)]
        title = f"suite {s['run_id']} — env {s['env']}, {len(run.stacks)} stacks, started {s['started_at']}"
        body = [_verdict_block(s["verdict"], bool(s.get("aborted")), lines, title),
                _table(["stack", "run dir", "verdict"], [[f'<a href="#stack-{_esc(e["stack"])}">{_esc(e["stack"])}</a>',
                                                         _esc(e["run_dir"]), _badge(e["verdict"])]
                                                        for e in s["stacks"]], left=2)]
        body += [_stack_section(stack, False, pngs) for stack in run.stacks]
        heading = f"loadgen suite {s['run_id']}"
    else:
        body = [_stack_section(run.stacks[0], True, pngs)]
        heading = f"loadgen run {run.summary['run_id']}"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_esc(heading)}</title>'
            f"<style>{CSS}</style></head><body><h1>{_esc(heading)}</h1>\n" + "\n".join(body) + "\n</body></html>\n")


def render_report(run_dir: Path, processes: int | None = None) -> Path:
    """Write run_dir/report.html (and plots/<hot path>.png in each stack's run dir); return the report's path.
    The plots are drawn in `processes` processes (default: one per CPU this process may use; 1 draws them here,
    as a process that must not fork does)."""
    run = load_run(run_dir)
    pngs = render_plots(run, len(os.sched_getaffinity(0)) if processes is None else processes)
    path = Path(run_dir) / REPORT_NAME
    path.write_text(report_html(run, pngs))
    return path
