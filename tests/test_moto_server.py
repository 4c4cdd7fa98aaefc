"""The local target's moto server: moto's Kinesis shards, with their ends read in constant time, number records
exactly as moto does (one past the last, starting at 1) and report the same first and last sequence numbers."""

from __future__ import annotations

from moto.kinesis.models import Shard

from loadgen.target.moto_server import constant_time_shard_ends


def test_shard_numbering_is_moto_s_with_constant_time_ends():
    constant_time_shard_ends()
    shard = Shard(0, 0, 2**128)
    assert (shard.get_min_sequence_number(), shard.get_max_sequence_number()) == (0, 0)
    numbers = [int(shard.put_record(f"key-{i}", "ZGF0YQ==", None)) for i in range(5)]
    assert numbers == [1, 2, 3, 4, 5]
    assert (shard.get_min_sequence_number(), shard.get_max_sequence_number()) == (1, 5)
    del shard.records[1]  # trimmed past retention
    assert shard.get_min_sequence_number() == 2 and int(shard.put_record("k", "ZA==", None)) == 6
