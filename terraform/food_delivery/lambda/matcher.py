"""Driver matcher: pick the best driver for a placed order and assign it atomically.

Invoked synchronously by the order consumer with
{"order_id", "region", "restaurant": {"lat", "lon", ...}, "candidates": [{"driver_id", "distance_km"}]}.

1. Nearby drivers: Redis GEOSEARCH on {<region>}:drivers:geo around the restaurant within
   MAX_RADIUS_KM (ASC, WITHDIST). The consumer's geohash-GSI candidates fill in drivers Redis
   did not return (and are the whole set if Redis is unreachable).
2. Workload: driver_orders.active_order_count / max_active_orders; rating: driver_profiles.
3. Surge: ZSCORE surge:multipliers <region> (missing = 1.0).
4. Rank with loadgen.matching.driver_matching (multi-criteria score, surge-weighted distance,
   hard radius/workload filters, deterministic tie-break - see that module's docstring).
5. For the best drivers in order: reserve capacity on driver_orders (conditional increment of
   active_order_count below max_active_orders), then commit the order with
   ConditionExpression "#status = :placed AND #version = :v" (SET status = assigned,
   version + 1, driver, surge fee). If the order changed underneath us, the reservation is
   released and the order is left to whoever changed it.
"""

import json
import os
import time
from decimal import Decimal

import boto3
from botocore.exceptions import ClientError

import datastores
from loadgen.matching.driver_matching import (
    DriverCandidate,
    MatchWeights,
    effective_surge,
    rank_drivers,
    surge_adjusted_fee,
)

dynamodb = boto3.client("dynamodb")

ORDERS_TABLE = os.environ["ORDERS_TABLE"]
DRIVER_ORDERS_TABLE = os.environ["DRIVER_ORDERS_TABLE"]
DRIVER_PROFILES_TABLE = os.environ["DRIVER_PROFILES_TABLE"]
WEIGHTS = MatchWeights(
    distance_weight=float(os.environ.get("MATCH_DISTANCE_WEIGHT", "0.5")),
    workload_weight=float(os.environ.get("MATCH_WORKLOAD_WEIGHT", "0.3")),
    rating_weight=float(os.environ.get("MATCH_RATING_WEIGHT", "0.2")),
    max_radius_km=float(os.environ.get("MAX_RADIUS_KM", "6")),
)
DEFAULT_MAX_ACTIVE_ORDERS = int(os.environ.get("MAX_ACTIVE_ORDERS", "2"))
BASE_DELIVERY_FEE = Decimal(os.environ.get("BASE_DELIVERY_FEE", "2.99"))
DEFAULT_RATING = 4.0  # new drivers without ratings rank as slightly below average
GEO_SEARCH_COUNT = 50
MAX_RESERVATION_ATTEMPTS = 3
SURGE_KEY = "surge:multipliers"


def _log(event, **fields):
    print(json.dumps({"event": event, **fields}, default=str))


def _conditional_failed(err):
    return err.response["Error"]["Code"] == "ConditionalCheckFailedException"


def nearby_from_redis(region, lat, lon):
    """{driver_id: distance_km} from the region's GEO set, or {} when Redis is unavailable."""
    try:
        hits = datastores.redis_client().geosearch(
            f"{{{region}}}:drivers:geo",
            longitude=lon,
            latitude=lat,
            radius=WEIGHTS.max_radius_km,
            unit="km",
            sort="ASC",
            count=GEO_SEARCH_COUNT,
            withdist=True,
        )
        return {member: float(dist) for member, dist in hits}
    except Exception as exc:  # noqa: BLE001 - fall back to the GSI candidates
        _log("redis_geosearch_failed", error=repr(exc))
        return {}


def surge_for(region):
    try:
        score = datastores.redis_client().zscore(SURGE_KEY, region)
    except Exception as exc:  # noqa: BLE001 - no surge information: charge the base fee
        _log("redis_surge_failed", error=repr(exc))
        return 1.0
    return effective_surge(float(score)) if score is not None else 1.0


def workload_and_ratings(driver_ids):
    """{driver_id: (active, max_active, rating)} via one BatchGetItem per 50 drivers."""
    out = {d: [0, DEFAULT_MAX_ACTIVE_ORDERS, DEFAULT_RATING] for d in driver_ids}
    ids = list(driver_ids)
    for start in range(0, len(ids), 50):
        keys = [{"driver_id": {"S": d}} for d in ids[start : start + 50]]
        request = {
            DRIVER_ORDERS_TABLE: {"Keys": keys, "ProjectionExpression": "driver_id, active_order_count, max_active_orders"},
            DRIVER_PROFILES_TABLE: {"Keys": keys, "ProjectionExpression": "driver_id, rating"},
        }
        for attempt in range(5):
            resp = dynamodb.batch_get_item(RequestItems=request)
            for item in resp["Responses"].get(DRIVER_ORDERS_TABLE, []):
                row = out[item["driver_id"]["S"]]
                row[0] = int(item.get("active_order_count", {}).get("N", "0"))
                row[1] = int(item.get("max_active_orders", {}).get("N", str(DEFAULT_MAX_ACTIVE_ORDERS)))
            for item in resp["Responses"].get(DRIVER_PROFILES_TABLE, []):
                if "rating" in item:
                    out[item["driver_id"]["S"]][2] = float(item["rating"]["N"])
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.02 * (2**attempt))
        else:
            raise RuntimeError("BatchGetItem kept returning unprocessed keys")
    return {d: tuple(v) for d, v in out.items()}


def reserve(driver_id, order_id, max_active):
    """Conditionally take one of the driver's order slots; True when held for this order."""
    try:
        dynamodb.update_item(
            TableName=DRIVER_ORDERS_TABLE,
            Key={"driver_id": {"S": driver_id}},
            UpdateExpression="ADD active_order_count :one, active_order_ids :oid SET updated_at = :now",
            ConditionExpression=(
                "(attribute_not_exists(active_order_count) OR active_order_count < :max) "
                "AND NOT contains(active_order_ids, :order)"
            ),
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":max": {"N": str(max_active)},
                ":oid": {"SS": [order_id]},
                ":order": {"S": order_id},
                ":now": {"N": str(int(time.time()))},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return True
    except ClientError as err:
        if not _conditional_failed(err):
            raise
        held = err.response.get("Item", {}).get("active_order_ids", {}).get("SS", [])
        return order_id in held  # a retry that already reserved this driver


def release(driver_id, order_id):
    try:
        dynamodb.update_item(
            TableName=DRIVER_ORDERS_TABLE,
            Key={"driver_id": {"S": driver_id}},
            UpdateExpression="ADD active_order_count :minus DELETE active_order_ids :oid",
            ConditionExpression="contains(active_order_ids, :order)",
            ExpressionAttributeValues={":minus": {"N": "-1"}, ":oid": {"SS": [order_id]}, ":order": {"S": order_id}},
        )
    except ClientError as err:
        if not _conditional_failed(err):
            raise


def commit(order_id, version, candidate, score, surge, fee):
    """The assignment write; False when status/version changed underneath us."""
    try:
        dynamodb.update_item(
            TableName=ORDERS_TABLE,
            Key={"order_id": {"S": order_id}},
            UpdateExpression=(
                "SET #status = :assigned, #version = #version + :one, driver_id = :driver, "
                "assigned_at = :now, pickup_distance_km = :dist, match_score = :score, "
                "surge_multiplier = :surge, delivery_fee = :fee"
            ),
            ConditionExpression="#status = :placed AND #version = :v",
            ExpressionAttributeNames={"#status": "status", "#version": "version"},
            ExpressionAttributeValues={
                ":assigned": {"S": "assigned"},
                ":placed": {"S": "placed"},
                ":v": {"N": str(version)},
                ":one": {"N": "1"},
                ":driver": {"S": candidate.driver_id},
                ":now": {"S": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                ":dist": {"N": str(round(candidate.distance_km, 3))},
                ":score": {"N": str(score)},
                ":surge": {"N": str(surge)},
                ":fee": {"N": str(fee)},
            },
        )
        return True
    except ClientError as err:
        if _conditional_failed(err):
            return False
        raise


def handler(event, context):
    order_id, region = event["order_id"], event["region"]
    restaurant = event["restaurant"]
    item = dynamodb.get_item(
        TableName=ORDERS_TABLE,
        Key={"order_id": {"S": order_id}},
        ProjectionExpression="#status, #version, base_fee",
        ExpressionAttributeNames={"#status": "status", "#version": "version"},
        ConsistentRead=True,
    ).get("Item")
    if not item:
        return {"status": "not_found", "order_id": order_id}
    if item["status"]["S"] != "placed":
        return {"status": item["status"]["S"], "order_id": order_id}
    version = int(item["version"]["N"])
    base_fee = Decimal(item["base_fee"]["N"]) if "base_fee" in item else BASE_DELIVERY_FEE

    distances = nearby_from_redis(region, float(restaurant["lat"]), float(restaurant["lon"]))
    for c in event.get("candidates", []):
        distances.setdefault(c["driver_id"], float(c["distance_km"]))
    if not distances:
        _log("no_driver_available", order_id=order_id, region=region, candidates=0)
        return {"status": "unmatched", "order_id": order_id}

    workload = workload_and_ratings(distances.keys())
    candidates = [
        DriverCandidate(d, dist, workload[d][0], workload[d][1], workload[d][2]) for d, dist in distances.items()
    ]
    surge = surge_for(region)
    ranked = rank_drivers(candidates, WEIGHTS, surge)
    fee = surge_adjusted_fee(base_fee, surge)

    for score, candidate in ranked[:MAX_RESERVATION_ATTEMPTS]:
        if not reserve(candidate.driver_id, order_id, candidate.max_active_orders):
            continue  # slot taken by a concurrent assignment; next best driver
        if commit(order_id, version, candidate, score, surge, fee):
            _log(
                "order_assigned",
                order_id=order_id,
                driver_id=candidate.driver_id,
                score=score,
                distance_km=candidate.distance_km,
                surge=surge,
                fee=fee,
                eligible=len(ranked),
            )
            return {"status": "assigned", "order_id": order_id, "driver_id": candidate.driver_id, "fee": str(fee)}
        release(candidate.driver_id, order_id)
        _log("assignment_conflict", order_id=order_id, driver_id=candidate.driver_id)
        return {"status": "conflict", "order_id": order_id}

    _log("no_driver_available", order_id=order_id, region=region, candidates=len(candidates), eligible=len(ranked))
    return {"status": "unmatched", "order_id": order_id}
