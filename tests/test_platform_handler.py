"""terraform/platform's event processor against moto: each event is recorded once, retries are duplicates,
invalid events are reported and not stored."""

from __future__ import annotations

import importlib.util

import boto3
import pytest
from moto import mock_aws

from conftest import TERRAFORM

HANDLER = TERRAFORM / "platform" / "modules" / "compute" / "lambda" / "event_processor.py"


@pytest.fixture
def processor(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("EVENTS_TABLE", "events")
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="events", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}])
        spec = importlib.util.spec_from_file_location("platform_event_processor", HANDLER)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module


def event(event_id, **changes):
    return {"event_id": event_id, "account_id": "acc-1", "type": "credit", "amount": "12.50",
            "occurred_at": "2026-12-01T10:00:00Z", **changes}


def test_events_are_recorded_once_and_retries_are_duplicates(processor):
    batch = {"events": [event("e1"), event("e2")]}
    assert processor.handler(batch, None) == {"recorded": 2, "duplicates": 0, "invalid": []}
    assert processor.handler(batch, None) == {"recorded": 0, "duplicates": 2, "invalid": []}
    stored = boto3.resource("dynamodb").Table("events").get_item(Key={"event_id": "e1"})["Item"]
    assert stored["amount"] == processor.Decimal("12.50") and stored["occurred_at"].startswith("2026-12-01T10:00")


def test_invalid_events_are_reported_not_stored(processor):
    result = processor.handler({"events": [event("e3", amount=-1), event("e4", type="refund"), {"event_id": "e5"}]},
                               None)
    assert result["recorded"] == 0
    assert [i["reason"] for i in result["invalid"]] == [
        "amount must be positive", "type must be one of credit, debit", "missing account_id"]
    assert boto3.client("dynamodb").scan(TableName="events")["Count"] == 0
