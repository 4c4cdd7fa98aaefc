"""One run's configuration, built once at the CLI edge and passed down (STYLE: Locust's Environment).

Hot-path code never reads argv or environment variables: the stack and env, the resolved Terraform, the
profile, the target's endpoints and the output folder all come from here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from loadgen.errors import LoadgenError
from loadgen.hot_paths import HotPath, hot_paths
from loadgen.profiles import Profile
from loadgen.tf.env_model import ResolvedStack

LOCAL_REGION = "us-east-1"
# moto accepts any credentials; these are its documented test values, not secrets.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def local_api_key(secret: str, stack: str, env: str, key: str) -> str:
    """The x-api-key value of API key `key` (its Terraform address) of a stack and env on the local target: each
    key has its own, derived from the one secret the API emulator generates at start, so the emulator and its
    clients agree on every key of every stack without either reading the stacks up front."""
    digest = hmac.new(secret.encode(), f"{stack}/{env}/{key}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class Target:
    """Where load goes: the embedded local target or real AWS (endpoints from the usual AWS environment)."""

    kind: str
    """`local` or `aws`."""
    redis_url: str | None
    aws_endpoint_url: str | None
    region: str
    api_url: str | None = None
    """Base URL of the REST APIs: the local API emulator's, or a stage's invoke URL on AWS."""
    api_key: str | None = field(default=None, repr=False)
    """aws: the x-api-key value (fetched by the CLI); local: the emulator's secret every local key's value is
    derived from (from the state file). Never reported."""

    api_keys: dict[str, str] = field(default_factory=dict, repr=False)
    """aws: API key address -> its value, fetched by the ids in the stack's outputs (hot_paths.toml
    `[outputs.api_keys]`). Never reported."""

    def api_key_for(self, stack: str, env: str, key: str) -> str | None:
        """The x-api-key value for API key `key` (a Terraform address): locally the key's own value; on AWS the
        key's own value when its output is declared, else the one key the CLI was given."""
        if self.kind == "local" and self.api_key:
            return local_api_key(self.api_key, stack, env, key)
        return self.api_keys.get(key) or self.api_key

    def client_kwargs(self) -> dict:
        """Keyword arguments for aiobotocore's create_client: loopback endpoint and test credentials locally,
        nothing (the AWS environment decides) for real AWS."""
        if self.kind == "local":
            return {"endpoint_url": self.aws_endpoint_url, "region_name": self.region, **LOCAL_CREDENTIALS}
        return {"region_name": self.region} if self.region else {}

    def describe(self) -> dict:
        """What a report may say about the target (no credentials, ever)."""
        return {"kind": self.kind, "region": self.region,
                "redis": "loopback" if self.kind == "local" else ("configured" if self.redis_url else None),
                "aws_endpoint": "loopback" if self.kind == "local" else "aws",
                "api": ("loopback" if self.kind == "local" else "configured") if self.api_url else None}


def new_run_id(stack: str, env: str, what: str) -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{stack}-{env}-{what}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class RunContext:
    """Everything a measuring command needs, resolved once."""

    stack: str
    env: str
    resolved: ResolvedStack
    profile: Profile
    target: Target
    out_dir: Path
    run_id: str
    started_at: float = field(default_factory=time.time)

    @property
    def run_dir(self) -> Path:
        return self.out_dir / self.run_id

    @property
    def hot_paths(self) -> tuple[HotPath, ...]:
        """The stack's declared hot paths (beside its profile: profiles/<stack>/hot_paths.toml)."""
        return hot_paths(self.stack, self.profile.path.parents[1])


def check_prod_confirmation(target: Target, env: str, confirm_prod: bool) -> None:
    """A prod env on real AWS needs an explicit flag; refused before anything is sent."""
    if target.kind == "aws" and env == "prod" and not confirm_prod:
        raise LoadgenError("refusing to send load to a prod target on AWS without --confirm-prod")
