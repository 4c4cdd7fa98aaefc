"""`--target aws` finds a deployed env through its Terraform outputs, as a user has them: the API URL and Redis
endpoint from the outputs, the API key's value fetched from AWS by the output's key id and never reported;
a missing output is one line naming it and how to get it."""

from __future__ import annotations

import json

import boto3
import pytest

from loadgen.cli.common import build_context
from loadgen.errors import LoadgenError
from loadgen.target.local_target import start_moto

OUTPUTS = {"rest_api_invoke_url": "https://abc123.execute-api.us-east-1.amazonaws.com/v1",
           "redis_configuration_endpoint": "clustercfg.fd-dev.abc.use1.cache.amazonaws.com"}


@pytest.fixture
def aws(tmp_path, monkeypatch):
    """moto standing in for AWS (reached over HTTP exactly like AWS), with an API key in API Gateway."""
    moto = start_moto(tmp_path)
    for name in ("REDIS_URL", "LOADGEN_API_URL", "LOADGEN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    key = boto3.client("apigateway", endpoint_url=moto.url, region_name="us-east-1").create_api_key(
        name="tenant-app", value="k" * 40, enabled=True)
    yield key
    import os
    import signal
    os.killpg(moto.pid, signal.SIGTERM)


def outputs_file(tmp_path, **extra):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({k: {"value": v, "type": "string", "sensitive": False}
                                for k, v in {**OUTPUTS, **extra}.items()}))
    return path


def test_the_outputs_give_the_endpoints_and_aws_gives_the_key(aws, tmp_path):
    ctx = build_context("food_delivery", "dev", "aws", tmp_path, "validate", False, needs_api=True,
                        tf_outputs=outputs_file(tmp_path, rest_api_key_id=aws["id"]))
    assert ctx.target.api_url == OUTPUTS["rest_api_invoke_url"]
    assert ctx.target.redis_url == f"rediss://{OUTPUTS['redis_configuration_endpoint']}:6379"
    assert ctx.target.api_key == "k" * 40
    assert "k" * 40 not in json.dumps(ctx.target.describe()) and "k" * 40 not in repr(ctx.target)


def test_a_missing_output_is_one_line_naming_it(aws, tmp_path):
    with pytest.raises(LoadgenError, match=r"output 'rest_api_key_id' \(the API key's id\) is missing; .* "
                                           r"--tf-outputs outputs.json"):
        build_context("food_delivery", "dev", "aws", tmp_path, "validate", False, needs_api=True,
                      tf_outputs=outputs_file(tmp_path))


def test_outputs_that_are_not_terraform_json_are_one_line(tmp_path):
    bad = tmp_path / "outputs.json"
    bad.write_text('{"rest_api_invoke_url": "https://x"}')
    with pytest.raises(LoadgenError, match="not the JSON of `terraform output -json`"):
        build_context("food_delivery", "dev", "aws", tmp_path, "validate", False, needs_api=True, tf_outputs=bad)


def test_each_client_key_is_fetched_by_its_own_output_and_sent_on_its_own_route(aws, tmp_path, monkeypatch):
    # property_maintenance: tenants and vendors hold keys of their own ([outputs.api_keys] in its hot_paths.toml)
    vendor = boto3.client("apigateway", region_name="us-east-1").create_api_key(
        name="vendor-webhooks", value="v" * 40, enabled=True)
    path = tmp_path / "pm-outputs.json"
    path.write_text(json.dumps({k: {"value": v, "type": "string", "sensitive": False} for k, v in {
        "api_invoke_url": "https://pm123.execute-api.us-east-1.amazonaws.com/v1",
        "redis_primary_endpoint": "master.pm-dev.abc.use1.cache.amazonaws.com",
        "api_key_id": aws["id"], "vendor_api_key_id": vendor["id"]}.items()}))
    ctx = build_context("property_maintenance", "dev", "aws", tmp_path, "validate", False, needs_api=True,
                        tf_outputs=path)
    target = ctx.target
    assert target.api_key_for("property_maintenance", "dev", "aws_api_gateway_api_key.tenant_app") == "k" * 40
    assert target.api_key_for("property_maintenance", "dev", "aws_api_gateway_api_key.vendor_webhooks") == "v" * 40
    for secret in ("k" * 40, "v" * 40):
        assert secret not in json.dumps(target.describe()) and secret not in repr(target)
    # one key given by hand is sent on every route
    monkeypatch.setenv("LOADGEN_API_KEY", "h" * 40)
    by_hand = build_context("property_maintenance", "dev", "aws", tmp_path, "validate", False, needs_api=True,
                            tf_outputs=path).target
    assert by_hand.api_key_for("property_maintenance", "dev", "aws_api_gateway_api_key.vendor_webhooks") == "h" * 40
