"""Lazily created, container-reused connections to Redis and Aurora for the VPC Lambdas.

* Redis: ElastiCache cluster mode enabled, TLS, AUTH token from Secrets Manager
  (REDIS_SECRET_ARN); client redis-py >= 5 (RedisCluster) from the dependency layer.
* Aurora PostgreSQL: pg8000 (dependency layer) over TLS with the RDS-managed master secret
  (AURORA_SECRET_ARN, JSON with username/password). TLS is verified against the RDS CA bundle at
  AURORA_CA_BUNDLE (/opt/certs/rds-global-bundle.pem, shipped in the stack's dependency layer).

Key layout in Redis (hash tags keep a region's keys in one slot):
  {<region>}:drivers:geo        GEO set of available drivers (GEOADD / GEOSEARCH)
  surge:multipliers             sorted set, member = region, score = surge multiplier
  restaurant:{<id>}             hash: is_open, prep_minutes, lat, lon, region (cache of Aurora)
  restaurant:{<id>}:stats       hash: delivered_count, delivery_minutes_sum, rating_sum, rating_count
  driver:{<id>}:cell            "<geohash5>|<status>" last persisted to DynamoDB (expires)
"""

import json
import os
import ssl
from pathlib import Path

import boto3

_secrets = boto3.client("secretsmanager")
_redis = None
_pg = None
_schema_ready = False


def secret_string(arn):
    return _secrets.get_secret_value(SecretId=arn)["SecretString"]


def redis_client():
    """The process-wide RedisCluster client."""
    global _redis
    if _redis is None:
        from redis.cluster import RedisCluster  # dependency layer

        _redis = RedisCluster(
            host=os.environ["REDIS_HOST"],
            port=int(os.environ.get("REDIS_PORT", "6379")),
            password=secret_string(os.environ["REDIS_SECRET_ARN"]),
            ssl=True,
            decode_responses=True,
            socket_timeout=1.0,
            socket_connect_timeout=2.0,
        )
    return _redis


def _ssl_context():
    """TLS verified against the RDS CA bundle the dependency layer ships (AURORA_CA_BUNDLE, set by Terraform);
    a missing bundle is an error, not a silent fall-back to a trust store that cannot verify Aurora."""
    ctx = ssl.create_default_context()
    bundle = os.environ.get("AURORA_CA_BUNDLE", "")
    if bundle:
        ctx.load_verify_locations(cafile=bundle)
    return ctx


def pg_connection():
    """The process-wide pg8000.native connection (schema.sql, packaged next to this module, run once per
    container)."""
    global _pg, _schema_ready
    if _pg is None:
        import pg8000.native  # dependency layer

        creds = json.loads(secret_string(os.environ["AURORA_SECRET_ARN"]))
        _pg = pg8000.native.Connection(
            user=creds["username"],
            password=creds["password"],
            host=os.environ["AURORA_HOST"],
            port=int(os.environ.get("AURORA_PORT", "5432")),
            database=os.environ["AURORA_DATABASE"],
            ssl_context=_ssl_context(),
            timeout=10,
        )
    if not _schema_ready:
        _pg.run(Path(__file__).with_name("schema.sql").read_text())  # idempotent: IF NOT EXISTS
        _schema_ready = True
    return _pg


def reset_pg():
    """Drop a broken connection so the next call reconnects."""
    global _pg
    if _pg is not None:
        try:
            _pg.close()
        except Exception:  # noqa: BLE001 - the connection is already unusable
            pass
    _pg = None
