# staging: a quarter of the prod metro, for load tests that exercise every path at scale.
#
# Fleet model: 15,000 active drivers x 1 fix / 4 s = 3,750 rec/s on locations; 37 orders/s
# design point (a quarter of prod's 150/s); ~34,000 concurrent WebSocket connections.

env          = "staging"
aws_region   = "us-east-1"
project_name = "food-delivery"
owner        = "delivery-platform"
cost_center  = "cc-4410"
common_tags  = { DataClassification = "confidential" }

vpc_cidr             = "10.20.0.0/16"
availability_zones   = ["us-east-1a", "us-east-1b", "us-east-1c"]
public_subnet_cidrs  = ["10.20.0.0/24", "10.20.1.0/24", "10.20.2.0/24"]
private_subnet_cidrs = ["10.20.16.0/20", "10.20.32.0/20", "10.20.48.0/20"]
enable_dns_hostnames = true

# APIs: 37 orders/s x 2 = 75 rps.
stage_name                     = "v1"
throttle_rate_limit            = 75
throttle_burst_limit           = 150
websocket_throttle_rate_limit  = 1000
websocket_throttle_burst_limit = 2000
cors_allowed_origins           = ["https://app.fooddelivery.example.com"]
pos_endpoint_base_url          = "https://pos-gateway.fooddelivery.example.com/v1"
pos_integration_timeout_ms     = 10000

# Kinesis. locations: 3,750 / 600 = 6.25 -> 8 shards (x pf 2 = 16 concurrent).
# orders: 37 orders/s / 4 per batch in flight = 10 -> 2 shards x pf 10 = 20 concurrent.
stream_mode                       = "PROVISIONED"
orders_shard_count                = 2
locations_shard_count             = 11
retention_hours                   = 48
orders_batch_size                 = 10
orders_batching_window_seconds    = 1
orders_parallelization_factor     = 10
locations_batch_size              = 300
locations_batching_window_seconds = 1
locations_parallelization_factor  = 2

# DynamoDB: prod's per-table formulas at a quarter of the fleet.
billing_mode               = "PROVISIONED"
connections_table_rcu      = 1250
connections_table_wcu      = 125
orders_table_rcu           = 250
orders_table_wcu           = 625
orders_gsi_rcu             = 125
orders_gsi_wcu             = 250
driver_locations_table_rcu = 750
driver_locations_table_wcu = 1000
driver_orders_table_rcu    = 2500
driver_orders_table_wcu    = 250
driver_profiles_table_rcu  = 1250
driver_profiles_table_wcu  = 50
ttl_enabled                = true
ttl_attribute_name         = "expires_at"
connection_ttl_seconds     = 7200
location_ttl_seconds       = 300

location_persist_interval_seconds = 30

# Lambda (same memory as prod so latency results transfer; concurrency scaled).
connection_handler_memory      = 256
validator_memory               = 512
consumer_memory                = 1024
matcher_memory                 = 1024
restaurant_memory              = 512
driver_memory                  = 512
customer_memory                = 512
location_memory                = 1024
earnings_memory                = 2048
analytics_memory               = 512
image_memory                   = 1024
api_timeout_s                  = 10
timeout_s                      = 60
matcher_timeout_s              = 10
earnings_timeout_s             = 900
validator_reserved_concurrency = 15
consumer_reserved_concurrency  = 20
matcher_reserved_concurrency   = 25
location_reserved_concurrency  = 22
default_reserved_concurrency   = 15

sqs_batch_size              = 10
sqs_batching_window_seconds = 1
sqs_max_concurrency         = 15

orders_stream_batch_size              = 50
orders_stream_batching_window_seconds = 1
orders_stream_parallelization_factor  = 2

# Redis: 3,750 GEOADD/s over 2 shards, 1 replica each.
redis_node_type               = "cache.r7g.large"
redis_num_node_groups         = 2
redis_replicas_per_node_group = 1
redis_snapshot_retention_days = 3
restaurant_cache_ttl_seconds  = 300

# Aurora: 16 ACU max -> max_connections ~3,600.
instance_class        = "db.serverless"
min_capacity          = 1
max_capacity          = 16
backup_retention_days = 14

visibility_timeout_seconds    = 360
message_retention_seconds     = 345600
dlq_message_retention_seconds = 1209600

earnings_schedule_expression = "cron(30 4 * * ? *)"
max_concurrency              = 10
earnings_items_per_batch     = 50
lifecycle_expiration_days    = 180
access_log_retention_days    = 90
log_retention_days           = 90
flow_log_retention_days      = 30

external_notification_endpoint = "https://notifications.fooddelivery.example.com/v1/sns"

alarm_p99_threshold_ms                        = 400
validator_p99_threshold_ms                    = 250
kinesis_get_records_latency_threshold_ms      = 300
orders_incoming_records_threshold             = 3400   # 1.5 x 37 orders/s x 60
locations_incoming_records_threshold          = 384000 # 80% of 8 shards x 1,000 rec/s x 60
assignment_conditional_check_failed_threshold = 40
orders_write_throttle_threshold               = 10
redis_geo_latency_threshold_us                = 1000
redis_memory_fragmentation_threshold          = 1.75
websocket_error_threshold                     = 100
api_5xx_threshold                             = 10
api_4xx_threshold                             = 120
api_latency_p99_threshold_ms                  = 500
aurora_connection_threshold                   = 2800 # ~80% of 3,600
sqs_backlog_threshold                         = 1000
dlq_depth_threshold                           = 5
earnings_sfn_failures_threshold               = 1

# --- region singletons ---
# one stack per account and region owns API Gateway's CloudWatch role setting (terraform/README.md)
manage_api_gateway_account = false
