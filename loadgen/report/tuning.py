"""What notebooks/ compute from runs and from the capacity model's tables, and the conclusions they end with.

Where it sits: after loadgen.report.runs_frame (runs as DataFrames) and loadgen.measure.sizing (the capacity
model's figures as tables); the notebooks only call these and plot. Every conclusion is a sentence built from a
table passed in, never typed into a notebook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from loadgen.measure.sizing import write_units_per_write
from loadgen.report.compare import compare_runs
from loadgen.report.plots import LATENCY_UNITS_PER_MS


def latency_against_alarms(hot_paths: pd.DataFrame, kind: str | None = None) -> pd.DataFrame:
    """Hot paths (of `kind`, or all) whose deciding alarm is on latency: p95 and p99 measured against the threshold
    in ms, and `margin` = (threshold - observed) / threshold for the alarm's own statistic."""
    if kind is not None:
        hot_paths = hot_paths[hot_paths["kind"] == kind] if "kind" in hot_paths else hot_paths.iloc[0:0]
    frame = hot_paths
    if "alarm.unit" not in frame:
        return pd.DataFrame(columns=["run_id", "stack", "name", "p95_ms", "p99_ms", "statistic", "threshold_ms"])
    frame = frame[frame["alarm.unit"].isin(list(LATENCY_UNITS_PER_MS))]
    per_ms = frame["alarm.unit"].map(LATENCY_UNITS_PER_MS)
    out = pd.DataFrame({"run_id": frame["run_id"], "stack": frame["stack"], "name": frame["name"],
                        "p95_ms": frame["latency_ms.p95"], "p99_ms": frame["latency_ms.p99"],
                        "statistic": frame["alarm.statistic"], "threshold_ms": frame["alarm.threshold"] / per_ms,
                        "observed_ms": frame["alarm.observed"] / per_ms})
    out["margin"] = (out["threshold_ms"] - out["observed_ms"]) / out["threshold_ms"]
    return out.reset_index(drop=True)


def worst_p99_ms(hot_paths: pd.DataFrame) -> dict[str, float]:
    """The highest p99 each hot path (by name) reached across the runs, as the capacity model takes measured p99s."""
    measured = hot_paths[hot_paths["ops"] > 0]
    return {name: float(p99) for name, p99 in measured.groupby("name")["latency_ms.p99"].max().items()}


def geo_queries(hot_paths: pd.DataFrame) -> pd.DataFrame:
    """The GEO bench's hot paths (they carry `command`): command, radius, COUNT, members loaded, p50/p99 and the
    server's own microseconds per GEO command (what the alarm watches)."""
    if "command" not in hot_paths:
        return pd.DataFrame(columns=["run_id", "stack", "command", "radius_km", "count", "members_loaded", "p99_ms"])
    frame = hot_paths[hot_paths["command"].notna()]
    return pd.DataFrame({"run_id": frame["run_id"], "stack": frame["stack"], "name": frame["name"],
                         "command": frame["command"], "radius_km": frame["radius_km"], "count": frame["count"],
                         "members_loaded": frame["members_loaded"], "ops": frame["ops"],
                         "p50_ms": frame["latency_ms.p50"], "p99_ms": frame["latency_ms.p99"],
                         "server_us_per_command": frame["alarm.observed"],
                         "threshold_us": frame["alarm.threshold"]}).reset_index(drop=True)


def contention(hot_paths: pd.DataFrame) -> pd.DataFrame:
    """The DynamoDB bench's hot paths (they carry `conditional_failures`): writers x hot items against the failed
    share of writes, failures per second and per alarm period, and the write units the failed writes consume (a
    failed conditional write costs what a successful one does: the capacity model's units per write of the table at
    the fleet's item sizes)."""
    if "conditional_failures" not in hot_paths:
        return pd.DataFrame(columns=["run_id", "writers", "items", "failed_share", "failures_per_s"])
    frame = hot_paths[hot_paths["conditional_failures"].notna()]
    out = pd.DataFrame({"run_id": frame["run_id"], "stack": frame["stack"], "env": frame["env"],
                        "table": frame["table"], "writers": frame["writers"].astype(int),
                        "items": frame["items"].astype(int), "attempted_writes": frame["attempted_writes"],
                        "conditional_failures": frame["conditional_failures"],
                        "failures_per_s": frame["conditional_failures_per_s"],
                        "failures_per_period": frame["alarm.observed"], "alarm_address": frame["alarm.address"]})
    out["failed_share"] = out["conditional_failures"] / out["attempted_writes"]
    units = {key: write_units_per_write(*key) for key in set(zip(out["stack"], out["env"], out["table"]))}
    out["write_units_per_write"] = [units[key] for key in zip(out["stack"], out["env"], out["table"])]
    out["failed_wcu_per_s"] = out["failures_per_s"] * out["write_units_per_write"]
    return out.sort_values(["writers", "items"]).reset_index(drop=True)


def comparison(run_dirs: Iterable[str | Path], threshold_pct: float = 10.0) -> pd.DataFrame:
    """The first run dir as the baseline and each other one as a contender, through `loadgen report --compare`'s
    own comparison: one row per (`contender_dir`, stack, hot path, metric) with both values (`baseline`,
    `contender`), the difference and whether it is a regression."""
    dirs = [Path(d) for d in run_dirs]
    if len(dirs) < 2:
        raise ValueError("a comparison needs a baseline and at least one contender run dir")
    rows = []
    for contender in dirs[1:]:
        result = compare_runs(dirs[0], contender, threshold_pct)
        rows += [{"contender_dir": str(contender), **vars(d)} for d in result.deltas]
    return pd.DataFrame(rows)


# --- conclusions ------------------------------------------------------------------------------------------------

def shard_conclusion(sizing: pd.DataFrame, env: str, multiple: float) -> str:
    """'prod needs 52 gps shards at 1.3x; tfvars has 40 (gps_shard_count)', one clause per stream."""
    rows = sizing[(sizing["env"] == env) & (sizing["multiple"] == multiple)]
    if rows.empty:
        return f"{env}: no Kinesis stream with a fixed shard count and demand in its profile"
    return "; ".join(
        f"{env} needs {'no shard count (one partition key alone exceeds a limit)' if pd.isna(r.needed) else int(r.needed)}"
        f" shards for {r.stream} at {multiple:g}x; tfvars has {int(r.shards)} ({r.key})" for r in rows.itertuples())


def concurrency_conclusion(sizing: pd.DataFrame, env: str, headroom: float) -> str:
    """One clause per Little's-law row: the concurrency it needs at the headroom against the tfvars' value."""
    if sizing.empty:
        return f"{env}: no function whose concurrency follows from arrivals x duration"
    return "; ".join(f"{env} {r.key} ({r.resource.split(' concurrency')[0]}) needs {int(r.recommended)} at "
                     f"{headroom:g}x ({r.duration_basis}: {r.duration_s * 1000:,.1f} ms); tfvars has {int(r.limit)}"
                     for r in sizing.itertuples())


def geo_conclusion(queries: pd.DataFrame) -> str:
    """Per stack and run: GEOSEARCH's p99 against GEORADIUS's, the faster one, and the alarm's margin."""
    clauses = []
    for (run_id, stack), group in queries.groupby(["run_id", "stack"], sort=False):
        p99 = dict(zip(group["command"], group["p99_ms"]))
        if not {"GEOSEARCH", "GEORADIUS"} <= set(p99):
            continue
        faster = min(("GEOSEARCH", "GEORADIUS"), key=lambda c: p99[c])
        worst = group["server_us_per_command"].max()
        clauses.append(f"{stack} ({run_id}): GEOSEARCH p99 {p99['GEOSEARCH']:.3f} ms vs GEORADIUS p99 "
                       f"{p99['GEORADIUS']:.3f} ms, {faster} faster; server {worst:.1f} us per GEO command against "
                       f"the alarm's {group['threshold_us'].iloc[0]:g} us")
    return "; ".join(clauses) or "no run with both GEOSEARCH and GEORADIUS"


def contention_conclusion(runs: pd.DataFrame, thresholds: pd.DataFrame) -> str:
    """Per run: writers x items, the failed share, failures per alarm period and the write units they consume, and
    in which envs the ConditionalCheckFailedRequests alarm would fire at that rate."""
    clauses = []
    for r in runs.itertuples():
        per_env = [f"{t.env} {'fires' if r.failures_per_s * t.period > t.threshold else 'holds'} "
                   f"(> {t.threshold:g}/{t.period:g}s)" for t in thresholds.itertuples()]
        clauses.append(f"{r.writers} writers on {r.items} items: {r.failed_share:.0%} of writes failed their "
                       f"condition, {r.failures_per_period:.0f} per alarm period, {r.failed_wcu_per_s:.1f} WCU/s "
                       f"spent on failed writes; alarm {', '.join(per_env)}")
    return "; ".join(clauses) or "no DynamoDB contention run"


def comparison_conclusion(deltas: pd.DataFrame, threshold_pct: float) -> str:
    """The regressions beyond the threshold by contender, or that there is none."""
    regressions = deltas[deltas["regression"]]
    if regressions.empty:
        return f"no regression beyond {threshold_pct:g}% in {deltas['contender_dir'].nunique()} contender run(s)"
    return f"{len(regressions)} regression(s) beyond {threshold_pct:g}%: " + "; ".join(
        f"{Path(r.contender_dir).name} {r.stack}/{r.hot_path} {r.metric} {r.diff_pct:+.1f}%"
        for r in regressions.itertuples())
