"""Orders stream consumer (Kinesis, PartitionKey restaurant_id).

Per order record:
1. Restaurant availability and preparation time from Redis (restaurant:{id} hash), read
   through from Aurora restaurant_profiles on a miss and cached for RESTAURANT_CACHE_TTL_SECONDS.
2. The order item is written once (attribute_not_exists(order_id)) with status "placed",
   version 1 - or "cancelled" when the restaurant is closed/unknown. A replayed record finds
   the item and continues only while it is still "placed".
3. Available drivers near the restaurant from the driver_locations geohash-index GSI
   (precision-5 cell + 8 neighbours, haversine filter to MAX_RADIUS_KM). They are passed to the
   matcher as a fallback candidate set; the matcher's primary source is Redis GEOSEARCH.
4. The matcher is invoked synchronously; its conditional write decides the assignment.

Failures are reported per record (ReportBatchItemFailures): processing stops at the first
failed record so Kinesis retries from there, preserving per-restaurant order.
"""

import base64
import json
import os
import time
from decimal import Decimal

import boto3
from botocore.exceptions import ClientError

import datastores
import geo

dynamodb = boto3.client("dynamodb")
lambda_client = boto3.client("lambda")

ORDERS_TABLE = os.environ["ORDERS_TABLE"]
DRIVER_LOCATIONS_TABLE = os.environ["DRIVER_LOCATIONS_TABLE"]
GEOHASH_INDEX = os.environ.get("GEOHASH_INDEX", "geohash-index")
MATCHER_FUNCTION = os.environ["MATCHER_FUNCTION"]
MAX_RADIUS_KM = float(os.environ.get("MAX_RADIUS_KM", "6"))
CACHE_TTL = int(os.environ.get("RESTAURANT_CACHE_TTL_SECONDS", "300"))
MAX_FALLBACK_CANDIDATES = 50


def restaurant_info(restaurant_id):
    """{'is_open', 'prep_minutes', 'lat', 'lon', 'region'} or None when unknown."""
    redis = datastores.redis_client()
    key = f"restaurant:{{{restaurant_id}}}"
    cached = redis.hgetall(key)
    if cached:
        if cached.get("missing") == "1":
            return None
        return {
            "is_open": cached["is_open"] == "1",
            "prep_minutes": int(cached["prep_minutes"]),
            "lat": float(cached["lat"]),
            "lon": float(cached["lon"]),
            "region": cached["region"],
        }
    try:
        rows = datastores.pg_connection().run(
            "SELECT is_open, prep_minutes, lat, lon, region FROM restaurant_profiles WHERE restaurant_id = :rid",
            rid=restaurant_id,
        )
    except Exception:
        datastores.reset_pg()
        raise
    if not rows:
        redis.hset(key, mapping={"missing": "1"})
        redis.expire(key, 60)
        return None
    is_open, prep, lat, lon, region = rows[0]
    info = {"is_open": bool(is_open), "prep_minutes": int(prep), "lat": float(lat), "lon": float(lon), "region": region}
    redis.hset(
        key,
        mapping={"is_open": "1" if is_open else "0", "prep_minutes": str(prep), "lat": str(lat), "lon": str(lon), "region": region},
    )
    redis.expire(key, CACHE_TTL)
    return info


def nearby_available_drivers(lat, lon):
    """Online drivers from the geohash GSI within MAX_RADIUS_KM, nearest first (workload is the matcher's job)."""
    found = {}
    for cell in geo.cell_and_neighbours(geo.encode(lat, lon, geo.GSI_PRECISION)):
        kwargs = {
            "TableName": DRIVER_LOCATIONS_TABLE,
            "IndexName": GEOHASH_INDEX,
            "KeyConditionExpression": "geohash = :cell",
            "FilterExpression": "driver_status IN (:available, :on_delivery)",
            "ProjectionExpression": "driver_id, lat, lon",
            "ExpressionAttributeValues": {
                ":cell": {"S": cell},
                ":available": {"S": "available"},
                ":on_delivery": {"S": "on_delivery"},
            },
        }
        while True:
            page = dynamodb.query(**kwargs)
            for item in page["Items"]:
                d = geo.haversine_km(lat, lon, float(item["lat"]["N"]), float(item["lon"]["N"]))
                if d <= MAX_RADIUS_KM:
                    found[item["driver_id"]["S"]] = d
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    ranked = sorted(found.items(), key=lambda kv: (kv[1], kv[0]))[:MAX_FALLBACK_CANDIDATES]
    return [{"driver_id": k, "distance_km": round(v, 3)} for k, v in ranked]


def _order_item(order, status, restaurant, reason=None):
    addr = order["delivery_address"]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    item = {
        "order_id": {"S": order["order_id"]},
        "status": {"S": status},
        "version": {"N": "1"},
        "customer_id": {"S": order["customer_id"]},
        "restaurant_id": {"S": order["restaurant_id"]},
        "region": {"S": order["region"]},
        "created_at": {"S": order.get("placed_at", now)},
        "delivery_lat": {"N": str(addr["lat"])},
        "delivery_lon": {"N": str(addr["lon"])},
        "delivery_line1": {"S": addr["line1"]},
        "items": {"S": json.dumps(order["items"], default=str)},
        "subtotal": {"N": str(order.get("subtotal", 0))},
        "tip": {"N": str(order.get("tip", 0))},
        "currency": {"S": order.get("currency", "USD")},
        "payment_method_id": {"S": order["payment_method_id"]},
    }
    if restaurant:
        item["pickup_lat"] = {"N": str(restaurant["lat"])}
        item["pickup_lon"] = {"N": str(restaurant["lon"])}
        item["prep_minutes"] = {"N": str(restaurant["prep_minutes"])}
    if reason:
        item["cancel_reason"] = {"S": reason}
    return item


def persist(order, status, restaurant, reason=None):
    """Write the order once; returns the status the table holds afterwards."""
    try:
        dynamodb.put_item(
            TableName=ORDERS_TABLE,
            Item=_order_item(order, status, restaurant, reason),
            ConditionExpression="attribute_not_exists(order_id)",
        )
        return status
    except ClientError as err:
        if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    existing = dynamodb.get_item(
        TableName=ORDERS_TABLE,
        Key={"order_id": {"S": order["order_id"]}},
        ProjectionExpression="#s",
        ExpressionAttributeNames={"#s": "status"},
        ConsistentRead=True,
    ).get("Item", {})
    return existing.get("status", {}).get("S", "unknown")


def process(order):
    restaurant = restaurant_info(order["restaurant_id"])
    if restaurant is None or not restaurant["is_open"]:
        reason = "restaurant_unknown" if restaurant is None else "restaurant_closed"
        persist(order, "cancelled", restaurant, reason)
        print(json.dumps({"event": "order_cancelled", "order_id": order["order_id"], "reason": reason}))
        return
    if persist(order, "placed", restaurant) != "placed":
        return  # already matched or cancelled by an earlier attempt
    candidates = nearby_available_drivers(restaurant["lat"], restaurant["lon"])
    payload = {
        "order_id": order["order_id"],
        "region": order["region"],
        "restaurant": {
            "restaurant_id": order["restaurant_id"],
            "lat": restaurant["lat"],
            "lon": restaurant["lon"],
            "prep_minutes": restaurant["prep_minutes"],
        },
        "candidates": candidates,
    }
    response = lambda_client.invoke(
        FunctionName=MATCHER_FUNCTION,
        InvocationType="RequestResponse",
        Payload=json.dumps(payload).encode("utf-8"),
    )
    result = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        raise RuntimeError(f"matcher failed for {order['order_id']}: {result}")
    print(json.dumps({"event": "order_routed", "order_id": order["order_id"], "match": result.get("status"), "gsi_candidates": len(candidates)}))


def handler(event, context):
    for record in event["Records"]:
        sequence = record["kinesis"]["sequenceNumber"]
        try:
            order = json.loads(base64.b64decode(record["kinesis"]["data"]), parse_float=Decimal)
        except (ValueError, TypeError):
            print(json.dumps({"event": "order_record_unreadable", "sequence": sequence}))
            continue  # poison record: never retry it
        try:
            process(order)
        except Exception as exc:  # noqa: BLE001 - reported to Lambda for a retry from this record
            print(json.dumps({"event": "order_record_failed", "sequence": sequence, "error": repr(exc)}))
            return {"batchItemFailures": [{"itemIdentifier": sequence}]}
    return {"batchItemFailures": []}
