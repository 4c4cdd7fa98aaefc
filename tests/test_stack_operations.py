"""The domain stacks run as an operator would deploy them: what `terraform validate` cannot see (key policies,
account quotas, region singletons, alarms that survive failover), checked on the resolved stacks per env."""

from __future__ import annotations

import re

import pytest

from conftest import TERRAFORM
from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.hcl_reader import ENVS, load_stack, stack_names

DOMAIN_STACKS = ("property_maintenance", "fleet_telematics", "food_delivery")
DEFAULT_CONCURRENCY_QUOTA = 1000
UNRESERVED_MINIMUM = 100


def _key_policy_text(name: str) -> str:
    """The HCL text of the stack key's policy: the aws_kms_key.main block, or the policy document it reads."""
    text = (TERRAFORM / name / "tap_stack.tf").read_text()
    block = re.search(r'resource "aws_kms_key" "main" \{.*?\n\}', text, re.S).group(0)
    document = re.search(r"data\.aws_iam_policy_document\.(\w+)\.json", block)
    if document:
        block = re.search(rf'data "aws_iam_policy_document" "{document.group(1)}" \{{.*?\n\}}', text, re.S).group(0)
    return block


def _statements(policy_text: str) -> list[str]:
    """Each statement's text (a jsonencode list item or a policy-document `statement` block)."""
    parts = re.split(r"\n\s*(?:statement \{|\{\n\s*(?:#[^\n]*\n\s*)*Sid)", policy_text)
    return parts[1:]


@pytest.mark.parametrize("name", DOMAIN_STACKS)
def test_the_key_lets_cloudwatch_logs_serve_the_state_machine_log_group(name):
    stack = load_stack(TERRAFORM, name)
    machine = next(stack.resources("aws_sfn_state_machine"))
    assert "aws_kms_key.main.arn" in str(machine.body["encryption_configuration"])
    log_group = next(b for b in stack.resources("aws_cloudwatch_log_group") if b.labels[1] == "sfn")
    assert "aws_kms_key.main.arn" in str(log_group.body["kms_key_id"])
    statements = _statements(_key_policy_text(name))
    logs = [s for s in statements if "logs.${local.region}.amazonaws.com" in s]
    assert logs and any("kms:GenerateDataKey*" in s and "log-group:*" in s for s in logs)
    delivery = [s for s in statements if "delivery.logs.amazonaws.com" in s]
    assert delivery and all("kms:Decrypt" in s and "aws:SourceAccount" in s for s in delivery)


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("name", stack_names(TERRAFORM))
def test_reserved_concurrency_fits_the_account_quota(name, env):
    resolved = ResolvedStack(load_stack(TERRAFORM, name), env)
    reserved = [f.attribute("reserved_concurrent_executions") for f in resolved.instances("aws_lambda_function")]
    assert all(isinstance(r, int) for r in reserved), reserved
    quota = resolved.variables.get("lambda_concurrency_quota", DEFAULT_CONCURRENCY_QUOTA)
    assert sum(r for r in reserved if r > 0) <= quota - UNRESERVED_MINIMUM


def test_the_quota_check_fails_for_the_old_fleet_prod_concurrency(copied_terraform):
    prod = copied_terraform / "fleet_telematics" / "prod.tfvars"
    text = prod.read_text()
    prod.write_text(re.sub(r"^reserved_concurrency\s*=\s*\d+", "reserved_concurrency = 220", text, flags=re.M))
    resolved = ResolvedStack(load_stack(copied_terraform, "fleet_telematics"), "prod")
    total = sum(f.attribute("reserved_concurrent_executions") for f in resolved.instances("aws_lambda_function"))
    assert total > resolved.variables["lambda_concurrency_quota"] - UNRESERVED_MINIMUM
    tf = (copied_terraform / "fleet_telematics" / "tap_stack.tf").read_text()
    assert "local.reserved_concurrency_total <= var.lambda_concurrency_quota - 100" in tf


def test_one_stack_owns_the_api_gateway_account_setting():
    owners = {}
    for name in DOMAIN_STACKS:
        stack = load_stack(TERRAFORM, name)
        accounts = list(stack.resources("aws_api_gateway_account"))
        assert len(accounts) == 1 and "var.manage_api_gateway_account" in str(accounts[0].body["count"])
        role = next(b for b in stack.resources("aws_iam_role") if b.labels[1] == "apigw_cloudwatch")
        assert "var.manage_api_gateway_account" in str(role.body["count"])
        for env in ENVS:
            resolved = ResolvedStack(stack, env)
            count = len(list(resolved.instances("aws_api_gateway_account")))
            owners.setdefault(env, []).extend([name] * count)
    assert owners == {env: ["property_maintenance"] for env in ENVS}


@pytest.mark.parametrize("name", DOMAIN_STACKS)
def test_every_dead_letter_and_failure_queue_has_a_depth_alarm(name):
    resolved = ResolvedStack(load_stack(TERRAFORM, name), "prod")
    queues = {q.attribute("name") for q in resolved.instances("aws_sqs_queue")}
    assert all(isinstance(q, str) for q in queues), queues
    dead_letter = {q for q in queues if re.search(r"dlq|fail|dead", q)}
    assert dead_letter
    watched = {
        a.attribute("dimensions").get("QueueName")
        for a in resolved.instances("aws_cloudwatch_metric_alarm")
        if a.attribute("namespace") == "AWS/SQS" and a.attribute("metric_name") == "ApproximateNumberOfMessagesVisible"
        and isinstance(a.attribute("dimensions"), dict)
    }
    assert dead_letter - watched == set()


def test_property_maintenance_tenants_and_vendors_have_their_own_key_and_plan():
    resolved = ResolvedStack(load_stack(TERRAFORM, "property_maintenance"), "prod")
    keys = [k.block.labels[1] for k in resolved.instances("aws_api_gateway_api_key")]
    assert sorted(keys) == ["tenant_app", "vendor_webhooks"]
    plan_of = {}
    for link in resolved.instances("aws_api_gateway_usage_plan_key"):
        body = str(link.block.body)
        key = next(k for k in keys if f"aws_api_gateway_api_key.{k}.id" in body)
        plan_of[key] = re.search(r"aws_api_gateway_usage_plan\.(\w+)\.id", body).group(1)
    assert len(plan_of) == 2 and len(set(plan_of.values())) == 2
    plans = {p.block.labels[1]: p for p in resolved.instances("aws_api_gateway_usage_plan")}
    tenant_throttles = {t["path"]: (t["rate_limit"], t["burst_limit"])
                        for t in plans[plan_of["tenant_app"]].blocks("api_stages")[0]["throttle"]}
    vendor_throttles = {t["path"]: (t["rate_limit"], t["burst_limit"])
                        for t in plans[plan_of["vendor_webhooks"]].blocks("api_stages")[0]["throttle"]}
    assert tenant_throttles["/vendor/status/POST"] == (0, 0), "the tenant key must not reach the vendor webhook"
    assert tenant_throttles["/request/POST"][0] > 0
    assert vendor_throttles["/request/POST"] == (0, 0), "the vendor key must not file tenant requests"
    assert vendor_throttles["/vendor/status/POST"][0] > 0


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("name", DOMAIN_STACKS)
def test_redis_alarms_watch_every_node_of_the_replication_group(name, env):
    resolved = ResolvedStack(load_stack(TERRAFORM, name), env)
    group = next(resolved.instances("aws_elasticache_replication_group"))
    group_id = group.attribute("replication_group_id")
    if "num_node_groups" in group.block.body:
        shards, replicas = group.attribute("num_node_groups"), group.attribute("replicas_per_node_group")
        nodes = {f"{group_id}-{s:04d}-{n:03d}" for s in range(1, shards + 1) for n in range(1, replicas + 2)}
    else:
        nodes = {f"{group_id}-{n:03d}" for n in range(1, group.attribute("num_cache_clusters") + 1)}
    redis_alarms = [a for a in resolved.instances("aws_cloudwatch_metric_alarm")
                    if "AWS/ElastiCache" in str(a.block.body)]
    assert redis_alarms
    for alarm in redis_alarms:
        queries = alarm.blocks("metric_query")
        watched = {m["dimensions"]["CacheClusterId"] for q in queries for m in q.get("metric", [])}
        assert watched == nodes, alarm.address
        assert len(watched) <= 10
        assert any(q.get("expression") == "MAX(METRICS())" and q.get("return_data") for q in queries)


def test_food_delivery_tables_are_one_for_each_over_locals():
    from loadgen.target.local_resources import table_definitions

    stack = load_stack(TERRAFORM, "food_delivery")
    blocks = list(stack.resources("aws_dynamodb_table"))
    assert len(blocks) == 1 and blocks[0].body["for_each"] == "${local.dynamodb_tables}"
    tables = {t.address: t for t in table_definitions(ResolvedStack(stack, "prod"))}
    assert sorted(tables) == sorted(f'aws_dynamodb_table.this["{k}"]' for k in
                                    ("connections", "orders", "driver_locations", "driver_orders", "driver_profiles"))
    orders = tables['aws_dynamodb_table.this["orders"]'].create_request
    assert orders["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert {i["IndexName"] for i in orders["GlobalSecondaryIndexes"]} == {
        "restaurant_id-created_at-index", "driver_id-delivery_date-index", "delivery-shard-index"}
    assert tables['aws_dynamodb_table.this["driver_locations"]'].ttl_attribute == "expires_at"


@pytest.mark.parametrize("name", stack_names(TERRAFORM))
def test_no_template_or_policy_hard_codes_the_aws_partition(name):
    """ARNs are built with the partition data source (aws-us-gov, aws-cn): no literal `arn:aws:` in templates,
    and each template that names a service integration receives `partition`."""
    stack_dir = TERRAFORM / name
    for template in stack_dir.glob("templates/*.tftpl"):
        text = template.read_text()
        assert "arn:aws:" not in text, template
        if "states:::" in text:
            assert "${partition}" in text


@pytest.mark.parametrize("name", stack_names(TERRAFORM))
def test_event_targets_retry_and_dead_letter_and_sqs_subscriptions_redrive(name):
    stack = load_stack(TERRAFORM, name)
    for target in stack.resources("aws_cloudwatch_event_target"):
        assert "retry_policy" in target.body and "dead_letter_config" in target.body, target.address
    for subscription in stack.resources("aws_sns_topic_subscription"):
        if '"sqs"' in str(subscription.body.get("protocol")):
            assert "redrive_policy" in subscription.body, subscription.address


def test_food_delivery_photo_trigger_sees_multipart_uploads():
    resolved = ResolvedStack(load_stack(TERRAFORM, "food_delivery"), "dev")
    notification = next(resolved.instances("aws_s3_bucket_notification"))
    events = [e for f in notification.blocks("lambda_function") for e in f["events"]]
    assert "s3:ObjectCreated:*" in events or "s3:ObjectCreated:CompleteMultipartUpload" in events


def test_fleet_sagemaker_endpoint_lookup_is_explicit_and_can_be_skipped_for_bootstrap():
    stack = load_stack(TERRAFORM, "fleet_telematics")
    lookup = next(b for b in stack.of_kind("data") if b.labels == ("aws_cloudcontrolapi_resource", "predictive_endpoint"))
    assert "var.verify_predictive_endpoint" in str(lookup.body["count"])
    assert stack.variables["verify_predictive_endpoint"].body["default"] is True
