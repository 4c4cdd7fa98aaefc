"""The local API Gateway: the stacks' REST APIs served on loopback the way API Gateway would serve them.

Where it sits: the last service of the embedded local target (`loadgen local up` starts it after Redis, moto
and PostgreSQL; moto stores API Gateway definitions but does not serve invocations, enforce API keys or throttle). It
serves `POST {api_url}/{stack}/{env}/{stage}/{path...}` for any stack and env, each read from terraform/ by
loadgen.tf.api_routes when first asked for, and answers as API Gateway does, in its order:

1. unknown route or stage -> 403 {"message": "Missing Authentication Token"}; AWS_IAM routes (SigV4) likewise;
2. API key: on `api_key_required` routes `x-api-key` must be the value of an enabled aws_api_gateway_api_key of
   a usage plan attached to the stage -> else 403 {"message": "Forbidden"}. A plan is attached to a stage, not
   to routes: its keys pass this check on every key-required route of the stage. Each key of each stack and env
   has its own local value, derived from one secret generated at start and written only to the local target's
   state file (mode 0600; loadgen.run_context.local_api_key); no value is logged, and the handler sees the header
   redacted;
3. throttling: one token bucket per throttle the request is under (the stage's method settings for the route,
   else `*/*`, and on API-key routes the key's plan's throttle for the method, else its plan-wide one, a bucket
   per key as in API Gateway), with the env's rate and burst from tfvars, starting full -> 429 {"message": "Too
   Many Requests"}; a plan's method throttle of burst 0 refuses its keys on that route, always;
4. request validation against the JSON schema the Terraform declares as the route's model (draft-04, jsonschema)
   -> 400 {"message": "Invalid request body", "validationErrorString": "[...]"} with the validator's messages;
5. the integration: for AWS_PROXY the real handler from terraform/<stack>/lambda/, invoked with an API Gateway
   proxy event in a worker process of its own function (os.environ is per function and handlers read it at
   import): the worker imports from a folder laid out like the function's archive_file zip (so
   `Path(__file__).with_name("order_request.json")` finds the schema the archive packs), with the repository root
   on sys.path for `loadgen.matching`, and the function's Terraform environment: table and stream names as the
   env resolves them, AWS_ENDPOINT_URL = the local moto. Values that exist only after apply get local stand-ins:
   SNS topics, SQS queues and S3 buckets are created on moto under their Terraform names and their ARN/URL used,
   Kinesis/DynamoDB ARNs read back from moto, ElastiCache endpoints become the local Redis host. The stack's
   tables and streams are created on moto from Terraform (loadgen.target.local_resources) when a (stack, env) is first
   used. The handler's proxy response is returned; a handler that raises, or returns no proxy response, gives
   502 {"message": "Internal server error"} and one log line naming the route, function and error.

Lambda's Invoke API, for functions no route serves (those an event source mapping feeds):
`POST {api_url}/_lambda/{stack}/{env}/2015-03-31/functions/{function}/invocations` (so `{api_url}/_lambda/{stack}/
{env}` is the (stack, env)'s Lambda endpoint, and a boto3 Lambda client given it as endpoint_url can call
`invoke`). `{function}` is the function's function_name (its for_each key or address also work). The body is the
event; the handler runs in the function's own worker processes, the same machinery as the routes' (its package, its
Terraform environment with the local stand-ins, imported once per worker), and the answer is Lambda's
RequestResponse one: 200 with the handler's response as JSON, `X-Amz-Function-Error: Unhandled` and
{"errorType", "errorMessage"} when it raised, and `X-Loadgen-Duration-Ms`, the handler call's duration as the
worker measured it (Lambda's Duration: the import, i.e. the init, left out). Unknown stack, env or function ->
404 ResourceNotFoundException; a body that is not JSON -> 400 InvalidRequestContentException. It serves the local
target only: loadgen never invokes a deployed function directly.

Aurora clusters and RDS proxies are the local PostgreSQL (loadgen.target.local_postgres): their endpoints become
its loopback address (it listens on 5432, as they do, so the Terraform's `DB_PORT = "5432"` holds), and an
`aws_rds_cluster`'s RDS-managed master secret becomes a secret on moto (`rds!cluster-<identifier>`, the JSON
username/password RDS writes) for the cluster's role, provisioned with the stack's schema.sql on first use. The
workers' trust store (SSL_CERT_FILE) is the local CA, which verifies the server's certificate as the Lambda
runtime's store verifies the RDS proxy's.

What it cannot do locally, and why:
- Functions that verify Aurora against the RDS CA bundle in their layer (`/opt/certs/...`: fleet_telematics,
  food_delivery) fail to connect to it when invoked; the layer itself is not mounted (its libraries, redis and
  pg8000, come from loadgen's own environment).
- The local Redis speaks neither TLS nor AUTH, and an `aws_secretsmanager_secret` (a Redis AUTH token) has no
  stand-in: handlers that connect with TLS and a token from Secrets Manager (fleet_telematics' telematics_common)
  fail their Redis calls locally.
- HTTP_PROXY integrations (the POS and notification proxies) call hosts outside the machine: 502, logged.
- MOCK integrations answer 200 with an empty body (integration response mappings are not rendered).
- No account-level throttle (10,000 rps), no usage-plan quota, no caching, no custom gateway responses;
  latencies are this machine's, not API Gateway's.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import hmac
import json
import logging
import os
import secrets
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from loadgen.paths import TERRAFORM_DIR
from loadgen.tf.api_routes import ApiRoute, RestApi, rest_api
from loadgen.tf.lambda_functions import LambdaFunction
from loadgen.errors import LoadgenError
from loadgen.run_context import LOCAL_CREDENTIALS, LOCAL_REGION, local_api_key
from loadgen.target import lambda_worker
from loadgen.target.local_postgres import LocalPostgres

HEALTH_PATH = "/_emulator/health"
"""Answers 200 without touching any stack: readiness probe and the cheapest route (push-ceiling)."""
WARM_PATH = "/_emulator/warm"
"""POST {WARM_PATH}/{stack}/{env}: prepare a (stack, env), start its handler workers and import each handler in
them before a measured run, so the first measured requests do not carry the emulator's own cold start. With
`?function=NAME` (repeatable) the named functions' workers are started and warmed instead of the routes'. Answers
{"status": "warm", "unreachable": {function_name: {VARIABLE: ["address.attribute", ...]}}}: the environment
variables of the warmed functions that point at what the local target does not run."""
LAMBDA_PREFIX = "/_lambda"
"""{api_url}{LAMBDA_PREFIX}/{stack}/{env} is the Lambda endpoint of a (stack, env): INVOKE_PATH below it."""
INVOKE_PATH = LAMBDA_PREFIX + "/{stack}/{env}/2015-03-31/functions/{function}/invocations"
DURATION_HEADER = "X-Loadgen-Duration-Ms"
"""On an invoke's answer: the handler call's duration in ms as its worker measured it (Lambda's Duration)."""
INTEGRATION_TIMEOUT_S = 29.0
"""API Gateway's integration timeout: the remaining time an API route's handler is given."""
STATE_FILE = "local-target.json"
LOCAL_ACCOUNT = "123456789012"
REDACTED = "<redacted>"

log = logging.getLogger("loadgen.target.api_emulator")


def _json(status: int, body: dict, headers: dict | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json", headers=headers)


MISSING_TOKEN = {"message": "Missing Authentication Token"}


# --- token buckets ------------------------------------------------------------------------------------------


@dataclass
class TokenBucket:
    """`burst` tokens, refilled at `rate` per second; starts full (as API Gateway's throttle does)."""

    rate: float
    burst: int
    tokens: float = -1.0
    updated: float = 0.0

    def refill(self, now: float) -> None:
        if self.tokens < 0:
            self.tokens, self.updated = float(self.burst), now
            return
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now


def admit(buckets: list[TokenBucket], now: float) -> bool:
    """Take one token from every bucket when each has one; otherwise take none."""
    for bucket in buckets:
        bucket.refill(now)
    if all(bucket.tokens >= 1.0 for bucket in buckets):
        for bucket in buckets:
            bucket.tokens -= 1.0
        return True
    return False


# --- one stack in one env ------------------------------------------------------------------------------------


@dataclass
class StackRuntime:
    """A (stack, env) as the emulator serves it: its routes, API keys, buckets and, once used, its functions'
    workers."""

    api: RestApi
    keys: dict[str, str] = field(repr=False)
    """Local x-api-key value -> the aws_api_gateway_api_key it is the value of."""
    validators: dict[str, Any]
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    """Throttle key -> its bucket, made on first use."""
    by_request: dict[tuple[str, str | None], list[TokenBucket]] = field(default_factory=dict)
    """(route, API key) -> the buckets such a request takes a token from."""
    resolved: Any = None
    """The stack resolved for the env (loadgen.tf.env_model.ResolvedStack)."""
    pools: dict[str, concurrent.futures.ProcessPoolExecutor] = field(default_factory=dict)
    """Function address -> its worker processes."""
    functions: dict[str, LambdaFunction] = field(default_factory=dict)
    """Functions invoked by name (INVOKE_PATH), by the name asked for."""
    stand_ins: "StandIns | None" = None
    unreachable: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """Function address -> its environment variables that point at what the local target does not run (each
    with those addresses.attributes): calls that reach them fail."""
    ready: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def key_of(self, value: str) -> str | None:
        """The API key whose local value the header carries, compared in constant time."""
        found = None
        for candidate, key in self.keys.items():
            if hmac.compare_digest(value.encode(), candidate.encode()):
                found = key
        return found

    def request_buckets(self, route: ApiRoute, key: str | None) -> list[TokenBucket]:
        found = self.by_request.get((route.key, key))
        if found is None:
            found = self.by_request[(route.key, key)] = [self.buckets.setdefault(t.key, TokenBucket(t.rate, t.burst))
                                                         for t in self.api.throttles(route, key)]
        return found


def _validator(schema: dict) -> Any:
    import jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    return cls(schema)


def load_runtime(terraform_dir: Path, stack: str, env: str, key_secret: str) -> StackRuntime:
    from loadgen.tf.env_model import ResolvedStack
    from loadgen.tf.hcl_reader import load_stack

    resolved = ResolvedStack(load_stack(terraform_dir, stack), env)
    api = rest_api(resolved)
    keys = {local_api_key(key_secret, stack, env, key): key for plan in api.plans for key in plan.keys}
    validators = {route.key: _validator(route.request_schema) for route in api.routes
                  if route.validate_body and route.request_schema}
    return StackRuntime(api, keys, validators, resolved=resolved)


class StandIns:
    """Local stand-ins for values that exist only after apply, created on moto where moto has the service."""

    def __init__(self, resolved: Any, moto_url: str, redis_url: str | None, postgres: LocalPostgres):
        import boto3

        self.resolved = resolved
        self.postgres = postgres
        self.redis_host = (redis_url or "redis://127.0.0.1").split("//", 1)[1].split(":")[0].split("/")[0]
        session = boto3.session.Session(region_name=LOCAL_REGION, **LOCAL_CREDENTIALS)
        self.client = lambda service: session.client(service, endpoint_url=moto_url)
        self.cache: dict[tuple[str, str], str] = {}
        self.unavailable: list[str] = []

    def _instance(self, address: str) -> Any:
        return next((inst for inst in self.resolved.instances(address.split(".")[0]) if inst.address == address),
                    None)

    def _name(self, address: str) -> str:
        inst = self._instance(address)
        if inst is not None:
            for attr in ("name", "bucket", "stream_name", "cluster_identifier"):
                value = inst.attribute(attr)
                if isinstance(value, str):
                    return value
        return address.split(".", 1)[1].replace('["', "-").replace('"]', "").replace("_", "-")

    def value(self, address: str, attribute: str) -> str:
        if (address, attribute) not in self.cache:
            self.cache[(address, attribute)] = self._make(address, attribute)
        return self.cache[(address, attribute)]

    def _make(self, address: str, attribute: str) -> str:
        type_, name = address.split(".")[0], self._name(address)
        if type_ == "aws_sns_topic" and attribute in ("arn", "id"):
            return self.client("sns").create_topic(Name=name)["TopicArn"]
        if type_ == "aws_sqs_queue" and attribute in ("url", "id", "arn"):
            url = self.client("sqs").create_queue(QueueName=name)["QueueUrl"]
            if attribute != "arn":
                return url
            return self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"]["QueueArn"]
        if type_ == "aws_s3_bucket" and attribute in ("id", "bucket", "arn"):
            self.client("s3").create_bucket(Bucket=name)
            return f"arn:aws:s3:::{name}" if attribute == "arn" else name
        if type_ == "aws_kinesis_stream" and attribute in ("arn", "id"):
            return self.client("kinesis").describe_stream_summary(StreamName=name)[
                "StreamDescriptionSummary"]["StreamARN"]
        if type_ == "aws_dynamodb_table" and attribute in ("arn", "stream_arn"):
            table = self.client("dynamodb").describe_table(TableName=name)["Table"]
            return table["TableArn"] if attribute == "arn" else table.get("LatestStreamArn", "")
        if type_ == "aws_elasticache_replication_group" and "endpoint" in attribute:
            return self.redis_host
        if type_ in ("aws_rds_cluster", "aws_db_proxy") and attribute in ("endpoint", "reader_endpoint"):
            return self.postgres.address
        if type_ == "aws_rds_cluster" and attribute.startswith("master_user_secret.") and attribute.endswith(
                ".secret_arn"):
            return self._master_secret(address, name)
        self.unavailable.append(f"{address}.{attribute}")
        if "arn" in attribute:
            service = type_.split("_")[1] if "_" in type_ else "unknown"
            return f"arn:aws:{service}:{LOCAL_REGION}:{LOCAL_ACCOUNT}:unavailable-locally/{name}"
        return f"{name}.unavailable.invalid"

    def _master_secret(self, address: str, identifier: str) -> str:
        """The cluster provisioned on the local PostgreSQL (its role, database and schema, the stack's schema.sql
        applied), and its master secret on moto as RDS writes it; the secret's ARN."""
        database = self._instance(address).attribute("database_name")
        schema = self.resolved.stack.path / "lambda" / "schema.sql"
        role, password = self.postgres.provision_cluster(
            identifier, database if isinstance(database, str) else "postgres",  # Aurora's own, when none is named
            schema.read_text() if schema.is_file() else "")
        secret, name = json.dumps({"username": role, "password": password}), f"rds!cluster-{identifier}"
        client = self.client("secretsmanager")
        try:
            return client.create_secret(Name=name, SecretString=secret)["ARN"]
        except client.exceptions.ResourceExistsException:
            return client.put_secret_value(SecretId=name, SecretString=secret)["ARN"]


def worker_environment(function: LambdaFunction, stand_ins: StandIns, moto_url: str) -> dict[str, str]:
    from loadgen.tf.computed import substitute

    environment = {name: substitute(value, stand_ins.value) for name, value in function.environment.items()}
    environment.update({
        "AWS_ENDPOINT_URL": moto_url, "AWS_REGION": LOCAL_REGION, "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name, "PYTHONUNBUFFERED": "1",
        "SSL_CERT_FILE": str(stand_ins.postgres.ca_file),
    })
    return environment


def write_package(function: LambdaFunction, folder: Path) -> Path:
    """The function's archive laid out on disk as its zip is."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in function.package.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


# --- the app -------------------------------------------------------------------------------------------------


class ApiEmulator:
    """Serves every stack's REST API for any env (see the module docstring for the order of checks)."""

    def __init__(self, *, terraform_dir: Path, state_dir: Path, moto_url: str, redis_url: str | None,
                 postgres: LocalPostgres, key_secret: str, workers: int = 2):
        self.terraform_dir = terraform_dir
        """Where the stacks are read from."""
        self.state_dir = state_dir
        """The local target's state folder (the functions' packages go under api/)."""
        self.moto_url = moto_url
        self.redis_url = redis_url
        self.postgres = postgres
        self._key_secret = key_secret
        """What every local API key's value is derived from."""
        self.workers = workers
        """Worker processes per Lambda function (its concurrency)."""
        self.runtimes: dict[tuple[str, str], StackRuntime] = {}
        self._loading: dict[tuple[str, str], asyncio.Task] = {}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_get(HEALTH_PATH, self.health)
        app.router.add_post(WARM_PATH + "/{stack}/{env}", self.warm)
        app.router.add_post(INVOKE_PATH, self.invoke)
        app.router.add_route("*", "/{stack}/{env}/{stage}/{path:.*}", self.handle)
        app.on_cleanup.append(self.close)
        return app

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text='{"status":"ok"}', content_type="application/json")

    async def warm(self, request: web.Request) -> web.Response:
        runtime = await self.runtime(request.match_info["stack"], request.match_info["env"])
        await self._prepare(runtime)
        names = request.query.getall("function", [])
        try:
            functions = ([await self._function(runtime, name) for name in names] if names
                         else [route.function for route in runtime.api.routes if route.function])
        except LoadgenError as exc:
            return _json(404, {"message": str(exc)})
        loop = asyncio.get_running_loop()
        functions = list({f.address: f for f in functions}.values())
        await asyncio.gather(*(loop.run_in_executor(runtime.pools[function.address], lambda_worker.warm,
                                                    function.handler)
                               for function in functions for _ in range(self.workers)))
        return _json(200, {"status": "warm", "unreachable": {f.function_name: runtime.unreachable[f.address]
                                                             for f in functions if runtime.unreachable[f.address]}})

    async def invoke(self, request: web.Request) -> web.Response:
        """Lambda's Invoke (RequestResponse) of one function of a (stack, env): the payload is the event, the
        answer the handler's response; see INVOKE_PATH."""
        stack, env, name = (request.match_info[k] for k in ("stack", "env", "function"))
        try:
            runtime = await self.runtime(stack, env)
            await self._prepare(runtime)
            function = await self._function(runtime, name)
        except LoadgenError as exc:
            return _json(404, {"Type": "User", "message": str(exc)}, {"x-amzn-ErrorType": "ResourceNotFoundException"})
        try:
            event = json.loads(await request.read() or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            return _json(400, {"Type": "User", "message": f"Could not parse request body into json: {exc}"},
                         {"x-amzn-ErrorType": "InvalidRequestContentException"})
        where = f"{stack}/{env} invoke {function.key}"
        outcome, result, duration_s = await self._call(runtime, function, event, function.timeout_s, where)
        try:
            body = json.dumps(result)
        except (TypeError, ValueError) as exc:
            outcome, body = "error", json.dumps({"errorType": "Runtime.MarshalError", "errorMessage": str(exc)})
        headers = {DURATION_HEADER: f"{duration_s * 1000:.3f}", "X-Amz-Executed-Version": "$LATEST"}
        if outcome == "error":
            headers["X-Amz-Function-Error"] = "Unhandled"
        return web.Response(status=200, text=body, content_type="application/json", headers=headers)

    async def close(self, app: web.Application) -> None:
        for runtime in self.runtimes.values():
            for pool in runtime.pools.values():
                pool.shutdown(wait=False, cancel_futures=True)

    async def runtime(self, stack: str, env: str) -> StackRuntime:
        key = (stack, env)
        if key in self.runtimes:
            return self.runtimes[key]
        if key not in self._loading:
            loop = asyncio.get_running_loop()
            self._loading[key] = loop.create_task(asyncio.to_thread(load_runtime, self.terraform_dir, stack, env,
                                                                    self._key_secret))
        try:
            runtime = await asyncio.shield(self._loading[key])
        except BaseException:
            self._loading.pop(key, None)
            raise
        self.runtimes.setdefault(key, runtime)
        return self.runtimes[key]

    async def handle(self, request: web.Request) -> web.Response:
        now = time.perf_counter()
        stack, env, stage = request.match_info["stack"], request.match_info["env"], request.match_info["stage"]
        path = "/" + request.match_info["path"]
        try:
            runtime = await self.runtime(stack, env)
        except LoadgenError as exc:
            log.warning("%s/%s: %s", stack, env, exc)
            return _json(404, {"message": f"no REST API for stack '{stack}' env '{env}'"})
        api = runtime.api
        route = api.route(request.method, path) if stage == api.stage else None
        if route is None or route.authorization == "AWS_IAM":
            return _json(403, MISSING_TOKEN)
        key = runtime.key_of(request.headers.get("x-api-key", "")) if route.api_key_required else None
        if route.api_key_required and (key is None or api.plan_of(key) is None):
            return _json(403, {"message": "Forbidden"})
        if not admit(runtime.request_buckets(route, key), now):
            return _json(429, {"message": "Too Many Requests"})
        body = await request.read()
        if route.key in runtime.validators:
            problems = self._invalid(runtime.validators[route.key], body)
            if problems:
                return _json(400, {"message": "Invalid request body",
                                   "validationErrorString": "[" + ", ".join(problems) + "]"})
        if route.integration_type == "MOCK":
            return web.Response(status=200, text="", content_type="application/json")
        if route.integration_type != "AWS_PROXY" or route.function is None:
            log.error("%s/%s %s: %s integration to %s is not emulated locally", stack, env, route.key,
                      route.integration_type, route.integration_uri or "?")
            return _json(502, {"message": "Internal server error"})
        return await self._invoke(runtime, route, request, path, body)

    @staticmethod
    def _invalid(validator: Any, body: bytes) -> list[str]:
        try:
            document = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            return [f"body is not JSON: {exc}"]
        return [error.message for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path))][:20]

    async def _prepare(self, runtime: StackRuntime) -> None:
        """First use of a (stack, env): its tables and streams on moto, stand-ins, packages, worker pools."""
        async with runtime.lock:
            if runtime.ready:
                return
            from aiobotocore.session import get_session

            from loadgen.target.local_resources import create_streams, create_tables

            api, resolved = runtime.api, runtime.resolved
            session = get_session()
            kwargs = {"endpoint_url": self.moto_url, "region_name": LOCAL_REGION, **LOCAL_CREDENTIALS}
            async with session.create_client("dynamodb", **kwargs) as ddb, \
                    session.create_client("kinesis", **kwargs) as kinesis:
                tables = await create_tables(resolved, ddb)
                streams = await create_streams(resolved, kinesis)
            log.info("%s/%s: tables %s; streams %s", api.stack, api.env, tables, streams)
            runtime.stand_ins = await asyncio.to_thread(StandIns, resolved, self.moto_url, self.redis_url,
                                                        self.postgres)
            for route in api.routes:
                if route.function is not None:
                    await self._start_workers(runtime, route.function, route.key)
            runtime.ready = True

    async def _start_workers(self, runtime: StackRuntime, function: LambdaFunction, used_by: str) -> None:
        """The function's worker processes (its package written, its environment with local stand-ins), once;
        called under runtime.lock."""
        if function.address in runtime.pools:
            return
        api, stand_ins = runtime.api, runtime.stand_ins
        environment = await asyncio.to_thread(worker_environment, function, stand_ins, self.moto_url)
        missing = {name: refs for name, refs in function.unresolved.items()
                   if any(f"{a}.{r}" in stand_ins.unavailable for a, r in refs)}
        runtime.unreachable[function.address] = {name: [f"{a}.{r}" for a, r in refs] for name, refs in missing.items()}
        if missing:
            log.warning("%s/%s %s (%s): %s point at what the local target does not run (%s); calls that reach them "
                        "fail", api.stack, api.env, used_by, function.key, ", ".join(sorted(missing)),
                        ", ".join(sorted({a for refs in missing.values() for a, _ in refs})))
        folder = write_package(function, self.state_dir / "api" / api.stack / api.env / function.key)
        runtime.pools[function.address] = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=lambda_worker.CONTEXT, initializer=lambda_worker.init_worker,
            initargs=(str(folder), environment, function.function_name))

    async def _function(self, runtime: StackRuntime, name: str) -> LambdaFunction:
        """A prepared (stack, env)'s function by function_name, for_each key or address, its workers started."""
        from loadgen.tf.lambda_functions import function_named

        async with runtime.lock:
            if name not in runtime.functions:
                function = await asyncio.to_thread(function_named, runtime.resolved, name)
                await self._start_workers(runtime, function, "invoke")
                runtime.functions[name] = function
            return runtime.functions[name]

    async def _call(self, runtime: StackRuntime, function: LambdaFunction, event: dict, timeout_s: float,
                    where: str) -> tuple[str, Any, float]:
        """The handler called with `event` in one of the function's workers: _invoke's (outcome, result,
        duration_s); an error is logged with `where`."""
        loop = asyncio.get_running_loop()
        try:
            outcome, result, duration_s = await loop.run_in_executor(
                runtime.pools[function.address], lambda_worker.invoke, function.handler, event, timeout_s)
        except concurrent.futures.process.BrokenProcessPool as exc:
            outcome, result, duration_s = "error", {"errorType": "Runtime.ExitError",
                                                    "errorMessage": f"worker process died: {exc}"}, 0.0
        if outcome == "error":
            log.error("%s: handler failed: %s: %s", where, result["errorType"], result["errorMessage"])
        return outcome, result, duration_s

    async def _invoke(self, runtime: StackRuntime, route: ApiRoute, request: web.Request, path: str,
                      body: bytes) -> web.Response:
        api, function = runtime.api, route.function
        where = f"{api.stack}/{api.env} {route.key} -> {function.key}"
        try:
            await self._prepare(runtime)
        except (LoadgenError, OSError, ValueError) as exc:
            log.error("%s: the local target could not be prepared: %s", where, exc)
            return _json(502, {"message": "Internal server error"})
        event = proxy_event(api, route, request, path, body)
        outcome, result, _ = await self._call(runtime, function, event, INTEGRATION_TIMEOUT_S, where)
        if outcome == "error":
            return _json(502, {"message": "Internal server error"})
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            log.error("%s: malformed Lambda proxy response (%s)", where, type(result).__name__)
            return _json(502, {"message": "Internal server error"})
        raw = result.get("body") or ""
        data = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        if result["statusCode"] >= 500:
            log.error("%s: handler answered %d", where, result["statusCode"])
        return web.Response(status=result["statusCode"], body=data, headers=headers)


def proxy_event(api: RestApi, route: ApiRoute, request: web.Request, path: str, body: bytes) -> dict:
    """An API Gateway REST (v1) proxy event; the API key header is redacted."""
    headers = {k: (REDACTED if k.lower() == "x-api-key" else v) for k, v in request.headers.items()}
    multi: dict[str, list[str]] = {}
    for k, v in request.headers.items():
        multi.setdefault(k, []).append(REDACTED if k.lower() == "x-api-key" else v)
    query = {k: v for k, v in request.query.items()} or None
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    request_id = str(uuid.uuid4())
    return {
        "resource": route.path, "path": path, "httpMethod": request.method,
        "headers": headers, "multiValueHeaders": multi,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: request.query.getall(k) for k in request.query} or None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path, "httpMethod": request.method, "path": f"/{api.stage}{path}",
            "stage": api.stage, "requestId": request_id, "accountId": LOCAL_ACCOUNT, "apiId": "local",
            "requestTimeEpoch": int(time.time() * 1000), "protocol": "HTTP/1.1",
            "identity": {"sourceIp": request.remote or "127.0.0.1", "apiKey": REDACTED if route.api_key_required
                         else None, "userAgent": request.headers.get("User-Agent")},
        },
        "body": text if body else None, "isBase64Encoded": encoded,
    }


# --- the API keys' secret, kept only in the local target's state file -------------------------------------------


def write_key_secret(state_dir: Path, key_secret: str) -> None:
    """Put the secret into the state file (created 0600 when absent), keeping what else it holds."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / STATE_FILE
    try:
        data = json.loads(path.read_text()) if path.exists() else {}
    except json.JSONDecodeError:
        data = {}
    data.setdefault("services", {})
    data["api_key_secret"] = key_secret
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(json.dumps(data, indent=2))
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadgen.target.api_emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--moto", required=True, help="the local moto server's URL")
    parser.add_argument("--redis", default=None, help="the local Redis URL")
    parser.add_argument("--postgres", required=True,
                        help="the local PostgreSQL's superuser URL (its password: the PGPASSWORD environment variable)")
    parser.add_argument("--terraform-dir", type=Path, default=TERRAFORM_DIR)
    parser.add_argument("--workers", type=int, default=2, help="worker processes per Lambda function")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s",
                        stream=sys.stdout)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    key_secret = secrets.token_urlsafe(30)
    write_key_secret(args.state_dir, key_secret)
    postgres = LocalPostgres.at(args.postgres, os.environ.pop("PGPASSWORD", ""), args.state_dir)
    emulator = ApiEmulator(terraform_dir=args.terraform_dir, state_dir=args.state_dir, moto_url=args.moto,
                           redis_url=args.redis, postgres=postgres, key_secret=key_secret, workers=args.workers)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    log.info("API Gateway emulator on 127.0.0.1:%d (moto %s)", args.port, args.moto)
    web.run_app(emulator.app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
