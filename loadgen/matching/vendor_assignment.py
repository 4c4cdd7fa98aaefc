"""Vendor assignment core for the property_maintenance stack (stdlib only).

The request router Lambda (terraform/property_maintenance/lambda/request_router.py), the
emergency escalation Lambdas and the simulator's benches all import this module, so the
assignment decision is the same code in AWS, in-process and in the benchmarks.

Inputs
------
* ``required_skill``: the trade a request needs (its ``category``: "plumbing", "hvac", ...).
* ``rule``: the :class:`PriorityRule` of the request's priority, read from the
  ``priority_matrix`` table.
* ``candidates``: :class:`VendorCandidate` objects, normally the vendors a Redis
  GEOSEARCH returned around the unit, enriched with skills/workload/rating from the
  ``vendor_availability`` table.

Eligibility (hard filters; a vendor failing any of them is never assigned)
-------------------------------------------------------------------------
1. ``required_skill`` is in ``candidate.skills`` (exact, case-insensitive match);
2. ``0 <= candidate.distance_km <= rule.max_distance_km``;
3. ``candidate.active_jobs < candidate.max_active_jobs`` (a vendor with
   ``max_active_jobs <= 0`` is never eligible).

Scoring (eligible vendors only), every component in [0, 1]::

    proximity = 1 - distance_km / rule.max_distance_km
    capacity  = 1 - active_jobs / max_active_jobs
    quality   = min(max(rating, 0), 5) / 5
    score     = (distance_weight * proximity
                 + workload_weight * capacity
                 + rating_weight   * quality)
                / (distance_weight + workload_weight + rating_weight)

The score is rounded to 9 decimal places so that float noise cannot break ties
differently on different machines.

Emergency vs. standard: the rules, not the code, carry the difference. An emergency
rule puts most of the weight on ``distance_weight`` (the nearest capable vendor wins
even if busy or rated lower) and allows a larger ``max_distance_km`` (a vendor farther
away is better than none). :data:`DEFAULT_RULES` holds the reference rules the stack
seeds into ``priority_matrix``; :meth:`PriorityRule.is_emergency_shaped` checks that a
rule has that shape.

Ordering and tie-break (deterministic): higher score first, then the shorter
distance, then the lexicographically smaller ``vendor_id``. The input order of the
candidates never matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

SCORE_DECIMALS = 9
MAX_RATING = 5.0


@dataclass(frozen=True)
class VendorCandidate:
    """One vendor as seen by the matcher for one request."""

    vendor_id: str
    skills: frozenset[str]
    distance_km: float
    active_jobs: int
    max_active_jobs: int
    rating: float

    def has_skill(self, skill: str) -> bool:
        wanted = skill.strip().lower()
        return any(s.strip().lower() == wanted for s in self.skills)


@dataclass(frozen=True)
class PriorityRule:
    """Assignment rule of one priority level (one item of the priority_matrix table)."""

    priority: str
    max_distance_km: float
    distance_weight: float
    workload_weight: float
    rating_weight: float
    response_sla_minutes: int

    def __post_init__(self) -> None:
        if not self.max_distance_km > 0:
            raise ValueError(f"max_distance_km must be > 0, got {self.max_distance_km!r}")
        weights = (self.distance_weight, self.workload_weight, self.rating_weight)
        if any(w < 0 for w in weights):
            raise ValueError(f"weights must be >= 0, got {weights!r}")
        if sum(weights) <= 0:
            raise ValueError("at least one weight must be > 0")
        if self.response_sla_minutes <= 0:
            raise ValueError("response_sla_minutes must be > 0")

    @property
    def total_weight(self) -> float:
        return self.distance_weight + self.workload_weight + self.rating_weight

    def distance_share(self) -> float:
        """Fraction of the total weight that rewards proximity."""
        return self.distance_weight / self.total_weight

    def is_emergency_shaped(self, baseline: "PriorityRule") -> bool:
        """True if this rule weights distance more and allows a larger radius than ``baseline``."""
        return (
            self.distance_share() > baseline.distance_share()
            and self.max_distance_km > baseline.max_distance_km
        )


# Reference rules; the stack seeds the same values into the priority_matrix table.
DEFAULT_RULES: dict[str, PriorityRule] = {
    "emergency": PriorityRule("emergency", 40.0, 0.70, 0.15, 0.15, 60),
    "high": PriorityRule("high", 25.0, 0.45, 0.30, 0.25, 240),
    "standard": PriorityRule("standard", 20.0, 0.30, 0.35, 0.35, 1440),
    "low": PriorityRule("low", 20.0, 0.20, 0.40, 0.40, 4320),
}


def is_eligible(required_skill: str, rule: PriorityRule, candidate: VendorCandidate) -> bool:
    """Hard filters: skill, radius and capacity."""
    if candidate.max_active_jobs <= 0:
        return False
    if candidate.active_jobs >= candidate.max_active_jobs:
        return False
    if candidate.distance_km < 0 or candidate.distance_km > rule.max_distance_km:
        return False
    return candidate.has_skill(required_skill)


def score_vendor(rule: PriorityRule, candidate: VendorCandidate) -> float:
    """Score of an eligible candidate under ``rule`` (see the module docstring)."""
    proximity = 1.0 - candidate.distance_km / rule.max_distance_km
    capacity = 1.0 - candidate.active_jobs / candidate.max_active_jobs
    quality = min(max(candidate.rating, 0.0), MAX_RATING) / MAX_RATING
    raw = (
        rule.distance_weight * proximity
        + rule.workload_weight * capacity
        + rule.rating_weight * quality
    ) / rule.total_weight
    return round(raw, SCORE_DECIMALS)


def _order_key(item: tuple[float, VendorCandidate]) -> tuple[float, float, str]:
    score, cand = item
    return (-score, cand.distance_km, cand.vendor_id)


def rank_vendors(
    required_skill: str,
    rule: PriorityRule,
    candidates: Iterable[VendorCandidate],
) -> list[tuple[float, VendorCandidate]]:
    """Eligible candidates as ``(score, candidate)``, best first, deterministic order."""
    ranked = [
        (score_vendor(rule, c), c) for c in candidates if is_eligible(required_skill, rule, c)
    ]
    ranked.sort(key=_order_key)
    return ranked


def choose_vendor(
    required_skill: str,
    rule: PriorityRule,
    candidates: Iterable[VendorCandidate],
    exclude: Iterable[str] = (),
) -> Optional[VendorCandidate]:
    """The best eligible vendor, or ``None``; ``exclude`` skips vendor ids already tried."""
    skip = set(exclude)
    for _score, cand in rank_vendors(required_skill, rule, candidates):
        if cand.vendor_id not in skip:
            return cand
    return None
