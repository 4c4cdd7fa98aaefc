# food_delivery: order placement, driver matching, location tracking and nightly driver settlement.
# One stack, three environments (dev.tfvars, staging.tfvars, prod.tfvars): the resource graph is
# identical everywhere; only env, capacities, rates, retentions and alarm thresholds differ.
# See README.md for the data flow and the deviations from the spec.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
    }
    external = {
      source  = "hashicorp/external"
      version = "~> 2.3"
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Variables: identity and tagging
# ---------------------------------------------------------------------------------------------

variable "env" {
  type        = string
  description = "Environment name (dev, staging, prod); the only name that differs between tfvars."
  validation {
    condition     = contains(["dev", "staging", "prod"], var.env)
    error_message = "env must be dev, staging or prod."
  }
}

variable "manage_api_gateway_account" {
  type        = bool
  description = "Whether this stack owns the region's API Gateway account setting (the CloudWatch logging role). Exactly one stack per account and region sets it (property_maintenance, see terraform/README.md); the others rely on it."
  default     = false
}

variable "aws_region" {
  type        = string
  description = "AWS region of the stack (used by provider.tf)."
  default     = "us-east-1"
}

variable "project_name" {
  type        = string
  description = "Project name; prefix of every resource name (<project_name>-<env>-...)."
  default     = "food-delivery"
}

variable "owner" {
  type        = string
  description = "Owning team, written to the Owner tag."
}

variable "cost_center" {
  type        = string
  description = "Cost center, written to the CostCenter tag."
}

variable "common_tags" {
  type        = map(string)
  description = "Extra tags merged into the provider default_tags."
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Variables: network
# ---------------------------------------------------------------------------------------------

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the VPC."
}

variable "availability_zones" {
  type        = list(string)
  description = "AZs used for subnets, NAT gateways, Aurora and Redis (same list in every env)."
}

variable "public_subnet_cidrs" {
  type        = list(string)
  description = "One public subnet CIDR per availability zone (NAT gateways only)."
}

variable "private_subnet_cidrs" {
  type        = list(string)
  description = "One private subnet CIDR per availability zone (Lambda, Aurora, Redis, endpoints)."
}

variable "enable_dns_hostnames" {
  type        = bool
  description = "Enable DNS hostnames in the VPC (required for interface endpoints' private DNS)."
  default     = true
}

variable "flow_log_retention_days" {
  type        = number
  description = "Retention of the VPC flow log group, days."
  default     = 30
}

# ---------------------------------------------------------------------------------------------
# Variables: API Gateway
# ---------------------------------------------------------------------------------------------

variable "websocket_api_name" {
  type        = string
  description = "Name suffix of the WebSocket order-tracking API."
  default     = "order-tracking-ws"
}

variable "rest_api_name" {
  type        = string
  description = "Name suffix of the REST order-placement API."
  default     = "orders-api"
}

variable "stage_name" {
  type        = string
  description = "Stage name of both APIs."
  default     = "v1"
}

variable "throttle_burst_limit" {
  type        = number
  description = "REST API stage and usage-plan burst limit (requests)."
}

variable "throttle_rate_limit" {
  type        = number
  description = "REST API stage and usage-plan steady rate limit (requests/s)."
}

variable "websocket_throttle_burst_limit" {
  type        = number
  description = "WebSocket stage default route burst limit (messages)."
}

variable "websocket_throttle_rate_limit" {
  type        = number
  description = "WebSocket stage default route steady rate limit (messages/s)."
}

variable "cors_allowed_origins" {
  type        = list(string)
  description = "Origins allowed by CORS on the REST API (first entry) and on the upload buckets."
}

variable "pos_endpoint_base_url" {
  type        = string
  description = "Base HTTPS URL of the external restaurant POS gateway proxied by the REST API at /pos/{proxy+}."
}

variable "pos_integration_timeout_ms" {
  type        = number
  description = "Timeout of the POS HTTP proxy integration, ms (API Gateway max 29000)."
  default     = 10000
}

# ---------------------------------------------------------------------------------------------
# Variables: Kinesis
# ---------------------------------------------------------------------------------------------

variable "orders_stream_name" {
  type        = string
  description = "Name suffix of the orders stream (partition key restaurant_id)."
  default     = "orders"
}

variable "locations_stream_name" {
  type        = string
  description = "Name suffix of the driver locations stream (partition key driver_id)."
  default     = "driver-locations"
}

variable "stream_mode" {
  type        = string
  description = "Kinesis capacity mode; PROVISIONED uses the shard counts below. Same in every env."
  default     = "PROVISIONED"
  validation {
    condition     = contains(["PROVISIONED", "ON_DEMAND"], var.stream_mode)
    error_message = "stream_mode must be PROVISIONED or ON_DEMAND."
  }
}

variable "orders_shard_count" {
  type        = number
  description = "Shards of the orders stream."
}

variable "locations_shard_count" {
  type        = number
  description = "Shards of the locations stream."
}

variable "retention_hours" {
  type        = number
  description = "Kinesis retention period, hours (24..8760)."
}

variable "orders_batch_size" {
  type        = number
  description = "Records per order consumer invocation."
}

variable "orders_batching_window_seconds" {
  type        = number
  description = "Max batching window of the orders event source mapping, seconds."
}

variable "orders_parallelization_factor" {
  type        = number
  description = "Concurrent order consumer batches per shard (1..10)."
}

variable "locations_batch_size" {
  type        = number
  description = "Records per location processor invocation."
}

variable "locations_batching_window_seconds" {
  type        = number
  description = "Max batching window of the locations event source mapping, seconds."
}

variable "locations_parallelization_factor" {
  type        = number
  description = "Concurrent location processor batches per shard (1..10)."
}

variable "stream_max_retry_attempts" {
  type        = number
  description = "Retries of a failed Kinesis/DynamoDB stream batch before it goes to the failure queue."
  default     = 5
}

variable "stream_max_record_age_seconds" {
  type        = number
  description = "Records older than this are sent to the failure queue instead of processed, seconds."
  default     = 3600
}

# ---------------------------------------------------------------------------------------------
# Variables: DynamoDB
# ---------------------------------------------------------------------------------------------

variable "connections_table" {
  type        = string
  description = "Name suffix of the WebSocket connections table."
  default     = "connections"
}

variable "orders_table" {
  type        = string
  description = "Name suffix of the orders table."
  default     = "orders"
}

variable "drivers_locations_table" {
  type        = string
  description = "Name suffix of the driver locations table."
  default     = "driver-locations"
}

variable "driver_orders_table" {
  type        = string
  description = "Name suffix of the driver workload table."
  default     = "driver-orders"
}

variable "driver_profiles_table" {
  type        = string
  description = "Name suffix of the driver profiles table."
  default     = "driver-profiles"
}

variable "billing_mode" {
  type        = string
  description = "DynamoDB billing mode of every table; PROVISIONED uses the *_rcu/*_wcu variables. Same in every env."
  default     = "PROVISIONED"
  validation {
    condition     = contains(["PROVISIONED", "PAY_PER_REQUEST"], var.billing_mode)
    error_message = "billing_mode must be PROVISIONED or PAY_PER_REQUEST."
  }
}

variable "connections_table_rcu" {
  type        = number
  description = "Read capacity of the connections table and each of its GSIs."
}

variable "connections_table_wcu" {
  type        = number
  description = "Write capacity of the connections table and each of its GSIs."
}

variable "orders_table_rcu" {
  type        = number
  description = "Read capacity of the orders table."
}

variable "orders_table_wcu" {
  type        = number
  description = "Write capacity of the orders table."
}

variable "orders_gsi_rcu" {
  type        = number
  description = "Read capacity of each orders GSI."
}

variable "orders_gsi_wcu" {
  type        = number
  description = "Write capacity of each orders GSI."
}

variable "driver_locations_table_rcu" {
  type        = number
  description = "Read capacity of the driver_locations table and its geohash GSI."
}

variable "driver_locations_table_wcu" {
  type        = number
  description = "Write capacity of the driver_locations table and its geohash GSI."
}

variable "driver_orders_table_rcu" {
  type        = number
  description = "Read capacity of the driver_orders table."
}

variable "driver_orders_table_wcu" {
  type        = number
  description = "Write capacity of the driver_orders table."
}

variable "driver_profiles_table_rcu" {
  type        = number
  description = "Read capacity of the driver_profiles table."
}

variable "driver_profiles_table_wcu" {
  type        = number
  description = "Write capacity of the driver_profiles table."
}

variable "ttl_enabled" {
  type        = bool
  description = "Enable DynamoDB TTL on connections and driver_locations."
  default     = true
}

variable "ttl_attribute_name" {
  type        = string
  description = "Epoch-seconds TTL attribute on connections and driver_locations."
  default     = "expires_at"
}

variable "connection_ttl_seconds" {
  type        = number
  description = "Lifetime of a connections item, seconds (API Gateway closes WebSockets after 2 h)."
  default     = 7200
}

variable "location_ttl_seconds" {
  type        = number
  description = "Lifetime of a driver_locations item after its last persisted fix, seconds (spec: 5 minutes)."
  default     = 300
}

variable "location_persist_interval_seconds" {
  type        = number
  description = "A driver's fix is persisted to DynamoDB when its geohash cell changes or after this many seconds; every fix still goes to Redis GEO."
}

variable "delivery_date_shards" {
  type        = number
  description = "Write shards of the delivery-date GSI key (delivery_shard = <date>#<nn>); fixed across envs, it is part of the data layout."
  default     = 16
}

variable "deletion_protection" {
  type        = bool
  description = "Deletion protection for DynamoDB tables and Aurora (same in every env)."
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Variables: Lambda
# ---------------------------------------------------------------------------------------------

variable "runtime" {
  type        = string
  description = "Python runtime of every function."
  default     = "python3.12"
}

variable "connection_handler_memory" {
  type        = number
  description = "Memory of the WebSocket connect/disconnect handlers, MB."
}

variable "validator_memory" {
  type        = number
  description = "Memory of the order validator, MB."
}

variable "consumer_memory" {
  type        = number
  description = "Memory of the order stream consumer and the orders stream publisher, MB."
}

variable "matcher_memory" {
  type        = number
  description = "Memory of the driver matcher, MB."
}

variable "restaurant_memory" {
  type        = number
  description = "Memory of the restaurant consumer, MB."
}

variable "driver_memory" {
  type        = number
  description = "Memory of the driver consumer, MB."
}

variable "customer_memory" {
  type        = number
  description = "Memory of the customer consumer, MB."
}

variable "location_memory" {
  type        = number
  description = "Memory of the location processor, MB."
}

variable "earnings_memory" {
  type        = number
  description = "Memory of the earnings query/calc/write functions, MB."
}

variable "analytics_memory" {
  type        = number
  description = "Memory of the analytics function, MB."
}

variable "image_memory" {
  type        = number
  description = "Memory of the delivery photo validator, MB."
}

variable "timeout_s" {
  type        = number
  description = "Timeout of stream and queue consumers, seconds."
}

variable "api_timeout_s" {
  type        = number
  description = "Timeout of the API-facing functions (WebSocket handlers, order validator), seconds (< 29)."
}

variable "matcher_timeout_s" {
  type        = number
  description = "Timeout of the matcher, seconds (must be below timeout_s: the order consumer waits for it)."
}

variable "earnings_timeout_s" {
  type        = number
  description = "Timeout of the earnings functions, seconds."
}

variable "default_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the functions off the hot path (-1 = unreserved)."
}

variable "validator_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the order validator."
}

variable "matcher_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the matcher."
}

variable "consumer_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the order consumer (orders shards x orders_parallelization_factor)."
}

variable "location_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the location processor (locations shards x locations_parallelization_factor)."
}

variable "sqs_batch_size" {
  type        = number
  description = "Messages per invocation of the SQS consumers."
}

variable "sqs_batching_window_seconds" {
  type        = number
  description = "Max batching window of the SQS event source mappings, seconds."
}

variable "sqs_max_concurrency" {
  type        = number
  description = "Max concurrent invocations per SQS event source mapping (2..1000)."
}

variable "orders_stream_batch_size" {
  type        = number
  description = "Records per invocation of the DynamoDB orders stream consumers."
}

variable "orders_stream_batching_window_seconds" {
  type        = number
  description = "Max batching window of the DynamoDB orders stream mappings, seconds."
}

variable "orders_stream_parallelization_factor" {
  type        = number
  description = "Concurrent batches per DynamoDB stream shard (1..10)."
}

# ---------------------------------------------------------------------------------------------
# Variables: ElastiCache Redis (cluster mode enabled)
# ---------------------------------------------------------------------------------------------

variable "redis_node_type" {
  type        = string
  description = "ElastiCache node type."
}

variable "redis_num_node_groups" {
  type        = number
  description = "Shards (node groups) of the Redis cluster."
}

variable "redis_replicas_per_node_group" {
  type        = number
  description = "Replicas per shard (>= 1 in every env so automatic failover / Multi-AZ are identical)."
  validation {
    condition     = var.redis_replicas_per_node_group >= 1
    error_message = "At least one replica per node group is required for automatic failover."
  }
}

variable "redis_engine_version" {
  type        = string
  description = "Redis engine version (GEOSEARCH needs >= 6.2)."
  default     = "7.1"
}

variable "redis_parameter_group_name" {
  type        = string
  description = "Parameter group with cluster-enabled yes."
  default     = "default.redis7.cluster.on"
}

variable "automatic_failover_enabled" {
  type        = bool
  description = "Automatic failover (required true for cluster mode)."
  default     = true
}

variable "multi_az_enabled" {
  type        = bool
  description = "Multi-AZ for the Redis replication group."
  default     = true
}

variable "redis_snapshot_retention_days" {
  type        = number
  description = "Days of automatic Redis snapshots."
}

variable "restaurant_cache_ttl_seconds" {
  type        = number
  description = "TTL of the restaurant availability/prep-time cache in Redis, seconds."
}

# ---------------------------------------------------------------------------------------------
# Variables: Aurora PostgreSQL Serverless v2
# ---------------------------------------------------------------------------------------------

variable "cluster_identifier" {
  type        = string
  description = "Name suffix of the Aurora cluster."
  default     = "aurora-pg"
}

variable "database_name" {
  type        = string
  description = "Initial database (restaurant_profiles, pricing_rules, driver_earnings, analytics_orders)."
  default     = "fooddelivery"
}

variable "master_username" {
  type        = string
  description = "Master user name; the password is generated and kept by RDS in Secrets Manager."
  default     = "fd_admin"
}

variable "aurora_engine_version" {
  type        = string
  description = "aurora-postgresql engine version."
  default     = "16.4"
}

variable "aurora_parameter_group_family" {
  type        = string
  description = "Cluster parameter group family matching aurora_engine_version."
  default     = "aurora-postgresql16"
}

variable "instance_class" {
  type        = string
  description = "Aurora instance class (db.serverless for Serverless v2)."
  default     = "db.serverless"
}

variable "min_capacity" {
  type        = number
  description = "Aurora Serverless v2 minimum ACU."
}

variable "max_capacity" {
  type        = number
  description = "Aurora Serverless v2 maximum ACU."
}

variable "backup_retention_days" {
  type        = number
  description = "Aurora backup retention, days."
}

variable "preferred_backup_window" {
  type        = string
  description = "Aurora daily backup window (UTC)."
  default     = "02:00-03:00"
}

# ---------------------------------------------------------------------------------------------
# Variables: SNS / SQS
# ---------------------------------------------------------------------------------------------

variable "order_events_topic" {
  type        = string
  description = "Name suffix of the order-events topic."
  default     = "order-events"
}

variable "external_notifications_topic" {
  type        = string
  description = "Name suffix of the topic delivering customer notifications to the external service."
  default     = "external-notifications"
}

variable "external_notification_endpoint" {
  type        = string
  description = "HTTPS endpoint of the external email/SMS/push notification service."
}

variable "restaurant_queue_name" {
  type        = string
  description = "Name suffix of the restaurant orders queue."
  default     = "restaurant-orders"
}

variable "driver_queue_name" {
  type        = string
  description = "Name suffix of the driver assignments queue."
  default     = "driver-assignments"
}

variable "customer_queue_name" {
  type        = string
  description = "Name suffix of the customer notifications queue."
  default     = "customer-notifications"
}

variable "visibility_timeout_seconds" {
  type        = number
  description = "Visibility timeout of the consumer queues (>= 6 x timeout_s)."
}

variable "message_retention_seconds" {
  type        = number
  description = "Retention of the consumer queues, seconds."
}

variable "dlq_message_retention_seconds" {
  type        = number
  description = "Retention of the dead-letter and failure queues, seconds."
}

variable "max_receive_count" {
  type        = number
  description = "Receives before a message moves to its DLQ."
  default     = 5
}

# ---------------------------------------------------------------------------------------------
# Variables: Step Functions / EventBridge / S3 / CloudWatch
# ---------------------------------------------------------------------------------------------

variable "earnings_schedule_expression" {
  type        = string
  description = "EventBridge schedule of the nightly settlement (UTC)."
  default     = "cron(30 4 * * ? *)"
}

variable "earnings_workflow_name" {
  type        = string
  description = "Name suffix of the earnings state machine."
  default     = "driver-earnings"
}

variable "max_concurrency" {
  type        = number
  description = "MaxConcurrency of the earnings distributed Map (child executions in parallel)."
}

variable "earnings_items_per_batch" {
  type        = number
  description = "Drivers per child execution of the earnings Map (ItemBatcher)."
}

variable "receipts_bucket_name" {
  type        = string
  description = "Name suffix of the receipts bucket (also holds settlement work files)."
  default     = "receipts"
}

variable "delivery_photos_bucket_name" {
  type        = string
  description = "Name suffix of the delivery photos bucket."
  default     = "delivery-photos"
}

variable "lifecycle_expiration_days" {
  type        = number
  description = "Days after which receipts and delivery photos expire."
}

variable "access_log_retention_days" {
  type        = number
  description = "Days S3 server access logs are kept."
}

variable "log_retention_days" {
  type        = number
  description = "Retention of Lambda, API, Step Functions and Redis log groups, days."
}

# ---------------------------------------------------------------------------------------------
# Variables: alarm thresholds (the simulator's contract; every one differs per env)
# ---------------------------------------------------------------------------------------------

variable "alarm_p99_threshold_ms" {
  type        = number
  description = "Matcher Lambda p99 duration alarm threshold, ms."
}

variable "validator_p99_threshold_ms" {
  type        = number
  description = "Order validator Lambda p99 duration alarm threshold, ms."
}

variable "kinesis_get_records_latency_threshold_ms" {
  type        = number
  description = "Kinesis GetRecords.Latency average alarm threshold, ms."
}

variable "orders_incoming_records_threshold" {
  type        = number
  description = "Orders stream IncomingRecords per minute alarm threshold."
}

variable "locations_incoming_records_threshold" {
  type        = number
  description = "Locations stream IncomingRecords per minute alarm threshold."
}

variable "assignment_conditional_check_failed_threshold" {
  type        = number
  description = "ConditionalCheckFailedRequests per minute on orders (assignment races) alarm threshold."
}

variable "orders_write_throttle_threshold" {
  type        = number
  description = "WriteThrottleEvents per minute on orders (hot partition) alarm threshold."
}

variable "redis_geo_latency_threshold_us" {
  type        = number
  description = "Redis GeoSpatialBasedCmdsLatency average alarm threshold, microseconds."
}

variable "redis_memory_fragmentation_threshold" {
  type        = number
  description = "Redis MemoryFragmentationRatio alarm threshold."
}

variable "websocket_error_threshold" {
  type        = number
  description = "WebSocket client+integration+execution errors per minute alarm threshold."
}

variable "api_5xx_threshold" {
  type        = number
  description = "REST API 5XXError per minute alarm threshold."
}

variable "api_4xx_threshold" {
  type        = number
  description = "REST API 4XXError per minute alarm threshold."
}

variable "api_latency_p99_threshold_ms" {
  type        = number
  description = "REST API p99 Latency alarm threshold, ms."
}

variable "aurora_connection_threshold" {
  type        = number
  description = "Aurora DatabaseConnections (max) alarm threshold (~80% of max_connections at max ACU)."
}

variable "sqs_backlog_threshold" {
  type        = number
  description = "ApproximateNumberOfMessagesVisible alarm threshold of each consumer queue."
}

variable "dlq_depth_threshold" {
  type        = number
  description = "ApproximateNumberOfMessagesVisible alarm threshold of each dead-letter and failure queue."
}

variable "earnings_sfn_failures_threshold" {
  type        = number
  description = "Failed earnings executions per evaluation window alarm threshold."
}

# ---------------------------------------------------------------------------------------------
# Data sources and locals
# ---------------------------------------------------------------------------------------------

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  # Aurora presents a certificate from the RDS CAs, which no default trust store holds: the layer ships this
  # bundle at /opt/certs/rds-global-bundle.pem (fetched by the layer build from AWS's trust store).
  rds_ca_bundle_url = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
  name_prefix       = "${var.project_name}-${var.env}"
  account_id        = data.aws_caller_identity.current.account_id
  partition         = data.aws_partition.current.partition
  region            = var.aws_region

  tags = merge(var.common_tags, {
    Project     = var.project_name
    Environment = var.env
    Owner       = var.owner
    CostCenter  = var.cost_center
    Stack       = "food_delivery"
    ManagedBy   = "terraform"
  })

  # AZ name -> index into the subnet CIDR lists (the AZ list is identical in every env).
  az_index = { for i, az in var.availability_zones : az => i }

  # Matching algorithm constants: part of the topology, never per-env (spec: "Disallowed: different
  # matching algorithm"). The score and the surge rules are documented in
  # loadgen/matching/driver_matching.py, which the matcher Lambda imports.
  match_config = {
    distance_weight   = "0.5"
    workload_weight   = "0.3"
    rating_weight     = "0.2"
    max_radius_km     = "6"
    max_active_orders = "2"
    base_delivery_fee = "2.99"
  }

  # Kinesis streams: ONE aws_kinesis_stream for_each over this map. Keys are fixed.
  kinesis_streams = {
    orders = {
      name                             = "${local.name_prefix}-${var.orders_stream_name}"
      shard_count                      = var.orders_shard_count
      partition_key                    = "restaurant_id"
      consumer                         = "order_consumer"
      batch_size                       = var.orders_batch_size
      batching_window_seconds          = var.orders_batching_window_seconds
      parallelization_factor           = var.orders_parallelization_factor
      incoming_records_threshold       = var.orders_incoming_records_threshold
      get_records_latency_threshold_ms = var.kinesis_get_records_latency_threshold_ms
    }
    locations = {
      name                             = "${local.name_prefix}-${var.locations_stream_name}"
      shard_count                      = var.locations_shard_count
      partition_key                    = "driver_id"
      consumer                         = "location_processor"
      batch_size                       = var.locations_batch_size
      batching_window_seconds          = var.locations_batching_window_seconds
      parallelization_factor           = var.locations_parallelization_factor
      incoming_records_threshold       = var.locations_incoming_records_threshold
      get_records_latency_threshold_ms = var.kinesis_get_records_latency_threshold_ms
    }
  }

  dynamodb_capacity = {
    connections      = { rcu = var.connections_table_rcu, wcu = var.connections_table_wcu }
    orders           = { rcu = var.orders_table_rcu, wcu = var.orders_table_wcu }
    orders_gsi       = { rcu = var.orders_gsi_rcu, wcu = var.orders_gsi_wcu }
    driver_locations = { rcu = var.driver_locations_table_rcu, wcu = var.driver_locations_table_wcu }
    driver_orders    = { rcu = var.driver_orders_table_rcu, wcu = var.driver_orders_table_wcu }
    driver_profiles  = { rcu = var.driver_profiles_table_rcu, wcu = var.driver_profiles_table_wcu }
  }
  provisioned = var.billing_mode == "PROVISIONED"

  # DynamoDB tables (every key attribute is a string). indexes: GSI name -> keys, projection and the
  # dynamodb_capacity entry that sizes it.
  dynamodb_tables = {
    connections = {
      name       = var.connections_table, hash_key = "connection_id", stream = false, ttl = true
      attributes = ["connection_id", "user_id", "order_id"]
      indexes = {
        "user_id-index"  = { hash_key = "user_id", range_key = null, projection_type = "KEYS_ONLY", non_key_attributes = [], capacity = "connections" }
        "order_id-index" = { hash_key = "order_id", range_key = null, projection_type = "KEYS_ONLY", non_key_attributes = [], capacity = "connections" }
      }
    }
    orders = {
      name       = var.orders_table, hash_key = "order_id", stream = true, ttl = false
      attributes = ["order_id", "restaurant_id", "created_at", "driver_id", "delivery_date", "delivery_shard"]
      indexes = {
        # Restaurant dashboards: a restaurant's orders by time.
        "restaurant_id-created_at-index" = { hash_key = "restaurant_id", range_key = "created_at", projection_type = "KEYS_ONLY", non_key_attributes = [], capacity = "orders_gsi" }
        # Driver history by delivery_date (sparse: set when an order is delivered).
        "driver_id-delivery_date-index" = { hash_key = "driver_id", range_key = "delivery_date", projection_type = "INCLUDE", non_key_attributes = ["status", "delivery_fee", "tip", "distance_km", "surge_multiplier"], capacity = "orders_gsi" }
        # Nightly settlement: all delivered orders of a date, write-sharded (<date>#<nn>) so the dinner peak
        # does not land on one GSI partition.
        "delivery-shard-index" = { hash_key = "delivery_shard", range_key = "driver_id", projection_type = "INCLUDE", non_key_attributes = ["delivery_date", "delivery_fee", "tip", "distance_km", "duration_minutes", "surge_multiplier", "region"], capacity = "orders_gsi" }
      }
    }
    driver_locations = {
      name       = var.drivers_locations_table, hash_key = "driver_id", stream = false, ttl = true
      attributes = ["driver_id", "geohash"]
      indexes = {
        # geohash = precision-5 cell (~4.9 km); the order consumer queries the cell and its 8 neighbours.
        "geohash-index" = { hash_key = "geohash", range_key = "driver_id", projection_type = "INCLUDE", non_key_attributes = ["lat", "lon", "driver_status", "region", "updated_at"], capacity = "driver_locations" }
      }
    }
    driver_orders   = { name = var.driver_orders_table, hash_key = "driver_id", stream = false, ttl = false, attributes = ["driver_id"], indexes = {} }
    driver_profiles = { name = var.driver_profiles_table, hash_key = "driver_id", stream = false, ttl = false, attributes = ["driver_id"], indexes = {} }
  }

  # SNS order-events -> SQS fan-out. order_stage is a MessageAttribute set by the orders stream
  # publisher; each queue receives only the stages its consumer acts on.
  consumer_queues = {
    restaurant_orders = {
      name         = "${local.name_prefix}-${var.restaurant_queue_name}"
      order_stages = ["placed", "cancelled"]
      consumer     = "restaurant_consumer"
    }
    driver_assignments = {
      name         = "${local.name_prefix}-${var.driver_queue_name}"
      order_stages = ["assigned"]
      consumer     = "driver_consumer"
    }
    customer_notifications = {
      name         = "${local.name_prefix}-${var.customer_queue_name}"
      order_stages = ["placed", "assigned", "picked_up", "delivered", "cancelled"]
      consumer     = "customer_consumer"
    }
  }

  # Internal failure queues: Kinesis/DynamoDB stream on-failure destination and Lambda async DLQ.
  ops_queues = {
    stream_failures       = "${local.name_prefix}-stream-failures"
    lambda_async_dlq      = "${local.name_prefix}-lambda-async-dlq"
    event_target_failures = "${local.name_prefix}-event-target-failures"
  }

  # Every node of the cluster-mode replication group (<group>-<shard 0001..>-<node 001..>): alarms watch all of
  # them (at most 10, CloudWatch's limit for a metric-math alarm; checked on the alarms), so they survive failover.
  redis_node_ids = flatten([
    for shard in range(var.redis_num_node_groups) : [
      for node in range(var.redis_replicas_per_node_group + 1) : format("%s-redis-%04d-%03d", local.name_prefix, shard + 1, node + 1)
    ]
  ])

  # Every queue a message lands in when processing gave up: the consumer DLQs and the failure queues.
  dlq_alarm_queues = merge(
    { for k, q in local.consumer_queues : "${k}_dlq" => "${q.name}-dlq" },
    local.ops_queues,
  )

  # DynamoDB orders stream consumers with their filter patterns.
  orders_stream_consumers = {
    orders_stream_publisher = {
      patterns = [
        jsonencode({
          eventName = ["INSERT", "MODIFY"]
          dynamodb  = { NewImage = { status = { S = ["placed", "assigned", "picked_up", "delivered", "cancelled"] } } }
        }),
      ]
    }
    analytics = {
      patterns = [
        jsonencode({
          eventName = ["MODIFY"]
          dynamodb  = { NewImage = { status = { S = ["delivered"] } } }
        }),
      ]
    }
  }

  # Constructed names/ARNs (used where referencing the resource itself would form a cycle).
  matcher_function_name = "${local.name_prefix}-matcher"
  matcher_function_arn  = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.matcher_function_name}"
  state_machine_name    = "${local.name_prefix}-${var.earnings_workflow_name}"
  state_machine_arn     = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.state_machine_name}"
  settlements_prefix    = "settlements/"

  ws_management_endpoint = "https://${aws_apigatewayv2_api.ws.id}.execute-api.${local.region}.amazonaws.com/${var.stage_name}"
  ws_manage_arn          = "${aws_apigatewayv2_api.ws.execution_arn}/${var.stage_name}/POST/@connections/*"

  lambda_common_env = {
    ENVIRONMENT            = var.env
    POWERTOOLS_SERVICE     = var.project_name
    CONNECTIONS_TABLE      = aws_dynamodb_table.this["connections"].name
    ORDERS_TABLE           = aws_dynamodb_table.this["orders"].name
    DRIVER_LOCATIONS_TABLE = aws_dynamodb_table.this["driver_locations"].name
    DRIVER_ORDERS_TABLE    = aws_dynamodb_table.this["driver_orders"].name
    DRIVER_PROFILES_TABLE  = aws_dynamodb_table.this["driver_profiles"].name
  }

  redis_env = {
    REDIS_HOST       = aws_elasticache_replication_group.redis.configuration_endpoint_address
    REDIS_PORT       = "6379"
    REDIS_SECRET_ARN = aws_secretsmanager_secret.redis_auth.arn
  }

  aurora_env = {
    AURORA_HOST       = aws_rds_cluster.aurora.endpoint
    AURORA_READER     = aws_rds_cluster.aurora.reader_endpoint
    AURORA_PORT       = "5432"
    AURORA_DATABASE   = var.database_name
    AURORA_SECRET_ARN = aws_rds_cluster.aurora.master_user_secret[0].secret_arn
    AURORA_CA_BUNDLE  = "/opt/certs/rds-global-bundle.pem"
  }

  # datastores.py and the Aurora tables its pg_connection creates, packaged together.
  datastores_module = {
    "datastores.py" = "lambda/datastores.py"
    "schema.sql"    = "lambda/schema.sql"
  }

  # Every function: memory/timeout/reserved concurrency from vars; vpc = reaches Aurora/Redis.
  # extra_sources: archive filename -> file under this module packaged next to <key>.py.
  lambda_functions = {
    ws_connect = {
      description   = "WebSocket $connect and sendmessage: store connection_id mappings, relay order messages."
      memory        = var.connection_handler_memory
      timeout       = var.api_timeout_s
      reserved      = var.default_reserved_concurrency
      vpc           = false
      extra_sources = { "ws_connections.py" = "lambda/ws_connections.py" }
      env = {
        CONNECTION_TTL_SECONDS = tostring(var.connection_ttl_seconds)
        TTL_ATTRIBUTE          = var.ttl_attribute_name
        WS_ENDPOINT            = local.ws_management_endpoint
      }
    }
    ws_disconnect = {
      description   = "WebSocket $disconnect: remove the connection_id mapping."
      memory        = var.connection_handler_memory
      timeout       = var.api_timeout_s
      reserved      = var.default_reserved_concurrency
      vpc           = false
      extra_sources = {}
      env           = {}
    }
    order_validator = {
      description   = "POST /orders: validate against schemas/order_request.json, PutRecords to the orders stream (PartitionKey restaurant_id)."
      memory        = var.validator_memory
      timeout       = var.api_timeout_s
      reserved      = var.validator_reserved_concurrency
      vpc           = false
      extra_sources = { "order_request.json" = "schemas/order_request.json" }
      env = {
        ORDERS_STREAM     = local.kinesis_streams.orders.name
        CORS_ALLOW_ORIGIN = var.cors_allowed_origins[0]
      }
    }
    order_consumer = {
      description   = "Orders stream consumer: persist the order, check restaurant availability (Redis, Aurora read-through), find drivers via the geohash GSI, invoke the matcher."
      memory        = var.consumer_memory
      timeout       = var.timeout_s
      reserved      = var.consumer_reserved_concurrency
      vpc           = true
      extra_sources = merge(local.datastores_module, { "geo.py" = "lambda/geo.py" })
      env = merge(local.redis_env, local.aurora_env, {
        MATCHER_FUNCTION             = local.matcher_function_name
        RESTAURANT_CACHE_TTL_SECONDS = tostring(var.restaurant_cache_ttl_seconds)
        MAX_RADIUS_KM                = local.match_config.max_radius_km
        GEOHASH_INDEX                = "geohash-index"
      })
    }
    matcher = {
      description   = "Driver matching: GEOSEARCH, workload, surge ZSCORE, multi-criteria rank, conditional assignment."
      memory        = var.matcher_memory
      timeout       = var.matcher_timeout_s
      reserved      = var.matcher_reserved_concurrency
      vpc           = true
      extra_sources = {}
      env = merge(local.redis_env, {
        MATCH_DISTANCE_WEIGHT = local.match_config.distance_weight
        MATCH_WORKLOAD_WEIGHT = local.match_config.workload_weight
        MATCH_RATING_WEIGHT   = local.match_config.rating_weight
        MAX_RADIUS_KM         = local.match_config.max_radius_km
        MAX_ACTIVE_ORDERS     = local.match_config.max_active_orders
        BASE_DELIVERY_FEE     = local.match_config.base_delivery_fee
      })
    }
    orders_stream_publisher = {
      description   = "Orders table stream -> SNS order-events with MessageAttribute order_stage."
      memory        = var.consumer_memory
      timeout       = var.timeout_s
      reserved      = var.default_reserved_concurrency
      vpc           = false
      extra_sources = {}
      env           = { ORDER_EVENTS_TOPIC_ARN = aws_sns_topic.order_events.arn }
    }
    restaurant_consumer = {
      description   = "restaurant_orders queue -> restaurant POS via the API Gateway HTTP proxy; records acceptance."
      memory        = var.restaurant_memory
      timeout       = var.timeout_s
      reserved      = var.default_reserved_concurrency
      vpc           = false
      extra_sources = {}
      env           = { POS_PROXY_URL = "https://${aws_api_gateway_rest_api.orders.id}.execute-api.${local.region}.amazonaws.com/${var.stage_name}/pos" }
    }
    driver_consumer = {
      description   = "driver_assignments queue -> PostToConnection to the driver app; records the notification on driver_orders."
      memory        = var.driver_memory
      timeout       = var.timeout_s
      reserved      = var.default_reserved_concurrency
      vpc           = false
      extra_sources = { "ws_connections.py" = "lambda/ws_connections.py" }
      env           = { WS_ENDPOINT = local.ws_management_endpoint }
    }
    customer_consumer = {
      description   = "customer_notifications queue -> external notification topic and customer WebSockets."
      memory        = var.customer_memory
      timeout       = var.timeout_s
      reserved      = var.default_reserved_concurrency
      vpc           = false
      extra_sources = { "ws_connections.py" = "lambda/ws_connections.py" }
      env = {
        WS_ENDPOINT                      = local.ws_management_endpoint
        EXTERNAL_NOTIFICATIONS_TOPIC_ARN = aws_sns_topic.external_notifications.arn
      }
    }
    location_processor = {
      description   = "Locations stream: Redis GEOADD, driver_locations with 5 min TTL, live position to tracking customers."
      memory        = var.location_memory
      timeout       = var.timeout_s
      reserved      = var.location_reserved_concurrency
      vpc           = true
      extra_sources = merge(local.datastores_module, { "geo.py" = "lambda/geo.py", "ws_connections.py" = "lambda/ws_connections.py" })
      env = merge(local.redis_env, {
        WS_ENDPOINT                       = local.ws_management_endpoint
        LOCATION_TTL_SECONDS              = tostring(var.location_ttl_seconds)
        LOCATION_PERSIST_INTERVAL_SECONDS = tostring(var.location_persist_interval_seconds)
        TTL_ATTRIBUTE                     = var.ttl_attribute_name
      })
    }
    earnings_query = {
      description   = "Earnings step 1: delivered orders of a delivery_date grouped by driver_id, written to S3 for the Map."
      memory        = var.earnings_memory
      timeout       = var.earnings_timeout_s
      reserved      = var.default_reserved_concurrency
      vpc           = false
      extra_sources = {}
      env = {
        SETTLEMENTS_BUCKET   = aws_s3_bucket.data["receipts"].id
        SETTLEMENTS_PREFIX   = local.settlements_prefix
        DELIVERY_SHARD_INDEX = "delivery-shard-index"
        DELIVERY_DATE_SHARDS = tostring(var.delivery_date_shards)
      }
    }
    earnings_calc = {
      description   = "Earnings step 2: per-driver earnings from distance, time, surge and tips with Aurora pricing_rules; aggregates the Map results."
      memory        = var.earnings_memory
      timeout       = var.earnings_timeout_s
      reserved      = var.default_reserved_concurrency
      vpc           = true
      extra_sources = local.datastores_module
      env           = merge(local.aurora_env, { SETTLEMENTS_BUCKET = aws_s3_bucket.data["receipts"].id })
    }
    earnings_write = {
      description   = "Earnings step 3: upsert Aurora driver_earnings and credit driver_profiles.balance idempotently."
      memory        = var.earnings_memory
      timeout       = var.earnings_timeout_s
      reserved      = var.default_reserved_concurrency
      vpc           = true
      extra_sources = local.datastores_module
      env           = local.aurora_env
    }
    analytics = {
      description   = "Delivered orders (stream filter) -> Aurora analytics_orders, Redis ratings/delivery-time averages, driver workload release."
      memory        = var.analytics_memory
      timeout       = var.timeout_s
      reserved      = var.default_reserved_concurrency
      vpc           = true
      extra_sources = local.datastores_module
      env           = merge(local.redis_env, local.aurora_env)
    }
    image_validator = {
      description   = "Delivery photo PUT: validate image, Rekognition DetectLabels, set orders.proof_of_delivery."
      memory        = var.image_memory
      timeout       = var.timeout_s
      reserved      = var.default_reserved_concurrency
      vpc           = false
      extra_sources = { "geo.py" = "lambda/geo.py" }
      env = {
        MIN_LABEL_CONFIDENCE = "70"
        DELIVERY_DATE_SHARDS = tostring(var.delivery_date_shards)
      }
    }
  }

  # Functions packaged by the generic archive (the matcher has its own archive with loadgen/).
  generic_packages = { for k, v in local.lambda_functions : k => v if k != "matcher" }
  vpc_functions    = { for k, v in local.lambda_functions : k => v if v.vpc }

  stream_read_actions = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:SubscribeToShard",
  ]
  ddb_stream_read_actions = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
  ]
  sqs_consume_actions = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
  ]

  # Least privilege: each function's statements, scoped to the resources it touches.
  lambda_policy_statements = {
    ws_connect = [
      { sid = "Connections", actions = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Query"], resources = [aws_dynamodb_table.this["connections"].arn, "${aws_dynamodb_table.this["connections"].arn}/index/*"] },
      { sid = "ManageConnections", actions = ["execute-api:ManageConnections"], resources = [local.ws_manage_arn] },
      { sid = "DriverPickup", actions = ["dynamodb:UpdateItem"], resources = [aws_dynamodb_table.this["orders"].arn] },
    ]
    ws_disconnect = [
      { sid = "Connections", actions = ["dynamodb:DeleteItem"], resources = [aws_dynamodb_table.this["connections"].arn] },
    ]
    order_validator = [
      { sid = "PutOrders", actions = ["kinesis:PutRecord", "kinesis:PutRecords"], resources = [aws_kinesis_stream.this["orders"].arn] },
    ]
    order_consumer = [
      { sid = "ReadOrdersStream", actions = local.stream_read_actions, resources = [aws_kinesis_stream.this["orders"].arn] },
      { sid = "Orders", actions = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [aws_dynamodb_table.this["orders"].arn] },
      { sid = "DriverGeoIndex", actions = ["dynamodb:Query"], resources = ["${aws_dynamodb_table.this["driver_locations"].arn}/index/geohash-index"] },
      { sid = "InvokeMatcher", actions = ["lambda:InvokeFunction"], resources = [local.matcher_function_arn] },
      { sid = "Secrets", actions = ["secretsmanager:GetSecretValue"], resources = [aws_secretsmanager_secret.redis_auth.arn, aws_rds_cluster.aurora.master_user_secret[0].secret_arn] },
      { sid = "FailureDestination", actions = ["sqs:SendMessage"], resources = [aws_sqs_queue.ops["stream_failures"].arn] },
    ]
    matcher = [
      { sid = "Orders", actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [aws_dynamodb_table.this["orders"].arn] },
      { sid = "Workload", actions = ["dynamodb:BatchGetItem", "dynamodb:UpdateItem"], resources = [aws_dynamodb_table.this["driver_orders"].arn] },
      { sid = "Profiles", actions = ["dynamodb:BatchGetItem"], resources = [aws_dynamodb_table.this["driver_profiles"].arn] },
      { sid = "Secrets", actions = ["secretsmanager:GetSecretValue"], resources = [aws_secretsmanager_secret.redis_auth.arn] },
    ]
    orders_stream_publisher = [
      { sid = "ReadOrdersTableStream", actions = local.ddb_stream_read_actions, resources = [aws_dynamodb_table.this["orders"].stream_arn] },
      { sid = "PublishOrderEvents", actions = ["sns:Publish"], resources = [aws_sns_topic.order_events.arn] },
      { sid = "FailureDestination", actions = ["sqs:SendMessage"], resources = [aws_sqs_queue.ops["stream_failures"].arn] },
    ]
    restaurant_consumer = [
      { sid = "ConsumeQueue", actions = local.sqs_consume_actions, resources = [aws_sqs_queue.consumer["restaurant_orders"].arn] },
      { sid = "InvokePosProxy", actions = ["execute-api:Invoke"], resources = ["${aws_api_gateway_rest_api.orders.execution_arn}/${var.stage_name}/*/pos/*"] },
      { sid = "Orders", actions = ["dynamodb:UpdateItem"], resources = [aws_dynamodb_table.this["orders"].arn] },
    ]
    driver_consumer = [
      { sid = "ConsumeQueue", actions = local.sqs_consume_actions, resources = [aws_sqs_queue.consumer["driver_assignments"].arn] },
      { sid = "Connections", actions = ["dynamodb:Query", "dynamodb:DeleteItem"], resources = [aws_dynamodb_table.this["connections"].arn, "${aws_dynamodb_table.this["connections"].arn}/index/user_id-index"] },
      { sid = "Workload", actions = ["dynamodb:UpdateItem"], resources = [aws_dynamodb_table.this["driver_orders"].arn] },
      { sid = "ManageConnections", actions = ["execute-api:ManageConnections"], resources = [local.ws_manage_arn] },
    ]
    customer_consumer = [
      { sid = "ConsumeQueue", actions = local.sqs_consume_actions, resources = [aws_sqs_queue.consumer["customer_notifications"].arn] },
      { sid = "Connections", actions = ["dynamodb:Query", "dynamodb:DeleteItem"], resources = [aws_dynamodb_table.this["connections"].arn, "${aws_dynamodb_table.this["connections"].arn}/index/*"] },
      { sid = "PublishExternal", actions = ["sns:Publish"], resources = [aws_sns_topic.external_notifications.arn] },
      { sid = "ManageConnections", actions = ["execute-api:ManageConnections"], resources = [local.ws_manage_arn] },
    ]
    location_processor = [
      { sid = "ReadLocationsStream", actions = local.stream_read_actions, resources = [aws_kinesis_stream.this["locations"].arn] },
      { sid = "DriverLocations", actions = ["dynamodb:BatchWriteItem", "dynamodb:PutItem"], resources = [aws_dynamodb_table.this["driver_locations"].arn] },
      { sid = "Workload", actions = ["dynamodb:BatchGetItem"], resources = [aws_dynamodb_table.this["driver_orders"].arn] },
      { sid = "Connections", actions = ["dynamodb:Query", "dynamodb:DeleteItem"], resources = [aws_dynamodb_table.this["connections"].arn, "${aws_dynamodb_table.this["connections"].arn}/index/order_id-index"] },
      { sid = "ManageConnections", actions = ["execute-api:ManageConnections"], resources = [local.ws_manage_arn] },
      { sid = "Secrets", actions = ["secretsmanager:GetSecretValue"], resources = [aws_secretsmanager_secret.redis_auth.arn] },
      { sid = "FailureDestination", actions = ["sqs:SendMessage"], resources = [aws_sqs_queue.ops["stream_failures"].arn] },
    ]
    earnings_query = [
      { sid = "DeliveredOrders", actions = ["dynamodb:Query"], resources = ["${aws_dynamodb_table.this["orders"].arn}/index/delivery-shard-index"] },
      { sid = "WriteWorkFile", actions = ["s3:PutObject"], resources = ["${aws_s3_bucket.data["receipts"].arn}/${local.settlements_prefix}*"] },
    ]
    earnings_calc = [
      { sid = "ReadResults", actions = ["s3:GetObject"], resources = ["${aws_s3_bucket.data["receipts"].arn}/${local.settlements_prefix}*"] },
      { sid = "Secrets", actions = ["secretsmanager:GetSecretValue"], resources = [aws_rds_cluster.aurora.master_user_secret[0].secret_arn] },
    ]
    earnings_write = [
      { sid = "Secrets", actions = ["secretsmanager:GetSecretValue"], resources = [aws_rds_cluster.aurora.master_user_secret[0].secret_arn] },
      { sid = "Balances", actions = ["dynamodb:UpdateItem"], resources = [aws_dynamodb_table.this["driver_profiles"].arn] },
    ]
    analytics = [
      { sid = "ReadOrdersTableStream", actions = local.ddb_stream_read_actions, resources = [aws_dynamodb_table.this["orders"].stream_arn] },
      { sid = "Workload", actions = ["dynamodb:UpdateItem"], resources = [aws_dynamodb_table.this["driver_orders"].arn] },
      { sid = "Secrets", actions = ["secretsmanager:GetSecretValue"], resources = [aws_secretsmanager_secret.redis_auth.arn, aws_rds_cluster.aurora.master_user_secret[0].secret_arn] },
      { sid = "FailureDestination", actions = ["sqs:SendMessage"], resources = [aws_sqs_queue.ops["stream_failures"].arn] },
    ]
    image_validator = [
      { sid = "ReadPhotos", actions = ["s3:GetObject", "s3:PutObjectTagging"], resources = ["${aws_s3_bucket.data["delivery_photos"].arn}/*"] },
      { sid = "Orders", actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [aws_dynamodb_table.this["orders"].arn] },
      { sid = "DetectLabels", actions = ["rekognition:DetectLabels"], resources = ["*"] },
    ]
  }

  buckets = {
    receipts        = { name = "${local.name_prefix}-${var.receipts_bucket_name}-${local.account_id}" }
    delivery_photos = { name = "${local.name_prefix}-${var.delivery_photos_bucket_name}-${local.account_id}" }
  }

  interface_endpoints = toset(["kinesis-streams", "sns", "sqs", "rekognition", "states", "secretsmanager", "lambda"])

  ws_routes = {
    connect     = { route_key = "$connect", function = "ws_connect" }
    disconnect  = { route_key = "$disconnect", function = "ws_disconnect" }
    sendmessage = { route_key = "sendmessage", function = "ws_connect" }
  }

  metric_namespace = "FoodDelivery/${var.env}"
  metric_filters = {
    orders_accepted  = { function = "order_validator", pattern = "{ $.event = \"order_accepted\" }", metric = "OrdersAccepted", value = "1" }
    orders_assigned  = { function = "matcher", pattern = "{ $.event = \"order_assigned\" }", metric = "OrdersAssigned", value = "1" }
    orders_unmatched = { function = "matcher", pattern = "{ $.event = \"no_driver_available\" }", metric = "OrdersUnmatched", value = "1" }
    assignment_races = { function = "matcher", pattern = "{ $.event = \"assignment_conflict\" }", metric = "AssignmentConflicts", value = "1" }
    orders_delivered = { function = "analytics", pattern = "{ $.event = \"order_delivered\" }", metric = "OrdersDelivered", value = "1" }
    delivery_minutes = { function = "analytics", pattern = "{ $.event = \"order_delivered\" }", metric = "DeliveryMinutes", value = "$.delivery_minutes" }
    photos_rejected  = { function = "image_validator", pattern = "{ $.event = \"photo_rejected\" }", metric = "DeliveryPhotosRejected", value = "1" }
  }
}

# ---------------------------------------------------------------------------------------------
# KMS: one customer key for every data store, stream, queue, topic and log group of the stack
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:Key policies must use Resource "*" (the key itself); the root statement delegates to IAM.
  #checkov:skip=CKV_AWS_111:Key policies must use Resource "*" (the key itself); the root statement delegates to IAM.
  #checkov:skip=CKV_AWS_356:Key policies must use Resource "*" (the key itself).
  statement {
    sid       = "AccountRoot"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  # Step Functions logging from a state machine encrypted with this key goes through CloudWatch Logs vended
  # delivery, which decrypts the state machine's data key (Step Functions encryption-at-rest docs).
  statement {
    sid       = "StepFunctionsVendedLogDelivery"
    actions   = ["kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["delivery.logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "ServicesPublishingToEncryptedQueuesAndTopics"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com", "s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "main" {
  description             = "${local.name_prefix} data encryption key"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name_prefix}"
  target_key_id = aws_kms_key.main.key_id
}

# ---------------------------------------------------------------------------------------------
# Network: VPC, public/private subnets per AZ, NAT per AZ, endpoints, flow logs
# ---------------------------------------------------------------------------------------------

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = var.enable_dns_hostnames
  tags                 = { Name = "${local.name_prefix}-vpc" }
}

resource "aws_default_security_group" "main" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "${local.name_prefix}-default-deny" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "${local.name_prefix}-igw" }
}

resource "aws_subnet" "public" {
  for_each                = local.az_index
  vpc_id                  = aws_vpc.main.id
  availability_zone       = each.key
  cidr_block              = var.public_subnet_cidrs[each.value]
  map_public_ip_on_launch = false
  tags                    = { Name = "${local.name_prefix}-public-${each.key}", Tier = "public" }
}

resource "aws_subnet" "private" {
  for_each          = local.az_index
  vpc_id            = aws_vpc.main.id
  availability_zone = each.key
  cidr_block        = var.private_subnet_cidrs[each.value]
  tags              = { Name = "${local.name_prefix}-private-${each.key}", Tier = "private" }
}

resource "aws_eip" "nat" {
  for_each = local.az_index
  domain   = "vpc"
  tags     = { Name = "${local.name_prefix}-nat-${each.key}" }
}

resource "aws_nat_gateway" "main" {
  for_each      = local.az_index
  allocation_id = aws_eip.nat[each.key].id
  subnet_id     = aws_subnet.public[each.key].id
  tags          = { Name = "${local.name_prefix}-nat-${each.key}" }
  depends_on    = [aws_internet_gateway.main]
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "${local.name_prefix}-public" }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.main.id
}

resource "aws_route_table_association" "public" {
  for_each       = local.az_index
  subnet_id      = aws_subnet.public[each.key].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  for_each = local.az_index
  vpc_id   = aws_vpc.main.id
  tags     = { Name = "${local.name_prefix}-private-${each.key}" }
}

resource "aws_route" "private_nat" {
  for_each               = local.az_index
  route_table_id         = aws_route_table.private[each.key].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.main[each.key].id
}

resource "aws_route_table_association" "private" {
  for_each       = local.az_index
  subnet_id      = aws_subnet.private[each.key].id
  route_table_id = aws_route_table.private[each.key].id
}

resource "aws_security_group" "lambda" {
  name        = "${local.name_prefix}-lambda"
  description = "VPC Lambda functions (matcher, consumers, analytics, earnings)"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "redis" {
  name        = "${local.name_prefix}-redis"
  description = "ElastiCache Redis, reachable from the Lambda SG only"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "aurora" {
  name        = "${local.name_prefix}-aurora"
  description = "Aurora PostgreSQL, reachable from the Lambda SG only"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "endpoints" {
  name        = "${local.name_prefix}-endpoints"
  description = "Interface VPC endpoints, HTTPS from inside the VPC"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_egress_rule" "lambda_https" {
  security_group_id = aws_security_group.lambda.id
  description       = "HTTPS to AWS APIs (endpoints/NAT) and the WebSocket management API"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "lambda_redis" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "Redis cluster"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.redis.id
}

resource "aws_vpc_security_group_egress_rule" "lambda_aurora" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "Aurora PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.aurora.id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_lambda" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from Lambda"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_vpc_security_group_ingress_rule" "aurora_from_lambda" {
  security_group_id            = aws_security_group.aurora.id
  description                  = "PostgreSQL from Lambda"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  security_group_id = aws_security_group.endpoints.id
  description       = "HTTPS from the VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr
}

resource "aws_vpc_endpoint" "gateway" {
  for_each          = toset(["dynamodb", "s3"])
  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [for rt in aws_route_table.private : rt.id]
  tags              = { Name = "${local.name_prefix}-${each.key}" }
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = local.interface_endpoints
  vpc_id              = aws_vpc.main.id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = [for s in aws_subnet.private : s.id]
  security_group_ids  = [aws_security_group.endpoints.id]
  tags                = { Name = "${local.name_prefix}-${each.key}" }
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  #checkov:skip=CKV_AWS_338:Retention is an env capacity (flow_log_retention_days in tfvars); long-term archive is outside this stack.
  name              = "/vpc/${local.name_prefix}/flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  name               = "${local.name_prefix}-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs.arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

resource "aws_flow_log" "vpc" {
  vpc_id               = aws_vpc.main.id
  traffic_type         = "ALL"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn         = aws_iam_role.flow_logs.arn
}

# ---------------------------------------------------------------------------------------------
# Lambda packaging, roles, functions, log groups
# ---------------------------------------------------------------------------------------------

###############################################################################
# Dependency layer — the third-party libraries the handlers import (redis, pg8000, the RDS CA bundle)
###############################################################################

# terraform/tools/build_dependency_layer.py installs layer/requirements.txt
# (every distribution pinned with its hash) as manylinux wheels for the
# functions' architecture and runtime and writes a byte-reproducible zip. It runs
# on every plan (a zip already built for the same inputs is reused), so the
# layer exists on any machine that plans the stack: no manual build, no
# pre-published layer ARN. Needs python3 with pip and access to PyPI.
data "external" "dependency_layer" {
  program = ["python3", "${path.module}/../tools/build_dependency_layer.py"]

  query = {
    requirements = "${path.module}/layer/requirements.txt"
    architecture = "arm64"
    runtime      = var.runtime
    output_dir   = "${path.module}/.build"
    extra_files  = jsonencode({ "certs/rds-global-bundle.pem" = local.rds_ca_bundle_url })
  }
}

resource "aws_lambda_layer_version" "dependencies" {
  layer_name               = "${local.name_prefix}-dependencies"
  description              = "layer/requirements.txt sha256 ${substr(data.external.dependency_layer.result.requirements_sha256, 0, 16)}"
  filename                 = data.external.dependency_layer.result.output_path
  source_code_hash         = data.external.dependency_layer.result.output_base64sha256
  compatible_runtimes      = [var.runtime]
  compatible_architectures = ["arm64"]
}

data "archive_file" "lambda" {
  for_each    = local.generic_packages
  type        = "zip"
  output_path = "${path.module}/.build/${each.key}.zip"

  source {
    content  = file("${path.module}/lambda/${each.key}.py")
    filename = "${each.key}.py"
  }

  dynamic "source" {
    for_each = each.value.extra_sources
    content {
      content  = file("${path.module}/${source.value}")
      filename = source.key
    }
  }
}

# The matcher imports the shared matching core from loadgen.matching (the same module the
# simulator benchmarks), so its package carries the loadgen package next to the handler.
data "archive_file" "matcher" {
  type        = "zip"
  output_path = "${path.module}/.build/matcher.zip"

  source {
    content  = file("${path.module}/lambda/matcher.py")
    filename = "matcher.py"
  }

  source {
    content  = file("${path.module}/lambda/datastores.py")
    filename = "datastores.py"
  }

  source {
    content  = file("${path.module}/lambda/schema.sql")
    filename = "schema.sql"
  }

  source {
    content  = "\"\"\"loadgen: matching cores packaged into the food_delivery matcher Lambda.\"\"\"\n"
    filename = "loadgen/__init__.py"
  }

  source {
    content  = file("${path.module}/../../loadgen/matching/__init__.py")
    filename = "loadgen/matching/__init__.py"
  }

  source {
    content  = file("${path.module}/../../loadgen/matching/driver_matching.py")
    filename = "loadgen/matching/driver_matching.py"
  }
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  for_each           = local.lambda_functions
  name               = "${local.name_prefix}-${replace(each.key, "_", "-")}"
  description        = "Execution role of ${local.name_prefix}-${replace(each.key, "_", "-")}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_cloudwatch_log_group" "lambda" {
  #checkov:skip=CKV_AWS_338:Retention is an env capacity (log_retention_days in tfvars); long-term archive is outside this stack.
  for_each          = local.lambda_functions
  name              = "/aws/lambda/${local.name_prefix}-${replace(each.key, "_", "-")}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

data "aws_iam_policy_document" "lambda" {
  #checkov:skip=CKV_AWS_111:X-Ray and Rekognition DetectLabels have no resource-level permissions; every other statement is scoped to ARNs.
  #checkov:skip=CKV_AWS_356:X-Ray and Rekognition DetectLabels have no resource-level permissions; every other statement is scoped to ARNs.
  for_each = local.lambda_functions

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda[each.key].arn}:*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "StackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.main.arn]
  }

  statement {
    sid       = "AsyncDeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.ops["lambda_async_dlq"].arn]
  }

  dynamic "statement" {
    for_each = local.lambda_policy_statements[each.key]
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.lambda_functions
  name     = "least-privilege"
  role     = aws_iam_role.lambda[each.key].id
  policy   = data.aws_iam_policy_document.lambda[each.key].json
}

resource "aws_iam_role_policy_attachment" "lambda_vpc" {
  for_each   = local.vpc_functions
  role       = aws_iam_role.lambda[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:Only the functions that reach Aurora/Redis are VPC-attached (dynamic vpc_config); the others call regional AWS APIs only.
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile in the delivery pipeline; packages are built from this repository by Terraform.
  for_each                       = local.lambda_functions
  function_name                  = "${local.name_prefix}-${replace(each.key, "_", "-")}"
  description                    = each.value.description
  role                           = aws_iam_role.lambda[each.key].arn
  runtime                        = var.runtime
  handler                        = "${each.key}.handler"
  filename                       = each.key == "matcher" ? data.archive_file.matcher.output_path : data.archive_file.lambda[each.key].output_path
  source_code_hash               = each.key == "matcher" ? data.archive_file.matcher.output_base64sha256 : data.archive_file.lambda[each.key].output_base64sha256
  memory_size                    = each.value.memory
  timeout                        = each.value.timeout
  reserved_concurrent_executions = each.value.reserved
  architectures                  = ["arm64"]
  kms_key_arn                    = aws_kms_key.main.arn
  layers                         = each.value.vpc ? [aws_lambda_layer_version.dependencies.arn] : []

  environment {
    variables = merge(local.lambda_common_env, each.value.env)
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.ops["lambda_async_dlq"].arn
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.lambda[each.key].name
  }

  dynamic "vpc_config" {
    for_each = each.value.vpc ? [1] : []
    content {
      subnet_ids         = [for s in aws_subnet.private : s.id]
      security_group_ids = [aws_security_group.lambda.id]
    }
  }

  depends_on = [aws_iam_role_policy.lambda, aws_iam_role_policy_attachment.lambda_vpc]
}

# ---------------------------------------------------------------------------------------------
# Kinesis Data Streams: orders (PK restaurant_id) and locations (PK driver_id)
# ---------------------------------------------------------------------------------------------

resource "aws_kinesis_stream" "this" {
  for_each         = local.kinesis_streams
  name             = each.value.name
  shard_count      = var.stream_mode == "PROVISIONED" ? each.value.shard_count : null
  retention_period = var.retention_hours
  encryption_type  = "KMS"
  kms_key_id       = aws_kms_key.main.arn

  shard_level_metrics = [
    "IncomingBytes",
    "IncomingRecords",
    "IteratorAgeMilliseconds",
    "ReadProvisionedThroughputExceeded",
    "WriteProvisionedThroughputExceeded",
  ]

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  tags = { PartitionKey = each.value.partition_key }
}

resource "aws_lambda_event_source_mapping" "kinesis" {
  for_each                           = local.kinesis_streams
  event_source_arn                   = aws_kinesis_stream.this[each.key].arn
  function_name                      = aws_lambda_function.this[each.value.consumer].arn
  starting_position                  = "LATEST"
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.batching_window_seconds
  parallelization_factor             = each.value.parallelization_factor
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = var.stream_max_retry_attempts
  maximum_record_age_in_seconds      = var.stream_max_record_age_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.ops["stream_failures"].arn
    }
  }
}

resource "aws_lambda_event_source_mapping" "orders_table_stream" {
  for_each                           = local.orders_stream_consumers
  event_source_arn                   = aws_dynamodb_table.this["orders"].stream_arn
  function_name                      = aws_lambda_function.this[each.key].arn
  starting_position                  = "LATEST"
  batch_size                         = var.orders_stream_batch_size
  maximum_batching_window_in_seconds = var.orders_stream_batching_window_seconds
  parallelization_factor             = var.orders_stream_parallelization_factor
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = var.stream_max_retry_attempts
  maximum_record_age_in_seconds      = var.stream_max_record_age_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  filter_criteria {
    dynamic "filter" {
      for_each = each.value.patterns
      content {
        pattern = filter.value
      }
    }
  }

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.ops["stream_failures"].arn
    }
  }
}

resource "aws_lambda_event_source_mapping" "sqs" {
  for_each                           = local.consumer_queues
  event_source_arn                   = aws_sqs_queue.consumer[each.key].arn
  function_name                      = aws_lambda_function.this[each.value.consumer].arn
  batch_size                         = var.sqs_batch_size
  maximum_batching_window_in_seconds = var.sqs_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.sqs_max_concurrency
  }
}

# ---------------------------------------------------------------------------------------------
# DynamoDB
# ---------------------------------------------------------------------------------------------

# The five tables share one resource: keys, attributes, GSIs, stream and TTL come from local.dynamodb_tables,
# capacities from local.dynamodb_capacity (tfvars).
resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV2_AWS_16:Capacity is sized explicitly per env from the fleet model in tfvars (the simulator reads it); see README.
  for_each                    = local.dynamodb_tables
  name                        = "${local.name_prefix}-${each.value.name}"
  billing_mode                = var.billing_mode
  read_capacity               = local.provisioned ? local.dynamodb_capacity[each.key].rcu : null
  write_capacity              = local.provisioned ? local.dynamodb_capacity[each.key].wcu : null
  hash_key                    = each.value.hash_key
  stream_enabled              = each.value.stream
  stream_view_type            = each.value.stream ? "NEW_AND_OLD_IMAGES" : null
  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = each.value.attributes
    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "global_secondary_index" {
    for_each = each.value.indexes
    content {
      name               = global_secondary_index.key
      hash_key           = global_secondary_index.value.hash_key
      range_key          = global_secondary_index.value.range_key
      projection_type    = global_secondary_index.value.projection_type
      non_key_attributes = global_secondary_index.value.non_key_attributes
      read_capacity      = local.provisioned ? local.dynamodb_capacity[global_secondary_index.value.capacity].rcu : null
      write_capacity     = local.provisioned ? local.dynamodb_capacity[global_secondary_index.value.capacity].wcu : null
    }
  }

  dynamic "ttl" {
    for_each = each.value.ttl ? [var.ttl_attribute_name] : []
    content {
      enabled        = var.ttl_enabled
      attribute_name = ttl.value
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }
}

# ---------------------------------------------------------------------------------------------
# SNS order-events fan-out and SQS queues (with DLQs, long polling)
# ---------------------------------------------------------------------------------------------

resource "aws_sns_topic" "order_events" {
  name              = "${local.name_prefix}-${var.order_events_topic}"
  kms_master_key_id = aws_kms_key.main.arn
}

resource "aws_sns_topic" "external_notifications" {
  name              = "${local.name_prefix}-${var.external_notifications_topic}"
  kms_master_key_id = aws_kms_key.main.arn
}

resource "aws_sns_topic" "alarms" {
  name              = "${local.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.main.arn
}

# External email/SMS/push service: HTTPS subscription (the endpoint confirms the subscription).
resource "aws_sns_topic_subscription" "external_http" {
  topic_arn              = aws_sns_topic.external_notifications.arn
  protocol               = "https"
  endpoint               = var.external_notification_endpoint
  endpoint_auto_confirms = false
  raw_message_delivery   = false
  delivery_policy = jsonencode({
    healthyRetryPolicy = {
      minDelayTarget     = 1
      maxDelayTarget     = 60
      numRetries         = 10
      numNoDelayRetries  = 2
      numMinDelayRetries = 2
      numMaxDelayRetries = 2
      backoffFunction    = "exponential"
    }
    throttlePolicy = { maxReceivesPerSecond = 500 }
  })
}

resource "aws_sqs_queue" "dlq" {
  for_each                          = local.consumer_queues
  name                              = "${each.value.name}-dlq"
  message_retention_seconds         = var.dlq_message_retention_seconds
  kms_master_key_id                 = aws_kms_key.main.arn
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_sqs_queue" "consumer" {
  for_each                          = local.consumer_queues
  name                              = each.value.name
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  message_retention_seconds         = var.message_retention_seconds
  receive_wait_time_seconds         = 20
  kms_master_key_id                 = aws_kms_key.main.arn
  kms_data_key_reuse_period_seconds = 300
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  for_each  = local.consumer_queues
  queue_url = aws_sqs_queue.dlq[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.consumer[each.key].arn]
  })
}

resource "aws_sqs_queue" "ops" {
  for_each                          = local.ops_queues
  name                              = each.value
  message_retention_seconds         = var.dlq_message_retention_seconds
  receive_wait_time_seconds         = 20
  kms_master_key_id                 = aws_kms_key.main.arn
  kms_data_key_reuse_period_seconds = 300
}

data "aws_iam_policy_document" "consumer_queue" {
  for_each = local.consumer_queues

  statement {
    sid       = "OrderEventsTopic"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.consumer[each.key].arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.order_events.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.consumer[each.key].arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "consumer" {
  for_each  = local.consumer_queues
  queue_url = aws_sqs_queue.consumer[each.key].id
  policy    = data.aws_iam_policy_document.consumer_queue[each.key].json
}

resource "aws_sns_topic_subscription" "consumer_queue" {
  for_each             = local.consumer_queues
  topic_arn            = aws_sns_topic.order_events.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.consumer[each.key].arn
  raw_message_delivery = true
  filter_policy_scope  = "MessageAttributes"
  filter_policy        = jsonencode({ order_stage = each.value.order_stages })
  # A message SNS cannot deliver (queue policy, KMS) lands in the queue's DLQ instead of being dropped.
  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn })
  depends_on     = [aws_sqs_queue_policy.consumer, aws_sqs_queue_policy.dlq]
}

resource "aws_sqs_queue_policy" "dlq" {
  for_each  = local.consumer_queues
  queue_url = aws_sqs_queue.dlq[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "SnsDeadLetters"
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.dlq[each.key].arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_sns_topic.order_events.arn } }
    }]
  })
}

# ---------------------------------------------------------------------------------------------
# Secrets: Redis AUTH token (Aurora's master password is RDS-managed, see aws_rds_cluster)
# ---------------------------------------------------------------------------------------------

data "aws_secretsmanager_random_password" "redis_auth" {
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "redis_auth" {
  #checkov:skip=CKV2_AWS_57:ElastiCache AUTH rotation is done with auth_token_update_strategy=ROTATE through Terraform; a rotation Lambda would have to call ModifyReplicationGroup in lockstep (see README).
  name                    = "${local.name_prefix}/redis/auth-token"
  description             = "AUTH token of the ${local.name_prefix} Redis cluster"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "redis_auth" {
  secret_id     = aws_secretsmanager_secret.redis_auth.id
  secret_string = data.aws_secretsmanager_random_password.redis_auth.random_password

  # The generator data source returns a new value on every read; keep the stored token stable.
  lifecycle {
    ignore_changes = [secret_string]
  }
}

# ---------------------------------------------------------------------------------------------
# ElastiCache Redis, cluster mode enabled (GEO index, surge sorted set, restaurant cache)
# ---------------------------------------------------------------------------------------------

resource "aws_elasticache_subnet_group" "redis" {
  name       = "${local.name_prefix}-redis"
  subnet_ids = [for s in aws_subnet.private : s.id]
}

resource "aws_cloudwatch_log_group" "redis_slow" {
  #checkov:skip=CKV_AWS_338:Retention is an env capacity (log_retention_days in tfvars).
  name              = "/elasticache/${local.name_prefix}/slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id       = "${local.name_prefix}-redis"
  description                = "${local.name_prefix} driver GEO index, surge zones, restaurant cache"
  engine                     = "redis"
  engine_version             = var.redis_engine_version
  node_type                  = var.redis_node_type
  port                       = 6379
  parameter_group_name       = var.redis_parameter_group_name
  cluster_mode               = "enabled"
  num_node_groups            = var.redis_num_node_groups
  replicas_per_node_group    = var.redis_replicas_per_node_group
  automatic_failover_enabled = var.automatic_failover_enabled
  multi_az_enabled           = var.multi_az_enabled
  subnet_group_name          = aws_elasticache_subnet_group.redis.name
  security_group_ids         = [aws_security_group.redis.id]
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  transit_encryption_enabled = true
  auth_token                 = aws_secretsmanager_secret_version.redis_auth.secret_string
  auth_token_update_strategy = "ROTATE"
  snapshot_retention_limit   = var.redis_snapshot_retention_days
  snapshot_window            = "03:00-04:00"
  maintenance_window         = "tue:05:00-tue:06:00"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.redis_slow.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }
}

# ---------------------------------------------------------------------------------------------
# Aurora PostgreSQL Serverless v2 (restaurant_profiles, pricing_rules, driver_earnings, analytics_orders)
# ---------------------------------------------------------------------------------------------

resource "aws_db_subnet_group" "aurora" {
  name       = "${local.name_prefix}-aurora"
  subnet_ids = [for s in aws_subnet.private : s.id]
}

resource "aws_rds_cluster_parameter_group" "aurora" {
  name        = "${local.name_prefix}-aurora-pg"
  family      = var.aurora_parameter_group_family
  description = "TLS-only connections and statement logging"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }
}

data "aws_iam_policy_document" "rds_monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  name               = "${local.name_prefix}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume.json
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_rds_cluster" "aurora" {
  #checkov:skip=CKV2_AWS_8:Protected by Aurora continuous backups (backup_retention_days, point-in-time restore) and the final snapshot; AWS Backup plans are assigned by the organization's backup policy, not per stack.
  cluster_identifier                  = "${local.name_prefix}-${var.cluster_identifier}"
  engine                              = "aurora-postgresql"
  engine_mode                         = "provisioned"
  engine_version                      = var.aurora_engine_version
  database_name                       = var.database_name
  master_username                     = var.master_username
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.main.arn
  db_subnet_group_name                = aws_db_subnet_group.aurora.name
  vpc_security_group_ids              = [aws_security_group.aurora.id]
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.aurora.name
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.main.arn
  iam_database_authentication_enabled = true
  backup_retention_period             = var.backup_retention_days
  preferred_backup_window             = var.preferred_backup_window
  preferred_maintenance_window        = "sun:05:00-sun:06:00"
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${local.name_prefix}-${var.cluster_identifier}-final"
  enabled_cloudwatch_logs_exports     = ["postgresql"]

  serverlessv2_scaling_configuration {
    min_capacity = var.min_capacity
    max_capacity = var.max_capacity
  }
}

resource "aws_rds_cluster_instance" "aurora" {
  for_each                              = toset(["writer", "reader"])
  identifier                            = "${local.name_prefix}-${var.cluster_identifier}-${each.key}"
  cluster_identifier                    = aws_rds_cluster.aurora.id
  instance_class                        = var.instance_class
  engine                                = aws_rds_cluster.aurora.engine
  engine_version                        = aws_rds_cluster.aurora.engine_version
  db_subnet_group_name                  = aws_db_subnet_group.aurora.name
  publicly_accessible                   = false
  auto_minor_version_upgrade            = true
  promotion_tier                        = each.key == "writer" ? 0 : 1
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.main.arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
  copy_tags_to_snapshot                 = true
}

# ---------------------------------------------------------------------------------------------
# S3: receipts (and settlement work files) + delivery photos, access-log bucket
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target bucket itself.
  #checkov:skip=CKV_AWS_145:S3 server access logging targets only support SSE-S3, not SSE-KMS.
  #checkov:skip=CKV_AWS_144:Access logs are not replicated cross-region.
  #checkov:skip=CKV2_AWS_62:No event processing on access logs.
  bucket = "${local.name_prefix}-s3-access-logs-${local.account_id}"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = data.aws_iam_policy_document.access_logs.json
}

resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_144:Single-region stack; versioning + lifecycle protect objects, cross-region replication is a DR decision outside this stack.
  #checkov:skip=CKV2_AWS_62:Event notifications are configured where they are used (delivery photos -> image validator); receipts need none.
  for_each = local.buckets
  bucket   = each.value.name
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  for_each = local.buckets
  bucket   = aws_s3_bucket.data[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "data" {
  for_each = local.buckets
  bucket   = aws_s3_bucket.data[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  for_each                = local.buckets
  bucket                  = aws_s3_bucket.data[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_logging" "data" {
  for_each      = local.buckets
  bucket        = aws_s3_bucket.data[each.key].id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "${each.key}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  for_each = local.buckets
  bucket   = aws_s3_bucket.data[each.key].id

  rule {
    id     = "tier-and-expire"
    status = "Enabled"
    filter {}
    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }
    expiration {
      days = var.lifecycle_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_cors_configuration" "data" {
  for_each = local.buckets
  bucket   = aws_s3_bucket.data[each.key].id
  cors_rule {
    allowed_methods = ["PUT", "GET", "HEAD"]
    allowed_origins = var.cors_allowed_origins
    allowed_headers = ["Content-Type", "Content-MD5", "x-amz-*"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3000
  }
}

data "aws_iam_policy_document" "data_bucket" {
  for_each = local.buckets
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.data[each.key].arn, "${aws_s3_bucket.data[each.key].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "data" {
  for_each = local.buckets
  bucket   = aws_s3_bucket.data[each.key].id
  policy   = data.aws_iam_policy_document.data_bucket[each.key].json
}

resource "aws_lambda_permission" "photos_s3" {
  statement_id   = "AllowDeliveryPhotosBucket"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this["image_validator"].function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.data["delivery_photos"].arn
  source_account = local.account_id
}

resource "aws_s3_bucket_notification" "delivery_photos" {
  bucket = aws_s3_bucket.data["delivery_photos"].id

  lambda_function {
    id                  = "validate-delivery-photo"
    lambda_function_arn = aws_lambda_function.this["image_validator"].arn
    events              = ["s3:ObjectCreated:*"] # Put, Post, Copy and CompleteMultipartUpload (large photos)
    filter_prefix       = "proof-of-delivery/"
  }

  depends_on = [aws_lambda_permission.photos_s3]
}

# ---------------------------------------------------------------------------------------------
# API Gateway account logging role (regional account setting used by both APIs' execution logs)
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "apigw_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "apigw_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  name               = "${local.name_prefix}-apigw-cloudwatch"
  assume_role_policy = data.aws_iam_policy_document.apigw_assume.json
}

resource "aws_iam_role_policy_attachment" "apigw_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  role       = aws_iam_role.apigw_cloudwatch[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

# Region-wide singleton (the CloudWatch role API Gateway logs with): managed by one stack only, see
# var.manage_api_gateway_account. Destroying a stack that does not own it leaves the setting in place.
resource "aws_api_gateway_account" "this" {
  count = var.manage_api_gateway_account ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.apigw_cloudwatch[0].arn
  depends_on          = [aws_iam_role_policy_attachment.apigw_cloudwatch]
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_338:Retention is an env capacity (log_retention_days in tfvars).
  for_each          = toset(["websocket", "rest"])
  name              = "/apigateway/${local.name_prefix}/${each.key}-access"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

# ---------------------------------------------------------------------------------------------
# WebSocket API: real-time order tracking ($connect, $disconnect, sendmessage)
# ---------------------------------------------------------------------------------------------

resource "aws_apigatewayv2_api" "ws" {
  name                       = "${local.name_prefix}-${var.websocket_api_name}"
  description                = "Real-time order tracking for customers, drivers and restaurants"
  protocol_type              = "WEBSOCKET"
  route_selection_expression = "$request.body.action"
}

resource "aws_apigatewayv2_integration" "ws" {
  for_each                  = local.ws_routes
  api_id                    = aws_apigatewayv2_api.ws.id
  integration_type          = "AWS_PROXY"
  integration_method        = "POST"
  integration_uri           = aws_lambda_function.this[each.value.function].invoke_arn
  content_handling_strategy = "CONVERT_TO_TEXT"
  description               = "${each.value.route_key} -> ${each.value.function}"
}

resource "aws_apigatewayv2_route" "ws" {
  #checkov:skip=CKV_AWS_309:WebSocket authorization applies to $connect only (AWS_IAM there); $disconnect and sendmessage run on an already authorized connection.
  for_each                            = local.ws_routes
  api_id                              = aws_apigatewayv2_api.ws.id
  route_key                           = each.value.route_key
  operation_name                      = each.key
  authorization_type                  = each.key == "connect" ? "AWS_IAM" : "NONE"
  target                              = "integrations/${aws_apigatewayv2_integration.ws[each.key].id}"
  route_response_selection_expression = each.key == "sendmessage" ? "$default" : null
}

# Two-way route: the sendmessage handler's return body is sent back to the caller.
resource "aws_apigatewayv2_route_response" "sendmessage" {
  api_id             = aws_apigatewayv2_api.ws.id
  route_id           = aws_apigatewayv2_route.ws["sendmessage"].id
  route_response_key = "$default"
}

resource "aws_apigatewayv2_deployment" "ws" {
  api_id      = aws_apigatewayv2_api.ws.id
  description = "Routes and integrations of ${local.name_prefix}-${var.websocket_api_name}"

  triggers = {
    redeployment = sha1(jsonencode([
      [for r in aws_apigatewayv2_route.ws : [r.id, r.route_key, r.target, r.authorization_type]],
      [for i in aws_apigatewayv2_integration.ws : [i.id, i.integration_uri]],
      aws_apigatewayv2_route_response.sendmessage.id,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_apigatewayv2_stage" "ws" {
  #checkov:skip=CKV2_AWS_51:API Gateway does not support client certificates (mTLS) for WebSocket APIs; $connect is IAM-authorized.
  api_id        = aws_apigatewayv2_api.ws.id
  name          = var.stage_name
  deployment_id = aws_apigatewayv2_deployment.ws.id
  description   = "WebSocket stage"

  default_route_settings {
    throttling_burst_limit   = var.websocket_throttle_burst_limit
    throttling_rate_limit    = var.websocket_throttle_rate_limit
    detailed_metrics_enabled = true
    logging_level            = "ERROR"
    data_trace_enabled       = false
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access["websocket"].arn
    format = jsonencode({
      requestId    = "$context.requestId"
      connectionId = "$context.connectionId"
      routeKey     = "$context.routeKey"
      eventType    = "$context.eventType"
      status       = "$context.status"
      error        = "$context.error.message"
      integration  = "$context.integration.error"
      latency      = "$context.integration.latency"
    })
  }

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_lambda_permission" "ws" {
  for_each      = toset(["ws_connect", "ws_disconnect"])
  statement_id  = "AllowWebSocketApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.key].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.ws.execution_arn}/*/*"
}

# ---------------------------------------------------------------------------------------------
# REST API: POST /orders (API key + usage plan, validated model, CORS) and /pos/{proxy+}
# ---------------------------------------------------------------------------------------------

resource "aws_api_gateway_rest_api" "orders" {
  name        = "${local.name_prefix}-${var.rest_api_name}"
  description = "Order placement and restaurant POS proxy"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "orders" {
  rest_api_id = aws_api_gateway_rest_api.orders.id
  parent_id   = aws_api_gateway_rest_api.orders.root_resource_id
  path_part   = "orders"
}

resource "aws_api_gateway_model" "order_request" {
  rest_api_id  = aws_api_gateway_rest_api.orders.id
  name         = "OrderRequest"
  description  = "Order placement request (schemas/order_request.json; the validator Lambda checks the same file)"
  content_type = "application/json"
  schema       = file("${path.module}/schemas/order_request.json")
}

resource "aws_api_gateway_request_validator" "body_and_params" {
  rest_api_id                 = aws_api_gateway_rest_api.orders.id
  name                        = "body-and-params"
  validate_request_body       = true
  validate_request_parameters = true
}

resource "aws_api_gateway_request_validator" "params" {
  rest_api_id                 = aws_api_gateway_rest_api.orders.id
  name                        = "params-only"
  validate_request_body       = false
  validate_request_parameters = true
}

resource "aws_api_gateway_method" "orders_post" {
  rest_api_id          = aws_api_gateway_rest_api.orders.id
  resource_id          = aws_api_gateway_resource.orders.id
  http_method          = "POST"
  authorization        = "NONE"
  api_key_required     = true
  request_validator_id = aws_api_gateway_request_validator.body_and_params.id
  request_models       = { "application/json" = aws_api_gateway_model.order_request.name }
  request_parameters = {
    "method.request.header.Idempotency-Key" = false
  }
}

resource "aws_api_gateway_integration" "orders_post" {
  rest_api_id             = aws_api_gateway_rest_api.orders.id
  resource_id             = aws_api_gateway_resource.orders.id
  http_method             = aws_api_gateway_method.orders_post.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = aws_lambda_function.this["order_validator"].invoke_arn
}

resource "aws_api_gateway_method_response" "orders_post" {
  for_each    = toset(["202", "400", "429", "500", "503"])
  rest_api_id = aws_api_gateway_rest_api.orders.id
  resource_id = aws_api_gateway_resource.orders.id
  http_method = aws_api_gateway_method.orders_post.http_method
  status_code = each.key
  response_models = {
    "application/json" = "Empty"
  }
  response_parameters = {
    "method.response.header.Access-Control-Allow-Origin" = true
  }
}

resource "aws_api_gateway_method" "orders_options" {
  #checkov:skip=CKV2_AWS_53:CORS preflight (MOCK integration) carries no body or parameters to validate.
  rest_api_id   = aws_api_gateway_rest_api.orders.id
  resource_id   = aws_api_gateway_resource.orders.id
  http_method   = "OPTIONS"
  authorization = "NONE"
}

resource "aws_api_gateway_integration" "orders_options" {
  rest_api_id = aws_api_gateway_rest_api.orders.id
  resource_id = aws_api_gateway_resource.orders.id
  http_method = aws_api_gateway_method.orders_options.http_method
  type        = "MOCK"
  request_templates = {
    "application/json" = "{\"statusCode\": 200}"
  }
}

resource "aws_api_gateway_method_response" "orders_options" {
  rest_api_id = aws_api_gateway_rest_api.orders.id
  resource_id = aws_api_gateway_resource.orders.id
  http_method = aws_api_gateway_method.orders_options.http_method
  status_code = "200"
  response_models = {
    "application/json" = "Empty"
  }
  response_parameters = {
    "method.response.header.Access-Control-Allow-Headers" = true
    "method.response.header.Access-Control-Allow-Methods" = true
    "method.response.header.Access-Control-Allow-Origin"  = true
    "method.response.header.Access-Control-Max-Age"       = true
  }
}

resource "aws_api_gateway_integration_response" "orders_options" {
  rest_api_id = aws_api_gateway_rest_api.orders.id
  resource_id = aws_api_gateway_resource.orders.id
  http_method = aws_api_gateway_method.orders_options.http_method
  status_code = aws_api_gateway_method_response.orders_options.status_code
  response_parameters = {
    "method.response.header.Access-Control-Allow-Headers" = "'Content-Type,X-Api-Key,Idempotency-Key,Authorization,X-Amz-Date,X-Amz-Security-Token'"
    "method.response.header.Access-Control-Allow-Methods" = "'OPTIONS,POST'"
    "method.response.header.Access-Control-Allow-Origin"  = "'${var.cors_allowed_origins[0]}'"
    "method.response.header.Access-Control-Max-Age"       = "'600'"
  }
  depends_on = [aws_api_gateway_integration.orders_options]
}

# Restaurant POS systems: HTTP proxy integration to the external POS gateway. Called by the
# restaurant consumer with SigV4 (AWS_IAM), so the POS credentials never leave API Gateway.
resource "aws_api_gateway_resource" "pos" {
  rest_api_id = aws_api_gateway_rest_api.orders.id
  parent_id   = aws_api_gateway_rest_api.orders.root_resource_id
  path_part   = "pos"
}

resource "aws_api_gateway_resource" "pos_proxy" {
  rest_api_id = aws_api_gateway_rest_api.orders.id
  parent_id   = aws_api_gateway_resource.pos.id
  path_part   = "{proxy+}"
}

resource "aws_api_gateway_method" "pos_proxy" {
  rest_api_id          = aws_api_gateway_rest_api.orders.id
  resource_id          = aws_api_gateway_resource.pos_proxy.id
  http_method          = "ANY"
  authorization        = "AWS_IAM"
  request_validator_id = aws_api_gateway_request_validator.params.id
  request_parameters = {
    "method.request.path.proxy" = true
  }
}

resource "aws_api_gateway_integration" "pos_proxy" {
  rest_api_id             = aws_api_gateway_rest_api.orders.id
  resource_id             = aws_api_gateway_resource.pos_proxy.id
  http_method             = aws_api_gateway_method.pos_proxy.http_method
  type                    = "HTTP_PROXY"
  integration_http_method = "ANY"
  uri                     = "${var.pos_endpoint_base_url}/{proxy}"
  connection_type         = "INTERNET"
  timeout_milliseconds    = var.pos_integration_timeout_ms
  request_parameters = {
    "integration.request.path.proxy" = "method.request.path.proxy"
  }
}

resource "aws_api_gateway_deployment" "orders" {
  rest_api_id = aws_api_gateway_rest_api.orders.id
  description = "Orders API"

  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.orders.id,
      aws_api_gateway_method.orders_post.id,
      aws_api_gateway_method.orders_post.request_validator_id,
      aws_api_gateway_integration.orders_post.id,
      aws_api_gateway_integration.orders_post.uri,
      aws_api_gateway_model.order_request.schema,
      aws_api_gateway_method.orders_options.id,
      aws_api_gateway_integration.orders_options.id,
      aws_api_gateway_integration_response.orders_options.response_parameters,
      aws_api_gateway_resource.pos_proxy.id,
      aws_api_gateway_method.pos_proxy.id,
      aws_api_gateway_integration.pos_proxy.uri,
      [for r in aws_api_gateway_method_response.orders_post : r.id],
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_stage" "orders" {
  #checkov:skip=CKV_AWS_120:POST /orders is not cacheable (every request is a new order); caching would only cost money.
  #checkov:skip=CKV2_AWS_51:Public mobile/web clients; access is controlled by API keys + usage plan and SigV4 on /pos.
  #checkov:skip=CKV2_AWS_29:WAF is attached centrally (Firewall Manager policy on all regional API stages), not per stack; see README.
  rest_api_id          = aws_api_gateway_rest_api.orders.id
  deployment_id        = aws_api_gateway_deployment.orders.id
  stage_name           = var.stage_name
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access["rest"].arn
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      apiKeyId       = "$context.identity.apiKeyId"
      httpMethod     = "$context.httpMethod"
      resourcePath   = "$context.resourcePath"
      status         = "$context.status"
      responseLength = "$context.responseLength"
      latency        = "$context.responseLatency"
      integration    = "$context.integration.status"
      error          = "$context.error.message"
    })
  }

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "orders" {
  #checkov:skip=CKV_AWS_225:POST /orders and the POS proxy are not cacheable; a cache cluster would only add cost.
  rest_api_id = aws_api_gateway_rest_api.orders.id
  stage_name  = aws_api_gateway_stage.orders.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false
    caching_enabled        = false
    cache_data_encrypted   = true
    throttling_burst_limit = var.throttle_burst_limit
    throttling_rate_limit  = var.throttle_rate_limit
  }
}

resource "aws_api_gateway_api_key" "orders_client" {
  name        = "${local.name_prefix}-orders-client"
  description = "Key of the customer app backend; the value is generated by API Gateway"
  enabled     = true
}

resource "aws_api_gateway_usage_plan" "orders" {
  name        = "${local.name_prefix}-orders"
  description = "Throttle for order placement clients"

  api_stages {
    api_id = aws_api_gateway_rest_api.orders.id
    stage  = aws_api_gateway_stage.orders.stage_name
  }

  throttle_settings {
    burst_limit = var.throttle_burst_limit
    rate_limit  = var.throttle_rate_limit
  }
}

resource "aws_api_gateway_usage_plan_key" "orders_client" {
  key_id        = aws_api_gateway_api_key.orders_client.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.orders.id
}

resource "aws_lambda_permission" "rest_orders" {
  statement_id  = "AllowOrdersApiPost"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["order_validator"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.orders.execution_arn}/*/POST/orders"
}

# ---------------------------------------------------------------------------------------------
# Step Functions: nightly driver earnings (distributed Map over drivers), EventBridge cron
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "sfn" {
  #checkov:skip=CKV_AWS_338:Retention is an env capacity (log_retention_days in tfvars).
  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

data "aws_iam_policy_document" "sfn_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "sfn" {
  name               = "${local.name_prefix}-earnings-sfn"
  assume_role_policy = data.aws_iam_policy_document.sfn_assume.json
}

data "aws_iam_policy_document" "sfn" {
  #checkov:skip=CKV_AWS_111:CloudWatch Logs delivery and X-Ray actions have no resource-level permissions.
  #checkov:skip=CKV_AWS_356:CloudWatch Logs delivery and X-Ray actions have no resource-level permissions.
  statement {
    sid     = "InvokeEarningsFunctions"
    actions = ["lambda:InvokeFunction"]
    resources = flatten([
      for k in ["earnings_query", "earnings_calc", "earnings_write"] : [
        aws_lambda_function.this[k].arn,
        "${aws_lambda_function.this[k].arn}:*",
      ]
    ])
  }

  statement {
    sid       = "DistributedMapChildren"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }

  statement {
    sid       = "DistributedMapExecutions"
    actions   = ["states:DescribeExecution", "states:StopExecution"]
    resources = ["arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_name}/*"]
  }

  statement {
    sid       = "SettlementFiles"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${aws_s3_bucket.data["receipts"].arn}/${local.settlements_prefix}*"]
  }

  statement {
    sid       = "SettlementListing"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data["receipts"].arn]
  }

  statement {
    sid       = "StackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.main.arn]
  }

  statement {
    sid = "LogDelivery"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "sfn" {
  name   = "earnings-workflow"
  role   = aws_iam_role.sfn.id
  policy = data.aws_iam_policy_document.sfn.json
}

resource "aws_sfn_state_machine" "earnings" {
  #checkov:skip=CKV_AWS_285:Execution history is logged at level ALL without execution data on purpose: payloads carry per-driver earnings.
  name     = local.state_machine_name
  role_arn = aws_iam_role.sfn.arn
  type     = "STANDARD"
  definition = templatefile("${path.module}/templates/earnings.asl.json.tftpl", {
    query_function_arn = aws_lambda_function.this["earnings_query"].arn
    calc_function_arn  = aws_lambda_function.this["earnings_calc"].arn
    write_function_arn = aws_lambda_function.this["earnings_write"].arn
    settlements_bucket = aws_s3_bucket.data["receipts"].id
    results_prefix     = "${local.settlements_prefix}results"
    max_concurrency    = var.max_concurrency
    items_per_batch    = var.earnings_items_per_batch
    partition          = local.partition
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.sfn.arn}:*"
    include_execution_data = false
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = aws_kms_key.main.arn
    kms_data_key_reuse_period_seconds = 300
  }

  depends_on = [aws_iam_role_policy.sfn]
}

data "aws_iam_policy_document" "events_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "events" {
  name               = "${local.name_prefix}-earnings-schedule"
  assume_role_policy = data.aws_iam_policy_document.events_assume.json
}

data "aws_iam_policy_document" "events" {
  statement {
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.earnings.arn]
  }
  statement {
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_role_policy" "events" {
  name   = "start-earnings"
  role   = aws_iam_role.events.id
  policy = data.aws_iam_policy_document.events.json
}

resource "aws_cloudwatch_event_rule" "earnings_nightly" {
  name                = "${local.name_prefix}-earnings-nightly"
  description         = "Nightly driver settlement for the previous delivery_date"
  schedule_expression = var.earnings_schedule_expression
}

resource "aws_cloudwatch_event_target" "earnings_nightly" {
  rule     = aws_cloudwatch_event_rule.earnings_nightly.name
  arn      = aws_sfn_state_machine.earnings.arn
  role_arn = aws_iam_role.events.arn

  input_transformer {
    input_paths    = { time = "$.time" }
    input_template = "{\"trigger_time\": <time>}"
  }

  # A failed StartExecution is retried for an hour, then kept in the event-target failure queue (alarmed).
  retry_policy {
    maximum_retry_attempts       = 8
    maximum_event_age_in_seconds = 3600
  }

  dead_letter_config {
    arn = aws_sqs_queue.ops["event_target_failures"].arn
  }
}

resource "aws_sqs_queue_policy" "event_target_failures" {
  queue_url = aws_sqs_queue.ops["event_target_failures"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EventBridgeDeadLetters"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.ops["event_target_failures"].arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.earnings_nightly.arn } }
    }]
  })
}

# ---------------------------------------------------------------------------------------------
# CloudWatch: metric filters, dashboard, alarms
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_metric_filter" "fulfillment" {
  for_each       = local.metric_filters
  name           = "${local.name_prefix}-${replace(each.key, "_", "-")}"
  log_group_name = aws_cloudwatch_log_group.lambda[each.value.function].name
  pattern        = each.value.pattern

  metric_transformation {
    name      = each.value.metric
    namespace = local.metric_namespace
    value     = each.value.value
    unit      = each.value.metric == "DeliveryMinutes" ? "None" : "Count"
  }
}

resource "aws_cloudwatch_dashboard" "operations" {
  dashboard_name = "${local.name_prefix}-operations"
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "Order fulfillment"
          region = local.region
          stat   = "Sum"
          period = 60
          metrics = [
            [local.metric_namespace, "OrdersAccepted"],
            [local.metric_namespace, "OrdersAssigned"],
            [local.metric_namespace, "OrdersUnmatched"],
            [local.metric_namespace, "AssignmentConflicts"],
            [local.metric_namespace, "OrdersDelivered"],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title  = "Lambda p99 duration (ms)"
          region = local.region
          stat   = "p99"
          period = 60
          metrics = [
            ["AWS/Lambda", "Duration", "FunctionName", aws_lambda_function.this["matcher"].function_name],
            ["AWS/Lambda", "Duration", "FunctionName", aws_lambda_function.this["order_validator"].function_name],
            ["AWS/Lambda", "Duration", "FunctionName", aws_lambda_function.this["order_consumer"].function_name],
            ["AWS/Lambda", "Duration", "FunctionName", aws_lambda_function.this["location_processor"].function_name],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title  = "Kinesis incoming records / iterator age"
          region = local.region
          period = 60
          metrics = [
            ["AWS/Kinesis", "IncomingRecords", "StreamName", aws_kinesis_stream.this["orders"].name, { stat = "Sum" }],
            ["AWS/Kinesis", "IncomingRecords", "StreamName", aws_kinesis_stream.this["locations"].name, { stat = "Sum" }],
            ["AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", aws_kinesis_stream.this["orders"].name, { stat = "Maximum", yAxis = "right" }],
            ["AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", aws_kinesis_stream.this["locations"].name, { stat = "Maximum", yAxis = "right" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "Orders table: conditional failures and throttles"
          region = local.region
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/DynamoDB", "ConditionalCheckFailedRequests", "TableName", aws_dynamodb_table.this["orders"].name],
            ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", aws_dynamodb_table.this["orders"].name],
            ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", aws_dynamodb_table.this["driver_locations"].name],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title  = "Delivery minutes (avg)"
          region = local.region
          stat   = "Average"
          period = 300
          metrics = [
            [local.metric_namespace, "DeliveryMinutes"],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title   = "Consumer queue backlog"
          region  = local.region
          stat    = "Maximum"
          period  = 60
          metrics = [for k, q in local.consumer_queues : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.name]]
        }
      },
    ]
  })
}

# Alarms of one shape are one resource, for_each over a map here: the key names the alarm, the value carries
# what differs (metric, statistic, periods, the per-env threshold). Alarms of a shape of their own stay apart.
locals {
  # p99 duration of the hot-path functions (keys of local.lambda_functions).
  lambda_duration_p99_alarms = {
    matcher         = { threshold = var.alarm_p99_threshold_ms, description = "Driver matching p99 duration above target" }
    order_validator = { threshold = var.validator_p99_threshold_ms, description = "Order validator p99 duration above target" }
  }

  # Per-minute sums on a table (keys of local.dynamodb_tables).
  dynamodb_alarms = {
    assignment_conditional_check_failed = {
      table       = "orders"
      metric      = "ConditionalCheckFailedRequests"
      threshold   = var.assignment_conditional_check_failed_threshold
      description = "Assignment races: conditional writes on orders failing (status/version changed underneath the matcher)"
    }
    orders_hot_partition = {
      table       = "orders"
      metric      = "WriteThrottleEvents"
      threshold   = var.orders_write_throttle_threshold
      description = "Write throttling on the orders table (hot partition or under-provisioned WCU)"
    }
  }

  # The orders REST API stage: error counts per minute (statistic) or a latency percentile (extended_statistic).
  api_alarms = {
    "5xx" = {
      metric              = "5XXError"
      statistic           = "Sum"
      extended_statistic  = null
      evaluation_periods  = 3
      datapoints_to_alarm = null
      threshold           = var.api_5xx_threshold
      description         = "REST API 5XX responses per minute"
    }
    "4xx" = {
      metric              = "4XXError"
      statistic           = "Sum"
      extended_statistic  = null
      evaluation_periods  = 5
      datapoints_to_alarm = null
      threshold           = var.api_4xx_threshold
      description         = "REST API 4XX responses per minute (validation failures, throttling, bad keys)"
    }
    latency_p99 = {
      metric              = "Latency"
      statistic           = null
      extended_statistic  = "p99"
      evaluation_periods  = 5
      datapoints_to_alarm = 3
      threshold           = var.api_latency_p99_threshold_ms
      description         = "REST API p99 latency"
    }
  }

  # The worst node of the Redis replication group.
  redis_alarms = {
    geo_latency = {
      metric             = "GeoSpatialBasedCmdsLatency"
      stat               = "Average"
      period             = 60
      evaluation_periods = 5
      threshold          = var.redis_geo_latency_threshold_us
      description        = "GEOADD/GEOSEARCH average latency (microseconds) on the worst node of the cluster"
    }
    memory_fragmentation = {
      metric             = "MemoryFragmentationRatio"
      stat               = "Maximum"
      period             = 300
      evaluation_periods = 3
      threshold          = var.redis_memory_fragmentation_threshold
      description        = "Redis memory fragmentation ratio of the worst node"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "lambda_duration_p99" {
  for_each            = local.lambda_duration_p99_alarms
  alarm_name          = "${local.name_prefix}-${replace(each.key, "_", "-")}-duration-p99"
  alarm_description   = each.value.description
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  extended_statistic  = "p99"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "dynamodb" {
  for_each            = local.dynamodb_alarms
  alarm_name          = "${local.name_prefix}-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  namespace           = "AWS/DynamoDB"
  metric_name         = each.value.metric
  dimensions          = { TableName = aws_dynamodb_table.this[each.value.table].name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "api" {
  for_each            = local.api_alarms
  alarm_name          = "${local.name_prefix}-api-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  namespace           = "AWS/ApiGateway"
  metric_name         = each.value.metric
  dimensions          = { ApiName = aws_api_gateway_rest_api.orders.name, Stage = aws_api_gateway_stage.orders.stage_name }
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended_statistic
  period              = 60
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.datapoints_to_alarm
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "redis" {
  for_each            = local.redis_alarms
  alarm_name          = "${local.name_prefix}-redis-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  evaluation_periods  = each.value.evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  # The primary moves on failover: the alarm takes the worst node of the replication group.
  metric_query {
    id          = "worst"
    expression  = "MAX(METRICS())"
    label       = "${each.value.metric} (worst node)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.redis_node_ids
    content {
      id = "node${metric_query.key}"
      metric {
        namespace   = "AWS/ElastiCache"
        metric_name = each.value.metric
        dimensions  = { CacheClusterId = metric_query.value }
        stat        = each.value.stat
        period      = each.value.period
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.redis_node_ids) <= 10
      error_message = "A metric-math alarm reads at most 10 metrics: redis_num_node_groups x (redis_replicas_per_node_group + 1) must be <= 10."
    }
  }
}

# Where the tables were before they became one for_each: a deployed env moves them in state instead of replacing
# (and so emptying) them.
moved {
  from = aws_dynamodb_table.connections
  to   = aws_dynamodb_table.this["connections"]
}

moved {
  from = aws_dynamodb_table.orders
  to   = aws_dynamodb_table.this["orders"]
}

moved {
  from = aws_dynamodb_table.driver_locations
  to   = aws_dynamodb_table.this["driver_locations"]
}

moved {
  from = aws_dynamodb_table.driver_orders
  to   = aws_dynamodb_table.this["driver_orders"]
}

moved {
  from = aws_dynamodb_table.driver_profiles
  to   = aws_dynamodb_table.this["driver_profiles"]
}

# Where these alarms were before they were grouped: a deployed env moves them in state instead of replacing them.
moved {
  from = aws_cloudwatch_metric_alarm.matcher_duration_p99
  to   = aws_cloudwatch_metric_alarm.lambda_duration_p99["matcher"]
}

moved {
  from = aws_cloudwatch_metric_alarm.order_validator_duration_p99
  to   = aws_cloudwatch_metric_alarm.lambda_duration_p99["order_validator"]
}

moved {
  from = aws_cloudwatch_metric_alarm.assignment_conditional_check_failed
  to   = aws_cloudwatch_metric_alarm.dynamodb["assignment_conditional_check_failed"]
}

moved {
  from = aws_cloudwatch_metric_alarm.orders_hot_partition
  to   = aws_cloudwatch_metric_alarm.dynamodb["orders_hot_partition"]
}

moved {
  from = aws_cloudwatch_metric_alarm.api_5xx
  to   = aws_cloudwatch_metric_alarm.api["5xx"]
}

moved {
  from = aws_cloudwatch_metric_alarm.api_4xx
  to   = aws_cloudwatch_metric_alarm.api["4xx"]
}

moved {
  from = aws_cloudwatch_metric_alarm.api_latency_p99
  to   = aws_cloudwatch_metric_alarm.api["latency_p99"]
}

moved {
  from = aws_cloudwatch_metric_alarm.redis_geo_latency
  to   = aws_cloudwatch_metric_alarm.redis["geo_latency"]
}

moved {
  from = aws_cloudwatch_metric_alarm.redis_memory_fragmentation
  to   = aws_cloudwatch_metric_alarm.redis["memory_fragmentation"]
}

resource "aws_cloudwatch_metric_alarm" "kinesis_get_records_latency" {
  for_each            = local.kinesis_streams
  alarm_name          = "${local.name_prefix}-${each.key}-get-records-latency"
  alarm_description   = "GetRecords latency on the ${each.key} stream"
  namespace           = "AWS/Kinesis"
  metric_name         = "GetRecords.Latency"
  dimensions          = { StreamName = aws_kinesis_stream.this[each.key].name }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.get_records_latency_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "kinesis_incoming_records" {
  for_each            = local.kinesis_streams
  alarm_name          = "${local.name_prefix}-${each.key}-incoming-records"
  alarm_description   = "IncomingRecords per minute on the ${each.key} stream near its sized capacity"
  namespace           = "AWS/Kinesis"
  metric_name         = "IncomingRecords"
  dimensions          = { StreamName = aws_kinesis_stream.this[each.key].name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.incoming_records_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "websocket_connection_failures" {
  alarm_name          = "${local.name_prefix}-websocket-connection-failures"
  alarm_description   = "WebSocket client, integration and execution errors per minute"
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.websocket_error_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "errors"
    expression  = "FILL(client, 0) + FILL(integration, 0) + FILL(execution, 0)"
    label       = "WebSocket errors"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = { client = "ClientError", integration = "IntegrationError", execution = "ExecutionError" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/ApiGateway"
        metric_name = metric_query.value
        dimensions  = { ApiId = aws_apigatewayv2_api.ws.id, Stage = aws_apigatewayv2_stage.ws.name }
        stat        = "Sum"
        period      = 60
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "aurora_connection_saturation" {
  alarm_name          = "${local.name_prefix}-aurora-connection-saturation"
  alarm_description   = "Aurora connections near max_connections at max ACU (Lambda connection pool saturation)"
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnections"
  dimensions          = { DBClusterIdentifier = aws_rds_cluster.aurora.cluster_identifier }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.aurora_connection_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "sqs_backlog" {
  for_each            = local.consumer_queues
  alarm_name          = "${local.name_prefix}-${replace(each.key, "_", "-")}-backlog"
  alarm_description   = "Visible messages waiting in ${each.value.name}"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.consumer[each.key].name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.sqs_backlog_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each            = local.dlq_alarm_queues
  alarm_name          = "${local.name_prefix}-${replace(each.key, "_", "-")}-depth"
  alarm_description   = "Messages waiting in the dead-letter/failure queue ${each.value}"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.dlq_depth_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  depends_on          = [aws_sqs_queue.dlq, aws_sqs_queue.ops]
}

resource "aws_cloudwatch_metric_alarm" "earnings_sfn_failures" {
  alarm_name          = "${local.name_prefix}-earnings-sfn-failures"
  alarm_description   = "Failed, timed-out or aborted nightly earnings executions"
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.earnings_sfn_failures_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "failures"
    expression  = "FILL(failed, 0) + FILL(timedout, 0) + FILL(aborted, 0)"
    label       = "Earnings executions not succeeded"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = { failed = "ExecutionsFailed", timedout = "ExecutionsTimedOut", aborted = "ExecutionsAborted" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/States"
        metric_name = metric_query.value
        dimensions  = { StateMachineArn = aws_sfn_state_machine.earnings.arn }
        stat        = "Sum"
        period      = 3600
      }
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------

output "websocket_api_invoke_url" {
  description = "wss:// URL of the order-tracking WebSocket API stage."
  value       = aws_apigatewayv2_stage.ws.invoke_url
}

output "websocket_management_endpoint" {
  description = "HTTPS endpoint used for PostToConnection."
  value       = local.ws_management_endpoint
}

output "rest_api_invoke_url" {
  description = "Invoke URL of the orders REST API stage (POST <url>/orders)."
  value       = aws_api_gateway_stage.orders.invoke_url
}

output "rest_api_key_id" {
  description = "ID of the orders API key (read its value with aws apigateway get-api-key --include-value)."
  value       = aws_api_gateway_api_key.orders_client.id
}

output "kinesis_stream_arns" {
  description = "Kinesis stream ARNs by key (orders, locations)."
  value       = { for k, s in aws_kinesis_stream.this : k => s.arn }
}

output "kinesis_stream_names" {
  description = "Kinesis stream names by key (orders, locations)."
  value       = { for k, s in aws_kinesis_stream.this : k => s.name }
}

output "dynamodb_tables" {
  description = "DynamoDB table names and ARNs."
  value = {
    for k, t in {
      connections      = aws_dynamodb_table.this["connections"]
      orders           = aws_dynamodb_table.this["orders"]
      driver_locations = aws_dynamodb_table.this["driver_locations"]
      driver_orders    = aws_dynamodb_table.this["driver_orders"]
      driver_profiles  = aws_dynamodb_table.this["driver_profiles"]
    } : k => { name = t.name, arn = t.arn }
  }
}

output "orders_table_stream_arn" {
  description = "Stream ARN of the orders table."
  value       = aws_dynamodb_table.this["orders"].stream_arn
}

output "sns_topic_arns" {
  description = "SNS topic ARNs."
  value = {
    order_events           = aws_sns_topic.order_events.arn
    external_notifications = aws_sns_topic.external_notifications.arn
    alarms                 = aws_sns_topic.alarms.arn
  }
}

output "sqs_queue_urls" {
  description = "Consumer queue URLs by key."
  value       = { for k, q in aws_sqs_queue.consumer : k => q.id }
}

output "sqs_dlq_urls" {
  description = "Dead-letter queue URLs by key."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.id }
}

output "aurora_endpoints" {
  description = "Aurora writer and reader endpoints."
  value = {
    writer = aws_rds_cluster.aurora.endpoint
    reader = aws_rds_cluster.aurora.reader_endpoint
  }
}

output "aurora_master_secret_arn" {
  description = "ARN of the RDS-managed master user secret."
  value       = aws_rds_cluster.aurora.master_user_secret[0].secret_arn
}

output "redis_configuration_endpoint" {
  description = "Configuration endpoint of the Redis cluster (cluster mode)."
  value       = aws_elasticache_replication_group.redis.configuration_endpoint_address
}

output "redis_auth_secret_arn" {
  description = "ARN of the Redis AUTH token secret."
  value       = aws_secretsmanager_secret.redis_auth.arn
}

output "earnings_state_machine_arn" {
  description = "ARN of the earnings Step Functions state machine."
  value       = aws_sfn_state_machine.earnings.arn
}

output "lambda_function_arns" {
  description = "Lambda function ARNs by key."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "s3_bucket_names" {
  description = "Receipts and delivery photos bucket names."
  value       = { for k, b in aws_s3_bucket.data : k => b.id }
}

output "vpc_id" {
  description = "VPC ID."
  value       = aws_vpc.main.id
}

output "public_subnet_ids" {
  description = "Public subnet IDs by AZ."
  value       = { for k, s in aws_subnet.public : k => s.id }
}

output "private_subnet_ids" {
  description = "Private subnet IDs by AZ."
  value       = { for k, s in aws_subnet.private : k => s.id }
}

output "security_group_ids" {
  description = "Security group IDs."
  value = {
    lambda    = aws_security_group.lambda.id
    redis     = aws_security_group.redis.id
    aurora    = aws_security_group.aurora.id
    endpoints = aws_security_group.endpoints.id
  }
}

output "kms_key_arn" {
  description = "ARN of the stack's customer-managed KMS key."
  value       = aws_kms_key.main.arn
}
