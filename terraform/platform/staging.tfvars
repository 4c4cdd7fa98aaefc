env                = "staging"
environment_suffix = "core"
aws_region         = "us-east-1"

# --- network: the spec's per-env /16, 2 AZs, a /20 per subnet ---
vpc_cidr             = "10.1.0.0/16"
availability_zones   = ["us-east-1a", "us-east-1b"]
public_subnet_cidrs  = ["10.1.0.0/20", "10.1.16.0/20"]
private_subnet_cidrs = ["10.1.32.0/20", "10.1.48.0/20"]

# --- database: the spec's db.t3.micro / db.t3.small / db.m5.large are not Aurora PostgreSQL classes;
# the nearest offered ones are used (README: "Where this stack departs from the spec") ---
db_instance_class        = "db.t4g.medium"
db_backup_retention_days = 7

# --- compute: the spec's per-env memory ---
lambda_memory_size           = 256
lambda_timeout_seconds       = 30
lambda_reserved_concurrency  = 20
lambda_max_retry_attempts    = 2
lambda_max_event_age_seconds = 3600
log_retention_days           = 30

# --- alarm thresholds ---
lambda_errors_threshold = 5
