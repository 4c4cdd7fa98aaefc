"""The live display of a measuring command: per hot path, operations, recent rate, errors and a running p99.

Where it sits: beside the run, never in it. The drivers hand each StagedRecorder to `watch`; rich's Live
refreshes twice a second from its own thread and reads `StagedRecorder.snapshot()` (counts and a p99 of the
last few seconds from the log-binned timeline: a few numpy sums, no HdrHistogram scan). The send loop never
calls into this module, so the display may be a little stale, the schedule never is.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from loadgen.measure.staged_recorder import StagedRecorder


class LiveBoard:
    """A context manager; disabled (for --json or a non-terminal) it only collects nothing and draws nothing."""

    def __init__(self, enabled: bool, title: str = ""):
        self.enabled = enabled
        self.title = title
        self.recorders: list[StagedRecorder] = []
        self.began = time.perf_counter()
        self.live = Live(get_renderable=self._render, console=Console(stderr=True), refresh_per_second=2,
                         transient=True) if enabled else None

    def __enter__(self) -> "LiveBoard":
        if self.live:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live:
            self.live.__exit__(*exc)

    def watch(self, recorder: StagedRecorder) -> None:
        """Show this hot path (called by the drivers when they create its recorder)."""
        if self.enabled:
            if not self.recorders:
                self.began = time.perf_counter()
            self.recorders.append(recorder)

    def _render(self) -> Table:
        elapsed = time.perf_counter() - self.began
        total = max((r.end_s for r in self.recorders), default=0.0)
        table = Table(title=f"{self.title}  {elapsed:,.0f} / {total:,.0f} s", title_justify="left")
        for column in ("hot path", "stage", "ops", "rate/s", "errors", "p99 ms (recent)"):
            table.add_column(column, justify="right" if column != "hot path" else "left")
        for recorder in list(self.recorders):
            snap = recorder.snapshot(elapsed)
            index = max(sum(1 for s in recorder.starts if s <= elapsed) - 1, 0)
            stage = f"{index + 1}/{len(recorder.starts)}"
            table.add_row(recorder.name, stage, f"{snap['ops']:,}", f"{snap['rate']:,.1f}", f"{snap['errors']:,}",
                          f"{snap['p99_ms']:,.2f}")
        return table
