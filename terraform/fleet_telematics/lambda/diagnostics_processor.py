"""Diagnostics processor: Kinesis diagnostics stream (EFO consumer) -> DynamoDB vehicle_diagnostics.

Each record is base64 JSON matching schemas/diagnostics_record.json (vehicle_id, ts epoch ms, rpm,
coolant_temp_c, fuel_level_pct, speed_kph, dtc_codes[, vehicle_type]). Valid records are written with
BatchWriteItem (25 items per request, key vehicle_id + timestamp, so a replayed record overwrites itself:
idempotent). The table stream (NEW_IMAGE) feeds the anomaly detector; `expires_at` makes TTL remove items
after DIAGNOSTICS_TTL_DAYS.

Failure handling (function_response_types = ["ReportBatchItemFailures"]):
- invalid records are logged and dropped: retrying a malformed payload can never succeed;
- items DynamoDB leaves unprocessed after the retries are reported in batchItemFailures, so Lambda retries from
  the first failed sequence number (bisecting, then the on-failure SQS DLQ).
"""

from __future__ import annotations

import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor


from record_schema import RecordError, decode_kinesis
from telematics_common import aws_client

TABLE = os.environ.get("DIAGNOSTICS_TABLE", "vehicle-diagnostics")
TTL_ATTRIBUTE = os.environ.get("TTL_ATTRIBUTE", "expires_at")
TTL_DAYS = int(os.environ.get("DIAGNOSTICS_TTL_DAYS", "30"))
MAX_ATTEMPTS = 4


def _number(value: float | int) -> dict:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def to_item(record: dict, arrival_ms: int) -> dict:
    """DynamoDB item (low-level types) for one validated diagnostics record."""
    return {
        "vehicle_id": {"S": record["vehicle_id"]},
        "timestamp": {"N": str(record["ts"])},
        "rpm": _number(record["rpm"]),
        "coolant_temp_c": _number(record["coolant_temp_c"]),
        "fuel_level_pct": _number(record["fuel_level_pct"]),
        "speed_kph": _number(record["speed_kph"]),
        "dtc_codes": {"L": [{"S": code} for code in record["dtc_codes"]]},
        "vehicle_type": {"S": record.get("vehicle_type", "unknown")},
        "ingested_at": {"N": str(arrival_ms)},
        TTL_ATTRIBUTE: {"N": str(record["ts"] // 1000 + TTL_DAYS * 86400)},
    }


def _write_chunk(chunk: list[tuple[str, dict]]) -> list[str]:
    """BatchWriteItem one chunk of <= 25 (sequence_number, item); returns sequence numbers still unwritten."""
    by_key = {(item["vehicle_id"]["S"], item["timestamp"]["N"]): seq for seq, item in chunk}
    pending = [{"PutRequest": {"Item": item}} for _, item in chunk]
    for attempt in range(MAX_ATTEMPTS):
        try:
            response = aws_client("dynamodb").batch_write_item(RequestItems={TABLE: pending})
        except aws_client("dynamodb").exceptions.ProvisionedThroughputExceededException:
            response = {"UnprocessedItems": {TABLE: pending}}
        pending = response.get("UnprocessedItems", {}).get(TABLE, [])
        if not pending:
            return []
        # Exponential backoff with full jitter before retrying the unprocessed items.
        time.sleep(random.uniform(0, 0.05 * (2 ** attempt)))
    return [by_key[(r["PutRequest"]["Item"]["vehicle_id"]["S"], r["PutRequest"]["Item"]["timestamp"]["N"])]
            for r in pending]


def handler(event, context):
    records = event.get("Records", [])
    items: dict[tuple[str, int], tuple[str, dict]] = {}
    invalid = 0
    for record in records:
        sequence = record["kinesis"]["sequenceNumber"]
        try:
            payload = decode_kinesis(record, "diagnostics_record")
        except RecordError as exc:
            invalid += 1
            print(json.dumps({"event": "invalid_record", "stream": "diagnostics", "sequence": sequence,
                              "error": str(exc)}))
            continue
        arrival_ms = int(float(record["kinesis"].get("approximateArrivalTimestamp", time.time())) * 1000)
        # BatchWriteItem rejects duplicate keys in one request; the last copy of a key wins.
        items[(payload["vehicle_id"], payload["ts"])] = (sequence, to_item(payload, arrival_ms))

    ordered = list(items.values())
    chunks = [ordered[i:i + 25] for i in range(0, len(ordered), 25)]
    failed: list[str] = []
    if chunks:
        with ThreadPoolExecutor(max_workers=min(8, len(chunks))) as pool:
            for unwritten in pool.map(_write_chunk, chunks):
                failed.extend(unwritten)

    print(json.dumps({"event": "diagnostics_batch", "records": len(records), "written": len(ordered) - len(failed),
                      "invalid": invalid, "failed": len(failed)}))
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}
