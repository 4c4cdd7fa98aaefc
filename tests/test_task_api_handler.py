"""terraform/task_api's handler against moto: create, get and list tasks (signed page tokens), with the table,
index, bucket and secret the stack declares (names and environment read from the resolved stack)."""

from __future__ import annotations

import importlib.util
import json

import boto3
import pytest
from moto import mock_aws

from conftest import TERRAFORM
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.hcl_reader import load_stack


@pytest.fixture
def tasks(monkeypatch):
    """The handler module with its AWS world: the tasks table and status index as dev declares them."""
    resolved = ResolvedStack(load_stack(TERRAFORM, "task_api"), "dev")
    table = next(resolved.instances("aws_dynamodb_table"))
    index = table.blocks("global_secondary_index")[0]
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        ddb = boto3.client("dynamodb")
        ddb.create_table(
            TableName=table.attribute("name"), BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a["name"], "AttributeType": a["type"]} for a in table.blocks("attribute")],
            KeySchema=[{"AttributeName": table.attribute("hash_key"), "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": index["name"], "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": index["hash_key"], "KeyType": "HASH"},
                                                   {"AttributeName": index["range_key"], "KeyType": "RANGE"}]}],
        )
        boto3.client("s3").create_bucket(Bucket="task-logs",
                                          CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        secret = boto3.client("secretsmanager").create_secret(
            Name="api-keys", SecretString=json.dumps({"client_api_key": "k", "page_token_key": "sign-me"}))
        monkeypatch.setenv("TASKS_TABLE", table.attribute("name"))
        monkeypatch.setenv("STATUS_INDEX", index["name"])
        monkeypatch.setenv("LOG_BUCKET", "task-logs")
        monkeypatch.setenv("API_KEY_SECRET_ARN", secret["ARN"])
        spec = importlib.util.spec_from_file_location("task_api_tasks", TERRAFORM / "task_api" / "lambda" / "tasks.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module


def call(tasks, method, resource, body=None, path=None, query=None):
    event = {"httpMethod": method, "resource": resource, "body": json.dumps(body) if body is not None else None,
             "pathParameters": path, "queryStringParameters": query, "requestContext": {"requestId": "r-1"}}
    response = tasks.handler(event, None)
    return response["statusCode"], json.loads(response["body"])


def test_create_then_get_returns_the_stored_task_and_leaves_an_audit_record(tasks):
    status, created = call(tasks, "POST", "/tasks", {"title": "label batch 7", "priority": "high"})
    assert status == 201 and created["status"] == "open" and created["priority"] == "high"
    status, fetched = call(tasks, "GET", "/tasks/{id}", path={"id": created["id"]})
    assert (status, fetched) == (200, created)
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="task-logs")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("audit/date=") and keys[0].endswith(f"{created['id']}.json")


def test_bad_input_unknown_task_and_unknown_route_are_client_errors(tasks):
    assert call(tasks, "POST", "/tasks", {"title": ""})[0] == 400
    assert call(tasks, "POST", "/tasks", {"title": "x", "owner": "me"})[0] == 400
    assert call(tasks, "GET", "/tasks/{id}", path={"id": "nope"})[0] == 404
    assert call(tasks, "DELETE", "/tasks/{id}", path={"id": "nope"})[0] == 405
    assert call(tasks, "GET", "/tasks", query={"limit": "0"})[0] == 400


def test_list_pages_newest_first_with_signed_tokens(tasks):
    ids = [call(tasks, "POST", "/tasks", {"title": f"t{i}"})[1]["id"] for i in range(5)]
    seen, token = [], None
    while True:
        query = {"status": "open", "limit": "2", **({"next": token} if token else {})}
        status, page = call(tasks, "GET", "/tasks", query=query)
        assert status == 200 and len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        token = page.get("next")
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    created = [i["created_at"] for i in (call(tasks, "GET", "/tasks/{id}", path={"id": x})[1] for x in seen)]
    assert created == sorted(created, reverse=True)
    payload, _, signature = call(tasks, "GET", "/tasks", query={"limit": "2"})[1]["next"].partition(".")
    forged = f"{payload}.{'0' * len(signature)}"
    assert call(tasks, "GET", "/tasks", query={"limit": "2", "next": forged}) == (
        400, {"error": "next is not a token this API issued"})
