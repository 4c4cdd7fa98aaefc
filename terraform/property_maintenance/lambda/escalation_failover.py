"""Escalation step 2 (Step Functions task): move the job to the next vendor.

Runs when the primary vendor did not acknowledge (status still "assigned" at the
deadline) or the primary assignment failed. The emergency rule's radius is widened by
FAILOVER_RADIUS_FACTOR, vendors already tried are excluded, and the claim is
conditional on what was observed:
* still assigned to the previous vendor: "#status = :assigned AND vendor_id = :prev AND #version = :v"
  (the previous vendor's job slot is then released);
* still new (primary failed):            "#status = :new AND #version = :v".
A job that went in_progress/completed meanwhile is left alone (already_handled).
"""

import dataclasses
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
    """No other vendor within the widened emergency radius qualifies."""


def handled(request, now, tried):
    return {"vendor_id": request.get("vendor_id") or "none", "ack_deadline": iso(now),
            "tried_vendor_ids": tried, "already_handled": True}


def handler(event, context):
    now = utc_now()
    previous = event.get("assignment") or {}
    tried = [v for v in previous.get("tried_vendor_ids") or [] if v and v != "none"]
    request = get_request(event["request_id"])
    if request is None:
        raise ValueError(f"unknown request {event['request_id']}")
    status = request.get("status")
    if status not in ("new", "assigned"):
        return handled(request, now, tried)
    current_vendor = request.get("vendor_id") if status == "assigned" else None
    if current_vendor and current_vendor not in tried:
        tried.append(current_vendor)

    base_rule, resolution_hours = load_rule(os.environ.get("EMERGENCY_PRIORITY", "emergency"))
    factor = float(os.environ.get("FAILOVER_RADIUS_FACTOR", "1.5"))
    rule = dataclasses.replace(base_rule, max_distance_km=base_rule.max_distance_km * factor)
    location = request.get("location") or {}
    candidates = load_candidates(nearby_vendors(float(location["lat"]), float(location["lon"]), rule.max_distance_km))

    if status == "assigned":
        condition = "#status = :assigned AND vendor_id = :prev AND #version = :v"
        values = {":prev": {"S": current_vendor}, ":v": {"N": str(int(request["version"]))}}
    else:
        condition = "#status = :new AND #version = :v"
        values = {":new": {"S": "new"}, ":v": {"N": str(int(request["version"]))}}

    for _ in range(MAX_RESERVATION_ATTEMPTS):
        vendor = choose_vendor(request["category"], rule, candidates, exclude=tried)
        if vendor is None:
            break
        tried.append(vendor.vendor_id)
        if not reserve_vendor(vendor.vendor_id):
            continue
        version = claim_request(request["request_id"], condition, values, vendor, rule, resolution_hours, now)
        if version is None:
            release_vendor(vendor.vendor_id)
            return handled(get_request(request["request_id"]) or request, now, tried)
        if current_vendor:
            release_vendor(current_vendor)
        publish_assignment(request, vendor, version)
        deadline = now + timedelta(seconds=int(os.environ.get("VENDOR_ACK_TIMEOUT_SECONDS", "900")))
        log("emergency_failover_assigned", request_id=request["request_id"], vendor_id=vendor.vendor_id,
            previous_vendor_id=current_vendor, distance_km=round(vendor.distance_km, 3))
        return {"vendor_id": vendor.vendor_id, "ack_deadline": iso(deadline), "tried_vendor_ids": tried,
                "already_handled": False}
    log("emergency_failover_no_vendor", request_id=request["request_id"], tried=tried)
    raise NoVendorAvailable(f"no failover vendor for {request['request_id']}")
