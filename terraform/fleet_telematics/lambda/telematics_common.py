"""Shared helpers of the telematics handlers: boto3 clients, structured logs, Redis and Aurora connections.

Connections are created once per container (module globals) and re-created after a connection error. Credentials
come from Secrets Manager at cold start: the Redis AUTH token secret and the RDS-managed Aurora master secret.
redis and pg8000 come from the stack's dependency layer (layer/requirements.txt, built by Terraform); they are
imported lazily so handlers that only need boto3 never load them.
"""

from __future__ import annotations

import json
import os
import ssl
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3

_CLIENTS: dict[str, Any] = {}
_REDIS = None
_DB = None

# The RDS CA bundle ships in the dependency layer (/opt/certs/...); Terraform sets DB_CA_BUNDLE to it. Unset
# (a local target without TLS verification against RDS), the default trust store is used.
_RDS_CA_BUNDLE = os.environ.get("DB_CA_BUNDLE", "")


def aws_client(service: str) -> Any:
    """boto3 client of a service, created on first use and reused by the container."""
    if service not in _CLIENTS:
        _CLIENTS[service] = boto3.client(service)
    return _CLIENTS[service]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def dumps(value: Any) -> str:
    """JSON with Decimal/set support (DynamoDB values)."""
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def log_event(event: str, **fields: Any) -> None:
    """One JSON log line; CloudWatch metric filters match on $.event."""
    print(dumps({"event": event, "ts": int(time.time() * 1000), **fields}))


def secret_string(secret_arn: str) -> str:
    return aws_client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]


def redis_client():
    """TLS + AUTH Redis client for the replication group's primary endpoint."""
    global _REDIS
    if _REDIS is None:
        import redis  # from the dependency layer

        _REDIS = redis.Redis(
            host=os.environ["REDIS_HOST"],
            port=int(os.environ.get("REDIS_PORT", "6379")),
            password=secret_string(os.environ["REDIS_AUTH_SECRET_ARN"]),
            ssl=True,
            ssl_cert_reqs="required",
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
            health_check_interval=30,
            decode_responses=True,
        )
    return _REDIS


def reset_redis() -> None:
    global _REDIS
    _REDIS = None


def db_connection():
    """pg8000 native connection to the Aurora writer (TLS; rds.force_ssl=1 on the cluster)."""
    global _DB
    if _DB is None:
        import pg8000.native  # from the dependency layer

        secret = json.loads(secret_string(os.environ["DB_SECRET_ARN"]))
        context = ssl.create_default_context(cafile=_RDS_CA_BUNDLE or None)
        _DB = pg8000.native.Connection(
            user=secret["username"],
            password=secret["password"],
            host=os.environ["DB_HOST"],
            port=int(os.environ.get("DB_PORT", "5432")),
            database=os.environ["DB_NAME"],
            ssl_context=context,
            timeout=10,
            application_name=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "telematics"),
        )
    return _DB


_SCHEMA_READY = False


def ensure_schema(conn) -> None:
    """Create the Aurora tables once per container: schema.sql (packaged next to this module), idempotent
    statements (IF NOT EXISTS), so the stack works without a separate migration step."""
    global _SCHEMA_READY
    if not _SCHEMA_READY:
        conn.run(Path(__file__).with_name("schema.sql").read_text())
        _SCHEMA_READY = True


def reset_db() -> None:
    global _DB
    if _DB is not None:
        try:
            _DB.close()
        except Exception:  # noqa: BLE001 - the connection is being discarded anyway
            pass
    _DB = None


def sns_attributes(severity: str, event_type: str, **extra: str) -> dict:
    """SNS message attributes; `severity` drives the SQS subscription filter policies."""
    attributes = {
        "severity": {"DataType": "String", "StringValue": severity},
        "event_type": {"DataType": "String", "StringValue": event_type},
    }
    for key, value in extra.items():
        if value:
            attributes[key] = {"DataType": "String", "StringValue": str(value)}
    return attributes


def publish_batch(sns_client, topic_arn: str, entries: list[dict]) -> list[str]:
    """PublishBatch in chunks of 10; returns the Ids of entries that failed."""
    failed: list[str] = []
    for start in range(0, len(entries), 10):
        chunk = entries[start:start + 10]
        response = sns_client.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=chunk)
        failed.extend(item["Id"] for item in response.get("Failed", []))
    return failed
