"""PutRecords without botocore's per-record work: the Kinesis driver's one hot call, built and signed directly.

Where it sits: under drive.kinesis_pusher, which batches, retries and accounts; this module only turns one batch
into one HTTP call. Measured reason (README, "Measuring honestly"): with aiobotocore, serializing each record
(shape walk, base64) and parsing each result entry took about a third of the core at fleet_telematics' prod peak
under cProfile (`loadgen bench harness`), so one core could not push 42.9k records/s. Here the JSON body is joined
from the records' base64 (binascii, C) and partition keys, signed once per call with botocore's own SigV4 signer
(same credentials chain, same endpoint rules), posted with aiohttp, and the answer parsed once with `json`.
Everything else (creating streams, the bare baseline of `bench push-ceiling`) stays on aiobotocore.
"""

from __future__ import annotations

import binascii
import json
from typing import Any

import aiohttp
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from loadgen.errors import LoadgenError
from loadgen.run_context import LOCAL_CREDENTIALS, Target

TARGET = "Kinesis_20131202.PutRecords"
CONTENT_TYPE = "application/x-amz-json-1.1"
TIMEOUT_S = 30.0


class PutRecordsError(Exception):
    """A call Kinesis answered with an error as a whole (its `code` is the error type, e.g. ResourceNotFound)."""

    def __init__(self, code: str, status: int):
        super().__init__(f"{code} (HTTP {status})")
        self.code, self.status = code, status


class PutRecordsClient:
    """One endpoint, one credentials chain, one aiohttp session (keep-alive, at most `connections` at once)."""

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
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=60),
                                             timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))

    async def close(self) -> None:
        await self.session.close()

    @staticmethod
    def body(stream: str, data: list[bytes], keys: list[str]) -> bytes:
        """The PutRecords JSON for these records (Data base64, PartitionKey as a JSON string)."""
        b64 = binascii.b2a_base64
        ascii_keys = "".join(keys).isascii() and '"' not in "".join(keys) and "\\" not in "".join(keys)
        quoted = ([f'"{k}"'.encode() for k in keys] if ascii_keys else [json.dumps(k).encode() for k in keys])
        records = b",".join(b'{"Data":"' + b64(d, newline=False) + b'","PartitionKey":' + k + b"}"
                            for d, k in zip(data, quoted))
        return b'{"StreamName":' + json.dumps(stream).encode() + b',"Records":[' + records + b"]}"

    def _signed_headers(self, body: bytes) -> dict[str, str]:
        request = AWSRequest(method="POST", url=self.url, data=body,
                             headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET})
        credentials = self._credentials.get_frozen_credentials() if hasattr(
            self._credentials, "get_frozen_credentials") else self._credentials
        SigV4Auth(credentials, "kinesis", self.region).add_auth(request)
        return dict(request.headers.items())

    async def put_records(self, stream: str, data: list[bytes], keys: list[str]) -> dict:
        """Kinesis' answer ({FailedRecordCount, Records: [{SequenceNumber, ShardId} | {ErrorCode, ...}]}), or
        PutRecordsError for a call-level error; connection problems raise aiohttp's or the OS's errors."""
        body = self.body(stream, data, keys)
        async with self.session.post(self.url, data=body, headers=self._signed_headers(body)) as response:
            payload = await response.read()
            status = response.status
        if status == 200:
            return json.loads(payload)
        try:
            code = str(json.loads(payload).get("__type", "")).rsplit("#", 1)[-1]
        except (ValueError, AttributeError):
            code = ""
        raise PutRecordsError(code or ("InternalFailure" if status >= 500 else f"HTTP{status}"), status)
