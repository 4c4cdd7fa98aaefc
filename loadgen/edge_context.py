"""A run's RunContext resolved at an edge of the program: the stack's Terraform (or a candidate tfvars), the
profile, the target's endpoints and keys, the output folder. The command line (loadgen.cli) and Locust's
locustfile (loadgen.locust) are the edges; both build the context here, the only place besides them that reads
environment variables (LOADGEN_STATE_DIR; REDIS_URL, AWS_REGION, LOADGEN_API_URL/LOADGEN_API_KEY for --target
aws). It imports no command and no AWS client (botocore only when an API key is fetched from AWS), so a gevent
process may import it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from loadgen.errors import LoadgenError
from loadgen.hot_paths import OUTPUT_ROLES, key_outputs, stack_outputs
from loadgen.measure.run_summary import check_guarding_alarms
from loadgen.paths import CACHE_DIR, REPORTS_DIR, TERRAFORM_DIR
from loadgen.profiles import load_profile
from loadgen.run_context import LOCAL_REGION, RunContext, Target, check_prod_confirmation, new_run_id
from loadgen.target.local_target import LocalTarget
from loadgen.tf import hcl_reader
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.outputs import read_outputs, required_output


def default_terraform_dir() -> Path:
    bundled = TERRAFORM_DIR
    return bundled if bundled.is_dir() else Path.cwd() / "terraform"


def state_dir() -> Path:
    """Where the local target keeps its state file and logs: LOADGEN_STATE_DIR, else .cache/local-target."""
    return Path(os.environ.get("LOADGEN_STATE_DIR") or CACHE_DIR / "local-target")


def build_context(stack: str, env: str, target_kind: str, out: Path | None, what: str, confirm_prod: bool,
                  terraform_dir: Path | None = None, needs_api: bool = False, tfvars: Path | None = None,
                  run_id: str | None = None, profiles_dir: Path | None = None,
                  tf_outputs: Path | None = None, scenario: str | None = None) -> RunContext:
    """The run's configuration, resolved once here at the edge (the only place that reads the environment).
    `tfvars` is a candidate file read in place of the env's own; `scenario` one of the profile's named
    scenarios."""
    loaded = hcl_reader.load_stack(terraform_dir or default_terraform_dir(), stack)
    if tfvars is not None:
        loaded = hcl_reader.with_candidate_tfvars(loaded, env, tfvars)
    resolved = ResolvedStack(loaded, env)
    profile = load_profile(stack, env, profiles_dir, scenario)
    if target_kind == "local":
        local = LocalTarget(state_dir())
        redis_url, endpoint = local.endpoints()
        api_url, key_secret = local.api_endpoint() if needs_api else (None, None)
        target = Target("local", redis_url, endpoint, LOCAL_REGION, api_url, key_secret)  # never REDIS_URL: aws's
    else:
        target = aws_target(loaded, profile, needs_api, tf_outputs)
    check_prod_confirmation(target, env, confirm_prod)
    ctx = RunContext(stack=stack, env=env, resolved=resolved, profile=profile, target=target,
                     out_dir=writable(out or REPORTS_DIR), run_id=run_id or new_run_id(stack, env, what))
    check_guarding_alarms(ctx)
    return ctx


def writable(out: Path) -> Path:
    """The output folder, once a report could be written there: checked before any load, so a run's report is
    never lost at its end (one line otherwise). Nothing is created: a folder that does not exist yet must be
    creatable in its nearest existing parent."""
    existing = next(p for p in (out, *out.parents) if p.exists())
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, "Not a directory")
        if existing == out:
            with tempfile.NamedTemporaryFile(dir=out, prefix=".loadgen-write-check-"):
                pass
        elif not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise LoadgenError(f"{out}: cannot write the report there ({exc.strerror or type(exc).__name__}); pass "
                           "--out with a folder you can write") from None
    return out


def aws_target(stack: hcl_reader.Stack, profile: Any, needs_api: bool, tf_outputs: Path | None) -> Target:
    """A deployed env as its users have it: endpoints from the stack's Terraform outputs (--tf-outputs, or
    `terraform output -json` where the stack folder holds state), the API key's value fetched from AWS by the
    output's key id (kept in memory only); REDIS_URL, LOADGEN_API_URL and LOADGEN_API_KEY override them."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    outputs = read_outputs(stack.path, tf_outputs)
    roles = stack_outputs(stack.name, profile.path.parents[1])

    def value(role: str) -> Any:
        return required_output(outputs, roles[role], stack.name, OUTPUT_ROLES[role]) if role in roles else None

    redis_url = os.environ.get("REDIS_URL") or (f"rediss://{value('redis_endpoint')}:6379"
                                                if outputs and "redis_endpoint" in roles else None)
    api_url = api_key = None
    api_keys: dict[str, str] = {}
    if needs_api:
        api_url = os.environ.get("LOADGEN_API_URL") or (value("api_url") if outputs else None)
        api_key = os.environ.get("LOADGEN_API_KEY") or (fetch_api_key(value("api_key_id"), region)
                                                        if outputs and "api_key_id" in roles else None)
        if outputs and not os.environ.get("LOADGEN_API_KEY"):  # one key given by hand is sent on every route
            api_keys = {address: fetch_api_key(required_output(outputs, output, stack.name, f"the id of {address}"),
                                               region)
                        for address, output in key_outputs(stack.name, profile.path.parents[1]).items()}
    return Target("aws", redis_url, os.environ.get("AWS_ENDPOINT_URL"), region, api_url, api_key, api_keys)


def fetch_api_key(key_id: str, region: str) -> str:
    """The API key's value from API Gateway (never written anywhere: it lives in the Target only)."""
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = botocore.session.get_session().create_client("apigateway", region_name=region or None)
        return client.get_api_key(apiKey=key_id, includeValue=True)["value"]
    except (BotoCoreError, ClientError, KeyError) as exc:
        raise LoadgenError(f"could not read API key {key_id} from API Gateway ({type(exc).__name__}); check the "
                           "AWS credentials and region, or set LOADGEN_API_KEY") from None
