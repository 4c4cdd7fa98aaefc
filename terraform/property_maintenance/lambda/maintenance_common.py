"""Plumbing shared by the property_maintenance handlers, packaged next to each of them.

* ``client(name)``: boto3 clients, created on first use and reused by the container;
* ``log(event, **fields)``: one JSON log line (the metric filters match on $.event);
* ``iso`` / ``parse_time`` / ``plain``: timestamps and DynamoDB-typed items;
* ``json_response`` / ``error_response``: API Gateway proxy answers of the webhooks;
* ``connect_aurora``: pg8000 connection to Aurora through the RDS proxy (credentials from Secrets Manager), and
  ``aurora_schema``: the stack's tables (schema.sql, packaged next to this module); ``connect_redis``: TLS + AUTH
  client of the ElastiCache group;
* ``signed_request`` / ``signed_post``: SigV4-signed POSTs to the API Gateway HTTP proxy in
  front of the external notification/PDF APIs (AWS_IAM routes);
* ``free_job_slot``: give back one of a vendor's job slots in vendor_availability;
* ``process_sqs_batch``: the partial-batch loop of the SQS consumers.

redis and pg8000 come from the dependency layer and are imported on first use only.
"""

import json
import os
import ssl
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

_deserializer = TypeDeserializer()
_clients = {}
_session = None


def client(name):
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def log(event, **fields):
    print(json.dumps({"event": event, **fields}, default=str))


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value):
    """ISO-8601 text (``Z`` allowed) -> datetime; None for an empty value."""
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def plain(image):
    """DynamoDB-typed attributes -> Python values."""
    return {k: _deserializer.deserialize(v) for k, v in image.items()}


def json_response(status, body):
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def error_response(status, code, message, details=None):
    body = {"error": code, "message": message}
    if details:
        body["details"] = details
    return json_response(status, body)


def connect_aurora(timeout):
    """A new pg8000 connection to Aurora through the RDS proxy (TLS)."""
    import pg8000.native  # provided by the dependency layer

    secret = json.loads(client("secretsmanager").get_secret_value(
        SecretId=os.environ["DB_SECRET_ARN"])["SecretString"])
    return pg8000.native.Connection(
        user=secret["username"],
        password=secret["password"],
        host=os.environ["DB_PROXY_ENDPOINT"],
        port=int(os.environ.get("DB_PORT", "5432")),
        database=os.environ["DB_NAME"],
        ssl_context=ssl.create_default_context(),
        timeout=timeout,
    )


def aurora_schema():
    """The stack's Aurora tables: schema.sql, idempotent statements (IF NOT EXISTS) run whole by the first
    connection of the handlers that need them."""
    return Path(__file__).with_name("schema.sql").read_text()


def connect_redis(**socket_options):
    """A new redis client of the replication group (TLS unless REDIS_TLS=false, AUTH token from Secrets Manager)."""
    import redis  # provided by the dependency layer

    password = None
    secret_arn = os.environ.get("REDIS_AUTH_SECRET_ARN")
    if secret_arn:
        password = client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    return redis.Redis(
        host=os.environ["REDIS_HOST"],
        port=int(os.environ.get("REDIS_PORT", "6379")),
        password=password,
        ssl=os.environ.get("REDIS_TLS", "true") == "true",
        decode_responses=True,
        **socket_options,
    )


class PermanentError(Exception):
    """The provider rejected the message; retrying cannot help."""


def signed_request(url, payload, headers):
    """urllib POST request of JSON ``payload``, SigV4-signed for an AWS_IAM-protected API Gateway route."""
    global _session
    _session = _session or boto3.session.Session()
    body = json.dumps(payload).encode("utf-8")
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    credentials = _session.get_credentials()
    if credentials is not None:
        region = _session.region_name or os.environ.get("AWS_REGION", "us-east-1")
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return urllib.request.Request(url, data=body, headers=dict(request.headers.items()), method="POST")


def signed_post(url, payload, timeout=10):
    """POST JSON to an AWS_IAM-protected API Gateway route; returns the response body.

    4xx answers other than 429 raise PermanentError; other failures raise as they are.
    """
    http_request = signed_request(url, payload, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:  # noqa: S310 - https URL from config
            return response.read()
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code != 429:
            raise PermanentError(f"HTTP {exc.code}: {exc.read()[:200]!r}") from exc
        raise


def free_job_slot(vendor_id):
    """Give back one of the vendor's job slots (never below zero)."""
    try:
        client("dynamodb").update_item(
            TableName=os.environ["VENDOR_AVAILABILITY"],
            Key={"vendor_id": {"S": vendor_id}},
            UpdateExpression="ADD active_jobs :minus",
            ConditionExpression="active_jobs > :zero",
            ExpressionAttributeValues={":minus": {"N": "-1"}, ":zero": {"N": "0"}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def process_sqs_batch(event, process, failed_event, rejected_event=None):
    """Run ``process`` on each SQS record; failures go back to SQS as batch item failures.

    With ``rejected_event``, a PermanentError is logged under that event and the message dropped.
    """
    failures = []
    for record in event.get("Records", []):
        try:
            process(record)
        except Exception as exc:  # noqa: BLE001 - retried by SQS
            if rejected_event and isinstance(exc, PermanentError):
                log(rejected_event, message_id=record.get("messageId"), error=str(exc))
                continue
            log(failed_event, message_id=record.get("messageId"), error=repr(exc))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
