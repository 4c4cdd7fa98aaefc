"""The Kinesis driver's records, generated and made ready to send in a process of their own.

Where it sits: fleet_models (the profile's domain model) -> this process (records of each slice of simulated
time, due times on the ramp's wall clock, sizes, shard indices, PutRecords entries) -> drive.kinesis_pusher
(hands them out at their intended times, batches, sends, accounts). Measured reason (README, "Measuring
honestly"): on a generation thread the event loop waited for the GIL in stretches over 1 ms whenever generation
ran (~1.4 s per 8 s at fleet_telematics' prod peak), so 12-20% of records started late; in a process of its own
generation takes no GIL from the loop, and scheduled SCHED_IDLE (`_lower_priority`) it takes a core only while
the loop does not need it: sharing the loop's core, late starts went from ~1.6-2% (niceness 10) to ~0.3-0.6%.
The price: on a machine whose cores are all busy, generation waits, and what it delays is counted as late.

The conversation, over the child's stdin/stdout, each message one length-prefixed pickle (`_write`/`_read`):
- the parent sends a `Setup` (the profile's config, the ramp, the scale, the streams' shard counts, the limits);
  the child builds the model, hashes the partition keys onto shards (set-up, before the run) and answers READY;
- the parent asks for slice k (wall time [k * slice_s, (k + 1) * slice_s)); the child answers with the slice's
  records as `Piece`s of at most PIECE_RECORDS records of one stream each (so the loop unpacks one in well under a
  millisecond), then SLICE_DONE. The parent asks for a slice only when it is one slice ahead of the clock and its
  backlog allows: generation is bounded in memory and in time.
- The parent is GenerationProcess (asyncio: the Kinesis driver) or PipedGeneration (blocking pipes: in a gevent
  process, whose patched subprocess makes them cooperative: the Locust KinesisUser); the child is the same.
- End of the parent's stdin (the run ended, or the parent died) ends the child: none is left behind. SIGINT is the
  parent's to handle (the child ignores it and ends when the parent closes its stdin); a child that fails says
  why in one ERROR message.

Deterministic: the same seed and profile give the same records in the same order, whatever the machine's load.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, BinaryIO

import numpy as np

from loadgen.drive.put_records_batches import PutLimits, entries as put_entries
from loadgen.drive.ramp import RampPlan
from loadgen.errors import LoadgenError
from loadgen.measure.shard_model import HashCache, ShardMap

PIECE_RECORDS = 2000
"""Records per message at most: ~0.7 MB at fleet_telematics' record sizes, unpacked in ~0.1 ms."""
READY, SLICE_DONE, ERROR = "ready", "slice_done", "error"
HEADER = struct.Struct("!Q")
CHILD = "from loadgen.drive.generation_process import main; main()"
"""The child's program (imported by name, so what it pickles is this module's classes, not __main__'s)."""
CLOSE_WAIT_S = 5.0
HELD_DURING_FORK = {signal.SIGINT, signal.SIGTERM}
STREAM_LIMIT = 1 << 24
"""The parent's read buffer: a whole piece fits, so a read never waits on the child half way."""


@dataclass(frozen=True)
class Setup:
    """What the child needs to generate a run's records (everything picklable, nothing of the target)."""

    config: Any
    """The profile's domain config (`profile.config()`): `build()` gives the model."""
    plan: RampPlan
    rate_scale: float
    shard_counts: dict[str, int | None]
    """Stream key -> shard count (None: on demand, no shard map): only these streams are sent."""
    limits: PutLimits
    slice_s: float


@dataclass
class Piece:
    """Up to PIECE_RECORDS records of one stream from one slice, in due order, ready to send."""

    stream: str
    entries: bytes
    """Each record's PutRecords entry followed by a comma, back to back."""
    entry_offsets: np.ndarray
    """Where each entry starts in `entries` (n + 1 values: the last is its length)."""
    keys: bytes
    """The records' partition keys, UTF-8, back to back."""
    key_offsets: np.ndarray
    due: np.ndarray
    """Intended wall offsets (s from the run's start)."""
    sizes: np.ndarray
    """Data + partition key bytes of each record (what the PutRecords limits count)."""
    shards: np.ndarray | None
    """Shard index of each record (None for an on-demand stream)."""
    per_stage: np.ndarray
    """Records due in each ramp stage, too-large ones included (they were offered)."""
    too_large: list[tuple[str, float]]
    """(partition key, due) of the slice's records over the per-record limit: never sent, counted failed."""

    @property
    def n(self) -> int:
        return len(self.due)


def _write(out: BinaryIO, message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(HEADER.pack(len(payload)))
    out.write(payload)
    out.flush()


def _read(source: BinaryIO) -> Any | None:
    header = source.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    return pickle.loads(source.read(HEADER.unpack(header)[0]))


def _offsets(lengths: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def record_sizes(data: list[bytes], encoded_keys: list[bytes]) -> np.ndarray:
    """Bytes each record counts against the limits: data plus partition key (UTF-8)."""
    n = len(data)
    return (np.fromiter(map(len, data), dtype=np.int64, count=n)
            + np.fromiter(map(len, encoded_keys), dtype=np.int64, count=n))


class Generator:
    """The child's side: the model and the shard maps, and each asked-for slice as pieces."""

    def __init__(self, setup: Setup):
        self.setup = setup
        self.model = setup.config.build()
        self.sim_start = float(getattr(setup.config, "peak_time_s", 0.0))
        hashes = HashCache()
        self.maps = {key: ShardMap(count, hashes) for key, count in setup.shard_counts.items() if count}
        for key, keys in self.model.partition_keys().items():
            if key in self.maps:
                self.maps[key].prime(keys)

    def slice(self, k: int) -> list[Piece]:
        """The records due in wall time [k * slice_s, (k + 1) * slice_s) (clipped to the plan), per stream."""
        setup, plan = self.setup, self.setup.plan
        wall0 = k * setup.slice_s
        wall1 = min(wall0 + setup.slice_s, plan.total_s)
        generated = self.model.generate(self.sim_start + plan.units_at(wall0, setup.rate_scale),
                                        self.sim_start + plan.units_at(wall1, setup.rate_scale))
        pieces = []
        for key in setup.shard_counts:
            batch = generated.get(key)
            if batch is not None and len(batch):
                due = plan.wall_times(np.asarray(batch.intended_s, dtype=np.float64) - self.sim_start,
                                      setup.rate_scale)
                pieces += self._pieces(key, batch.data, batch.partition_keys, due)
        return pieces

    def _pieces(self, stream: str, data: list[bytes], keys: list[str], due: np.ndarray) -> list[Piece]:
        plan, limits = self.setup.plan, self.setup.limits
        if len(data) > 1 and bool(np.any(due[1:] < due[:-1])):
            order = np.argsort(due, kind="stable").tolist()
            data, keys, due = [data[i] for i in order], [keys[i] for i in order], due[order]
        encoded = [k.encode() for k in keys]
        sizes = record_sizes(data, encoded)
        stages = plan.stage_of(due)
        too_big = sizes > limits.max_record_bytes
        too_large, too_large_stages = [], np.zeros(len(plan.durations_s), dtype=np.int64)
        if too_big.any():
            too_large_stages = np.bincount(stages[too_big], minlength=len(plan.durations_s))
            too_large = [(keys[i], float(due[i])) for i in np.flatnonzero(too_big).tolist()]
            keep = (~too_big).tolist()
            data = [d for d, k in zip(data, keep) if k]
            keys = [x for x, k in zip(keys, keep) if k]
            encoded = [x for x, k in zip(encoded, keep) if k]
            due, sizes, stages = due[~too_big], sizes[~too_big], stages[~too_big]
        shard_map = self.maps.get(stream)
        shards = shard_map.shards_of(keys) if shard_map is not None else None
        entries = put_entries(data, keys)
        n_stages = len(plan.durations_s)
        pieces = []
        for a in range(0, max(len(entries), 1), PIECE_RECORDS):
            b = min(a + PIECE_RECORDS, len(entries))
            part = entries[a:b]
            per_stage = np.bincount(stages[a:b], minlength=n_stages) + (too_large_stages if a == 0 else 0)
            pieces.append(Piece(
                stream, b",".join(part) + b"," if part else b"",
                _offsets(np.fromiter(map(len, part), dtype=np.int64, count=len(part)) + 1),
                b"".join(encoded[a:b]), _offsets(np.fromiter(map(len, encoded[a:b]), dtype=np.int64, count=b - a)),
                due[a:b].copy(), sizes[a:b].copy(), shards[a:b].copy() if shards is not None else None,
                per_stage, too_large if a == 0 else []))
        return pieces


def _lower_priority() -> None:
    """SCHED_IDLE where the OS has it (the parent, waking for a hand-out, takes the core back at once), else the
    lowest niceness."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        try:
            os.nice(19)
        except OSError:
            pass


def main() -> None:
    """The child: set up, then answer slice requests until the parent closes stdin."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_DURING_FORK)  # a mask outlives exec: PipedGeneration's
    requests, answers = sys.stdin.buffer, os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # nothing but messages on the parent's pipe
    _lower_priority()
    try:
        setup = _read(requests)
        if setup is None:
            return
        generator = Generator(setup)
        _write(answers, READY)
        while (k := _read(requests)) is not None:
            for piece in generator.slice(k):
                _write(answers, piece)
            _write(answers, (SLICE_DONE, k))
    except BrokenPipeError:
        return
    except Exception as exc:  # noqa: BLE001 - the parent reports it in one line; the run must not hang
        _write(answers, (ERROR, f"{type(exc).__name__}: {exc}"))
        sys.exit(1)


class GenerationProcess:
    """The parent's side: starts the child, asks for slices, yields their pieces; `close` ends the child."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.asked: int | None = None
        """The slice asked for and not finished (the child may be writing it)."""

    async def start(self, setup: Setup) -> None:
        """Start the child and wait until its model is built (set-up, before the run)."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=STREAM_LIMIT)
        self._send(setup)
        answer = await self._receive()
        if answer != READY:
            raise LoadgenError(f"the record generation process did not start: {answer!r}")

    async def slice(self, k: int) -> AsyncIterator[Piece]:
        """Slice k's pieces, each as soon as it arrives."""
        self._send(k)
        self.asked = k
        while True:
            message = await self._receive()
            if isinstance(message, Piece):
                yield message
            elif message == (SLICE_DONE, k):
                self.asked = None
                return
            else:
                raise LoadgenError(f"record generation failed: {message!r}")

    def cpu_s(self) -> float:
        """CPU seconds the child has used so far (from /proc; 0.0 where there is none)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, AttributeError, IndexError):
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def _send(self, message: Any) -> None:
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.process.stdin.write(HEADER.pack(len(payload)) + payload)

    async def _receive(self) -> Any:
        reader = self.process.stdout
        try:
            header = await reader.readexactly(HEADER.size)
            message = pickle.loads(await reader.readexactly(HEADER.unpack(header)[0]))
        except asyncio.IncompleteReadError:
            code = await self.process.wait()
            raise LoadgenError(f"the record generation process ended (exit {code})") from None
        if isinstance(message, tuple) and message[0] == ERROR:
            raise LoadgenError(f"record generation failed: {message[1]}")
        return message

    async def close(self) -> None:
        """End the child: closing its stdin ends it between slices; one still writing a slice nobody will read
        (a stopped run), or not ending within CLOSE_WAIT_S, is killed."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.stdin.close()
        if self.asked is None:
            try:
                await asyncio.wait_for(process.wait(), CLOSE_WAIT_S)
                return
            except (TimeoutError, asyncio.TimeoutError):
                pass
        process.kill()
        await process.wait()


class PipedGeneration:
    """The parent's side over blocking pipes, for a gevent process (Locust's: its patched subprocess and pipes
    yield to other greenlets while they wait): the same child and messages as GenerationProcess."""

    def __init__(self) -> None:
        """Start the child (Python and its imports: ~0.5 s), which then waits for its Setup."""
        held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_DURING_FORK)
        try:  # a SIGINT landing in gevent's at-fork hook is swallowed there (Locust would never quit): held over
            # the fork, it arrives just after, in the greenlet that forked, and reaches Locust's main greenlet
            self.process = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def start(self, setup: Setup) -> None:
        """Send the Setup and wait until the child's model is built."""
        _write(self.process.stdin, setup)
        answer = self._receive()
        if answer != READY:
            raise LoadgenError(f"the record generation process did not start: {answer!r}")

    def slice(self, k: int) -> list[Piece]:
        """Slice k's pieces."""
        _write(self.process.stdin, k)
        pieces = []
        while True:
            message = self._receive()
            if isinstance(message, Piece):
                pieces.append(message)
            elif message == (SLICE_DONE, k):
                return pieces
            else:
                raise LoadgenError(f"record generation failed: {message!r}")

    def _receive(self) -> Any:
        message = _read(self.process.stdout)
        if message is None:
            raise LoadgenError(f"the record generation process ended (exit {self.process.wait()})")
        if isinstance(message, tuple) and message[0] == ERROR:
            raise LoadgenError(f"record generation failed: {message[1]}")
        return message

    def close(self) -> None:
        """End the child at once (it has nothing to finish; at SCHED_IDLE on a busy machine, waiting for it to see
        the end of its stdin could hold up a test's stop for seconds)."""
        process = self.process
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdin.close()
        process.stdout.close()
