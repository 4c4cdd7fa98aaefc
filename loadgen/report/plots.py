"""The plots of report.html, one PNG per hot path: percentile spectrum, latency over time, rate through the
stages, errors and throttles over time.

Percentiles come from the run's HdrHistogram (histograms/<hot path>.hdr) in one pass over its counts; the time
series come from the summary's timeline. matplotlib's object API with the Agg canvas, never pyplot: no global
backend state, nothing shown, safe to call from any thread.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

FIGSIZE_IN = (10.0, 5.6)
SMALL_FIGSIZE_IN = (6.5, 3.4)
DPI = 80
SPECTRUM_NINES = 4
"""The spectrum's x axis runs from 0% to 99.99% (four nines), log-scaled in 1/(1 - p) as HdrHistogram plots are."""

THRESHOLD_STYLE = {"color": "#c62828", "linestyle": "--", "linewidth": 1.2}
LATENCY_UNITS_PER_MS = {"ms": 1.0, "us": 1000.0}


def percentile_spectrum(histogram: HdrHistogram, points: int = 161) -> tuple[np.ndarray, np.ndarray]:
    """(percentiles, latency in ms) from 0% to 99.99%, evenly spaced in log10(1 / (1 - p)), read from the
    histogram with hdrh's single-pass get_percentile_to_value_dict."""
    nines = np.linspace(0.0, SPECTRUM_NINES, points)
    percentiles = [float(p) for p in 100.0 * (1.0 - 10.0 ** -nines)]
    values = histogram.get_percentile_to_value_dict(percentiles)
    return np.array(percentiles), np.array([values.get(p, histogram.get_max_value()) for p in percentiles]) / 1000.0


def alarm_threshold_ms(alarm: dict | None) -> tuple[float, float | None] | None:
    """(threshold, observed) in ms when the alarm is about latency, else None."""
    if not alarm or alarm.get("unit") not in LATENCY_UNITS_PER_MS:
        return None
    per_ms = LATENCY_UNITS_PER_MS[alarm["unit"]]
    observed = alarm.get("observed")
    return alarm["threshold"] / per_ms, (observed / per_ms if observed is not None else None)


def _statistic_percentile(alarm: dict | None) -> float | None:
    statistic = str((alarm or {}).get("statistic") or "")
    try:
        return float(statistic[1:]) if statistic.startswith("p") else None
    except ValueError:
        return None


def _empty(ax: Any, title: str, why: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, color="#777")
    ax.set_xticks([])
    ax.set_yticks([])


def _spectrum(ax: Any, histogram: HdrHistogram | None, alarm: dict | None) -> None:
    title = "latency by percentile (whole run)"
    if histogram is None or histogram.get_total_count() == 0:
        _empty(ax, title, "no histogram recorded")
        return
    percentiles, values_ms = percentile_spectrum(histogram)
    x = 1.0 / (1.0 - percentiles / 100.0)
    ax.plot(x, values_ms, color="#1565c0", linewidth=1.4, drawstyle="steps-post", label="latency")
    ax.set_xscale("log")
    ticks = [10.0 ** n for n in range(SPECTRUM_NINES + 1)]
    ax.set_xticks(ticks, ["0%", "90%", "99%", "99.9%", "99.99%"][: len(ticks)])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(1.0, ticks[-1])
    threshold = alarm_threshold_ms(alarm)
    top = float(values_ms.max())
    if threshold:
        ax.axhline(threshold[0], **THRESHOLD_STYLE, label=f"alarm threshold {threshold[0]:g} ms ({alarm['statistic']})")
        percentile = _statistic_percentile(alarm)
        if percentile is not None and threshold[1] is not None and percentile < 100:
            ax.plot([1.0 / (1.0 - percentile / 100.0)], [threshold[1]], "o", color="#c62828", markersize=5,
                    label=f"observed {alarm['statistic']} {threshold[1]:.3g} ms")
        top = max(top, threshold[0])
    bottom = float(values_ms[values_ms > 0].min()) if (values_ms > 0).any() else 0.001
    if top / bottom > 50:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_ylim(bottom * 0.8, top * 1.5)
    else:
        ax.set_ylim(0, top * 1.1)
    ax.set_title(title)
    ax.set_xlabel("percentile")
    ax.set_ylabel("ms")
    ax.legend(loc="best", fontsize=7)
    ax.grid(True, which="major", alpha=0.3)


def _stage_lines(ax: Any, stages: list[dict]) -> None:
    for stage in stages[1:]:
        ax.axvline(stage["start_s"], color="#999", linestyle=":", linewidth=0.8)


def _series(timeline: dict, key: str) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in timeline.get(key) or []], dtype=float)


def _latency_over_time(ax: Any, timeline: dict | None, alarm: dict | None, stages: list[dict]) -> None:
    title = "p99 latency per interval"
    if not timeline or not timeline.get("t_s"):
        _empty(ax, title, "no timeline in summary.json")
        return
    t = _series(timeline, "t_s") + timeline["interval_s"] / 2
    ax.plot(t, _series(timeline, "p99_ms"), color="#1565c0", linewidth=1.2, marker=".", markersize=3, label="p99")
    threshold = alarm_threshold_ms(alarm)
    if threshold:
        ax.axhline(threshold[0], **THRESHOLD_STYLE, label=f"alarm threshold ({alarm['statistic']})")
        ax.legend(loc="lower right", fontsize=7)
    _stage_lines(ax, stages)
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.set_xlabel("s since start")
    ax.set_ylabel("ms")
    ax.grid(True, alpha=0.3)


def _rate_through_stages(ax: Any, timeline: dict | None, stages: list[dict], target_rate: float | None,
                         duration_s: float) -> None:
    title = "achieved vs target rate"
    if not timeline or not timeline.get("t_s"):
        _empty(ax, title, "no timeline in summary.json")
        return
    t = _series(timeline, "t_s")
    achieved = _series(timeline, "ops") / float(timeline["interval_s"])
    ax.stairs(achieved, np.append(t, t[-1] + timeline["interval_s"]), color="#2e7d32", linewidth=1.2,
              label="achieved (per interval)")
    targets = [(s["start_s"], s["start_s"] + s["duration_s"], s["target_rate"]) for s in stages
               if s.get("target_rate") is not None]
    if not targets and target_rate is not None:
        targets = [(0.0, duration_s, target_rate)]
    for i, (start, end, rate) in enumerate(targets):
        ax.hlines(rate, start, end, color="#6a1b9a", linewidth=1.6, linestyles="--", label="target" if i == 0 else None)
    _stage_lines(ax, stages)
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.set_xlabel("s since start")
    ax.set_ylabel("operations / s")
    ax.legend(loc="lower right", fontsize=7)
    ax.grid(True, alpha=0.3)


def _errors_over_time(ax: Any, timeline: dict | None, stages: list[dict]) -> None:
    """Errors (operations that failed) and throttled answers (once per attempt, retried ones included) per
    interval, side by side."""
    title = "errors and throttles per interval"
    if not timeline or not timeline.get("t_s"):
        _empty(ax, title, "no timeline in summary.json")
        return
    t, width = _series(timeline, "t_s"), timeline["interval_s"]
    errors = _series(timeline, "errors")
    throttles = _series(timeline, "throttles") if "throttles" in timeline else np.zeros_like(errors)
    ax.bar(t, errors, width=width / 2, align="edge", color="#c62828", label="errors")
    ax.bar(t + width / 2, throttles, width=width / 2, align="edge", color="#ef6c00", label="throttled answers")
    _stage_lines(ax, stages)
    top = max(float(np.nanmax(errors)) if errors.size else 0.0, float(np.nanmax(throttles)) if throttles.size else 0.0)
    ax.set_ylim(0, max(1.0, top * 1.15))
    ax.set_title(title + ("" if np.nansum(errors) + np.nansum(throttles) else " (none)"))
    ax.set_xlabel("s since start")
    ax.set_ylabel("count")
    ax.legend(loc="upper right", fontsize=7)
    ax.grid(True, alpha=0.3)


def _style(axes: list) -> None:
    for ax in axes:
        ax.tick_params(labelsize=7)
        ax.title.set_fontsize(9)
        ax.xaxis.label.set_fontsize(8)
        ax.yaxis.label.set_fontsize(8)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def hot_path_png(hot_path: dict, histogram: HdrHistogram | None, duration_s: float) -> bytes:
    """One hot path's plots as a PNG: the four panels (about 800 x 450 px) when the summary has a timeline, the
    percentile spectrum alone (about 520 x 270 px) when it has none (bench and push summaries)."""
    timeline = hot_path.get("timeline")
    judged = hot_path.get("alarms") or [hot_path.get("alarm")]
    alarm = next((a for a in judged if a and a.get("unit") in LATENCY_UNITS_PER_MS), None)  # a threshold line
    if not timeline or not timeline.get("t_s"):
        figure = Figure(figsize=SMALL_FIGSIZE_IN, dpi=DPI)
        FigureCanvasAgg(figure)
        ax = figure.subplots()
        _spectrum(ax, histogram, alarm)
        _style([ax])
        figure.subplots_adjust(left=0.1, right=0.97, bottom=0.16, top=0.91)
        return _png(figure)
    figure = Figure(figsize=FIGSIZE_IN, dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, 2)
    stages = hot_path.get("stages") or []
    _spectrum(axes[0][0], histogram, alarm)
    _latency_over_time(axes[0][1], timeline, alarm, stages)
    _rate_through_stages(axes[1][0], timeline, stages, hot_path.get("target_rate"), duration_s)
    _errors_over_time(axes[1][1], timeline, stages)
    end = max([duration_s] + [t + timeline["interval_s"] for t in timeline["t_s"]])
    for ax in (axes[0][1], axes[1][0], axes[1][1]):
        ax.set_xlim(0, end)
    _style(list(axes.flat))
    figure.subplots_adjust(left=0.07, right=0.985, bottom=0.09, top=0.95, wspace=0.18, hspace=0.42)
    return _png(figure)
