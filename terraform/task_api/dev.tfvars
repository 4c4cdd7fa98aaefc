env        = "dev"
aws_region = "us-west-2"

# --- network: the spec's 10.0.0.0/16, two private subnets; the same allow-listed clients in every env ---
vpc_cidr             = "10.0.0.0/16"
availability_zones   = ["us-west-2a", "us-west-2b"]
private_subnet_cidrs = ["10.0.1.0/24", "10.0.2.0/24"]
allowed_ip_cidrs     = ["203.0.113.1/32", "198.51.100.2/32"]

# dev: one developer's traffic, ~10 req/s at most; the spec's 5 RCU/WCU floor.

# --- API: stage/usage-plan throttles, daily quota, encrypted GET cache ---
api_throttle_rate_limit    = 10
api_throttle_burst_limit   = 20
api_usage_plan_quota_limit = 10000
api_cache_cluster_size     = "0.5"
api_cache_ttl_seconds      = 60
api_log_retention_days     = 14

# --- DynamoDB: provisioned floor/ceiling of target tracking (table and status index) ---
ddb_read_min_capacity          = 5
ddb_read_max_capacity          = 25
ddb_write_min_capacity         = 5
ddb_write_max_capacity         = 25
ddb_target_utilization_percent = 70
ddb_scale_in_cooldown_seconds  = 300
ddb_scale_out_cooldown_seconds = 60

# --- Lambda ---
lambda_memory_size          = 256
lambda_timeout_seconds      = 10
lambda_reserved_concurrency = 10
lambda_log_retention_days   = 14
flow_log_retention_days     = 14

# --- audit records in the log bucket ---
log_transition_ia_days            = 30
log_expiration_days               = 90
noncurrent_version_retention_days = 7

# --- alarm thresholds ---
api_4xx_rate_threshold        = 0.2
api_5xx_rate_threshold        = 0.05
api_latency_p95_threshold_ms  = 1000
ddb_throttle_events_threshold = 50

# --- region singletons ---
# one stack per account and region owns API Gateway's CloudWatch role setting (terraform/README.md)
manage_api_gateway_account = false
