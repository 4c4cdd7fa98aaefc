"""PutRecords without botocore's per-record work: the Kinesis driver's one hot call, built and signed directly.

Where it sits: under drive.kinesis_pusher, which batches, retries and accounts; this module only turns one batch
into one HTTP call. Measured reason (README, "Measuring honestly"): with aiobotocore, serializing each record
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

import binascii
import json
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.credentials import Credentials

from loadgen.drive.http_client import HttpPool
from loadgen.drive.sigv4 import PostSigner
from loadgen.errors import LoadgenError
from loadgen.run_context import LOCAL_CREDENTIALS, Target

TARGET = "Kinesis_20131202.PutRecords"
CONTENT_TYPE = "application/x-amz-json-1.1"
TIMEOUT_S = 30.0
ALL_ACKNOWLEDGED = {"FailedRecordCount": 0}
MIB = 1024 * 1024


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


class PutRecordsClient:
    """One endpoint, one credentials chain, one keep-alive pool (at most `connections` at once)."""

    def __init__(self, target: Target, connections: int):
        self.region = target.region or "us-east-1"
        self.url = (target.aws_endpoint_url or f"https://kinesis.{self.region}.amazonaws.com").rstrip("/") + "/"
        if target.kind == "local":
            self._credentials: Any = Credentials(LOCAL_CREDENTIALS["aws_access_key_id"],
                                                 LOCAL_CREDENTIALS["aws_secret_access_key"])
        else:
            self._credentials = botocore.session.get_session().get_credentials()
            if self._credentials is None:
                raise LoadgenError("no AWS credentials found for --target aws (environment, profile or instance "
                                   "role); configure them as for the AWS CLI")
        fixed = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET}
        self.signer = PostSigner(self.url, self.region, "kinesis", self._credentials, fixed)
        self.pool = HttpPool(self.url, connections, fixed, TIMEOUT_S)
        self.path = self.signer.path

    async def close(self) -> None:
        await self.pool.close()

    @staticmethod
    def entries(data: list[bytes], keys: list[str]) -> list[bytes]:
        """Each record as its PutRecords entry (`{"Data": base64, "PartitionKey": JSON string}`): made when a
        record is generated, off the event loop, so a call only joins them."""
        b64 = binascii.b2a_base64
        joined = "".join(keys)
        ascii_keys = joined.isascii() and '"' not in joined and "\\" not in joined
        quoted = ([f'"{k}"'.encode() for k in keys] if ascii_keys else [json.dumps(k).encode() for k in keys])
        return [b'{"Data":"' + b64(d, newline=False) + b'","PartitionKey":' + k + b"}" for d, k in zip(data, quoted)]

    @staticmethod
    def body(stream: str, joined: bytes | memoryview) -> bytes:
        """The PutRecords JSON for these entries (`joined`: the entries joined by commas)."""
        return b"".join((b'{"StreamName":', json.dumps(stream).encode(), b',"Records":[', joined, b"]}"))

    async def put_records(self, stream: str, joined: bytes | memoryview, count: int) -> dict:
        """Kinesis' answer ({FailedRecordCount, Records: [{SequenceNumber, ShardId} | {ErrorCode, ...}]}), or
        PutRecordsError for a call-level error; connection problems raise OSError (http_client.HttpError is
        one) or TimeoutError. An answer
        with a sequence number for every entry and no error code is returned as ALL_ACKNOWLEDGED without
        parsing its entries (parsing them cost ~0.5 ms per 500-record call, a tenth of the core at 42.9k rec/s).
        `joined` is `count` entries joined by commas (a slice of a generated piece: no per-record join here)."""
        body = self.body(stream, joined)
        signed = self.signer.sign(body)
        varying = "".join(f"{name}: {signed[name]}\r\n" for name in signed if name not in self.signer.headers)
        status, payload = await self.pool.request("POST", self.path, body, varying)
        if status == 200:
            if b'"ErrorCode"' not in payload and payload.count(b'"SequenceNumber"') == count:
                return ALL_ACKNOWLEDGED
            return json.loads(payload)
        try:
            code = str(json.loads(payload).get("__type", "")).rsplit("#", 1)[-1]
        except (ValueError, AttributeError):
            code = ""
        raise PutRecordsError(code or ("InternalFailure" if status >= 500 else f"HTTP{status}"), status)
