# staging: ~50,000 vehicles (about 21 % of prod) with the same topology as prod.
#   GPS         50,000 / 10 s = 5,000 rec/s (~200 B each -> ~1.0 MiB/s)
#   diagnostics 50,000 / 15 s = 3,333 rec/s (~450 B each -> ~1.4 MiB/s)
#   HOS         50,000 / 60 s =   833 rec/s (~180 B each -> ~0.15 MiB/s)
# Shards at <= 600 rec/s per shard (60 % of 1,000 rec/s): GPS 5,000/600 = 8.3 -> 10, diagnostics 3,333/600 = 5.6
# -> 6, HOS 833/600 = 1.4 -> 2. Bytes stay far below 1 MiB/s per shard.
env = "staging"

# --- general ---
aws_region   = "us-east-1"
project_name = "fleet-telematics"
owner        = "fleet-platform"
cost_center  = "telematics"
common_tags  = { DataClass = "vehicle-telemetry" }

# --- network (identical in every env; each env has its own account/VPC) ---
vpc_cidr             = "10.40.0.0/16"
public_subnet_cidrs  = ["10.40.0.0/24", "10.40.1.0/24"]
private_subnet_cidrs = ["10.40.16.0/20", "10.40.32.0/20"]
enable_nat_gateway   = true

# --- kinesis ---
diagnostics_stream_name = "diagnostics"
hos_stream_name         = "hos-status"
gps_stream_name         = "gps"
stream_mode             = "PROVISIONED"
diagnostics_shard_count = 7
hos_shard_count         = 2
gps_shard_count         = 10
# replay window after a consumer outage
retention_hours                    = 48
diagnostics_parallelization_factor = 2
hos_parallelization_factor         = 1
gps_parallelization_factor         = 2
anomaly_parallelization_factor     = 1
stream_batch_size                  = 250
stream_batching_window_seconds     = 1
stream_max_record_age_seconds      = 3600
stream_retry_attempts              = 3

# --- dynamodb ---
# PROVISIONED in every env; items are < 1 KB, so 1 write = 1 WCU, 1 strongly consistent read = 1 RCU.
# Writes are sized at steady-state rate x 1.3.
diagnostics_table       = "vehicle-diagnostics"
thresholds_table        = "alert-thresholds"
predictions_table       = "predicted-failures"
driver_logs_table       = "driver-logs"
compliance_rules_table  = "compliance-rules"
locations_table         = "vehicle-locations"
geofences_table         = "geofences"
compliance_status_table = "compliance-status"
billing_mode            = "PROVISIONED"
# small tables: thresholds (cached 5 min per container), predictions, rules, geofences, status
rcu = 250
wcu = 100
# 3,333 writes/s x 1.3
diagnostics_wcu = 6500
diagnostics_rcu = 500
# 5,000 conditional writes/s x 1.3
locations_wcu = 10000
locations_rcu = 500
# every accepted fix rewrites the projected lat/lon/ts of the geohash GSI
locations_gsi_wcu = 10000
locations_gsi_rcu = 250
# 833 state writes/s + ~10 % log entries, x 1.3
driver_logs_wcu = 2000
# one strongly consistent duty-state read per HOS record, x 1.3
driver_logs_rcu                       = 2000
ttl_enabled                           = true
ttl_attribute                         = "expires_at"
compliance_diagnostics_ttl_days       = 30
predictions_ttl_days                  = 60
compliance_driver_logs_retention_days = 190
deletion_protection                   = true

# --- lambda ---
# reserved: stream functions >= shards x parallelization (GPS 10 x 2 = 20); 7 x 40 + 6 x 10 = 340 reserved
runtime                         = "python3.12"
processor_memory                = 512
anomaly_memory                  = 512
maintenance_memory              = 256
driver_notifier_memory          = 256
fleet_memory                    = 256
predictive_memory               = 1024
hos_memory                      = 512
hos_report_memory               = 512
location_memory                 = 1024
fuel_memory                     = 512
coaching_memory                 = 256
transform_memory                = 256
dot_report_memory               = 1024
timeout_s                       = 60
report_timeout_s                = 300
reserved_concurrency            = 40
consumer_reserved_concurrency   = 10
lambda_concurrency_quota        = 1000
sqs_batch_size                  = 10
sqs_batching_window_seconds     = 1
sqs_max_concurrency             = 5
anomaly_window_seconds          = 1800
prediction_min_interval_seconds = 900
predictive_confidence_threshold = 0.8
fuel_efficiency_threshold       = 0.85
predictive_endpoint_name        = "fleet-failure-predictor"

# --- redis ---
# GEO index 50k members + 30-min coolant windows (120 points x 50k = 6M entries) ~ 0.6 GB
node_type                = "cache.r7g.large"
num_cache_clusters       = 2
engine_version           = "7.1"
snapshot_retention_limit = 3

# --- aurora ---
cluster_identifier    = "fleet-db"
aurora_database_name  = "fleet"
master_username       = "fleet_admin"
aurora_engine_version = "16.4"
instance_class        = "db.serverless"
min_capacity          = 1
max_capacity          = 16
backup_retention_days = 7

# --- sns / sqs / eventbridge ---
alerts_topic                 = "vehicle-alerts"
maintenance_topic            = "maintenance-required"
violations_topic             = "hos-violations"
summary_topic                = "compliance-summary"
geofence_topic               = "geofence-alerts"
coaching_topic               = "driver-coaching"
ops_alarms_topic             = "ops-alarms"
external_alerts_endpoint     = "https://partner-alerts.example.com/fleet/v1/vehicle-alerts"
external_compliance_endpoint = "https://compliance.example.com/fleet/v1/dot-summary"
maintenance_queue            = "maintenance-alerts"
driver_queue                 = "driver-notifications"
fleet_queue                  = "fleet-manager"
training_queue               = "driver-training"
# 6 x timeout_s
visibility_timeout             = 360
retention_seconds              = 345600
dlq_retention_seconds          = 1209600
max_receive_count              = 5
compliance_schedule_expression = "cron(0 6 * * ? *)"
report_map_max_concurrency     = 5
report_fleets_per_batch_size   = 10

# --- s3 / firehose / glue / athena ---
reports_bucket                       = "compliance-reports"
data_lake_bucket                     = "data-lake"
output_bucket                        = "athena-results"
lifecycle_archive_days               = 60
athena_results_expiration_days       = 14
compliance_reports_object_lock_mode  = "COMPLIANCE"
compliance_dot_record_retention_days = 190
diagnostics_firehose_name            = "diagnostics-archive"
buffer_interval_s                    = 120
buffer_size_mb                       = 64
data_format_conversion_enabled       = true
crawler_name                         = "diagnostics-crawler"
glue_database_name                   = "telematics_lake"
crawler_schedule                     = "cron(0 2 * * ? *)"
workgroup_name                       = "analytics"
athena_bytes_scanned_limit           = 10737418240

# --- telematics API mock / external APIs ---
telematics_api_throttle_rate_limit  = 100
telematics_api_throttle_burst_limit = 200
fmcsa_pdf_api_url                   = "https://pdf-renderer.example.com/v1/dot-reports"

# --- cloudwatch ---
# Kinesis thresholds = 80 % of shard capacity per 60 s: bytes = shards x 1,048,576 x 60 x 0.8 = shards x 50,331,648;
# records = shards x 1,000 x 60 x 0.8 = shards x 48,000.
log_retention_days                       = 30
diagnostics_incoming_bytes_threshold     = 301989888
hos_incoming_bytes_threshold             = 100663296
gps_incoming_bytes_threshold             = 503316480
diagnostics_incoming_records_threshold   = 288000
hos_incoming_records_threshold           = 96000
gps_incoming_records_threshold           = 480000
kinesis_get_records_latency_threshold_ms = 300
kinesis_iterator_age_threshold_ms        = 120000
# grows with stream_batch_size (100 / 250 / 500)
diagnostics_processor_duration_p95_threshold_ms = 5000
anomaly_duration_p95_threshold_ms               = 6000
location_processor_duration_p95_threshold_ms    = 6000
# 5 % of GPS writes per minute (500 / 5,000 / 23,400 rec/s x 60 x 0.05)
locations_conditional_check_failed_threshold = 15000
dynamodb_throttle_events_threshold           = 10
redis_memory_threshold_pct                   = 80
redis_geo_latency_threshold_us               = 1500
# ~80 % of max_connections at max ACU (4 ACU ~ 900, 16 ACU ~ 3,600, 64 ACU = 5,000 cap)
aurora_connections_threshold             = 2800
sqs_oldest_message_age_threshold_seconds = 900
dlq_depth_threshold                      = 5
sfn_failures_threshold                   = 1
firehose_delivery_success_threshold      = 0.95

# --- region singletons ---
# one stack per account and region owns API Gateway's CloudWatch role setting (terraform/README.md)
manage_api_gateway_account = false
