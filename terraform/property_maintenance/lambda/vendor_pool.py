"""Vendor candidate lookup shared by the request router and the escalation functions.

* Redis (ElastiCache, TLS + AUTH): GEOSEARCH on the ``vendors:geo`` set around the unit
  (GEORADIUS on servers older than 6.2), nearest first, at most GEO_CANDIDATE_LIMIT.
* DynamoDB vendor_availability: skills, workload and rating of those vendors
  (BatchGetItem), turned into ``VendorCandidate`` objects for loadgen.matching.
* DynamoDB priority_matrix: the ``PriorityRule`` of a priority (cached for 5 minutes).
* Workload reservation: ``active_jobs`` is incremented with the condition
  ``active_jobs < max_active_jobs`` before a request is claimed, and released if the
  claim loses its race.

The redis client library comes from the dependency layer (layer/requirements.txt, built by Terraform)
and is imported on first use only.
"""

import json
import os
import time
from datetime import datetime, timedelta, timezone

from botocore.exceptions import ClientError

from loadgen.matching.vendor_assignment import DEFAULT_RULES, PriorityRule, VendorCandidate
from maintenance_common import client, connect_redis, free_job_slot, iso, log, plain

RULE_CACHE_SECONDS = 300
_rules = {}
_redis = None


def utc_now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def get_request(request_id):
    item = client("dynamodb").get_item(
        TableName=os.environ["REQUESTS_TABLE"],
        Key={"request_id": {"S": request_id}},
        ConsistentRead=True,
    ).get("Item")
    return plain(item) if item else None


def load_rule(priority):
    """(PriorityRule, resolution_sla_hours) of a priority, from priority_matrix."""
    cached = _rules.get(priority)
    if cached and cached[0] > time.monotonic():
        return cached[1], cached[2]
    item = client("dynamodb").get_item(
        TableName=os.environ["PRIORITY_MATRIX_TABLE"], Key={"priority": {"S": priority}}
    ).get("Item")
    if item:
        row = plain(item)
        rule = PriorityRule(
            priority=priority,
            max_distance_km=float(row["max_distance_km"]),
            distance_weight=float(row["distance_weight"]),
            workload_weight=float(row["workload_weight"]),
            rating_weight=float(row["rating_weight"]),
            response_sla_minutes=int(row["response_sla_minutes"]),
        )
        resolution_hours = int(row.get("resolution_sla_hours", 72))
    else:
        # The table is seeded by Terraform; fall back to the reference rules if it is not.
        log("priority_rule_missing", priority=priority)
        rule = DEFAULT_RULES.get(priority, DEFAULT_RULES["standard"])
        resolution_hours = 72
    _rules[priority] = (time.monotonic() + RULE_CACHE_SECONDS, rule, resolution_hours)
    return rule, resolution_hours


def redis_client():
    global _redis
    if _redis is None:
        _redis = connect_redis(socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
    return _redis


def nearby_vendors(lat, lon, radius_km, limit=None):
    """[(vendor_id, distance_km)] within radius_km of (lat, lon), nearest first."""
    import redis  # provided by the dependency layer

    limit = limit or int(os.environ.get("GEO_CANDIDATE_LIMIT", "25"))
    key = os.environ.get("REDIS_GEO_KEY", "vendors:geo")
    r = redis_client()
    try:
        rows = r.geosearch(
            key, longitude=lon, latitude=lat, radius=radius_km, unit="km",
            sort="ASC", count=limit, withdist=True,
        )
    except redis.exceptions.ResponseError:
        # Servers before 6.2 have no GEOSEARCH.
        rows = r.georadius(key, lon, lat, radius_km, unit="km", withdist=True, count=limit, sort="ASC")
    return [(str(member), float(dist)) for member, dist in rows]


def load_candidates(nearby):
    """VendorCandidate objects for the (vendor_id, distance_km) pairs, from vendor_availability."""
    distances = dict(nearby)
    table = os.environ["VENDOR_AVAILABILITY"]
    ids = list(distances)
    items = []
    for start in range(0, len(ids), 100):
        request = {table: {
            "Keys": [{"vendor_id": {"S": vid}} for vid in ids[start:start + 100]],
            "ProjectionExpression": "vendor_id, skills, active_jobs, max_active_jobs, rating, available",
        }}
        for attempt in range(5):
            response = client("dynamodb").batch_get_item(RequestItems=request)
            items.extend(response.get("Responses", {}).get(table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * (2 ** attempt))
    candidates = []
    for raw in items:
        row = plain(raw)
        if row.get("available") is False:
            continue
        vid = row["vendor_id"]
        candidates.append(VendorCandidate(
            vendor_id=vid,
            skills=frozenset(str(s).lower() for s in row.get("skills", set())),
            distance_km=distances[vid],
            active_jobs=int(row.get("active_jobs", 0)),
            max_active_jobs=int(row.get("max_active_jobs", 0)),
            rating=float(row.get("rating", 0)),
        ))
    return candidates


def reserve_vendor(vendor_id):
    """Take one job slot of the vendor; False if it filled up since it was read."""
    try:
        client("dynamodb").update_item(
            TableName=os.environ["VENDOR_AVAILABILITY"],
            Key={"vendor_id": {"S": vendor_id}},
            UpdateExpression="ADD active_jobs :one",
            ConditionExpression="attribute_exists(vendor_id) AND (attribute_not_exists(active_jobs) OR active_jobs < max_active_jobs)",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    _bump_workload(vendor_id, 1)
    return True


def release_vendor(vendor_id):
    free_job_slot(vendor_id)
    _bump_workload(vendor_id, -1)


def _bump_workload(vendor_id, delta):
    """Best effort: the hourly sync rebuilds the counters from Aurora."""
    try:
        redis_client().hincrby(os.environ.get("REDIS_WORKLOAD_KEY", "vendors:workload"), vendor_id, delta)
    except Exception as exc:  # noqa: BLE001 - a cache miss must not fail an assignment
        log("redis_workload_update_failed", vendor_id=vendor_id, error=str(exc))


def claim_request(request_id, condition, values, vendor, rule, resolution_hours, now):
    """Write the assignment with the given ConditionExpression; new version or None if the race was lost.

    ``condition`` always checks the expected #status and #version (optimistic lock) and
    the update increments version, so exactly one writer wins per version.
    """
    attribute_values = {
        ":assigned": {"S": "assigned"},
        ":vendor": {"S": vendor.vendor_id},
        ":now": {"S": iso(now)},
        ":due": {"S": iso(now + timedelta(minutes=rule.response_sla_minutes))},
        ":rdue": {"S": iso(now + timedelta(hours=resolution_hours))},
        ":dist": {"N": str(round(vendor.distance_km, 3))},
        ":one": {"N": "1"},
    }
    attribute_values.update(values)
    try:
        response = client("dynamodb").update_item(
            TableName=os.environ["REQUESTS_TABLE"],
            Key={"request_id": {"S": request_id}},
            UpdateExpression=(
                "SET #status = :assigned, vendor_id = :vendor, assigned_at = :now, "
                "response_due_at = :due, resolution_due_at = :rdue, assignment_distance_km = :dist, "
                "updated_at = :now, #version = #version + :one"
            ),
            ConditionExpression=condition,
            ExpressionAttributeNames={"#status": "status", "#version": "version"},
            ExpressionAttributeValues=attribute_values,
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
    return int(response["Attributes"]["version"]["N"])


def publish_assignment(request, vendor, version, event_type="request_assigned"):
    message = {
        "event_type": event_type,
        "request_id": request["request_id"],
        "vendor_id": vendor.vendor_id,
        "property_id": request.get("property_id"),
        "unit_id": request.get("unit_id"),
        "tenant_id": request.get("tenant_id"),
        "category": request.get("category"),
        "priority": request.get("priority"),
        "distance_km": round(vendor.distance_km, 3),
        "version": version,
    }
    client("sns").publish(
        TopicArn=os.environ["REQUEST_ASSIGNED_TOPIC"],
        Message=json.dumps(message),
        MessageAttributes={
            "event_type": {"DataType": "String", "StringValue": event_type},
            "priority": {"DataType": "String", "StringValue": str(request.get("priority", "standard"))},
            "property_id": {"DataType": "String", "StringValue": str(request.get("property_id", ""))},
            "vendor_id": {"DataType": "String", "StringValue": vendor.vendor_id},
        },
    )
