"""The Kinesis driver's hot call: its SigV4 signature equals botocore's, its body is the PutRecords JSON."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from loadgen.drive import put_records_batches as batches
from loadgen.drive.put_records_batches import CONTENT_TYPE, TARGET
from loadgen.drive.sigv4 import PostSigner

NOW = datetime(2026, 12, 1, 18, 30, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize("url", ["https://kinesis.eu-west-1.amazonaws.com/", "http://127.0.0.1:4566/"])
@pytest.mark.parametrize("token", [None, "session-token-value"])
def test_the_signature_is_the_one_botocore_computes(monkeypatch, url, token):
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    entries = batches.entries([b'{"a": 1}', b"\x00\xff"], ["VH0000001", "k"])
    body = batches.body("gps", b",".join(entries))
    headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET}

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: NOW.replace(tzinfo=None))
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    botocore.auth.SigV4Auth(credentials, "kinesis", "eu-west-1").add_auth(request)

    ours = PostSigner(url, "eu-west-1", "kinesis", credentials, headers).sign(body, NOW)
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["X-Amz-Date"] == request.headers["X-Amz-Date"]
    assert ours.get("X-Amz-Security-Token") == request.headers.get("X-Amz-Security-Token")
    # a different body is a different signature
    assert PostSigner(url, "eu-west-1", "kinesis", credentials, headers).sign(body + b" ", NOW)["Authorization"] \
        != ours["Authorization"]


def test_the_body_is_the_put_records_json():
    data, keys = [b"hello", b'{"x":"\\u00e9"}'], ["VH0000001", 'odd "key" \u00e9']
    parsed = json.loads(batches.body('s"1', b",".join(batches.entries(data, keys))))
    assert parsed["StreamName"] == 's"1'
    assert [base64.b64decode(r["Data"]) for r in parsed["Records"]] == data
    assert [r["PartitionKey"] for r in parsed["Records"]] == keys
