"""Driver matching core: hand-checked scores, hard filters, tie-break and surge math."""

from decimal import Decimal

import pytest

from loadgen.matching.driver_matching import (
    DriverCandidate,
    MatchWeights,
    choose_driver,
    rank_drivers,
    score_driver,
    surge_adjusted_fee,
)

BALANCED = MatchWeights(distance_weight=0.5, workload_weight=0.3, rating_weight=0.2, max_radius_km=5.0)


def driver(driver_id, distance_km, active=0, max_active=3, rating=5.0):
    return DriverCandidate(driver_id, distance_km, active, max_active, rating)


def test_nearer_idle_driver_wins():
    # near: 0.5*(1-1/5) + 0.3*1 + 0.2*(4.5/5) = 0.4 + 0.3 + 0.18 = 0.88
    # far:  0.5*(1-3/5) + 0.3*1 + 0.2*1       = 0.2 + 0.3 + 0.20 = 0.70
    near = driver("d-near", 1.0, rating=4.5)
    far = driver("d-far", 3.0, rating=5.0)
    ranked = rank_drivers([far, near], BALANCED)
    assert [(s, c.driver_id) for s, c in ranked] == [(0.88, "d-near"), (0.7, "d-far")]
    assert choose_driver([far, near], BALANCED) == near


def test_driver_at_max_active_orders_is_never_chosen():
    overloaded = driver("d-busy", 0.1, active=3, max_active=3, rating=5.0)
    over_limit = driver("d-over", 0.1, active=4, max_active=3, rating=5.0)
    no_capacity = driver("d-zero", 0.1, active=0, max_active=0, rating=5.0)
    far_idle = driver("d-idle", 4.9, active=0, max_active=3, rating=1.0)
    ranked = rank_drivers([overloaded, over_limit, no_capacity, far_idle], BALANCED)
    assert [c.driver_id for _, c in ranked] == ["d-idle"]
    assert choose_driver([overloaded, over_limit, no_capacity], BALANCED) is None


def test_driver_beyond_radius_is_never_chosen_but_edge_is():
    beyond = driver("d-beyond", 5.0001)
    edge = driver("d-edge", 5.0)
    assert [c.driver_id for _, c in rank_drivers([beyond, edge], BALANCED)] == ["d-edge"]
    assert choose_driver([beyond], BALANCED) is None
    assert choose_driver([], BALANCED) is None


def test_ties_are_stable_by_distance_then_driver_id():
    # Same score by construction: identical inputs except the id.
    b = driver("d-b", 2.0)
    a = driver("d-a", 2.0)
    c = driver("d-c", 2.0)
    for order in ([a, b, c], [c, b, a], [b, c, a]):
        assert [x.driver_id for _, x in rank_drivers(order, BALANCED)] == ["d-a", "d-b", "d-c"]
    # Equal score, different distance: the nearer one first.
    # w=(0,1,0): the score is capacity only; both idle -> 1.0 each.
    workload_only = MatchWeights(0.0, 1.0, 0.0, 10.0)
    near, far = driver("d-z", 1.0), driver("d-a", 2.0)
    assert [x.driver_id for _, x in rank_drivers([far, near], workload_only)] == ["d-z", "d-a"]


def test_surge_turns_the_choice_towards_the_near_busy_driver():
    w = MatchWeights(distance_weight=0.4, workload_weight=0.4, rating_weight=0.2, max_radius_km=5.0)
    near_busy = driver("d-near", 0.5, active=2, max_active=3, rating=4.0)
    far_idle = driver("d-far", 2.5, active=0, max_active=3, rating=5.0)
    # m=1: near = 0.4*0.9 + 0.4*(1/3) + 0.2*0.8 = 0.653333333; far = 0.2 + 0.4 + 0.2 = 0.8
    assert score_driver(near_busy, w, 1.0) == pytest.approx(0.653333333, abs=1e-9)
    assert score_driver(far_idle, w, 1.0) == pytest.approx(0.8)
    assert choose_driver([near_busy, far_idle], w, 1.0) == far_idle
    # m=3: wd = 1.2, total 1.8; near = (1.08 + 0.133333 + 0.16)/1.8 = 0.762962963; far = 1.2/1.8
    assert score_driver(near_busy, w, 3.0) == pytest.approx(0.762962963, abs=1e-9)
    assert score_driver(far_idle, w, 3.0) == pytest.approx(0.666666667, abs=1e-9)
    assert choose_driver([near_busy, far_idle], w, 3.0) == near_busy


def test_surge_below_one_is_treated_as_one_and_is_capped():
    d = driver("d-1", 1.0, rating=4.5)
    assert score_driver(d, BALANCED, 0.5) == score_driver(d, BALANCED, 1.0)
    assert score_driver(d, BALANCED, 50.0) == score_driver(d, BALANCED, 5.0)
    with pytest.raises(ValueError):
        rank_drivers([d], BALANCED, float("nan"))
    with pytest.raises(ValueError):
        rank_drivers([], BALANCED, 0.0)


def test_surge_adjusted_fee_math():
    assert surge_adjusted_fee(Decimal("4.99"), 1.5) == Decimal("7.49")  # 7.485 rounds half-up
    assert surge_adjusted_fee("3.00", 1.0) == Decimal("3.00")
    assert surge_adjusted_fee(2, 2.25) == Decimal("4.50")
    assert surge_adjusted_fee(Decimal("5.00"), 0.8) == Decimal("5.00")  # surge never discounts
    assert surge_adjusted_fee(Decimal("1.00"), 9.0) == Decimal("5.00")  # capped at 5x
    with pytest.raises(ValueError):
        surge_adjusted_fee(Decimal("-1"), 1.2)


def test_weights_are_validated():
    with pytest.raises(ValueError):
        MatchWeights(0, 0, 0, 5)
    with pytest.raises(ValueError):
        MatchWeights(-0.1, 1, 0, 5)
    with pytest.raises(ValueError):
        MatchWeights(1, 1, 1, 0)
