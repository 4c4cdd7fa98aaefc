"""The task API's clients: people in teams creating tasks through POST /tasks during the working day.

Users work in teams of `team_size`, each team on one project (key `PJ%05d`). They create tasks as a
non-homogeneous Poisson process (fleet_models.arrivals): a morning and an early-afternoon peak on weekdays, little
at night, quiet weekends. Each task is the exact POST /tasks body of terraform/task_api/schemas/create_task.json:
a title `<project>: <verb> <object>` (its project is the record's key), a priority (low / normal / high), and for
some tasks a description (one to three sentences) and an assignee (a member of the creator's team). The task's id,
status and created_at are the handler's to set (terraform/task_api/lambda/tasks.py): a create refers to nothing
that must already be in the table, so no state is primed before a run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fleet_models.arrivals import WEEK_START_EPOCH_MS, Peak, RateShape, busiest_time_s, poisson_arrivals
from fleet_models.demand import Demand, scenario_changes
from fleet_models.payloads import RecordBatch, fill, keys

ROUTE = "POST /tasks"
# Office hours: a morning and an early-afternoon peak, Monday busiest, weekends nearly idle (Monday first).
TASK_SHAPE = RateShape(base=0.08, peaks=(Peak(10.0, 1.4, 2.4), Peak(14.5, 1.8, 1.7)),
                       weekday_factors=(1.15, 1.05, 1.0, 1.0, 0.85, 0.2, 0.15))
VERBS = (b"Review", b"Fix", b"Update", b"Write", b"Test", b"Deploy", b"Plan", b"Triage", b"Document", b"Refactor")
OBJECTS = (b"the login page copy", b"flaky checkout test", b"Q3 roadmap draft", b"billing export",
           b"onboarding checklist", b"search relevance report", b"API rate limit docs", b"release notes",
           b"customer escalation #214", b"dashboard latency alert", b"data retention policy", b"mobile push settings")
SENTENCES = (b"Customers reported this twice this week.", b"Needs sign-off from the team lead before Friday.",
             b"Steps to reproduce are in the linked ticket.", b"Keep the change small; a follow-up can do the rest.",
             b"Pair with design on the final wording.", b"Check the staging numbers before and after.",
             b"Blocked until the vendor answers our question.", b"Low risk, but it touches the payment path.")
PRIORITIES = (b"low", b"normal", b"high")
PRIORITY_SHARES = (0.2, 0.65, 0.15)
TASK_TEMPLATE = b'{"title":"%s: %s %s","priority":"%s"%s%s}'


@dataclass(frozen=True)
class TasksConfig:
    """The user base and its habits; a profile fills it per env."""

    users: int
    tasks_per_user_per_day: float
    seed: int = 1
    team_size: int = 8
    description_fraction: float = 0.6
    assigned_fraction: float = 0.7
    start_epoch_ms: int = WEEK_START_EPOCH_MS
    """The wall-clock time of t = 0, where TASK_SHAPE's week begins."""

    @classmethod
    def from_profile(cls, seed: int, fleet: dict, streams: dict, scenario: dict | None = None) -> "TasksConfig":
        scenario_changes((), scenario)  # the task model takes no scenario
        return cls(users=int(fleet["users"]), tasks_per_user_per_day=float(fleet["tasks_per_user_per_day"]),
                   seed=seed, team_size=int(fleet.get("team_size", 8)),
                   description_fraction=float(fleet.get("description_fraction", 0.6)),
                   assigned_fraction=float(fleet.get("assigned_fraction", 0.7)))

    def __post_init__(self) -> None:
        if self.users < 1 or self.team_size < 1 or self.tasks_per_user_per_day <= 0:
            raise ValueError("users, team_size and tasks_per_user_per_day must be positive")
        for name in ("description_fraction", "assigned_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within 0..1")

    @property
    def mean_task_rate(self) -> float:
        return self.users * self.tasks_per_user_per_day / 86400.0

    @property
    def peak_time_s(self) -> float:
        return busiest_time_s(TASK_SHAPE)

    def demand(self) -> list[Demand]:
        rate = self.mean_task_rate
        return [Demand(ROUTE, "api", rate, rate * TASK_SHAPE.peak, None, self.peak_time_s)]

    def build(self) -> "TaskClients":
        return TaskClients(self)


def _fragments(template: bytes, values: list, present: np.ndarray) -> list[bytes]:
    """`template % value` where present, b"" elsewhere (an optional field of the body)."""
    return [template % v if p else b"" for v, p in zip(values, present.tolist())]


class TaskClients:
    """The users and their teams; `generate(t0, t1)` emits the POST /tasks bodies due in [t0, t1)."""

    streams = (ROUTE,)

    def __init__(self, config: TasksConfig):
        self.config = config
        self.arrival_rng, self.choice_rng = (np.random.default_rng(s)
                                             for s in np.random.SeedSequence(config.seed).spawn(2))
        self.teams = max(1, -(-config.users // config.team_size))
        descriptions = [b" ".join(SENTENCES[i:i + n]) for n in (1, 2, 3) for i in range(len(SENTENCES) - n + 1)]
        self.descriptions = np.array(descriptions, dtype=object)

    def generate(self, t0: float, t1: float) -> dict[str, RecordBatch]:
        c, rng = self.config, self.choice_rng
        times = poisson_arrivals(self.arrival_rng, c.mean_task_rate, TASK_SHAPE, t0, t1)
        n = times.size
        creator = rng.integers(0, c.users, n)
        team = creator // c.team_size
        members = np.minimum(c.team_size, c.users - team * c.team_size)
        assignee = team * c.team_size + (rng.random(n) * members).astype(np.int64)
        projects = keys("PJ%05d", team)
        verb = np.array(VERBS, dtype=object)[rng.integers(0, len(VERBS), n)]
        what = np.array(OBJECTS, dtype=object)[rng.integers(0, len(OBJECTS), n)]
        priority = np.array(PRIORITIES, dtype=object)[rng.choice(len(PRIORITIES), n, p=PRIORITY_SHARES)]
        described = rng.random(n) < c.description_fraction
        assigned = rng.random(n) < c.assigned_fraction
        text = self.descriptions[rng.integers(0, len(self.descriptions), n)].tolist()
        data = fill(TASK_TEMPLATE, (
            [p.encode() for p in projects], verb, what, priority,
            _fragments(b',"description":"%s"', text, described),
            _fragments(b',"assignee":"US%07d"', assignee.tolist(), assigned)))
        return {ROUTE: RecordBatch(ROUTE, data, projects, times)}
