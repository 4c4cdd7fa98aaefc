"""`loadgen bench harness`: streams dealt to processes, every record of every process counted once in the merged
recording (no speed is asserted: the bench prints figures)."""

from __future__ import annotations

import asyncio

from loadgen.bench.harness import deal, run_harness_bench
from loadgen.profiles import load_profile


def test_streams_are_dealt_once_each_largest_first_to_the_least_loaded_process():
    stacks = ("fleet_telematics", "food_delivery", "property_maintenance")
    shares, idle = deal(stacks, "prod", 2)
    assert idle == ["property_maintenance"]
    dealt = sorted((stack, name) for share in shares for stack, names in share.items() for name in names)
    expected = sorted((stack, d.name) for stack in stacks for d in load_profile(stack, "prod").demand()
                      if d.kind == "kinesis")
    assert dealt == expected
    rates = {(stack, d.name): d.peak_rps for stack in stacks for d in load_profile(stack, "prod").demand()}
    loads = [sum(rates[(stack, n)] for stack, names in share.items() for n in names) for share in shares]
    biggest = max(rates[s] for s in expected)
    assert abs(loads[0] - loads[1]) <= biggest  # no process carries more than one stream's rate over the other


def test_two_processes_merge_every_record_they_pushed():
    result = asyncio.run(run_harness_bench(("food_delivery",), "dev", seconds=2.0, processes=2))
    assert result["processes"] == 2 and len(result["cpu_fraction"]) == 2
    accounting = result["accounting"]
    assert accounting["generated"] > 0
    assert accounting["generated"] == accounting["acknowledged"] + accounting["failed"] + accounting["in_flight"]
    assert result["records"] == accounting["acknowledged"] + accounting["failed"]
    assert sorted(n for share in result["shares"] for n in share["food_delivery"]) == ["locations", "orders"]
