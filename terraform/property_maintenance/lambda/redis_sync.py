"""Hourly Redis availability sync (EventBridge schedule).

1. Vendor locations: scan vendor_availability and GEOADD every available vendor with a
   location into the geo set the router searches (``vendors:geo``); vendors that are
   unavailable or have no location are removed (ZREM). Service zones go to the
   ``vendors:zone`` hash for the analytics dashboard.
2. Workload counts: jobs per vendor that are open (in_progress in Aurora
   vendor_assignments) rebuild the ``vendors:workload`` hash atomically (written to a
   temporary key, then RENAME), correcting drift of the best-effort HINCRBY updates.
"""

import os

from maintenance_common import client, connect_aurora, connect_redis, log, plain

_db = None
_redis = None


def redis_client():
    global _redis
    if _redis is None:
        _redis = connect_redis(socket_timeout=5, socket_connect_timeout=3)
    return _redis


def db():
    global _db
    if _db is None:
        _db = connect_aurora(timeout=10)
    return _db


def sync_locations(r):
    geo_key = os.environ.get("REDIS_GEO_KEY", "vendors:geo")
    added = removed = 0
    zones = {}
    paginator = client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(
        TableName=os.environ["VENDOR_AVAILABILITY"],
        ProjectionExpression="vendor_id, available, lat, lon, service_zone",
    ):
        pipe = r.pipeline(transaction=False)
        for raw in page.get("Items", []):
            row = plain(raw)
            vendor_id = row["vendor_id"]
            if row.get("available") is False or row.get("lat") is None or row.get("lon") is None:
                pipe.zrem(geo_key, vendor_id)
                removed += 1
                continue
            pipe.geoadd(geo_key, (float(row["lon"]), float(row["lat"]), vendor_id))
            added += 1
            if row.get("service_zone"):
                zones[vendor_id] = str(row["service_zone"])
        pipe.execute()
    if zones:
        r.hset("vendors:zone", mapping=zones)
    return added, removed


def sync_workloads(r):
    key = os.environ.get("REDIS_WORKLOAD_KEY", "vendors:workload")
    try:
        rows = db().run(
            "SELECT vendor_id, count(*) FROM vendor_assignments WHERE status = 'in_progress' GROUP BY vendor_id"
        )
    except Exception:
        global _db
        _db = None
        raise
    counts = {vendor_id: int(count) for vendor_id, count in rows}
    temp = f"{key}:sync"
    pipe = r.pipeline(transaction=True)
    pipe.delete(temp)
    if counts:
        pipe.hset(temp, mapping=counts)
        pipe.rename(temp, key)
    else:
        pipe.delete(key)
    pipe.execute()
    return len(counts)


def handler(event, context):
    r = redis_client()
    added, removed = sync_locations(r)
    vendors_with_jobs = sync_workloads(r)
    summary = {"geo_added": added, "geo_removed": removed, "vendors_with_open_jobs": vendors_with_jobs}
    log("redis_sync_done", **summary)
    return summary
