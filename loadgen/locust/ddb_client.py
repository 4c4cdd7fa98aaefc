"""A gevent-friendly DynamoDB client for the Locust conditional-write user: JSON-protocol POSTs over geventhttpclient,
signed with drive.sigv4.

Where it sits: drive.contended_writes decides every call (its operation name and request: the low-level dicts
botocore would send, which are DynamoDB's JSON-protocol bodies) and what an answer or error means; this module only
posts them (header `X-Amz-Target: DynamoDB_20120810.<Operation>`, `Content-Type: application/x-amz-json-1.0`) and
turns an error answer into a DynamoDBError carrying botocore's `response["Error"]["Code"]` shape, so that
contended_writes.error_code reads it as it reads botocore's ClientError (an HTTP 400 whose `__type` ends in
`#ConditionalCheckFailedException` is a conditional failure). No retries: a write is never sent twice behind
the accounting's back (as the asyncio driver's `total_max_attempts: 1`). Nothing here imports an AWS client.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from geventhttpclient import HTTPClient

from loadgen.drive.sigv4 import PostSigner, service_endpoint

CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIX = "DynamoDB_20120810."
TIMEOUT_S = 30.0


class DynamoDBError(Exception):
    """DynamoDB answered with an error (`response` shaped as botocore's ClientError.response)."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(f"{code}: {message}" if message else code)
        self.response = {"Error": {"Code": code, "Message": message},
                         "ResponseMetadata": {"HTTPStatusCode": status}}


def _bytes_as_base64(value: Any) -> str:
    if isinstance(value, bytes):  # a B attribute value
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def error_of(status: int, data: bytes) -> DynamoDBError:
    """The error an answer other than 200 carries (its `__type`'s last part is the code)."""
    try:
        answer = json.loads(data) if data else {}
    except ValueError:
        answer = {}
    kind = str(answer.get("__type", "")) if isinstance(answer, dict) else ""
    message = str(answer.get("message", answer.get("Message", ""))) if isinstance(answer, dict) else ""
    return DynamoDBError(kind.rsplit("#", 1)[-1] or f"HTTP {status}", message, status)


class DynamoClient:
    """DynamoDB calls over one keep-alive connection pool (`concurrency` connections)."""

    def __init__(self, target: Any, credentials: Any, concurrency: int = 16):
        url, region = service_endpoint(target, "dynamodb")
        self.signer = PostSigner(url, region, "dynamodb", credentials, {"Content-Type": CONTENT_TYPE})
        self.http = HTTPClient.from_url(url, concurrency=concurrency, network_timeout=TIMEOUT_S,
                                        connection_timeout=TIMEOUT_S)

    def call(self, operation: str, request: dict) -> dict:
        """One call: its answer (a dict), or DynamoDBError; a network error or timeout is raised as it comes."""
        body = json.dumps(request, default=_bytes_as_base64, separators=(",", ":")).encode()
        headers = self.signer.sign(body, headers={"X-Amz-Target": TARGET_PREFIX + operation})
        headers["Host"] = self.signer.host
        response = self.http.request("POST", self.signer.path, body=body, headers=headers)
        data = response.read()
        if response.status_code != 200:
            raise error_of(response.status_code, data)
        return json.loads(data) if data else {}

    def close(self) -> None:
        self.http.close()
