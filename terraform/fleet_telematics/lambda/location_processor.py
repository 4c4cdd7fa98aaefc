"""Location processor: Kinesis GPS stream -> vehicle_locations, Redis GEO index, geofence alerts.

Per batch:
1. decode + validate every record against schemas/gps_record.json (vehicle_id, ts epoch ms, lat, lon,
   speed_kph, heading_deg); invalid records are logged and dropped (never retried);
2. keep the newest fix per vehicle (older fixes in the same batch are superseded);
3. geofences: candidate fences come from a Redis GEO index of fence centres (GEOSEARCH around the fix), the fence
   definitions from DynamoDB geofences (cached per container);
4. conditional PutItem on vehicle_locations: only a newer position is written
   (ConditionExpression "attribute_not_exists(vehicle_id) OR #ts < :ts"). A failed condition means the stored
   fix is already newer (replay, retry, parallel batch): it is expected, not an error, and shows up in the
   ConditionalCheckFailedRequests alarm. ReturnValues=ALL_OLD gives the previous fence set, so enter/exit
   transitions are detected without an extra read;
5. GEOADD the accepted fixes to the vehicle GEO index (pipelined);
6. publish geofence enter/exit alerts to SNS geofence-alerts (PublishBatch, attribute `severity`).

Records whose write fails for another reason are returned in batchItemFailures (ReportBatchItemFailures).
"""

from __future__ import annotations

import json
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from record_schema import RecordError, decode_kinesis
from telematics_common import aws_client, publish_batch, redis_client, reset_redis, sns_attributes

LOCATIONS_TABLE = os.environ.get("LOCATIONS_TABLE", "vehicle-locations")
GEOFENCES_TABLE = os.environ.get("GEOFENCES_TABLE", "geofences")
GEOFENCE_TOPIC_ARN = os.environ.get("GEOFENCE_TOPIC_ARN", "")
VEHICLE_GEO_KEY = "geo:vehicles"
FENCE_GEO_KEY = "geo:geofences"
FENCE_SYNC_LOCK = "geo:geofences:sync-lock"
FENCE_MAX_RADIUS_KEY = "geo:geofences:max-radius-m"
FENCE_CACHE_SECONDS = 300
GEOHASH_PRECISION = 5  # ~4.9 km x 4.9 km cells for the GSI
WRITE_WORKERS = 16

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_FENCES: dict[str, dict] = {}
_FENCES_LOADED_AT = 0.0


def geohash(lat: float, lon: float, precision: int = GEOHASH_PRECISION) -> str:
    """Standard base32 geohash."""
    lat_range, lon_range = [-90.0, 90.0], [-180.0, 180.0]
    bits, bit_count, even, out = 0, 0, True, []
    while len(out) < precision:
        rng, value = (lon_range, lon) if even else (lat_range, lat)
        mid = (rng[0] + rng[1]) / 2
        if value >= mid:
            bits = (bits << 1) | 1
            rng[0] = mid
        else:
            bits <<= 1
            rng[1] = mid
        even = not even
        bit_count += 1
        if bit_count == 5:
            out.append(_BASE32[bits])
            bits, bit_count = 0, 0
    return "".join(out)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    radius = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


def point_in_polygon(lat: float, lon: float, polygon: list[list[float]]) -> bool:
    """Ray casting over [[lat, lon], ...] vertices."""
    inside = False
    j = len(polygon) - 1
    for i in range(len(polygon)):
        yi, xi = polygon[i]
        yj, xj = polygon[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / ((yj - yi) or 1e-12) + xi:
            inside = not inside
        j = i
    return inside


def _parse_fence(item: dict) -> dict:
    fence = {
        "geofence_id": item["geofence_id"]["S"],
        "name": item.get("name", {}).get("S", item["geofence_id"]["S"]),
        "kind": item.get("kind", {}).get("S", "circle"),
        "fence_type": item.get("fence_type", {}).get("S", "watch"),  # restricted | corridor | watch
        "severity": item.get("severity", {}).get("S", "medium"),
        "center_lat": float(item["center_lat"]["N"]),
        "center_lon": float(item["center_lon"]["N"]),
        "radius_m": float(item.get("radius_m", {}).get("N", "0")),
        "polygon": json.loads(item["polygon"]["S"]) if "polygon" in item else [],
        "fleet_id": item.get("fleet_id", {}).get("S", ""),
    }
    if fence["kind"] == "polygon" and fence["polygon"]:
        fence["radius_m"] = max(haversine_m(fence["center_lat"], fence["center_lon"], p[0], p[1])
                                for p in fence["polygon"])
    return fence


def _load_fences() -> dict[str, dict]:
    """All fence definitions (a few thousand at most), refreshed every FENCE_CACHE_SECONDS; keeps the Redis
    GEO index of fence centres in sync (one container at a time, guarded by SET NX)."""
    global _FENCES, _FENCES_LOADED_AT
    if _FENCES and time.time() - _FENCES_LOADED_AT < FENCE_CACHE_SECONDS:
        return _FENCES
    fences: dict[str, dict] = {}
    paginator = aws_client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(TableName=GEOFENCES_TABLE):
        for item in page.get("Items", []):
            fence = _parse_fence(item)
            fences[fence["geofence_id"]] = fence
    _FENCES, _FENCES_LOADED_AT = fences, time.time()
    redis = redis_client()
    if fences and redis.set(FENCE_SYNC_LOCK, "1", nx=True, ex=FENCE_CACHE_SECONDS):
        pipe = redis.pipeline(transaction=False)
        pipe.delete(FENCE_GEO_KEY)
        for fence in fences.values():
            pipe.geoadd(FENCE_GEO_KEY, (fence["center_lon"], fence["center_lat"], fence["geofence_id"]))
        pipe.set(FENCE_MAX_RADIUS_KEY, max(f["radius_m"] for f in fences.values()))
        pipe.execute()
    return fences


def _inside(fence: dict, lat: float, lon: float) -> bool:
    if fence["kind"] == "polygon" and fence["polygon"]:
        return point_in_polygon(lat, lon, fence["polygon"])
    return haversine_m(lat, lon, fence["center_lat"], fence["center_lon"]) <= fence["radius_m"]


def _fences_containing(fixes: list[dict]) -> list[set[str]]:
    """For each fix, the ids of the fences it is inside (GEOSEARCH candidates, then exact geometry)."""
    fences = _load_fences()
    if not fences:
        return [set() for _ in fixes]
    redis = redis_client()
    max_radius = float(redis.get(FENCE_MAX_RADIUS_KEY) or max(f["radius_m"] for f in fences.values()))
    pipe = redis.pipeline(transaction=False)
    for fix in fixes:
        pipe.geosearch(FENCE_GEO_KEY, longitude=fix["lon"], latitude=fix["lat"], radius=max(max_radius, 1.0),
                       unit="m")
    results = pipe.execute()
    containing = []
    for fix, candidates in zip(fixes, results):
        containing.append({fid for fid in candidates if fid in fences and _inside(fences[fid], fix["lat"], fix["lon"])})
    return containing


def _put_location(args: tuple[dict, set[str]]) -> tuple[str, set[str] | None]:
    """Conditional write of the newest fix; returns (status, previous fence set)."""
    fix, fence_ids = args
    item = {
        "vehicle_id": {"S": fix["vehicle_id"]},
        "ts": {"N": str(fix["ts"])},
        "lat": {"N": repr(float(fix["lat"]))},
        "lon": {"N": repr(float(fix["lon"]))},
        "speed_kph": {"N": repr(float(fix["speed_kph"]))},
        "heading_deg": {"N": repr(float(fix["heading_deg"]))},
        "geohash": {"S": geohash(fix["lat"], fix["lon"])},
        "geohash9": {"S": geohash(fix["lat"], fix["lon"], 9)},
    }
    if fence_ids:
        item["geofences"] = {"SS": sorted(fence_ids)}
    try:
        response = aws_client("dynamodb").put_item(
            TableName=LOCATIONS_TABLE,
            Item=item,
            ConditionExpression="attribute_not_exists(vehicle_id) OR #ts < :ts",
            ExpressionAttributeNames={"#ts": "ts"},
            ExpressionAttributeValues={":ts": {"N": str(fix["ts"])}},
            ReturnValues="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return "stale", None
        raise
    old = response.get("Attributes", {})
    return "written", set(old.get("geofences", {}).get("SS", []))


def _transitions(fix: dict, before: set[str], after: set[str]) -> list[dict]:
    fences = _FENCES
    alerts = []
    for fid in after - before:
        fence = fences.get(fid)
        if fence and fence["fence_type"] in ("restricted", "watch"):
            alerts.append((fence, "enter", "high" if fence["fence_type"] == "restricted" else fence["severity"]))
    for fid in before - after:
        fence = fences.get(fid)
        if fence and fence["fence_type"] in ("corridor", "watch"):
            alerts.append((fence, "exit", "high" if fence["fence_type"] == "corridor" else fence["severity"]))
    entries = []
    for fence, transition, severity in alerts:
        message = {
            "alert_type": f"geofence_{transition}", "vehicle_id": fix["vehicle_id"], "geofence_id": fence["geofence_id"],
            "geofence_name": fence["name"], "fence_type": fence["fence_type"], "fleet_id": fence["fleet_id"],
            "lat": fix["lat"], "lon": fix["lon"], "ts": fix["ts"], "severity": severity,
        }
        entries.append({
            "Id": f"{len(entries)}",
            "Message": json.dumps(message),
            "MessageAttributes": sns_attributes(severity, f"geofence_{transition}", vehicle_id=fix["vehicle_id"],
                                                fleet_id=fence["fleet_id"]),
        })
    return entries


def handler(event, context):
    records = event.get("Records", [])
    newest: dict[str, tuple[dict, list[str]]] = {}
    invalid = 0
    for record in records:
        sequence = record["kinesis"]["sequenceNumber"]
        try:
            fix = decode_kinesis(record, "gps_record")
        except RecordError as exc:
            invalid += 1
            print(json.dumps({"event": "invalid_record", "stream": "gps", "sequence": sequence, "error": str(exc)}))
            continue
        current = newest.get(fix["vehicle_id"])
        if current is None or fix["ts"] > current[0]["ts"]:
            # The superseded fix's sequence number travels with the newest one: if the write fails, both retry.
            newest[fix["vehicle_id"]] = (fix, (current[1] if current else []) + [sequence])
        else:
            current[1].append(sequence)

    fixes = [value[0] for value in newest.values()]
    sequences = [value[1] for value in newest.values()]
    try:
        containing = _fences_containing(fixes) if fixes else []
    except Exception as exc:  # noqa: BLE001 - Redis outage must not stop position updates
        reset_redis()
        print(json.dumps({"event": "geofence_check_skipped", "error": str(exc)}))
        containing = [set() for _ in fixes]

    failed: list[str] = []
    accepted: list[dict] = []
    alerts: list[dict] = []
    stale = 0
    with ThreadPoolExecutor(max_workers=WRITE_WORKERS) as pool:
        results = list(pool.map(_safe_put, zip(fixes, containing)))
    for fix, seqs, fence_ids, (status, before) in zip(fixes, sequences, containing, results):
        if status == "error":
            failed.extend(seqs)
        elif status == "stale":
            stale += 1
        else:
            accepted.append(fix)
            alerts.extend(_transitions(fix, before or set(), fence_ids))

    if accepted:
        try:
            pipe = redis_client().pipeline(transaction=False)
            for fix in accepted:
                pipe.geoadd(VEHICLE_GEO_KEY, (fix["lon"], fix["lat"], fix["vehicle_id"]))
            pipe.execute()
        except Exception as exc:  # noqa: BLE001 - the GEO index is rebuilt by the next fixes (10 s later)
            reset_redis()
            print(json.dumps({"event": "geoadd_failed", "count": len(accepted), "error": str(exc)}))

    if alerts and GEOFENCE_TOPIC_ARN:
        for index, entry in enumerate(alerts):
            entry["Id"] = str(index)
        not_published = publish_batch(aws_client("sns"), GEOFENCE_TOPIC_ARN, alerts)
        if not_published:
            print(json.dumps({"event": "geofence_publish_failed", "count": len(not_published)}))

    print(json.dumps({"event": "gps_batch", "records": len(records), "vehicles": len(fixes), "written": len(accepted),
                      "stale": stale, "invalid": invalid, "failed": len(failed), "geofence_alerts": len(alerts)}))
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}


def _safe_put(args: tuple[dict, set[str]]) -> tuple[str, set[str] | None]:
    try:
        return _put_location(args)
    except Exception as exc:  # noqa: BLE001 - reported per record as a batch item failure
        print(json.dumps({"event": "location_write_failed", "vehicle_id": args[0]["vehicle_id"], "error": str(exc)}))
        return "error", None
