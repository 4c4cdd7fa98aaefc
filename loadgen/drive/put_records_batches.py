"""What a PutRecords call is and what its answer means, decided once for every client that sends it: the entries
and body of a call, the batches (PutLimits: 500 records / 5 MiB per call, linger), the answer classified per
record (acknowledged, retried after a jittered backoff, failed), each stream's accounting and its hot-path result.

Where it sits: drive.generation_process (records as PutRecords entries) -> this -> the I/O clients:
drive.kinesis_pusher over drive.kinesis_client (asyncio, `push kinesis` and validate) and loadgen.locust's
KinesisUser (gevent). Only the sending differs between them: nothing here does I/O or imports asyncio, an HTTP
client or an AWS client (a gevent process may import it before monkey patching).
"""

from __future__ import annotations

import binascii
import json
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loadgen.errors import LoadgenError
from loadgen.measure.run_summary import HotPathResult
from loadgen.measure.staged_recorder import StagedRecorder

TARGET = "Kinesis_20131202.PutRecords"
CONTENT_TYPE = "application/x-amz-json-1.1"
ALL_ACKNOWLEDGED = {"FailedRecordCount": 0}
MIB = 1024 * 1024
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 2.0
FATAL_CALL_ERRORS = frozenset({
    "ResourceNotFoundException", "InvalidArgumentException", "AccessDeniedException", "ValidationException",
    "UnrecognizedClientException", "InvalidSignatureException", "KMSDisabledException", "KMSNotFoundException",
    "KMSAccessDeniedException", "KMSInvalidStateException", "KMSOptInRequired", "UnknownOperationException",
})
"""Call-level errors no retry can fix: the call's records fail at once."""
RECORD_TOO_LARGE = "RecordTooLarge"
DEFAULT_LINGER_S = 0.05
"""How long a batch waits for more records (the KPL's RecordMaxBufferedTime is 100 ms)."""
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_MAX_IN_FLIGHT = 16
"""PutRecords calls at once, per client."""


@dataclass(frozen=True)
class PutLimits:
    """PutRecords limits the batches respect (AWS defaults; configurable since AWS has raised them)."""

    max_records: int = 500
    """Records per call."""
    max_bytes: int = 5 * MIB
    """Data + partition keys per call."""
    max_record_bytes: int = 1 * MIB
    """Data + partition key per record."""


class PutRecordsError(Exception):
    """A call Kinesis answered with an error as a whole (its `code` is the error type, e.g. ResourceNotFound)."""

    def __init__(self, code: str, status: int):
        super().__init__(f"{code} (HTTP {status})")
        self.code, self.status = code, status


def entries(data: list[bytes], keys: list[str]) -> list[bytes]:
    """Each record as its PutRecords entry (`{"Data": base64, "PartitionKey": JSON string}`): made when a record is
    generated, off the sending loop, so a call only joins them."""
    b64 = binascii.b2a_base64
    joined = "".join(keys)
    ascii_keys = joined.isascii() and '"' not in joined and "\\" not in joined
    quoted = ([f'"{k}"'.encode() for k in keys] if ascii_keys else [json.dumps(k).encode() for k in keys])
    return [b'{"Data":"' + b64(d, newline=False) + b'","PartitionKey":' + k + b"}" for d, k in zip(data, quoted)]


def body(stream: str, joined: bytes | memoryview) -> bytes:
    """The PutRecords JSON for these entries (`joined`: the entries joined by commas)."""
    return b"".join((b'{"StreamName":', json.dumps(stream).encode(), b',"Records":[', joined, b"]}"))


def answer(status: int, payload: bytes, count: int) -> dict:
    """Kinesis' answer to a call of `count` records ({FailedRecordCount, Records: [...]}), or PutRecordsError for
    a call-level error. An answer with a sequence number for every entry and no error code is ALL_ACKNOWLEDGED,
    its entries not parsed (parsing them cost ~0.5 ms per 500-record call, a tenth of the core at 42.9k rec/s)."""
    if status == 200:
        if b'"ErrorCode"' not in payload and payload.count(b'"SequenceNumber"') == count:
            return ALL_ACKNOWLEDGED
        return json.loads(payload)
    try:
        code = str(json.loads(payload).get("__type", "")).rsplit("#", 1)[-1]
    except (ValueError, AttributeError):
        code = ""
    raise PutRecordsError(code or ("InternalFailure" if status >= 500 else f"HTTP{status}"), status)


class Chunk:
    """The records of one generated piece (generation_process.Piece), due in time order: [0, handed) have been
    handed out (fell due), [0, pos) are in calls already."""

    __slots__ = ("piece", "entries", "offsets", "due", "sizes", "cum", "pos", "handed", "n")

    def __init__(self, piece: Any):
        self.piece, self.due, self.sizes, self.offsets = piece, piece.due, piece.sizes, piece.entry_offsets
        self.entries = memoryview(piece.entries)
        self.cum = np.zeros(piece.n + 1, dtype=np.int64)
        np.cumsum(piece.sizes, out=self.cum[1:])
        self.pos, self.handed, self.n = 0, 0, piece.n

    def joined(self, a: int, b: int) -> memoryview:
        """Records [a, b) as PutRecords entries joined by commas (a view: nothing copied)."""
        return self.entries[int(self.offsets[a]):int(self.offsets[b]) - 1]

    def entry(self, i: int) -> bytes:
        return bytes(self.joined(i, i + 1))

    def key(self, i: int) -> str:
        offsets = self.piece.key_offsets
        return self.piece.keys[int(offsets[i]):int(offsets[i + 1])].decode()

    def batch_end(self, now: float, limits: PutLimits, linger_s: float, flushing: bool) -> int | None:
        """Where the next call's records end if a batch of the handed-out records is ready (full by count or
        bytes, the end of the chunk, its oldest record lingered `linger_s`, or a flush), else None."""
        waiting = self.handed - self.pos
        if waiting <= 0:
            return None
        cum, pos = self.cum, self.pos
        if not (flushing or waiting >= limits.max_records or self.handed == self.n
                or now - self.due[pos] >= linger_s or cum[self.handed] - cum[pos] > limits.max_bytes):
            return None  # the common case, decided without a search
        count_end = min(pos + limits.max_records, self.handed)
        byte_end = int(np.searchsorted(cum, cum[pos] + limits.max_bytes, side="right")) - 1
        end = max(min(count_end, byte_end), pos + 1)
        full = end - pos >= limits.max_records or byte_end < count_end or (end == self.n and self.handed == self.n)
        return end if full or flushing or now - float(self.due[pos]) >= linger_s else None


class Span:
    """Records [a, a + n) of a chunk, as one call carries them (entries and keys looked up only on failure)."""

    __slots__ = ("chunk", "a")

    def __init__(self, chunk: Chunk, a: int):
        self.chunk, self.a = chunk, a

    def entry(self, i: int) -> bytes:
        return self.chunk.entry(self.a + i)

    def key(self, i: int) -> str:
        return self.chunk.key(self.a + i)


@dataclass
class Retry:
    ready_at: float
    entry: bytes
    key: str
    due: float
    attempts: int
    size: int


class Retries:
    """Retried records, as one call carries them."""

    __slots__ = ("retries",)

    def __init__(self, retries: list[Retry]):
        self.retries = retries

    def entry(self, i: int) -> bytes:
        return self.retries[i].entry

    def key(self, i: int) -> str:
        return self.retries[i].key


def ready_retries(retries: list[Retry], now: float, limits: PutLimits) -> list[Retry]:
    """The retries (sorted by ready_at) ready by `now` that one call carries (within the limits), taken off the
    list."""
    ready, size = [], 0
    for r in retries:
        if r.ready_at > now or len(ready) >= limits.max_records or size + r.size > limits.max_bytes:
            break
        ready.append(r)
        size += r.size
    del retries[:len(ready)]
    return ready


@dataclass(kw_only=True)
class StreamCounts:
    """One stream's accounting: every generated record is acknowledged, failed or in flight (queued or sending)."""

    generated: int = 0
    acknowledged: int = 0
    failed: int = 0
    queued: int = 0
    """Generated (or waiting for a retry) and not yet in a call."""
    sending: int = 0
    """In a call that has not returned."""
    acknowledged_bytes: int = 0
    offered_bytes: int = 0
    """Data + partition key bytes of every record generated (sent or not)."""
    retried: int = 0
    calls: int = 0
    call_errors: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)

    def in_flight(self) -> int:
        return self.queued + self.sending

    def counted(self) -> dict[str, int]:
        return {"generated": self.generated, "acknowledged": self.acknowledged, "failed": self.failed,
                "in_flight": self.in_flight()}

    def to_wire(self) -> dict:
        return {name: (dict(value) if isinstance(value, dict) else value) for name, value in vars(self).items()}

    def add(self, wire: dict) -> None:
        """Another process's counts of the same stream (StreamCounts.to_wire) added to these."""
        for name, value in wire.items():
            if name == "error_codes":
                for code, n in value.items():
                    self.error_codes[code] = self.error_codes.get(code, 0) + n
            else:
                setattr(self, name, getattr(self, name) + value)

    def fail(self, code: str) -> None:
        self.failed += 1
        self.error_codes[code] = self.error_codes.get(code, 0) + 1


@dataclass
class Settled:
    """What one call's answer did to its records (indices into the call)."""

    acknowledged: np.ndarray | None
    """Which records were acknowledged (None: all of them)."""
    retry: list[tuple[int, str, int, float]] = field(default_factory=list)
    """(index, error code, attempts so far, backoff s) of each record to send again."""
    failed: list[tuple[int, str, int]] = field(default_factory=list)
    """(index, error code, attempts) of each record that finally failed."""


def settle(counts: StreamCounts, response: dict | None, code: str | None, sizes: np.ndarray,
           attempts: list[int] | None, max_attempts: int, rng: random.Random) -> Settled:
    """Account one returned call of len(sizes) records: `response` is its answer (drive.put_records_batches.answer),
    or None and `code` the call-level error; records a response marks failed and those of a call failed as a whole
    are retried (full-jitter exponential backoff, seeded) up to `max_attempts`, except after an error no retry
    can fix (FATAL_CALL_ERRORS). The retried go back to `queued`; the failed are counted here."""
    n = len(sizes)
    counts.sending -= n
    counts.calls += 1
    if response is not None and not response.get("FailedRecordCount", 0):
        counts.acknowledged += n
        counts.acknowledged_bytes += int(sizes.sum())
        return Settled(None)
    if response is None:
        counts.call_errors += 1
        failed = [(i, code or "Unknown") for i in range(n)]
        retryable = code not in FATAL_CALL_ERRORS
        ok = np.zeros(n, dtype=bool)
    else:
        results = response.get("Records", [])
        failed = [(i, e.get("ErrorCode") or "Unknown") for i, e in enumerate(results) if e.get("ErrorCode")]
        if len(results) != n:  # a malformed answer: what it does not mention is not acknowledged
            failed += [(i, "MissingResult") for i in range(len(results), n)]
        retryable = True
        ok = np.ones(n, dtype=bool)
        ok[[i for i, _ in failed]] = False
        counts.acknowledged += int(ok.sum())
        counts.acknowledged_bytes += int(sizes[ok].sum())
    settled = Settled(ok)
    for i, error in failed:
        tries = attempts[i] if attempts else 1
        if retryable and tries < max_attempts:
            backoff = rng.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (tries - 1)))
            settled.retry.append((i, error, tries, backoff))
            counts.queued += 1
            counts.retried += 1
        else:
            settled.failed.append((i, error, tries))
            counts.fail(error)
    return settled


def failure_line(stream_key: str, stream_name: str, partition_key: str, code: str, attempts: int,
                 due: float) -> str:
    """A finally failed record in the failures file (JSON lines; never the payload)."""
    return json.dumps({"stream": stream_key, "stream_name": stream_name, "partition_key": partition_key,
                       "error_code": code, "attempts": attempts, "intended_offset_s": round(due, 6)}) + "\n"


def streams_of(ctx: Any, only: frozenset[str] | None = None) -> list[tuple[Any, Any]]:
    """(demand, stream definition) for each Kinesis stream of the profile (those in `only`, when given), matched to
    the stack's streams by their for_each key (ctx: a RunContext)."""
    # imported here: target.local_resources imports botocore, which a gevent process imports only once patched
    from loadgen.target.local_resources import stream_definition

    definitions = {inst.key: inst for inst in ctx.resolved.instances("aws_kinesis_stream")}
    pairs = []
    for demand in ctx.profile.demand():
        if demand.kind != "kinesis" or (only is not None and demand.name not in only):
            continue
        inst = definitions.get(demand.name)
        if inst is None:
            raise LoadgenError(f"{ctx.profile.path}: stream '{demand.name}' has no aws_kinesis_stream instance in "
                               f"{ctx.stack} (keys: {', '.join(sorted(map(str, definitions))) or 'none'})")
        pairs.append((demand, stream_definition(inst)))
    if not pairs:
        raise LoadgenError(f"{ctx.stack} {ctx.env}: the profile drives no Kinesis stream; nothing to push")
    return pairs


def stream_result(recorder: StagedRecorder, stream_name: str, counts: StreamCounts, target_rate: float,
                  span_s: float, shard_count: int | None, scheduled_per_stage: list[int],
                  extra: dict | None = None) -> HotPathResult:
    """A stream's hot path: its records' latencies from their intended times, judged by its alarms, which see the
    top stage's rate the profile offers (not its noisy count in a short stage)."""
    fields = {"stream_name": stream_name, "generated": counts.generated, "acknowledged": counts.acknowledged,
              "failed": counts.failed, "in_flight": counts.in_flight(), "retried_records": counts.retried,
              "put_records_calls": counts.calls, "error_codes": dict(sorted(counts.error_codes.items())),
              "bytes_per_s": round(counts.acknowledged_bytes / span_s, 1), "shard_count": shard_count,
              **(extra or {})}
    return HotPathResult(recorder.name, recorder.name, recorder.total(), target_rate, counts.acknowledged / span_s,
                         counts_per_s={"IncomingRecords": target_rate, "IncomingBytes":
                                       target_rate * counts.offered_bytes / max(counts.generated, 1)},
                         extra=fields, staged=recorder, kind="kinesis_stream", scheduled_per_stage=scheduled_per_stage)


def accounting(streams: dict[str, StreamCounts]) -> dict:
    """The run's `accounting`: {generated, acknowledged, failed, in_flight} over all streams, the in-flight split
    (unsent, sending) and `per_stream`; a mismatch is a driver bug and raises."""
    per_stream = {key: counts.counted() for key, counts in streams.items()}
    totals = {name: sum(c[name] for c in per_stream.values())
              for name in ("generated", "acknowledged", "failed", "in_flight")}
    if totals["generated"] != totals["acknowledged"] + totals["failed"] + totals["in_flight"]:
        raise RuntimeError(f"kinesis accounting does not add up: {totals}")  # a driver bug, never user error
    return {**totals, "unsent": sum(c.queued for c in streams.values()),
            "sending": sum(c.sending for c in streams.values()), "per_stream": per_stream}
