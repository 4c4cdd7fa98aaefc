"""Task API handler: create, get and list tasks behind API Gateway (Lambda proxy integration).

Routes (the REST API's resources):
  POST /tasks          create a task (body: schemas/create_task.json); 201 with the stored item
  GET  /tasks/{id}     one task; 404 when absent
  GET  /tasks          tasks of one status, newest first (?status=open&limit=25&next=<token>)

Storage: DynamoDB table TASKS_TABLE (hash key `id`), GSI STATUS_INDEX (status, created_at) for the list.
The PutItem is conditional on `attribute_not_exists(id)`, so a retried request never overwrites a task.
Every created task also leaves an audit record in the log bucket (LOG_BUCKET, prefix audit/date=YYYY-MM-DD/).
List pages continue with an opaque `next` token: the DynamoDB LastEvaluatedKey signed with HMAC-SHA256 under
the `page_token_key` of the stack's secret (API_KEY_SECRET_ARN, read once per container), so a client cannot
forge a start key.
"""

import base64
import hashlib
import hmac
import json
import os
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import boto3
from botocore.exceptions import ClientError

_dynamodb = boto3.resource("dynamodb")
_s3 = boto3.client("s3")
_secrets = boto3.client("secretsmanager")
_page_key = None

PRIORITIES = ("low", "normal", "high")
STATUSES = ("open", "in_progress", "done")
MAX_LIMIT = 100


def _table():
    return _dynamodb.Table(os.environ["TASKS_TABLE"])


def _json_default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, default=_json_default),
    }


def _error(status, message):
    return _response(status, {"error": message})


def _page_token_key():
    global _page_key
    if _page_key is None:
        secret = json.loads(_secrets.get_secret_value(SecretId=os.environ["API_KEY_SECRET_ARN"])["SecretString"])
        _page_key = secret["page_token_key"].encode()
    return _page_key


def encode_token(last_key, key):
    payload = base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode()
    signature = hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}.{signature}"


def decode_token(token, key):
    """The start key a token carries, or None when it was not issued by this API (tampered, malformed)."""
    payload, _, signature = token.partition(".")
    expected = hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(signature, expected):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None


def validate_new_task(body):
    """The item fields of a create request, or a message saying what is wrong (API Gateway's model checks the
    same rules; this keeps direct invocations honest)."""
    if not isinstance(body, dict):
        return None, "body must be a JSON object"
    title = body.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        return None, "title is required (1-200 characters)"
    priority = body.get("priority", "normal")
    if priority not in PRIORITIES:
        return None, f"priority must be one of {', '.join(PRIORITIES)}"
    unknown = set(body) - {"title", "description", "priority", "assignee"}
    if unknown:
        return None, f"unknown fields: {', '.join(sorted(unknown))}"
    fields = {"title": title.strip(), "priority": priority}
    for name, limit in (("description", 4000), ("assignee", 128)):
        value = body.get(name)
        if value is not None:
            if not isinstance(value, str) or len(value) > limit:
                return None, f"{name} must be a string of at most {limit} characters"
            fields[name] = value
    return fields, None


def create_task(event):
    try:
        body = json.loads(event.get("body") or "null")
    except json.JSONDecodeError:
        return _error(400, "body is not JSON")
    fields, problem = validate_new_task(body)
    if problem:
        return _error(400, problem)
    now = datetime.now(timezone.utc)
    item = {"id": str(uuid.uuid4()), "status": "open", "created_at": now.isoformat(), **fields}
    try:
        _table().put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return _error(409, "task id collision; retry")
        raise
    request_id = (event.get("requestContext") or {}).get("requestId", "")
    audit = {"action": "create", "task": item, "request_id": request_id}
    _s3.put_object(
        Bucket=os.environ["LOG_BUCKET"],
        Key=f"audit/date={now:%Y-%m-%d}/{item['id']}.json",
        Body=json.dumps(audit).encode(),
        ContentType="application/json",
    )
    return _response(201, item)


def get_task(task_id):
    found = _table().get_item(Key={"id": task_id}).get("Item")
    return _response(200, found) if found else _error(404, f"task {task_id} not found")


def list_tasks(params):
    status = params.get("status", "open")
    if status not in STATUSES:
        return _error(400, f"status must be one of {', '.join(STATUSES)}")
    try:
        limit = int(params.get("limit", "25"))
    except ValueError:
        return _error(400, "limit must be an integer")
    if not 1 <= limit <= MAX_LIMIT:
        return _error(400, f"limit must be between 1 and {MAX_LIMIT}")
    query = {
        "IndexName": os.environ["STATUS_INDEX"],
        "KeyConditionExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": status},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if params.get("next"):
        start = decode_token(params["next"], _page_token_key())
        if start is None:
            return _error(400, "next is not a token this API issued")
        query["ExclusiveStartKey"] = start
    page = _table().query(**query)
    body = {"items": page.get("Items", [])}
    if page.get("LastEvaluatedKey"):
        body["next"] = encode_token(page["LastEvaluatedKey"], _page_token_key())
    return _response(200, body)


def handler(event, context):
    method = event.get("httpMethod")
    resource = event.get("resource")
    if resource == "/tasks" and method == "POST":
        return create_task(event)
    if resource == "/tasks" and method == "GET":
        return list_tasks(event.get("queryStringParameters") or {})
    if resource == "/tasks/{id}" and method == "GET":
        return get_task((event.get("pathParameters") or {}).get("id", ""))
    return _error(405, f"{method} {resource} is not a route of this API")
