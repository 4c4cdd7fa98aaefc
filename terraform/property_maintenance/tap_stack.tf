###############################################################################
# property_maintenance — maintenance request workflow for ~120,000 rental units
#
# Tenant app -> API Gateway (REST, API key) -> validator Lambda -> DynamoDB
# maintenance_requests (stream) -> request router Lambda (Redis GEOSEARCH +
# vendor_availability + priority_matrix -> loadgen.matching.vendor_assignment)
# -> SNS request-assigned -> SQS (vendor / tenant notifications) -> notifier
# Lambdas -> external SMS/email API (API Gateway HTTP proxy).
# Vendors -> POST /vendor/status -> vendor status Lambda -> DynamoDB + Aurora
# audit + SNS status-updates -> SQS -> workflow controller (check-in schedules,
# quality check, survey, S3 archive).
# Daily compliance Lambda (Aurora + penalty_rates + vendor_scores) -> SNS
# compliance-alerts -> SQS -> report generator -> external PDF API -> S3.
# Emergencies (stream filter) -> EventBridge bus rule -> Step Functions
# escalation (primary vendor, ack wait, failover, manager notification).
#
# Topology is identical in every env; only capacities, rates, thresholds and
# retentions come from dev.tfvars / staging.tfvars / prod.tfvars (see those
# files for how each number follows from the fleet size).
###############################################################################

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

###############################################################################
# Variables — general
###############################################################################

variable "env" {
  type        = string
  description = "Deployment environment (dev, staging or prod)."

  validation {
    condition     = contains(["dev", "staging", "prod"], var.env)
    error_message = "env must be one of dev, staging, prod."
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
  description = "Project name, first part of every resource name."
  default     = "propmaint"
}

variable "owner" {
  type        = string
  description = "Owning team, written to the Owner tag."
  default     = "property-platform"
}

variable "cost_center" {
  type        = string
  description = "Cost center, written to the CostCenter tag."
  default     = "maintenance-ops"
}

variable "common_tags" {
  type        = map(string)
  description = "Extra tags merged into the provider default_tags."
  default     = {}
}

###############################################################################
# Variables — network
###############################################################################

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the VPC."
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones (at least two); one public and one private subnet and one NAT gateway each."

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "At least two availability zones are required."
  }
}

variable "public_subnet_cidrs" {
  type        = list(string)
  description = "Public subnet CIDRs, one per availability zone (same order)."
}

variable "private_subnet_cidrs" {
  type        = list(string)
  description = "Private subnet CIDRs, one per availability zone (same order)."
}

variable "flow_log_retention_days" {
  type        = number
  description = "Retention of the VPC flow log group in days."
}

###############################################################################
# Variables — API Gateway
###############################################################################

variable "api_name" {
  type        = string
  description = "Name suffix of the REST API."
  default     = "maintenance-api"
}

variable "api_stage_name" {
  type        = string
  description = "Stage name of the REST API deployment."
  default     = "v1"
}

variable "api_key_required" {
  type        = bool
  description = "Whether the tenant and vendor routes require an API key."
  default     = true
}

variable "api_throttle_rate_limit" {
  type        = number
  description = "Stage-wide steady-state request rate (requests/second) for all methods."
}

variable "api_throttle_burst_limit" {
  type        = number
  description = "Stage-wide burst limit (requests) for all methods."
}

variable "api_request_throttle_rate_limit" {
  type        = number
  description = "POST /request steady-state rate (requests/second)."
}

variable "api_request_throttle_burst_limit" {
  type        = number
  description = "POST /request burst limit (requests)."
}

variable "api_vendor_status_throttle_rate_limit" {
  type        = number
  description = "POST /vendor/status steady-state rate (requests/second)."
}

variable "api_vendor_status_throttle_burst_limit" {
  type        = number
  description = "POST /vendor/status burst limit (requests)."
}

variable "api_usage_plan_quota_limit" {
  type        = number
  description = "Requests per day allowed to the tenant app's API key (tenants usage plan)."
}

variable "api_vendor_usage_plan_quota_limit" {
  type        = number
  description = "Requests per day allowed to the vendor webhooks' API key (vendors usage plan)."
}

variable "sms_email_api_base_url" {
  type        = string
  description = "Base URL of the external SMS/email provider proxied by API Gateway (HTTP_PROXY)."
}

variable "pdf_api_base_url" {
  type        = string
  description = "Base URL of the external PDF rendering API proxied by API Gateway (HTTP_PROXY)."
}

###############################################################################
# Variables — DynamoDB
###############################################################################

variable "ddb_billing_mode" {
  type        = string
  description = "Billing mode of every table (PROVISIONED or PAY_PER_REQUEST); the same in every env."
  default     = "PROVISIONED"

  validation {
    condition     = contains(["PROVISIONED", "PAY_PER_REQUEST"], var.ddb_billing_mode)
    error_message = "ddb_billing_mode must be PROVISIONED or PAY_PER_REQUEST."
  }
}

variable "ddb_maintenance_requests_read_capacity" {
  type        = number
  description = "RCU of the maintenance_requests table."
}

variable "ddb_maintenance_requests_write_capacity" {
  type        = number
  description = "WCU of the maintenance_requests table."
}

variable "ddb_maintenance_requests_gsi_read_capacity" {
  type        = number
  description = "RCU of each maintenance_requests GSI."
}

variable "ddb_maintenance_requests_gsi_write_capacity" {
  type        = number
  description = "WCU of each maintenance_requests GSI."
}

variable "ddb_vendor_availability_read_capacity" {
  type        = number
  description = "RCU of the vendor_availability table (BatchGetItem of GEOSEARCH candidates per assignment)."
}

variable "ddb_vendor_availability_write_capacity" {
  type        = number
  description = "WCU of the vendor_availability table (workload counters)."
}

variable "ddb_config_tables_read_capacity" {
  type        = number
  description = "RCU of the small rule tables (priority_matrix, quality_rules, penalty_rates)."
}

variable "ddb_config_tables_write_capacity" {
  type        = number
  description = "WCU of the small rule tables (priority_matrix, quality_rules, penalty_rates)."
}

variable "ddb_vendor_scores_read_capacity" {
  type        = number
  description = "RCU of the vendor_scores table."
}

variable "ddb_vendor_scores_write_capacity" {
  type        = number
  description = "WCU of the vendor_scores table."
}

variable "request_ttl_days" {
  type        = number
  description = "Days after creation when a maintenance request item expires (TTL); it is archived to S3 on completion."
}

variable "ddb_deletion_protection" {
  type        = bool
  description = "Deletion protection on every DynamoDB table."
  default     = true
}

###############################################################################
# Variables — Lambda
###############################################################################

variable "lambda_runtime" {
  type        = string
  description = "Lambda runtime of every function."
  default     = "python3.12"
}

variable "lambda_architecture" {
  type        = string
  description = "Instruction set of every function (the dependency layer must match)."
  default     = "arm64"
}

variable "lambda_log_retention_days" {
  type        = number
  description = "Retention of the Lambda log groups in days."
}

variable "lambda_request_validator_memory_size" {
  type        = number
  description = "Memory (MB) of the request validator."
}

variable "lambda_request_validator_timeout_seconds" {
  type        = number
  description = "Timeout (s) of the request validator."
}

variable "lambda_request_validator_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the request validator."
}

variable "lambda_request_router_memory_size" {
  type        = number
  description = "Memory (MB) of the request router (vendor assignment)."
}

variable "lambda_request_router_timeout_seconds" {
  type        = number
  description = "Timeout (s) of the request router."
}

variable "lambda_request_router_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the request router (>= stream shards x parallelization factor)."
}

variable "lambda_vendor_notifier_memory_size" {
  type        = number
  description = "Memory (MB) of the vendor notifier."
}

variable "lambda_vendor_notifier_timeout_seconds" {
  type        = number
  description = "Timeout (s) of the vendor notifier."
}

variable "lambda_vendor_notifier_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the vendor notifier."
}

variable "lambda_tenant_notifier_memory_size" {
  type        = number
  description = "Memory (MB) of the tenant notifier."
}

variable "lambda_tenant_notifier_timeout_seconds" {
  type        = number
  description = "Timeout (s) of the tenant notifier."
}

variable "lambda_tenant_notifier_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the tenant notifier."
}

variable "lambda_vendor_status_memory_size" {
  type        = number
  description = "Memory (MB) of the vendor status processor."
}

variable "lambda_vendor_status_timeout_seconds" {
  type        = number
  description = "Timeout (s) of the vendor status processor."
}

variable "lambda_vendor_status_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the vendor status processor (bounded by the RDS proxy pool)."
}

variable "lambda_workflow_controller_memory_size" {
  type        = number
  description = "Memory (MB) of the workflow controller."
}

variable "lambda_workflow_controller_timeout_seconds" {
  type        = number
  description = "Timeout (s) of the workflow controller."
}

variable "lambda_workflow_controller_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the workflow controller."
}

variable "lambda_quality_check_memory_size" {
  type        = number
  description = "Memory (MB) of the quality check."
}

variable "lambda_quality_check_timeout_seconds" {
  type        = number
  description = "Timeout (s) of the quality check."
}

variable "lambda_quality_check_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the quality check."
}

variable "lambda_compliance_daily_memory_size" {
  type        = number
  description = "Memory (MB) of the daily compliance job."
}

variable "lambda_compliance_daily_timeout_seconds" {
  type        = number
  description = "Timeout (s) of the daily compliance job."
}

variable "lambda_compliance_daily_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the daily compliance job."
}

variable "lambda_report_generator_memory_size" {
  type        = number
  description = "Memory (MB) of the compliance report generator."
}

variable "lambda_report_generator_timeout_seconds" {
  type        = number
  description = "Timeout (s) of the compliance report generator."
}

variable "lambda_report_generator_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the compliance report generator."
}

variable "lambda_escalation_primary_memory_size" {
  type        = number
  description = "Memory (MB) of the escalation primary-vendor function."
}

variable "lambda_escalation_primary_timeout_seconds" {
  type        = number
  description = "Timeout (s) of the escalation primary-vendor function."
}

variable "lambda_escalation_primary_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the escalation primary-vendor function."
}

variable "lambda_escalation_failover_memory_size" {
  type        = number
  description = "Memory (MB) of the escalation failover function."
}

variable "lambda_escalation_failover_timeout_seconds" {
  type        = number
  description = "Timeout (s) of the escalation failover function."
}

variable "lambda_escalation_failover_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the escalation failover function."
}

variable "lambda_redis_sync_memory_size" {
  type        = number
  description = "Memory (MB) of the hourly Redis availability sync."
}

variable "lambda_redis_sync_timeout_seconds" {
  type        = number
  description = "Timeout (s) of the hourly Redis availability sync."
}

variable "lambda_redis_sync_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the hourly Redis availability sync."
}

variable "router_stream_batch_size" {
  type        = number
  description = "Records per router invocation from the maintenance_requests stream."
}

variable "router_stream_parallelization_factor" {
  type        = number
  description = "Concurrent router batches per stream shard (1-10)."
}

variable "router_stream_batching_window_seconds" {
  type        = number
  description = "Maximum batching window (s) of the stream event source mapping."
}

variable "router_stream_max_retry_attempts" {
  type        = number
  description = "Retries of a failing stream batch before it goes to the on-failure queue."
  default     = 5
}

variable "sqs_consumer_batch_size" {
  type        = number
  description = "Messages per invocation for the SQS consumers."
}

variable "sqs_consumer_batching_window_seconds" {
  type        = number
  description = "Maximum batching window (s) of the SQS event source mappings."
}

variable "sqs_consumer_max_concurrency" {
  type        = number
  description = "Maximum concurrent invocations per SQS event source mapping (>= 2)."
}

variable "redis_geo_candidate_limit" {
  type        = number
  description = "Maximum vendors a GEOSEARCH returns to the matcher per request."
}

###############################################################################
# Variables — ElastiCache Redis
###############################################################################

variable "redis_node_type" {
  type        = string
  description = "ElastiCache node type."
}

variable "redis_num_cache_clusters" {
  type        = number
  description = "Nodes in the replication group (primary + replicas); >= 2 in every env for automatic failover."

  validation {
    condition     = var.redis_num_cache_clusters >= 2
    error_message = "redis_num_cache_clusters must be at least 2."
  }
}

variable "redis_engine_version" {
  type        = string
  description = "Redis OSS engine version."
  default     = "7.1"
}

variable "redis_multi_az_enabled" {
  type        = bool
  description = "Multi-AZ with automatic failover for the replication group (the same in every env)."
  default     = true
}

variable "redis_snapshot_retention_days" {
  type        = number
  description = "Days of automatic Redis snapshots kept."
}

variable "redis_log_retention_days" {
  type        = number
  description = "Retention of the Redis slow-log group in days."
}

###############################################################################
# Variables — Aurora PostgreSQL
###############################################################################

variable "aurora_cluster_identifier" {
  type        = string
  description = "Suffix of the Aurora cluster identifier."
  default     = "maintenance-audit"
}

variable "aurora_master_username" {
  type        = string
  description = "Aurora master user name (the password is generated and kept by Secrets Manager)."
  default     = "maint_admin"
}

variable "aurora_database_name" {
  type        = string
  description = "Database holding maintenance_audit and vendor_assignments."
  default     = "maintenance"
}

variable "aurora_engine_version" {
  type        = string
  description = "Aurora PostgreSQL engine version (serverless v2 capable)."
  default     = "16.4"
}

variable "aurora_instance_class" {
  type        = string
  description = "Instance class of the cluster instances (db.serverless for serverless v2)."
  default     = "db.serverless"
}

variable "aurora_min_capacity" {
  type        = number
  description = "Serverless v2 minimum ACUs."
}

variable "aurora_max_capacity" {
  type        = number
  description = "Serverless v2 maximum ACUs."
}

variable "aurora_backup_retention_days" {
  type        = number
  description = "Days of automated Aurora backups."
}

variable "aurora_preferred_backup_window" {
  type        = string
  description = "Daily backup window (UTC)."
  default     = "03:00-04:00"
}

variable "aurora_preferred_maintenance_window" {
  type        = string
  description = "Weekly maintenance window (UTC)."
  default     = "sun:05:00-sun:06:00"
}

variable "aurora_deletion_protection" {
  type        = bool
  description = "Deletion protection of the Aurora cluster."
  default     = true
}

variable "aurora_log_retention_days" {
  type        = number
  description = "Retention of the exported Aurora PostgreSQL log group in days."
}

variable "rds_proxy_max_connections_percent" {
  type        = number
  description = "Share of the cluster's max_connections the RDS proxy pool may use."
}

variable "rds_proxy_idle_client_timeout_seconds" {
  type        = number
  description = "Seconds an idle client connection to the RDS proxy is kept."
}

###############################################################################
# Variables — SNS / SQS
###############################################################################

variable "sns_topic_names" {
  type = object({
    request_assigned  = string
    status_updates    = string
    compliance_alerts = string
    survey            = string
    ops_alarms        = string
  })
  description = "Name suffixes of the SNS topics."
  default = {
    request_assigned  = "request-assigned"
    status_updates    = "status-updates"
    compliance_alerts = "compliance-alerts"
    survey            = "survey"
    ops_alarms        = "ops-alarms"
  }
}

variable "sqs_queue_names" {
  type = object({
    vendor_notifications = string
    tenant_notifications = string
    workflow_events      = string
    compliance_reports   = string
  })
  description = "Name suffixes of the SQS work queues (each gets a -dlq twin)."
  default = {
    vendor_notifications = "vendor-notifications"
    tenant_notifications = "tenant-notifications"
    workflow_events      = "workflow-events"
    compliance_reports   = "compliance-reports"
  }
}

variable "sqs_vendor_notifications_visibility_timeout_seconds" {
  type        = number
  description = "Visibility timeout of the vendor notification queue (>= 6 x the vendor notifier timeout)."
}

variable "sqs_tenant_notifications_visibility_timeout_seconds" {
  type        = number
  description = "Visibility timeout of the tenant notification queue (>= 6 x the tenant notifier timeout)."
}

variable "sqs_workflow_events_visibility_timeout_seconds" {
  type        = number
  description = "Visibility timeout of the workflow events queue (>= 6 x the workflow controller timeout)."
}

variable "sqs_compliance_reports_visibility_timeout_seconds" {
  type        = number
  description = "Visibility timeout of the compliance report queue (>= 6 x the report generator timeout)."
}

variable "sqs_message_retention_seconds" {
  type        = number
  description = "Message retention of the work queues."
}

variable "sqs_dlq_message_retention_seconds" {
  type        = number
  description = "Message retention of the dead-letter and failure queues."
}

variable "sqs_max_receive_count" {
  type        = number
  description = "Receives before a message moves to its DLQ."
  default     = 5
}

###############################################################################
# Variables — EventBridge
###############################################################################

variable "compliance_schedule_expression" {
  type        = string
  description = "Schedule of the daily compliance job."
  default     = "cron(0 6 * * ? *)"
}

variable "redis_sync_schedule_expression" {
  type        = string
  description = "Schedule of the Redis availability sync."
  default     = "rate(1 hour)"
}

variable "emergency_event_detail_type" {
  type        = string
  description = "detail-type of the events the router puts on the bus for emergency requests."
  default     = "EmergencyMaintenanceRequest"
}

variable "emergency_priority_value" {
  type        = string
  description = "Priority value that marks an emergency (stream filter and escalation rule pattern)."
  default     = "emergency"
}

variable "checkin_schedule_expression" {
  type        = string
  description = "Expression of the per-request check-in schedule created when a job goes in_progress."
  default     = "rate(4 hours)"
}

variable "checkin_max_hours" {
  type        = number
  description = "Hours after which an in_progress check-in schedule ends on its own."
}

variable "event_target_max_retry_attempts" {
  type        = number
  description = "Retries of an EventBridge target before the event goes to the failure queue."
  default     = 10
}

variable "event_target_max_event_age_seconds" {
  type        = number
  description = "Maximum age (s) of an event EventBridge still retries."
  default     = 3600
}

###############################################################################
# Variables — S3
###############################################################################

variable "archive_bucket_name" {
  type        = string
  description = "Name part of the request archive bucket (account id and env are appended)."
  default     = "request-archive"
}

variable "compliance_reports_bucket_name" {
  type        = string
  description = "Name part of the compliance report bucket (account id and env are appended)."
  default     = "compliance-reports"
}

variable "archive_partition_prefix" {
  type        = string
  description = "Key prefix of archived requests; keys are <prefix>/dt=YYYY-MM-DD/property_id=<id>/<request_id>.json."
  default     = "requests"
}

variable "archive_transition_ia_days" {
  type        = number
  description = "Days before archived requests move to STANDARD_IA."
}

variable "archive_transition_glacier_days" {
  type        = number
  description = "Days before archived requests move to GLACIER_IR."
}

variable "archive_expiration_days" {
  type        = number
  description = "Days before archived requests expire."
}

variable "reports_transition_glacier_days" {
  type        = number
  description = "Days before compliance reports move to GLACIER_IR."
}

variable "reports_retention_days" {
  type        = number
  description = "Days compliance reports are kept (object lock governance retention and expiration)."
}

variable "noncurrent_version_retention_days" {
  type        = number
  description = "Days noncurrent object versions are kept."
}

variable "access_log_retention_days" {
  type        = number
  description = "Days S3 server access logs are kept."
}

###############################################################################
# Variables — Step Functions
###############################################################################

variable "sfn_name" {
  type        = string
  description = "Name suffix of the emergency escalation state machine."
  default     = "emergency-escalation"
}

variable "sfn_timeout_seconds" {
  type        = number
  description = "Overall timeout of one escalation execution."
}

variable "sfn_task_timeout_seconds" {
  type        = number
  description = "Timeout of each Lambda task of the escalation."
}

variable "sfn_vendor_ack_timeout_seconds" {
  type        = number
  description = "Seconds the primary vendor has to acknowledge (go in_progress) before failover."
}

variable "sfn_max_retries" {
  type        = number
  description = "Retry attempts of the escalation tasks on transient errors."
  default     = 3
}

variable "sfn_log_retention_days" {
  type        = number
  description = "Retention of the state machine log group in days."
}

###############################################################################
# Variables — observability
###############################################################################

variable "api_log_retention_days" {
  type        = number
  description = "Retention of the API Gateway access log group in days."
}

variable "vendor_assignment_p95_threshold_ms" {
  type        = number
  description = "Alarm: p95 duration (ms) of the request router (vendor assignment)."
}

variable "request_validator_p95_threshold_ms" {
  type        = number
  description = "Alarm: p95 duration (ms) of the request validator."
}

variable "assignment_conditional_check_failed_threshold" {
  type        = number
  description = "Alarm: ConditionalCheckFailedRequests per minute on maintenance_requests (concurrent assignment races)."
}

variable "redis_geo_latency_threshold_us" {
  type        = number
  description = "Alarm: average GeoSpatialBasedCmdsLatency (microseconds) on the primary node."
}

variable "api_5xx_rate_threshold" {
  type        = number
  description = "Alarm: API 5XXError rate (average of the 0/1 metric, i.e. a fraction)."
}

variable "api_4xx_rate_threshold" {
  type        = number
  description = "Alarm: API 4XXError rate (fraction)."
}

variable "api_latency_p95_threshold_ms" {
  type        = number
  description = "Alarm: API Gateway p95 latency (ms)."
}

variable "aurora_connections_threshold" {
  type        = number
  description = "Alarm: maximum DatabaseConnections on the Aurora cluster."
}

variable "sqs_oldest_message_age_threshold_seconds" {
  type        = number
  description = "Alarm: ApproximateAgeOfOldestMessage (s) of each work queue."
}

variable "dlq_depth_threshold" {
  type        = number
  description = "Alarm: visible messages in any dead-letter/failure queue."
}

variable "sfn_executions_failed_threshold" {
  type        = number
  description = "Alarm: failed escalation executions per 5 minutes."
}

variable "report_generation_errors_threshold" {
  type        = number
  description = "Alarm: report generation errors (metric filter) per 5 minutes."
}

variable "lambda_errors_threshold" {
  type        = number
  description = "Alarm: errors per 5 minutes of any function."
}

variable "sla_compliance_rate_threshold" {
  type        = number
  description = "Alarm: SLA compliance rate (percent met, from the metric filters) over one hour."
}

###############################################################################
# Data sources
###############################################################################

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

###############################################################################
# Locals — naming, tagging, capacity maps
###############################################################################

locals {
  name_prefix = "${var.project_name}-${var.env}"
  account_id  = data.aws_caller_identity.current.account_id
  partition   = data.aws_partition.current.partition
  region      = data.aws_region.current.name

  tags = merge(var.common_tags, {
    Project     = var.project_name
    Environment = var.env
    Owner       = var.owner
    CostCenter  = var.cost_center
    ManagedBy   = "terraform"
    Stack       = "property_maintenance"
  })

  # AZ name -> index into the subnet CIDR lists (keys never depend on env).
  az_index = { for idx, az in var.availability_zones : az => idx }

  interface_endpoint_services = toset(["sns", "sqs", "states", "secretsmanager", "events", "lambda"])

  table_names = {
    maintenance_requests = "${local.name_prefix}-maintenance-requests"
    vendor_availability  = "${local.name_prefix}-vendor-availability"
    priority_matrix      = "${local.name_prefix}-priority-matrix"
    quality_rules        = "${local.name_prefix}-quality-rules"
    penalty_rates        = "${local.name_prefix}-penalty-rates"
    vendor_scores        = "${local.name_prefix}-vendor-scores"
  }

  # Every table except maintenance_requests (declared on its own because of its
  # stream, TTL and GSIs). Capacities are plain var references.
  reference_tables = {
    vendor_availability = {
      hash_key       = "vendor_id"
      range_key      = null
      read_capacity  = var.ddb_vendor_availability_read_capacity
      write_capacity = var.ddb_vendor_availability_write_capacity
    }
    priority_matrix = {
      hash_key       = "priority"
      range_key      = null
      read_capacity  = var.ddb_config_tables_read_capacity
      write_capacity = var.ddb_config_tables_write_capacity
    }
    quality_rules = {
      hash_key       = "category"
      range_key      = null
      read_capacity  = var.ddb_config_tables_read_capacity
      write_capacity = var.ddb_config_tables_write_capacity
    }
    penalty_rates = {
      hash_key       = "priority"
      range_key      = "violation_type"
      read_capacity  = var.ddb_config_tables_read_capacity
      write_capacity = var.ddb_config_tables_write_capacity
    }
    vendor_scores = {
      hash_key       = "vendor_id"
      range_key      = null
      read_capacity  = var.ddb_vendor_scores_read_capacity
      write_capacity = var.ddb_vendor_scores_write_capacity
    }
  }

  # Vendor assignment rules seeded into priority_matrix. They mirror
  # loadgen.matching.vendor_assignment.DEFAULT_RULES: emergency puts 70% of the
  # weight on proximity and searches a 40 km radius, so the nearest capable
  # vendor wins even when busy; standard/low favour idle, well-rated vendors
  # inside 20 km. response_sla_minutes is the SLA the compliance job enforces
  # (assigned -> in_progress); resolution_sla_hours bounds in_progress -> completed.
  priority_rules = {
    emergency = { max_distance_km = "40", distance_weight = "0.70", workload_weight = "0.15", rating_weight = "0.15", response_sla_minutes = "60", resolution_sla_hours = "8" }
    high      = { max_distance_km = "25", distance_weight = "0.45", workload_weight = "0.30", rating_weight = "0.25", response_sla_minutes = "240", resolution_sla_hours = "48" }
    standard  = { max_distance_km = "20", distance_weight = "0.30", workload_weight = "0.35", rating_weight = "0.35", response_sla_minutes = "1440", resolution_sla_hours = "120" }
    low       = { max_distance_km = "20", distance_weight = "0.20", workload_weight = "0.40", rating_weight = "0.40", response_sla_minutes = "4320", resolution_sla_hours = "336" }
  }

  # Penalty per started hour of SLA breach, capped per violation.
  penalty_rates = {
    "emergency#response_late"   = { priority = "emergency", violation_type = "response_late", points_per_hour = "10", max_points = "100" }
    "emergency#resolution_late" = { priority = "emergency", violation_type = "resolution_late", points_per_hour = "5", max_points = "80" }
    "high#response_late"        = { priority = "high", violation_type = "response_late", points_per_hour = "4", max_points = "60" }
    "high#resolution_late"      = { priority = "high", violation_type = "resolution_late", points_per_hour = "2", max_points = "40" }
    "standard#response_late"    = { priority = "standard", violation_type = "response_late", points_per_hour = "1", max_points = "20" }
    "standard#resolution_late"  = { priority = "standard", violation_type = "resolution_late", points_per_hour = "1", max_points = "20" }
    "low#response_late"         = { priority = "low", violation_type = "response_late", points_per_hour = "1", max_points = "10" }
    "low#resolution_late"       = { priority = "low", violation_type = "resolution_late", points_per_hour = "1", max_points = "10" }
  }

  # Quality rules per trade, evaluated by the quality check on completion.
  quality_rules = {
    plumbing   = { min_work_minutes = "15", requires_notes = true }
    electrical = { min_work_minutes = "20", requires_notes = true }
    hvac       = { min_work_minutes = "30", requires_notes = true }
    appliance  = { min_work_minutes = "15", requires_notes = false }
    locksmith  = { min_work_minutes = "5", requires_notes = false }
    pest       = { min_work_minutes = "20", requires_notes = true }
    general    = { min_work_minutes = "10", requires_notes = false }
  }

  topics = {
    request_assigned  = "${local.name_prefix}-${var.sns_topic_names.request_assigned}"
    status_updates    = "${local.name_prefix}-${var.sns_topic_names.status_updates}"
    compliance_alerts = "${local.name_prefix}-${var.sns_topic_names.compliance_alerts}"
    survey            = "${local.name_prefix}-${var.sns_topic_names.survey}"
    ops_alarms        = "${local.name_prefix}-${var.sns_topic_names.ops_alarms}"
  }

  # Work queues: each has a DLQ twin and exactly one consumer function. The
  # visibility timeout must cover 6 x the consumer timeout (checked below by a
  # precondition) so a message is never redelivered while still in flight.
  queues = {
    vendor_notifications = {
      name                       = "${local.name_prefix}-${var.sqs_queue_names.vendor_notifications}"
      consumer                   = "vendor_notifier"
      visibility_timeout_seconds = var.sqs_vendor_notifications_visibility_timeout_seconds
      consumer_timeout_seconds   = var.lambda_vendor_notifier_timeout_seconds
    }
    tenant_notifications = {
      name                       = "${local.name_prefix}-${var.sqs_queue_names.tenant_notifications}"
      consumer                   = "tenant_notifier"
      visibility_timeout_seconds = var.sqs_tenant_notifications_visibility_timeout_seconds
      consumer_timeout_seconds   = var.lambda_tenant_notifier_timeout_seconds
    }
    workflow_events = {
      name                       = "${local.name_prefix}-${var.sqs_queue_names.workflow_events}"
      consumer                   = "workflow_controller"
      visibility_timeout_seconds = var.sqs_workflow_events_visibility_timeout_seconds
      consumer_timeout_seconds   = var.lambda_workflow_controller_timeout_seconds
    }
    compliance_reports = {
      name                       = "${local.name_prefix}-${var.sqs_queue_names.compliance_reports}"
      consumer                   = "report_generator"
      visibility_timeout_seconds = var.sqs_compliance_reports_visibility_timeout_seconds
      consumer_timeout_seconds   = var.lambda_report_generator_timeout_seconds
    }
  }

  # Failure destinations that are not a work queue's DLQ.
  failure_queues = {
    router_stream_failures = "${local.name_prefix}-router-stream-failures"
    lambda_async_failures  = "${local.name_prefix}-lambda-async-failures"
    event_target_failures  = "${local.name_prefix}-event-target-failures"
  }

  # SNS -> SQS fan-out. Filters run on message attributes set by the publishers.
  sns_subscriptions = {
    assigned_to_vendor = {
      topic  = "request_assigned"
      queue  = "vendor_notifications"
      filter = { event_type = ["request_assigned", "vendor_checkin"] }
    }
    assigned_to_tenant = {
      topic  = "request_assigned"
      queue  = "tenant_notifications"
      filter = { event_type = ["request_assigned"] }
    }
    status_to_workflow = {
      topic  = "status_updates"
      queue  = "workflow_events"
      filter = { status = ["in_progress", "completed"] }
    }
    status_to_tenant = {
      topic  = "status_updates"
      queue  = "tenant_notifications"
      filter = { status = ["in_progress", "completed"] }
    }
    survey_to_tenant = {
      topic  = "survey"
      queue  = "tenant_notifications"
      filter = { event_type = ["survey"] }
    }
    violations_to_reports = {
      topic  = "compliance_alerts"
      queue  = "compliance_reports"
      filter = { event_type = ["sla_violation"] }
    }
  }

  # Lambda functions. Capacities are plain var references (read by loadgen).
  lambda_functions = {
    request_validator = {
      description          = "POST /request: validates a maintenance request and stores it with status new."
      memory_size          = var.lambda_request_validator_memory_size
      timeout              = var.lambda_request_validator_timeout_seconds
      reserved_concurrency = var.lambda_request_validator_reserved_concurrency
    }
    request_router = {
      description          = "Stream consumer: vendor assignment via Redis GEOSEARCH + loadgen.matching; emergencies go to EventBridge."
      memory_size          = var.lambda_request_router_memory_size
      timeout              = var.lambda_request_router_timeout_seconds
      reserved_concurrency = var.lambda_request_router_reserved_concurrency
    }
    vendor_notifier = {
      description          = "SQS consumer: sends work orders and check-in pings to vendors via the SMS/email proxy."
      memory_size          = var.lambda_vendor_notifier_memory_size
      timeout              = var.lambda_vendor_notifier_timeout_seconds
      reserved_concurrency = var.lambda_vendor_notifier_reserved_concurrency
    }
    tenant_notifier = {
      description          = "SQS consumer: tenant acknowledgements, progress updates and surveys via the SMS/email proxy."
      memory_size          = var.lambda_tenant_notifier_memory_size
      timeout              = var.lambda_tenant_notifier_timeout_seconds
      reserved_concurrency = var.lambda_tenant_notifier_reserved_concurrency
    }
    vendor_status = {
      description          = "POST /vendor/status: conditional status transition, Aurora audit, status-updates publish."
      memory_size          = var.lambda_vendor_status_memory_size
      timeout              = var.lambda_vendor_status_timeout_seconds
      reserved_concurrency = var.lambda_vendor_status_reserved_concurrency
    }
    workflow_controller = {
      description          = "Status workflow: check-in schedules for in_progress, quality check for completed."
      memory_size          = var.lambda_workflow_controller_memory_size
      timeout              = var.lambda_workflow_controller_timeout_seconds
      reserved_concurrency = var.lambda_workflow_controller_reserved_concurrency
    }
    quality_check = {
      description          = "Completed jobs: quality rules, tenant survey, S3 archive."
      memory_size          = var.lambda_quality_check_memory_size
      timeout              = var.lambda_quality_check_timeout_seconds
      reserved_concurrency = var.lambda_quality_check_reserved_concurrency
    }
    compliance_daily = {
      description          = "Daily SLA compliance: overdue requests, penalties, vendor scores, violation alerts."
      memory_size          = var.lambda_compliance_daily_memory_size
      timeout              = var.lambda_compliance_daily_timeout_seconds
      reserved_concurrency = var.lambda_compliance_daily_reserved_concurrency
    }
    report_generator = {
      description          = "Compliance reports: renders PDFs via the PDF API proxy and stores them in S3."
      memory_size          = var.lambda_report_generator_memory_size
      timeout              = var.lambda_report_generator_timeout_seconds
      reserved_concurrency = var.lambda_report_generator_reserved_concurrency
    }
    escalation_primary = {
      description          = "Escalation: assigns the best emergency vendor and returns the acknowledgement deadline."
      memory_size          = var.lambda_escalation_primary_memory_size
      timeout              = var.lambda_escalation_primary_timeout_seconds
      reserved_concurrency = var.lambda_escalation_primary_reserved_concurrency
    }
    escalation_failover = {
      description          = "Escalation: reassigns to the next vendor when the primary did not acknowledge."
      memory_size          = var.lambda_escalation_failover_memory_size
      timeout              = var.lambda_escalation_failover_timeout_seconds
      reserved_concurrency = var.lambda_escalation_failover_reserved_concurrency
    }
    redis_sync = {
      description          = "Hourly: vendor locations and workload counts (Aurora vendor_assignments) into Redis."
      memory_size          = var.lambda_redis_sync_memory_size
      timeout              = var.lambda_redis_sync_timeout_seconds
      reserved_concurrency = var.lambda_redis_sync_reserved_concurrency
    }
  }

  lambda_names = { for k, v in local.lambda_functions : k => "${local.name_prefix}-${replace(k, "_", "-")}" }
  lambda_arns  = { for k, name in local.lambda_names : k => "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${name}" }

  # Functions packaged from their handler file plus maintenance_common.py; request_router
  # and the escalation pair are packaged with loadgen.matching (see the archives below).
  plain_lambdas = toset([
    "request_validator",
    "vendor_notifier",
    "tenant_notifier",
    "vendor_status",
    "workflow_controller",
    "quality_check",
    "compliance_daily",
    "report_generator",
    "redis_sync",
  ])

  lambda_packages = merge(
    { for k in local.plain_lambdas : k => data.archive_file.lambda[k] },
    {
      request_router      = data.archive_file.request_router
      escalation_primary  = data.archive_file.escalation
      escalation_failover = data.archive_file.escalation
    },
  )

  # Root URL of the stage, built from the API id so Lambda environments do not
  # depend on the deployment (which depends on the Lambdas).
  api_base_url       = "https://${aws_api_gateway_rest_api.main.id}.execute-api.${local.region}.amazonaws.com/${var.api_stage_name}"
  api_execute_prefix = "${aws_api_gateway_rest_api.main.execution_arn}/${var.api_stage_name}"

  event_source            = "${var.project_name}.maintenance"
  checkin_group_name      = "${local.name_prefix}-checkins"
  archive_bucket          = "${local.name_prefix}-${var.archive_bucket_name}-${local.account_id}"
  compliance_bucket       = "${local.name_prefix}-${var.compliance_reports_bucket_name}-${local.account_id}"
  access_logs_bucket      = "${local.name_prefix}-s3-access-logs-${local.account_id}"
  redis_replication_group = "${local.name_prefix}-redis"
  # Every node of the replication group (<group>-001 ... -00N): alarms watch all of them, so they survive failover.
  redis_node_ids = [for i in range(var.redis_num_cache_clusters) : format("%s-%03d", local.redis_replication_group, i + 1)]

  data_buckets = {
    archive            = local.archive_bucket
    compliance_reports = local.compliance_bucket
  }

  # Archived requests tier to STANDARD_IA then GLACIER_IR and expire; compliance
  # reports go to GLACIER_IR and expire when their object-lock retention ends.
  data_bucket_lifecycle = {
    archive = {
      prefix          = "${var.archive_partition_prefix}/"
      ia_days         = var.archive_transition_ia_days
      glacier_days    = var.archive_transition_glacier_days
      expiration_days = var.archive_expiration_days
    }
    compliance_reports = {
      prefix          = "reports/"
      ia_days         = null
      glacier_days    = var.reports_transition_glacier_days
      expiration_days = var.reports_retention_days
    }
  }
}

###############################################################################
# KMS — one customer managed key for all maintenance data
###############################################################################

resource "aws_kms_key" "main" {
  description             = "${local.name_prefix} maintenance data (DynamoDB, SNS, SQS, S3, logs, Aurora, Redis, secrets)"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryption"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
          }
        }
      },
      {
        # Step Functions logging from a state machine encrypted with this key goes through CloudWatch Logs
        # vended delivery, which decrypts the state machine's data key (Step Functions encryption-at-rest docs).
        Sid       = "StepFunctionsVendedLogDelivery"
        Effect    = "Allow"
        Principal = { Service = "delivery.logs.amazonaws.com" }
        Action    = "kms:Decrypt"
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
      {
        Sid    = "ServicePublishersToEncryptedTopicsAndQueues"
        Effect = "Allow"
        Principal = {
          Service = ["sns.amazonaws.com", "events.amazonaws.com", "cloudwatch.amazonaws.com", "scheduler.amazonaws.com"]
        }
        Action   = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name_prefix}-data"
  target_key_id = aws_kms_key.main.key_id
}

###############################################################################
# VPC — public/private subnets over every AZ, one NAT gateway per AZ
###############################################################################

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = "${local.name_prefix}-vpc" }
}

resource "aws_default_security_group" "main" {
  vpc_id = aws_vpc.main.id

  tags = { Name = "${local.name_prefix}-default-deny" }
}

resource "aws_subnet" "public" {
  for_each = local.az_index

  vpc_id                  = aws_vpc.main.id
  availability_zone       = each.key
  cidr_block              = var.public_subnet_cidrs[each.value]
  map_public_ip_on_launch = false

  tags = { Name = "${local.name_prefix}-public-${each.key}", Tier = "public" }
}

resource "aws_subnet" "private" {
  for_each = local.az_index

  vpc_id            = aws_vpc.main.id
  availability_zone = each.key
  cidr_block        = var.private_subnet_cidrs[each.value]

  tags = { Name = "${local.name_prefix}-private-${each.key}", Tier = "private" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id

  tags = { Name = "${local.name_prefix}-igw" }
}

resource "aws_eip" "nat" {
  for_each = local.az_index

  domain = "vpc"

  tags = { Name = "${local.name_prefix}-nat-${each.key}" }
}

resource "aws_nat_gateway" "main" {
  for_each = local.az_index

  allocation_id = aws_eip.nat[each.key].id
  subnet_id     = aws_subnet.public[each.key].id

  tags = { Name = "${local.name_prefix}-nat-${each.key}" }

  depends_on = [aws_internet_gateway.main]
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id

  tags = { Name = "${local.name_prefix}-public" }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.main.id
}

resource "aws_route_table_association" "public" {
  for_each = local.az_index

  subnet_id      = aws_subnet.public[each.key].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  for_each = local.az_index

  vpc_id = aws_vpc.main.id

  tags = { Name = "${local.name_prefix}-private-${each.key}" }
}

resource "aws_route" "private_nat" {
  for_each = local.az_index

  route_table_id         = aws_route_table.private[each.key].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.main[each.key].id
}

resource "aws_route_table_association" "private" {
  for_each = local.az_index

  subnet_id      = aws_subnet.private[each.key].id
  route_table_id = aws_route_table.private[each.key].id
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = "/aws/vpc/${local.name_prefix}/flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_iam_role" "flow_logs" {
  name = "${local.name_prefix}-vpc-flow-logs"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "vpc-flow-logs.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "flow_logs" {
  name = "write-flow-logs"
  role = aws_iam_role.flow_logs.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
      Resource = ["${aws_cloudwatch_log_group.flow_logs.arn}:*"]
    }]
  })
}

resource "aws_flow_log" "main" {
  vpc_id          = aws_vpc.main.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn    = aws_iam_role.flow_logs.arn
}

###############################################################################
# Security groups (rules as separate resources; no default egress)
###############################################################################

resource "aws_security_group" "lambda" {
  name        = "${local.name_prefix}-lambda"
  description = "Lambda functions: HTTPS out, Redis and RDS proxy inside the VPC"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name_prefix}-lambda" }
}

resource "aws_security_group" "redis" {
  name        = "${local.name_prefix}-redis"
  description = "ElastiCache Redis: TLS 6379 from Lambda only"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name_prefix}-redis" }
}

resource "aws_security_group" "rds_proxy" {
  #checkov:skip=CKV2_AWS_5:Attached to aws_db_proxy.aurora (vpc_security_group_ids); the check does not know aws_db_proxy.
  name        = "${local.name_prefix}-rds-proxy"
  description = "RDS proxy: 5432 from Lambda, 5432 to Aurora"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name_prefix}-rds-proxy" }
}

resource "aws_security_group" "aurora" {
  name        = "${local.name_prefix}-aurora"
  description = "Aurora PostgreSQL: 5432 from the RDS proxy only"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name_prefix}-aurora" }
}

resource "aws_security_group" "endpoints" {
  name        = "${local.name_prefix}-vpc-endpoints"
  description = "Interface VPC endpoints: HTTPS from inside the VPC"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name_prefix}-vpc-endpoints" }
}

resource "aws_vpc_security_group_egress_rule" "lambda_https" {
  security_group_id = aws_security_group.lambda.id
  description       = "HTTPS to AWS APIs (endpoints/NAT) and the API Gateway proxies"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "lambda_redis" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "Redis TLS"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.redis.id
}

resource "aws_vpc_security_group_egress_rule" "lambda_rds_proxy" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "PostgreSQL through the RDS proxy"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.rds_proxy.id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_lambda" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis TLS from Lambda"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_vpc_security_group_ingress_rule" "rds_proxy_from_lambda" {
  security_group_id            = aws_security_group.rds_proxy.id
  description                  = "PostgreSQL from Lambda"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_vpc_security_group_egress_rule" "rds_proxy_to_aurora" {
  security_group_id            = aws_security_group.rds_proxy.id
  description                  = "PostgreSQL to Aurora"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.aurora.id
}

resource "aws_vpc_security_group_egress_rule" "rds_proxy_https" {
  security_group_id = aws_security_group.rds_proxy.id
  description       = "HTTPS to Secrets Manager for the proxy credentials"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr
}

resource "aws_vpc_security_group_ingress_rule" "aurora_from_proxy" {
  security_group_id            = aws_security_group.aurora.id
  description                  = "PostgreSQL from the RDS proxy"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.rds_proxy.id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  security_group_id = aws_security_group.endpoints.id
  description       = "HTTPS from the VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr
}

###############################################################################
# VPC endpoints — gateway (DynamoDB, S3) and interface (SNS, SQS, Step
# Functions, Secrets Manager, EventBridge, Lambda)
###############################################################################

resource "aws_vpc_endpoint" "gateway" {
  for_each = toset(["dynamodb", "s3"])

  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [for rt in aws_route_table.private : rt.id]

  tags = { Name = "${local.name_prefix}-${each.key}" }
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.interface_endpoint_services

  vpc_id              = aws_vpc.main.id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = [for s in aws_subnet.private : s.id]
  security_group_ids  = [aws_security_group.endpoints.id]

  tags = { Name = "${local.name_prefix}-${each.key}" }
}

###############################################################################
# DynamoDB
###############################################################################

# maintenance_requests: one item per request. Writers use optimistic locking on
# the numeric `version` attribute: every update is conditioned on the status it
# expects AND the version it read, and increments version. Two routers (or a
# router and the escalation) racing for the same request therefore cannot both
# assign it; the loser's ConditionalCheckFailedRequests is what the
# assignment_conditional_check_failed alarm watches.
resource "aws_dynamodb_table" "maintenance_requests" {
  #checkov:skip=CKV2_AWS_16:Provisioned RCU/WCU are the per-env capacity contract the load simulator measures against (tfvars); autoscaling would make capacity a moving target. Headroom is sized in the tfvars.
  name                        = local.table_names.maintenance_requests
  billing_mode                = var.ddb_billing_mode
  read_capacity               = var.ddb_billing_mode == "PROVISIONED" ? var.ddb_maintenance_requests_read_capacity : null
  write_capacity              = var.ddb_billing_mode == "PROVISIONED" ? var.ddb_maintenance_requests_write_capacity : null
  hash_key                    = "request_id"
  stream_enabled              = true
  stream_view_type            = "NEW_AND_OLD_IMAGES"
  deletion_protection_enabled = var.ddb_deletion_protection

  attribute {
    name = "request_id"
    type = "S"
  }

  attribute {
    name = "property_id"
    type = "S"
  }

  attribute {
    name = "status"
    type = "S"
  }

  attribute {
    name = "vendor_id"
    type = "S"
  }

  attribute {
    name = "created_at"
    type = "S"
  }

  attribute {
    name = "response_due_at"
    type = "S"
  }

  # Requests of a property by status (property manager views).
  global_secondary_index {
    name            = "property_status_index"
    hash_key        = "property_id"
    range_key       = "status"
    projection_type = "ALL"
    read_capacity   = var.ddb_billing_mode == "PROVISIONED" ? var.ddb_maintenance_requests_gsi_read_capacity : null
    write_capacity  = var.ddb_billing_mode == "PROVISIONED" ? var.ddb_maintenance_requests_gsi_write_capacity : null
  }

  # A vendor's jobs by creation time (sparse: only assigned requests carry vendor_id).
  global_secondary_index {
    name               = "vendor_index"
    hash_key           = "vendor_id"
    range_key          = "created_at"
    projection_type    = "INCLUDE"
    non_key_attributes = ["status", "priority", "property_id", "response_due_at"]
    read_capacity      = var.ddb_billing_mode == "PROVISIONED" ? var.ddb_maintenance_requests_gsi_read_capacity : null
    write_capacity     = var.ddb_billing_mode == "PROVISIONED" ? var.ddb_maintenance_requests_gsi_write_capacity : null
  }

  # SLA sweep: assigned requests ordered by response deadline (sparse:
  # response_due_at is written on assignment only).
  global_secondary_index {
    name               = "status_due_index"
    hash_key           = "status"
    range_key          = "response_due_at"
    projection_type    = "INCLUDE"
    non_key_attributes = ["vendor_id", "priority", "property_id", "assigned_at"]
    read_capacity      = var.ddb_billing_mode == "PROVISIONED" ? var.ddb_maintenance_requests_gsi_read_capacity : null
    write_capacity     = var.ddb_billing_mode == "PROVISIONED" ? var.ddb_maintenance_requests_gsi_write_capacity : null
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = { Name = local.table_names.maintenance_requests }
}

resource "aws_dynamodb_table" "reference" {
  #checkov:skip=CKV2_AWS_16:Provisioned RCU/WCU are the per-env capacity contract the load simulator measures against (tfvars); autoscaling would make capacity a moving target.
  for_each = local.reference_tables

  name                        = local.table_names[each.key]
  billing_mode                = var.ddb_billing_mode
  read_capacity               = var.ddb_billing_mode == "PROVISIONED" ? each.value.read_capacity : null
  write_capacity              = var.ddb_billing_mode == "PROVISIONED" ? each.value.write_capacity : null
  hash_key                    = each.value.hash_key
  range_key                   = each.value.range_key
  deletion_protection_enabled = var.ddb_deletion_protection

  attribute {
    name = each.value.hash_key
    type = "S"
  }

  dynamic "attribute" {
    for_each = each.value.range_key == null ? [] : [each.value.range_key]
    content {
      name = attribute.value
      type = "S"
    }
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = { Name = local.table_names[each.key] }
}

resource "aws_dynamodb_table_item" "priority_matrix" {
  for_each = local.priority_rules

  table_name = aws_dynamodb_table.reference["priority_matrix"].name
  hash_key   = aws_dynamodb_table.reference["priority_matrix"].hash_key

  item = jsonencode({
    priority             = { S = each.key }
    max_distance_km      = { N = each.value.max_distance_km }
    distance_weight      = { N = each.value.distance_weight }
    workload_weight      = { N = each.value.workload_weight }
    rating_weight        = { N = each.value.rating_weight }
    response_sla_minutes = { N = each.value.response_sla_minutes }
    resolution_sla_hours = { N = each.value.resolution_sla_hours }
  })
}

resource "aws_dynamodb_table_item" "penalty_rates" {
  for_each = local.penalty_rates

  table_name = aws_dynamodb_table.reference["penalty_rates"].name
  hash_key   = aws_dynamodb_table.reference["penalty_rates"].hash_key
  range_key  = aws_dynamodb_table.reference["penalty_rates"].range_key

  item = jsonencode({
    priority        = { S = each.value.priority }
    violation_type  = { S = each.value.violation_type }
    points_per_hour = { N = each.value.points_per_hour }
    max_points      = { N = each.value.max_points }
  })
}

resource "aws_dynamodb_table_item" "quality_rules" {
  for_each = local.quality_rules

  table_name = aws_dynamodb_table.reference["quality_rules"].name
  hash_key   = aws_dynamodb_table.reference["quality_rules"].hash_key

  item = jsonencode({
    category         = { S = each.key }
    min_work_minutes = { N = each.value.min_work_minutes }
    requires_notes   = { BOOL = each.value.requires_notes }
  })
}

###############################################################################
# Secrets — Redis AUTH token (generated by Secrets Manager, never in code)
###############################################################################

data "aws_secretsmanager_random_password" "redis_auth" {
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "redis_auth" {
  #checkov:skip=CKV2_AWS_57:ElastiCache AUTH rotation needs the ROTATE/SET token strategy run against the replication group; rotated by an ops runbook, not a Lambda rotator.
  name                    = "${local.name_prefix}/redis/auth-token"
  description             = "AUTH token of the ${local.redis_replication_group} replication group"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "redis_auth" {
  secret_id     = aws_secretsmanager_secret.redis_auth.id
  secret_string = data.aws_secretsmanager_random_password.redis_auth.random_password

  # The data source yields a new value on every plan; the first one is kept.
  lifecycle {
    ignore_changes = [secret_string]
  }
}

###############################################################################
# ElastiCache Redis — geospatial vendor index (GEOADD / GEOSEARCH)
###############################################################################

resource "aws_elasticache_subnet_group" "redis" {
  name       = "${local.name_prefix}-redis"
  subnet_ids = [for s in aws_subnet.private : s.id]
}

resource "aws_cloudwatch_log_group" "redis_slow_log" {
  name              = "/aws/elasticache/${local.redis_replication_group}/slow-log"
  retention_in_days = var.redis_log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id       = local.redis_replication_group
  description                = "Vendor geo index and workload counters for ${local.name_prefix}"
  engine                     = "redis"
  engine_version             = var.redis_engine_version
  node_type                  = var.redis_node_type
  num_cache_clusters         = var.redis_num_cache_clusters
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.redis.name
  security_group_ids         = [aws_security_group.redis.id]
  automatic_failover_enabled = var.redis_multi_az_enabled
  multi_az_enabled           = var.redis_multi_az_enabled
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  transit_encryption_enabled = true
  auth_token                 = aws_secretsmanager_secret_version.redis_auth.secret_string
  auth_token_update_strategy = "ROTATE"
  snapshot_retention_limit   = var.redis_snapshot_retention_days
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:06:30-sun:07:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.redis_slow_log.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }
}

###############################################################################
# Aurora PostgreSQL serverless v2 — maintenance_audit, vendor_assignments
###############################################################################

resource "aws_db_subnet_group" "aurora" {
  name       = "${local.name_prefix}-aurora"
  subnet_ids = [for s in aws_subnet.private : s.id]
}

resource "aws_cloudwatch_log_group" "aurora" {
  name              = "/aws/rds/cluster/${local.name_prefix}-${var.aurora_cluster_identifier}/postgresql"
  retention_in_days = var.aurora_log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_iam_role" "rds_monitoring" {
  name = "${local.name_prefix}-rds-monitoring"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_rds_cluster_parameter_group" "aurora" {
  name        = "${local.name_prefix}-${var.aurora_cluster_identifier}"
  family      = "aurora-postgresql${split(".", var.aurora_engine_version)[0]}"
  description = "TLS-only connections, DDL and slow-query logging"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
}

resource "aws_rds_cluster" "aurora" {
  #checkov:skip=CKV2_AWS_8:Backups are Aurora automated backups (aurora_backup_retention_days) with copy_tags_to_snapshot and a final snapshot; AWS Backup plans are managed centrally, outside this stack.
  cluster_identifier                  = "${local.name_prefix}-${var.aurora_cluster_identifier}"
  engine                              = "aurora-postgresql"
  engine_mode                         = "provisioned"
  engine_version                      = var.aurora_engine_version
  database_name                       = var.aurora_database_name
  master_username                     = var.aurora_master_username
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.main.key_id
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.main.arn
  db_subnet_group_name                = aws_db_subnet_group.aurora.name
  vpc_security_group_ids              = [aws_security_group.aurora.id]
  backup_retention_period             = var.aurora_backup_retention_days
  preferred_backup_window             = var.aurora_preferred_backup_window
  preferred_maintenance_window        = var.aurora_preferred_maintenance_window
  deletion_protection                 = var.aurora_deletion_protection
  copy_tags_to_snapshot               = true
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${local.name_prefix}-${var.aurora_cluster_identifier}-final"
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.aurora.name

  serverlessv2_scaling_configuration {
    min_capacity = var.aurora_min_capacity
    max_capacity = var.aurora_max_capacity
  }

  depends_on = [aws_cloudwatch_log_group.aurora]
}

resource "aws_rds_cluster_instance" "aurora" {
  for_each = toset(["writer", "reader"])

  identifier                            = "${local.name_prefix}-${var.aurora_cluster_identifier}-${each.key}"
  cluster_identifier                    = aws_rds_cluster.aurora.id
  engine                                = aws_rds_cluster.aurora.engine
  engine_version                        = aws_rds_cluster.aurora.engine_version
  instance_class                        = var.aurora_instance_class
  db_subnet_group_name                  = aws_db_subnet_group.aurora.name
  publicly_accessible                   = false
  auto_minor_version_upgrade            = true
  promotion_tier                        = each.key == "writer" ? 0 : 1
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.main.arn
  performance_insights_retention_period = 7
}

# RDS proxy: connection pooling for the Lambdas (they fetch the managed master
# secret from Secrets Manager and connect to the proxy with TLS).
resource "aws_iam_role" "rds_proxy" {
  name = "${local.name_prefix}-rds-proxy"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "rds_proxy" {
  name = "read-aurora-secret"
  role = aws_iam_role.rds_proxy.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadMasterSecret"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
        Resource = [aws_rds_cluster.aurora.master_user_secret[0].secret_arn]
      },
      {
        Sid      = "DecryptMasterSecret"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [aws_kms_key.main.arn]
        Condition = {
          StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" }
        }
      },
    ]
  })
}

resource "aws_db_proxy" "aurora" {
  name                   = "${local.name_prefix}-aurora-proxy"
  engine_family          = "POSTGRESQL"
  role_arn               = aws_iam_role.rds_proxy.arn
  vpc_subnet_ids         = [for s in aws_subnet.private : s.id]
  vpc_security_group_ids = [aws_security_group.rds_proxy.id]
  require_tls            = true
  idle_client_timeout    = var.rds_proxy_idle_client_timeout_seconds
  debug_logging          = false

  auth {
    auth_scheme = "SECRETS"
    description = "Aurora master user (Secrets Manager managed)"
    iam_auth    = "DISABLED"
    secret_arn  = aws_rds_cluster.aurora.master_user_secret[0].secret_arn
  }
}

resource "aws_db_proxy_default_target_group" "aurora" {
  db_proxy_name = aws_db_proxy.aurora.name

  connection_pool_config {
    max_connections_percent      = var.rds_proxy_max_connections_percent
    max_idle_connections_percent = 50
    connection_borrow_timeout    = 30
  }
}

resource "aws_db_proxy_target" "aurora" {
  db_proxy_name         = aws_db_proxy.aurora.name
  target_group_name     = aws_db_proxy_default_target_group.aurora.name
  db_cluster_identifier = aws_rds_cluster.aurora.cluster_identifier
}

###############################################################################
# S3 — request archive, compliance reports, server access logs
###############################################################################

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_145:S3 server access log delivery only supports SSE-S3 on the target bucket.
  #checkov:skip=CKV_AWS_18:This is the access log target itself; logging it would recurse.
  #checkov:skip=CKV_AWS_144:Access logs are operational data kept in-region for a short retention.
  #checkov:skip=CKV2_AWS_62:No consumer reacts to new access log objects.
  bucket = local.access_logs_bucket
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
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
      noncurrent_days = var.noncurrent_version_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "S3ServerAccessLogDelivery"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.access_logs.arn}/*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = [for b in aws_s3_bucket.data : b.arn] }
        }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV2_AWS_62:The spec asks for no event notifications; writers publish their own events.
  #checkov:skip=CKV_AWS_144:Single-region stack; the archive is a copy of DynamoDB data and reports can be regenerated from Aurora.
  for_each = local.data_buckets

  bucket = each.value

  # Compliance reports are write-once evidence: object lock (governance mode,
  # see aws_s3_bucket_object_lock_configuration.compliance_reports).
  object_lock_enabled = each.key == "compliance_reports"
}

resource "aws_s3_bucket_ownership_controls" "data" {
  for_each = local.data_buckets

  bucket = aws_s3_bucket.data[each.key].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  for_each = local.data_buckets

  bucket                  = aws_s3_bucket.data[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "data" {
  for_each = local.data_buckets

  bucket = aws_s3_bucket.data[each.key].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  for_each = local.data_buckets

  bucket = aws_s3_bucket.data[each.key].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "data" {
  for_each = local.data_buckets

  bucket        = aws_s3_bucket.data[each.key].id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "${each.key}/"
}

resource "aws_s3_bucket_policy" "data" {
  for_each = local.data_buckets

  bucket = aws_s3_bucket.data[each.key].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.data[each.key].arn, "${aws_s3_bucket.data[each.key].arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyObjectsNotEncryptedWithKms"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.data[each.key].arn}/*"
        Condition = {
          StringNotEqualsIfExists = { "s3:x-amz-server-side-encryption" = "aws:kms" }
        }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.data]
}

# Archive keys: <prefix>/dt=YYYY-MM-DD/property_id=<id>/<request_id>.json;
# reports: reports/dt=YYYY-MM-DD/vendor_id=<id>/<report>.pdf.
resource "aws_s3_bucket_lifecycle_configuration" "data" {
  for_each = local.data_bucket_lifecycle

  bucket = aws_s3_bucket.data[each.key].id

  rule {
    id     = "tier-and-expire-${replace(each.key, "_", "-")}"
    status = "Enabled"

    filter {
      prefix = each.value.prefix
    }

    dynamic "transition" {
      for_each = each.value.ia_days == null ? [] : [each.value.ia_days]
      content {
        days          = transition.value
        storage_class = "STANDARD_IA"
      }
    }

    transition {
      days          = each.value.glacier_days
      storage_class = "GLACIER_IR"
    }

    expiration {
      days = each.value.expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.data]
}

resource "aws_s3_bucket_object_lock_configuration" "compliance_reports" {
  bucket = aws_s3_bucket.data["compliance_reports"].id

  rule {
    default_retention {
      mode = "GOVERNANCE"
      days = var.reports_retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.data]
}

###############################################################################
# SNS topics (KMS) and SQS queues (KMS, DLQs)
###############################################################################

resource "aws_sns_topic" "this" {
  for_each = local.topics

  name              = each.value
  kms_master_key_id = aws_kms_key.main.arn

  tags = { Name = each.value }
}

resource "aws_sqs_queue" "dlq" {
  for_each = local.queues

  name                              = "${each.value.name}-dlq"
  message_retention_seconds         = var.sqs_dlq_message_retention_seconds
  kms_master_key_id                 = aws_kms_key.main.arn
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_sqs_queue" "main" {
  for_each = local.queues

  name                              = each.value.name
  visibility_timeout_seconds        = each.value.visibility_timeout_seconds
  message_retention_seconds         = var.sqs_message_retention_seconds
  receive_wait_time_seconds         = 20
  kms_master_key_id                 = aws_kms_key.main.arn
  kms_data_key_reuse_period_seconds = 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = var.sqs_max_receive_count
  })

  lifecycle {
    precondition {
      condition     = each.value.visibility_timeout_seconds >= 6 * each.value.consumer_timeout_seconds
      error_message = "SQS visibility timeout must be at least 6 x the consumer Lambda timeout."
    }
  }
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  for_each = local.queues

  queue_url = aws_sqs_queue.dlq[each.key].id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.main[each.key].arn]
  })
}

resource "aws_sqs_queue" "failure" {
  for_each = local.failure_queues

  name                              = each.value
  message_retention_seconds         = var.sqs_dlq_message_retention_seconds
  kms_master_key_id                 = aws_kms_key.main.arn
  kms_data_key_reuse_period_seconds = 300
}

# Work queues and their DLQs accept messages only from the topics subscribed
# to them (the DLQ receives SNS deliveries that exhaust the subscription's
# redrive policy), over TLS.
resource "aws_sqs_queue_policy" "main" {
  for_each = local.queues

  queue_url = aws_sqs_queue.main[each.key].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowSubscribedTopics"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.main[each.key].arn
        Condition = {
          ArnEquals = {
            "aws:SourceArn" = distinct([for s in local.sns_subscriptions : aws_sns_topic.this[s.topic].arn if s.queue == each.key])
          }
        }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = aws_sqs_queue.main[each.key].arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_sqs_queue_policy" "dlq" {
  for_each = local.queues

  queue_url = aws_sqs_queue.dlq[each.key].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowSubscriptionRedrive"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.dlq[each.key].arn
        Condition = {
          ArnEquals = {
            "aws:SourceArn" = distinct([for s in local.sns_subscriptions : aws_sns_topic.this[s.topic].arn if s.queue == each.key])
          }
        }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = aws_sqs_queue.dlq[each.key].arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_sqs_queue_policy" "event_target_failures" {
  queue_url = aws_sqs_queue.failure["event_target_failures"].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowEventBridgeTargetDlq"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.failure["event_target_failures"].arn
        Condition = {
          ArnEquals = {
            "aws:SourceArn" = [
              aws_cloudwatch_event_rule.compliance_daily.arn,
              aws_cloudwatch_event_rule.redis_sync.arn,
              aws_cloudwatch_event_rule.emergency_escalation.arn,
            ]
          }
        }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = aws_sqs_queue.failure["event_target_failures"].arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_sns_topic_subscription" "queues" {
  for_each = local.sns_subscriptions

  topic_arn            = aws_sns_topic.this[each.value.topic].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.main[each.value.queue].arn
  raw_message_delivery = true
  filter_policy_scope  = "MessageAttributes"
  filter_policy        = jsonencode(each.value.filter)

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.value.queue].arn
  })

  depends_on = [aws_sqs_queue_policy.main, aws_sqs_queue_policy.dlq]
}

###############################################################################
# Dependency layer — the third-party libraries the handlers import (redis, pg8000)
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
    architecture = var.lambda_architecture
    runtime      = var.lambda_runtime
    output_dir   = "${path.module}/.build"
  }
}

resource "aws_lambda_layer_version" "dependencies" {
  layer_name               = "${local.name_prefix}-dependencies"
  description              = "layer/requirements.txt sha256 ${substr(data.external.dependency_layer.result.requirements_sha256, 0, 16)}"
  filename                 = data.external.dependency_layer.result.output_path
  source_code_hash         = data.external.dependency_layer.result.output_base64sha256
  compatible_runtimes      = [var.lambda_runtime]
  compatible_architectures = [var.lambda_architecture]
}

###############################################################################
# Lambda packaging
###############################################################################

data "archive_file" "lambda" {
  for_each = local.plain_lambdas

  type        = "zip"
  output_path = "${path.module}/.build/${each.key}.zip"

  source {
    content  = file("${path.module}/lambda/${each.key}.py")
    filename = "${each.key}.py"
  }

  source {
    content  = file("${path.module}/lambda/maintenance_common.py")
    filename = "maintenance_common.py"
  }

  # The Aurora tables maintenance_common.aurora_schema reads (every archive with the module carries it).
  source {
    content  = file("${path.module}/lambda/schema.sql")
    filename = "schema.sql"
  }
}

# The request router runs the shared matching core: the archive carries
# loadgen/matching so `from loadgen.matching.vendor_assignment import ...`
# resolves the same way in Lambda and in-process.
data "archive_file" "request_router" {
  type        = "zip"
  output_path = "${path.module}/.build/request_router.zip"

  source {
    content  = file("${path.module}/lambda/request_router.py")
    filename = "request_router.py"
  }

  source {
    content  = file("${path.module}/lambda/vendor_pool.py")
    filename = "vendor_pool.py"
  }

  source {
    content  = file("${path.module}/lambda/maintenance_common.py")
    filename = "maintenance_common.py"
  }

  source {
    content  = file("${path.module}/lambda/schema.sql")
    filename = "schema.sql"
  }

  source {
    content  = "\"\"\"loadgen: only the matching cores are bundled into this Lambda archive.\"\"\"\n"
    filename = "loadgen/__init__.py"
  }

  source {
    content  = file("${path.module}/../../loadgen/matching/__init__.py")
    filename = "loadgen/matching/__init__.py"
  }

  source {
    content  = file("${path.module}/../../loadgen/matching/vendor_assignment.py")
    filename = "loadgen/matching/vendor_assignment.py"
  }
}

# Both escalation functions share one archive (different handlers): they use
# the same matching core with the emergency rule.
data "archive_file" "escalation" {
  type        = "zip"
  output_path = "${path.module}/.build/escalation.zip"

  source {
    content  = file("${path.module}/lambda/escalation_primary.py")
    filename = "escalation_primary.py"
  }

  source {
    content  = file("${path.module}/lambda/escalation_failover.py")
    filename = "escalation_failover.py"
  }

  source {
    content  = file("${path.module}/lambda/vendor_pool.py")
    filename = "vendor_pool.py"
  }

  source {
    content  = file("${path.module}/lambda/maintenance_common.py")
    filename = "maintenance_common.py"
  }

  source {
    content  = file("${path.module}/lambda/schema.sql")
    filename = "schema.sql"
  }

  source {
    content  = "\"\"\"loadgen: only the matching cores are bundled into this Lambda archive.\"\"\"\n"
    filename = "loadgen/__init__.py"
  }

  source {
    content  = file("${path.module}/../../loadgen/matching/__init__.py")
    filename = "loadgen/matching/__init__.py"
  }

  source {
    content  = file("${path.module}/../../loadgen/matching/vendor_assignment.py")
    filename = "loadgen/matching/vendor_assignment.py"
  }
}

###############################################################################
# Lambda IAM — one role per function, policies scoped to concrete ARNs
###############################################################################

locals {
  requests_table_arn = aws_dynamodb_table.maintenance_requests.arn
  vendor_avail_arn   = aws_dynamodb_table.reference["vendor_availability"].arn
  priority_arn       = aws_dynamodb_table.reference["priority_matrix"].arn
  quality_rules_arn  = aws_dynamodb_table.reference["quality_rules"].arn
  penalty_rates_arn  = aws_dynamodb_table.reference["penalty_rates"].arn
  vendor_scores_arn  = aws_dynamodb_table.reference["vendor_scores"].arn
  aurora_secret_arn  = aws_rds_cluster.aurora.master_user_secret[0].secret_arn
  checkin_schedules  = "arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule/${local.checkin_group_name}/*"

  lambda_statements = {
    request_validator = [
      { sid = "WriteNewRequests", actions = ["dynamodb:PutItem", "dynamodb:GetItem"], resources = [local.requests_table_arn] },
    ]
    request_router = [
      { sid = "ReadStream", actions = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"], resources = [aws_dynamodb_table.maintenance_requests.stream_arn, "${local.requests_table_arn}/stream/*"] },
      { sid = "AssignRequests", actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [local.requests_table_arn] },
      { sid = "VendorWorkload", actions = ["dynamodb:BatchGetItem", "dynamodb:UpdateItem"], resources = [local.vendor_avail_arn] },
      { sid = "PriorityRules", actions = ["dynamodb:GetItem"], resources = [local.priority_arn] },
      { sid = "RedisAuthToken", actions = ["secretsmanager:GetSecretValue"], resources = [aws_secretsmanager_secret.redis_auth.arn] },
      { sid = "PublishAssignments", actions = ["sns:Publish"], resources = [aws_sns_topic.this["request_assigned"].arn] },
      { sid = "EmergencyEvents", actions = ["events:PutEvents"], resources = [aws_cloudwatch_event_bus.maintenance.arn] },
      { sid = "StreamFailureDestination", actions = ["sqs:SendMessage"], resources = [aws_sqs_queue.failure["router_stream_failures"].arn] },
    ]
    vendor_notifier = [
      { sid = "ConsumeQueue", actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"], resources = [aws_sqs_queue.main["vendor_notifications"].arn] },
      { sid = "ReadVendorsAndRequests", actions = ["dynamodb:GetItem"], resources = [local.vendor_avail_arn, local.requests_table_arn] },
      { sid = "NotifyProxy", actions = ["execute-api:Invoke"], resources = ["${local.api_execute_prefix}/POST/external/notify/*"] },
    ]
    tenant_notifier = [
      { sid = "ConsumeQueue", actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"], resources = [aws_sqs_queue.main["tenant_notifications"].arn] },
      { sid = "ReadRequests", actions = ["dynamodb:GetItem"], resources = [local.requests_table_arn] },
      { sid = "NotifyProxy", actions = ["execute-api:Invoke"], resources = ["${local.api_execute_prefix}/POST/external/notify/*"] },
    ]
    vendor_status = [
      { sid = "TransitionRequests", actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [local.requests_table_arn] },
      { sid = "ReleaseVendorWorkload", actions = ["dynamodb:UpdateItem"], resources = [local.vendor_avail_arn] },
      { sid = "ResolutionSla", actions = ["dynamodb:GetItem"], resources = [local.priority_arn] },
      { sid = "AuroraCredentials", actions = ["secretsmanager:GetSecretValue"], resources = [local.aurora_secret_arn] },
      { sid = "PublishStatus", actions = ["sns:Publish"], resources = [aws_sns_topic.this["status_updates"].arn] },
    ]
    workflow_controller = [
      { sid = "ConsumeQueue", actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"], resources = [aws_sqs_queue.main["workflow_events"].arn] },
      { sid = "ReadRequests", actions = ["dynamodb:GetItem"], resources = [local.requests_table_arn] },
      { sid = "CheckinSchedules", actions = ["scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule"], resources = [local.checkin_schedules] },
      { sid = "PassSchedulerRole", actions = ["iam:PassRole"], resources = [aws_iam_role.scheduler.arn] },
      { sid = "StartQualityCheck", actions = ["lambda:InvokeFunction"], resources = [local.lambda_arns.quality_check] },
      { sid = "PublishCheckins", actions = ["sns:Publish"], resources = [aws_sns_topic.this["request_assigned"].arn] },
    ]
    quality_check = [
      { sid = "ScoreRequests", actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [local.requests_table_arn] },
      { sid = "QualityRules", actions = ["dynamodb:GetItem"], resources = [local.quality_rules_arn] },
      { sid = "PublishSurvey", actions = ["sns:Publish"], resources = [aws_sns_topic.this["survey"].arn] },
      { sid = "ArchiveRequests", actions = ["s3:PutObject", "s3:PutObjectTagging"], resources = ["${aws_s3_bucket.data["archive"].arn}/${var.archive_partition_prefix}/*"] },
    ]
    compliance_daily = [
      { sid = "AuroraCredentials", actions = ["secretsmanager:GetSecretValue"], resources = [local.aurora_secret_arn] },
      { sid = "OverdueAssignments", actions = ["dynamodb:Query"], resources = ["${local.requests_table_arn}/index/status_due_index"] },
      { sid = "RulesAndPenalties", actions = ["dynamodb:GetItem"], resources = [local.penalty_rates_arn, local.priority_arn] },
      { sid = "VendorScores", actions = ["dynamodb:UpdateItem"], resources = [local.vendor_scores_arn] },
      { sid = "PublishViolations", actions = ["sns:Publish"], resources = [aws_sns_topic.this["compliance_alerts"].arn] },
    ]
    report_generator = [
      { sid = "ConsumeQueue", actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"], resources = [aws_sqs_queue.main["compliance_reports"].arn] },
      { sid = "VendorScores", actions = ["dynamodb:GetItem"], resources = [local.vendor_scores_arn] },
      { sid = "StoreReports", actions = ["s3:PutObject", "s3:PutObjectTagging"], resources = ["${aws_s3_bucket.data["compliance_reports"].arn}/reports/*"] },
      { sid = "PdfProxy", actions = ["execute-api:Invoke"], resources = ["${local.api_execute_prefix}/POST/external/pdf/*"] },
    ]
    escalation_primary = [
      { sid = "AssignRequests", actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [local.requests_table_arn] },
      { sid = "VendorWorkload", actions = ["dynamodb:BatchGetItem", "dynamodb:UpdateItem"], resources = [local.vendor_avail_arn] },
      { sid = "PriorityRules", actions = ["dynamodb:GetItem"], resources = [local.priority_arn] },
      { sid = "RedisAuthToken", actions = ["secretsmanager:GetSecretValue"], resources = [aws_secretsmanager_secret.redis_auth.arn] },
      { sid = "PublishAssignments", actions = ["sns:Publish"], resources = [aws_sns_topic.this["request_assigned"].arn] },
    ]
    escalation_failover = [
      { sid = "AssignRequests", actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [local.requests_table_arn] },
      { sid = "VendorWorkload", actions = ["dynamodb:BatchGetItem", "dynamodb:UpdateItem"], resources = [local.vendor_avail_arn] },
      { sid = "PriorityRules", actions = ["dynamodb:GetItem"], resources = [local.priority_arn] },
      { sid = "RedisAuthToken", actions = ["secretsmanager:GetSecretValue"], resources = [aws_secretsmanager_secret.redis_auth.arn] },
      { sid = "PublishAssignments", actions = ["sns:Publish"], resources = [aws_sns_topic.this["request_assigned"].arn] },
    ]
    redis_sync = [
      { sid = "AuroraCredentials", actions = ["secretsmanager:GetSecretValue"], resources = [local.aurora_secret_arn] },
      { sid = "RedisAuthToken", actions = ["secretsmanager:GetSecretValue"], resources = [aws_secretsmanager_secret.redis_auth.arn] },
      { sid = "VendorLocations", actions = ["dynamodb:Scan"], resources = [local.vendor_avail_arn] },
    ]
  }

  db_env = {
    DB_PROXY_ENDPOINT = aws_db_proxy.aurora.endpoint
    DB_PORT           = "5432"
    DB_NAME           = var.aurora_database_name
    DB_SECRET_ARN     = local.aurora_secret_arn
  }

  redis_env = {
    REDIS_HOST             = aws_elasticache_replication_group.redis.primary_endpoint_address
    REDIS_PORT             = "6379"
    REDIS_AUTH_SECRET_ARN  = aws_secretsmanager_secret.redis_auth.arn
    REDIS_GEO_KEY          = "vendors:geo"
    REDIS_WORKLOAD_KEY     = "vendors:workload"
    GEO_CANDIDATE_LIMIT    = tostring(var.redis_geo_candidate_limit)
    VENDOR_AVAILABILITY    = local.table_names.vendor_availability
    PRIORITY_MATRIX_TABLE  = local.table_names.priority_matrix
    REQUESTS_TABLE         = local.table_names.maintenance_requests
    REQUEST_ASSIGNED_TOPIC = aws_sns_topic.this["request_assigned"].arn
  }

  lambda_env = {
    request_validator = {
      REQUESTS_TABLE   = local.table_names.maintenance_requests
      REQUEST_TTL_DAYS = tostring(var.request_ttl_days)
    }
    request_router = merge(local.redis_env, {
      EVENT_BUS_NAME        = aws_cloudwatch_event_bus.maintenance.name
      EVENT_SOURCE          = local.event_source
      EMERGENCY_DETAIL_TYPE = var.emergency_event_detail_type
      EMERGENCY_PRIORITY    = var.emergency_priority_value
    })
    vendor_notifier = {
      NOTIFY_API_URL      = "${local.api_base_url}/external/notify"
      VENDOR_AVAILABILITY = local.table_names.vendor_availability
      REQUESTS_TABLE      = local.table_names.maintenance_requests
    }
    tenant_notifier = {
      NOTIFY_API_URL = "${local.api_base_url}/external/notify"
      REQUESTS_TABLE = local.table_names.maintenance_requests
    }
    vendor_status = merge(local.db_env, {
      REQUESTS_TABLE        = local.table_names.maintenance_requests
      VENDOR_AVAILABILITY   = local.table_names.vendor_availability
      PRIORITY_MATRIX_TABLE = local.table_names.priority_matrix
      STATUS_UPDATES_TOPIC  = aws_sns_topic.this["status_updates"].arn
    })
    workflow_controller = {
      REQUESTS_TABLE         = local.table_names.maintenance_requests
      SCHEDULE_GROUP         = local.checkin_group_name
      SCHEDULER_ROLE_ARN     = aws_iam_role.scheduler.arn
      CHECKIN_EXPRESSION     = var.checkin_schedule_expression
      CHECKIN_MAX_HOURS      = tostring(var.checkin_max_hours)
      CHECKIN_TARGET_ARN     = local.lambda_arns.workflow_controller
      CHECKIN_DLQ_ARN        = aws_sqs_queue.failure["event_target_failures"].arn
      QUALITY_CHECK_FUNCTION = local.lambda_names.quality_check
      REQUEST_ASSIGNED_TOPIC = aws_sns_topic.this["request_assigned"].arn
    }
    quality_check = {
      REQUESTS_TABLE      = local.table_names.maintenance_requests
      QUALITY_RULES_TABLE = local.table_names.quality_rules
      SURVEY_TOPIC        = aws_sns_topic.this["survey"].arn
      ARCHIVE_BUCKET      = local.archive_bucket
      ARCHIVE_PREFIX      = var.archive_partition_prefix
      KMS_KEY_ARN         = aws_kms_key.main.arn
    }
    compliance_daily = merge(local.db_env, {
      REQUESTS_TABLE        = local.table_names.maintenance_requests
      PENALTY_RATES_TABLE   = local.table_names.penalty_rates
      PRIORITY_MATRIX_TABLE = local.table_names.priority_matrix
      VENDOR_SCORES_TABLE   = local.table_names.vendor_scores
      COMPLIANCE_TOPIC      = aws_sns_topic.this["compliance_alerts"].arn
    })
    report_generator = {
      PDF_API_URL         = "${local.api_base_url}/external/pdf"
      REPORTS_BUCKET      = local.compliance_bucket
      KMS_KEY_ARN         = aws_kms_key.main.arn
      VENDOR_SCORES_TABLE = local.table_names.vendor_scores
    }
    escalation_primary = merge(local.redis_env, {
      EMERGENCY_PRIORITY         = var.emergency_priority_value
      VENDOR_ACK_TIMEOUT_SECONDS = tostring(var.sfn_vendor_ack_timeout_seconds)
    })
    escalation_failover = merge(local.redis_env, {
      EMERGENCY_PRIORITY         = var.emergency_priority_value
      VENDOR_ACK_TIMEOUT_SECONDS = tostring(var.sfn_vendor_ack_timeout_seconds)
      FAILOVER_RADIUS_FACTOR     = "1.5"
    })
    redis_sync = merge(local.db_env, {
      REDIS_HOST            = aws_elasticache_replication_group.redis.primary_endpoint_address
      REDIS_PORT            = "6379"
      REDIS_AUTH_SECRET_ARN = aws_secretsmanager_secret.redis_auth.arn
      REDIS_GEO_KEY         = "vendors:geo"
      REDIS_WORKLOAD_KEY    = "vendors:workload"
      VENDOR_AVAILABILITY   = local.table_names.vendor_availability
    })
  }
}

resource "aws_iam_role" "lambda" {
  for_each = local.lambda_functions

  name = "${local.lambda_names[each.key]}-role"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.lambda_functions

  name = "least-privilege"
  role = aws_iam_role.lambda[each.key].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "OwnLogGroup"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = ["${aws_cloudwatch_log_group.lambda[each.key].arn}:*"]
        },
        {
          Sid      = "DataKey"
          Effect   = "Allow"
          Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
          Resource = [aws_kms_key.main.arn]
        },
        {
          Sid      = "AsyncFailureQueue"
          Effect   = "Allow"
          Action   = ["sqs:SendMessage"]
          Resource = [aws_sqs_queue.failure["lambda_async_failures"].arn]
        },
      ],
      [for s in local.lambda_statements[each.key] : {
        Sid      = s.sid
        Effect   = "Allow"
        Action   = s.actions
        Resource = s.resources
      }],
    )
  })
}

# ENI management for VPC functions and X-Ray segments (AWS managed policies).
resource "aws_iam_role_policy_attachment" "lambda_vpc" {
  for_each = local.lambda_functions

  role       = aws_iam_role.lambda[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role_policy_attachment" "lambda_xray" {
  for_each = local.lambda_functions

  role       = aws_iam_role.lambda[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

###############################################################################
# Lambda functions
###############################################################################

resource "aws_cloudwatch_log_group" "lambda" {
  for_each = local.lambda_functions

  name              = "/aws/lambda/${local.lambda_names[each.key]}"
  retention_in_days = var.lambda_log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile and signed S3 artifacts; packages are built from this repository by archive_file.
  for_each = local.lambda_functions

  function_name                  = local.lambda_names[each.key]
  description                    = each.value.description
  role                           = aws_iam_role.lambda[each.key].arn
  runtime                        = var.lambda_runtime
  architectures                  = [var.lambda_architecture]
  handler                        = "${each.key}.handler"
  filename                       = local.lambda_packages[each.key].output_path
  source_code_hash               = local.lambda_packages[each.key].output_base64sha256
  memory_size                    = each.value.memory_size
  timeout                        = each.value.timeout
  reserved_concurrent_executions = each.value.reserved_concurrency
  layers                         = [aws_lambda_layer_version.dependencies.arn]
  kms_key_arn                    = aws_kms_key.main.arn

  vpc_config {
    subnet_ids         = [for s in aws_subnet.private : s.id]
    security_group_ids = [aws_security_group.lambda.id]
  }

  environment {
    variables = merge({ ENV = var.env, LOG_LEVEL = "INFO" }, local.lambda_env[each.key])
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.failure["lambda_async_failures"].arn
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.lambda[each.key].name
  }

  depends_on = [
    aws_iam_role_policy.lambda,
    aws_iam_role_policy_attachment.lambda_vpc,
    aws_iam_role_policy_attachment.lambda_xray,
  ]
}

###############################################################################
# Event source mappings
###############################################################################

# One mapping with two OR-ed filters (a stream allows two readers per shard,
# so one mapping is the budget here):
#  1. INSERTs of new non-emergency requests -> vendor assignment in the router;
#  2. INSERTs of new emergency requests -> the router puts an
#     EmergencyMaintenanceRequest event on the bus and the escalation state
#     machine assigns it (primary + failover), see aws_cloudwatch_event_rule.emergency_escalation.
# MODIFY/REMOVE records (assignments, status changes, TTL deletes) never
# invoke the router, so its own writes cannot loop back into it.
resource "aws_lambda_event_source_mapping" "request_router_stream" {
  function_name                      = aws_lambda_function.this["request_router"].arn
  event_source_arn                   = aws_dynamodb_table.maintenance_requests.stream_arn
  starting_position                  = "LATEST"
  batch_size                         = var.router_stream_batch_size
  maximum_batching_window_in_seconds = var.router_stream_batching_window_seconds
  parallelization_factor             = var.router_stream_parallelization_factor
  maximum_retry_attempts             = var.router_stream_max_retry_attempts
  maximum_record_age_in_seconds      = 3600
  bisect_batch_on_function_error     = true
  function_response_types            = ["ReportBatchItemFailures"]

  filter_criteria {
    filter {
      pattern = jsonencode({
        eventName = ["INSERT"]
        dynamodb = {
          NewImage = {
            status   = { S = ["new"] }
            priority = { S = [{ "anything-but" = [var.emergency_priority_value] }] }
          }
        }
      })
    }

    filter {
      pattern = jsonencode({
        eventName = ["INSERT"]
        dynamodb = {
          NewImage = {
            status   = { S = ["new"] }
            priority = { S = [var.emergency_priority_value] }
          }
        }
      })
    }
  }

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.failure["router_stream_failures"].arn
    }
  }
}

resource "aws_lambda_event_source_mapping" "queues" {
  for_each = local.queues

  function_name                      = aws_lambda_function.this[each.value.consumer].arn
  event_source_arn                   = aws_sqs_queue.main[each.key].arn
  batch_size                         = var.sqs_consumer_batch_size
  maximum_batching_window_in_seconds = var.sqs_consumer_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.sqs_consumer_max_concurrency
  }
}

###############################################################################
# Lambda invoke permissions
###############################################################################

resource "aws_lambda_permission" "api_request_validator" {
  statement_id  = "AllowApiGatewayPostRequest"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["request_validator"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.main.execution_arn}/*/POST/request"
}

resource "aws_lambda_permission" "api_vendor_status" {
  statement_id  = "AllowApiGatewayPostVendorStatus"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["vendor_status"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.main.execution_arn}/*/POST/vendor/status"
}

resource "aws_lambda_permission" "events_compliance_daily" {
  statement_id  = "AllowEventBridgeDailyCompliance"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["compliance_daily"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.compliance_daily.arn
}

resource "aws_lambda_permission" "events_redis_sync" {
  statement_id  = "AllowEventBridgeRedisSync"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["redis_sync"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.redis_sync.arn
}

###############################################################################
# API Gateway (REST) — /request, /vendor/status, external proxies
###############################################################################

resource "aws_api_gateway_rest_api" "main" {
  name           = "${local.name_prefix}-${var.api_name}"
  description    = "Tenant maintenance requests and vendor status webhooks (${var.env})"
  api_key_source = "HEADER"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "request" {
  rest_api_id = aws_api_gateway_rest_api.main.id
  parent_id   = aws_api_gateway_rest_api.main.root_resource_id
  path_part   = "request"
}

resource "aws_api_gateway_resource" "vendor" {
  rest_api_id = aws_api_gateway_rest_api.main.id
  parent_id   = aws_api_gateway_rest_api.main.root_resource_id
  path_part   = "vendor"
}

resource "aws_api_gateway_resource" "vendor_status" {
  rest_api_id = aws_api_gateway_rest_api.main.id
  parent_id   = aws_api_gateway_resource.vendor.id
  path_part   = "status"
}

resource "aws_api_gateway_resource" "external" {
  rest_api_id = aws_api_gateway_rest_api.main.id
  parent_id   = aws_api_gateway_rest_api.main.root_resource_id
  path_part   = "external"
}

resource "aws_api_gateway_resource" "external_service" {
  for_each = local.external_proxies

  rest_api_id = aws_api_gateway_rest_api.main.id
  parent_id   = aws_api_gateway_resource.external.id
  path_part   = each.key
}

resource "aws_api_gateway_resource" "external_proxy" {
  for_each = local.external_proxies

  rest_api_id = aws_api_gateway_rest_api.main.id
  parent_id   = aws_api_gateway_resource.external_service[each.key].id
  path_part   = "{proxy+}"
}

locals {
  # External APIs reached through API Gateway HTTP_PROXY integrations; the
  # notifier/report Lambdas call them with SigV4 (AWS_IAM authorization).
  external_proxies = {
    notify = var.sms_email_api_base_url
    pdf    = var.pdf_api_base_url
  }

  # Models: name -> schema file (JSON Schema draft-04, also used by the local
  # API emulator to validate requests).
  api_models = {
    MaintenanceRequest = "maintenance_request.json"
    VendorStatusUpdate = "vendor_status_update.json"
    RequestAccepted    = "request_accepted.json"
    StatusAccepted     = "status_accepted.json"
    ErrorResponse      = "error.json"
  }

  api_routes = {
    request = {
      resource_id   = aws_api_gateway_resource.request.id
      request_model = "MaintenanceRequest"
      function      = "request_validator"
    }
    vendor_status = {
      resource_id   = aws_api_gateway_resource.vendor_status.id
      request_model = "VendorStatusUpdate"
      function      = "vendor_status"
    }
  }

  api_method_responses = {
    request_202       = { route = "request", status = "202", model = "RequestAccepted" }
    request_200       = { route = "request", status = "200", model = "RequestAccepted" }
    request_400       = { route = "request", status = "400", model = "ErrorResponse" }
    request_500       = { route = "request", status = "500", model = "ErrorResponse" }
    vendor_status_200 = { route = "vendor_status", status = "200", model = "StatusAccepted" }
    vendor_status_400 = { route = "vendor_status", status = "400", model = "ErrorResponse" }
    vendor_status_404 = { route = "vendor_status", status = "404", model = "ErrorResponse" }
    vendor_status_409 = { route = "vendor_status", status = "409", model = "ErrorResponse" }
    vendor_status_500 = { route = "vendor_status", status = "500", model = "ErrorResponse" }
  }

  # Stage-wide default plus per-route throttles (method_path is
  # "<resource path without leading slash>/<METHOD>").
  api_method_throttles = {
    all = {
      method_path = "*/*"
      rate_limit  = var.api_throttle_rate_limit
      burst_limit = var.api_throttle_burst_limit
    }
    request = {
      method_path = "request/POST"
      rate_limit  = var.api_request_throttle_rate_limit
      burst_limit = var.api_request_throttle_burst_limit
    }
    vendor_status = {
      method_path = "vendor/status/POST"
      rate_limit  = var.api_vendor_status_throttle_rate_limit
      burst_limit = var.api_vendor_status_throttle_burst_limit
    }
  }
}

resource "aws_api_gateway_request_validator" "body_and_params" {
  rest_api_id                 = aws_api_gateway_rest_api.main.id
  name                        = "${local.name_prefix}-body-and-params"
  validate_request_body       = true
  validate_request_parameters = true
}

resource "aws_api_gateway_request_validator" "params_only" {
  rest_api_id                 = aws_api_gateway_rest_api.main.id
  name                        = "${local.name_prefix}-params-only"
  validate_request_body       = false
  validate_request_parameters = true
}

resource "aws_api_gateway_model" "this" {
  for_each = local.api_models

  rest_api_id  = aws_api_gateway_rest_api.main.id
  name         = each.key
  description  = "JSON schema from schemas/${each.value}"
  content_type = "application/json"
  schema       = file("${path.module}/schemas/${each.value}")
}

resource "aws_api_gateway_method" "route" {
  for_each = local.api_routes

  rest_api_id          = aws_api_gateway_rest_api.main.id
  resource_id          = each.value.resource_id
  http_method          = "POST"
  authorization        = "NONE"
  api_key_required     = var.api_key_required
  request_validator_id = aws_api_gateway_request_validator.body_and_params.id
  operation_name       = each.key == "request" ? "SubmitMaintenanceRequest" : "UpdateVendorStatus"

  request_models = {
    "application/json" = aws_api_gateway_model.this[each.value.request_model].name
  }

  # Optional idempotency key: a retried POST /request with the same key maps
  # to the same request_id (the validator's attribute_not_exists write); status
  # webhooks are idempotent through their conditional transition anyway.
  request_parameters = {
    "method.request.header.Idempotency-Key" = false
  }
}

resource "aws_api_gateway_integration" "route" {
  for_each = local.api_routes

  rest_api_id             = aws_api_gateway_rest_api.main.id
  resource_id             = each.value.resource_id
  http_method             = aws_api_gateway_method.route[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = aws_lambda_function.this[each.value.function].invoke_arn
}

resource "aws_api_gateway_method_response" "route" {
  for_each = local.api_method_responses

  rest_api_id = aws_api_gateway_rest_api.main.id
  resource_id = local.api_routes[each.value.route].resource_id
  http_method = aws_api_gateway_method.route[each.value.route].http_method
  status_code = each.value.status

  response_models = {
    "application/json" = aws_api_gateway_model.this[each.value.model].name
  }
}

resource "aws_api_gateway_method" "external_proxy" {
  for_each = local.external_proxies

  rest_api_id          = aws_api_gateway_rest_api.main.id
  resource_id          = aws_api_gateway_resource.external_proxy[each.key].id
  http_method          = "POST"
  authorization        = "AWS_IAM"
  request_validator_id = aws_api_gateway_request_validator.params_only.id

  request_parameters = {
    "method.request.path.proxy" = true
  }
}

resource "aws_api_gateway_integration" "external_proxy" {
  for_each = local.external_proxies

  rest_api_id             = aws_api_gateway_rest_api.main.id
  resource_id             = aws_api_gateway_resource.external_proxy[each.key].id
  http_method             = aws_api_gateway_method.external_proxy[each.key].http_method
  type                    = "HTTP_PROXY"
  integration_http_method = "POST"
  uri                     = "${each.value}/{proxy}"
  timeout_milliseconds    = 29000

  request_parameters = {
    "integration.request.path.proxy" = "method.request.path.proxy"
  }
}

resource "aws_api_gateway_deployment" "main" {
  rest_api_id = aws_api_gateway_rest_api.main.id
  description = "Deployment of ${local.name_prefix}-${var.api_name}"

  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.request.id,
      aws_api_gateway_resource.vendor_status.id,
      [for r in aws_api_gateway_resource.external_proxy : r.id],
      [for m in aws_api_gateway_method.route : m.id],
      [for m in aws_api_gateway_method.external_proxy : m.id],
      [for i in aws_api_gateway_integration.route : i.id],
      [for i in aws_api_gateway_integration.external_proxy : i.id],
      [for r in aws_api_gateway_method_response.route : r.id],
      [for m in aws_api_gateway_model.this : m.schema],
      aws_api_gateway_request_validator.body_and_params.id,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [
    aws_api_gateway_integration.route,
    aws_api_gateway_integration.external_proxy,
    aws_api_gateway_method_response.route,
  ]
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${local.name_prefix}-${var.api_name}/access"
  retention_in_days = var.api_log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_iam_role" "apigw_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  name = "${local.name_prefix}-apigw-cloudwatch"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "apigw_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  role       = aws_iam_role.apigw_cloudwatch[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

# Region-wide singleton (the CloudWatch role API Gateway logs with): managed by one stack only, see
# var.manage_api_gateway_account. Destroying a stack that does not own it leaves the setting in place.
resource "aws_api_gateway_account" "main" {
  count = var.manage_api_gateway_account ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.apigw_cloudwatch[0].arn
}

resource "aws_api_gateway_stage" "main" {
  #checkov:skip=CKV_AWS_120:Both routes are non-idempotent POST writes; responses must not be cached.
  #checkov:skip=CKV2_AWS_29:No WAF in this stack (not in the spec): every route needs an API key or SigV4, and the usage plan plus stage method throttles bound the request rate; see README.md.
  #checkov:skip=CKV2_AWS_51:Clients are tenant mobile apps and vendor systems authenticating with API keys; mutual TLS client certificates are not part of the contract.
  rest_api_id          = aws_api_gateway_rest_api.main.id
  deployment_id        = aws_api_gateway_deployment.main.id
  stage_name           = var.api_stage_name
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      apiKeyId           = "$context.identity.apiKeyId"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      resourcePath       = "$context.resourcePath"
      status             = "$context.status"
      responseLatency    = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
      integrationStatus  = "$context.integrationStatus"
      validationError    = "$context.error.validationErrorString"
      errorMessage       = "$context.error.message"
    })
  }

  depends_on = [aws_api_gateway_account.main]
}

resource "aws_api_gateway_method_settings" "throttle" {
  #checkov:skip=CKV_AWS_225:The routes are non-idempotent POST writes (and SigV4 proxies); caching responses would be wrong.
  for_each = local.api_method_throttles

  rest_api_id = aws_api_gateway_rest_api.main.id
  stage_name  = aws_api_gateway_stage.main.stage_name
  method_path = each.value.method_path

  settings {
    metrics_enabled        = true
    logging_level          = "INFO"
    data_trace_enabled     = false
    caching_enabled        = false
    cache_data_encrypted   = true
    throttling_rate_limit  = each.value.rate_limit
    throttling_burst_limit = each.value.burst_limit
  }
}

# Two clients, two keys, two usage plans. A usage plan is attached to a stage, not to routes: an API key passes
# the key check of every key-required method of a stage it has a plan on. So each plan also closes the route that
# is not its client's with a zero method throttle (no token, ever): the tenant key gets 429 on /vendor/status and
# the vendor key gets 429 on /request.
resource "aws_api_gateway_api_key" "tenant_app" {
  name        = "${local.name_prefix}-tenant-app"
  description = "API key of the tenant mobile app (POST /request)"
  enabled     = true
}

resource "aws_api_gateway_api_key" "vendor_webhooks" {
  name        = "${local.name_prefix}-vendor-webhooks"
  description = "API key of the vendors' status webhooks (POST /vendor/status)"
  enabled     = true
}

resource "aws_api_gateway_usage_plan" "main" {
  name        = "${local.name_prefix}-tenants"
  description = "Tenant app: throttle and daily quota of POST /request; POST /vendor/status closed"

  api_stages {
    api_id = aws_api_gateway_rest_api.main.id
    stage  = aws_api_gateway_stage.main.stage_name

    throttle {
      path        = "/request/POST"
      rate_limit  = var.api_request_throttle_rate_limit
      burst_limit = var.api_request_throttle_burst_limit
    }

    # Not a capacity: the rule that the tenant key cannot call the vendor webhook.
    throttle {
      path        = "/vendor/status/POST"
      rate_limit  = 0
      burst_limit = 0
    }
  }

  throttle_settings {
    rate_limit  = var.api_throttle_rate_limit
    burst_limit = var.api_throttle_burst_limit
  }

  quota_settings {
    limit  = var.api_usage_plan_quota_limit
    period = "DAY"
  }
}

resource "aws_api_gateway_usage_plan" "vendor_webhooks" {
  name        = "${local.name_prefix}-vendors"
  description = "Vendor webhooks: throttle and daily quota of POST /vendor/status; POST /request closed"

  api_stages {
    api_id = aws_api_gateway_rest_api.main.id
    stage  = aws_api_gateway_stage.main.stage_name

    throttle {
      path        = "/vendor/status/POST"
      rate_limit  = var.api_vendor_status_throttle_rate_limit
      burst_limit = var.api_vendor_status_throttle_burst_limit
    }

    # Not a capacity: the rule that the vendor key cannot file tenant requests.
    throttle {
      path        = "/request/POST"
      rate_limit  = 0
      burst_limit = 0
    }
  }

  throttle_settings {
    rate_limit  = var.api_vendor_status_throttle_rate_limit
    burst_limit = var.api_vendor_status_throttle_burst_limit
  }

  quota_settings {
    limit  = var.api_vendor_usage_plan_quota_limit
    period = "DAY"
  }
}

resource "aws_api_gateway_usage_plan_key" "tenant_app" {
  key_id        = aws_api_gateway_api_key.tenant_app.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.main.id
}

resource "aws_api_gateway_usage_plan_key" "vendor_webhooks" {
  key_id        = aws_api_gateway_api_key.vendor_webhooks.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.vendor_webhooks.id
}

###############################################################################
# EventBridge — custom bus, schedules, emergency rule; Scheduler check-ins
###############################################################################

resource "aws_cloudwatch_event_bus" "maintenance" {
  name = "${local.name_prefix}-maintenance"
}

resource "aws_cloudwatch_event_rule" "emergency_escalation" {
  name           = "${local.name_prefix}-emergency-escalation"
  description    = "Emergency requests seen on the maintenance_requests stream start the escalation state machine"
  event_bus_name = aws_cloudwatch_event_bus.maintenance.name

  event_pattern = jsonencode({
    source        = [local.event_source]
    "detail-type" = [var.emergency_event_detail_type]
    detail = {
      priority = [var.emergency_priority_value]
      status   = ["new"]
    }
  })
}

resource "aws_cloudwatch_event_rule" "compliance_daily" {
  name                = "${local.name_prefix}-compliance-daily"
  description         = "Daily SLA compliance sweep"
  schedule_expression = var.compliance_schedule_expression
}

resource "aws_cloudwatch_event_rule" "redis_sync" {
  name                = "${local.name_prefix}-redis-availability-sync"
  description         = "Hourly vendor availability and workload sync into Redis"
  schedule_expression = var.redis_sync_schedule_expression
}

resource "aws_iam_role" "events_sfn" {
  name = "${local.name_prefix}-events-start-escalation"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "events_sfn" {
  name = "start-escalation"
  role = aws_iam_role.events_sfn.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "StartEscalation"
        Effect   = "Allow"
        Action   = ["states:StartExecution"]
        Resource = [aws_sfn_state_machine.escalation.arn]
      },
      {
        Sid      = "EncryptedStateMachineInput"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = [aws_kms_key.main.arn]
      },
    ]
  })
}

resource "aws_cloudwatch_event_target" "emergency_escalation" {
  rule           = aws_cloudwatch_event_rule.emergency_escalation.name
  event_bus_name = aws_cloudwatch_event_bus.maintenance.name
  target_id      = "escalation-state-machine"
  arn            = aws_sfn_state_machine.escalation.arn
  role_arn       = aws_iam_role.events_sfn.arn
  input_path     = "$.detail"

  retry_policy {
    maximum_retry_attempts       = var.event_target_max_retry_attempts
    maximum_event_age_in_seconds = var.event_target_max_event_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.failure["event_target_failures"].arn
  }
}

resource "aws_cloudwatch_event_target" "compliance_daily" {
  rule      = aws_cloudwatch_event_rule.compliance_daily.name
  target_id = "compliance-daily"
  arn       = aws_lambda_function.this["compliance_daily"].arn

  retry_policy {
    maximum_retry_attempts       = var.event_target_max_retry_attempts
    maximum_event_age_in_seconds = var.event_target_max_event_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.failure["event_target_failures"].arn
  }
}

resource "aws_cloudwatch_event_target" "redis_sync" {
  rule      = aws_cloudwatch_event_rule.redis_sync.name
  target_id = "redis-availability-sync"
  arn       = aws_lambda_function.this["redis_sync"].arn

  retry_policy {
    maximum_retry_attempts       = var.event_target_max_retry_attempts
    maximum_event_age_in_seconds = var.event_target_max_event_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.failure["event_target_failures"].arn
  }
}

# Per-request check-in schedules live in this group: the workflow controller
# creates "checkin-<request_id>" (CHECKIN_EXPRESSION, ending after
# checkin_max_hours) when a job goes in_progress and deletes it on completion.
resource "aws_scheduler_schedule_group" "checkins" {
  name = local.checkin_group_name
}

resource "aws_iam_role" "scheduler" {
  name = "${local.name_prefix}-scheduler-checkins"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "scheduler" {
  name = "invoke-workflow-controller"
  role = aws_iam_role.scheduler.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "InvokeWorkflowController"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = [local.lambda_arns.workflow_controller]
      },
      {
        Sid      = "DeadLetter"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [aws_sqs_queue.failure["event_target_failures"].arn]
      },
      {
        Sid      = "EncryptedDeadLetter"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = [aws_kms_key.main.arn]
      },
    ]
  })
}

###############################################################################
# Step Functions — emergency escalation
###############################################################################

resource "aws_cloudwatch_log_group" "sfn" {
  name              = "/aws/vendedlogs/states/${local.name_prefix}-${var.sfn_name}"
  retention_in_days = var.sfn_log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_iam_role" "sfn" {
  name = "${local.name_prefix}-${var.sfn_name}"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "sfn" {
  #checkov:skip=CKV_AWS_111:The logs:*LogDelivery actions used by Step Functions logging do not support resource-level permissions.
  #checkov:skip=CKV_AWS_356:Same as above: CloudWatch Logs vended delivery APIs require Resource "*".
  name = "escalation"
  role = aws_iam_role.sfn.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "InvokeEscalationFunctions"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = [local.lambda_arns.escalation_primary, "${local.lambda_arns.escalation_primary}:*", local.lambda_arns.escalation_failover, "${local.lambda_arns.escalation_failover}:*"]
      },
      {
        Sid      = "ReadAndMarkRequests"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
        Resource = [aws_dynamodb_table.maintenance_requests.arn]
      },
      {
        Sid      = "NotifyPropertyManager"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = [aws_sns_topic.this["compliance_alerts"].arn]
      },
      {
        Sid      = "EncryptedStateAndTopics"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = [aws_kms_key.main.arn]
      },
      {
        Sid      = "TraceSegments"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
        Resource = ["*"]
      },
      {
        Sid    = "VendedLogDelivery"
        Effect = "Allow"
        Action = [
          "logs:CreateLogDelivery",
          "logs:GetLogDelivery",
          "logs:UpdateLogDelivery",
          "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries",
          "logs:PutResourcePolicy",
          "logs:DescribeResourcePolicies",
          "logs:DescribeLogGroups",
        ]
        Resource = ["*"]
      },
    ]
  })
}

resource "aws_sfn_state_machine" "escalation" {
  name     = "${local.name_prefix}-${var.sfn_name}"
  role_arn = aws_iam_role.sfn.arn
  type     = "STANDARD"

  definition = templatefile("${path.module}/templates/escalation.asl.json.tftpl", {
    partition               = local.partition
    escalation_primary_arn  = local.lambda_arns.escalation_primary
    escalation_failover_arn = local.lambda_arns.escalation_failover
    requests_table_name     = aws_dynamodb_table.maintenance_requests.name
    manager_topic_arn       = aws_sns_topic.this["compliance_alerts"].arn
    timeout_seconds         = var.sfn_timeout_seconds
    task_timeout_seconds    = var.sfn_task_timeout_seconds
    max_retries             = var.sfn_max_retries
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.sfn.arn}:*"
    include_execution_data = true
    level                  = "ERROR"
  }

  tracing_configuration {
    enabled = true
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = aws_kms_key.main.arn
    kms_data_key_reuse_period_seconds = 300
  }

  depends_on = [aws_iam_role_policy.sfn, aws_lambda_function.this]
}

###############################################################################
# CloudWatch — metric filters (SLA compliance, report errors), alarms, dashboard
###############################################################################

locals {
  metric_namespace = "${var.project_name}/${var.env}/maintenance"
  alarm_actions    = [aws_sns_topic.this["ops_alarms"].arn]

  # Every dead-letter / failure queue, alarmed on depth.
  dlq_alarm_queues = merge(
    { for k, q in local.queues : "${k}_dlq" => "${q.name}-dlq" },
    local.failure_queues,
  )

  api_dimensions = {
    ApiName = aws_api_gateway_rest_api.main.name
    Stage   = aws_api_gateway_stage.main.stage_name
  }
}

# SLA enforcement: the vendor status processor logs one JSON line per
# transition, {"event": "status_transition", "sla_met": 1|0, ...}, where
# sla_met compares the transition time with response_due_at (in_progress) or
# resolution_due_at (completed) written at assignment from priority_matrix.
# The two filters below count met/missed; SLA compliance rate = met / (met +
# missed), alarmed and charted with metric math.
resource "aws_cloudwatch_log_metric_filter" "sla_met" {
  name           = "${local.name_prefix}-sla-met"
  log_group_name = aws_cloudwatch_log_group.lambda["vendor_status"].name
  pattern        = "{ ($.event = \"status_transition\") && ($.sla_met = 1) }"

  metric_transformation {
    name          = "SlaMet"
    namespace     = local.metric_namespace
    value         = "1"
    default_value = "0"
    unit          = "Count"
  }
}

resource "aws_cloudwatch_log_metric_filter" "sla_missed" {
  name           = "${local.name_prefix}-sla-missed"
  log_group_name = aws_cloudwatch_log_group.lambda["vendor_status"].name
  pattern        = "{ ($.event = \"status_transition\") && ($.sla_met = 0) }"

  metric_transformation {
    name          = "SlaMissed"
    namespace     = local.metric_namespace
    value         = "1"
    default_value = "0"
    unit          = "Count"
  }
}

resource "aws_cloudwatch_log_metric_filter" "report_generation_errors" {
  name           = "${local.name_prefix}-report-generation-errors"
  log_group_name = aws_cloudwatch_log_group.lambda["report_generator"].name
  pattern        = "{ $.event = \"report_generation_failed\" }"

  metric_transformation {
    name          = "ReportGenerationErrors"
    namespace     = local.metric_namespace
    value         = "1"
    default_value = "0"
    unit          = "Count"
  }
}

resource "aws_cloudwatch_log_metric_filter" "no_eligible_vendor" {
  name           = "${local.name_prefix}-no-eligible-vendor"
  log_group_name = aws_cloudwatch_log_group.lambda["request_router"].name
  pattern        = "{ $.event = \"assignment_skipped\" }"

  metric_transformation {
    name          = "NoEligibleVendor"
    namespace     = local.metric_namespace
    value         = "1"
    default_value = "0"
    unit          = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "vendor_assignment_duration_p95" {
  alarm_name          = "${local.name_prefix}-vendor-assignment-duration-p95"
  alarm_description   = "p95 duration of the request router (Redis GEOSEARCH + matching + conditional assignment write)"
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  extended_statistic  = "p95"
  dimensions          = { FunctionName = aws_lambda_function.this["request_router"].function_name }
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.vendor_assignment_p95_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "request_validator_duration_p95" {
  alarm_name          = "${local.name_prefix}-request-validator-duration-p95"
  alarm_description   = "p95 duration of the request validator (POST /request)"
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  extended_statistic  = "p95"
  dimensions          = { FunctionName = aws_lambda_function.this["request_validator"].function_name }
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.request_validator_p95_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "assignment_conditional_check_failed" {
  alarm_name          = "${local.name_prefix}-assignment-conditional-check-failed"
  alarm_description   = "Conditional write failures per minute on maintenance_requests: concurrent assignment / status races"
  namespace           = "AWS/DynamoDB"
  metric_name         = "ConditionalCheckFailedRequests"
  statistic           = "Sum"
  dimensions          = { TableName = aws_dynamodb_table.maintenance_requests.name }
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.assignment_conditional_check_failed_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "redis_geo_latency" {
  alarm_name          = "${local.name_prefix}-redis-geo-latency"
  alarm_description   = "Average latency (microseconds) of geospatial commands on the worst node of the replication group"
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.redis_geo_latency_threshold_us
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  # The primary moves on failover: the alarm takes the worst node of the replication group.
  metric_query {
    id          = "worst"
    expression  = "MAX(METRICS())"
    label       = "GeoSpatialBasedCmdsLatency (worst node)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.redis_node_ids
    content {
      id = "node${metric_query.key}"
      metric {
        namespace   = "AWS/ElastiCache"
        metric_name = "GeoSpatialBasedCmdsLatency"
        dimensions  = { CacheClusterId = metric_query.value }
        stat        = "Average"
        period      = 60
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = "${local.name_prefix}-api-5xx-rate"
  alarm_description   = "Share of API requests answered 5XX (Average of the 0/1 metric)"
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  statistic           = "Average"
  dimensions          = local.api_dimensions
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_5xx_rate_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_4xx" {
  alarm_name          = "${local.name_prefix}-api-4xx-rate"
  alarm_description   = "Share of API requests answered 4XX (validation, throttling, missing API key)"
  namespace           = "AWS/ApiGateway"
  metric_name         = "4XXError"
  statistic           = "Average"
  dimensions          = local.api_dimensions
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_4xx_rate_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_latency_p95" {
  alarm_name          = "${local.name_prefix}-api-latency-p95"
  alarm_description   = "p95 end-to-end API Gateway latency"
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  extended_statistic  = "p95"
  dimensions          = local.api_dimensions
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_latency_p95_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "aurora_connections" {
  alarm_name          = "${local.name_prefix}-aurora-connections"
  alarm_description   = "Aurora connections (pooled through the RDS proxy)"
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnections"
  statistic           = "Maximum"
  dimensions          = { DBClusterIdentifier = aws_rds_cluster.aurora.cluster_identifier }
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.aurora_connections_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "sqs_oldest_message_age" {
  for_each = local.queues

  alarm_name          = "${local.name_prefix}-${replace(each.key, "_", "-")}-oldest-message-age"
  alarm_description   = "Age of the oldest message in ${each.value.name}: its consumer is falling behind"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  statistic           = "Maximum"
  dimensions          = { QueueName = aws_sqs_queue.main[each.key].name }
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.sqs_oldest_message_age_threshold_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = local.dlq_alarm_queues

  alarm_name          = "${local.name_prefix}-${replace(each.key, "_", "-")}-depth"
  alarm_description   = "Messages waiting in the dead-letter/failure queue ${each.value}"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  statistic           = "Maximum"
  dimensions          = { QueueName = each.value }
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.dlq_depth_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  depends_on = [aws_sqs_queue.dlq, aws_sqs_queue.failure]
}

resource "aws_cloudwatch_metric_alarm" "sfn_executions_failed" {
  alarm_name          = "${local.name_prefix}-escalation-executions-failed"
  alarm_description   = "Failed emergency escalation executions"
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  statistic           = "Sum"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.escalation.arn }
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.sfn_executions_failed_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "report_generation_errors" {
  alarm_name          = "${local.name_prefix}-report-generation-errors"
  alarm_description   = "Compliance reports that failed to render or to be stored in S3 (metric filter)"
  namespace           = local.metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.report_generation_errors.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.report_generation_errors_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = local.lambda_functions

  alarm_name          = "${local.name_prefix}-${replace(each.key, "_", "-")}-errors"
  alarm_description   = "Errors of ${local.lambda_names[each.key]}"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  statistic           = "Sum"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.lambda_errors_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "sla_compliance_rate" {
  alarm_name          = "${local.name_prefix}-sla-compliance-rate"
  alarm_description   = "Percentage of status transitions within SLA over the last hour"
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = var.sla_compliance_rate_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "rate"
    expression  = "IF((met + missed) > 0, 100 * met / (met + missed))"
    label       = "SLA compliance %"
    return_data = true
  }

  metric_query {
    id = "met"

    metric {
      namespace   = local.metric_namespace
      metric_name = aws_cloudwatch_log_metric_filter.sla_met.metric_transformation[0].name
      period      = 3600
      stat        = "Sum"
    }
  }

  metric_query {
    id = "missed"

    metric {
      namespace   = local.metric_namespace
      metric_name = aws_cloudwatch_log_metric_filter.sla_missed.metric_transformation[0].name
      period      = 3600
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_dashboard" "ops" {
  dashboard_name = "${local.name_prefix}-maintenance-ops"

  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "API requests and errors"
          region = local.region
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/ApiGateway", "Count", "ApiName", local.api_dimensions.ApiName, "Stage", local.api_dimensions.Stage],
            [".", "4XXError", ".", ".", ".", "."],
            [".", "5XXError", ".", ".", ".", "."],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title  = "Latency p95 (ms): API, validator, vendor assignment"
          region = local.region
          stat   = "p95"
          period = 60
          metrics = [
            ["AWS/ApiGateway", "Latency", "ApiName", local.api_dimensions.ApiName, "Stage", local.api_dimensions.Stage],
            ["AWS/Lambda", "Duration", "FunctionName", local.lambda_names.request_validator],
            ["AWS/Lambda", "Duration", "FunctionName", local.lambda_names.request_router],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title  = "maintenance_requests: capacity and conditional check failures"
          region = local.region
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", local.table_names.maintenance_requests],
            [".", "ConsumedReadCapacityUnits", ".", "."],
            [".", "ConditionalCheckFailedRequests", ".", "."],
            [".", "WriteThrottleEvents", ".", "."],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "SLA compliance (%) and unassignable requests"
          region = local.region
          period = 3600
          metrics = [
            [{ expression = "IF((met + missed) > 0, 100 * met / (met + missed))", label = "SLA compliance %", id = "rate" }],
            [local.metric_namespace, "SlaMet", { id = "met", stat = "Sum", visible = false }],
            [local.metric_namespace, "SlaMissed", { id = "missed", stat = "Sum", visible = false }],
            [local.metric_namespace, "NoEligibleVendor", { stat = "Sum" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title   = "Queue age of oldest message (s)"
          region  = local.region
          stat    = "Maximum"
          period  = 60
          metrics = [for k, q in local.queues : ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.name]]
        }
      },
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title  = "Redis geo latency (us), Aurora connections, escalations"
          region = local.region
          period = 60
          metrics = [
            ["AWS/ElastiCache", "GeoSpatialBasedCmdsLatency", "CacheClusterId", "${local.redis_replication_group}-001", { stat = "Average" }],
            ["AWS/RDS", "DatabaseConnections", "DBClusterIdentifier", "${local.name_prefix}-${var.aurora_cluster_identifier}", { stat = "Maximum", yAxis = "right" }],
            ["AWS/States", "ExecutionsFailed", "StateMachineArn", aws_sfn_state_machine.escalation.arn, { stat = "Sum", yAxis = "right" }],
            ["AWS/States", "ExecutionsSucceeded", "StateMachineArn", aws_sfn_state_machine.escalation.arn, { stat = "Sum", yAxis = "right" }],
          ]
        }
      },
    ]
  })
}

###############################################################################
# Outputs
###############################################################################

output "api_invoke_url" {
  description = "Invoke URL of the REST API stage."
  value       = aws_api_gateway_stage.main.invoke_url
}

output "api_key_id" {
  description = "ID of the tenant app's API key (read the value with `aws apigateway get-api-key --include-value`)."
  value       = aws_api_gateway_api_key.tenant_app.id
}

output "vendor_api_key_id" {
  description = "ID of the vendor webhooks' API key (read the value with `aws apigateway get-api-key --include-value`)."
  value       = aws_api_gateway_api_key.vendor_webhooks.id
}

output "dynamodb_table_names" {
  description = "DynamoDB table names by logical name."
  value = merge(
    { maintenance_requests = aws_dynamodb_table.maintenance_requests.name },
    { for k, t in aws_dynamodb_table.reference : k => t.name },
  )
}

output "maintenance_requests_stream_arn" {
  description = "Stream ARN of the maintenance_requests table."
  value       = aws_dynamodb_table.maintenance_requests.stream_arn
}

output "sns_topic_arns" {
  description = "SNS topic ARNs by logical name."
  value       = { for k, t in aws_sns_topic.this : k => t.arn }
}

output "sqs_queue_urls" {
  description = "SQS work queue URLs by logical name."
  value       = { for k, q in aws_sqs_queue.main : k => q.url }
}

output "sqs_dlq_urls" {
  description = "Dead-letter and failure queue URLs."
  value = merge(
    { for k, q in aws_sqs_queue.dlq : "${k}_dlq" => q.url },
    { for k, q in aws_sqs_queue.failure : k => q.url },
  )
}

output "aurora_endpoints" {
  description = "Aurora writer/reader endpoints and the RDS proxy endpoint the Lambdas use."
  value = {
    writer = aws_rds_cluster.aurora.endpoint
    reader = aws_rds_cluster.aurora.reader_endpoint
    proxy  = aws_db_proxy.aurora.endpoint
  }
}

output "aurora_master_secret_arn" {
  description = "Secrets Manager ARN of the managed Aurora master credentials."
  value       = local.aurora_secret_arn
}

output "redis_primary_endpoint" {
  description = "Primary endpoint of the Redis replication group (TLS, AUTH)."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "step_function_arn" {
  description = "ARN of the emergency escalation state machine."
  value       = aws_sfn_state_machine.escalation.arn
}

output "lambda_function_arns" {
  description = "Lambda function ARNs by logical name."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "s3_buckets" {
  description = "S3 bucket names."
  value = {
    archive            = aws_s3_bucket.data["archive"].bucket
    compliance_reports = aws_s3_bucket.data["compliance_reports"].bucket
    access_logs        = aws_s3_bucket.access_logs.bucket
  }
}

output "eventbridge_rule_names" {
  description = "EventBridge rule names."
  value = {
    compliance_daily     = aws_cloudwatch_event_rule.compliance_daily.name
    redis_sync           = aws_cloudwatch_event_rule.redis_sync.name
    emergency_escalation = aws_cloudwatch_event_rule.emergency_escalation.name
  }
}

output "event_bus_name" {
  description = "Custom EventBridge bus for maintenance events."
  value       = aws_cloudwatch_event_bus.maintenance.name
}

output "checkin_schedule_group" {
  description = "EventBridge Scheduler group of the per-request check-in schedules."
  value       = aws_scheduler_schedule_group.checkins.name
}

output "vpc_id" {
  description = "VPC ID."
  value       = aws_vpc.main.id
}

output "public_subnet_ids" {
  description = "Public subnet IDs by AZ."
  value       = { for az, s in aws_subnet.public : az => s.id }
}

output "private_subnet_ids" {
  description = "Private subnet IDs by AZ."
  value       = { for az, s in aws_subnet.private : az => s.id }
}

output "security_group_ids" {
  description = "Security group IDs."
  value = {
    lambda    = aws_security_group.lambda.id
    redis     = aws_security_group.redis.id
    rds_proxy = aws_security_group.rds_proxy.id
    aurora    = aws_security_group.aurora.id
    endpoints = aws_security_group.endpoints.id
  }
}

output "kms_key_arn" {
  description = "ARN of the customer managed KMS key."
  value       = aws_kms_key.main.arn
}
