"""Escalation step 1 (Step Functions task): assign the best vendor under the emergency rule.

Input: the EmergencyMaintenanceRequest detail ({request_id, ...}).
Output: {vendor_id, ack_deadline, tried_vendor_ids, already_handled}; ack_deadline
(now + VENDOR_ACK_TIMEOUT_SECONDS, RFC 3339) drives the state machine's Wait state
(TimestampPath). The claim is the same optimistic write as the router's:
"#status = :new AND #version = :v" with version + 1. Raises NoVendorAvailable when no
vendor qualifies; the state machine catches it and runs the failover.
"""

import os
from datetime import timedelta

from loadgen.matching.vendor_assignment import choose_vendor
from vendor_pool import (
    claim_request,
    get_request,
    iso,
    load_candidates,
    load_rule,
    log,
    nearby_vendors,
    publish_assignment,
    release_vendor,
    reserve_vendor,
    utc_now,
)

MAX_RESERVATION_ATTEMPTS = 3


class NoVendorAvailable(Exception):
    """No vendor within the emergency radius has the skill and a free job slot."""


def handled(request, now):
    vendor_id = request.get("vendor_id") or "none"
    return {"vendor_id": vendor_id, "ack_deadline": iso(now), "tried_vendor_ids": [vendor_id],
            "already_handled": True}


def handler(event, context):
    now = utc_now()
    request = get_request(event["request_id"])
    if request is None:
        raise ValueError(f"unknown request {event['request_id']}")
    if request.get("status") != "new":
        return handled(request, now)
    rule, resolution_hours = load_rule(os.environ.get("EMERGENCY_PRIORITY", "emergency"))
    location = request.get("location") or {}
    candidates = load_candidates(nearby_vendors(float(location["lat"]), float(location["lon"]), rule.max_distance_km))
    tried = []
    for _ in range(MAX_RESERVATION_ATTEMPTS):
        vendor = choose_vendor(request["category"], rule, candidates, exclude=tried)
        if vendor is None:
            break
        tried.append(vendor.vendor_id)
        if not reserve_vendor(vendor.vendor_id):
            continue
        version = claim_request(
            request["request_id"],
            "#status = :new AND #version = :v",
            {":new": {"S": "new"}, ":v": {"N": str(int(request["version"]))}},
            vendor, rule, resolution_hours, now,
        )
        if version is None:
            release_vendor(vendor.vendor_id)
            return handled(get_request(request["request_id"]) or request, now)
        publish_assignment(request, vendor, version)
        deadline = now + timedelta(seconds=int(os.environ.get("VENDOR_ACK_TIMEOUT_SECONDS", "900")))
        log("emergency_vendor_assigned", request_id=request["request_id"], vendor_id=vendor.vendor_id,
            distance_km=round(vendor.distance_km, 3), ack_deadline=iso(deadline))
        return {"vendor_id": vendor.vendor_id, "ack_deadline": iso(deadline), "tried_vendor_ids": tried,
                "already_handled": False}
    log("emergency_no_vendor", request_id=request["request_id"], candidates=len(candidates), tried=tried)
    raise NoVendorAvailable(f"no eligible emergency vendor for {request['request_id']}")
