"""Driver matching core for the food_delivery stack (stdlib only).

The matcher Lambda (terraform/food_delivery/lambda/matcher.py) and the simulator's
benches import this module, so the assignment decision is the same code in AWS,
in-process and in the benchmarks. No boto3 or redis here: the handler fetches the data
and this module only decides.

Inputs
------
* ``candidates``: :class:`DriverCandidate` objects. In the Lambda they are the drivers a
  Redis ``GEOSEARCH`` on ``{<region>}:drivers:geo`` returned around the restaurant (with
  ``WITHDIST``, so ``distance_km`` is the pickup distance), enriched with
  ``active_order_count`` / ``max_active_orders`` from the DynamoDB ``driver_orders``
  table and ``rating`` from ``driver_profiles``.
* ``weights``: :class:`MatchWeights`, the same in every environment (the algorithm is
  part of the topology, not a capacity).
* ``surge_multiplier``: the region's surge factor, read by the handler with
  ``ZSCORE surge:multipliers <region>`` (one Redis sorted set, member = region,
  score = multiplier, written by the pricing job). A missing member means 1.0.

Eligibility (hard filters; a driver failing any of them is never chosen)
-----------------------------------------------------------------------
1. ``0 <= distance_km <= weights.max_radius_km`` (a driver beyond the radius is never
   chosen, however idle or well rated);
2. ``active_orders < max_active_orders`` (a driver at or above the limit, or with
   ``max_active_orders <= 0``, is never chosen).

Multi-criteria score (eligible drivers only), every component in [0, 1]::

    m         = clamp(surge_multiplier, 1, MAX_SURGE_MULTIPLIER)
    proximity = 1 - distance_km / max_radius_km
    capacity  = 1 - active_orders / max_active_orders
    quality   = clamp(rating, 0, 5) / 5
    wd        = distance_weight * m
    score     = (wd * proximity + workload_weight * capacity + rating_weight * quality)
                / (wd + workload_weight + rating_weight)

How surge enters
----------------
Surge means demand outruns driver supply in that region. Two things follow:

* Ranking: the distance weight is multiplied by ``m``. Under surge every minute of
  empty driving costs a delivery elsewhere, so a near driver who already carries an
  order beats a far idle one sooner than in normal times; at ``m == 1`` the weights
  apply as configured. The score stays normalised to [0, 1].
* Price: the delivery fee the customer pays is ``surge_adjusted_fee(base_fee, m)`` =
  ``base_fee * m`` rounded half-up to cents; the matcher stores it on the order and the
  nightly earnings workflow pays the driver's share of it.

A multiplier below 1 is treated as 1 (surge never discounts), one above
:data:`MAX_SURGE_MULTIPLIER` is capped; a non-finite or non-positive value is an error.

Ordering and tie-break (deterministic): higher score first (rounded to 9 decimals so
float noise cannot reorder ties), then the shorter distance, then the smaller
``driver_id``. The input order of the candidates never matters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, List, Optional, Tuple, Union

SCORE_DECIMALS = 9
MAX_RATING = 5.0
MAX_SURGE_MULTIPLIER = 5.0
CENT = Decimal("0.01")


@dataclass(frozen=True)
class DriverCandidate:
    """One driver as seen by the matcher for one order."""

    driver_id: str
    """Stable driver identifier; the last tie-breaker."""
    distance_km: float
    """Pickup distance from the driver's last GPS fix to the restaurant."""
    active_orders: int
    """Orders currently assigned and not yet delivered (driver_orders.active_order_count)."""
    max_active_orders: int
    """The most orders this driver may carry at once (batching limit)."""
    rating: float
    """Customer rating, 0..5 (values outside are clamped)."""


@dataclass(frozen=True)
class MatchWeights:
    """The weights of the multi-criteria score and the hard search radius."""

    distance_weight: float
    workload_weight: float
    rating_weight: float
    max_radius_km: float

    def __post_init__(self) -> None:
        weights = (self.distance_weight, self.workload_weight, self.rating_weight)
        if any(not math.isfinite(w) or w < 0 for w in weights):
            raise ValueError("match weights must be finite and >= 0")
        if sum(weights) <= 0:
            raise ValueError("at least one match weight must be > 0")
        if not math.isfinite(self.max_radius_km) or self.max_radius_km <= 0:
            raise ValueError("max_radius_km must be finite and > 0")


def effective_surge(surge_multiplier: float) -> float:
    """Clamp a raw surge multiplier to [1, MAX_SURGE_MULTIPLIER]; reject nonsense."""
    m = float(surge_multiplier)
    if not math.isfinite(m) or m <= 0:
        raise ValueError(f"surge multiplier must be finite and > 0, got {surge_multiplier!r}")
    return min(max(m, 1.0), MAX_SURGE_MULTIPLIER)


def surge_adjusted_fee(base_fee: Union[Decimal, float, int, str], surge_multiplier: float) -> Decimal:
    """The delivery fee under surge: base_fee * clamp(m), rounded half-up to cents."""
    base = base_fee if isinstance(base_fee, Decimal) else Decimal(str(base_fee))
    if not base.is_finite() or base < 0:
        raise ValueError(f"base fee must be finite and >= 0, got {base_fee!r}")
    m = Decimal(str(effective_surge(surge_multiplier)))
    return (base * m).quantize(CENT, rounding=ROUND_HALF_UP)


def is_eligible(candidate: DriverCandidate, weights: MatchWeights) -> bool:
    """Hard filters: inside the radius and below the order limit."""
    if not math.isfinite(candidate.distance_km):
        return False
    if candidate.distance_km < 0 or candidate.distance_km > weights.max_radius_km:
        return False
    if candidate.max_active_orders <= 0:
        return False
    return candidate.active_orders < candidate.max_active_orders


def score_driver(candidate: DriverCandidate, weights: MatchWeights, surge_multiplier: float = 1.0) -> float:
    """The normalised multi-criteria score of one eligible driver (see module docstring)."""
    m = effective_surge(surge_multiplier)
    proximity = 1.0 - candidate.distance_km / weights.max_radius_km
    capacity = 1.0 - max(candidate.active_orders, 0) / candidate.max_active_orders
    quality = min(max(candidate.rating, 0.0), MAX_RATING) / MAX_RATING
    wd = weights.distance_weight * m
    total = wd + weights.workload_weight + weights.rating_weight
    raw = (wd * proximity + weights.workload_weight * capacity + weights.rating_weight * quality) / total
    return round(raw, SCORE_DECIMALS)


def rank_drivers(
    candidates: Iterable[DriverCandidate],
    weights: MatchWeights,
    surge_multiplier: float = 1.0,
) -> List[Tuple[float, DriverCandidate]]:
    """Eligible drivers as (score, candidate), best first, deterministic tie-break."""
    effective_surge(surge_multiplier)  # validate once, even for an empty list
    scored = [
        (score_driver(c, weights, surge_multiplier), c) for c in candidates if is_eligible(c, weights)
    ]
    scored.sort(key=lambda sc: (-sc[0], sc[1].distance_km, sc[1].driver_id))
    return scored


def choose_driver(
    candidates: Iterable[DriverCandidate],
    weights: MatchWeights,
    surge_multiplier: float = 1.0,
) -> Optional[DriverCandidate]:
    """The best eligible driver, or None when nobody is eligible."""
    ranked = rank_drivers(candidates, weights, surge_multiplier)
    return ranked[0][1] if ranked else None
