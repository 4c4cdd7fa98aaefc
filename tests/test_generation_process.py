"""The Kinesis driver's generation process: what it hands over is exactly the model's records, ready to send,
and the process never outlives its run."""

from __future__ import annotations

import asyncio
import base64
import json
import signal

import numpy as np
import pytest

from loadgen.drive.generation_process import PIECE_RECORDS, GenerationProcess, Generator, PipedGeneration, Setup
from loadgen.drive import put_records_batches as batches
from loadgen.drive.put_records_batches import PutLimits
from loadgen.drive.ramp import RampPlan
from loadgen.errors import LoadgenError
from loadgen.profiles import load_profile

PLAN = RampPlan((1.0, 1.0), (0.5, 1.0))


def setup(limits: PutLimits = PutLimits(), stack: str = "food_delivery") -> Setup:
    return Setup(load_profile(stack, "dev").config(), PLAN, 1.0, {"orders": 2, "locations": None}, limits, 1.0)


def records_of(piece) -> list[dict]:
    body = batches.body("s", memoryview(piece.entries)[:-1]) if piece.n else b'{"Records":[]}'
    return json.loads(body)["Records"]


def test_pieces_carry_the_models_records_in_due_order_with_sizes_keys_and_shards():
    generator = Generator(setup())
    config = load_profile("food_delivery", "dev").config()
    expected = config.build().generate(config.peak_time_s + PLAN.units_at(1.0, 1.0),
                                       config.peak_time_s + PLAN.units_at(2.0, 1.0))
    pieces = generator.slice(1)
    assert {p.stream for p in pieces} == {"orders", "locations"}
    for stream in ("orders", "locations"):
        mine = [p for p in pieces if p.stream == stream]
        assert all(0 < p.n <= PIECE_RECORDS for p in mine)
        records = [r for p in mine for r in records_of(p)]
        batch = expected[stream]
        due = PLAN.wall_times(np.asarray(batch.intended_s) - config.peak_time_s, 1.0)
        order = np.argsort(due, kind="stable")
        assert [base64.b64decode(r["Data"]) for r in records] == [batch.data[i] for i in order]
        assert [r["PartitionKey"] for r in records] == [batch.partition_keys[i] for i in order]
        got_due = np.concatenate([p.due for p in mine])
        assert np.array_equal(got_due, due[order]) and np.all(np.diff(got_due) >= 0)
        keys = [p.keys[p.key_offsets[i]:p.key_offsets[i + 1]].decode() for p in mine for i in range(p.n)]
        assert keys == [batch.partition_keys[i] for i in order]
        sizes = np.concatenate([p.sizes for p in mine])
        assert sizes.tolist() == [len(batch.data[i]) + len(batch.partition_keys[i].encode()) for i in order]
        assert sum(int(p.per_stage.sum()) for p in mine) == len(batch)
        assert int(sum(p.per_stage for p in mine)[1]) == len(batch)  # wall [1, 2) is the second stage
        shards = [p.shards for p in mine]
        assert all(s is None for s in shards) if stream == "locations" else all(s is not None for s in shards)


def test_records_over_the_per_record_limit_are_set_apart_and_still_offered():
    every = np.concatenate([p.sizes for p in Generator(setup()).slice(0) if p.stream == "locations"])
    limit = int(np.median(every))
    pieces = [p for p in Generator(setup(PutLimits(max_record_bytes=limit))).slice(0) if p.stream == "locations"]
    too_large = [t for p in pieces for t in p.too_large]
    sent = sum(p.n for p in pieces)
    assert len(too_large) == int((every > limit).sum()) and sent == int((every <= limit).sum())
    assert all(p.sizes.max(initial=0) <= limit for p in pieces)
    assert sum(int(p.per_stage.sum()) for p in pieces) == sent + len(too_large)


def test_the_same_setup_gives_the_same_records():
    a, b = Generator(setup()).slice(1), Generator(setup()).slice(1)
    assert [(p.stream, p.entries, p.due.tolist()) for p in a] == [(p.stream, p.entries, p.due.tolist()) for p in b]


def test_the_process_answers_slices_and_ends_with_its_run():
    async def main():
        source = GenerationProcess()
        await source.start(setup())
        counted = [sum(p.n for p in [q async for q in source.slice(k)]) for k in (0, 1)]
        process = source.process
        await source.close()
        return counted, process.returncode

    counted, code = asyncio.run(main())
    assert counted[0] > 0 and counted[1] > counted[0]  # the second stage runs at twice the first's rate
    assert code == 0  # it ended on its own when its stdin closed


def test_a_process_stopped_mid_slice_is_ended_and_a_failing_one_says_why():
    async def main():
        source = GenerationProcess()
        await source.start(setup())
        pieces = source.slice(1)
        await anext(pieces)  # the child is still writing the rest of the slice
        process = source.process
        await source.close()
        broken = GenerationProcess()
        with pytest.raises(LoadgenError, match="record generation failed: AttributeError"):
            await broken.start(Setup("not a config", PLAN, 1.0, {}, PutLimits(), 1.0))
        await broken.close()
        return process.returncode

    assert asyncio.run(main()) is not None


def blocked_signals(pid: int | str) -> int:
    """The SigBlk mask of a process (/proc)."""
    status = open(f"/proc/{pid}/status").read()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigBlk:")), 16)


def test_the_piped_process_is_forked_with_sigint_held_and_neither_side_keeps_it_held():
    """Locust's KinesisUser forks from a gevent greenlet: a SIGINT during the fork must not land in gevent's
    at-fork hook (it is swallowed there), so it is held over the fork; afterwards the parent takes signals again
    and the child can be ended by SIGTERM."""
    before = blocked_signals("self")
    source = PipedGeneration()
    try:
        source.start(setup())
        assert blocked_signals("self") == before
        assert blocked_signals(source.process.pid) & (1 << (signal.SIGTERM - 1)) == 0
        source.process.send_signal(signal.SIGTERM)
        assert source.process.wait(timeout=10) == -signal.SIGTERM
    finally:
        source.close()
