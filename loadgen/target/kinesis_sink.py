"""A local Kinesis stand-in that answers PutRecords instantly: the push-ceiling bench's sink and the pusher's
fault injector.

Where it sits: beside the local target (loadgen.target.local_target) for what moto cannot do. moto's Kinesis stores
every record and accepts ~12k records/s, which hides how fast the pusher itself is, and it never throttles, which
hides the pusher's retry path. This sink speaks just enough of the Kinesis JSON protocol 1.1
(`X-Amz-Target: Kinesis_20131202.<Operation>`) for aiobotocore: PutRecords, plus CreateStream,
DescribeStreamSummary and ListShards so a client that asks about a stream gets a sane answer.

Two modes, chosen by `SinkFaults`:
- instant (no faults): the request is not parsed; the records are counted with one `bytes.count` and the answer
  is a canned success of the same length, cached per record count. This costs the sink far less than the client
  spends building the request, so a bench against it measures the client.
- faulty: the request is parsed; the k-th record the sink sees (across all calls, in arrival order) fails with
  `ProvisionedThroughputExceededException` when floor((k + 1) x fraction) > floor(k x fraction), so exactly
  `fraction` of the records seen fail, deterministically, and a retried record lands on a new k (it may fail again,
  as on AWS). Records whose partition key is in `permanent_keys` always fail (with `permanent_code`). Accepted
  records are tallied per stream: a count and an order-independent checksum of (partition key, data), so a test
  can prove that what the sink accepted is exactly what the pusher reports as acknowledged.

Runs in-process (`async with KinesisSink(...)`) or as its own process (`python -m loadgen.target.kinesis_sink`, or
`start_sink_process`), so that a bench does not share its measured core with the sink.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from aiohttp import web

TARGET_PREFIX = "Kinesis_20131202."
CONTENT_TYPE = "application/x-amz-json-1.1"
THROTTLED = "ProvisionedThroughputExceededException"
CHECKSUM_MOD = 1 << 64


def record_checksum(partition_key: str, data: bytes) -> int:
    """One record's contribution to an order-independent checksum (sum of these modulo 2^64)."""
    digest = hashlib.blake2b(partition_key.encode() + b"\0" + data, digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass(frozen=True)
class SinkFaults:
    """What the sink does wrong, deterministically."""

    fail_fraction: float = 0.0
    """Share of the records seen that fail with ProvisionedThroughputExceededException (retryable)."""
    permanent_keys: frozenset[str] = frozenset()
    """Partition keys whose records fail on every attempt."""
    permanent_code: str = "InternalFailure"

    @property
    def any(self) -> bool:
        return self.fail_fraction > 0 or bool(self.permanent_keys)


@dataclass
class StreamTally:
    """What the sink accepted for one stream (faulty mode only; the instant mode counts records, not content)."""

    accepted: int = 0
    checksum: int = 0
    failed: int = 0


@dataclass
class SinkStats:
    calls: int = 0
    records_seen: int = 0
    records_failed: int = 0
    streams: dict[str, StreamTally] = field(default_factory=dict)


def _success_body(count: int) -> bytes:
    entry = '{"SequenceNumber":"49650000000000000000000000000000000000000000000000000001","ShardId":"shardId-000000000000"}'
    return ('{"FailedRecordCount":0,"Records":[' + ",".join([entry] * count) + '],"EncryptionType":"NONE"}').encode()


class KinesisSink:
    """The sink's HTTP server on loopback; `url` is its endpoint once started."""

    def __init__(self, faults: SinkFaults = SinkFaults(), host: str = "127.0.0.1", port: int = 0,
                 shards: int = 1):
        self.faults = faults
        self.host, self.port = host, port
        self.shards = shards
        self.stats = SinkStats()
        self._canned: dict[int, bytes] = {}
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> "KinesisSink":
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the port bound when 0 was asked for
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "KinesisSink":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _reply(self, body: bytes, status: int = 200) -> web.Response:
        return web.Response(body=body, status=status, content_type=CONTENT_TYPE.split(";")[0])

    def _error(self, code: str, message: str, status: int = 400) -> web.Response:
        return self._reply(json.dumps({"__type": code, "message": message}).encode(), status)

    async def _handle(self, request: web.Request) -> web.Response:
        operation = request.headers.get("X-Amz-Target", "").removeprefix(TARGET_PREFIX)
        body = await request.read()
        if operation == "PutRecords":
            self.stats.calls += 1
            if not self.faults.any:
                count = body.count(b'"PartitionKey"')
                self.stats.records_seen += count
                canned = self._canned.get(count)
                if canned is None:
                    canned = self._canned[count] = _success_body(count)
                return self._reply(canned)
            return self._reply(self._put_records_with_faults(json.loads(body)))
        payload = json.loads(body or b"{}")
        name = payload.get("StreamName") or str(payload.get("StreamARN", "stream")).rsplit("/", 1)[-1]
        if operation == "CreateStream":
            return self._reply(b"{}")
        if operation == "DescribeStreamSummary":
            return self._reply(json.dumps({"StreamDescriptionSummary": {
                "StreamName": name, "StreamARN": f"arn:aws:kinesis:us-east-1:000000000000:stream/{name}",
                "StreamStatus": "ACTIVE", "StreamModeDetails": {"StreamMode": "PROVISIONED"},
                "RetentionPeriodHours": 24, "StreamCreationTimestamp": time.time(), "EnhancedMonitoring": [],
                "EncryptionType": "NONE", "OpenShardCount": self.shards}}).encode())
        if operation == "ListShards":
            step = (1 << 128) // self.shards
            shards = [{"ShardId": f"shardId-{i:012d}",
                       "HashKeyRange": {"StartingHashKey": str(i * step),
                                        "EndingHashKey": str((1 << 128) - 1 if i == self.shards - 1
                                                             else (i + 1) * step - 1)},
                       "SequenceNumberRange": {"StartingSequenceNumber": "0"}} for i in range(self.shards)]
            return self._reply(json.dumps({"Shards": shards}).encode())
        return self._error("UnknownOperationException", f"the sink does not implement {operation or 'this call'}")

    def _put_records_with_faults(self, payload: dict) -> bytes:
        stream = payload.get("StreamName") or str(payload.get("StreamARN", "")).rsplit("/", 1)[-1]
        tally = self.stats.streams.setdefault(stream, StreamTally())
        fraction, permanent = self.faults.fail_fraction, self.faults.permanent_keys
        entries, failed = [], 0
        for record in payload.get("Records", []):
            k = self.stats.records_seen
            self.stats.records_seen += 1
            key = record["PartitionKey"]
            if key in permanent:
                code = self.faults.permanent_code
            elif int((k + 1) * fraction) > int(k * fraction):
                code = THROTTLED
            else:
                code = None
            if code:
                failed += 1
                entries.append({"ErrorCode": code, "ErrorMessage": f"injected by the sink for stream {stream}"})
                continue
            tally.accepted += 1
            tally.checksum = (tally.checksum + record_checksum(key, base64.b64decode(record["Data"]))) % CHECKSUM_MOD
            entries.append({"SequenceNumber": f"{k:056d}", "ShardId": "shardId-000000000000"})
        tally.failed += failed
        self.stats.records_failed += failed
        return json.dumps({"FailedRecordCount": failed, "Records": entries}).encode()


def start_sink_process(faults: SinkFaults = SinkFaults(), cpu: int | None = None,
                       timeout_s: float = 20.0) -> tuple[str, subprocess.Popen]:
    """The sink in its own process (optionally pinned to one CPU); returns (url, process). Stop it with
    `loadgen.target.children.stop_child(process)`."""
    args = [sys.executable, "-m", "loadgen.target.kinesis_sink", "--fail-fraction", str(faults.fail_fraction)]
    for key in sorted(faults.permanent_keys):
        args += ["--permanent-key", key]
    if cpu is not None:
        args += ["--cpu", str(cpu)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + timeout_s
    line = ""
    while time.monotonic() < deadline and not line:
        line = process.stdout.readline().strip()
        if process.poll() is not None:
            break
    if not line.startswith("http://"):
        process.kill()
        raise RuntimeError(f"the Kinesis sink did not start (said {line!r})")
    return line, process


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local Kinesis PutRecords sink (instant or fault-injecting).")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail-fraction", type=float, default=0.0)
    parser.add_argument("--permanent-key", action="append", default=[])
    parser.add_argument("--cpu", type=int, default=None, help="pin the sink to this CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})

    async def serve() -> None:
        sink = await KinesisSink(SinkFaults(args.fail_fraction, frozenset(args.permanent_key)), port=args.port).start()
        print(sink.url, flush=True)
        await asyncio.Event().wait()

    import uvloop

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
