# dev: 1% of the prod metro, enough to run every path end to end.
#
# Fleet model: 600 active drivers x 1 fix / 4 s = 150 rec/s on locations; 1.5 orders/s design
# point; a few hundred WebSocket connections. Off-hot-path functions run unreserved (-1).

env          = "dev"
aws_region   = "us-east-1"
project_name = "food-delivery"
owner        = "delivery-platform"
cost_center  = "cc-4410"
common_tags  = { DataClassification = "confidential" }

vpc_cidr             = "10.10.0.0/16"
availability_zones   = ["us-east-1a", "us-east-1b", "us-east-1c"]
public_subnet_cidrs  = ["10.10.0.0/24", "10.10.1.0/24", "10.10.2.0/24"]
private_subnet_cidrs = ["10.10.16.0/20", "10.10.32.0/20", "10.10.48.0/20"]
enable_dns_hostnames = true

stage_name                     = "v1"
throttle_rate_limit            = 10
throttle_burst_limit           = 20
websocket_throttle_rate_limit  = 100
websocket_throttle_burst_limit = 200
cors_allowed_origins           = ["https://app.fooddelivery.example.com"]
pos_endpoint_base_url          = "https://pos-gateway.fooddelivery.example.com/v1"
pos_integration_timeout_ms     = 10000

# Kinesis: 150 rec/s and 1.5 orders/s each fit one shard.
stream_mode                       = "PROVISIONED"
orders_shard_count                = 1
locations_shard_count             = 1
retention_hours                   = 24
orders_batch_size                 = 10
orders_batching_window_seconds    = 1
orders_parallelization_factor     = 2
locations_batch_size              = 100
locations_batching_window_seconds = 5
locations_parallelization_factor  = 1

billing_mode               = "PROVISIONED"
connections_table_rcu      = 50
connections_table_wcu      = 10
orders_table_rcu           = 10
orders_table_wcu           = 25
orders_gsi_rcu             = 5
orders_gsi_wcu             = 10
driver_locations_table_rcu = 30
driver_locations_table_wcu = 40
driver_orders_table_rcu    = 100
driver_orders_table_wcu    = 10
driver_profiles_table_rcu  = 50
driver_profiles_table_wcu  = 5
ttl_enabled                = true
ttl_attribute_name         = "expires_at"
connection_ttl_seconds     = 7200
location_ttl_seconds       = 300

location_persist_interval_seconds = 15

connection_handler_memory      = 128
validator_memory               = 256
consumer_memory                = 512
matcher_memory                 = 512
restaurant_memory              = 256
driver_memory                  = 256
customer_memory                = 256
location_memory                = 512
earnings_memory                = 1024
analytics_memory               = 256
image_memory                   = 512
api_timeout_s                  = 10
timeout_s                      = 60
matcher_timeout_s              = 10
earnings_timeout_s             = 600
validator_reserved_concurrency = 5
consumer_reserved_concurrency  = 2
matcher_reserved_concurrency   = 5
location_reserved_concurrency  = 2
default_reserved_concurrency   = -1

sqs_batch_size              = 5
sqs_batching_window_seconds = 1
sqs_max_concurrency         = 2

orders_stream_batch_size              = 10
orders_stream_batching_window_seconds = 1
orders_stream_parallelization_factor  = 1

# Redis: smallest cluster-mode layout that still fails over (1 shard, 1 replica).
redis_node_type               = "cache.t4g.small"
redis_num_node_groups         = 1
redis_replicas_per_node_group = 1
redis_snapshot_retention_days = 1
restaurant_cache_ttl_seconds  = 60

# Aurora: 4 ACU max -> max_connections ~900.
instance_class        = "db.serverless"
min_capacity          = 0.5
max_capacity          = 4
backup_retention_days = 7

visibility_timeout_seconds    = 360
message_retention_seconds     = 86400
dlq_message_retention_seconds = 345600

earnings_schedule_expression = "cron(30 4 * * ? *)"
max_concurrency              = 2
earnings_items_per_batch     = 10
lifecycle_expiration_days    = 60
access_log_retention_days    = 30
log_retention_days           = 14
flow_log_retention_days      = 14

external_notification_endpoint = "https://notifications.fooddelivery.example.com/v1/sns"

alarm_p99_threshold_ms                        = 1000
validator_p99_threshold_ms                    = 800
kinesis_get_records_latency_threshold_ms      = 500
orders_incoming_records_threshold             = 135   # 1.5 x 1.5 orders/s x 60
locations_incoming_records_threshold          = 48000 # 80% of 1 shard x 1,000 rec/s x 60
assignment_conditional_check_failed_threshold = 10
orders_write_throttle_threshold               = 25
redis_geo_latency_threshold_us                = 2000
redis_memory_fragmentation_threshold          = 2.0
websocket_error_threshold                     = 20
api_5xx_threshold                             = 5
api_4xx_threshold                             = 30
api_latency_p99_threshold_ms                  = 1500
aurora_connection_threshold                   = 700 # ~80% of 900
sqs_backlog_threshold                         = 100
dlq_depth_threshold                           = 10
earnings_sfn_failures_threshold               = 2

# --- region singletons ---
# one stack per account and region owns API Gateway's CloudWatch role setting (terraform/README.md)
manage_api_gateway_account = false
