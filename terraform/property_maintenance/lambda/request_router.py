"""Request router: vendor assignment for new maintenance requests (DynamoDB stream consumer).

Per INSERT record with status "new" (the event source mapping filters the rest out):

* emergency priority -> an EmergencyMaintenanceRequest event on the maintenance bus;
  the EventBridge rule starts the escalation state machine, which assigns the vendor
  (primary + failover) under the emergency rule;
* every other priority:
  1. the PriorityRule of the request's priority from priority_matrix;
  2. GEOSEARCH on Redis for vendors within rule.max_distance_km of the unit;
  3. skills/workload/rating of those vendors from vendor_availability;
  4. choose_vendor() from loadgen.matching.vendor_assignment (the simulator benches the
     same code): skill, radius and capacity filters, weighted score, deterministic ties;
  5. reserve a job slot on the vendor (conditional ADD on vendor_availability), then
     claim the request with ConditionExpression "#status = :new AND #version = :v"
     (status is a reserved word, hence ExpressionAttributeNames) and
     SET version = version + 1; a lost race releases the slot and stops (another
     writer owns the request);
  6. publish the assignment to the request-assigned SNS topic.

Failures are reported per record (ReportBatchItemFailures) so one bad record does not
block its shard; replays are safe because every write is conditional.
"""

import json
import os
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from loadgen.matching.vendor_assignment import choose_vendor
from vendor_pool import (
    claim_request,
    client,
    iso,
    load_candidates,
    load_rule,
    log,
    nearby_vendors,
    plain,
    publish_assignment,
    release_vendor,
    reserve_vendor,
    utc_now,
)

MAX_RESERVATION_ATTEMPTS = 3


def _emit_emergency(request):
    detail = {
        "request_id": request["request_id"],
        "property_id": request.get("property_id"),
        "unit_id": request.get("unit_id"),
        "tenant_id": request.get("tenant_id"),
        "category": request.get("category"),
        "priority": request.get("priority"),
        "status": request.get("status"),
        "location": request.get("location"),
        "created_at": request.get("created_at"),
    }
    response = client("events").put_events(Entries=[{
        "Source": os.environ["EVENT_SOURCE"],
        "DetailType": os.environ["EMERGENCY_DETAIL_TYPE"],
        "Detail": json.dumps(detail, default=str),
        "EventBusName": os.environ["EVENT_BUS_NAME"],
    }])
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"PutEvents failed: {response['Entries']}")
    log("emergency_escalation_requested", request_id=request["request_id"])


def _record_no_vendor(request, rule, now):
    """Keep the request "new" but give it an SLA deadline so the compliance sweep flags it."""
    created = datetime.fromisoformat(str(request["created_at"]).replace("Z", "+00:00"))
    due = created + timedelta(minutes=rule.response_sla_minutes)
    try:
        client("dynamodb").update_item(
            TableName=os.environ["REQUESTS_TABLE"],
            Key={"request_id": {"S": request["request_id"]}},
            UpdateExpression=(
                "SET last_assignment_error = :err, response_due_at = if_not_exists(response_due_at, :due), "
                "updated_at = :now, #version = #version + :one"
            ),
            ConditionExpression="#status = :new AND #version = :v",
            ExpressionAttributeNames={"#status": "status", "#version": "version"},
            ExpressionAttributeValues={
                ":err": {"S": "no_eligible_vendor"},
                ":due": {"S": iso(due)},
                ":now": {"S": iso(now)},
                ":one": {"N": "1"},
                ":new": {"S": "new"},
                ":v": {"N": str(int(request["version"]))},
            },
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def assign(request):
    now = utc_now()
    rule, resolution_hours = load_rule(request["priority"])
    location = request.get("location") or {}
    nearby = nearby_vendors(float(location["lat"]), float(location["lon"]), rule.max_distance_km)
    candidates = load_candidates(nearby)
    tried = []
    for _ in range(MAX_RESERVATION_ATTEMPTS):
        vendor = choose_vendor(request["category"], rule, candidates, exclude=tried)
        if vendor is None:
            break
        tried.append(vendor.vendor_id)
        if not reserve_vendor(vendor.vendor_id):
            continue  # filled up since it was read; next best
        version = claim_request(
            request["request_id"],
            "#status = :new AND #version = :v",
            {":new": {"S": "new"}, ":v": {"N": str(int(request["version"]))}},
            vendor, rule, resolution_hours, now,
        )
        if version is None:
            release_vendor(vendor.vendor_id)
            log("assignment_conflict", request_id=request["request_id"], vendor_id=vendor.vendor_id)
            return
        publish_assignment(request, vendor, version)
        log("vendor_assigned", request_id=request["request_id"], vendor_id=vendor.vendor_id,
            priority=request["priority"], distance_km=round(vendor.distance_km, 3),
            candidates=len(candidates), version=version)
        return
    log("assignment_skipped", reason="no_eligible_vendor", request_id=request["request_id"],
        priority=request["priority"], category=request.get("category"),
        candidates=len(candidates), tried=tried)
    _record_no_vendor(request, rule, now)


def process(record):
    if record.get("eventName") != "INSERT":
        return
    request = plain(record["dynamodb"].get("NewImage", {}))
    if request.get("status") != "new":
        return
    if request.get("priority") == os.environ.get("EMERGENCY_PRIORITY", "emergency"):
        _emit_emergency(request)
    else:
        assign(request)


def handler(event, context):
    for record in event.get("Records", []):
        try:
            process(record)
        except Exception as exc:  # noqa: BLE001 - reported per record below
            sequence = record.get("dynamodb", {}).get("SequenceNumber")
            log("router_record_failed", sequence=sequence, error=repr(exc))
            # Lambda retries the shard from the first failed record; stop here to keep order.
            return {"batchItemFailures": [{"itemIdentifier": sequence}]}
    return {"batchItemFailures": []}
