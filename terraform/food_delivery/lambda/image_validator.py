"""Delivery photo upload (s3:ObjectCreated:* under proof-of-delivery/, multipart uploads included) -> proof of delivery.

Key layout: proof-of-delivery/<order_id>/<driver_id>/<photo>.jpg|png
1. The object must be a JPEG or PNG (magic bytes) of at most 5 MiB (Rekognition's byte limit).
2. Rekognition DetectLabels on the bytes; the photo must show something a doorstep delivery
   plausibly shows (bag, package, door, ...). Rejected photos are tagged and logged.
3. Accepted: the object is tagged, and the order (still assigned/picked_up by this driver) is
   marked delivered with proof_of_delivery = the S3 key, delivered_at, delivery_date,
   delivery_shard ("<date>#<nn>" for the settlement GSI), duration and total distance.
"""

import hashlib
import json
import os
import time
import urllib.parse
from datetime import datetime, timezone

import boto3
from botocore.exceptions import ClientError

import geo

s3 = boto3.client("s3")
rekognition = boto3.client("rekognition")
dynamodb = boto3.client("dynamodb")

ORDERS_TABLE = os.environ["ORDERS_TABLE"]
MIN_CONFIDENCE = float(os.environ.get("MIN_LABEL_CONFIDENCE", "70"))
SHARDS = int(os.environ.get("DELIVERY_DATE_SHARDS", "16"))
MAX_BYTES = 5 * 1024 * 1024
PREFIX = "proof-of-delivery/"
DELIVERY_LABELS = {
    "Bag", "Paper Bag", "Shopping Bag", "Package", "Box", "Carton", "Cardboard", "Food", "Meal",
    "Door", "Doorway", "Porch", "Handle", "Mailbox", "Building", "House", "Housing", "Hallway",
}


def _tag(bucket, key, verdict):
    s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": "pod-validation", "Value": verdict}]})


def _reject(bucket, key, order_id, reason):
    _tag(bucket, key, "rejected")
    print(json.dumps({"event": "photo_rejected", "order_id": order_id, "key": key, "reason": reason}))


def mark_delivered(order_id, driver_id, key, labels):
    item = dynamodb.get_item(TableName=ORDERS_TABLE, Key={"order_id": {"S": order_id}}, ConsistentRead=True).get("Item")
    if not item or item.get("driver_id", {}).get("S") != driver_id:
        return "not_this_drivers_order"
    status = item["status"]["S"]
    if status not in ("assigned", "picked_up"):
        return f"status_{status}"
    now = datetime.now(timezone.utc)
    created = datetime.fromisoformat(item["created_at"]["S"].replace("Z", "+00:00"))
    minutes = round((now - created).total_seconds() / 60, 2)
    distance = float(item.get("pickup_distance_km", {}).get("N", "0"))
    if "pickup_lat" in item:
        distance += geo.haversine_km(
            float(item["pickup_lat"]["N"]), float(item["pickup_lon"]["N"]),
            float(item["delivery_lat"]["N"]), float(item["delivery_lon"]["N"]),
        )
    delivery_date = now.date().isoformat()
    shard = int(hashlib.sha1(order_id.encode()).hexdigest(), 16) % SHARDS
    try:
        dynamodb.update_item(
            TableName=ORDERS_TABLE,
            Key={"order_id": {"S": order_id}},
            UpdateExpression=(
                "SET #status = :delivered, #version = #version + :one, proof_of_delivery = :key, "
                "proof_labels = :labels, delivered_at = :now, delivery_date = :date, delivery_shard = :shard, "
                "duration_minutes = :minutes, distance_km = :distance"
            ),
            ConditionExpression="#status = :current AND #version = :v AND driver_id = :driver",
            ExpressionAttributeNames={"#status": "status", "#version": "version"},
            ExpressionAttributeValues={
                ":delivered": {"S": "delivered"},
                ":current": {"S": status},
                ":v": item["version"],
                ":driver": {"S": driver_id},
                ":one": {"N": "1"},
                ":key": {"S": key},
                ":labels": {"SS": sorted(labels) or ["none"]},
                ":now": {"S": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
                ":date": {"S": delivery_date},
                ":shard": {"S": f"{delivery_date}#{shard:02d}"},
                ":minutes": {"N": str(minutes)},
                ":distance": {"N": str(round(distance, 3))},
            },
        )
    except ClientError as err:
        if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return "changed_concurrently"
        raise
    return "delivered"


def process(bucket, key):
    parts = key[len(PREFIX):].split("/")
    if not key.startswith(PREFIX) or len(parts) != 3 or not all(parts):
        _reject(bucket, key, None, "bad_key_layout")
        return
    order_id, driver_id, _ = parts
    obj = s3.get_object(Bucket=bucket, Key=key)
    if obj["ContentLength"] > MAX_BYTES:
        _reject(bucket, key, order_id, "too_large")
        return
    data = obj["Body"].read()
    if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
        _reject(bucket, key, order_id, "not_jpeg_or_png")
        return
    try:
        found = rekognition.detect_labels(Image={"Bytes": data}, MaxLabels=25, MinConfidence=MIN_CONFIDENCE)["Labels"]
    except ClientError as err:
        if err.response["Error"]["Code"] in ("InvalidImageFormatException", "ImageTooLargeException"):
            _reject(bucket, key, order_id, err.response["Error"]["Code"])
            return
        raise
    labels = {label["Name"] for label in found} & DELIVERY_LABELS
    if not labels:
        _reject(bucket, key, order_id, "no_delivery_evidence")
        return
    _tag(bucket, key, "accepted")
    outcome = mark_delivered(order_id, driver_id, key, labels)
    print(json.dumps({"event": "photo_accepted", "order_id": order_id, "labels": sorted(labels), "outcome": outcome}))


def handler(event, context):
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        process(bucket, key)
    return {"processed": len(event["Records"]), "at": int(time.time())}
