"""Firehose transformation for the diagnostics archive (Kinesis source -> Parquet in S3).

Each input record is one diagnostics Kinesis record (schemas/diagnostics_record.json). The output is one JSON
line whose fields match the Glue table columns (the Parquet conversion reads that schema), plus the dynamic
partition keys vehicle_type and dt (UTC date of the sample) returned as metadata.partitionKeys, used by the
prefix diagnostics/vehicle_type=.../dt=.../. Invalid records are marked ProcessingFailed and land under
errors/ in the bucket instead of polluting the lake.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os

from record_schema import RecordError, decode_firehose

DEFAULT_VEHICLE_TYPE = os.environ.get("DEFAULT_VEHICLE_TYPE", "unknown")


def transform(record: dict) -> dict:
    try:
        payload = decode_firehose(record, "diagnostics_record")
    except RecordError as exc:
        print(json.dumps({"event": "invalid_record", "stream": "firehose", "record_id": record["recordId"],
                          "error": str(exc)}))
        return {"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]}
    row = {
        "vehicle_id": payload["vehicle_id"],
        "ts": payload["ts"],
        "rpm": float(payload["rpm"]),
        "coolant_temp_c": float(payload["coolant_temp_c"]),
        "fuel_level_pct": float(payload["fuel_level_pct"]),
        "speed_kph": float(payload["speed_kph"]),
        "dtc_codes": payload["dtc_codes"],
        "ingested_at": int(record.get("approximateArrivalTimestamp", payload["ts"])),
    }
    day = dt.datetime.fromtimestamp(payload["ts"] / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d")
    return {
        "recordId": record["recordId"],
        "result": "Ok",
        "data": base64.b64encode((json.dumps(row, separators=(",", ":")) + "\n").encode()).decode(),
        "metadata": {"partitionKeys": {"vehicle_type": payload.get("vehicle_type", DEFAULT_VEHICLE_TYPE), "dt": day}},
    }


def handler(event, context):
    output = [transform(record) for record in event.get("records", [])]
    failed = sum(1 for r in output if r["result"] != "Ok")
    print(json.dumps({"event": "firehose_batch", "records": len(output), "failed": failed}))
    return {"records": output}
