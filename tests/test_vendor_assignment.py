"""Hand-checked cases for loadgen.matching.vendor_assignment.

Every expected score below was computed by hand from the formula in the module
docstring; the arithmetic is written next to each case.
"""

import itertools

import pytest

from loadgen.matching.vendor_assignment import (
    DEFAULT_RULES,
    PriorityRule,
    VendorCandidate,
    choose_vendor,
    rank_vendors,
    score_vendor,
)

EMERGENCY = PriorityRule("emergency", 40.0, 0.70, 0.15, 0.15, 60)
STANDARD = PriorityRule("standard", 20.0, 0.30, 0.35, 0.35, 1440)


def vendor(vid, distance, active=0, cap=5, rating=4.0, skills=("plumbing",)):
    return VendorCandidate(vid, frozenset(skills), distance, active, cap, rating)


# NEAR: 1 km away but busy (4/5 jobs) and rated 3.0
# FAR: 12 km away, idle (0/5) and rated 5.0
NEAR = vendor("v-near", 1.0, active=4, rating=3.0)
FAR = vendor("v-far", 12.0, active=0, rating=5.0)
# OUTSIDE: 30 km away, beyond the standard radius (20) but inside the emergency one (40)
OUTSIDE = vendor("v-outside", 30.0, active=0, rating=5.0)


def test_hand_checked_scores_standard():
    # NEAR: 0.30*(1-1/20) + 0.35*(1-4/5) + 0.35*(3/5) = 0.285 + 0.07 + 0.21 = 0.565
    assert score_vendor(STANDARD, NEAR) == pytest.approx(0.565)
    # FAR: 0.30*(1-12/20) + 0.35*1 + 0.35*1 = 0.12 + 0.35 + 0.35 = 0.82
    assert score_vendor(STANDARD, FAR) == pytest.approx(0.82)


def test_hand_checked_scores_emergency():
    # NEAR: 0.70*(1-1/40) + 0.15*(1/5) + 0.15*(3/5) = 0.6825 + 0.03 + 0.09 = 0.8025
    assert score_vendor(EMERGENCY, NEAR) == pytest.approx(0.8025)
    # FAR: 0.70*(1-12/40) + 0.15 + 0.15 = 0.49 + 0.30 = 0.79
    assert score_vendor(EMERGENCY, FAR) == pytest.approx(0.79)
    # OUTSIDE: 0.70*(1-30/40) + 0.15 + 0.15 = 0.175 + 0.30 = 0.475
    assert score_vendor(EMERGENCY, OUTSIDE) == pytest.approx(0.475)


def test_emergency_and_standard_order_the_same_vendors_differently():
    cands = [NEAR, FAR, OUTSIDE]
    standard = rank_vendors("plumbing", STANDARD, cands)
    emergency = rank_vendors("plumbing", EMERGENCY, cands)
    # standard: idle, well-rated FAR beats the busy NEAR; OUTSIDE is beyond 20 km
    assert [c.vendor_id for _, c in standard] == ["v-far", "v-near"]
    # emergency: proximity dominates, and the 40 km radius admits OUTSIDE last
    assert [c.vendor_id for _, c in emergency] == ["v-near", "v-far", "v-outside"]
    assert choose_vendor("plumbing", STANDARD, cands) == FAR
    assert choose_vendor("plumbing", EMERGENCY, cands) == NEAR


def test_emergency_radius_finds_a_vendor_standard_cannot():
    assert choose_vendor("plumbing", STANDARD, [OUTSIDE]) is None
    assert choose_vendor("plumbing", EMERGENCY, [OUTSIDE]) == OUTSIDE


def test_default_rules_are_emergency_shaped():
    em = DEFAULT_RULES["emergency"]
    for name in ("high", "standard", "low"):
        assert em.is_emergency_shaped(DEFAULT_RULES[name])
    assert not DEFAULT_RULES["standard"].is_emergency_shaped(em)


def test_skill_mismatch_never_assigned():
    electrician = vendor("v-elec", 0.1, active=0, rating=5.0, skills=("electrical", "hvac"))
    assert choose_vendor("plumbing", EMERGENCY, [electrician]) is None
    assert rank_vendors("plumbing", STANDARD, [electrician]) == []
    # a worse plumber still wins over a perfect electrician
    plumber = vendor("v-plumb", 19.0, active=4, rating=1.0)
    assert choose_vendor("plumbing", STANDARD, [electrician, plumber]) == plumber


def test_skill_match_is_case_insensitive():
    v = vendor("v-1", 1.0, skills=("Plumbing ",))
    assert choose_vendor("plumbing", STANDARD, [v]) == v


def test_full_vendor_and_radius_limits():
    full = vendor("v-full", 1.0, active=5, cap=5)
    no_cap = vendor("v-nocap", 1.0, active=0, cap=0)
    at_edge = vendor("v-edge", 20.0, active=0, cap=5, rating=0.0)
    past_edge = vendor("v-past", 20.0001)
    ranked = rank_vendors("plumbing", STANDARD, [full, no_cap, at_edge, past_edge])
    # only the vendor exactly on the radius is eligible: 0.30*0 + 0.35*1 + 0.35*0 = 0.35
    assert [(round(s, 6), c.vendor_id) for s, c in ranked] == [(0.35, "v-edge")]


def test_ties_are_stable_and_independent_of_input_order():
    only_workload = PriorityRule("test", 50.0, 0.0, 1.0, 0.0, 30)
    # all four have capacity score 1 - 1/4 = 0.75, so the score ties;
    # then shorter distance wins, then the smaller vendor_id
    a = vendor("v-a", 5.0, active=1, cap=4)
    b = vendor("v-b", 3.0, active=1, cap=4)
    c = vendor("v-c", 3.0, active=1, cap=4)
    d = vendor("v-d", 5.0, active=2, cap=8)
    expected = ["v-b", "v-c", "v-a", "v-d"]
    for perm in itertools.permutations([a, b, c, d]):
        ranked = rank_vendors("plumbing", only_workload, perm)
        assert [cand.vendor_id for _, cand in ranked] == expected
        assert all(score == pytest.approx(0.75) for score, _ in ranked)
        assert choose_vendor("plumbing", only_workload, perm) == b


def test_float_noise_does_not_break_ties():
    # 0.1 + 0.2 style noise: both scores must round to the same value
    rule = PriorityRule("noise", 10.0, 0.1, 0.2, 0.0, 30)
    x = vendor("v-x", 0.0, active=0, cap=3)
    y = vendor("v-y", 0.0, active=0, cap=7)
    ranked = rank_vendors("plumbing", rule, [y, x])
    assert ranked[0][0] == ranked[1][0]
    assert [c.vendor_id for _, c in ranked] == ["v-x", "v-y"]


def test_exclude_skips_tried_vendors():
    assert choose_vendor("plumbing", EMERGENCY, [NEAR, FAR, OUTSIDE], exclude=["v-near"]) == FAR
    assert choose_vendor("plumbing", EMERGENCY, [NEAR], exclude={"v-near"}) is None


def test_candidates_are_frozen():
    with pytest.raises(Exception):
        NEAR.active_jobs = 0  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_distance_km": 0.0},
        {"distance_weight": -0.1},
        {"distance_weight": 0.0, "workload_weight": 0.0, "rating_weight": 0.0},
        {"response_sla_minutes": 0},
    ],
)
def test_invalid_rules_rejected(kwargs):
    base = dict(
        priority="x",
        max_distance_km=10.0,
        distance_weight=0.5,
        workload_weight=0.25,
        rating_weight=0.25,
        response_sla_minutes=60,
    )
    base.update(kwargs)
    with pytest.raises(ValueError):
        PriorityRule(**base)
