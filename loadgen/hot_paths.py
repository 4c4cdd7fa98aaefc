"""The hot paths of each stack, declared once: what is driven, and the alarms in terraform/ that judge it.

A hot path is data (STYLE: Rally's track): its name, what kind of operation drives it, and the addresses of the
CloudWatch alarms that guard it, the first being the one a run's verdict is judged against. Benches and pushers
look hot paths up here; the alarms' thresholds are always read from terraform/, never copied.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HotPath:
    """One operation whose latency or throughput the stack's alarms guard."""

    name: str
    """Stable name, used as the hot path's key in summary.json."""
    kind: str
    """What drives it: `api_route`, `kinesis_stream`, `lambda_core`, `redis_geo` or `ddb_conditional_write`."""
    alarms: tuple[str, ...]
    """Alarm resource addresses in the stack's tap_stack.tf; the first is the verdict's threshold."""
    description: str
    rate_source: str
    """The profile's stream or route whose rate drives this hot path (fleet_models.demand.Demand.name)."""


def _alarm(name: str, key: str | None = None) -> str:
    return f'aws_cloudwatch_metric_alarm.{name}' + (f'["{key}"]' if key else "")


def _streams(names: tuple[str, ...], what: str, alarms: tuple[str, ...]) -> tuple[HotPath, ...]:
    """One hot path per Kinesis stream, guarded by the stack's per-stream (for_each) alarms."""
    return tuple(
        HotPath(f"{stream}_stream", "kinesis_stream", tuple(_alarm(a, stream) for a in alarms),
                f"PutRecords into the {stream} stream ({what})", stream)
        for stream in names
    )


HOT_PATHS: dict[str, tuple[HotPath, ...]] = {
    "property_maintenance": (
        HotPath("request_api", "api_route",
                (_alarm("api_latency_p95"), _alarm("api_5xx"), _alarm("api_4xx"),
                 _alarm("request_validator_duration_p95")),
                "POST /request: tenants submit maintenance requests", "POST /request"),
        HotPath("vendor_status_api", "api_route",
                (_alarm("api_latency_p95"), _alarm("api_5xx"), _alarm("api_4xx")),
                "POST /vendor/status: vendor status webhooks", "POST /vendor/status"),
        HotPath("vendor_assignment", "lambda_core",
                (_alarm("vendor_assignment_duration_p95"),),
                "request router: skills + proximity + priority matrix + workload -> vendor", "POST /request"),
        HotPath("vendor_geo_search", "redis_geo", (_alarm("redis_geo_latency"),),
                "GEOSEARCH/GEORADIUS for vendors around a unit", "POST /request"),
        HotPath("assignment_write", "ddb_conditional_write", (_alarm("assignment_conditional_check_failed"),),
                "conditional assignment write on maintenance_requests (status + version)", "POST /request"),
    ),
    "fleet_telematics": (
        *_streams(("gps", "diagnostics", "hos"), "234k vehicles",
                  ("kinesis_incoming_records", "kinesis_incoming_bytes", "kinesis_get_records_latency",
                   "kinesis_iterator_age")),
        HotPath("diagnostics_processing", "lambda_core", (_alarm("diagnostics_processor_duration_p95"),
                                                          _alarm("anomaly_duration_p95")),
                "OBD-II validation and anomaly detection", "diagnostics"),
        HotPath("location_processing", "lambda_core", (_alarm("location_processor_duration_p95"),),
                "GPS fix -> vehicle_locations + GEOADD + geofence check", "gps"),
        HotPath("geofence_geo_search", "redis_geo", (_alarm("redis_geo_latency"),),
                "geofence proximity queries around each GPS fix", "gps"),
        HotPath("location_write", "ddb_conditional_write", (_alarm("locations_conditional_check_failed"),),
                "newer-position-only conditional write on vehicle_locations", "gps"),
    ),
    "food_delivery": (
        *_streams(("orders", "locations"), "orders by restaurant_id, driver GPS by driver_id",
                  ("kinesis_incoming_records", "kinesis_get_records_latency")),
        HotPath("orders_api", "api_route",
                (_alarm("api_latency_p99"), _alarm("api_5xx"), _alarm("api_4xx"),
                 _alarm("order_validator_duration_p99")),
                "POST /orders: order placement", "POST /orders"),
        HotPath("driver_matching", "lambda_core", (_alarm("matcher_duration_p99"),),
                "matcher: distance + workload + surge -> driver", "orders"),
        HotPath("driver_geo_search", "redis_geo", (_alarm("redis_geo_latency"),),
                "nearby drivers within the delivery radius", "orders"),
        HotPath("assignment_write", "ddb_conditional_write", (_alarm("assignment_conditional_check_failed"),
                                                             _alarm("orders_hot_partition")),
                "conditional assignment write on orders (status + version)", "orders"),
    ),
}


def hot_paths(stack: str) -> tuple[HotPath, ...]:
    """The stack's hot paths (empty for a stack with none declared yet)."""
    return HOT_PATHS.get(stack, ())


def guarded_by(stack: str) -> dict[str, str]:
    """Alarm address -> the hot path it guards."""
    return {alarm: path.name for path in hot_paths(stack) for alarm in path.alarms}
