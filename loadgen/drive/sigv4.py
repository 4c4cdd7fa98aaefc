"""AWS Signature Version 4 for the hot JSON-protocol calls: the signature botocore's SigV4Auth computes, without
its per-request header machinery.

Where it sits: under drive.kinesis_client (asyncio) and loadgen.locust's KinesisUser (gevent), which post one
PutRecords body per call, and loadgen.locust.ddb_client (gevent: DynamoDB, its operation in the X-Amz-Target
header of each call). botocore's signer walks an
AWSRequest through HTTPHeaders, urllib and email-header policies on every call (~0.4 ms a call here), a share of
the core at hundreds of calls per second. This computes the same canonical request, string to sign and
signature (JSON-protocol POST to "/", no query string, the body's SHA-256) with the signing key cached per day;
tests/test_kinesis_client.py checks it against botocore's SigV4Auth for the same request and time.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from loadgen.errors import LoadgenError
from loadgen.run_context import LOCAL_CREDENTIALS

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class StaticCredentials:
    """The local target's fixed credentials, shaped as botocore's frozen credentials."""

    access_key: str
    secret_key: str
    token: str | None = None


def credentials_for(target: Any) -> Any:
    """The credentials a run_context.Target's calls are signed with: the local target's fixed ones, or botocore's
    credentials chain for AWS (imported here, when asked: a gevent process imports botocore only once patched)."""
    if target.kind == "local":
        return StaticCredentials(LOCAL_CREDENTIALS["aws_access_key_id"], LOCAL_CREDENTIALS["aws_secret_access_key"])
    import botocore.session

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise LoadgenError("no AWS credentials found for --target aws (environment, profile or instance role); "
                           "configure them as for the AWS CLI")
    return credentials


def service_endpoint(target: Any, service: str) -> tuple[str, str]:
    """The endpoint URL (ending in "/") and region of a run_context.Target's AWS `service` (e.g. "kinesis"): its
    local stand-in's URL, else the service's regional endpoint."""
    region = target.region or "us-east-1"
    return (target.aws_endpoint_url or f"https://{service}.{region}.amazonaws.com").rstrip("/") + "/", region


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class PostSigner:
    """Signs POSTs of one service's JSON protocol to one endpoint URL (path "/"), with credentials read from a
    botocore credentials object at each call (so refreshed credentials are picked up)."""

    def __init__(self, url: str, region: str, service: str, credentials: Any, headers: dict[str, str]):
        parts = urlsplit(url)
        default = DEFAULT_PORTS.get(parts.scheme)
        self.host = parts.hostname if parts.port in (None, default) else f"{parts.hostname}:{parts.port}"
        self.path = parts.path or "/"
        self.region, self.service, self.credentials = region, service, credentials
        self.headers = dict(headers)
        self._key: tuple[str, str, bytes] | None = None

    def _signing_key(self, secret: str, day: str) -> bytes:
        if self._key is None or self._key[:2] != (secret, day):
            key = _hmac(f"AWS4{secret}".encode(), day)
            for part in (self.region, self.service, "aws4_request"):
                key = _hmac(key, part)
            self._key = (secret, day, key)
        return self._key[2]

    def sign(self, body: bytes, now: datetime | None = None, headers: dict[str, str] | None = None) -> dict[str, str]:
        """The request's headers, Authorization included; `headers` are signed beside the signer's own (e.g. the
        call's X-Amz-Target)."""
        frozen = (self.credentials.get_frozen_credentials() if hasattr(self.credentials, "get_frozen_credentials")
                  else self.credentials)
        amz_date = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        headers = {**self.headers, **(headers or {}), "X-Amz-Date": amz_date}
        if frozen.token:
            headers["X-Amz-Security-Token"] = frozen.token
        signed = {name.lower(): " ".join(str(value).split()) for name, value in headers.items()}
        signed["host"] = self.host
        names = sorted(signed)
        signed_names = ";".join(names)
        canonical = "\n".join(["POST", self.path, "", *(f"{n}:{signed[n]}" for n in names), "", signed_names,
                               hashlib.sha256(body).hexdigest()])
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        signature = hmac.new(self._signing_key(frozen.secret_key, day), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={frozen.access_key}/{scope}, "
                                    f"SignedHeaders={signed_names}, Signature={signature}")
        return headers
