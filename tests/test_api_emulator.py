"""The local API Gateway emulator behaves as API Gateway would for the stacks' own Terraform: API keys and the
usage plans they belong to, request validation against the declared model, token-bucket throttling with the
env's rate and burst (per plan and key), and the real handler behind the route writing to the local Kinesis
stand-in. Plus the routes and plans read from Terraform."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import boto3
import pytest

from loadgen.tf.api_routes import Throttle, rest_api
from loadgen.target.local_target import LocalTarget
from loadgen.run_context import LOCAL_CREDENTIALS, LOCAL_REGION, local_api_key
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.hcl_reader import load_stack

REPO = Path(__file__).resolve().parents[1]
TERRAFORM = REPO / "terraform"


def routes(stack: str, env: str):
    return rest_api(ResolvedStack(load_stack(TERRAFORM, stack), env))


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    target = LocalTarget(tmp_path_factory.mktemp("local-target"))
    target.up()
    try:
        api_url, key_secret = target.api_endpoint()
        yield {"api_url": api_url, "key_secret": key_secret, "moto": target.status()["aws_endpoint_url"],
               "state_dir": target.state_dir}
    finally:
        target.down()


def key(local, stack: str, env: str, name: str) -> str:
    """The local x-api-key value of aws_api_gateway_api_key.<name> of the stack and env."""
    return local_api_key(local["key_secret"], stack, env, f"aws_api_gateway_api_key.{name}")


def a_valid_order() -> bytes:
    from loadgen.profiles import load_profile

    config = load_profile("food_delivery", "dev").config()
    t = config.peak_time_s
    return config.build().generate(t, t + 5)["POST /orders"].data[0]


async def _post(url: str, body: bytes, api_key: str | None = None) -> tuple[int, dict]:
    headers = {"content-type": "application/json", **({"x-api-key": api_key} if api_key else {})}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as response:
            return response.status, json.loads(await response.read() or b"{}")


def post(url: str, body: bytes, api_key: str | None = None) -> tuple[int, dict]:
    return asyncio.run(_post(url, body, api_key))


# --- routes read from Terraform ------------------------------------------------------------------------------


def test_food_delivery_orders_route_needs_a_key_and_validates_against_order_request_json():
    api = routes("food_delivery", "dev")
    orders = api.by_key("POST /orders")
    assert api.stage == "v1"
    assert orders.api_key_required and orders.validate_body
    assert orders.request_schema == json.loads((TERRAFORM / "food_delivery/schemas/order_request.json").read_text())
    assert orders.function.handler == "order_validator.handler"
    assert orders.function.source == TERRAFORM / "food_delivery/lambda/order_validator.py"
    assert orders.function.package["order_request.json"] == \
        (TERRAFORM / "food_delivery/schemas/order_request.json").read_text()
    assert orders.function.environment["ORDERS_STREAM"] == "food-delivery-dev-orders"
    assert api.client_key(orders) == "aws_api_gateway_api_key.orders_client"
    # dev.tfvars throttle_rate/burst_limit, on the stage and on the client's plan
    assert {(t.rate, t.burst) for t in api.throttles(orders, api.client_key(orders))} == {(10.0, 20)}


def test_property_maintenance_has_request_and_vendor_status_routes_with_their_own_throttles():
    api = routes("property_maintenance", "prod")
    request, status = api.by_key("POST /request"), api.by_key("POST /vendor/status")
    assert request.function.handler == "request_validator.handler" and request.model == "MaintenanceRequest"
    assert status.function.handler == "vendor_status.handler" and status.model == "VendorStatusUpdate"
    prod = ResolvedStack(load_stack(TERRAFORM, "property_maintenance"), "prod").variables
    assert {(t.rate, t.burst) for t in api.throttles(request, api.client_key(request))} == {
        (float(prod["api_request_throttle_rate_limit"]), prod["api_request_throttle_burst_limit"])}
    assert "DB_PROXY_ENDPOINT" in status.function.unresolved  # Aurora exists only after apply


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_property_maintenance_tenants_and_vendors_each_have_a_plan_that_closes_the_others_route(env):
    api = routes("property_maintenance", env)
    variables = ResolvedStack(load_stack(TERRAFORM, "property_maintenance"), env).variables
    tenant, vendor = "aws_api_gateway_api_key.tenant_app", "aws_api_gateway_api_key.vendor_webhooks"
    request, status = api.by_key("POST /request"), api.by_key("POST /vendor/status")
    assert (api.client_key(request), api.client_key(status)) == (tenant, vendor)
    assert api.plan_of(tenant) != api.plan_of(vendor)
    # each key's own route: the stage's method throttle and its plan's, both read from the env's tfvars
    for route, key, name in ((request, tenant, "api_request_throttle"), (status, vendor, "api_vendor_status_throttle")):
        limits = (float(variables[f"{name}_rate_limit"]), variables[f"{name}_burst_limit"])
        throttles = api.throttles(route, key)
        assert [t.key.startswith("usage plan") for t in throttles] == [False, True]
        assert {(t.rate, t.burst) for t in throttles} == {limits}
    # the other client's route: the plan's zero method throttle, a bucket that never holds a token
    for route, key in ((request, vendor), (status, tenant)):
        assert not api.plan_of(key).admits(route)
        assert (api.throttles(route, key)[-1].rate, api.throttles(route, key)[-1].burst) == (0.0, 0)


# --- over HTTP -----------------------------------------------------------------------------------------------


def url(local, stack: str, env: str, path: str) -> str:
    return f"{local['api_url']}/{stack}/{env}/v1{path}"


def test_no_key_or_a_wrong_key_is_403_forbidden(local):
    orders = url(local, "food_delivery", "dev", "/orders")
    assert post(orders, a_valid_order()) == (403, {"message": "Forbidden"})
    assert post(orders, a_valid_order(), "not-the-key") == (403, {"message": "Forbidden"})
    # a key of another stack, or of the same key in another env, is on no plan of this stage
    assert post(orders, a_valid_order(), key(local, "task_api", "dev", "client")) == (403, {"message": "Forbidden"})
    assert post(orders, a_valid_order(), key(local, "food_delivery", "prod", "orders_client")) == \
        (403, {"message": "Forbidden"})
    assert post(url(local, "food_delivery", "dev", "/nowhere"), b"{}", key(local, "food_delivery", "dev",
                                                                            "orders_client"))[0] == 403


def test_each_key_is_taken_on_its_own_route_and_refused_on_the_other_clients(local):
    request, status = (url(local, "property_maintenance", "dev", path) for path in ("/request", "/vendor/status"))
    tenant, vendor = (key(local, "property_maintenance", "dev", name) for name in ("tenant_app", "vendor_webhooks"))
    assert tenant != vendor
    # its own route: past the key check and the throttles, an empty body fails validation
    assert post(request, b"{}", tenant)[0] == 400
    assert post(status, b"{}", vendor)[0] == 400
    # the other client's route: that key's plan closes it with a zero method throttle, as API Gateway does
    assert post(request, b"{}", vendor) == (429, {"message": "Too Many Requests"})
    assert post(status, b"{}", tenant) == (429, {"message": "Too Many Requests"})


def test_the_secret_lives_only_in_the_state_file(local):
    state = local["state_dir"] / "local-target.json"
    assert json.loads(state.read_text())["api_key_secret"] == local["key_secret"]
    assert state.stat().st_mode & 0o077 == 0
    for secret in (local["key_secret"], key(local, "food_delivery", "dev", "orders_client")):
        assert secret not in (local["state_dir"] / "api.log").read_text()
        assert secret not in json.dumps(LocalTarget(local["state_dir"]).status())


def test_an_invalid_body_is_400_with_the_validators_message(local):
    order = json.loads(a_valid_order())
    del order["customer_id"]
    status, body = post(url(local, "food_delivery", "dev", "/orders"), json.dumps(order).encode(),
                        key(local, "food_delivery", "dev", "orders_client"))
    assert status == 400
    assert body["message"] == "Invalid request body"
    assert "'customer_id' is a required property" in body["validationErrorString"]


def test_a_valid_order_is_202_and_lands_in_the_local_orders_stream(local):
    status, body = post(url(local, "food_delivery", "dev", "/orders"), a_valid_order(),
                        key(local, "food_delivery", "dev", "orders_client"))
    assert status == 202, body
    kinesis = boto3.client("kinesis", endpoint_url=local["moto"], region_name=LOCAL_REGION, **LOCAL_CREDENTIALS)
    stream = routes("food_delivery", "dev").by_key("POST /orders").function.environment["ORDERS_STREAM"]
    order_ids = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        order_ids += [json.loads(r["Data"])["order_id"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]]
    assert body["order_id"] in order_ids


# --- throttling: the 429s match the token-bucket model of the env's rate and burst ----------------------------


def expected_throttled(send_times: list[float], throttles: tuple[Throttle, ...]) -> int:
    """Token buckets (one per throttle of the request, full at the first request) replayed over the send times."""
    buckets = [[float(t.burst), t.rate, t.burst] for t in throttles]
    last, throttled = None, 0
    for now in sorted(send_times):
        for bucket in buckets:
            if last is not None:
                bucket[0] = min(bucket[2], bucket[0] + (now - last) * bucket[1])
        last = now
        if all(b[0] >= 1 for b in buckets):
            for bucket in buckets:
                bucket[0] -= 1
        else:
            throttled += 1
    return throttled


async def _send_all(target: str, api_key: str, offsets: list[float]) -> tuple[list[float], list[int]]:
    """Requests due at the given offsets (all at once when they are all 0) on connections opened beforehand;
    returns when each request's headers went out, and the statuses."""
    sent: list[float] = []

    async def headers_sent(session, context, params) -> None:
        sent.append(time.perf_counter())

    tracing = aiohttp.TraceConfig()
    tracing.on_request_headers_sent.append(headers_sent)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), trace_configs=[tracing]) as session:
        async def one(due: float, api_key: str | None) -> int:
            delay = due - (time.perf_counter() - began)
            if delay > 0:
                await asyncio.sleep(delay)  # open-loop schedule: the request's intended time
            # an empty object fails validation: admitted requests answer 400 without running the handler
            headers = {"content-type": "application/json", **({"x-api-key": api_key} if api_key else {})}
            async with session.post(target, data=b"{}", headers=headers) as response:
                await response.read()
                return response.status

        began = time.perf_counter()
        # no key: 403s that take no token; they load the stack and open the connections the burst reuses
        assert set(await asyncio.gather(*(one(0.0, None) for _ in offsets))) == {403}
        sent.clear()
        began = time.perf_counter()
        statuses = await asyncio.gather(*(one(o, api_key) for o in offsets))
    return sent, list(statuses)


def check_against_model(local, stack: str, env: str, route_key: str, offsets: list[float]) -> None:
    api = routes(stack, env)
    route = api.by_key(route_key)
    client = api.client_key(route)
    value = local_api_key(local["key_secret"], stack, env, client)
    sent, statuses = asyncio.run(_send_all(url(local, stack, env, route.path), value, offsets))
    assert set(statuses) <= {400, 429}
    expected = expected_throttled(sent, api.throttles(route, client))
    assert expected > 0
    assert abs(statuses.count(429) - expected) <= 0.05 * expected, (statuses.count(429), expected)


def test_a_burst_beyond_the_bucket_is_429_as_the_token_bucket_model_says(local):
    # property_maintenance staging POST /request: 10/s, burst 40 (staging.tfvars); 200 requests at once
    check_against_model(local, "property_maintenance", "staging", "POST /request", [0.0] * 200)


def test_a_rate_above_the_limit_is_429_as_the_token_bucket_model_says(local):
    # property_maintenance dev POST /request: 5/s, burst 20 (dev.tfvars); 40/s for 2 s
    check_against_model(local, "property_maintenance", "dev", "POST /request", [i / 40 for i in range(80)])


def test_the_vendor_key_meets_the_vendors_plan_and_throttle(local):
    # property_maintenance dev POST /vendor/status with the vendor key: 6/s, burst 20 (dev.tfvars) on the stage and
    # on the vendors' plan; 100 requests at once. A slow rate, so that how long the burst takes to arrive (the
    # model replays the client's send times, the emulator sees its own arrival times) moves few tokens.
    check_against_model(local, "property_maintenance", "dev", "POST /vendor/status", [0.0] * 100)
