# prod: one large metro at the dinner peak.
#
# Fleet model (the numbers below follow from it; loadgen's prod profile uses the same):
# * 60,000 active drivers at peak, each app sends a GPS fix every 4 s -> 15,000 rec/s on the
#   locations stream (~250 B/record = 3.75 MB/s).
# * ~2.5 deliveries per driver-hour -> 150,000 orders/h = 42 orders/s over the peak hour;
#   minute-level peaks (promo pushes at 18:30) reach 3x -> design point 150 orders/s.
# * 36,000 drivers on a delivery at once; 75,000 orders in flight, each tracked by a customer
#   WebSocket -> ~135,000 concurrent connections.
# * The account's Lambda concurrency quota is assumed raised to 3,000 (reserved total here: 780).

env          = "prod"
aws_region   = "us-east-1"
project_name = "food-delivery"
owner        = "delivery-platform"
cost_center  = "cc-4410"
common_tags  = { DataClassification = "confidential" }

# Network: 3 AZs; private /20s leave room for ~4k Lambda ENI IPs per AZ.
vpc_cidr             = "10.30.0.0/16"
availability_zones   = ["us-east-1a", "us-east-1b", "us-east-1c"]
public_subnet_cidrs  = ["10.30.0.0/24", "10.30.1.0/24", "10.30.2.0/24"]
private_subnet_cidrs = ["10.30.16.0/20", "10.30.32.0/20", "10.30.48.0/20"]
enable_dns_hostnames = true

# APIs. REST: 150 orders/s design x2 headroom = 300 rps, burst 2x. WebSocket default route:
# ~100 connects/s + sendmessage/pickup traffic; 5,000 msg/s keeps well clear of it.
stage_name                     = "v1"
throttle_rate_limit            = 300
throttle_burst_limit           = 600
websocket_throttle_rate_limit  = 5000
websocket_throttle_burst_limit = 10000
cors_allowed_origins           = ["https://app.fooddelivery.example.com"]
pos_endpoint_base_url          = "https://pos-gateway.fooddelivery.example.com/v1"
pos_integration_timeout_ms     = 10000

# Kinesis.
# locations: 15,000 rec/s / (1,000 rec/s per shard x 60% target) = 25 shards (bytes: 3.75 MB/s
#   is far below 25 MiB/s). Consumer: 25 shards x parallelization 2 = 50 concurrent batches of
#   up to 500 records (~0.6 s each) -> ~40k rec/s of processing headroom.
# orders: the consumer spends ~250 ms per order (Redis, 9 GSI queries, matcher) = 4 orders/s per
#   batch in flight; 150 orders/s / 4 = 38 concurrent -> 4 shards x pf 10, doubled = 8 shards
#   (80 concurrent, ~320 orders/s). A busy restaurant (<= 2 orders/s) is nowhere near a shard limit.
stream_mode                       = "PROVISIONED"
orders_shard_count                = 8
locations_shard_count             = 42
retention_hours                   = 168
orders_batch_size                 = 10
orders_batching_window_seconds    = 1
orders_parallelization_factor     = 10
locations_batch_size              = 500
locations_batching_window_seconds = 1
locations_parallelization_factor  = 2

# DynamoDB (PROVISIONED everywhere; per-table numbers from the fleet model).
# orders: ~10 WCU per order lifecycle (2 KB item: put, assign, restaurant accept, pickup, deliver)
#   x 150/s = 1,500 -> 2,500 WCU; ~3 strongly consistent reads per order -> 1,000 RCU.
# orders GSIs: ~4 projected writes per order x 150/s = 600 -> 1,000 WCU each; settlement reads 500 RCU.
# driver_locations: persisted on cell/status change or every 30 s: 60,000/30 + ~700 cell changes/s
#   = 2,700/s -> 4,000 WCU (table and geohash GSI); 150 orders/s x 9 cell queries -> 3,000 RCU.
# connections: 36,000 on-delivery drivers / 4 s = 9,000 order_id-index queries/s x 0.5 RCU -> 5,000 RCU.
# driver_orders: matcher BatchGet 50 drivers x 150/s + location processor 9,000/s, x 0.5 RCU -> 10,000 RCU.
# driver_profiles: matcher BatchGet 50 x 150/s x 0.5 -> 5,000 RCU; nightly credits 200 WCU.
billing_mode               = "PROVISIONED"
connections_table_rcu      = 5000
connections_table_wcu      = 500
orders_table_rcu           = 1000
orders_table_wcu           = 2500
orders_gsi_rcu             = 500
orders_gsi_wcu             = 1000
driver_locations_table_rcu = 3000
driver_locations_table_wcu = 4000
driver_orders_table_rcu    = 10000
driver_orders_table_wcu    = 1000
driver_profiles_table_rcu  = 5000
driver_profiles_table_wcu  = 200
ttl_enabled                = true
ttl_attribute_name         = "expires_at"
connection_ttl_seconds     = 7200
location_ttl_seconds       = 300

location_persist_interval_seconds = 30

# Lambda.
connection_handler_memory      = 256
validator_memory               = 512
consumer_memory                = 1024
matcher_memory                 = 1024
restaurant_memory              = 512
driver_memory                  = 512
customer_memory                = 512
location_memory                = 1024
earnings_memory                = 3008
analytics_memory               = 512
image_memory                   = 1024
api_timeout_s                  = 10
timeout_s                      = 60
matcher_timeout_s              = 10
earnings_timeout_s             = 900
validator_reserved_concurrency = 50
consumer_reserved_concurrency  = 80
matcher_reserved_concurrency   = 100
location_reserved_concurrency  = 84
default_reserved_concurrency   = 50

# SQS consumers: restaurant queue ~150 msg/s x ~300 ms POS round trip = 45 in flight -> 50.
sqs_batch_size              = 10
sqs_batching_window_seconds = 1
sqs_max_concurrency         = 50

# Orders table stream consumers (publisher, analytics).
orders_stream_batch_size              = 50
orders_stream_batching_window_seconds = 1
orders_stream_parallelization_factor  = 4

# Redis cluster: 15,000 GEOADD/s + ~150 GEOSEARCH/s + cache reads, spread by region hash tag over
# 4 shards; r7g.xlarge keeps p99 GEO latency < 1 ms. 1 replica per shard for failover (reads go to primaries): 8 nodes, the Redis alarms read <= 10.
redis_node_type               = "cache.r7g.xlarge"
redis_num_node_groups         = 4
redis_replicas_per_node_group = 1
redis_snapshot_retention_days = 7
restaurant_cache_ttl_seconds  = 300

# Aurora Serverless v2: 64 ACU max -> max_connections 5,000.
instance_class        = "db.serverless"
min_capacity          = 4
max_capacity          = 64
backup_retention_days = 35

# SQS.
visibility_timeout_seconds    = 360
message_retention_seconds     = 345600
dlq_message_retention_seconds = 1209600

# Step Functions / S3 / logs.
earnings_schedule_expression = "cron(30 4 * * ? *)"
max_concurrency              = 40
earnings_items_per_batch     = 50
lifecycle_expiration_days    = 2555
access_log_retention_days    = 365
log_retention_days           = 365
flow_log_retention_days      = 90

external_notification_endpoint = "https://notifications.fooddelivery.example.com/v1/sns"

# Alarm thresholds.
alarm_p99_threshold_ms                        = 250
validator_p99_threshold_ms                    = 150
kinesis_get_records_latency_threshold_ms      = 200
orders_incoming_records_threshold             = 13500   # 1.5 x 150 orders/s x 60
locations_incoming_records_threshold          = 1200000 # 80% of 25 shards x 1,000 rec/s x 60
assignment_conditional_check_failed_threshold = 150
orders_write_throttle_threshold               = 5
redis_geo_latency_threshold_us                = 500
redis_memory_fragmentation_threshold          = 1.5
websocket_error_threshold                     = 500
api_5xx_threshold                             = 30
api_4xx_threshold                             = 450
api_latency_p99_threshold_ms                  = 300
aurora_connection_threshold                   = 4000 # 80% of 5,000
sqs_backlog_threshold                         = 5000
dlq_depth_threshold                           = 1
earnings_sfn_failures_threshold               = 0

# --- region singletons ---
# one stack per account and region owns API Gateway's CloudWatch role setting (terraform/README.md)
manage_api_gateway_account = false
