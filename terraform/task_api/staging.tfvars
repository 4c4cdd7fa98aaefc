env        = "staging"
aws_region = "us-west-2"

# --- network: the spec's 10.0.0.0/16, two private subnets; the same allow-listed clients in every env ---
vpc_cidr             = "10.0.0.0/16"
availability_zones   = ["us-west-2a", "us-west-2b"]
private_subnet_cidrs = ["10.0.1.0/24", "10.0.2.0/24"]
allowed_ip_cidrs     = ["203.0.113.1/32", "198.51.100.2/32"]

# staging: load tests at ~10% of prod (100 req/s); profiles/task_api/staging.toml creates up to ~22 tasks/s.
# Target tracking reacts after minutes (loadgen capacity assumes 240 s), so the write floor holds the ramp's
# steps until it does: `loadgen capacity --stack task_api --env staging` recommends 29.

# --- API: stage/usage-plan throttles, daily quota, encrypted GET cache ---
api_throttle_rate_limit    = 100
api_throttle_burst_limit   = 200
api_usage_plan_quota_limit = 1000000
api_cache_cluster_size     = "0.5"
api_cache_ttl_seconds      = 120
api_log_retention_days     = 30

# --- DynamoDB: provisioned floor/ceiling of target tracking (table and status index) ---
ddb_read_min_capacity          = 10
ddb_read_max_capacity          = 200
ddb_write_min_capacity         = 30
ddb_write_max_capacity         = 100
ddb_target_utilization_percent = 70
ddb_scale_in_cooldown_seconds  = 300
ddb_scale_out_cooldown_seconds = 60

# --- Lambda ---
lambda_memory_size          = 256
lambda_timeout_seconds      = 10
lambda_reserved_concurrency = 30
lambda_log_retention_days   = 30
flow_log_retention_days     = 30

# --- audit records in the log bucket ---
log_transition_ia_days            = 30
log_expiration_days               = 180
noncurrent_version_retention_days = 14

# --- alarm thresholds ---
api_4xx_rate_threshold        = 0.1
api_5xx_rate_threshold        = 0.02
api_latency_p95_threshold_ms  = 500
ddb_throttle_events_threshold = 20

# --- region singletons ---
# one stack per account and region owns API Gateway's CloudWatch role setting (terraform/README.md)
manage_api_gateway_account = false
