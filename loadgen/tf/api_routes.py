"""A stack's REST API as one env deploys it, read from its Terraform: what the API emulator serves and the API
pusher drives.

Where it sits: between loadgen/tf (the only reader of terraform/) and `loadgen.target.api_emulator` /
`loadgen.drive.api_pusher`. Everything is looked up, nothing copied: routes are the `aws_api_gateway_method`s, their
full paths built from the `aws_api_gateway_resource` parent chain and `path_part`; `api_key_required`; the
`aws_api_gateway_request_validator` (validate the body?) and the request model's JSON schema (the model's
`schema`, i.e. the text of the file the stack loads with file()); the integration, and for AWS_PROXY the
`aws_lambda_function` behind it: handler `module.function`, the `archive_file` it is packaged from (its files laid
out as in the zip), the handler's source in terraform/<stack>/lambda/ and its environment evaluated for the env;
and the throttles a request must pass: the stage's method settings (the route's own `method_path`, else `*/*`)
and, for API-key routes, the usage plan of the key the request carries.

Usage plans as API Gateway applies them: a plan is attached to a stage (not to routes) and admits the
enabled API keys its `aws_api_gateway_usage_plan_key`s link, so each of its keys passes the key check of every
key-required method of that stage; its throttle for a method is the method's own (`throttle` path
`/<path>/<METHOD>`), else the plan-wide `throttle_settings`, and each key has buckets of its own. A method
throttle of burst 0 never holds a token: that plan's keys are refused on that method (429).

Ids, ARNs and endpoints exist only after apply; they are read as `<<address.attribute>>` placeholders
(loadgen.tf.computed), which is how a method finds its resource and an integration its Lambda. In a Lambda's
environment they stay placeholders: `unresolved` lists them so a caller can give them local stand-ins.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from loadgen.errors import LoadgenError
from loadgen.tf.computed import ComputedView, computed_refs, known, reference
from loadgen.tf.env_model import ResolvedStack, ResourceInstance
from loadgen.tf.lambda_functions import LambdaFunction, lambda_function

ROOT = "root_resource_id"


@dataclass(frozen=True)
class Throttle:
    """One token bucket a request must pass: `rate` tokens/s refill, `burst` capacity."""

    key: str
    """Identity of the bucket within the API: routes that share it name the same key."""
    rate: float
    burst: int
    source: str
    """The Terraform address (and path) it is read from."""


@dataclass(frozen=True)
class ApiRoute:
    """One method of the REST API: what API Gateway checks before it calls the integration."""

    method: str
    path: str
    """Full resource path, e.g. `/vendor/status`."""
    method_address: str
    authorization: str
    api_key_required: bool
    validate_body: bool
    model: str | None
    request_schema: dict | None = field(repr=False)
    integration_type: str | None
    function: LambdaFunction | None
    integration_uri: str | None
    stage_throttles: tuple[Throttle, ...]
    """The stage's method settings for the route (its own `method_path`, else `*/*`): every request passes them."""

    @property
    def key(self) -> str:
        """`POST /orders`: the route's name in profiles and fleet models."""
        return f"{self.method} {self.path}"

    @property
    def plan_path(self) -> str:
        """`/orders/POST`: the route's path in a usage plan's method throttles."""
        return f"{self.path}/{self.method}"

    def matches(self, method: str, path: str) -> bool:
        if self.method not in (method, "ANY"):
            return False
        return _path_pattern(self.path).fullmatch(path) is not None


@dataclass(frozen=True)
class UsagePlan:
    """An aws_api_gateway_usage_plan on the API's stage: the API keys it admits and their throttles."""

    address: str
    keys: tuple[str, ...]
    """Addresses of the enabled aws_api_gateway_api_keys linked to it."""
    method_throttles: dict[str, Throttle] = field(repr=False)
    """`/<path>/<METHOD>` -> that method's throttle."""
    throttle: Throttle | None
    """The plan-wide throttle, for methods without their own."""

    def route_throttle(self, route: ApiRoute) -> Throttle | None:
        return self.method_throttles.get(route.plan_path) or self.throttle

    def admits(self, route: ApiRoute) -> bool:
        """False when the plan closes the route to its keys (a throttle of burst 0 never holds a token)."""
        throttle = self.route_throttle(route)
        return throttle is None or throttle.burst >= 1


@dataclass(frozen=True)
class RestApi:
    """A REST API and its one stage as the env deploys them."""

    stack: str
    env: str
    address: str
    name: str | None
    stage: str
    routes: tuple[ApiRoute, ...]
    plans: tuple[UsagePlan, ...]
    """The usage plans attached to the stage."""

    def plan_of(self, key: str) -> UsagePlan | None:
        """The stage's usage plan that admits API key `key` (an address; API Gateway allows a key one plan per
        stage), or None: the key fails the key check (403)."""
        return next((plan for plan in self.plans if key in plan.keys), None)

    def client_key(self, route: ApiRoute) -> str | None:
        """The API key a client of a key-required route sends: the first key of a plan that does not close it."""
        if not route.api_key_required:
            return None
        return next((key for plan in self.plans if plan.admits(route) for key in plan.keys), None)

    def throttles(self, route: ApiRoute, key: str | None) -> tuple[Throttle, ...]:
        """Every token bucket a request on the route with API key `key` passes: the stage's, and on key-required
        routes the key's plan's throttle for the method (in a bucket of the key's own)."""
        plan = self.plan_of(key) if route.api_key_required and key else None
        own = plan.route_throttle(route) if plan else None
        return route.stage_throttles + ((replace(own, key=f"{own.key} key {key}"),) if own else ())

    def route(self, method: str, path: str) -> ApiRoute | None:
        """The route serving a request: an exact path first, then `{param}` / `{proxy+}` templates."""
        exact = [r for r in self.routes if r.path == path and r.method in (method, "ANY")]
        if exact:
            return next((r for r in exact if r.method == method), exact[0])
        return next((r for r in self.routes if r.matches(method, path)), None)

    def by_key(self, key: str) -> ApiRoute:
        for route in self.routes:
            if route.key == key:
                return route
        raise LoadgenError(f"stack '{self.stack}' env '{self.env}': the REST API has no route '{key}'; it has "
                           f"{', '.join(r.key for r in self.routes)}")


def _path_pattern(template: str) -> re.Pattern:
    parts = []
    for part in template.strip("/").split("/"):
        if part.endswith("+}"):
            parts.append(".+")
        elif part.startswith("{"):
            parts.append("[^/]+")
        else:
            parts.append(re.escape(part))
    return re.compile("/" + "/".join(parts) if parts != [""] else "/")


def _resource_paths(view: ComputedView) -> dict[str, str]:
    """aws_api_gateway_resource address -> its full path."""
    parents: dict[str, tuple[Any, str]] = {}
    for inst in view.instances("aws_api_gateway_resource"):
        parents[inst.address] = (inst.attribute("parent_id"), str(known(inst.attribute("path_part")) or "?"))
    paths: dict[str, str] = {}

    def path_of(address: str, seen: tuple = ()) -> str:
        if address in paths:
            return paths[address]
        parent, part = parents[address]
        ref = reference(parent)
        if ref and ref[1] == ROOT:
            path = "/" + part
        elif ref and ref[0] in parents and ref[0] not in seen:
            path = path_of(ref[0], seen + (address,)) + "/" + part
        else:
            raise LoadgenError(f"{address}: parent_id does not lead to the REST API's root resource")
        paths[address] = path
        return path

    for address in parents:
        path_of(address)
    return paths


def _by_address(view: ComputedView, type_: str, kind: str = "resource") -> dict[str, ResourceInstance]:
    return {inst.address: inst for inst in view.instances(type_, kind)}


def _stage_throttles(view: ComputedView, api: str, stage: str) -> dict[str, Throttle]:
    """The stage's method settings by method_path."""
    methods: dict[str, Throttle] = {}
    for inst in view.instances("aws_api_gateway_method_settings"):
        if reference(inst.attribute("rest_api_id")) != (api, "id") or known(inst.attribute("stage_name")) != stage:
            continue
        settings = next(iter(inst.blocks("settings")), {})
        rate, burst = known(settings.get("throttling_rate_limit")), known(settings.get("throttling_burst_limit"))
        path = known(inst.attribute("method_path"))
        if isinstance(rate, (int, float)) and isinstance(burst, (int, float)) and isinstance(path, str):
            methods[path] = Throttle(f"stage {stage} {path}", float(rate), int(burst), f"{inst.address} {path}")
    return methods


def _usage_plans(view: ComputedView, api: str, stage: str) -> tuple[UsagePlan, ...]:
    """The usage plans attached to the stage, each with its enabled keys and its throttles."""
    enabled = {inst.address for inst in view.instances("aws_api_gateway_api_key")
               if known(inst.attribute("enabled")) is not False}
    keys: dict[str, list[str]] = {}
    for link in view.instances("aws_api_gateway_usage_plan_key"):
        plan, key = reference(link.attribute("usage_plan_id")), reference(link.attribute("key_id"))
        if plan and key and key[0] in enabled:
            keys.setdefault(plan[0], []).append(key[0])
    plans = []
    for inst in view.instances("aws_api_gateway_usage_plan"):
        stages = [s for s in inst.blocks("api_stages") if isinstance(s, dict) and reference(s.get("api_id")) == (api, "id")
                  and known(s.get("stage")) == stage]
        if not stages:
            continue
        per_method: dict[str, Throttle] = {}
        for throttle in stages[0].get("throttle") or []:
            rate, burst, path = (known(throttle.get(k)) for k in ("rate_limit", "burst_limit", "path"))
            if isinstance(rate, (int, float)) and isinstance(burst, (int, float)) and isinstance(path, str):
                per_method[path] = Throttle(f"usage plan {inst.address} {path}", float(rate), int(burst),
                                            f"{inst.address} {path}")
        settings = next(iter(inst.blocks("throttle_settings")), {})
        rate, burst = known(settings.get("rate_limit")), known(settings.get("burst_limit"))
        plan_wide = None
        if isinstance(rate, (int, float)) and isinstance(burst, (int, float)):
            plan_wide = Throttle(f"usage plan {inst.address}", float(rate), int(burst), inst.address)
        plans.append(UsagePlan(inst.address, tuple(keys.get(inst.address, ())), per_method, plan_wide))
    return tuple(plans)


def _route_stage_throttles(method: str, path: str, stage_methods: dict[str, Throttle]) -> tuple[Throttle, ...]:
    method_path = f"{path.lstrip('/')}/{method}"
    own = stage_methods.get(method_path)
    if own is None and "*/*" in stage_methods:
        default = stage_methods["*/*"]
        # `*/*` sets every method's own limit: each method gets its own bucket with the default values.
        own = Throttle(f"{default.key} as {method_path}", default.rate, default.burst, default.source)
    return (own,) if own else ()


def rest_apis(resolved: ResolvedStack) -> list[RestApi]:
    """Every REST API of the stack with a stage, resolved for the env."""
    view = ComputedView(resolved)
    stack_dir = Path(resolved.stack.path)
    paths = _resource_paths(view)
    validators = _by_address(view, "aws_api_gateway_request_validator")
    models = list(view.instances("aws_api_gateway_model"))
    archives = _by_address(view, "archive_file", "data")
    functions = _by_address(view, "aws_lambda_function")
    integrations = list(view.instances("aws_api_gateway_integration"))
    apis = []
    for api_inst in view.instances("aws_api_gateway_rest_api"):
        api = api_inst.address
        stages = [s for s in view.instances("aws_api_gateway_stage") if reference(s.attribute("rest_api_id")) == (api, "id")]
        if not stages or not isinstance(known(stages[0].attribute("stage_name")), str):
            continue
        stage = stages[0].attribute("stage_name")
        stage_methods = _stage_throttles(view, api, stage)
        routes = []
        for method in view.instances("aws_api_gateway_method"):
            if reference(method.attribute("rest_api_id")) != (api, "id"):
                continue
            resource = reference(method.attribute("resource_id"))
            if resource and resource[1] == ROOT:
                path = "/"
            elif resource and resource[0] in paths:
                path = paths[resource[0]]
            else:
                raise LoadgenError(f"{method.block.where}: {method.address} resource_id does not resolve to a resource")
            http_method = str(known(method.attribute("http_method")))
            validator = reference(method.attribute("request_validator_id"))
            validate_body = bool(validator and validator[0] in validators
                                 and known(validators[validator[0]].attribute("validate_request_body")) is True)
            model_name = (known(method.attribute("request_models")) or {}).get("application/json")
            schema = None
            if model_name:
                model = next((m for m in models if known(m.attribute("name")) == model_name
                              and reference(m.attribute("rest_api_id")) == (api, "id")), None)
                text = known(model.attribute("schema")) if model else None
                if not isinstance(text, str):
                    raise LoadgenError(f"{method.block.where}: {method.address} request model {model_name!r} has no "
                                       "schema that resolves")
                try:
                    schema = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise LoadgenError(f"{model.block.where}: {model.address} schema is not JSON ({exc})") from None
            integration = next((i for i in integrations if reference(i.attribute("resource_id")) == resource
                                and known(i.attribute("http_method")) == http_method), None)
            integration_type = known(integration.attribute("type")) if integration else None
            uri = integration.attribute("uri") if integration else None
            function = None
            if integration_type == "AWS_PROXY":
                target = reference(uri)
                if not target or target[0] not in functions:
                    raise LoadgenError(f"{integration.block.where}: {integration.address} uri is not a Lambda "
                                       "function of the stack")
                function = lambda_function(functions[target[0]], archives, stack_dir)
            api_key = known(method.attribute("api_key_required")) is True
            routes.append(ApiRoute(
                method=http_method, path=path, method_address=method.address,
                authorization=str(known(method.attribute("authorization")) or "NONE"), api_key_required=api_key,
                validate_body=validate_body, model=model_name, request_schema=schema,
                integration_type=integration_type, function=function,
                integration_uri=uri if isinstance(uri, str) and not computed_refs(uri) else None,
                stage_throttles=_route_stage_throttles(http_method, path, stage_methods)))
        apis.append(RestApi(resolved.stack.name, resolved.env, api, known(api_inst.attribute("name")), stage,
                            tuple(sorted(routes, key=lambda r: (r.path, r.method))), _usage_plans(view, api, stage)))
    return apis


def rest_api(resolved: ResolvedStack) -> RestApi:
    """The stack's REST API (the first, when it has several), or one clear error."""
    apis = rest_apis(resolved)
    if not apis:
        raise LoadgenError(f"stack '{resolved.stack.name}' has no aws_api_gateway_rest_api with a stage")
    return apis[0]
