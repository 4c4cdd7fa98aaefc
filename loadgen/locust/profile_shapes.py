"""One LoadTestShape per stack, env and scenario, from `profiles/<stack>/<env>.toml`'s ramp stages (and its
`[scenarios.NAME]`, whose peak the users' share is of: pick the shape with `--scenario NAME` in the run).

Where it sits: profiles (stages: duration, fraction of the peak) -> drive.ramp.RampPlan (compressed to
`--ramp-duration` when given) -> a user count per stage, `users_at_peak` x the stage's fraction (each user sends
a fixed share of the peak rate, loadgen.locust.run), plus the fixed-count users (the KinesisUser, whose records
follow the stages by themselves), so the offered rate follows the profile's stages -> Locust's
runner. loadgen/locust/shapes.py is the locustfile that offers them to Locust.
"""

from __future__ import annotations

from locust import LoadTestShape

from loadgen.drive.ramp import RampPlan
from loadgen.hot_paths import declared_stacks
from loadgen.locust import stack_shapes
from loadgen.locust.run import stage_users
from loadgen.profiles import load_profile

SPAWN_S = 0.25
"""A stage's users are all started within this long of the shape's tick (Locust ticks a shape once a second)."""


class ProfileShape(LoadTestShape):
    """Users stage by stage as the profile's ramp says; stops at the ramp's end."""

    abstract = True
    stack: str = ""
    env: str = ""
    scenario: str | None = None

    def plan(self) -> RampPlan:
        options = self.runner.environment.parsed_options
        return RampPlan.from_profile(load_profile(self.stack, self.env, scenario=self.scenario),
                                     getattr(options, "ramp_duration", None))

    def tick(self) -> tuple[int, float] | None:
        users = stage_users(self.plan(), self.runner.environment.parsed_options.users_at_peak,
                            self.get_run_time())
        if users is None:
            return None
        users += sum(u.fixed_count for u in self.runner.user_classes)  # the KinesisUser, on top of the stage's
        return users, max(users, 1) / SPAWN_S


def profile_shapes() -> dict[str, type]:
    """Shape class name -> a ProfileShape of that stack, env and scenario, for every profile (and each of its
    scenarios) of every declared stack."""
    return {name: type(name, (ProfileShape,), {"stack": stack, "env": env, "scenario": scenario, "abstract": False,
                                               "__module__": __name__})
            for stack in declared_stacks() for name, (env, scenario) in stack_shapes(stack).items()}

