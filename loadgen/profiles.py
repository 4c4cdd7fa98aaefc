"""Load profiles: profiles/<stack>/<env>.toml read, checked, and turned into a domain model and its rates.

A profile says how much of the synthetic world an env sees (fleet size, report intervals, arrival rates, ramp
stages). The rates per stream and route follow from it through the domain model in fleet_models/, and are set
against what the env's tfvars provision (Kinesis shards) so a profile that cannot fit is visible before a run.
A profile may name scenarios (`[scenarios.NAME]`: a surge, a rhythm) that change the model's rates and mixes, never
its topology; `load_profile(..., scenario=NAME)` gives the profile with that scenario in force.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from fleet_models.demand import Demand
from fleet_models.orders import OrdersConfig
from fleet_models.tasks import TasksConfig
from fleet_models.units import UnitsConfig
from fleet_models.vehicles import VehicleFleetConfig
from loadgen.errors import LoadgenError
from loadgen.paths import PROFILES_DIR

KINESIS_RECORDS_PER_SHARD = 1000
KINESIS_BYTES_PER_SHARD = 1024 * 1024

# domain name -> (stack it loads, config factory taking (seed, [fleet], [streams], [scenarios.NAME] or None)); a
# config has .demand() (cheap: mean and peak per stream or route) and .build() (the stateful model that generates
# records).
DOMAINS: dict[str, tuple[str, Callable[..., Any]]] = {
    "vehicles": ("fleet_telematics", VehicleFleetConfig.from_profile),
    "units": ("property_maintenance", UnitsConfig.from_profile),
    "orders": ("food_delivery", OrdersConfig.from_profile),
    "tasks": ("task_api", TasksConfig.from_profile),
}


@dataclass(frozen=True)
class Stage:
    """Hold `rate_fraction` of the peak rate for `duration_s` seconds."""

    duration_s: float
    rate_fraction: float


@dataclass(frozen=True)
class Profile:
    """One stack's load profile for one env."""

    path: Path
    stack: str
    env: str
    domain: str
    seed: int
    fleet: dict
    streams: dict
    stages: tuple[Stage, ...]
    scenarios: dict = field(default_factory=dict)
    """Every [scenarios.NAME] table the profile declares, by name."""
    scenario: str | None = None
    """The scenario in force (None: the everyday profile)."""

    def config(self) -> Any:
        """The domain model's configuration for this profile (and its scenario)."""
        return DOMAINS[self.domain][1](self.seed, self.fleet, self.streams,
                                       self.scenarios[self.scenario] if self.scenario else None)

    def model(self) -> Any:
        """A fresh domain model (its own seeded state) for this profile."""
        return self.config().build()

    def demand(self) -> list[Demand]:
        return self.config().demand()


def _require(data: dict, key: str, kind: type | tuple[type, ...], path: Path, where: str = "") -> Any:
    if key not in data:
        raise LoadgenError(f"{path}: missing {where}{key}; add it (see profiles/README.md)")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise LoadgenError(f"{path}: {where}{key} = {value!r} is not a {getattr(kind, '__name__', kind)}")
    return value


SHARES = frozenset({"dtc_rate"})
"""Numbers that are shares of something (as every `*_fraction` is): between 0 and 1."""


def _check_numbers(section: dict, path: Path, where: str) -> None:
    """Every number of a [fleet], [streams.*] or [scenarios.*] table is finite; a share (`*_fraction`, SHARES) is
    in [0, 1], a skew (`*_skew`) >= 0, an hour of the day (`hour`, `*_hour`) in [0, 24], anything else (sizes,
    intervals, per-day rates, multipliers, weekdays) > 0."""
    for key, value in section.items():
        if isinstance(value, dict):
            _check_numbers(value, path, f"{where}{key}.")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        name = f"{where}{key} = {value!r}"
        if not math.isfinite(value):
            raise LoadgenError(f"{path}: {name} is not a finite number; give a number")
        if key.endswith("_fraction") or key in SHARES:
            if not 0 <= value <= 1:
                raise LoadgenError(f"{path}: {name} is a share; it must be between 0 and 1")
        elif key.endswith("_skew"):
            if value < 0:
                raise LoadgenError(f"{path}: {name} must be >= 0")
        elif key == "hour" or key.endswith("_hour"):
            if not 0 <= value <= 24:
                raise LoadgenError(f"{path}: {name} is an hour of the day; it must be between 0 and 24")
        elif value <= 0:
            raise LoadgenError(f"{path}: {name} must be > 0 (a size, interval or rate)")


def load_profile(stack: str, env: str, profiles_dir: Path | None = None, scenario: str | None = None) -> Profile:
    """Read and check profiles/<stack>/<env>.toml (with the named scenario in force when given); every problem is
    one LoadgenError line."""
    path = (profiles_dir or PROFILES_DIR) / stack / f"{env}.toml"
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.toml")) if path.parent.is_dir() else []
        raise LoadgenError(f"{path}: no profile for stack '{stack}' env '{env}'; known envs: {', '.join(known) or 'none'}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise LoadgenError(f"{path}: malformed TOML ({exc}); fix the syntax") from None
    domain = _require(data, "domain", str, path)
    if domain not in DOMAINS:
        raise LoadgenError(f"{path}: domain = {domain!r} is unknown; known: {', '.join(sorted(DOMAINS))}")
    if data.get("stack") != stack or data.get("env") != env:
        raise LoadgenError(f"{path}: says stack={data.get('stack')!r} env={data.get('env')!r}; "
                           f"it must say stack={stack!r} env={env!r}")
    stages = tuple(
        Stage(float(_require(s, "duration_s", (int, float), path, "[[stages]].")),
              float(_require(s, "rate_fraction", (int, float), path, "[[stages]].")))
        for s in data.get("stages", [])
    )
    for k, stage in enumerate(stages, 1):
        if not (math.isfinite(stage.duration_s) and stage.duration_s > 0):
            raise LoadgenError(f"{path}: stage {k}'s duration_s = {stage.duration_s!r}; it must be > 0")
        if not (math.isfinite(stage.rate_fraction) and stage.rate_fraction >= 0):
            raise LoadgenError(f"{path}: stage {k}'s rate_fraction = {stage.rate_fraction!r}; it must be >= 0")
    scenarios = data.get("scenarios", {})
    if not isinstance(scenarios, dict) or not all(isinstance(t, dict) for t in scenarios.values()):
        raise LoadgenError(f"{path}: scenarios must be tables, [scenarios.NAME]; see profiles/README.md")
    profile = Profile(path=path, stack=stack, env=env, domain=domain,
                      seed=int(_require(data, "seed", int, path)),
                      fleet=_require(data, "fleet", dict, path), streams=data.get("streams", {}),
                      stages=stages, scenarios=scenarios)
    _check_numbers(profile.fleet, path, "[fleet].")
    _check_numbers(profile.streams, path, "[streams].")
    try:
        profile.config()
    except (KeyError, TypeError, ValueError) as exc:
        raise LoadgenError(f"{path}: the {domain} model rejects this profile ({type(exc).__name__}: {exc}); "
                           "check [fleet] and [streams.*]") from None
    for name, table in scenarios.items():
        _check_numbers(table, path, f"[scenarios.{name}].")
        try:
            replace(profile, scenario=name).config()
        except (KeyError, TypeError, ValueError) as exc:
            raise LoadgenError(f"{path}: the {domain} model rejects [scenarios.{name}] ({type(exc).__name__}: "
                               f"{exc}); a scenario changes rates and mixes, never topology") from None
    if scenario is not None:
        if scenario not in scenarios:
            raise LoadgenError(f"{path}: no scenario '{scenario}'; this profile has: "
                               f"{', '.join(sorted(scenarios)) or 'none'}")
        profile = replace(profile, scenario=scenario)
    return profile


def domain_stack(domain: str) -> str:
    if domain not in DOMAINS:
        raise LoadgenError(f"unknown domain '{domain}'; known: {', '.join(sorted(DOMAINS))}")
    return DOMAINS[domain][0]


def hot_path_rate(profile: Profile, hot_path: str) -> float:
    """The rate the profile asks of a hot path at its highest ramp stage (its rate source's peak x top stage)."""
    from loadgen.hot_paths import hot_paths

    path = next((p for p in hot_paths(profile.stack, profile.path.parents[1]) if p.name == hot_path), None)
    if path is None:
        raise LoadgenError(f"stack '{profile.stack}' declares no hot path '{hot_path}'")
    demand = {d.name: d for d in profile.demand()}.get(path.rate_source)
    if demand is None:
        raise LoadgenError(f"{profile.path}: no stream or route '{path.rate_source}' drives hot path '{hot_path}'")
    return demand.peak_rps * max((s.rate_fraction for s in profile.stages), default=1.0)
