"""Driver locations stream consumer (Kinesis, PartitionKey driver_id).

Record: {"driver_id", "lat", "lon", "region", "status": available|on_delivery|offline, "ts": epoch s}.
Per batch (the latest fix per driver wins):
1. Redis GEO index {<region>}:drivers:geo gets every fix of an online driver (GEOADD; a
   driver on a delivery stays in it because the matcher may batch a second order by
   workload); offline drivers are removed (ZREM) so the matcher never sees them.
2. driver_locations (DynamoDB) is written only when the driver's geohash-5 cell or status
   changed or LOCATION_PERSIST_INTERVAL_SECONDS passed (tracked in Redis driver:{id}:cell), with TTL
   LOCATION_TTL_SECONDS (5 min): the GSI stays fresh for the consumer's fallback query
   without paying one DynamoDB write per GPS fix.
3. Drivers on a delivery: the position is pushed to the WebSocket connections tracking those
   orders (driver_orders.active_order_ids -> connections.order_id-index).
Malformed records are skipped; infrastructure errors fail the batch (bisect + retry).
"""

import base64
import json
import os
import time

import boto3

import datastores
import geo
import ws_connections

dynamodb = boto3.client("dynamodb")

DRIVER_LOCATIONS_TABLE = os.environ["DRIVER_LOCATIONS_TABLE"]
DRIVER_ORDERS_TABLE = os.environ["DRIVER_ORDERS_TABLE"]
TTL_ATTRIBUTE = os.environ.get("TTL_ATTRIBUTE", "expires_at")
LOCATION_TTL = int(os.environ.get("LOCATION_TTL_SECONDS", "300"))
PERSIST_INTERVAL = int(os.environ.get("LOCATION_PERSIST_INTERVAL_SECONDS", "30"))
STATUSES = {"available", "on_delivery", "offline"}


def parse(record):
    try:
        fix = json.loads(base64.b64decode(record["kinesis"]["data"]))
        lat, lon = float(fix["lat"]), float(fix["lon"])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or fix.get("status") not in STATUSES:
            return None
        return {
            "driver_id": str(fix["driver_id"]),
            "lat": lat,
            "lon": lon,
            "region": str(fix["region"]),
            "status": fix["status"],
            "ts": int(fix.get("ts") or time.time()),
        }
    except (KeyError, TypeError, ValueError):
        return None


def update_redis(fixes):
    """GEOADD/ZREM every fix; returns the drivers whose fix must be persisted to DynamoDB."""
    redis = datastores.redis_client()
    cells = {d: geo.encode(f["lat"], f["lon"], geo.GSI_PRECISION) for d, f in fixes.items()}
    read = redis.pipeline()
    for d in fixes:
        read.get(f"driver:{{{d}}}:cell")
    previous = dict(zip(fixes, read.execute()))
    write = redis.pipeline()
    persist = []
    for d, f in fixes.items():
        key = f"{{{f['region']}}}:drivers:geo"
        if f["status"] != "offline":
            write.geoadd(key, [f["lon"], f["lat"], d])
        else:
            write.zrem(key, d)
        marker = f"{cells[d]}|{f['status']}"
        if previous.get(d) != marker:
            persist.append(d)
            write.set(f"driver:{{{d}}}:cell", marker, ex=PERSIST_INTERVAL)
    write.execute()
    return persist, cells


def persist_locations(driver_ids, fixes, cells):
    now = int(time.time())
    requests = [
        {
            "PutRequest": {
                "Item": {
                    "driver_id": {"S": d},
                    "geohash": {"S": cells[d]},
                    "lat": {"N": repr(fixes[d]["lat"])},
                    "lon": {"N": repr(fixes[d]["lon"])},
                    "region": {"S": fixes[d]["region"]},
                    "driver_status": {"S": fixes[d]["status"]},
                    "updated_at": {"N": str(fixes[d]["ts"])},
                    TTL_ATTRIBUTE: {"N": str(now + LOCATION_TTL)},
                }
            }
        }
        for d in driver_ids
    ]
    for start in range(0, len(requests), 25):
        pending = {DRIVER_LOCATIONS_TABLE: requests[start : start + 25]}
        for attempt in range(6):
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(0.02 * (2**attempt))
        else:
            raise RuntimeError("driver_locations writes kept coming back unprocessed")


def active_orders(driver_ids):
    out = {}
    ids = list(driver_ids)
    for start in range(0, len(ids), 100):
        request = {
            DRIVER_ORDERS_TABLE: {
                "Keys": [{"driver_id": {"S": d}} for d in ids[start : start + 100]],
                "ProjectionExpression": "driver_id, active_order_ids",
            }
        }
        while request:
            resp = dynamodb.batch_get_item(RequestItems=request)
            for item in resp["Responses"].get(DRIVER_ORDERS_TABLE, []):
                orders = item.get("active_order_ids", {}).get("SS", [])
                if orders:
                    out[item["driver_id"]["S"]] = orders
            request = resp.get("UnprocessedKeys") or {}
    return out


def push_positions(fixes, orders_by_driver):
    pushed = 0
    for driver_id, order_ids in orders_by_driver.items():
        f = fixes[driver_id]
        for order_id in order_ids:
            connection_ids = ws_connections.order_connections(order_id)
            payload = json.dumps(
                {"type": "driver_location", "order_id": order_id, "lat": f["lat"], "lon": f["lon"], "ts": f["ts"]}
            ).encode("utf-8")
            pushed += sum(ws_connections.post(c, payload) for c in connection_ids)
    return pushed


def handler(event, context):
    fixes, skipped = {}, 0
    for record in event["Records"]:
        fix = parse(record)
        if fix is None:
            skipped += 1
            continue
        current = fixes.get(fix["driver_id"])
        if current is None or fix["ts"] >= current["ts"]:
            fixes[fix["driver_id"]] = fix
    if not fixes:
        return {"batchItemFailures": []}
    persist, cells = update_redis(fixes)
    if persist:
        persist_locations(persist, fixes, cells)
    busy = [d for d, f in fixes.items() if f["status"] == "on_delivery"]
    pushed = push_positions(fixes, active_orders(busy)) if busy else 0
    print(
        json.dumps(
            {"event": "locations_processed", "records": len(event["Records"]), "drivers": len(fixes), "persisted": len(persist), "skipped": skipped, "pushed": pushed}
        )
    )
    return {"batchItemFailures": []}
