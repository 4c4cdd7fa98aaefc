"""What a summary says in words, for the report and the terminal: what failed (by name, with the margin), a
tally of verdicts, the margin to an alarm's threshold, and a view of free-form data without anything secret.
"""

from __future__ import annotations

from typing import Any

SECRET_WORDS = ("key", "secret", "token", "password")


def number(value: Any) -> str:
    """A figure as the report prints it: thousands separated, 4 significant digits below 1,000, '–' for none."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def public(value: Any) -> Any:
    """`value` without any mapping key whose name contains key, secret, token or password (at any depth)."""
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items() if not any(w in str(k).lower() for w in SECRET_WORDS)}
    if isinstance(value, list):
        return [public(v) for v in value]
    return value


def margin_pct(alarm: dict | None) -> float | None:
    """How far the observed value is from firing the alarm, in % of the threshold: (threshold - observed) /
    threshold for alarms that fire above it, the mirror for LessThan alarms; negative = beyond the threshold."""
    if not alarm or alarm.get("observed") is None or not alarm.get("threshold"):
        return None
    threshold, observed = alarm["threshold"], alarm["observed"]
    room = observed - threshold if str(alarm.get("comparison", "")).startswith("LessThan") else threshold - observed
    return 100.0 * room / abs(threshold)


def failures(summary: dict) -> list[str]:
    """What made a stack's run fail, one line each: abort, failed checks, capacity, failed hot paths."""
    lines = []
    if summary.get("aborted"):
        lines.append(f"aborted: {summary.get('abort_reason') or 'no reason recorded'}")
    lines += [f"check {c['name']}: {c['detail']}" for c in summary.get("checks") or [] if not c["passed"]]
    capacity = summary.get("capacity")
    if capacity and capacity.get("verdict") == "fail":
        lines.append(f"capacity: {capacity.get('breaks_first') or 'a resource'} breaks first")
    for hp in summary.get("hot_paths") or []:
        alarm = hp.get("alarm")
        if hp.get("verdict") == "fail":
            margin = margin_pct(alarm)
            if alarm and (not hp.get("failed_because") or (margin is not None and margin < 0)):
                lines.append(f"{hp['name']}: alarm {alarm['name']}: {alarm['statistic']} {alarm['metric']} "
                             f"{number(alarm['observed'])} {alarm['unit']} vs threshold "
                             f"{number(alarm['threshold'])} {alarm['unit']}"
                             + ("" if margin is None else f" (margin {margin:.1f}%)"))
            if hp.get("failed_because") or not alarm:
                lines.append(f"{hp['name']}: {hp.get('failed_because') or 'failed'}")
        lines += [f"{hp['name']}: check {c['name']}: {c['detail']}" for c in hp.get("checks") or []
                  if not c["passed"]]
    return lines


def tally(summary: dict) -> str:
    """One line of counts under the verdict: hot paths by verdict, checks passed, capacity."""
    verdicts = [hp["verdict"] for hp in summary.get("hot_paths") or []]
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in ("pass", "fail", "no-alarm", "not-run") if verdicts.count(v))
    line = f"{len(verdicts)} hot paths ({counts or 'none'})"
    checks = summary.get("checks") or []
    if checks:
        line += f"; {sum(c['passed'] for c in checks)}/{len(checks)} run checks passed"
    capacity = summary.get("capacity")
    if capacity:
        line += "; capacity " + ("holds" if capacity["verdict"] == "pass" else "does not hold")
    return line
