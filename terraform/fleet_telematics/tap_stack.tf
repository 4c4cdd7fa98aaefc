###############################################################################
# Fleet telematics - 234,000 commercial vehicles (OBD-II diagnostics, DOT hours
# of service, GPS/geofencing, predictive maintenance, fuel analytics).
#
# One topology for dev, staging and prod. The three *.tfvars files differ only
# in `env` and in capacities/rates/thresholds/retentions (see the comments in
# dev.tfvars / staging.tfvars / prod.tfvars for how every capacity follows from
# the fleet size). Nothing here is switched on or off per environment.
#
# Data flow (hot paths first):
#   producers --PutRecords(partition key vehicle_id)--> Kinesis diagnostics | hos | gps
#   diagnostics --EFO--> diagnostics_processor -> DynamoDB vehicle_diagnostics (+stream, TTL)
#                                    DynamoDB stream -> anomaly_detector (thresholds + Redis
#                                    rolling windows) -> SNS vehicle-alerts -> SQS fan-out
#               --EFO--> predictive_maintenance (Aurora history + SageMaker) -> predicted_failures
#                                    -> SNS maintenance-required (confidence > 0.8)
#               --EFO--> fuel_analytics (Aurora fuel_analytics + Redis benchmarks) -> SNS driver-coaching
#               --shared--> Firehose (Lambda transform, Parquet) -> S3 data lake -> Glue/Athena
#   hos         -------> hos_validator (DOT rules) -> driver_logs -> SNS hos-violations
#                                    -> hos_report_generator -> S3 reports (object lock)
#   gps         -------> location_processor -> vehicle_locations (conditional, GSI geohash)
#                                    + Redis GEOADD/GEOSEARCH + geofences -> SNS geofence-alerts
#   EventBridge (daily) -> Step Functions DOT reporting -> Aurora/DynamoDB -> PDF API -> S3
#                                    -> compliance_status -> SNS compliance-summary
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
# Variables - general
###############################################################################

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

variable "env" {
  type        = string
  description = "Environment name: dev, staging or prod."

  validation {
    condition     = contains(["dev", "staging", "prod"], var.env)
    error_message = "env must be dev, staging or prod."
  }
}

variable "project_name" {
  type        = string
  description = "Project name, prefix of every resource name (<project_name>-<env>-...)."
  default     = "fleet-telematics"
}

variable "owner" {
  type        = string
  description = "Owning team, written to the Owner tag."
  default     = "fleet-platform"
}

variable "cost_center" {
  type        = string
  description = "Cost center, written to the CostCenter tag."
  default     = "telematics"
}

variable "common_tags" {
  type        = map(string)
  description = "Extra tags merged into the default tags of every resource."
  default     = {}
}

###############################################################################
# Variables - network
###############################################################################

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the VPC."
  default     = "10.40.0.0/16"
}

variable "public_subnet_cidrs" {
  type        = list(string)
  description = "Public subnet CIDRs, one per AZ (NAT gateways live here). Same length in every env."
  default     = ["10.40.0.0/24", "10.40.1.0/24"]
}

variable "private_subnet_cidrs" {
  type        = list(string)
  description = "Private subnet CIDRs, one per AZ (Lambda, Redis, Aurora, endpoints). Same length in every env."
  default     = ["10.40.16.0/20", "10.40.32.0/20"]
}

variable "enable_nat_gateway" {
  type        = bool
  description = "One NAT gateway per AZ for the outbound calls to the external PDF/telematics APIs. Same value in every env."
  default     = true
}

###############################################################################
# Variables - Kinesis
###############################################################################

variable "diagnostics_stream_name" {
  type        = string
  description = "Name suffix of the OBD-II diagnostics stream."
  default     = "diagnostics"
}

variable "hos_stream_name" {
  type        = string
  description = "Name suffix of the hours-of-service duty status stream."
  default     = "hos-status"
}

variable "gps_stream_name" {
  type        = string
  description = "Name suffix of the GPS position stream."
  default     = "gps"
}

variable "stream_mode" {
  type        = string
  description = "Kinesis capacity mode. PROVISIONED so the shard counts below are the capacity contract; same in every env."
  default     = "PROVISIONED"

  validation {
    condition     = contains(["PROVISIONED", "ON_DEMAND"], var.stream_mode)
    error_message = "stream_mode must be PROVISIONED or ON_DEMAND."
  }
}

variable "diagnostics_shard_count" {
  type        = number
  description = "Shards of the diagnostics stream (1 shard = 1,000 rec/s or 1 MiB/s in)."
}

variable "hos_shard_count" {
  type        = number
  description = "Shards of the HOS stream."
}

variable "gps_shard_count" {
  type        = number
  description = "Shards of the GPS stream."
}

variable "retention_hours" {
  type        = number
  description = "Kinesis retention in hours (24-8760); how long a consumer outage can be replayed."
  default     = 24
}

variable "diagnostics_parallelization_factor" {
  type        = number
  description = "Concurrent Lambda batches per diagnostics shard (1-10), for each of the three EFO consumers."
  default     = 1
}

variable "hos_parallelization_factor" {
  type        = number
  description = "Concurrent Lambda batches per HOS shard (1-10). Records of one vehicle stay in order."
  default     = 1
}

variable "gps_parallelization_factor" {
  type        = number
  description = "Concurrent Lambda batches per GPS shard (1-10)."
  default     = 1
}

variable "anomaly_parallelization_factor" {
  type        = number
  description = "Concurrent Lambda batches per DynamoDB stream shard of vehicle_diagnostics (1-10)."
  default     = 1
}

variable "stream_batch_size" {
  type        = number
  description = "Max records per Lambda invocation for the Kinesis and DynamoDB stream consumers."
  default     = 100
}

variable "stream_batching_window_seconds" {
  type        = number
  description = "maximum_batching_window_in_seconds of the stream event source mappings."
  default     = 1
}

variable "stream_max_record_age_seconds" {
  type        = number
  description = "Records older than this are sent to the mapping's on-failure DLQ instead of being retried."
  default     = 3600
}

variable "stream_retry_attempts" {
  type        = number
  description = "Retries of a failing stream batch (after bisecting) before it goes to the on-failure DLQ."
  default     = 3
}

###############################################################################
# Variables - DynamoDB
###############################################################################

variable "diagnostics_table" {
  type        = string
  description = "Name suffix of the vehicle_diagnostics table."
  default     = "vehicle-diagnostics"
}

variable "thresholds_table" {
  type        = string
  description = "Name suffix of the alert_thresholds table (per-vehicle calibrations)."
  default     = "alert-thresholds"
}

variable "predictions_table" {
  type        = string
  description = "Name suffix of the predicted_failures table."
  default     = "predicted-failures"
}

variable "driver_logs_table" {
  type        = string
  description = "Name suffix of the driver_logs (records of duty status) table."
  default     = "driver-logs"
}

variable "compliance_rules_table" {
  type        = string
  description = "Name suffix of the compliance_rules table (DOT HOS limits)."
  default     = "compliance-rules"
}

variable "locations_table" {
  type        = string
  description = "Name suffix of the vehicle_locations table (latest position per vehicle)."
  default     = "vehicle-locations"
}

variable "geofences_table" {
  type        = string
  description = "Name suffix of the geofences table."
  default     = "geofences"
}

variable "compliance_status_table" {
  type        = string
  description = "Name suffix of the compliance_status table (DOT report status per fleet and day)."
  default     = "compliance-status"
}

variable "billing_mode" {
  type        = string
  description = "DynamoDB billing mode for every table. PROVISIONED so RCU/WCU are the capacity contract; same in every env."
  default     = "PROVISIONED"

  validation {
    condition     = contains(["PROVISIONED", "PAY_PER_REQUEST"], var.billing_mode)
    error_message = "billing_mode must be PROVISIONED or PAY_PER_REQUEST."
  }
}

variable "rcu" {
  type        = number
  description = "Read capacity of the low-traffic tables (thresholds, predictions, rules, geofences, compliance status)."
  default     = 5
}

variable "wcu" {
  type        = number
  description = "Write capacity of the low-traffic tables."
  default     = 5
}

variable "diagnostics_rcu" {
  type        = number
  description = "Read capacity of vehicle_diagnostics."
}

variable "diagnostics_wcu" {
  type        = number
  description = "Write capacity of vehicle_diagnostics (one write per diagnostics record)."
}

variable "locations_rcu" {
  type        = number
  description = "Read capacity of vehicle_locations."
}

variable "locations_wcu" {
  type        = number
  description = "Write capacity of vehicle_locations (one conditional write per GPS fix)."
}

variable "locations_gsi_rcu" {
  type        = number
  description = "Read capacity of the geohash GSI of vehicle_locations."
}

variable "locations_gsi_wcu" {
  type        = number
  description = "Write capacity of the geohash GSI (every accepted position rewrites its projection)."
}

variable "driver_logs_rcu" {
  type        = number
  description = "Read capacity of driver_logs (one duty-state read per HOS record)."
}

variable "driver_logs_wcu" {
  type        = number
  description = "Write capacity of driver_logs (one state write per HOS record, plus a log entry per status change)."
}

variable "ttl_enabled" {
  type        = bool
  description = "Enable TTL on the tables that expire items (diagnostics, predictions, driver logs). Same in every env."
  default     = true
}

variable "ttl_attribute" {
  type        = string
  description = "TTL attribute (epoch seconds). The sort key `timestamp` is epoch ms, so expiry is its own attribute."
  default     = "expires_at"
}

variable "compliance_diagnostics_ttl_days" {
  type        = number
  description = "Compliance rule (same in every env): days a diagnostics item lives before TTL deletes it (spec: 30)."
  default     = 30
}

variable "predictions_ttl_days" {
  type        = number
  description = "Days a predicted failure lives before TTL deletes it."
  default     = 90
}

variable "compliance_driver_logs_retention_days" {
  type        = number
  description = "Compliance rule (same in every env): days a driver log entry lives in DynamoDB (49 CFR 395.8(k): keep records of duty status 6 months)."
  default     = 190
}

variable "deletion_protection" {
  type        = bool
  description = "Deletion protection on DynamoDB tables and Aurora. Same in every env."
  default     = true
}

###############################################################################
# Variables - Lambda
###############################################################################

variable "runtime" {
  type        = string
  description = "Python runtime of every function."
  default     = "python3.12"
}

variable "processor_memory" {
  type        = number
  description = "Memory (MB) of the diagnostics processor."
  default     = 512
}

variable "anomaly_memory" {
  type        = number
  description = "Memory (MB) of the anomaly detector."
  default     = 512
}

variable "maintenance_memory" {
  type        = number
  description = "Memory (MB) of the maintenance queue consumer."
  default     = 256
}

variable "driver_notifier_memory" {
  type        = number
  description = "Memory (MB) of the driver notification consumer."
  default     = 256
}

variable "fleet_memory" {
  type        = number
  description = "Memory (MB) of the fleet dashboard consumer."
  default     = 256
}

variable "predictive_memory" {
  type        = number
  description = "Memory (MB) of the predictive maintenance function."
  default     = 1024
}

variable "hos_memory" {
  type        = number
  description = "Memory (MB) of the HOS validator."
  default     = 512
}

variable "hos_report_memory" {
  type        = number
  description = "Memory (MB) of the HOS violation report generator."
  default     = 512
}

variable "location_memory" {
  type        = number
  description = "Memory (MB) of the location/geofence processor."
  default     = 512
}

variable "fuel_memory" {
  type        = number
  description = "Memory (MB) of the fuel analytics function."
  default     = 512
}

variable "coaching_memory" {
  type        = number
  description = "Memory (MB) of the driver coaching sender."
  default     = 256
}

variable "transform_memory" {
  type        = number
  description = "Memory (MB) of the Firehose transformation function."
  default     = 256
}

variable "dot_report_memory" {
  type        = number
  description = "Memory (MB) of the DOT report builder used by the Step Functions workflow."
  default     = 1024
}

variable "timeout_s" {
  type        = number
  description = "Timeout (s) of the stream and queue consumers. SQS visibility_timeout must be at least 6x this."
  default     = 60
}

variable "report_timeout_s" {
  type        = number
  description = "Timeout (s) of the report functions (HOS report generator, DOT report builder) that call external APIs."
  default     = 300
}

variable "reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of each stream-driven function; at least shard_count x parallelization_factor of its stream."
}

variable "lambda_concurrency_quota" {
  type        = number
  description = "The account's Lambda concurrent-executions quota in the region (1,000 by default). Reserved concurrency of all functions must leave the 100 unreserved executions AWS requires; a raised quota is set here explicitly."
  default     = 1000
}

variable "consumer_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of each queue/SNS/Step Functions driven function (caps Aurora/Redis connections)."
}

variable "sqs_batch_size" {
  type        = number
  description = "Messages per invocation of the SQS consumers."
  default     = 10
}

variable "sqs_batching_window_seconds" {
  type        = number
  description = "maximum_batching_window_in_seconds of the SQS event source mappings."
  default     = 1
}

variable "sqs_max_concurrency" {
  type        = number
  description = "scaling_config.maximum_concurrency of the SQS mappings (2-1000, <= consumer_reserved_concurrency)."
  default     = 2
}

variable "anomaly_window_seconds" {
  type        = number
  description = "Length of the rolling window (Redis sorted set per vehicle and signal) used for trend analysis."
  default     = 1800
}

variable "prediction_min_interval_seconds" {
  type        = number
  description = "A vehicle is scored by the SageMaker endpoint at most once per this interval."
  default     = 900
}

variable "predictive_confidence_threshold" {
  type        = number
  description = "Predictions at or above this confidence go to SNS maintenance-required (0.8 = the spec's 80 %); same in every env."
  default     = 0.8
}

variable "fuel_efficiency_threshold" {
  type        = number
  description = "A vehicle below this fraction of its class benchmark MPG gets a coaching recommendation; same in every env."
  default     = 0.85
}

variable "predictive_endpoint_name" {
  type        = string
  description = "Name of the existing SageMaker endpoint that scores failure risk (looked up through Cloud Control)."
  default     = "fleet-failure-predictor"
}

variable "verify_predictive_endpoint" {
  type        = bool
  description = "Look the SageMaker endpoint up at plan time (the plan fails if it does not exist). Set false (-var) only to bootstrap a region before the model pipeline has deployed the endpoint; see README."
  default     = true
}

###############################################################################
# Variables - Redis (ElastiCache)
###############################################################################

variable "node_type" {
  type        = string
  description = "ElastiCache node type."
  default     = "cache.t4g.small"
}

variable "num_cache_clusters" {
  type        = number
  description = "Primary + replicas of the Redis replication group; >= 2 in every env (automatic failover, multi-AZ)."
  default     = 2

  validation {
    condition     = var.num_cache_clusters >= 2
    error_message = "num_cache_clusters must be at least 2 so failover and multi-AZ are identical in every env."
  }
}

variable "engine_version" {
  type        = string
  description = "Redis engine version."
  default     = "7.1"
}

variable "snapshot_retention_limit" {
  type        = number
  description = "Days of automatic Redis snapshots."
  default     = 1
}

###############################################################################
# Variables - Aurora PostgreSQL serverless v2
###############################################################################

variable "cluster_identifier" {
  type        = string
  description = "Name suffix of the Aurora cluster."
  default     = "fleet-db"
}

variable "aurora_database_name" {
  type        = string
  description = "Initial database (maintenance_schedule, vehicle_history, fuel_analytics, inspections). Spec name: database_name."
  default     = "fleet"
}

variable "master_username" {
  type        = string
  description = "Master user; its password is generated and kept by RDS in Secrets Manager."
  default     = "fleet_admin"
}

variable "aurora_engine_version" {
  type        = string
  description = "Aurora PostgreSQL engine version (serverless v2 capable)."
  default     = "16.4"
}

variable "instance_class" {
  type        = string
  description = "Aurora instance class; db.serverless for serverless v2."
  default     = "db.serverless"
}

variable "min_capacity" {
  type        = number
  description = "Aurora serverless v2 minimum ACUs."
  default     = 0.5
}

variable "max_capacity" {
  type        = number
  description = "Aurora serverless v2 maximum ACUs."
  default     = 4
}

variable "backup_retention_days" {
  type        = number
  description = "Aurora automated backup retention (days)."
  default     = 7
}

###############################################################################
# Variables - SNS / SQS / EventBridge
###############################################################################

variable "alerts_topic" {
  type        = string
  description = "Name suffix of the vehicle-alerts topic."
  default     = "vehicle-alerts"
}

variable "maintenance_topic" {
  type        = string
  description = "Name suffix of the maintenance-required topic."
  default     = "maintenance-required"
}

variable "violations_topic" {
  type        = string
  description = "Name suffix of the hos-violations topic."
  default     = "hos-violations"
}

variable "summary_topic" {
  type        = string
  description = "Name suffix of the compliance-summary topic."
  default     = "compliance-summary"
}

variable "geofence_topic" {
  type        = string
  description = "Name suffix of the geofence-alerts topic."
  default     = "geofence-alerts"
}

variable "coaching_topic" {
  type        = string
  description = "Name suffix of the driver-coaching topic."
  default     = "driver-coaching"
}

variable "ops_alarms_topic" {
  type        = string
  description = "Name suffix of the topic every CloudWatch alarm notifies."
  default     = "ops-alarms"
}

variable "external_alerts_endpoint" {
  type        = string
  description = "HTTPS endpoint of the external fleet-management partner that receives critical/high vehicle alerts."
  default     = "https://partner-alerts.example.com/fleet/v1/vehicle-alerts"
}

variable "external_compliance_endpoint" {
  type        = string
  description = "HTTPS endpoint of the external compliance system that receives the daily DOT summary."
  default     = "https://compliance.example.com/fleet/v1/dot-summary"
}

variable "maintenance_queue" {
  type        = string
  description = "Name suffix of the maintenance_alerts queue."
  default     = "maintenance-alerts"
}

variable "driver_queue" {
  type        = string
  description = "Name suffix of the driver_notifications queue."
  default     = "driver-notifications"
}

variable "fleet_queue" {
  type        = string
  description = "Name suffix of the fleet_manager_queue."
  default     = "fleet-manager"
}

variable "training_queue" {
  type        = string
  description = "Name suffix of the driver_training_queue (read by the external LMS)."
  default     = "driver-training"
}

variable "visibility_timeout" {
  type        = number
  description = "SQS visibility timeout (s); >= 6 x timeout_s per the Lambda/SQS guidance."
  default     = 360
}

variable "retention_seconds" {
  type        = number
  description = "SQS message retention (s) of the work queues (the SLA a backlog may wait)."
  default     = 345600
}

variable "dlq_retention_seconds" {
  type        = number
  description = "Message retention (s) of every dead-letter queue."
  default     = 1209600
}

variable "max_receive_count" {
  type        = number
  description = "Receives before a message moves to its DLQ; same in every env."
  default     = 5
}

variable "compliance_schedule_expression" {
  type        = string
  description = "EventBridge schedule of the daily DOT reporting workflow (UTC)."
  default     = "cron(0 6 * * ? *)"
}

variable "report_map_max_concurrency" {
  type        = number
  description = "Fleet chunks the DOT reporting Map state builds in parallel."
  default     = 5
}

variable "report_fleets_per_batch_size" {
  type        = number
  description = "Fleets per Map item of the DOT reporting workflow (keeps the execution history small)."
  default     = 100
}

###############################################################################
# Variables - S3 / Firehose / Glue / Athena
###############################################################################

variable "reports_bucket" {
  type        = string
  description = "Name part of the compliance reports bucket (object lock)."
  default     = "compliance-reports"
}

variable "data_lake_bucket" {
  type        = string
  description = "Name part of the data lake bucket."
  default     = "data-lake"
}

variable "output_bucket" {
  type        = string
  description = "Name part of the Athena query results bucket."
  default     = "athena-results"
}

variable "lifecycle_archive_days" {
  type        = number
  description = "Days after which data lake objects transition to Glacier."
  default     = 90
}

variable "athena_results_expiration_days" {
  type        = number
  description = "Days Athena query results are kept."
  default     = 30
}

variable "compliance_reports_object_lock_mode" {
  type        = string
  description = "Default object lock mode of the reports bucket; same in every env."
  default     = "COMPLIANCE"
}

variable "compliance_dot_record_retention_days" {
  type        = number
  description = "Compliance rule (same in every env): object lock retention of the DOT records and reports (49 CFR 395.8(k): 6 months)."
  default     = 190
}

variable "diagnostics_firehose_name" {
  type        = string
  description = "Name suffix of the diagnostics archive delivery stream."
  default     = "diagnostics-archive"
}

variable "buffer_interval_s" {
  type        = number
  description = "Firehose buffering interval (60-900 s)."
  default     = 300
}

variable "buffer_size_mb" {
  type        = number
  description = "Firehose buffering size (MiB); >= 64 with Parquet conversion and dynamic partitioning."
  default     = 64
}

variable "data_format_conversion_enabled" {
  type        = bool
  description = "Convert the JSON records to Parquet with the Glue table schema. Same in every env."
  default     = true
}

variable "crawler_name" {
  type        = string
  description = "Name suffix of the Glue crawler that registers new data lake partitions."
  default     = "diagnostics-crawler"
}

variable "glue_database_name" {
  type        = string
  description = "Glue database of the data lake (spec name: database_name, renamed because Aurora has one too)."
  default     = "telematics_lake"
}

variable "crawler_schedule" {
  type        = string
  description = "Nightly schedule of the Glue crawler."
  default     = "cron(0 2 * * ? *)"
}

variable "workgroup_name" {
  type        = string
  description = "Name suffix of the Athena workgroup."
  default     = "analytics"
}

variable "athena_bytes_scanned_limit" {
  type        = number
  description = "Per-query scan cutoff (bytes) of the Athena workgroup."
  default     = 10737418240
}

###############################################################################
# Variables - API Gateway mock of the external in-cab telematics API
###############################################################################

variable "telematics_api_throttle_rate_limit" {
  type        = number
  description = "Steady-state requests/s of the mocked in-cab messaging API."
  default     = 50
}

variable "telematics_api_throttle_burst_limit" {
  type        = number
  description = "Burst of the mocked in-cab messaging API."
  default     = 100
}

variable "fmcsa_pdf_api_url" {
  type        = string
  description = "External FMCSA-compliant PDF rendering API called by the DOT report builder (key in Secrets Manager)."
  default     = "https://pdf-renderer.example.com/v1/dot-reports"
}

###############################################################################
# Variables - CloudWatch
###############################################################################

variable "log_retention_days" {
  type        = number
  description = "Retention of every log group (days; a value CloudWatch accepts)."
  default     = 30
}

variable "diagnostics_incoming_bytes_threshold" {
  type        = number
  description = "IncomingBytes per 60 s on the diagnostics stream (80 % of shards x 1 MiB/s x 60)."
}

variable "hos_incoming_bytes_threshold" {
  type        = number
  description = "IncomingBytes per 60 s on the HOS stream (80 % of shards x 1 MiB/s x 60)."
}

variable "gps_incoming_bytes_threshold" {
  type        = number
  description = "IncomingBytes per 60 s on the GPS stream (80 % of shards x 1 MiB/s x 60)."
}

variable "diagnostics_incoming_records_threshold" {
  type        = number
  description = "IncomingRecords per 60 s on the diagnostics stream (80 % of shards x 1,000 rec/s x 60)."
}

variable "hos_incoming_records_threshold" {
  type        = number
  description = "IncomingRecords per 60 s on the HOS stream (80 % of shards x 1,000 rec/s x 60)."
}

variable "gps_incoming_records_threshold" {
  type        = number
  description = "IncomingRecords per 60 s on the GPS stream (80 % of shards x 1,000 rec/s x 60)."
}

variable "kinesis_get_records_latency_threshold_ms" {
  type        = number
  description = "Average GetRecords.Latency (ms) above which a stream alarms."
}

variable "kinesis_iterator_age_threshold_ms" {
  type        = number
  description = "Maximum GetRecords.IteratorAgeMilliseconds (consumer lag) above which a stream alarms."
}

variable "diagnostics_processor_duration_p95_threshold_ms" {
  type        = number
  description = "p95 Duration (ms) of the diagnostics processor."
}

variable "anomaly_duration_p95_threshold_ms" {
  type        = number
  description = "p95 Duration (ms) of the anomaly detector."
}

variable "location_processor_duration_p95_threshold_ms" {
  type        = number
  description = "p95 Duration (ms) of the location processor."
}

variable "locations_conditional_check_failed_threshold" {
  type        = number
  description = "ConditionalCheckFailedRequests per 60 s on vehicle_locations (stale/out-of-order GPS fixes)."
}

variable "dynamodb_throttle_events_threshold" {
  type        = number
  description = "Read + write throttle events per 60 s on any table."
}

variable "redis_memory_threshold_pct" {
  type        = number
  description = "DatabaseMemoryUsagePercentage of the Redis primary."
}

variable "redis_geo_latency_threshold_us" {
  type        = number
  description = "Average GeoSpatialBasedCmdsLatency (microseconds) of the Redis primary."
}

variable "aurora_connections_threshold" {
  type        = number
  description = "DatabaseConnections of the Aurora cluster (about 80 % of max_connections at max ACU)."
}

variable "sqs_oldest_message_age_threshold_seconds" {
  type        = number
  description = "ApproximateAgeOfOldestMessage (s) of the work queues."
}

variable "dlq_depth_threshold" {
  type        = number
  description = "Visible messages in any dead-letter queue."
}

variable "sfn_failures_threshold" {
  type        = number
  description = "Failed DOT reporting executions per hour."
}

variable "firehose_delivery_success_threshold" {
  type        = number
  description = "Alarm when DeliveryToS3.Success (0-1 ratio) of the archive stream falls below this."
}

###############################################################################
# Locals
###############################################################################

locals {
  # Aurora presents a certificate from the RDS CAs, which no default trust store holds: the layer ships this
  # bundle at /opt/certs/rds-global-bundle.pem (fetched by the layer build from AWS's trust store).
  rds_ca_bundle_url = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
  name_prefix       = "${var.project_name}-${var.env}"
  glue_prefix       = replace(local.name_prefix, "-", "_")
  metric_namespace  = "${var.project_name}/${var.env}"
  account_id        = data.aws_caller_identity.current.account_id
  partition         = data.aws_partition.current.partition
  region            = data.aws_region.current.name

  default_tags = merge(var.common_tags, {
    Project     = var.project_name
    Environment = var.env
    Owner       = var.owner
    CostCenter  = var.cost_center
    ManagedBy   = "terraform"
    Stack       = "fleet_telematics"
  })

  # One entry per availability zone, keyed by the list index (same length in every env).
  public_subnets  = { for idx, cidr in var.public_subnet_cidrs : tostring(idx) => cidr }
  private_subnets = { for idx, cidr in var.private_subnet_cidrs : tostring(idx) => cidr }
  nat_subnets     = var.enable_nat_gateway ? local.public_subnets : {}

  # Kinesis streams: keys are the contract with the producers and with the alarms below.
  streams = {
    diagnostics = {
      name                       = "${local.name_prefix}-${var.diagnostics_stream_name}"
      shard_count                = var.diagnostics_shard_count
      incoming_bytes_threshold   = var.diagnostics_incoming_bytes_threshold
      incoming_records_threshold = var.diagnostics_incoming_records_threshold
    }
    hos = {
      name                       = "${local.name_prefix}-${var.hos_stream_name}"
      shard_count                = var.hos_shard_count
      incoming_bytes_threshold   = var.hos_incoming_bytes_threshold
      incoming_records_threshold = var.hos_incoming_records_threshold
    }
    gps = {
      name                       = "${local.name_prefix}-${var.gps_stream_name}"
      shard_count                = var.gps_shard_count
      incoming_bytes_threshold   = var.gps_incoming_bytes_threshold
      incoming_records_threshold = var.gps_incoming_records_threshold
    }
  }

  # Three Lambda consumers read the diagnostics stream. Shared throughput is 2 MiB/s and 5 GetRecords/s per
  # shard for ALL readers together; Firehose already polls it, so the Lambdas use enhanced fan-out consumers
  # (a dedicated 2 MiB/s push pipe per consumer and shard).
  diagnostics_consumers = {
    diagnostics_processor  = "diagnostics-processor"
    predictive_maintenance = "predictive-maintenance"
    fuel_analytics         = "fuel-analytics"
  }

  # DynamoDB tables. Capacities are var refs (read by loadgen); GSI only on vehicle_locations.
  tables = {
    diagnostics = {
      name       = "${local.name_prefix}-${var.diagnostics_table}"
      hash_key   = "vehicle_id"
      range_key  = "timestamp"
      attributes = [{ name = "vehicle_id", type = "S" }, { name = "timestamp", type = "N" }]
      stream     = true
      ttl        = true
      rcu        = var.diagnostics_rcu
      wcu        = var.diagnostics_wcu
      gsi        = []
      gsi_rcu    = null
      gsi_wcu    = null
    }
    thresholds = {
      name       = "${local.name_prefix}-${var.thresholds_table}"
      hash_key   = "vehicle_id"
      range_key  = null
      attributes = [{ name = "vehicle_id", type = "S" }]
      stream     = false
      ttl        = false
      rcu        = var.rcu
      wcu        = var.wcu
      gsi        = []
      gsi_rcu    = null
      gsi_wcu    = null
    }
    predictions = {
      name       = "${local.name_prefix}-${var.predictions_table}"
      hash_key   = "vehicle_id"
      range_key  = "component"
      attributes = [{ name = "vehicle_id", type = "S" }, { name = "component", type = "S" }]
      stream     = false
      ttl        = true
      rcu        = var.rcu
      wcu        = var.wcu
      gsi        = []
      gsi_rcu    = null
      gsi_wcu    = null
    }
    driver_logs = {
      name       = "${local.name_prefix}-${var.driver_logs_table}"
      hash_key   = "driver_id"
      range_key  = "sk"
      attributes = [{ name = "driver_id", type = "S" }, { name = "sk", type = "S" }]
      stream     = false
      ttl        = true
      rcu        = var.driver_logs_rcu
      wcu        = var.driver_logs_wcu
      gsi        = []
      gsi_rcu    = null
      gsi_wcu    = null
    }
    compliance_rules = {
      name       = "${local.name_prefix}-${var.compliance_rules_table}"
      hash_key   = "rule_set_id"
      range_key  = null
      attributes = [{ name = "rule_set_id", type = "S" }]
      stream     = false
      ttl        = false
      rcu        = var.rcu
      wcu        = var.wcu
      gsi        = []
      gsi_rcu    = null
      gsi_wcu    = null
    }
    locations = {
      name       = "${local.name_prefix}-${var.locations_table}"
      hash_key   = "vehicle_id"
      range_key  = null
      attributes = [{ name = "vehicle_id", type = "S" }, { name = "geohash", type = "S" }]
      stream     = false
      ttl        = false
      rcu        = var.locations_rcu
      wcu        = var.locations_wcu
      # geohash (precision 5, ~4.9 x 4.9 km cells) -> all vehicles in a cell, for spatial queries.
      gsi = [{
        name               = "geohash-index"
        hash_key           = "geohash"
        range_key          = "vehicle_id"
        non_key_attributes = ["lat", "lon", "ts", "speed_kph", "heading_deg"]
      }]
      gsi_rcu = var.locations_gsi_rcu
      gsi_wcu = var.locations_gsi_wcu
    }
    geofences = {
      name       = "${local.name_prefix}-${var.geofences_table}"
      hash_key   = "geofence_id"
      range_key  = null
      attributes = [{ name = "geofence_id", type = "S" }]
      stream     = false
      ttl        = false
      rcu        = var.rcu
      wcu        = var.wcu
      gsi        = []
      gsi_rcu    = null
      gsi_wcu    = null
    }
    compliance_status = {
      name       = "${local.name_prefix}-${var.compliance_status_table}"
      hash_key   = "fleet_id"
      range_key  = "report_date"
      attributes = [{ name = "fleet_id", type = "S" }, { name = "report_date", type = "S" }]
      stream     = false
      ttl        = false
      rcu        = var.rcu
      wcu        = var.wcu
      gsi        = []
      gsi_rcu    = null
      gsi_wcu    = null
    }
  }

  topics = {
    alerts      = "${local.name_prefix}-${var.alerts_topic}"
    maintenance = "${local.name_prefix}-${var.maintenance_topic}"
    violations  = "${local.name_prefix}-${var.violations_topic}"
    summary     = "${local.name_prefix}-${var.summary_topic}"
    geofence    = "${local.name_prefix}-${var.geofence_topic}"
    coaching    = "${local.name_prefix}-${var.coaching_topic}"
    ops         = "${local.name_prefix}-${var.ops_alarms_topic}"
  }

  # Work queues, each with its own DLQ (redrive after max_receive_count receives).
  queues = {
    maintenance = {
      name                       = "${local.name_prefix}-${var.maintenance_queue}"
      visibility_timeout_seconds = var.visibility_timeout
      message_retention_seconds  = var.retention_seconds
    }
    driver = {
      name                       = "${local.name_prefix}-${var.driver_queue}"
      visibility_timeout_seconds = var.visibility_timeout
      message_retention_seconds  = var.retention_seconds
    }
    fleet = {
      name                       = "${local.name_prefix}-${var.fleet_queue}"
      visibility_timeout_seconds = var.visibility_timeout
      message_retention_seconds  = var.retention_seconds
    }
    training = {
      name                       = "${local.name_prefix}-${var.training_queue}"
      visibility_timeout_seconds = var.visibility_timeout
      message_retention_seconds  = var.retention_seconds
    }
  }

  # Dead-letter queues: one per work queue, one per stream event source mapping (on_failure destination) and
  # one for asynchronous Lambda invocations (SNS-triggered functions).
  dlqs = {
    maintenance            = { visibility_timeout_seconds = var.visibility_timeout, message_retention_seconds = var.dlq_retention_seconds }
    driver                 = { visibility_timeout_seconds = var.visibility_timeout, message_retention_seconds = var.dlq_retention_seconds }
    fleet                  = { visibility_timeout_seconds = var.visibility_timeout, message_retention_seconds = var.dlq_retention_seconds }
    training               = { visibility_timeout_seconds = var.visibility_timeout, message_retention_seconds = var.dlq_retention_seconds }
    diagnostics_processor  = { visibility_timeout_seconds = var.visibility_timeout, message_retention_seconds = var.dlq_retention_seconds }
    anomaly_detector       = { visibility_timeout_seconds = var.visibility_timeout, message_retention_seconds = var.dlq_retention_seconds }
    predictive_maintenance = { visibility_timeout_seconds = var.visibility_timeout, message_retention_seconds = var.dlq_retention_seconds }
    fuel_analytics         = { visibility_timeout_seconds = var.visibility_timeout, message_retention_seconds = var.dlq_retention_seconds }
    hos_validator          = { visibility_timeout_seconds = var.visibility_timeout, message_retention_seconds = var.dlq_retention_seconds }
    location_processor     = { visibility_timeout_seconds = var.visibility_timeout, message_retention_seconds = var.dlq_retention_seconds }
    lambda_async           = { visibility_timeout_seconds = var.visibility_timeout, message_retention_seconds = var.dlq_retention_seconds }
    event_target           = { visibility_timeout_seconds = var.visibility_timeout, message_retention_seconds = var.dlq_retention_seconds }
  }

  # SNS -> SQS fan-out. Publishers set the message attribute `severity` (critical|high|medium|low); raw
  # delivery keeps it as an SQS message attribute.
  sns_sqs_subscriptions = {
    alerts_to_maintenance      = { topic = "alerts", queue = "maintenance", severities = ["critical", "high", "medium"] }
    alerts_to_driver           = { topic = "alerts", queue = "driver", severities = ["critical", "high"] }
    alerts_to_fleet            = { topic = "alerts", queue = "fleet", severities = ["critical", "high", "medium", "low"] }
    maintenance_to_maintenance = { topic = "maintenance", queue = "maintenance", severities = ["critical", "high"] }
    violations_to_driver       = { topic = "violations", queue = "driver", severities = ["critical", "high"] }
    violations_to_fleet        = { topic = "violations", queue = "fleet", severities = ["critical", "high", "medium", "low"] }
    geofence_to_fleet          = { topic = "geofence", queue = "fleet", severities = ["critical", "high", "medium", "low"] }
  }

  # SNS -> Lambda.
  sns_lambda_subscriptions = {
    violations_report = { topic = "violations", function = "hos_report_generator" }
    coaching_sender   = { topic = "coaching", function = "coaching_sender" }
  }

  # SNS -> external HTTPS systems.
  sns_https_subscriptions = {
    alerts_partner = { topic = "alerts", endpoint = var.external_alerts_endpoint, severities = ["critical", "high"] }
    summary_export = { topic = "summary", endpoint = var.external_compliance_endpoint, severities = ["critical", "high", "medium", "low", "info"] }
  }

  # Sum of every function's reserved concurrency, checked against the account quota (aws_lambda_function.this).
  reserved_concurrency_total = sum([for f in values(local.lambda_functions) : f.reserved])

  # Lambda functions: capacities are var refs. Every function gets the dependency layer: telematics_common
  # (packaged with every handler) imports redis and pg8000 lazily.
  lambda_functions = {
    diagnostics_processor  = { memory = var.processor_memory, timeout = var.timeout_s, reserved = var.reserved_concurrency, description = "Validates OBD-II records and batch-writes vehicle_diagnostics" }
    anomaly_detector       = { memory = var.anomaly_memory, timeout = var.timeout_s, reserved = var.reserved_concurrency, description = "Thresholds + Redis rolling-window trends on the diagnostics table stream" }
    maintenance_consumer   = { memory = var.maintenance_memory, timeout = var.timeout_s, reserved = var.consumer_reserved_concurrency, description = "Creates work orders in Aurora maintenance_schedule" }
    driver_notifier        = { memory = var.driver_notifier_memory, timeout = var.timeout_s, reserved = var.consumer_reserved_concurrency, description = "Sends in-cab warnings through the telematics API" }
    fleet_consumer         = { memory = var.fleet_memory, timeout = var.timeout_s, reserved = var.consumer_reserved_concurrency, description = "Maintains Redis alert counters for the fleet dashboard" }
    predictive_maintenance = { memory = var.predictive_memory, timeout = var.timeout_s, reserved = var.reserved_concurrency, description = "Aurora history + SageMaker failure predictions" }
    hos_validator          = { memory = var.hos_memory, timeout = var.timeout_s, reserved = var.reserved_concurrency, description = "Applies the DOT hours-of-service rules to duty status changes" }
    hos_report_generator   = { memory = var.hos_report_memory, timeout = var.report_timeout_s, reserved = var.consumer_reserved_concurrency, description = "Writes HOS violation reports to the object-locked bucket" }
    location_processor     = { memory = var.location_memory, timeout = var.timeout_s, reserved = var.reserved_concurrency, description = "Latest position, Redis GEO index and geofence checks" }
    fuel_analytics         = { memory = var.fuel_memory, timeout = var.timeout_s, reserved = var.reserved_concurrency, description = "MPG / idle analytics and coaching recommendations" }
    coaching_sender        = { memory = var.coaching_memory, timeout = var.timeout_s, reserved = var.consumer_reserved_concurrency, description = "Queues coaching material for the driver training system" }
    firehose_transform     = { memory = var.transform_memory, timeout = var.timeout_s, reserved = var.reserved_concurrency, description = "Firehose record transformation and partition keys" }
    dot_report_builder     = { memory = var.dot_report_memory, timeout = var.report_timeout_s, reserved = var.consumer_reserved_concurrency, description = "Builds FMCSA-compliant DOT reports for the Step Functions workflow" }
  }

  # Kinesis / DynamoDB stream event source mappings (one on-failure DLQ each, same key).
  stream_mappings = {
    diagnostics_processor = {
      source_arn           = aws_kinesis_stream_consumer.diagnostics["diagnostics_processor"].arn
      batch_size           = var.stream_batch_size
      parallelization      = var.diagnostics_parallelization_factor
      starting_position    = "LATEST"
      filter_pattern       = null
      report_item_failures = true
    }
    predictive_maintenance = {
      source_arn           = aws_kinesis_stream_consumer.diagnostics["predictive_maintenance"].arn
      batch_size           = var.stream_batch_size
      parallelization      = var.diagnostics_parallelization_factor
      starting_position    = "LATEST"
      filter_pattern       = null
      report_item_failures = true
    }
    fuel_analytics = {
      source_arn           = aws_kinesis_stream_consumer.diagnostics["fuel_analytics"].arn
      batch_size           = var.stream_batch_size
      parallelization      = var.diagnostics_parallelization_factor
      starting_position    = "LATEST"
      filter_pattern       = null
      report_item_failures = true
    }
    hos_validator = {
      source_arn           = aws_kinesis_stream.this["hos"].arn
      batch_size           = var.stream_batch_size
      parallelization      = var.hos_parallelization_factor
      starting_position    = "TRIM_HORIZON"
      filter_pattern       = null
      report_item_failures = true
    }
    location_processor = {
      source_arn           = aws_kinesis_stream.this["gps"].arn
      batch_size           = var.stream_batch_size
      parallelization      = var.gps_parallelization_factor
      starting_position    = "LATEST"
      filter_pattern       = null
      report_item_failures = true
    }
    anomaly_detector = {
      source_arn           = aws_dynamodb_table.this["diagnostics"].stream_arn
      batch_size           = var.stream_batch_size
      parallelization      = var.anomaly_parallelization_factor
      starting_position    = "LATEST"
      filter_pattern       = jsonencode({ eventName = ["INSERT"] })
      report_item_failures = true
    }
  }

  queue_mappings = {
    maintenance_consumer = "maintenance"
    driver_notifier      = "driver"
    fleet_consumer       = "fleet"
  }

  buckets = {
    # Reports stay queryable for audits (Glacier Instant Retrieval); the data lake goes to Glacier; Athena
    # results expire.
    reports = {
      name             = "${local.name_prefix}-${var.reports_bucket}-${local.account_id}"
      object_lock      = true
      transition       = true
      transition_days  = var.lifecycle_archive_days
      transition_class = "GLACIER_IR"
      expire           = false
      expiration_days  = null
      noncurrent_days  = null
    }
    data_lake = {
      name             = "${local.name_prefix}-${var.data_lake_bucket}-${local.account_id}"
      object_lock      = false
      transition       = true
      transition_days  = var.lifecycle_archive_days
      transition_class = "GLACIER"
      expire           = false
      expiration_days  = null
      noncurrent_days  = 30
    }
    athena = {
      name             = "${local.name_prefix}-${var.output_bucket}-${local.account_id}"
      object_lock      = false
      transition       = false
      transition_days  = null
      transition_class = null
      expire           = true
      expiration_days  = var.athena_results_expiration_days
      noncurrent_days  = 7
    }
  }

  # Built from the name (not the resource) so the workflow's own role can reference it without a cycle.
  dot_reporting_name = "${local.name_prefix}-dot-reporting"
  dot_reporting_arn  = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.name_prefix}-dot-reporting"

  redis_primary_cluster_id = "${aws_elasticache_replication_group.redis.replication_group_id}-001"
  # Every node of the replication group (<group>-001 ... -00N): alarms watch all of them, so they survive failover.
  redis_node_ids = [for i in range(var.num_cache_clusters) : format("%s-redis-%03d", local.name_prefix, i + 1)]

  # SageMaker has no endpoint data source in provider 5.99.1; the endpoint is resolved through Cloud Control
  # (AWS::SageMaker::Endpoint, identified by its ARN), which fails the plan if the endpoint does not exist.
  predictive_endpoint_arn  = "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:endpoint/${lower(var.predictive_endpoint_name)}"
  predictive_endpoint_name = var.verify_predictive_endpoint ? jsondecode(one(data.aws_cloudcontrolapi_resource.predictive_endpoint[*].properties)).EndpointName : var.predictive_endpoint_name

  redis_env = {
    REDIS_HOST            = aws_elasticache_replication_group.redis.primary_endpoint_address
    REDIS_PORT            = "6379"
    REDIS_AUTH_SECRET_ARN = aws_secretsmanager_secret.redis_auth.arn
  }

  aurora_env = {
    DB_HOST       = aws_rds_cluster.aurora.endpoint
    DB_PORT       = "5432"
    DB_NAME       = var.aurora_database_name
    DB_SECRET_ARN = aws_rds_cluster.aurora.master_user_secret[0].secret_arn
    DB_CA_BUNDLE  = "/opt/certs/rds-global-bundle.pem"
  }

  lambda_env = {
    diagnostics_processor = {
      DIAGNOSTICS_TABLE    = aws_dynamodb_table.this["diagnostics"].name
      TTL_ATTRIBUTE        = var.ttl_attribute
      DIAGNOSTICS_TTL_DAYS = tostring(var.compliance_diagnostics_ttl_days)
    }
    anomaly_detector = merge(local.redis_env, {
      THRESHOLDS_TABLE       = aws_dynamodb_table.this["thresholds"].name
      ALERTS_TOPIC_ARN       = aws_sns_topic.this["alerts"].arn
      ANOMALY_WINDOW_SECONDS = tostring(var.anomaly_window_seconds)
    })
    maintenance_consumer = local.aurora_env
    driver_notifier = {
      TELEMATICS_API_URL = "${aws_api_gateway_stage.telematics.invoke_url}/messages"
    }
    fleet_consumer = local.redis_env
    predictive_maintenance = merge(local.aurora_env, {
      SAGEMAKER_ENDPOINT_NAME         = local.predictive_endpoint_name
      PREDICTIONS_TABLE               = aws_dynamodb_table.this["predictions"].name
      MAINTENANCE_TOPIC_ARN           = aws_sns_topic.this["maintenance"].arn
      CONFIDENCE_THRESHOLD            = tostring(var.predictive_confidence_threshold)
      PREDICTION_MIN_INTERVAL_SECONDS = tostring(var.prediction_min_interval_seconds)
      PREDICTIONS_TTL_DAYS            = tostring(var.predictions_ttl_days)
      TTL_ATTRIBUTE                   = var.ttl_attribute
      METRIC_NAMESPACE                = local.metric_namespace
    })
    hos_validator = {
      COMPLIANCE_RULES_TABLE     = aws_dynamodb_table.this["compliance_rules"].name
      DRIVER_LOGS_TABLE          = aws_dynamodb_table.this["driver_logs"].name
      VIOLATIONS_TOPIC_ARN       = aws_sns_topic.this["violations"].arn
      RULE_SET_ID                = "us-property-carrier"
      TTL_ATTRIBUTE              = var.ttl_attribute
      DRIVER_LOGS_RETENTION_DAYS = tostring(var.compliance_driver_logs_retention_days)
    }
    hos_report_generator = {
      REPORTS_BUCKET    = aws_s3_bucket.this["reports"].id
      DRIVER_LOGS_TABLE = aws_dynamodb_table.this["driver_logs"].name
      KMS_KEY_ARN       = aws_kms_key.main.arn
    }
    location_processor = merge(local.redis_env, {
      LOCATIONS_TABLE    = aws_dynamodb_table.this["locations"].name
      GEOFENCES_TABLE    = aws_dynamodb_table.this["geofences"].name
      GEOFENCE_TOPIC_ARN = aws_sns_topic.this["geofence"].arn
    })
    fuel_analytics = merge(local.redis_env, local.aurora_env, {
      COACHING_TOPIC_ARN        = aws_sns_topic.this["coaching"].arn
      FUEL_EFFICIENCY_THRESHOLD = tostring(var.fuel_efficiency_threshold)
    })
    coaching_sender = {
      TRAINING_QUEUE_URL = aws_sqs_queue.this["training"].url
    }
    firehose_transform = {
      DEFAULT_VEHICLE_TYPE = "unknown"
    }
    dot_report_builder = merge(local.aurora_env, {
      DRIVER_LOGS_TABLE      = aws_dynamodb_table.this["driver_logs"].name
      REPORTS_BUCKET         = aws_s3_bucket.this["reports"].id
      KMS_KEY_ARN            = aws_kms_key.main.arn
      PDF_API_URL            = var.fmcsa_pdf_api_url
      PDF_API_KEY_SECRET_ARN = aws_secretsmanager_secret.pdf_api_key.arn
      FLEETS_PER_BATCH       = tostring(var.report_fleets_per_batch_size)
    })
  }

  # Extra files per package: zip path => path in this stack.
  common_module = {
    "telematics_common.py" = "lambda/telematics_common.py"
    "schema.sql"           = "lambda/schema.sql" # the Aurora tables ensure_schema creates
  }
  diagnostics_schema = {
    "record_schema.py"                = "lambda/record_schema.py"
    "schemas/diagnostics_record.json" = "schemas/diagnostics_record.json"
  }
  lambda_bundled_files = {
    diagnostics_processor  = merge(local.common_module, local.diagnostics_schema)
    anomaly_detector       = local.common_module
    maintenance_consumer   = local.common_module
    driver_notifier        = local.common_module
    fleet_consumer         = local.common_module
    predictive_maintenance = merge(local.common_module, local.diagnostics_schema)
    hos_validator = merge(local.common_module, {
      "record_schema.py"        = "lambda/record_schema.py"
      "schemas/hos_record.json" = "schemas/hos_record.json"
    })
    hos_report_generator = local.common_module
    location_processor = merge(local.common_module, {
      "record_schema.py"        = "lambda/record_schema.py"
      "schemas/gps_record.json" = "schemas/gps_record.json"
    })
    fuel_analytics     = merge(local.common_module, local.diagnostics_schema)
    coaching_sender    = local.common_module
    firehose_transform = local.diagnostics_schema
    dot_report_builder = local.common_module
  }

  kinesis_read_actions = [
    "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator",
    "kinesis:ListShards", "kinesis:ListStreams", "kinesis:SubscribeToShard", "kinesis:DescribeStreamConsumer",
  ]

  # Least-privilege statements per function (logs, KMS, X-Ray, VPC and the async DLQ are added to every role).
  lambda_statements = {
    diagnostics_processor = [
      { sid = "ReadDiagnosticsStream", actions = local.kinesis_read_actions, resources = [aws_kinesis_stream.this["diagnostics"].arn, aws_kinesis_stream_consumer.diagnostics["diagnostics_processor"].arn] },
      { sid = "WriteDiagnostics", actions = ["dynamodb:BatchWriteItem", "dynamodb:PutItem"], resources = [aws_dynamodb_table.this["diagnostics"].arn] },
      { sid = "OnFailureDlq", actions = ["sqs:SendMessage"], resources = [aws_sqs_queue.dlq["diagnostics_processor"].arn] },
    ]
    anomaly_detector = [
      { sid = "ReadTableStream", actions = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"], resources = [aws_dynamodb_table.this["diagnostics"].stream_arn] },
      { sid = "ReadThresholds", actions = ["dynamodb:BatchGetItem", "dynamodb:GetItem"], resources = [aws_dynamodb_table.this["thresholds"].arn] },
      { sid = "PublishAlerts", actions = ["sns:Publish"], resources = [aws_sns_topic.this["alerts"].arn] },
      { sid = "RedisAuth", actions = ["secretsmanager:GetSecretValue"], resources = [aws_secretsmanager_secret.redis_auth.arn] },
      { sid = "OnFailureDlq", actions = ["sqs:SendMessage"], resources = [aws_sqs_queue.dlq["anomaly_detector"].arn] },
    ]
    maintenance_consumer = [
      { sid = "ConsumeQueue", actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"], resources = [aws_sqs_queue.this["maintenance"].arn] },
      { sid = "AuroraSecret", actions = ["secretsmanager:GetSecretValue"], resources = [aws_rds_cluster.aurora.master_user_secret[0].secret_arn] },
    ]
    driver_notifier = [
      { sid = "ConsumeQueue", actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"], resources = [aws_sqs_queue.this["driver"].arn] },
      { sid = "InvokeTelematicsApi", actions = ["execute-api:Invoke"], resources = ["${aws_api_gateway_rest_api.telematics.execution_arn}/${aws_api_gateway_stage.telematics.stage_name}/POST/messages"] },
    ]
    fleet_consumer = [
      { sid = "ConsumeQueue", actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"], resources = [aws_sqs_queue.this["fleet"].arn] },
      { sid = "RedisAuth", actions = ["secretsmanager:GetSecretValue"], resources = [aws_secretsmanager_secret.redis_auth.arn] },
    ]
    predictive_maintenance = [
      { sid = "ReadDiagnosticsStream", actions = local.kinesis_read_actions, resources = [aws_kinesis_stream.this["diagnostics"].arn, aws_kinesis_stream_consumer.diagnostics["predictive_maintenance"].arn] },
      { sid = "InvokeEndpoint", actions = ["sagemaker:InvokeEndpoint"], resources = [local.predictive_endpoint_arn] },
      { sid = "WritePredictions", actions = ["dynamodb:PutItem", "dynamodb:BatchWriteItem"], resources = [aws_dynamodb_table.this["predictions"].arn] },
      { sid = "PublishMaintenance", actions = ["sns:Publish"], resources = [aws_sns_topic.this["maintenance"].arn] },
      { sid = "AuroraSecret", actions = ["secretsmanager:GetSecretValue"], resources = [aws_rds_cluster.aurora.master_user_secret[0].secret_arn] },
      { sid = "OnFailureDlq", actions = ["sqs:SendMessage"], resources = [aws_sqs_queue.dlq["predictive_maintenance"].arn] },
    ]
    hos_validator = [
      { sid = "ReadHosStream", actions = local.kinesis_read_actions, resources = [aws_kinesis_stream.this["hos"].arn] },
      { sid = "ReadRules", actions = ["dynamodb:GetItem"], resources = [aws_dynamodb_table.this["compliance_rules"].arn] },
      { sid = "DriverLogs", actions = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"], resources = [aws_dynamodb_table.this["driver_logs"].arn] },
      { sid = "PublishViolations", actions = ["sns:Publish"], resources = [aws_sns_topic.this["violations"].arn] },
      { sid = "OnFailureDlq", actions = ["sqs:SendMessage"], resources = [aws_sqs_queue.dlq["hos_validator"].arn] },
    ]
    hos_report_generator = [
      { sid = "ReadDriverLogs", actions = ["dynamodb:Query"], resources = [aws_dynamodb_table.this["driver_logs"].arn] },
      { sid = "WriteReports", actions = ["s3:PutObject"], resources = ["${aws_s3_bucket.this["reports"].arn}/hos-violations/*"] },
    ]
    location_processor = [
      { sid = "ReadGpsStream", actions = local.kinesis_read_actions, resources = [aws_kinesis_stream.this["gps"].arn] },
      { sid = "WriteLocations", actions = ["dynamodb:PutItem"], resources = [aws_dynamodb_table.this["locations"].arn] },
      { sid = "ReadGeofences", actions = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Scan"], resources = [aws_dynamodb_table.this["geofences"].arn] },
      { sid = "PublishGeofence", actions = ["sns:Publish"], resources = [aws_sns_topic.this["geofence"].arn] },
      { sid = "RedisAuth", actions = ["secretsmanager:GetSecretValue"], resources = [aws_secretsmanager_secret.redis_auth.arn] },
      { sid = "OnFailureDlq", actions = ["sqs:SendMessage"], resources = [aws_sqs_queue.dlq["location_processor"].arn] },
    ]
    fuel_analytics = [
      { sid = "ReadDiagnosticsStream", actions = local.kinesis_read_actions, resources = [aws_kinesis_stream.this["diagnostics"].arn, aws_kinesis_stream_consumer.diagnostics["fuel_analytics"].arn] },
      { sid = "PublishCoaching", actions = ["sns:Publish"], resources = [aws_sns_topic.this["coaching"].arn] },
      { sid = "Secrets", actions = ["secretsmanager:GetSecretValue"], resources = [aws_secretsmanager_secret.redis_auth.arn, aws_rds_cluster.aurora.master_user_secret[0].secret_arn] },
      { sid = "OnFailureDlq", actions = ["sqs:SendMessage"], resources = [aws_sqs_queue.dlq["fuel_analytics"].arn] },
    ]
    coaching_sender = [
      { sid = "SendTraining", actions = ["sqs:SendMessage"], resources = [aws_sqs_queue.this["training"].arn] },
    ]
    firehose_transform = [
      { sid = "DescribeOwnLogGroup", actions = ["logs:DescribeLogStreams"], resources = ["${aws_cloudwatch_log_group.lambda["firehose_transform"].arn}:*"] },
    ]
    dot_report_builder = [
      { sid = "ReadDriverLogs", actions = ["dynamodb:Query"], resources = [aws_dynamodb_table.this["driver_logs"].arn] },
      { sid = "WriteReports", actions = ["s3:PutObject"], resources = ["${aws_s3_bucket.this["reports"].arn}/dot-reports/*"] },
      { sid = "Secrets", actions = ["secretsmanager:GetSecretValue"], resources = [aws_rds_cluster.aurora.master_user_secret[0].secret_arn, aws_secretsmanager_secret.pdf_api_key.arn] },
    ]
  }

  interface_endpoints = {
    kinesis           = "kinesis-streams"
    sns               = "sns"
    sqs               = "sqs"
    sagemaker_runtime = "sagemaker.runtime"
    secretsmanager    = "secretsmanager"
  }

}

###############################################################################
# Data sources
###############################################################################

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# Pinned to named zones so the subnet -> AZ mapping can never shift when AWS adds a zone.
data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "zone-name"
    values = formatlist("%s%s", var.aws_region, ["a", "b", "c"])
  }
}

# The SageMaker endpoint is an explicit prerequisite (deployed by the model pipeline, not by this stack): the
# lookup fails the plan while it does not exist, unless verify_predictive_endpoint = false (bootstrap; README).
data "aws_cloudcontrolapi_resource" "predictive_endpoint" {
  count = var.verify_predictive_endpoint ? 1 : 0

  type_name  = "AWS::SageMaker::Endpoint"
  identifier = local.predictive_endpoint_arn
}

###############################################################################
# KMS - one customer managed key for every data store of the stack
###############################################################################

resource "aws_kms_key" "main" {
  description             = "${local.name_prefix} vehicle data (Kinesis, DynamoDB, SNS, SQS, S3, logs, Redis, Aurora)"
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
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*" }
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
        # SNS delivering to encrypted SQS, CloudWatch alarms and EventBridge publishing to encrypted SNS.
        Sid       = "AwsServicesPublishing"
        Effect    = "Allow"
        Principal = { Service = ["sns.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com"] }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name_prefix}-telematics"
  target_key_id = aws_kms_key.main.key_id
}

###############################################################################
# Network
###############################################################################

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_hostnames = true
  enable_dns_support   = true

  tags = { Name = "${local.name_prefix}-vpc" }
}

# Lock down the default security group (nothing may use it).
resource "aws_default_security_group" "default" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "${local.name_prefix}-default-deny" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "${local.name_prefix}-igw" }
}

resource "aws_subnet" "public" {
  for_each = local.public_subnets

  vpc_id                  = aws_vpc.main.id
  cidr_block              = each.value
  availability_zone       = data.aws_availability_zones.available.names[tonumber(each.key)]
  map_public_ip_on_launch = false

  tags = { Name = "${local.name_prefix}-public-${each.key}", Tier = "public" }
}

resource "aws_subnet" "private" {
  for_each = local.private_subnets

  vpc_id            = aws_vpc.main.id
  cidr_block        = each.value
  availability_zone = data.aws_availability_zones.available.names[tonumber(each.key)]

  tags = { Name = "${local.name_prefix}-private-${each.key}", Tier = "private" }
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
  for_each = aws_subnet.public

  subnet_id      = each.value.id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  for_each = local.nat_subnets

  domain = "vpc"
  tags   = { Name = "${local.name_prefix}-nat-${each.key}" }
}

# One NAT gateway per AZ so an AZ outage does not cut the other AZ's egress.
resource "aws_nat_gateway" "main" {
  for_each = local.nat_subnets

  allocation_id = aws_eip.nat[each.key].id
  subnet_id     = aws_subnet.public[each.key].id
  tags          = { Name = "${local.name_prefix}-nat-${each.key}" }

  depends_on = [aws_internet_gateway.main]
}

resource "aws_route_table" "private" {
  for_each = local.private_subnets

  vpc_id = aws_vpc.main.id
  tags   = { Name = "${local.name_prefix}-private-${each.key}" }
}

resource "aws_route" "private_nat" {
  for_each = local.nat_subnets

  route_table_id         = aws_route_table.private[each.key].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.main[each.key].id
}

resource "aws_route_table_association" "private" {
  for_each = aws_subnet.private

  subnet_id      = each.value.id
  route_table_id = aws_route_table.private[each.key].id
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  #checkov:skip=CKV_AWS_338:Retention is the per-env var log_retention_days (1 year in prod is set by tfvars policy, shorter in dev).
  name              = "/aws/vpc/${local.name_prefix}-flow-logs"
  retention_in_days = var.log_retention_days
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
  name               = "${local.name_prefix}-vpc-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs.arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

resource "aws_flow_log" "vpc" {
  vpc_id          = aws_vpc.main.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn    = aws_iam_role.flow_logs.arn
}

# Security groups: Lambda -> (endpoints 443, Redis 6379, Aurora 5432, internet 443 via NAT).
resource "aws_security_group" "lambda" {
  name        = "${local.name_prefix}-lambda"
  description = "Telematics Lambda functions"
  vpc_id      = aws_vpc.main.id
  tags        = { Name = "${local.name_prefix}-lambda" }
}

resource "aws_security_group" "endpoints" {
  name        = "${local.name_prefix}-endpoints"
  description = "Interface VPC endpoints (HTTPS from the Lambda functions)"
  vpc_id      = aws_vpc.main.id
  tags        = { Name = "${local.name_prefix}-endpoints" }
}

resource "aws_security_group" "redis" {
  name        = "${local.name_prefix}-redis"
  description = "ElastiCache Redis (TLS 6379 from the Lambda functions)"
  vpc_id      = aws_vpc.main.id
  tags        = { Name = "${local.name_prefix}-redis" }
}

resource "aws_security_group" "aurora" {
  name        = "${local.name_prefix}-aurora"
  description = "Aurora PostgreSQL (5432 from the Lambda functions)"
  vpc_id      = aws_vpc.main.id
  tags        = { Name = "${local.name_prefix}-aurora" }
}

resource "aws_vpc_security_group_egress_rule" "lambda_https" {
  security_group_id = aws_security_group.lambda.id
  description       = "HTTPS to AWS endpoints and the external telematics/PDF APIs (via NAT)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "lambda_redis" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "Redis"
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

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  security_group_id            = aws_security_group.endpoints.id
  description                  = "HTTPS from the Lambda functions"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_vpc_security_group_ingress_rule" "redis_lambda" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from the Lambda functions"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_vpc_security_group_ingress_rule" "aurora_lambda" {
  security_group_id            = aws_security_group.aurora.id
  description                  = "PostgreSQL from the Lambda functions"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.lambda.id
}

# Gateway endpoints keep DynamoDB and S3 traffic (the bulk of the writes) off the NAT gateways.
resource "aws_vpc_endpoint" "gateway" {
  for_each = toset(["dynamodb", "s3"])

  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [for rt in aws_route_table.private : rt.id]

  tags = { Name = "${local.name_prefix}-${each.key}" }
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.interface_endpoints

  vpc_id              = aws_vpc.main.id
  service_name        = "com.amazonaws.${local.region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = [for s in aws_subnet.private : s.id]
  security_group_ids  = [aws_security_group.endpoints.id]

  tags = { Name = "${local.name_prefix}-${each.key}" }
}

###############################################################################
# Kinesis Data Streams (partition key: vehicle_id)
###############################################################################

resource "aws_kinesis_stream" "this" {
  for_each = local.streams

  name             = each.value.name
  shard_count      = var.stream_mode == "PROVISIONED" ? each.value.shard_count : null
  retention_period = var.retention_hours
  encryption_type  = "KMS"
  kms_key_id       = aws_kms_key.main.arn

  shard_level_metrics = [
    "IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords", "IteratorAgeMilliseconds",
    "ReadProvisionedThroughputExceeded", "WriteProvisionedThroughputExceeded",
  ]

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  tags = { Stream = each.key }
}

resource "aws_kinesis_stream_consumer" "diagnostics" {
  for_each = local.diagnostics_consumers

  name       = "${local.name_prefix}-${each.value}"
  stream_arn = aws_kinesis_stream.this["diagnostics"].arn
}

###############################################################################
# DynamoDB
###############################################################################

resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV2_AWS_16:Provisioned RCU/WCU are the stack's capacity contract (sized in tfvars with headroom and load-tested by loadgen); auto scaling would move the numbers under test.
  for_each = local.tables

  name                        = each.value.name
  billing_mode                = var.billing_mode
  read_capacity               = var.billing_mode == "PROVISIONED" ? each.value.rcu : null
  write_capacity              = var.billing_mode == "PROVISIONED" ? each.value.wcu : null
  hash_key                    = each.value.hash_key
  range_key                   = each.value.range_key
  stream_enabled              = each.value.stream
  stream_view_type            = each.value.stream ? "NEW_IMAGE" : null
  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = each.value.attributes
    content {
      name = attribute.value.name
      type = attribute.value.type
    }
  }

  dynamic "global_secondary_index" {
    for_each = each.value.gsi
    content {
      name               = global_secondary_index.value.name
      hash_key           = global_secondary_index.value.hash_key
      range_key          = global_secondary_index.value.range_key
      projection_type    = "INCLUDE"
      non_key_attributes = global_secondary_index.value.non_key_attributes
      read_capacity      = var.billing_mode == "PROVISIONED" ? each.value.gsi_rcu : null
      write_capacity     = var.billing_mode == "PROVISIONED" ? each.value.gsi_wcu : null
    }
  }

  dynamic "ttl" {
    for_each = each.value.ttl ? [var.ttl_attribute] : []
    content {
      attribute_name = ttl.value
      enabled        = var.ttl_enabled
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }

  tags = { Table = each.key }
}

###############################################################################
# SNS
###############################################################################

resource "aws_sns_topic" "this" {
  for_each = local.topics

  name              = each.value
  kms_master_key_id = aws_kms_key.main.id

  tags = { Topic = each.key }
}

resource "aws_sns_topic_subscription" "sqs" {
  for_each = local.sns_sqs_subscriptions

  topic_arn            = aws_sns_topic.this[each.value.topic].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.this[each.value.queue].arn
  raw_message_delivery = true
  filter_policy_scope  = "MessageAttributes"
  filter_policy        = jsonencode({ severity = each.value.severities })
  # A message SNS cannot deliver (queue policy, KMS) lands in the queue's DLQ instead of being dropped.
  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.dlq[each.value.queue].arn })
}

# Which services may write into a DLQ: SNS for the subscriptions' undeliverable messages, EventBridge for the
# DOT-reporting target's failed invocations.
locals {
  dlq_writers = merge(
    { for q in distinct([for s in local.sns_sqs_subscriptions : s.queue]) : q => {
      service = "sns.amazonaws.com"
      sources = distinct([for s in local.sns_sqs_subscriptions : aws_sns_topic.this[s.topic].arn if s.queue == q])
    } },
    { event_target = { service = "events.amazonaws.com", sources = [aws_cloudwatch_event_rule.dot_reporting.arn] } },
  )
}

resource "aws_sqs_queue_policy" "dlq" {
  for_each  = local.dlq_writers
  queue_url = aws_sqs_queue.dlq[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "ServiceDeadLetters"
      Effect    = "Allow"
      Principal = { Service = each.value.service }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.dlq[each.key].arn
      Condition = { ArnEquals = { "aws:SourceArn" = each.value.sources } }
    }]
  })
}

resource "aws_sns_topic_subscription" "lambda" {
  for_each = local.sns_lambda_subscriptions

  topic_arn = aws_sns_topic.this[each.value.topic].arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.this[each.value.function].arn
}

resource "aws_lambda_permission" "sns" {
  for_each = local.sns_lambda_subscriptions

  statement_id  = "AllowSns-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.value.function].function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.this[each.value.topic].arn
}

# External systems (partner alerting, compliance archive) over HTTPS; they confirm the subscription themselves.
resource "aws_sns_topic_subscription" "https" {
  for_each = local.sns_https_subscriptions

  topic_arn                       = aws_sns_topic.this[each.value.topic].arn
  protocol                        = "https"
  endpoint                        = each.value.endpoint
  endpoint_auto_confirms          = false
  confirmation_timeout_in_minutes = 5
  filter_policy_scope             = "MessageAttributes"
  filter_policy                   = jsonencode({ severity = each.value.severities })
  delivery_policy = jsonencode({
    healthyRetryPolicy = {
      minDelayTarget     = 5
      maxDelayTarget     = 300
      numRetries         = 20
      numNoDelayRetries  = 2
      numMinDelayRetries = 3
      numMaxDelayRetries = 5
      backoffFunction    = "exponential"
    }
  })
}

###############################################################################
# SQS
###############################################################################

resource "aws_sqs_queue" "dlq" {
  for_each = local.dlqs

  name                       = "${local.name_prefix}-${replace(each.key, "_", "-")}-dlq"
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  message_retention_seconds  = each.value.message_retention_seconds
  kms_master_key_id          = aws_kms_key.main.id

  tags = { Queue = each.key, Role = "dlq" }
}

resource "aws_sqs_queue" "this" {
  for_each = local.queues

  name                       = each.value.name
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  message_retention_seconds  = each.value.message_retention_seconds
  receive_wait_time_seconds  = 20
  kms_master_key_id          = aws_kms_key.main.id

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = { Queue = each.key }
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  for_each = local.queues

  queue_url = aws_sqs_queue.dlq[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this[each.key].arn]
  })
}

# SNS may deliver only from this stack's topics; every queue denies plain-HTTP access.
data "aws_iam_policy_document" "queue" {
  for_each = local.queues

  statement {
    sid       = "AllowStackTopics"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this[each.key].arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for t in aws_sns_topic.this : t.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.this[each.key].arn]
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

resource "aws_sqs_queue_policy" "this" {
  for_each = local.queues

  queue_url = aws_sqs_queue.this[each.key].id
  policy    = data.aws_iam_policy_document.queue[each.key].json
}

###############################################################################
# Lambda
###############################################################################

# Each package holds its handler plus the shared modules and record schemas it imports (the handlers validate
# Kinesis records against the very schemas/*.json files the producers are generated from).
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
  for_each = local.lambda_functions

  type        = "zip"
  output_path = "${path.module}/.build/${each.key}.zip"

  source {
    content  = file("${path.module}/lambda/${each.key}.py")
    filename = "${each.key}.py"
  }

  dynamic "source" {
    for_each = local.lambda_bundled_files[each.key]
    content {
      content  = file("${path.module}/${source.value}")
      filename = source.key
    }
  }
}

resource "aws_cloudwatch_log_group" "lambda" {
  #checkov:skip=CKV_AWS_338:Retention is the per-env var log_retention_days; long-term evidence lives in S3 (reports bucket, data lake).
  for_each = local.lambda_functions

  name              = "/aws/lambda/${local.name_prefix}-${replace(each.key, "_", "-")}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
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
  for_each = local.lambda_functions

  name               = "${local.name_prefix}-${replace(each.key, "_", "-")}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "lambda" {
  for_each = local.lambda_functions

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda[each.key].arn}:*"]
  }

  statement {
    sid       = "StackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.main.arn]
  }

  statement {
    sid       = "AsyncDlq"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq["lambda_async"].arn]
  }

  dynamic "statement" {
    for_each = local.lambda_statements[each.key]
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.lambda_functions

  name   = "least-privilege"
  role   = aws_iam_role.lambda[each.key].id
  policy = data.aws_iam_policy_document.lambda[each.key].json
}

# ENI management for VPC functions and X-Ray segments (both need Resource "*", hence the AWS managed policies).
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

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile and a signed artifact pipeline; packages are built by archive_file from reviewed source in this repository.
  for_each = local.lambda_functions

  function_name                  = "${local.name_prefix}-${replace(each.key, "_", "-")}"
  description                    = each.value.description
  role                           = aws_iam_role.lambda[each.key].arn
  runtime                        = var.runtime
  handler                        = "${each.key}.handler"
  filename                       = data.archive_file.lambda[each.key].output_path
  source_code_hash               = data.archive_file.lambda[each.key].output_base64sha256
  memory_size                    = each.value.memory
  timeout                        = each.value.timeout
  reserved_concurrent_executions = each.value.reserved
  layers                         = [aws_lambda_layer_version.dependencies.arn]
  kms_key_arn                    = aws_kms_key.main.arn
  architectures                  = ["arm64"]

  environment {
    variables = merge({
      ENV              = var.env
      LOG_LEVEL        = "INFO"
      METRIC_NAMESPACE = local.metric_namespace
    }, local.lambda_env[each.key])
  }

  vpc_config {
    subnet_ids         = [for s in aws_subnet.private : s.id]
    security_group_ids = [aws_security_group.lambda.id]
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq["lambda_async"].arn
  }

  tracing_config {
    mode = "Active"
  }

  lifecycle {
    precondition {
      condition     = local.reserved_concurrency_total <= var.lambda_concurrency_quota - 100
      error_message = "Reserved concurrency of all functions exceeds lambda_concurrency_quota - 100 (AWS keeps 100 unreserved): lower the reserved_* values or raise the quota and set lambda_concurrency_quota."
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.lambda,
    aws_iam_role_policy.lambda,
    aws_iam_role_policy_attachment.lambda_vpc,
  ]
}

# Kinesis (EFO or shared) and DynamoDB stream mappings: partial batch responses, bisect on error, on-failure DLQ.
resource "aws_lambda_event_source_mapping" "stream" {
  for_each = local.stream_mappings

  function_name                      = aws_lambda_function.this[each.key].arn
  event_source_arn                   = each.value.source_arn
  starting_position                  = each.value.starting_position
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = var.stream_batching_window_seconds
  parallelization_factor             = each.value.parallelization
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = var.stream_retry_attempts
  maximum_record_age_in_seconds      = var.stream_max_record_age_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.dlq[each.key].arn
    }
  }

  dynamic "filter_criteria" {
    for_each = each.value.filter_pattern == null ? [] : [each.value.filter_pattern]
    content {
      filter {
        pattern = filter_criteria.value
      }
    }
  }

  depends_on = [aws_iam_role_policy.lambda]
}

resource "aws_lambda_event_source_mapping" "queue" {
  for_each = local.queue_mappings

  function_name                      = aws_lambda_function.this[each.key].arn
  event_source_arn                   = aws_sqs_queue.this[each.value].arn
  batch_size                         = var.sqs_batch_size
  maximum_batching_window_in_seconds = var.sqs_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.sqs_max_concurrency
  }

  depends_on = [aws_iam_role_policy.lambda]
}

###############################################################################
# Secrets (Redis AUTH token, external PDF API key)
###############################################################################

# The Redis AUTH token is generated by Secrets Manager at first apply and never changes afterwards
# (ignore_changes); Lambdas read it from the secret at cold start.
data "aws_secretsmanager_random_password" "redis_auth" {
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "redis_auth" {
  #checkov:skip=CKV2_AWS_57:Rotating an ElastiCache AUTH token needs a rotation Lambda using auth_token_update_strategy ROTATE/SET; planned, see README.
  name                    = "${local.name_prefix}/redis/auth-token"
  description             = "AUTH token of the ${local.name_prefix} Redis replication group"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "redis_auth" {
  secret_id     = aws_secretsmanager_secret.redis_auth.id
  secret_string = data.aws_secretsmanager_random_password.redis_auth.random_password

  lifecycle {
    ignore_changes = [secret_string]
  }
}

# Key of the external FMCSA PDF API; the value is put out-of-band by the operators (never in code or state).
resource "aws_secretsmanager_secret" "pdf_api_key" {
  #checkov:skip=CKV2_AWS_57:Third-party API key, rotated by the vendor's process; no AWS rotation Lambda can rotate it.
  name                    = "${local.name_prefix}/external/pdf-api-key"
  description             = "API key of the FMCSA report PDF rendering service"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

###############################################################################
# ElastiCache Redis - rolling windows (sorted sets), dashboard counters (hashes),
# vehicle GEO index (GEOADD/GEOSEARCH), fuel benchmarks
###############################################################################

resource "aws_elasticache_subnet_group" "redis" {
  name       = "${local.name_prefix}-redis"
  subnet_ids = [for s in aws_subnet.private : s.id]
}

resource "aws_cloudwatch_log_group" "redis_slow_log" {
  #checkov:skip=CKV_AWS_338:Retention is the per-env var log_retention_days.
  name              = "/aws/elasticache/${local.name_prefix}-redis/slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id       = "${local.name_prefix}-redis"
  description                = "${local.name_prefix} telematics rolling windows, counters and GEO index"
  engine                     = "redis"
  engine_version             = var.engine_version
  node_type                  = var.node_type
  num_cache_clusters         = var.num_cache_clusters
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.redis.name
  security_group_ids         = [aws_security_group.redis.id]
  automatic_failover_enabled = true
  multi_az_enabled           = true
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  transit_encryption_enabled = true
  auth_token                 = aws_secretsmanager_secret_version.redis_auth.secret_string
  snapshot_retention_limit   = var.snapshot_retention_limit
  snapshot_window            = "03:00-04:00"
  maintenance_window         = "sun:05:00-sun:06:00"
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
# Aurora PostgreSQL serverless v2 - maintenance_schedule, vehicle_history,
# fuel_analytics, inspections
###############################################################################

resource "aws_db_subnet_group" "aurora" {
  name       = "${local.name_prefix}-aurora"
  subnet_ids = [for s in aws_subnet.private : s.id]
}

resource "aws_rds_cluster_parameter_group" "aurora" {
  name        = "${local.name_prefix}-aurora-pg16"
  family      = "aurora-postgresql16"
  description = "TLS-only connections and query logging"

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
  #checkov:skip=CKV2_AWS_8:Automated backups (backup_retention_days) plus deletion protection; an AWS Backup plan is owned by the organization's central backup account.
  cluster_identifier                  = "${local.name_prefix}-${var.cluster_identifier}"
  engine                              = "aurora-postgresql"
  engine_mode                         = "provisioned"
  engine_version                      = var.aurora_engine_version
  database_name                       = var.aurora_database_name
  master_username                     = var.master_username
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.main.arn
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.main.arn
  iam_database_authentication_enabled = true
  db_subnet_group_name                = aws_db_subnet_group.aurora.name
  vpc_security_group_ids              = [aws_security_group.aurora.id]
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.aurora.name
  backup_retention_period             = var.backup_retention_days
  preferred_backup_window             = "03:00-04:00"
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

# Writer + reader in different AZs (Multi-AZ failover); both scale between min/max ACU.
resource "aws_rds_cluster_instance" "aurora" {
  for_each = toset(["writer", "reader"])

  identifier                            = "${local.name_prefix}-${var.cluster_identifier}-${each.key}"
  cluster_identifier                    = aws_rds_cluster.aurora.id
  engine                                = aws_rds_cluster.aurora.engine
  engine_version                        = aws_rds_cluster.aurora.engine_version
  instance_class                        = var.instance_class
  db_subnet_group_name                  = aws_db_subnet_group.aurora.name
  publicly_accessible                   = false
  auto_minor_version_upgrade            = true
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.main.arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
  promotion_tier                        = each.key == "writer" ? 0 : 1
}

###############################################################################
# S3 - compliance reports (object lock), data lake, Athena results
###############################################################################

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Access is audited through organization-level CloudTrail S3 data events; a server access log bucket cannot use SSE-KMS.
  #checkov:skip=CKV_AWS_144:Single-region stack; cross-region replication is a DR decision outside this stack (README).
  #checkov:skip=CKV2_AWS_62:No consumer needs S3 event notifications; Glue crawls on schedule.
  for_each = local.buckets

  bucket              = each.value.name
  object_lock_enabled = each.value.object_lock

  tags = { Bucket = each.key }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "bucket" {
  for_each = local.buckets

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this[each.key].arn,
      "${aws_s3_bucket.this[each.key].arn}/*",
    ]
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

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket     = aws_s3_bucket.this[each.key].id
  policy     = data.aws_iam_policy_document.bucket[each.key].json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# DOT: records of duty status and supporting documents are kept 6 months (49 CFR 395.8(k)); COMPLIANCE-mode
# object lock makes the reports immutable for that period.
resource "aws_s3_bucket_object_lock_configuration" "reports" {
  bucket = aws_s3_bucket.this["reports"].id

  rule {
    default_retention {
      mode = var.compliance_reports_object_lock_mode
      days = var.compliance_dot_record_retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "lifecycle"
    status = "Enabled"
    filter {}

    dynamic "transition" {
      for_each = each.value.transition ? [each.value.transition_class] : []
      content {
        days          = each.value.transition_days
        storage_class = transition.value
      }
    }

    dynamic "expiration" {
      for_each = each.value.expire ? ["expire"] : []
      content {
        days = each.value.expiration_days
      }
    }

    dynamic "noncurrent_version_expiration" {
      for_each = each.value.noncurrent_days == null ? [] : [each.value.noncurrent_days]
      content {
        noncurrent_days = noncurrent_version_expiration.value
      }
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

###############################################################################
# Glue catalog + crawler, Athena
###############################################################################

resource "aws_glue_catalog_database" "lake" {
  name        = "${local.glue_prefix}_${var.glue_database_name}"
  description = "Fleet telematics data lake (${var.env})"
}

# Schema of the Parquet files Firehose writes (the conversion reads it) and of the Athena table.
resource "aws_glue_catalog_table" "diagnostics" {
  name          = "diagnostics"
  database_name = aws_glue_catalog_database.lake.name
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    classification        = "parquet"
    "parquet.compression" = "SNAPPY"
    EXTERNAL              = "TRUE"
  }

  partition_keys {
    name = "vehicle_type"
    type = "string"
  }

  partition_keys {
    name = "dt"
    type = "string"
  }

  storage_descriptor {
    location      = "s3://${aws_s3_bucket.this["data_lake"].id}/diagnostics/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters            = { "serialization.format" = "1" }
    }

    columns {
      name = "vehicle_id"
      type = "string"
    }
    columns {
      name = "ts"
      type = "bigint"
    }
    columns {
      name = "rpm"
      type = "double"
    }
    columns {
      name = "coolant_temp_c"
      type = "double"
    }
    columns {
      name = "fuel_level_pct"
      type = "double"
    }
    columns {
      name = "speed_kph"
      type = "double"
    }
    columns {
      name = "dtc_codes"
      type = "array<string>"
    }
    columns {
      name = "ingested_at"
      type = "bigint"
    }
  }
}

resource "aws_glue_security_configuration" "lake" {
  name = "${local.name_prefix}-lake"

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = aws_kms_key.main.arn
    }
    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = aws_kms_key.main.arn
    }
    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = aws_kms_key.main.arn
    }
  }
}

data "aws_iam_policy_document" "glue_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "glue_crawler" {
  name               = "${local.name_prefix}-glue-crawler"
  assume_role_policy = data.aws_iam_policy_document.glue_assume.json
}

resource "aws_iam_role_policy_attachment" "glue_service" {
  role       = aws_iam_role.glue_crawler.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSGlueServiceRole"
}

data "aws_iam_policy_document" "glue_crawler" {
  statement {
    sid       = "ReadLake"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [aws_s3_bucket.this["data_lake"].arn, "${aws_s3_bucket.this["data_lake"].arn}/diagnostics/*"]
  }
  statement {
    sid       = "StackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.main.arn]
  }
  statement {
    sid       = "EncryptedLogs"
    actions   = ["logs:AssociateKmsKey"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws-glue/crawlers-role/*"]
  }
}

resource "aws_iam_role_policy" "glue_crawler" {
  name   = "lake-access"
  role   = aws_iam_role.glue_crawler.id
  policy = data.aws_iam_policy_document.glue_crawler.json
}

# Registers the new vehicle_type/dt partitions every night; the table schema itself is owned by Terraform.
resource "aws_glue_crawler" "diagnostics" {
  name                   = "${local.name_prefix}-${var.crawler_name}"
  database_name          = aws_glue_catalog_database.lake.name
  role                   = aws_iam_role.glue_crawler.arn
  schedule               = var.crawler_schedule
  security_configuration = aws_glue_security_configuration.lake.name

  catalog_target {
    database_name = aws_glue_catalog_database.lake.name
    tables        = [aws_glue_catalog_table.diagnostics.name]
  }

  schema_change_policy {
    delete_behavior = "LOG"
    update_behavior = "LOG"
  }

  configuration = jsonencode({
    Version = 1.0
    CrawlerOutput = {
      Partitions = { AddOrUpdateBehavior = "InheritFromTable" }
    }
  })
}

resource "aws_athena_workgroup" "analytics" {
  name        = "${local.name_prefix}-${var.workgroup_name}"
  description = "Ad-hoc fleet optimization analytics over the telematics data lake"

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_limit

    result_configuration {
      output_location = "s3://${aws_s3_bucket.this["athena"].id}/results/"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = aws_kms_key.main.arn
      }
    }
  }
}

# Customer-managed policy for analysts and the ops runbooks: run Athena queries in the stack's workgroup, start the
# crawler on demand, read the lake and the encrypted results. Attach it to the analyst role/group of each env.
data "aws_iam_policy_document" "analytics" {
  statement {
    sid       = "AthenaWorkgroup"
    actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"]
    resources = [aws_athena_workgroup.analytics.arn]
  }
  statement {
    sid     = "GlueCatalog"
    actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"]
    resources = [
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${aws_glue_catalog_database.lake.name}",
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${aws_glue_catalog_database.lake.name}/*",
    ]
  }
  statement {
    sid       = "StartCrawler"
    actions   = ["glue:StartCrawler", "glue:GetCrawler"]
    resources = ["arn:${local.partition}:glue:${local.region}:${local.account_id}:crawler/${aws_glue_crawler.diagnostics.name}"]
  }
  statement {
    sid       = "ReadLake"
    actions   = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.this["data_lake"].arn, "${aws_s3_bucket.this["data_lake"].arn}/diagnostics/*"]
  }
  statement {
    sid       = "QueryResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:AbortMultipartUpload"]
    resources = [aws_s3_bucket.this["athena"].arn, "${aws_s3_bucket.this["athena"].arn}/results/*"]
  }
  statement {
    sid       = "StackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_policy" "analytics" {
  name        = "${local.name_prefix}-analytics"
  description = "Athena queries and on-demand crawls over the ${local.name_prefix} data lake"
  policy      = data.aws_iam_policy_document.analytics.json
}

###############################################################################
# Kinesis Data Firehose - diagnostics archive (Lambda transform, Parquet,
# dynamic partitioning by vehicle_type/date)
###############################################################################

resource "aws_cloudwatch_log_group" "firehose" {
  #checkov:skip=CKV_AWS_338:Retention is the per-env var log_retention_days.
  name              = "/aws/kinesisfirehose/${local.name_prefix}-${var.diagnostics_firehose_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_cloudwatch_log_stream" "firehose" {
  name           = "DestinationDelivery"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

data "aws_iam_policy_document" "firehose_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "firehose" {
  name               = "${local.name_prefix}-firehose"
  assume_role_policy = data.aws_iam_policy_document.firehose_assume.json
}

data "aws_iam_policy_document" "firehose" {
  statement {
    sid       = "ReadDiagnosticsStream"
    actions   = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]
    resources = [aws_kinesis_stream.this["diagnostics"].arn]
  }
  statement {
    sid       = "WriteLake"
    actions   = ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"]
    resources = [aws_s3_bucket.this["data_lake"].arn, "${aws_s3_bucket.this["data_lake"].arn}/*"]
  }
  statement {
    sid       = "Transform"
    actions   = ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"]
    resources = [aws_lambda_function.this["firehose_transform"].arn, "${aws_lambda_function.this["firehose_transform"].arn}:*"]
  }
  statement {
    sid     = "ParquetSchema"
    actions = ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"]
    resources = [
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${aws_glue_catalog_database.lake.name}",
      "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${aws_glue_catalog_database.lake.name}/${aws_glue_catalog_table.diagnostics.name}",
    ]
  }
  statement {
    sid       = "StackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.main.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.firehose.arn}:*"]
  }
}

resource "aws_iam_role_policy" "firehose" {
  name   = "diagnostics-archive"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.firehose.json
}

resource "aws_kinesis_firehose_delivery_stream" "diagnostics" {
  #checkov:skip=CKV_AWS_240:Server-side encryption of the delivery stream is only allowed for DirectPut; the source stream is KMS-encrypted and S3 objects are SSE-KMS.
  #checkov:skip=CKV_AWS_241:Same as CKV_AWS_240 (Kinesis stream source).
  name        = "${local.name_prefix}-${var.diagnostics_firehose_name}"
  destination = "extended_s3"

  kinesis_source_configuration {
    kinesis_stream_arn = aws_kinesis_stream.this["diagnostics"].arn
    role_arn           = aws_iam_role.firehose.arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose.arn
    bucket_arn          = aws_s3_bucket.this["data_lake"].arn
    kms_key_arn         = aws_kms_key.main.arn
    buffering_interval  = var.buffer_interval_s
    buffering_size      = var.buffer_size_mb
    compression_format  = var.data_format_conversion_enabled ? "UNCOMPRESSED" : "GZIP"
    prefix              = "diagnostics/vehicle_type=!{partitionKeyFromLambda:vehicle_type}/dt=!{partitionKeyFromLambda:dt}/"
    error_output_prefix = "errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"

    dynamic_partitioning_configuration {
      enabled        = true
      retry_duration = 300
    }

    processing_configuration {
      enabled = true

      processors {
        type = "Lambda"
        parameters {
          parameter_name  = "LambdaArn"
          parameter_value = "${aws_lambda_function.this["firehose_transform"].arn}:$LATEST"
        }
        parameters {
          parameter_name  = "BufferSizeInMBs"
          parameter_value = "1"
        }
        parameters {
          parameter_name  = "BufferIntervalInSeconds"
          parameter_value = "60"
        }
      }
    }

    data_format_conversion_configuration {
      enabled = var.data_format_conversion_enabled

      input_format_configuration {
        deserializer {
          open_x_json_ser_de {}
        }
      }

      output_format_configuration {
        serializer {
          parquet_ser_de {
            compression = "SNAPPY"
          }
        }
      }

      schema_configuration {
        database_name = aws_glue_catalog_database.lake.name
        table_name    = aws_glue_catalog_table.diagnostics.name
        role_arn      = aws_iam_role.firehose.arn
        region        = local.region
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.firehose.name
    }
  }

  depends_on = [aws_iam_role_policy.firehose]
}

###############################################################################
# API Gateway - mock of the external in-cab telematics messaging API
# (POST /messages, IAM-signed, validated against schemas/driver_message.json)
###############################################################################

resource "aws_api_gateway_rest_api" "telematics" {
  name        = "${local.name_prefix}-telematics-mock"
  description = "Mocked external telematics API used for in-cab driver messages"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "messages" {
  rest_api_id = aws_api_gateway_rest_api.telematics.id
  parent_id   = aws_api_gateway_rest_api.telematics.root_resource_id
  path_part   = "messages"
}

resource "aws_api_gateway_model" "driver_message" {
  rest_api_id  = aws_api_gateway_rest_api.telematics.id
  name         = "DriverMessage"
  description  = "In-cab message sent to a vehicle terminal"
  content_type = "application/json"
  schema       = file("${path.module}/schemas/driver_message.json")
}

resource "aws_api_gateway_request_validator" "body" {
  rest_api_id           = aws_api_gateway_rest_api.telematics.id
  name                  = "body"
  validate_request_body = true
}

resource "aws_api_gateway_method" "post_message" {
  rest_api_id          = aws_api_gateway_rest_api.telematics.id
  resource_id          = aws_api_gateway_resource.messages.id
  http_method          = "POST"
  authorization        = "AWS_IAM"
  request_validator_id = aws_api_gateway_request_validator.body.id
  request_models       = { "application/json" = aws_api_gateway_model.driver_message.name }
}

resource "aws_api_gateway_integration" "post_message" {
  rest_api_id       = aws_api_gateway_rest_api.telematics.id
  resource_id       = aws_api_gateway_resource.messages.id
  http_method       = aws_api_gateway_method.post_message.http_method
  type              = "MOCK"
  request_templates = { "application/json" = jsonencode({ statusCode = 202 }) }
}

resource "aws_api_gateway_method_response" "accepted" {
  rest_api_id     = aws_api_gateway_rest_api.telematics.id
  resource_id     = aws_api_gateway_resource.messages.id
  http_method     = aws_api_gateway_method.post_message.http_method
  status_code     = "202"
  response_models = { "application/json" = "Empty" }
}

resource "aws_api_gateway_integration_response" "accepted" {
  rest_api_id        = aws_api_gateway_rest_api.telematics.id
  resource_id        = aws_api_gateway_resource.messages.id
  http_method        = aws_api_gateway_method.post_message.http_method
  status_code        = aws_api_gateway_method_response.accepted.status_code
  response_templates = { "application/json" = "{\"accepted\": true, \"message_id\": \"$context.requestId\"}" }

  depends_on = [aws_api_gateway_integration.post_message]
}

resource "aws_api_gateway_deployment" "telematics" {
  rest_api_id = aws_api_gateway_rest_api.telematics.id

  triggers = {
    redeploy = sha1(jsonencode([
      aws_api_gateway_resource.messages.id,
      aws_api_gateway_method.post_message.id,
      aws_api_gateway_integration.post_message.id,
      aws_api_gateway_integration_response.accepted.id,
      aws_api_gateway_model.driver_message.schema,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_338:Retention is the per-env var log_retention_days.
  name              = "/aws/apigateway/${local.name_prefix}-telematics-mock"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

# API Gateway writes execution/access logs through this account-level role (one per account and region).
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

resource "aws_api_gateway_stage" "telematics" {
  #checkov:skip=CKV_AWS_120:Mock endpoint; responses are per message and must not be cached.
  #checkov:skip=CKV2_AWS_29:IAM-authorized internal mock with stage throttling; WAF adds nothing for SigV4-only callers.
  #checkov:skip=CKV2_AWS_51:Callers authenticate with SigV4 (AWS_IAM); client certificates are for HTTP backends.
  rest_api_id          = aws_api_gateway_rest_api.telematics.id
  deployment_id        = aws_api_gateway_deployment.telematics.id
  stage_name           = "v1"
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId = "$context.requestId"
      ip        = "$context.identity.sourceIp"
      caller    = "$context.identity.caller"
      method    = "$context.httpMethod"
      path      = "$context.resourcePath"
      status    = "$context.status"
      latencyMs = "$context.responseLatency"
    })
  }

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Caching is deliberately off for a per-message mock.
  rest_api_id = aws_api_gateway_rest_api.telematics.id
  stage_name  = aws_api_gateway_stage.telematics.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "INFO"
    data_trace_enabled     = false
    caching_enabled        = false
    throttling_rate_limit  = var.telematics_api_throttle_rate_limit
    throttling_burst_limit = var.telematics_api_throttle_burst_limit
  }
}

###############################################################################
# Step Functions - daily DOT reporting, started by EventBridge
###############################################################################

resource "aws_cloudwatch_log_group" "sfn" {
  #checkov:skip=CKV_AWS_338:Retention is the per-env var log_retention_days; the reports themselves are object-locked in S3.
  name              = "/aws/vendedlogs/states/${local.name_prefix}-dot-reporting"
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
  name               = "${local.name_prefix}-dot-reporting"
  assume_role_policy = data.aws_iam_policy_document.sfn_assume.json
}

data "aws_iam_policy_document" "sfn" {
  #checkov:skip=CKV_AWS_111:CloudWatch Logs vended delivery and X-Ray APIs do not support resource-level permissions.
  #checkov:skip=CKV_AWS_356:Same as CKV_AWS_111; every data-plane statement is scoped to ARNs.
  statement {
    sid       = "InvokeReportBuilder"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this["dot_report_builder"].arn, "${aws_lambda_function.this["dot_report_builder"].arn}:*"]
  }
  # Distributed Map: the workflow starts and tracks its own express child executions.
  statement {
    sid       = "DistributedMapChildren"
    actions   = ["states:StartExecution"]
    resources = [local.dot_reporting_arn]
  }
  statement {
    sid     = "DistributedMapRuns"
    actions = ["states:DescribeExecution", "states:StopExecution", "states:DescribeMapRun", "states:UpdateMapRun"]
    resources = [
      "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.dot_reporting_name}/*",
      "arn:${local.partition}:states:${local.region}:${local.account_id}:express:${local.dot_reporting_name}/*",
      "arn:${local.partition}:states:${local.region}:${local.account_id}:mapRun:${local.dot_reporting_name}/*",
    ]
  }
  statement {
    sid       = "ComplianceStatus"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.this["compliance_status"].arn]
  }
  statement {
    sid       = "PublishSummary"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this["summary"].arn]
  }
  statement {
    sid       = "StackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.main.arn]
  }
  statement {
    sid = "LogDelivery"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }
  statement {
    sid       = "XRay"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "sfn" {
  name   = "dot-reporting"
  role   = aws_iam_role.sfn.id
  policy = data.aws_iam_policy_document.sfn.json
}

resource "aws_sfn_state_machine" "dot_reporting" {
  name     = local.dot_reporting_name
  role_arn = aws_iam_role.sfn.arn
  type     = "STANDARD"

  definition = templatefile("${path.module}/templates/dot_reporting.asl.json.tftpl", {
    report_builder_arn      = aws_lambda_function.this["dot_report_builder"].arn
    compliance_status_table = aws_dynamodb_table.this["compliance_status"].name
    summary_topic_arn       = aws_sns_topic.this["summary"].arn
    max_concurrency         = var.report_map_max_concurrency
    partition               = local.partition
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
  name               = "${local.name_prefix}-dot-schedule"
  assume_role_policy = data.aws_iam_policy_document.events_assume.json
}

data "aws_iam_policy_document" "events" {
  statement {
    sid       = "StartDotReporting"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.dot_reporting.arn]
  }
  # The state machine is encrypted with the stack key; starting an execution encrypts its input.
  statement {
    sid       = "StackKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_role_policy" "events" {
  name   = "start-dot-reporting"
  role   = aws_iam_role.events.id
  policy = data.aws_iam_policy_document.events.json
}

resource "aws_cloudwatch_event_rule" "dot_reporting" {
  name                = "${local.name_prefix}-dot-reporting-daily"
  description         = "Daily FMCSA/DOT compliance reporting"
  schedule_expression = var.compliance_schedule_expression
}

resource "aws_cloudwatch_event_target" "dot_reporting" {
  rule     = aws_cloudwatch_event_rule.dot_reporting.name
  arn      = aws_sfn_state_machine.dot_reporting.arn
  role_arn = aws_iam_role.events.arn
  input    = jsonencode({ trigger = "schedule" })

  # A failed StartExecution is retried for an hour, then kept in the event-target DLQ (alarmed).
  retry_policy {
    maximum_retry_attempts       = 8
    maximum_event_age_in_seconds = 3600
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq["event_target"].arn
  }
}

###############################################################################
# CloudWatch - metric filters, alarms, dashboard
###############################################################################

# Handlers log one JSON line per event: {"event": "hos_violation", "rule": "...", ...} and
# {"event": "prediction", "confidence": 0.91, "high_confidence": true, ...}.
resource "aws_cloudwatch_log_metric_filter" "hos_violations" {
  name           = "${local.name_prefix}-hos-violations"
  log_group_name = aws_cloudwatch_log_group.lambda["hos_validator"].name
  pattern        = "{ $.event = \"hos_violation\" }"

  metric_transformation {
    name          = "HosViolations"
    namespace     = local.metric_namespace
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_log_metric_filter" "predictions" {
  name           = "${local.name_prefix}-predictions"
  log_group_name = aws_cloudwatch_log_group.lambda["predictive_maintenance"].name
  pattern        = "{ $.event = \"prediction\" }"

  metric_transformation {
    name          = "FailurePredictions"
    namespace     = local.metric_namespace
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_log_metric_filter" "high_confidence_predictions" {
  name           = "${local.name_prefix}-high-confidence-predictions"
  log_group_name = aws_cloudwatch_log_group.lambda["predictive_maintenance"].name
  pattern        = "{ $.event = \"prediction\" && $.high_confidence IS TRUE }"

  metric_transformation {
    name          = "HighConfidencePredictions"
    namespace     = local.metric_namespace
    value         = "1"
    default_value = "0"
  }
}

# --- Kinesis: shard capacity (80 % of 1 MiB/s and 1,000 rec/s per shard), read latency, consumer lag -------------

resource "aws_cloudwatch_metric_alarm" "kinesis_incoming_bytes" {
  for_each = local.streams

  alarm_name          = "${local.name_prefix}-kinesis-${each.key}-incoming-bytes"
  alarm_description   = "IncomingBytes on ${each.value.name} above 80 % of the provisioned shard write capacity."
  namespace           = "AWS/Kinesis"
  metric_name         = "IncomingBytes"
  dimensions          = { StreamName = aws_kinesis_stream.this[each.key].name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.incoming_bytes_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

resource "aws_cloudwatch_metric_alarm" "kinesis_incoming_records" {
  for_each = local.streams

  alarm_name          = "${local.name_prefix}-kinesis-${each.key}-incoming-records"
  alarm_description   = "IncomingRecords on ${each.value.name} above 80 % of 1,000 records/s per shard."
  namespace           = "AWS/Kinesis"
  metric_name         = "IncomingRecords"
  dimensions          = { StreamName = aws_kinesis_stream.this[each.key].name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.incoming_records_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

resource "aws_cloudwatch_metric_alarm" "kinesis_get_records_latency" {
  for_each = local.streams

  alarm_name          = "${local.name_prefix}-kinesis-${each.key}-get-records-latency"
  alarm_description   = "Average GetRecords latency on ${each.value.name}."
  namespace           = "AWS/Kinesis"
  metric_name         = "GetRecords.Latency"
  dimensions          = { StreamName = aws_kinesis_stream.this[each.key].name }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.kinesis_get_records_latency_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

resource "aws_cloudwatch_metric_alarm" "kinesis_iterator_age" {
  for_each = local.streams

  alarm_name          = "${local.name_prefix}-kinesis-${each.key}-iterator-age"
  alarm_description   = "Consumers of ${each.value.name} are falling behind (GetRecords.IteratorAgeMilliseconds)."
  namespace           = "AWS/Kinesis"
  metric_name         = "GetRecords.IteratorAgeMilliseconds"
  dimensions          = { StreamName = aws_kinesis_stream.this[each.key].name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.kinesis_iterator_age_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

# --- Lambda hot paths: p95 duration ---------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "diagnostics_processor_duration_p95" {
  alarm_name          = "${local.name_prefix}-diagnostics-processor-duration-p95"
  alarm_description   = "p95 duration of the diagnostics processor (validation + BatchWriteItem per batch)."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = aws_lambda_function.this["diagnostics_processor"].function_name }
  extended_statistic  = "p95"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.diagnostics_processor_duration_p95_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

resource "aws_cloudwatch_metric_alarm" "anomaly_duration_p95" {
  alarm_name          = "${local.name_prefix}-anomaly-detector-duration-p95"
  alarm_description   = "p95 duration of the anomaly detector (thresholds + Redis rolling windows)."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = aws_lambda_function.this["anomaly_detector"].function_name }
  extended_statistic  = "p95"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.anomaly_duration_p95_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

resource "aws_cloudwatch_metric_alarm" "location_processor_duration_p95" {
  alarm_name          = "${local.name_prefix}-location-processor-duration-p95"
  alarm_description   = "p95 duration of the location processor (conditional writes + GEOADD + geofence checks)."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = aws_lambda_function.this["location_processor"].function_name }
  extended_statistic  = "p95"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.location_processor_duration_p95_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

# --- DynamoDB --------------------------------------------------------------------------------------------------------

# The location processor writes a position only if it is newer than the stored one
# (ConditionExpression "attribute_not_exists(vehicle_id) OR #ts < :ts"); a high rate of failed checks means
# out-of-order or duplicated GPS fixes (retries, parallelization, producer clock skew).
resource "aws_cloudwatch_metric_alarm" "locations_conditional_check_failed" {
  alarm_name          = "${local.name_prefix}-locations-conditional-check-failed"
  alarm_description   = "Stale/out-of-order GPS writes rejected by the newer-position-only condition on vehicle_locations."
  namespace           = "AWS/DynamoDB"
  metric_name         = "ConditionalCheckFailedRequests"
  dimensions          = { TableName = aws_dynamodb_table.this["locations"].name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.locations_conditional_check_failed_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  for_each = local.tables

  alarm_name          = "${local.name_prefix}-dynamodb-${replace(each.key, "_", "-")}-throttles"
  alarm_description   = "Read + write throttle events on ${each.value.name} (provisioned throughput exceeded)."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.dynamodb_throttle_events_threshold
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]

  metric_query {
    id          = "throttles"
    expression  = "FILL(reads, 0) + FILL(writes, 0)"
    label       = "ThrottleEvents"
    return_data = true
  }

  metric_query {
    id = "reads"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ReadThrottleEvents"
      dimensions  = { TableName = aws_dynamodb_table.this[each.key].name }
      stat        = "Sum"
      period      = 60
    }
  }

  metric_query {
    id = "writes"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "WriteThrottleEvents"
      dimensions  = { TableName = aws_dynamodb_table.this[each.key].name }
      stat        = "Sum"
      period      = 60
    }
  }
}

# --- Redis / Aurora ----------------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "redis_memory" {
  alarm_name          = "${local.name_prefix}-redis-memory"
  alarm_description   = "Redis memory usage (rolling windows, counters, GEO index) of the fullest node."
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.redis_memory_threshold_pct
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]

  # The primary moves on failover: the alarm takes the worst node of the replication group.
  metric_query {
    id          = "worst"
    expression  = "MAX(METRICS())"
    label       = "DatabaseMemoryUsagePercentage (worst node)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.redis_node_ids
    content {
      id = "node${metric_query.key}"
      metric {
        namespace   = "AWS/ElastiCache"
        metric_name = "DatabaseMemoryUsagePercentage"
        dimensions  = { CacheClusterId = metric_query.value }
        stat        = "Maximum"
        period      = 300
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "redis_geo_latency" {
  alarm_name          = "${local.name_prefix}-redis-geo-latency"
  alarm_description   = "Average latency of GEOADD/GEOSEARCH on the worst node of the replication group (microseconds)."
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.redis_geo_latency_threshold_us
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]

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

resource "aws_cloudwatch_metric_alarm" "aurora_connections" {
  alarm_name          = "${local.name_prefix}-aurora-connections"
  alarm_description   = "Aurora connections approaching max_connections at max ACU (Lambda fan-out)."
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnections"
  dimensions          = { DBClusterIdentifier = aws_rds_cluster.aurora.cluster_identifier }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.aurora_connections_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

# --- SQS ------------------------------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "sqs_oldest_message_age" {
  for_each = local.queues

  alarm_name          = "${local.name_prefix}-sqs-${each.key}-oldest-message-age"
  alarm_description   = "Messages waiting too long in ${each.value.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.this[each.key].name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.sqs_oldest_message_age_threshold_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = local.dlqs

  alarm_name          = "${local.name_prefix}-dlq-${replace(each.key, "_", "-")}-depth"
  alarm_description   = "Failed messages/records parked in the ${each.key} dead-letter queue."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.dlq_depth_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

# --- Step Functions / Firehose --------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "sfn_failures" {
  alarm_name          = "${local.name_prefix}-dot-reporting-failures"
  alarm_description   = "Failed DOT reporting executions (FMCSA reports missing for the day)."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.dot_reporting.arn }
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.sfn_failures_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

resource "aws_cloudwatch_metric_alarm" "firehose_delivery_errors" {
  alarm_name          = "${local.name_prefix}-firehose-delivery-errors"
  alarm_description   = "Share of successful S3 deliveries of the diagnostics archive dropped (DeliveryToS3.Success)."
  namespace           = "AWS/Firehose"
  metric_name         = "DeliveryToS3.Success"
  dimensions          = { DeliveryStreamName = aws_kinesis_firehose_delivery_stream.diagnostics.name }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  comparison_operator = "LessThanThreshold"
  threshold           = var.firehose_delivery_success_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["ops"].arn]
  ok_actions          = [aws_sns_topic.this["ops"].arn]
}

resource "aws_cloudwatch_dashboard" "fleet" {
  dashboard_name = "${local.name_prefix}-fleet-telematics"

  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title   = "Kinesis incoming records / min"
          region  = local.region
          stat    = "Sum"
          period  = 60
          metrics = [for k, s in aws_kinesis_stream.this : ["AWS/Kinesis", "IncomingRecords", "StreamName", s.name, { label = k }]]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title   = "Kinesis iterator age (ms)"
          region  = local.region
          stat    = "Maximum"
          period  = 60
          metrics = [for k, s in aws_kinesis_stream.this : ["AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", s.name, { label = k }]]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title  = "Hot-path Lambda duration p95 (ms)"
          region = local.region
          stat   = "p95"
          period = 60
          metrics = [for k in ["diagnostics_processor", "anomaly_detector", "location_processor", "hos_validator"] :
          ["AWS/Lambda", "Duration", "FunctionName", aws_lambda_function.this[k].function_name, { label = k }]]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "DynamoDB consumed WCU / min"
          region = local.region
          stat   = "Sum"
          period = 60
          metrics = [for k in ["diagnostics", "locations", "driver_logs"] :
          ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", aws_dynamodb_table.this[k].name, { label = k }]]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 8, height = 6
        properties = {
          title  = "Redis memory % and GEO latency (us)"
          region = local.region
          period = 60
          metrics = [
            ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", local.redis_primary_cluster_id, { stat = "Maximum" }],
            ["AWS/ElastiCache", "GeoSpatialBasedCmdsLatency", "CacheClusterId", local.redis_primary_cluster_id, { stat = "Average", yAxis = "right" }],
          ]
        }
      },
      {
        type = "metric", x = 8, y = 12, width = 8, height = 6
        properties = {
          title  = "HOS violations and failure predictions"
          region = local.region
          stat   = "Sum"
          period = 300
          metrics = [
            [local.metric_namespace, "HosViolations"],
            [local.metric_namespace, "FailurePredictions"],
            [local.metric_namespace, "HighConfidencePredictions"],
          ]
        }
      },
      {
        type = "metric", x = 16, y = 12, width = 8, height = 6
        properties = {
          title   = "SQS oldest message age (s)"
          region  = local.region
          stat    = "Maximum"
          period  = 60
          metrics = [for k, q in aws_sqs_queue.this : ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.name, { label = k }]]
        }
      },
    ]
  })
}

###############################################################################
# Outputs
###############################################################################

output "kinesis_stream_arns" {
  description = "Kinesis stream ARNs by key (diagnostics, hos, gps)."
  value       = { for k, s in aws_kinesis_stream.this : k => s.arn }
}

output "kinesis_stream_names" {
  description = "Kinesis stream names by key."
  value       = { for k, s in aws_kinesis_stream.this : k => s.name }
}

output "dynamodb_table_names" {
  description = "DynamoDB table names by key."
  value       = { for k, t in aws_dynamodb_table.this : k => t.name }
}

output "dynamodb_table_arns" {
  description = "DynamoDB table ARNs by key."
  value       = { for k, t in aws_dynamodb_table.this : k => t.arn }
}

output "sns_topic_arns" {
  description = "SNS topic ARNs by key."
  value       = { for k, t in aws_sns_topic.this : k => t.arn }
}

output "sqs_queue_urls" {
  description = "Work queue URLs by key."
  value       = { for k, q in aws_sqs_queue.this : k => q.url }
}

output "sqs_dlq_urls" {
  description = "Dead-letter queue URLs by key."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.url }
}

output "aurora_endpoint" {
  description = "Aurora writer endpoint."
  value       = aws_rds_cluster.aurora.endpoint
}

output "aurora_reader_endpoint" {
  description = "Aurora reader endpoint."
  value       = aws_rds_cluster.aurora.reader_endpoint
}

output "aurora_master_secret_arn" {
  description = "Secrets Manager ARN of the RDS-managed master credentials."
  value       = aws_rds_cluster.aurora.master_user_secret[0].secret_arn
}

output "redis_primary_endpoint" {
  description = "Redis primary endpoint (TLS, AUTH token in Secrets Manager)."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "redis_auth_secret_arn" {
  description = "Secrets Manager ARN of the Redis AUTH token."
  value       = aws_secretsmanager_secret.redis_auth.arn
}

output "step_functions_arn" {
  description = "DOT reporting state machine ARN."
  value       = aws_sfn_state_machine.dot_reporting.arn
}

output "lambda_function_arns" {
  description = "Lambda function ARNs by key."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "s3_bucket_names" {
  description = "S3 bucket names by key (reports, data_lake, athena)."
  value       = { for k, b in aws_s3_bucket.this : k => b.id }
}

output "firehose_arn" {
  description = "Diagnostics archive delivery stream ARN."
  value       = aws_kinesis_firehose_delivery_stream.diagnostics.arn
}

output "glue_database_name" {
  description = "Glue database of the data lake."
  value       = aws_glue_catalog_database.lake.name
}

output "glue_crawler_name" {
  description = "Glue crawler name."
  value       = aws_glue_crawler.diagnostics.name
}

output "analytics_policy_arn" {
  description = "Policy to attach to analyst roles (Athena, Glue crawler, lake read)."
  value       = aws_iam_policy.analytics.arn
}

output "athena_workgroup" {
  description = "Athena workgroup name."
  value       = aws_athena_workgroup.analytics.name
}

output "telematics_api_invoke_url" {
  description = "Invoke URL of the mocked in-cab telematics API."
  value       = aws_api_gateway_stage.telematics.invoke_url
}

output "kms_key_arn" {
  description = "Customer managed key of the stack."
  value       = aws_kms_key.main.arn
}

output "vpc_id" {
  description = "VPC ID."
  value       = aws_vpc.main.id
}

output "public_subnet_ids" {
  description = "Public subnet IDs."
  value       = [for s in aws_subnet.public : s.id]
}

output "private_subnet_ids" {
  description = "Private subnet IDs."
  value       = [for s in aws_subnet.private : s.id]
}

output "security_group_ids" {
  description = "Security group IDs by role."
  value = {
    lambda    = aws_security_group.lambda.id
    endpoints = aws_security_group.endpoints.id
    redis     = aws_security_group.redis.id
    aurora    = aws_security_group.aurora.id
  }
}
