# prod.tfvars — property_maintenance (prod)
#
# Scale: 120,000 rental units. Industry average ~4 work orders per unit per year
# -> 480k requests/yr = ~1,300/day = 0.015 req/s on average. Capacity is sized
# for a regional event (freeze, storm): 5% of units file within one hour =
# 6,000/h = 1.7 req/s, x6 headroom for retries and app bursts -> prod design
# peak 10 req/s sustained on POST /request and on POST /vendor/status.
# staging carries ~40% and dev ~20% of that. Only capacities, rates,
# thresholds, retentions and the address plan differ between envs.

env          = "prod"
aws_region   = "us-east-1"
project_name = "propmaint"
owner        = "property-platform"
cost_center  = "maintenance-ops"

# Network: two AZs everywhere (same topology); only the address plan differs.
vpc_cidr                = "10.42.0.0/16"
availability_zones      = ["us-east-1a", "us-east-1b"]
public_subnet_cidrs     = ["10.42.0.0/24", "10.42.1.0/24"]
private_subnet_cidrs    = ["10.42.16.0/20", "10.42.32.0/20"]
flow_log_retention_days = 90

# API: prod peak 10 req/s sustained, bursts x4-10 (see header); staging ~40%, dev ~20% of prod.
api_stage_name                         = "v1"
api_key_required                       = true
api_throttle_rate_limit                = 60
api_throttle_burst_limit               = 200
api_request_throttle_rate_limit        = 58
api_request_throttle_burst_limit       = 100
api_vendor_status_throttle_rate_limit  = 107
api_vendor_status_throttle_burst_limit = 107
api_usage_plan_quota_limit             = 500000
# vendors post about 3 status updates (accepted, in_progress, completed) per request
api_vendor_usage_plan_quota_limit = 1500000
sms_email_api_base_url            = "https://notify.vendor-gateway.example.com/v1"
pdf_api_base_url                  = "https://pdf.render-service.example.com/v2"

# DynamoDB: ~6 writes of ~2 WCU per request (create, assign, in_progress, completed, quality, escalation)
# = 12 WCU per request; prod 10 req/s -> 120 WCU (+25% headroom). Reads ~6 RCU per request.
# vendor_availability: BatchGetItem of <= 25 GEOSEARCH candidates at 0.5 RCU = 12.5 RCU per assignment.
ddb_billing_mode                            = "PROVISIONED"
ddb_maintenance_requests_read_capacity      = 100
ddb_maintenance_requests_write_capacity     = 150
ddb_maintenance_requests_gsi_read_capacity  = 50
ddb_maintenance_requests_gsi_write_capacity = 150
ddb_vendor_availability_read_capacity       = 150
ddb_vendor_availability_write_capacity      = 25
ddb_config_tables_read_capacity             = 10
ddb_config_tables_write_capacity            = 5
ddb_vendor_scores_read_capacity             = 5
ddb_vendor_scores_write_capacity            = 10
request_ttl_days                            = 400

# Lambda: concurrency = rate x duration with burst headroom, e.g. validator 25 req/s x 0.1 s = 2.5,
# burst 100 req -> 50 reserved in prod. Sum of prod reservations = 213 (account default 1000).
# SQS consumers: reserved >= sqs_consumer_max_concurrency; queue visibility = 6 x consumer timeout.
lambda_log_retention_days                       = 30
lambda_request_validator_memory_size            = 512
lambda_request_validator_timeout_seconds        = 10
lambda_request_validator_reserved_concurrency   = 50
lambda_request_router_memory_size               = 512
lambda_request_router_timeout_seconds           = 30
lambda_request_router_reserved_concurrency      = 20
lambda_vendor_notifier_memory_size              = 256
lambda_vendor_notifier_timeout_seconds          = 20
lambda_vendor_notifier_reserved_concurrency     = 15
lambda_tenant_notifier_memory_size              = 256
lambda_tenant_notifier_timeout_seconds          = 20
lambda_tenant_notifier_reserved_concurrency     = 15
lambda_vendor_status_memory_size                = 512
lambda_vendor_status_timeout_seconds            = 15
lambda_vendor_status_reserved_concurrency       = 40
lambda_workflow_controller_memory_size          = 256
lambda_workflow_controller_timeout_seconds      = 30
lambda_workflow_controller_reserved_concurrency = 15
lambda_quality_check_memory_size                = 512
lambda_quality_check_timeout_seconds            = 60
lambda_quality_check_reserved_concurrency       = 20
lambda_compliance_daily_memory_size             = 1024
lambda_compliance_daily_timeout_seconds         = 900
lambda_compliance_daily_reserved_concurrency    = 2
lambda_report_generator_memory_size             = 512
lambda_report_generator_timeout_seconds         = 120
lambda_report_generator_reserved_concurrency    = 15
lambda_escalation_primary_memory_size           = 512
lambda_escalation_primary_timeout_seconds       = 30
lambda_escalation_primary_reserved_concurrency  = 10
lambda_escalation_failover_memory_size          = 512
lambda_escalation_failover_timeout_seconds      = 30
lambda_escalation_failover_reserved_concurrency = 10
lambda_redis_sync_memory_size                   = 512
lambda_redis_sync_timeout_seconds               = 300
lambda_redis_sync_reserved_concurrency          = 1
router_stream_batch_size                        = 10
router_stream_parallelization_factor            = 4
router_stream_batching_window_seconds           = 1
router_stream_max_retry_attempts                = 5
sqs_consumer_batch_size                         = 10
sqs_consumer_batching_window_seconds            = 1
sqs_consumer_max_concurrency                    = 10
redis_geo_candidate_limit                       = 25

# Redis: ~3,000 vendors in one GEO set (< 1 MB); load is ~10 GEOSEARCH/s at prod peak, so node size
# is about network and failover, not memory. num_cache_clusters >= 2 everywhere (Multi-AZ identical).
redis_node_type               = "cache.m7g.large"
redis_num_cache_clusters      = 3
redis_engine_version          = "7.1"
redis_multi_az_enabled        = true
redis_snapshot_retention_days = 7
redis_log_retention_days      = 30

# Aurora: audit insert + assignment upsert per status change (~2 per request) -> ~20 writes/s at
# prod peak; 2-16 ACU. RDS proxy pools the Lambda connections.
aurora_database_name                  = "maintenance"
aurora_engine_version                 = "16.4"
aurora_instance_class                 = "db.serverless"
aurora_min_capacity                   = 2
aurora_max_capacity                   = 16
aurora_backup_retention_days          = 30
aurora_deletion_protection            = true
aurora_log_retention_days             = 90
rds_proxy_max_connections_percent     = 80
rds_proxy_idle_client_timeout_seconds = 1800

# Queues: visibility = 6 x consumer timeout (notifiers 20 s, controller 30 s, report generator 120 s).
sqs_vendor_notifications_visibility_timeout_seconds = 120
sqs_tenant_notifications_visibility_timeout_seconds = 120
sqs_workflow_events_visibility_timeout_seconds      = 180
sqs_compliance_reports_visibility_timeout_seconds   = 720
sqs_message_retention_seconds                       = 345600
sqs_dlq_message_retention_seconds                   = 1209600
sqs_max_receive_count                               = 5

# Schedules and patterns are identical in every env.
compliance_schedule_expression = "cron(0 6 * * ? *)"
redis_sync_schedule_expression = "rate(1 hour)"
checkin_schedule_expression    = "rate(4 hours)"
checkin_max_hours              = 72

# S3 lifecycle: archive STANDARD_IA after 30 d, GLACIER_IR after 90 d; prod keeps 7 years.
archive_transition_ia_days        = 30
archive_transition_glacier_days   = 90
archive_expiration_days           = 2555
reports_transition_glacier_days   = 90
reports_retention_days            = 2555
noncurrent_version_retention_days = 90
access_log_retention_days         = 365

# Escalation: the emergency response SLA is 60 min; the primary vendor gets ack_timeout before failover.
sfn_timeout_seconds            = 3600
sfn_task_timeout_seconds       = 60
sfn_vendor_ack_timeout_seconds = 900
sfn_max_retries                = 3
sfn_log_retention_days         = 90

# Alarm thresholds: tighter in prod (real tenants), looser in dev (small capacities, cold starts).
api_log_retention_days                        = 90
vendor_assignment_p95_threshold_ms            = 1500
request_validator_p95_threshold_ms            = 800
assignment_conditional_check_failed_threshold = 25
redis_geo_latency_threshold_us                = 1000
api_5xx_rate_threshold                        = 0.01
api_4xx_rate_threshold                        = 0.1
api_latency_p95_threshold_ms                  = 1500
aurora_connections_threshold                  = 800
sqs_oldest_message_age_threshold_seconds      = 300
dlq_depth_threshold                           = 1
sfn_executions_failed_threshold               = 1
report_generation_errors_threshold            = 1
lambda_errors_threshold                       = 3
sla_compliance_rate_threshold                 = 95

# --- region singletons ---
# one stack per account and region owns API Gateway's CloudWatch role setting (terraform/README.md)
manage_api_gateway_account = true
