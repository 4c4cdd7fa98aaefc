# prod: 234,000 commercial vehicles.
#   GPS         234,000 / 10 s = 23,400 rec/s (~200 B each -> ~4.5 MiB/s)
#   diagnostics 234,000 / 15 s = 15,600 rec/s (~450 B each -> ~6.7 MiB/s)
#   HOS         234,000 / 60 s =  3,900 rec/s (~180 B each -> ~0.7 MiB/s)
# The 1,000 rec/s per-shard write limit binds before 1 MiB/s. Shards at <= 600 rec/s per shard (60 % utilisation,
# 40 % headroom for reconnect storms after a cellular outage and for partition-key skew):
#   GPS 23,400/600 = 39 -> 40 shards, diagnostics 15,600/600 = 26 shards, HOS 3,900/600 = 6.5 -> 8 shards.
env = "prod"

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
diagnostics_shard_count = 32
hos_shard_count         = 8
gps_shard_count         = 48
# replay window after a consumer outage
retention_hours = 168
# per diagnostics shard 600 rec/s; a 500-record batch takes ~0.5-1 s -> 2 concurrent batches per shard
diagnostics_parallelization_factor = 2
hos_parallelization_factor         = 2
# GPS 585 rec/s per shard, ~1.5 s per 500-fix batch (conditional writes + Redis) -> 3 per shard = 120 concurrent
gps_parallelization_factor     = 3
anomaly_parallelization_factor = 2
stream_batch_size              = 500
stream_batching_window_seconds = 1
stream_max_record_age_seconds  = 3600
stream_retry_attempts          = 3

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
# small tables: thresholds (cached 5 min: ~800 reads/s eventually consistent), predictions, rules, geofences, status
rcu = 1000
# predictions: 234k vehicles scored at most every 15 min = 260 writes/s
wcu = 400
# 15,600 writes/s x 1.3
diagnostics_wcu = 30500
diagnostics_rcu = 2000
# 23,400 conditional writes/s x 1.3
locations_wcu = 46000
locations_rcu = 2000
# every accepted fix rewrites the projected lat/lon/ts of the geohash GSI
locations_gsi_wcu = 46000
locations_gsi_rcu = 1000
# 3,900 state writes/s + ~390 log entries/s, x 1.3 -> 5,600 -> 6,000
driver_logs_wcu = 8000
# one strongly consistent duty-state read per HOS record, x 1.3
driver_logs_rcu                 = 8000
ttl_enabled                     = true
ttl_attribute                   = "expires_at"
compliance_diagnostics_ttl_days = 30
predictions_ttl_days            = 90
# 49 CFR 395.8(k): records of duty status are kept 6 months
compliance_driver_logs_retention_days = 190
deletion_protection                   = true

# --- lambda ---
# reserved: stream functions >= shards x parallelization (GPS 48 x 3 = 144, diagnostics 32 x 2 = 64 per EFO consumer),
# the shard counts being what `loadgen capacity` recommends for the prod profile's top stage x 1.3 with the real
# keys' skew; 7 x 144 + 6 x 10 = 1,068 reserved needs more than a default account's 1,000: prod runs in an account
# whose Lambda concurrency quota is raised to 1,500 (Service Quotas, "Concurrent executions"), set below and
# checked by a precondition (reserved <= quota - the 100 AWS keeps unreserved). The SQS consumers and the DOT
# report map run at most 10 at a time.
runtime                = "python3.12"
processor_memory       = 1024
anomaly_memory         = 1024
maintenance_memory     = 512
driver_notifier_memory = 256
fleet_memory           = 512
predictive_memory      = 2048
hos_memory             = 1024
hos_report_memory      = 512
# 1,769 MB = one full vCPU for geohash/geofence math on 500-fix batches
location_memory                 = 1769
fuel_memory                     = 1024
coaching_memory                 = 256
transform_memory                = 512
dot_report_memory               = 1024
timeout_s                       = 60
report_timeout_s                = 300
reserved_concurrency            = 144
consumer_reserved_concurrency   = 10
lambda_concurrency_quota        = 1500
sqs_batch_size                  = 10
sqs_batching_window_seconds     = 1
sqs_max_concurrency             = 10
anomaly_window_seconds          = 1800
prediction_min_interval_seconds = 900
predictive_confidence_threshold = 0.8
fuel_efficiency_threshold       = 0.85
predictive_endpoint_name        = "fleet-failure-predictor"

# --- redis ---
# GEO index 234k members (~25 MB) + 30-min coolant windows (120 x 234k = 28M entries, ~2.8 GB) + counters
# -> r7g.xlarge (26 GB) keeps memory < 20 %; 3 nodes for read replicas across AZs
node_type                = "cache.r7g.xlarge"
num_cache_clusters       = 3
engine_version           = "7.1"
snapshot_retention_limit = 7

# --- aurora ---
cluster_identifier    = "fleet-db"
aurora_database_name  = "fleet"
master_username       = "fleet_admin"
aurora_engine_version = "16.4"
instance_class        = "db.serverless"
min_capacity          = 4
max_capacity          = 64
backup_retention_days = 35

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
retention_seconds              = 604800
dlq_retention_seconds          = 1209600
max_receive_count              = 5
compliance_schedule_expression = "cron(0 6 * * ? *)"
report_map_max_concurrency     = 10
report_fleets_per_batch_size   = 10

# --- s3 / firehose / glue / athena ---
reports_bucket                       = "compliance-reports"
data_lake_bucket                     = "data-lake"
output_bucket                        = "athena-results"
lifecycle_archive_days               = 90
athena_results_expiration_days       = 30
compliance_reports_object_lock_mode  = "COMPLIANCE"
compliance_dot_record_retention_days = 190
diagnostics_firehose_name            = "diagnostics-archive"
# 6.7 MiB/s of diagnostics fills 128 MiB in ~20 s; 60 s keeps files fresh for Athena
buffer_interval_s              = 60
buffer_size_mb                 = 128
data_format_conversion_enabled = true
crawler_name                   = "diagnostics-crawler"
glue_database_name             = "telematics_lake"
crawler_schedule               = "cron(0 2 * * ? *)"
workgroup_name                 = "analytics"
athena_bytes_scanned_limit     = 107374182400

# --- telematics API mock / external APIs ---
telematics_api_throttle_rate_limit  = 500
telematics_api_throttle_burst_limit = 1000
fmcsa_pdf_api_url                   = "https://pdf-renderer.example.com/v1/dot-reports"

# --- cloudwatch ---
# Kinesis thresholds = 80 % of shard capacity per 60 s: bytes = shards x 1,048,576 x 60 x 0.8 = shards x 50,331,648;
# records = shards x 1,000 x 60 x 0.8 = shards x 48,000.
log_retention_days                       = 365
diagnostics_incoming_bytes_threshold     = 1308622848
hos_incoming_bytes_threshold             = 402653184
gps_incoming_bytes_threshold             = 2013265920
diagnostics_incoming_records_threshold   = 1248000
hos_incoming_records_threshold           = 384000
gps_incoming_records_threshold           = 1920000
kinesis_get_records_latency_threshold_ms = 200
kinesis_iterator_age_threshold_ms        = 60000
# grows with stream_batch_size (100 / 250 / 500)
diagnostics_processor_duration_p95_threshold_ms = 8000
anomaly_duration_p95_threshold_ms               = 10000
location_processor_duration_p95_threshold_ms    = 10000
# 5 % of GPS writes per minute (500 / 5,000 / 23,400 rec/s x 60 x 0.05)
locations_conditional_check_failed_threshold = 70200
dynamodb_throttle_events_threshold           = 5
redis_memory_threshold_pct                   = 75
redis_geo_latency_threshold_us               = 1000
# ~80 % of max_connections at max ACU (4 ACU ~ 900, 16 ACU ~ 3,600, 64 ACU = 5,000 cap)
aurora_connections_threshold             = 4000
sqs_oldest_message_age_threshold_seconds = 300
dlq_depth_threshold                      = 0
sfn_failures_threshold                   = 0
firehose_delivery_success_threshold      = 0.99

# --- region singletons ---
# one stack per account and region owns API Gateway's CloudWatch role setting (terraform/README.md)
manage_api_gateway_account = false
