"""Provisioned capacities of a stack resolved for an env (its local modules included, addressed
`module.<call>.<resource>`): what the simulator's load is measured against."""

from __future__ import annotations

from typing import Any

from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.expressions import UNKNOWN, known_or_none as _clean


def _first(blocks: list[dict], key: str) -> Any:
    return blocks[0].get(key, UNKNOWN) if blocks and isinstance(blocks[0], dict) else UNKNOWN


def _per_instance(resolved: ResolvedStack, resource_type: str, read) -> dict[str, dict]:
    return {inst.address: _clean(read(inst)) for inst in resolved.instances(resource_type)}


def _api_throttles(resolved: ResolvedStack) -> dict[str, dict]:
    throttles = {}
    for inst in resolved.instances("aws_api_gateway_method_settings"):
        settings = inst.blocks("settings")
        throttles[inst.address] = {"rate_limit": _first(settings, "throttling_rate_limit"),
                                   "burst_limit": _first(settings, "throttling_burst_limit"),
                                   "method_path": inst.attribute("method_path")}
    for inst in resolved.instances("aws_api_gateway_usage_plan"):
        settings = inst.blocks("throttle_settings")
        throttles[inst.address] = {"rate_limit": _first(settings, "rate_limit"),
                                   "burst_limit": _first(settings, "burst_limit"),
                                   "quota_limit": _first(inst.blocks("quota_settings"), "limit")}
    for inst in resolved.instances("aws_apigatewayv2_stage"):
        settings = inst.blocks("default_route_settings")
        throttles[inst.address] = {"rate_limit": _first(settings, "throttling_rate_limit"),
                                   "burst_limit": _first(settings, "throttling_burst_limit")}
    return {k: _clean(v) for k, v in throttles.items()}


def capacity(resolved: ResolvedStack) -> dict[str, Any]:
    """The env's capacities, grouped by service, each keyed by resource address."""
    return {
        "stack": resolved.stack.name,
        "env": resolved.env,
        "api_throttles": _api_throttles(resolved),
        "kinesis_streams": _per_instance(resolved, "aws_kinesis_stream", lambda i: {
            "name": i.attribute("name"),
            "shard_count": i.attribute("shard_count"),
            "stream_mode": _first(i.blocks("stream_mode_details"), "stream_mode"),
            "retention_hours": i.attribute("retention_period"),
        }),
        "dynamodb_tables": _per_instance(resolved, "aws_dynamodb_table", lambda i: {
            "name": i.attribute("name"),
            "billing_mode": i.attribute("billing_mode"),
            "read_capacity": i.attribute("read_capacity"),
            "write_capacity": i.attribute("write_capacity"),
        }),
        "lambda_functions": _per_instance(resolved, "aws_lambda_function", lambda i: {
            "function_name": i.attribute("function_name"),
            "memory_mb": i.attribute("memory_size"),
            "timeout_s": i.attribute("timeout"),
            "reserved_concurrency": i.attribute("reserved_concurrent_executions"),
        }),
        "redis": _per_instance(resolved, "aws_elasticache_replication_group", lambda i: {
            "node_type": i.attribute("node_type"),
            "num_cache_clusters": i.attribute("num_cache_clusters"),
            "num_node_groups": i.attribute("num_node_groups"),
            "replicas_per_node_group": i.attribute("replicas_per_node_group"),
        }),
        "aurora": _per_instance(resolved, "aws_rds_cluster", lambda i: {
            "engine": i.attribute("engine"),
            "min_acu": _first(i.blocks("serverlessv2_scaling_configuration"), "min_capacity"),
            "max_acu": _first(i.blocks("serverlessv2_scaling_configuration"), "max_capacity"),
        }),
        "aurora_instances": _per_instance(resolved, "aws_rds_cluster_instance", lambda i: {
            "identifier": i.attribute("identifier"),
            "instance_class": i.attribute("instance_class"),
        }),
        "sqs_queues": _per_instance(resolved, "aws_sqs_queue", lambda i: {
            "name": i.attribute("name"),
            "visibility_timeout_s": i.attribute("visibility_timeout_seconds"),
            "retention_s": i.attribute("message_retention_seconds"),
        }),
    }
