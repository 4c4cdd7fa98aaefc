"""The Locust Kinesis user: the gevent I/O half of the Kinesis driver, PutRecords into the stack's streams.

Where it sits: drive.generation_process makes the records (the Kinesis driver's child process, over blocking
pipes gevent makes cooperative: PipedGeneration), on the test's plan and `--rate-scale`: the profile's rates x
scale x each stage's fraction, whatever the number of users; drive.put_records_batches decides what a call
carries (PutLimits, linger), what its answer means for each record (acknowledged, retried after a seeded
backoff, failed) and the accounting, as for `push kinesis`; this module only hands records out at their
intended times, signs each call with drive.sigv4 and posts it over geventhttpclient (at most 16 calls at once,
the driver's default), then reports it twice: each call to Locust through `events.request` (request_type
"PutRecords", name the stream's hot path: service time), each record to the hot path's StagedRecorder with the
latency from its intended time to the acknowledgement of the call that carried it. Records that finally fail
are written to FAILURES_FILE in the run dir, as the pusher writes them.

One KinesisUser per test (`fixed_count = 1`: Locust places it on one worker), which sends every stream: no record
is sent twice across workers. At the test's stop the records already due are flushed and their calls awaited
for up to the driver's stop drain; what is unfinished then (queued, or in a call cut short) is `in_flight`:
generated == acknowledged + failed + in_flight, per stream.
"""

from __future__ import annotations

import math
import random
from collections import deque

import gevent
import numpy as np
from gevent.pool import Pool
from geventhttpclient import HTTPClient
from locust import User, constant, task

from loadgen.drive.generation_process import PipedGeneration, Piece, Setup
from loadgen.drive.put_records_batches import (CONTENT_TYPE, DEFAULT_LINGER_S, DEFAULT_MAX_ATTEMPTS,
                                               DEFAULT_MAX_IN_FLIGHT, RECORD_TOO_LARGE, TARGET, Chunk, PutLimits,
                                               PutRecordsError, Retries, Retry, Span, answer, body,
                                               failure_line, ready_retries, settle)
from loadgen.drive.scheduler import STOP_DRAIN_S
from loadgen.drive.sigv4 import PostSigner, service_endpoint
from loadgen.locust.recording import RouteRecording
from loadgen.locust.run import LocustRun, Stream, clock
from loadgen.locust.users import run_of
from loadgen.measure.staged_recorder import is_throttle

PUT_RECORDS = "PutRecords"
FAILURES_FILE = "kinesis_failures.jsonl"
LIMITS = PutLimits()
SLICE_S = 1.0
TICK_S = 0.05
"""The longest the user sleeps between two looks (a call that returned may have freed a slot)."""
TIMEOUT_S = 30.0


_spares: dict[int, PipedGeneration] = {}
"""id(environment) -> a generation process started at init for the first test's KinesisUser."""


def prepare(environment) -> None:
    """Start the first test's generation process now, at init, so that its first records do not wait for Python to
    start (a later test's KinesisUser starts its own: nothing is forked after a test stops, when a SIGINT may come,
    and a Locust that forked then was seen not to quit on it); it ends when Locust quits."""
    if id(environment) not in _spares:
        _spares[id(environment)] = PipedGeneration()


def release(environment) -> None:
    """Locust quits: the spare ends, and no other is started."""
    spare, _spares[id(environment)] = _spares.get(id(environment)), None
    if spare is not None:
        spare.close()


class _Sending:
    """One stream's records in this user: chunks not yet fully in calls, retries, and its recording."""

    def __init__(self, hot_path: str, stream: Stream, route: RouteRecording):
        self.hot_path, self.stream, self.route, self.counts = hot_path, stream, route, route.stream
        self.chunks: deque[Chunk] = deque()
        self.retries: list[Retry] = []

    def current(self, now: float) -> Chunk | None:
        """The first chunk with records not yet in a call, its records due by `now` handed out."""
        while self.chunks and self.chunks[0].pos >= self.chunks[0].n:
            self.chunks.popleft()
        if not self.chunks:
            return None
        chunk = self.chunks[0]
        chunk.handed = int(chunk.due.searchsorted(now, side="right"))
        return chunk

    def wake(self, now: float) -> float | None:
        """When this stream next has something to send (an offset from the test's start)."""
        times = [self.retries[0].ready_at] if self.retries else []
        chunk = self.current(now)
        if chunk is not None:
            times.append(float(chunk.due[chunk.pos]) + DEFAULT_LINGER_S if chunk.handed > chunk.pos
                         else float(chunk.due[chunk.handed]))
        return min(times) if times else None


class KinesisUser(User):
    """Pushes the records of every stream of the stack at their intended times (see the module docstring)."""

    fixed_count = 1
    wait_time = constant(0)
    """Pacing is the records' own: the user sleeps until the next is due in `push`."""

    def on_start(self) -> None:
        self.run: LocustRun = run_of(self.environment)
        run = self.run
        self.sending = {run.streams[name].key: _Sending(name, run.streams[name], run.recording.routes[name])
                        for name in run.streams}
        self.calls = Pool(DEFAULT_MAX_IN_FLIGHT)
        self.failures = None
        self.source = None
        self.rng = random.Random(run.ctx.profile.seed)
        url, region = service_endpoint(run.ctx.target, "kinesis")
        self.signer = PostSigner(url, region, "kinesis", run.credentials,
                                 {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET})
        self.http = HTTPClient.from_url(url, concurrency=DEFAULT_MAX_IN_FLIGHT, network_timeout=TIMEOUT_S,
                                        connection_timeout=TIMEOUT_S)
        self.slices = math.ceil(run.plan.total_s / SLICE_S - 1e-9)
        self.next_slice = 0
        self.source = _spares.pop(id(self.environment), None) or PipedGeneration()
        self.source.start(Setup(run.ctx.profile.config(), run.plan, run.options.rate_scale,
                                {s.stream.key: s.stream.shard_count for s in self.sending.values()}, LIMITS, SLICE_S))

    def on_stop(self) -> None:
        """As the Kinesis driver's stop: the records already due are flushed and the calls awaited, for up to
        STOP_DRAIN_S (Locust waits for this); what is unfinished then stays in flight. The generation process
        ends."""
        if getattr(self, "calls", None) is not None:
            self.drain(clock() + STOP_DRAIN_S)
            self.calls.kill()
        if getattr(self, "source", None) is not None:
            self.source.close()
        if getattr(self, "http", None) is not None:
            self.http.close()
        if getattr(self, "failures", None) is not None:
            self.failures.close()

    def drain(self, deadline: float) -> None:
        while clock() < deadline:
            now = clock() - self.run.began
            for s in self.sending.values():
                while self.calls.free_count() and (self.send_retries(s, now) or self.send_handed(s, now, True)):
                    pass
            if not self.calls and not any(s.retries for s in self.sending.values()):
                return
            if self.calls.free_count():
                gevent.sleep(TICK_S)
            else:
                self.calls.wait_available(timeout=TICK_S)

    @task
    def push(self) -> None:
        """One look: the next slice of records once it is one slice ahead, else the calls that are ready, else a
        sleep until something is due."""
        run = self.run
        now = clock() - run.began
        if self.next_slice < self.slices and now >= (self.next_slice - 1) * SLICE_S:
            for piece in self.source.slice(self.next_slice):
                self.enqueue(piece, clock() - run.began)
            self.next_slice += 1
            return
        for s in self.sending.values():
            while self.calls.free_count() and (self.send_retries(s, now) or self.send_handed(s, now)):
                pass
        if not self.calls.free_count():
            self.calls.wait_available(timeout=TICK_S)
            return
        wakes = [w for w in (s.wake(now) for s in self.sending.values()) if w is not None]
        if self.next_slice < self.slices:
            wakes.append((self.next_slice - 1) * SLICE_S)
        wake = min(wakes) if wakes else now + 1.0
        gevent.sleep(min(max(wake - (clock() - run.began), 0.0), TICK_S if wakes else 1.0))

    def enqueue(self, piece: Piece, now: float) -> None:
        s = self.sending[piece.stream]
        counts = s.counts
        counts.generated += piece.n + len(piece.too_large)
        counts.offered_bytes += int(piece.sizes.sum())
        for k, count in enumerate(piece.per_stage.tolist()):
            s.route.scheduled_per_stage[k] += count
        for key, due in piece.too_large:
            counts.fail(RECORD_TOO_LARGE)
            self.failed(s, key, due, RECORD_TOO_LARGE, 0, now)
        if piece.n:
            s.chunks.append(Chunk(piece))
            counts.queued += piece.n

    def send_retries(self, s: _Sending, now: float) -> bool:
        if not s.retries or s.retries[0].ready_at > now:
            return False
        ready = ready_retries(s.retries, now, LIMITS)
        self.launch(s, b",".join(r.entry for r in ready), Retries(ready), np.array([r.due for r in ready]),
                    np.array([r.size for r in ready], dtype=np.int64), [r.attempts + 1 for r in ready])
        return True

    def send_handed(self, s: _Sending, now: float, flushing: bool = False) -> bool:
        chunk = s.current(now)
        end = chunk.batch_end(now, LIMITS, DEFAULT_LINGER_S, flushing) if chunk is not None else None
        if end is None:
            return False
        a, chunk.pos = chunk.pos, end
        self.launch(s, chunk.joined(a, end), Span(chunk, a), chunk.due[a:end], chunk.sizes[a:end], None)
        return True

    def launch(self, s: _Sending, joined, records, due: np.ndarray, sizes: np.ndarray,
               attempts: list[int] | None) -> None:
        s.counts.queued -= len(due)
        s.counts.sending += len(due)
        self.calls.spawn(self.call, s, joined, records, due, sizes, attempts)

    def call(self, s: _Sending, joined, records, due: np.ndarray, sizes: np.ndarray,
             attempts: list[int] | None) -> None:
        """One PutRecords call, its answer settled for each record, reported to Locust and to the recorder."""
        run, n = self.run, len(due)
        payload = body(s.stream.name, joined)
        headers = self.signer.sign(payload)
        headers["Host"] = self.signer.host
        response, code, error, length = None, None, None, 0
        started = clock()
        try:
            answered = self.http.request("POST", self.signer.path, body=payload, headers=headers)
            data = answered.read()
            length = len(data)
            response = answer(answered.status_code, data, n)
        except PutRecordsError as exc:
            code, error = exc.code, exc
        except (OSError, ValueError, gevent.Timeout) as exc:
            code, error = type(exc).__name__, exc
        ended = clock()
        now = ended - run.began
        settled = settle(s.counts, response, code, sizes, attempts, DEFAULT_MAX_ATTEMPTS, self.rng)
        if error is None and settled.acknowledged is not None:
            error = PutRecordsError(f"{n - int(settled.acknowledged.sum())} of {n} records failed", 200)
        self.environment.events.request.fire(request_type=PUT_RECORDS, name=s.hot_path,
                                             response_time=(ended - started) * 1000.0, response_length=length,
                                             exception=error, context={})
        acked = due if settled.acknowledged is None else due[settled.acknowledged]
        if len(acked):
            s.route.recorder.record_many(acked, now - acked)
        for i, error_code, tries, delay in settled.retry:
            s.retries.append(Retry(now + delay, records.entry(i), records.key(i), float(due[i]), tries, int(sizes[i])))
            if is_throttle(error_code):
                s.route.recorder.throttled(now)
        for i, error_code, tries in settled.failed:
            self.failed(s, records.key(i), float(due[i]), error_code, tries, now)
        if settled.retry:
            s.retries.sort(key=lambda r: r.ready_at)

    def failed(self, s: _Sending, key: str, due: float, code: str, attempts: int, now: float) -> None:
        """A record that finally failed, counted already: its latency, and its line in the failures file."""
        s.route.recorder.record(due, max(now - due, 0.0), ok=False, cause=code)
        if self.failures is None:
            self.run.ctx.run_dir.mkdir(parents=True, exist_ok=True)
            self.failures = open(self.run.ctx.run_dir / FAILURES_FILE, "a")
        self.failures.write(failure_line(s.stream.key, s.stream.name, key, code, attempts, due))
