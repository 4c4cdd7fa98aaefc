"""PutRecords without botocore's per-record work: the Kinesis driver's one hot call, built and signed directly.

Where it sits: under drive.kinesis_pusher, which batches, retries and accounts (with drive.put_records_batches,
which also says what a call's body is and what its answer means); this module only turns one batch into one
asyncio HTTP call. Measured reason (README, "Measuring honestly"): with aiobotocore, serializing each record
(shape walk, base64) and parsing each result entry took about a third of the core at fleet_telematics' prod peak
under cProfile (`loadgen bench harness`), so one core could not push 42.9k records/s. Here each record's entry
(base64 data, binascii in C, and partition key) is made when the record is generated, off the event loop; a call
joins its entries, signs the body with drive.sigv4 (botocore's credentials chain and signature, without its
per-request machinery), posts over drive.http_client's keep-alive pool (aiohttp's per-request machinery took
1-4 ms of the loop per 500-record call here, traced at fleet_telematics' prod peak: each one a late start for the
records due meanwhile), and reads the answer without parsing it when every entry has a sequence number.
Everything else (creating streams, the bare baseline of `bench push-ceiling`) stays on aiobotocore.
"""

from __future__ import annotations

from typing import Any

from loadgen.drive.http_client import HttpPool
from loadgen.drive.put_records_batches import CONTENT_TYPE, TARGET, answer, body
from loadgen.drive.sigv4 import PostSigner, credentials_for, service_endpoint
from loadgen.run_context import Target

TIMEOUT_S = 30.0


class PutRecordsClient:
    """One endpoint, one credentials chain, one keep-alive pool (at most `connections` at once)."""

    def __init__(self, target: Target, connections: int):
        self.url, self.region = service_endpoint(target, "kinesis")
        self._credentials: Any = credentials_for(target)
        fixed = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET}
        self.signer = PostSigner(self.url, self.region, "kinesis", self._credentials, fixed)
        self.pool = HttpPool(self.url, connections, fixed, TIMEOUT_S)
        self.path = self.signer.path

    async def close(self) -> None:
        await self.pool.close()

    async def put_records(self, stream: str, joined: bytes | memoryview, count: int) -> dict:
        """Kinesis' answer ({FailedRecordCount, Records: [{SequenceNumber, ShardId} | {ErrorCode, ...}]}), or
        PutRecordsError for a call-level error (put_records_batches.answer); connection problems raise OSError
        (http_client.HttpError is one) or TimeoutError.
        `joined` is `count` entries joined by commas (a slice of a generated piece: no per-record join here)."""
        payload = body(stream, joined)
        signed = self.signer.sign(payload)
        varying = "".join(f"{name}: {signed[name]}\r\n" for name in signed if name not in self.signer.headers)
        status, answered = await self.pool.request("POST", self.path, payload, varying)
        return answer(status, answered, count)
