"""Kinesis' partition-key hashing and per-shard write limits: which shards a run's records land on, and which of
them would be throttled on AWS.

Where it sits: between the pusher (loadgen.drive.kinesis_pusher), which sees every record it generates, and the run's
summary (`shards` section). The local stand-ins never throttle, so this model is how a local run tells that an
env's shard count (from its tfvars) or a skewed partition-key distribution would exceed the per-shard write
limits of 1,000 records/s and 1 MiB/s.

Hashing as Kinesis does it: the hash key of a record is int(MD5(partition key as UTF-8)), in [0, 2^128); a stream
created with N shards (CreateStream, no resharding since) splits that range evenly: shard i covers
[i x step, (i + 1) x step - 1] with step = 2^128 // N, and the last shard ends at 2^128 - 1 (moto does the same).
MD5 is computed once per distinct partition key and cached; per-record work is one dict lookup, and counting is
numpy (bincount).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from loadgen.profiles import KINESIS_BYTES_PER_SHARD, KINESIS_RECORDS_PER_SHARD

HASH_SPACE = 1 << 128


def hash_key(partition_key: str) -> int:
    """The 128-bit hash key Kinesis derives from a partition key."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


class HashCache:
    """hash_key per partition key, computed once and shared by the streams that use the same keys."""

    def __init__(self) -> None:
        self._hashes: dict[str, int] = {}

    def __call__(self, partition_key: str) -> int:
        found = self._hashes.get(partition_key)
        if found is None:
            found = self._hashes[partition_key] = hash_key(partition_key)
        return found


def shard_ranges(shard_count: int) -> list[tuple[int, int]]:
    """(starting, ending) hash key, both inclusive, of each shard of a stream created with `shard_count` shards."""
    if shard_count < 1:
        raise ValueError("a stream has at least one shard")
    step = HASH_SPACE // shard_count
    return [(i * step, HASH_SPACE - 1 if i == shard_count - 1 else (i + 1) * step - 1) for i in range(shard_count)]


def shard_indices(hashes: np.ndarray, shard_count: int) -> np.ndarray:
    """Shard index of many hash keys at once (an object array of Python ints, as `hash_key` returns them), for a
    stream of `shard_count` evenly split shards: the same rule as ShardMap.shard_of_key, as array arithmetic."""
    if shard_count < 1:
        raise ValueError("a stream has at least one shard")
    step = HASH_SPACE // shard_count
    return np.minimum(hashes // step, shard_count - 1).astype(np.int64)


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


class ShardMap:
    """Partition key -> shard index for a stream of `shard_count` evenly split shards (cached per key)."""

    def __init__(self, shard_count: int, hashes: HashCache | None = None):
        self.shard_count = shard_count
        self.step = HASH_SPACE // shard_count
        self.hashes = hashes or HashCache()
        self._cache: dict[str, int] = {}

    def shard_of_key(self, partition_key: str) -> int:
        found = self._cache.get(partition_key)
        if found is None:
            found = self._cache[partition_key] = min(self.hashes(partition_key) // self.step, self.shard_count - 1)
        return found

    def prime(self, partition_keys: Sequence[str]) -> None:
        """Hash every key the run can use before it starts, so the hot loop only looks keys up."""
        for key in partition_keys:
            self.shard_of_key(key)

    def shards_of(self, partition_keys: Sequence[str]) -> np.ndarray:
        """Shard index of each key (one dict lookup per key once the key has been seen)."""
        cache = self._cache
        try:
            return np.fromiter(map(cache.__getitem__, partition_keys), dtype=np.int32, count=len(partition_keys))
        except KeyError:
            return np.fromiter(map(self.shard_of_key, partition_keys), dtype=np.int32, count=len(partition_keys))


@dataclass
class ShardLoad:
    """Records and bytes written to each shard of one stream over a run."""

    stream: str
    shard_count: int
    hashes: HashCache | None = None
    """A hash cache shared with other streams keyed the same way (e.g. vehicle_id)."""
    records: np.ndarray = field(init=False)
    bytes: np.ndarray = field(init=False)
    map: ShardMap = field(init=False)

    def __post_init__(self) -> None:
        self.records = np.zeros(self.shard_count, dtype=np.int64)
        self.bytes = np.zeros(self.shard_count, dtype=np.int64)
        self.map = ShardMap(self.shard_count, self.hashes)

    def add(self, partition_keys: Sequence[str], sizes: np.ndarray) -> np.ndarray:
        """Count records (their partition keys and sizes in bytes); returns their shard indices."""
        shards = self.map.shards_of(partition_keys)
        self.add_indexed(shards, sizes)
        return shards

    def add_indexed(self, shards: np.ndarray, sizes: np.ndarray) -> None:
        self.records += np.bincount(shards, minlength=self.shard_count)
        self.bytes += np.bincount(shards, weights=sizes, minlength=self.shard_count).astype(np.int64)

    def report(self, duration_s: float, records_limit: float = KINESIS_RECORDS_PER_SHARD,
               bytes_limit: float = KINESIS_BYTES_PER_SHARD) -> dict:
        """Per-shard average rates over `duration_s`, and the hot shards: those above either write limit, with
        the records/s and bytes/s beyond it (what AWS would throttle)."""
        span = max(duration_s, 1e-9)
        rps, bps = self.records / span, self.bytes / span
        shards = [{"shard_id": shard_id(i), "records_per_s": round(float(rps[i]), 3),
                   "bytes_per_s": round(float(bps[i]), 1)} for i in range(self.shard_count)]
        hot = [{**shards[i], "excess_records_per_s": round(max(0.0, float(rps[i]) - records_limit), 3),
                "excess_bytes_per_s": round(max(0.0, float(bps[i]) - bytes_limit), 1)}
               for i in np.flatnonzero((rps > records_limit) | (bps > bytes_limit)).tolist()]
        return {"stream": self.stream, "shard_count": self.shard_count, "duration_s": round(duration_s, 3),
                "records_limit_per_shard": records_limit, "bytes_limit_per_shard": bytes_limit,
                "max_records_per_s": round(float(rps.max(initial=0.0)), 3),
                "max_bytes_per_s": round(float(bps.max(initial=0.0)), 1),
                "shards": shards, "hot_shards": hot}
