###############################################################################
# task_api — the production version of the TAP task API (../../../shared/specs/task_api.md)
#
# Client (API key, allowed IPs) -> API Gateway REST API (resource policy, usage
# plan, encrypted cache for GETs) -> tasks Lambda (python3.12, VPC) -> DynamoDB
# tasks table (provisioned, target-tracking autoscaling on the table and its
# status index) + audit records in the S3 log bucket. Secrets Manager holds the
# client API key and the list-page signing key. Alarms: API 4XX/5XX rate, p95
# latency, DynamoDB read/write throttles.
#
# Topology is identical in every env; dev/staging/prod.tfvars set capacities and
# thresholds only. README.md lists what was corrected relative to the spec.
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
  }
}

###############################################################################
# Variables — general and network
###############################################################################

variable "env" {
  type        = string
  description = "Environment name (dev, staging, prod)."

  validation {
    condition     = contains(["dev", "staging", "prod"], var.env)
    error_message = "env must be dev, staging or prod."
  }
}

variable "aws_region" {
  type        = string
  description = "AWS region of every resource."
  default     = "us-west-2"
}

variable "project_name" {
  type        = string
  description = "Prefix of every resource name."
  default     = "tap-task-api"
}

variable "tags" {
  type        = map(string)
  description = "Tags of every resource (merged with Environment)."
  default = {
    Project   = "TapStack"
    Owner     = "TuringGPT"
    ManagedBy = "Terraform"
  }
}

variable "manage_api_gateway_account" {
  type        = bool
  description = "Whether this stack owns the region's API Gateway account setting (the CloudWatch logging role). Exactly one stack per account and region sets it (property_maintenance, see terraform/README.md)."
  default     = false
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR of the stack's VPC (the spec's 10.0.0.0/16)."
}

variable "availability_zones" {
  type        = list(string)
  description = "AZs of the private subnets (two, for the Lambda and the interface endpoint)."
}

variable "private_subnet_cidrs" {
  type        = list(string)
  description = "One private subnet CIDR per AZ."
}

variable "allowed_ip_cidrs" {
  type        = list(string)
  description = "Source IPs/CIDRs the API resource policy admits (the spec's lambda_allowed_ips); the same clients in every env."
}

variable "flow_log_retention_days" {
  type        = number
  description = "Retention of the VPC flow logs."
}

###############################################################################
# Variables — API
###############################################################################

variable "api_stage_name" {
  type        = string
  description = "Stage name of the REST API."
  default     = "v1"
}

variable "api_throttle_rate_limit" {
  type        = number
  description = "Steady-state requests/s of every method (stage) and of the usage plan."
}

variable "api_throttle_burst_limit" {
  type        = number
  description = "Burst of every method (stage) and of the usage plan."
}

variable "api_usage_plan_quota_limit" {
  type        = number
  description = "Requests per day allowed to the client API key."
}

variable "api_cache_cluster_size" {
  type        = string
  description = "API Gateway cache size in GB (0.5 ... 237)."
}

variable "api_cache_ttl_seconds" {
  type        = number
  description = "TTL of cached GET responses (the spec's 5 minutes in prod)."
}

variable "api_log_retention_days" {
  type        = number
  description = "Retention of the API access log group."
}

###############################################################################
# Variables — DynamoDB (provisioned, target tracking)
###############################################################################

variable "dynamodb_table_name" {
  type        = string
  description = "Name of the tasks table (prefixed with project and env)."
  default     = "tasks"
}

variable "ddb_read_min_capacity" {
  type        = number
  description = "Lower bound of the table's (and status index's) read capacity autoscaling."
}

variable "ddb_read_max_capacity" {
  type        = number
  description = "Upper bound of the table's (and status index's) read capacity autoscaling."
}

variable "ddb_write_min_capacity" {
  type        = number
  description = "Lower bound of the table's (and status index's) write capacity autoscaling."
}

variable "ddb_write_max_capacity" {
  type        = number
  description = "Upper bound of the table's (and status index's) write capacity autoscaling."
}

variable "ddb_target_utilization_percent" {
  type        = number
  description = "Target consumed/provisioned percentage of the target-tracking policies (the spec's 70)."
}

variable "ddb_scale_in_cooldown_seconds" {
  type        = number
  description = "Seconds after a scale-in before another scale-in."
}

variable "ddb_scale_out_cooldown_seconds" {
  type        = number
  description = "Seconds after a scale-out before another scale-out."
}

variable "ddb_deletion_protection" {
  type        = bool
  description = "Deletion protection of the tasks table."
  default     = true
}

###############################################################################
# Variables — Lambda, logs, secrets
###############################################################################

variable "lambda_runtime" {
  type        = string
  description = "Lambda runtime (the spec's python3.8 is deprecated; see README)."
  default     = "python3.12"
}

variable "lambda_memory_size" {
  type        = number
  description = "Memory of the tasks function (MB)."
}

variable "lambda_timeout_seconds" {
  type        = number
  description = "Timeout of the tasks function (below API Gateway's 29 s integration limit)."
}

variable "lambda_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the tasks function (>= the API's rate x p99 duration)."
}

variable "lambda_log_retention_days" {
  type        = number
  description = "Retention of the function's log group."
}

variable "api_key_secret_name" {
  type        = string
  description = "Name of the secret holding the client API key and the page-token signing key."
  default     = "api-keys"
}

variable "log_transition_ia_days" {
  type        = number
  description = "Days before audit records move to STANDARD_IA."
}

variable "log_expiration_days" {
  type        = number
  description = "Days before audit records expire."
}

variable "noncurrent_version_retention_days" {
  type        = number
  description = "Days a replaced/deleted object version is kept."
}

###############################################################################
# Variables — alarm thresholds (differ per env)
###############################################################################

variable "api_4xx_rate_threshold" {
  type        = number
  description = "API 4XX error rate (0-1, Average of the 0/1 metric) that alarms."
}

variable "api_5xx_rate_threshold" {
  type        = number
  description = "API 5XX error rate (0-1) that alarms."
}

variable "api_latency_p95_threshold_ms" {
  type        = number
  description = "API p95 latency (ms) that alarms (the spec's target: < 200 ms)."
}

variable "ddb_throttle_events_threshold" {
  type        = number
  description = "Read or write throttle events per minute on the tasks table that alarm."
}

###############################################################################
# Data sources and locals
###############################################################################

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  name_prefix = "${var.project_name}-${var.env}"
  account_id  = data.aws_caller_identity.current.account_id
  partition   = data.aws_partition.current.partition
  region      = data.aws_region.current.name
  tags        = merge(var.tags, { Environment = var.env })

  table_name    = "${local.name_prefix}-${var.dynamodb_table_name}"
  status_index  = "status-created_at-index"
  function_name = "${local.name_prefix}-tasks"
  log_bucket    = "${local.name_prefix}-logs-${local.account_id}"
  az_index      = { for i, az in var.availability_zones : az => i }

  # Target tracking on the table and its status index, reads and writes (capacities from tfvars).
  ddb_scaling = {
    table_read  = { resource = "table/${local.table_name}", dimension = "dynamodb:table:ReadCapacityUnits", metric = "DynamoDBReadCapacityUtilization", min = var.ddb_read_min_capacity, max = var.ddb_read_max_capacity }
    table_write = { resource = "table/${local.table_name}", dimension = "dynamodb:table:WriteCapacityUnits", metric = "DynamoDBWriteCapacityUtilization", min = var.ddb_write_min_capacity, max = var.ddb_write_max_capacity }
    index_read  = { resource = "table/${local.table_name}/index/${local.status_index}", dimension = "dynamodb:index:ReadCapacityUnits", metric = "DynamoDBReadCapacityUtilization", min = var.ddb_read_min_capacity, max = var.ddb_read_max_capacity }
    index_write = { resource = "table/${local.table_name}/index/${local.status_index}", dimension = "dynamodb:index:WriteCapacityUnits", metric = "DynamoDBWriteCapacityUtilization", min = var.ddb_write_min_capacity, max = var.ddb_write_max_capacity }
  }

  alarm_actions = [aws_sns_topic.alarms.arn]
}

###############################################################################
# KMS — one customer managed key (DynamoDB, logs, S3, secrets, Lambda env, SNS)
###############################################################################

resource "aws_kms_key" "main" {
  description             = "${local.name_prefix} task data"
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
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*" }
        }
      },
      {
        Sid       = "CloudWatchAlarmsToEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
    ]
  })
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name_prefix}"
  target_key_id = aws_kms_key.main.key_id
}

###############################################################################
# VPC — private subnets only; AWS APIs through VPC endpoints (no NAT, no internet)
###############################################################################

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = "${local.name_prefix}-vpc" }
}

# The default security group admits nothing.
resource "aws_default_security_group" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_subnet" "private" {
  for_each          = local.az_index
  vpc_id            = aws_vpc.main.id
  availability_zone = each.key
  cidr_block        = var.private_subnet_cidrs[each.value]
  tags              = { Name = "${local.name_prefix}-private-${each.key}" }
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "${local.name_prefix}-private" }
}

resource "aws_route_table_association" "private" {
  for_each       = aws_subnet.private
  subnet_id      = each.value.id
  route_table_id = aws_route_table.private.id
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = "/aws/vpc/${local.name_prefix}-flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_iam_role" "flow_logs" {
  name = "${local.name_prefix}-flow-logs"
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

# The function may open HTTPS connections inside the VPC only (to the endpoints and gateway prefixes).
resource "aws_security_group" "lambda" {
  name        = "${local.name_prefix}-lambda"
  description = "Tasks function: HTTPS out to the VPC endpoints only; nothing in"
  vpc_id      = aws_vpc.main.id
}

resource "aws_security_group" "endpoints" {
  name        = "${local.name_prefix}-endpoints"
  description = "Interface endpoints: HTTPS from the tasks function only"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_egress_rule" "lambda_to_endpoints" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "HTTPS to the interface endpoints (Secrets Manager)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints.id
}

resource "aws_vpc_security_group_egress_rule" "lambda_to_gateways" {
  for_each          = aws_vpc_endpoint.gateway
  security_group_id = aws_security_group.lambda.id
  description       = "HTTPS to ${each.key} through its gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = each.value.prefix_list_id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_lambda" {
  security_group_id            = aws_security_group.endpoints.id
  description                  = "HTTPS from the tasks function"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_vpc_endpoint" "gateway" {
  for_each          = toset(["dynamodb", "s3"])
  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id]
  tags              = { Name = "${local.name_prefix}-${each.key}" }
}

resource "aws_vpc_endpoint" "secretsmanager" {
  vpc_id              = aws_vpc.main.id
  service_name        = "com.amazonaws.${local.region}.secretsmanager"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = [for s in aws_subnet.private : s.id]
  security_group_ids  = [aws_security_group.endpoints.id]
  tags                = { Name = "${local.name_prefix}-secretsmanager" }
}

###############################################################################
# DynamoDB — tasks table, provisioned with target-tracking autoscaling
###############################################################################

resource "aws_dynamodb_table" "tasks" {
  name                        = local.table_name
  billing_mode                = "PROVISIONED"
  read_capacity               = var.ddb_read_min_capacity
  write_capacity              = var.ddb_write_min_capacity
  hash_key                    = "id"
  deletion_protection_enabled = var.ddb_deletion_protection

  attribute {
    name = "id"
    type = "S"
  }
  attribute {
    name = "status"
    type = "S"
  }
  attribute {
    name = "created_at"
    type = "S"
  }

  # GET /tasks?status=...: a status's tasks, newest first.
  global_secondary_index {
    name            = local.status_index
    hash_key        = "status"
    range_key       = "created_at"
    projection_type = "ALL"
    read_capacity   = var.ddb_read_min_capacity
    write_capacity  = var.ddb_write_min_capacity
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }

  # Autoscaling owns the provisioned capacities after creation.
  lifecycle {
    ignore_changes = [read_capacity, write_capacity, global_secondary_index]
  }
}

resource "aws_appautoscaling_target" "dynamodb" {
  for_each           = local.ddb_scaling
  service_namespace  = "dynamodb"
  resource_id        = each.value.resource
  scalable_dimension = each.value.dimension
  min_capacity       = each.value.min
  max_capacity       = each.value.max
  depends_on         = [aws_dynamodb_table.tasks]
}

resource "aws_appautoscaling_policy" "dynamodb" {
  for_each           = local.ddb_scaling
  name               = "${local.name_prefix}-${replace(each.key, "_", "-")}-target-tracking"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.dynamodb[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.dynamodb[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.dynamodb[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.ddb_target_utilization_percent
    scale_in_cooldown  = var.ddb_scale_in_cooldown_seconds
    scale_out_cooldown = var.ddb_scale_out_cooldown_seconds

    predefined_metric_specification {
      predefined_metric_type = each.value.metric
    }
  }
}

###############################################################################
# Secrets Manager — client API key and page-token signing key
###############################################################################

data "aws_secretsmanager_random_password" "api_key" {
  password_length     = 40
  exclude_punctuation = true
}

data "aws_secretsmanager_random_password" "page_token_key" {
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "api_keys" {
  #checkov:skip=CKV2_AWS_57:The client API key is rotated by replacing the API Gateway key with its clients (a coordinated change, not a Lambda rotation); see README.
  name                    = "${local.name_prefix}/${var.api_key_secret_name}"
  description             = "Client API key of the task API and the key that signs list-page tokens"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

# The values are generated once; the API key must stay what clients were given.
resource "aws_secretsmanager_secret_version" "api_keys" {
  secret_id = aws_secretsmanager_secret.api_keys.id
  secret_string = jsonencode({
    client_api_key = data.aws_secretsmanager_random_password.api_key.random_password
    page_token_key = data.aws_secretsmanager_random_password.page_token_key.random_password
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

###############################################################################
# S3 — log bucket (audit records): split resources, KMS, TLS-only, lifecycle
###############################################################################

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This bucket holds the API's audit records; S3 server access logging of it would need a second log bucket with nothing reading it.
  #checkov:skip=CKV_AWS_144:Single-region stack; audit records are kept in-region for log_expiration_days.
  #checkov:skip=CKV2_AWS_62:No consumer reacts to new audit records.
  bucket = local.log_bucket
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "audit-records"
    status = "Enabled"
    filter {
      prefix = "audit/"
    }
    transition {
      days          = var.log_transition_ia_days
      storage_class = "STANDARD_IA"
    }
    expiration {
      days = var.log_expiration_days
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

  depends_on = [aws_s3_bucket_versioning.logs]
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "TlsOnly"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
  depends_on = [aws_s3_bucket_public_access_block.logs]
}

###############################################################################
# Lambda — the tasks function
###############################################################################

data "archive_file" "tasks" {
  type        = "zip"
  source_file = "${path.module}/lambda/tasks.py"
  output_path = "${path.module}/.build/tasks.zip"
}

resource "aws_cloudwatch_log_group" "lambda" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.lambda_log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_iam_role" "lambda" {
  name = "${local.function_name}-role"
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

# Least privilege: this table and its index, this bucket's audit prefix, this one secret, this log group.
resource "aws_iam_role_policy" "lambda" {
  name = "least-privilege"
  role = aws_iam_role.lambda.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "Tasks"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
        Resource = [aws_dynamodb_table.tasks.arn, "${aws_dynamodb_table.tasks.arn}/index/${local.status_index}"]
      },
      {
        Sid      = "AuditRecords"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = ["${aws_s3_bucket.logs.arn}/audit/*"]
      },
      {
        Sid      = "PageTokenKey"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = [aws_secretsmanager_secret.api_keys.arn]
      },
      {
        Sid      = "StackKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [aws_kms_key.main.arn]
      },
      {
        Sid      = "OwnLogGroup"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
      },
    ]
  })
}

# ENI management for a VPC function and X-Ray segments (AWS managed policies; both need Resource "*").
resource "aws_iam_role_policy_attachment" "lambda_vpc" {
  role       = aws_iam_role.lambda.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role_policy_attachment" "lambda_xray" {
  role       = aws_iam_role.lambda.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

resource "aws_lambda_function" "tasks" {
  #checkov:skip=CKV_AWS_116:API Gateway invokes the function synchronously; a failed request is answered with 5XX (alarmed), there is no async event to dead-letter.
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile and signed artifacts; the package is built from this repository by archive_file.
  function_name                  = local.function_name
  description                    = "Task API: create, get and list tasks"
  role                           = aws_iam_role.lambda.arn
  runtime                        = var.lambda_runtime
  architectures                  = ["arm64"]
  handler                        = "tasks.handler"
  filename                       = data.archive_file.tasks.output_path
  source_code_hash               = data.archive_file.tasks.output_base64sha256
  memory_size                    = var.lambda_memory_size
  timeout                        = var.lambda_timeout_seconds
  reserved_concurrent_executions = var.lambda_reserved_concurrency
  kms_key_arn                    = aws_kms_key.main.arn

  environment {
    variables = {
      ENV                = var.env
      TASKS_TABLE        = aws_dynamodb_table.tasks.name
      STATUS_INDEX       = local.status_index
      LOG_BUCKET         = aws_s3_bucket.logs.bucket
      API_KEY_SECRET_ARN = aws_secretsmanager_secret.api_keys.arn
    }
  }

  vpc_config {
    subnet_ids         = [for s in aws_subnet.private : s.id]
    security_group_ids = [aws_security_group.lambda.id]
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.lambda.name
  }

  depends_on = [aws_iam_role_policy.lambda, aws_iam_role_policy_attachment.lambda_vpc]
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApiGateway"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.tasks.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.main.execution_arn}/*/*/tasks*"
}

###############################################################################
# API Gateway — REST API: IP resource policy, API key + usage plan, encrypted cache
###############################################################################

resource "aws_api_gateway_rest_api" "main" {
  name           = "${local.name_prefix}-api"
  description    = "Task API (create, get, list tasks)"
  api_key_source = "HEADER"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

# Only the allowed source IPs may invoke any method of the API.
resource "aws_api_gateway_rest_api_policy" "ip_allow_list" {
  rest_api_id = aws_api_gateway_rest_api.main.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowListedClients"
        Effect    = "Allow"
        Principal = "*"
        Action    = "execute-api:Invoke"
        Resource  = "${aws_api_gateway_rest_api.main.execution_arn}/*"
        Condition = { IpAddress = { "aws:SourceIp" = var.allowed_ip_cidrs } }
      },
      {
        Sid       = "DenyEveryoneElse"
        Effect    = "Deny"
        Principal = "*"
        Action    = "execute-api:Invoke"
        Resource  = "${aws_api_gateway_rest_api.main.execution_arn}/*"
        Condition = { NotIpAddress = { "aws:SourceIp" = var.allowed_ip_cidrs } }
      },
    ]
  })
}

resource "aws_api_gateway_resource" "tasks" {
  rest_api_id = aws_api_gateway_rest_api.main.id
  parent_id   = aws_api_gateway_rest_api.main.root_resource_id
  path_part   = "tasks"
}

resource "aws_api_gateway_resource" "task" {
  rest_api_id = aws_api_gateway_rest_api.main.id
  parent_id   = aws_api_gateway_resource.tasks.id
  path_part   = "{id}"
}

resource "aws_api_gateway_model" "create_task" {
  rest_api_id  = aws_api_gateway_rest_api.main.id
  name         = "CreateTask"
  description  = "POST /tasks body"
  content_type = "application/json"
  schema       = file("${path.module}/schemas/create_task.json")
}

resource "aws_api_gateway_request_validator" "body" {
  rest_api_id                 = aws_api_gateway_rest_api.main.id
  name                        = "body"
  validate_request_body       = true
  validate_request_parameters = true
}

resource "aws_api_gateway_request_validator" "params" {
  rest_api_id                 = aws_api_gateway_rest_api.main.id
  name                        = "params"
  validate_request_body       = false
  validate_request_parameters = true
}

locals {
  # Routes: the resource, the validator, request parameters (required = true) and which of them key the cache.
  api_routes = {
    create_task = {
      resource_id = aws_api_gateway_resource.tasks.id, method = "POST", validator = aws_api_gateway_request_validator.body.id
      models      = { "application/json" = aws_api_gateway_model.create_task.name }, parameters = {}, cache_keys = []
    }
    list_tasks = {
      resource_id = aws_api_gateway_resource.tasks.id, method = "GET", validator = aws_api_gateway_request_validator.params.id, models = {}
      parameters  = { "method.request.querystring.status" = false, "method.request.querystring.limit" = false, "method.request.querystring.next" = false }
      cache_keys  = ["method.request.querystring.status", "method.request.querystring.limit", "method.request.querystring.next"]
    }
    get_task = {
      resource_id = aws_api_gateway_resource.task.id, method = "GET", validator = aws_api_gateway_request_validator.params.id, models = {}
      parameters  = { "method.request.path.id" = true }, cache_keys = ["method.request.path.id"]
    }
  }
}

resource "aws_api_gateway_method" "route" {
  #checkov:skip=CKV_AWS_59:Every method requires the client API key and the resource policy admits only the allow-listed IPs (the spec's access model); no IAM or Cognito callers exist.
  #checkov:skip=CKV2_AWS_53:Requests are validated: the POST body against the CreateTask model, GET parameters by the params validator.
  for_each             = local.api_routes
  rest_api_id          = aws_api_gateway_rest_api.main.id
  resource_id          = each.value.resource_id
  http_method          = each.value.method
  authorization        = "NONE"
  api_key_required     = true
  request_validator_id = each.value.validator
  request_models       = each.value.models
  request_parameters   = each.value.parameters
}

resource "aws_api_gateway_integration" "route" {
  for_each                = local.api_routes
  rest_api_id             = aws_api_gateway_rest_api.main.id
  resource_id             = each.value.resource_id
  http_method             = aws_api_gateway_method.route[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = aws_lambda_function.tasks.invoke_arn
  cache_key_parameters    = each.value.cache_keys
}

resource "aws_api_gateway_deployment" "main" {
  rest_api_id = aws_api_gateway_rest_api.main.id

  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.tasks.id,
      aws_api_gateway_resource.task.id,
      aws_api_gateway_model.create_task.schema,
      aws_api_gateway_rest_api_policy.ip_allow_list.policy,
      [for k, m in aws_api_gateway_method.route : m.id],
      [for k, i in aws_api_gateway_integration.route : i.id],
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${local.name_prefix}-api/access"
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

# Region-wide singleton: managed by one stack only (var.manage_api_gateway_account).
resource "aws_api_gateway_account" "main" {
  count = var.manage_api_gateway_account ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.apigw_cloudwatch[0].arn
}

resource "aws_api_gateway_stage" "main" {
  #checkov:skip=CKV2_AWS_29:No WAF (not in the spec): the resource policy admits only allow-listed IPs, every method needs the API key, and the usage plan bounds the rate.
  #checkov:skip=CKV2_AWS_51:Clients authenticate with the API key from allow-listed IPs; mutual TLS is not part of the contract.
  rest_api_id           = aws_api_gateway_rest_api.main.id
  deployment_id         = aws_api_gateway_deployment.main.id
  stage_name            = var.api_stage_name
  xray_tracing_enabled  = true
  cache_cluster_enabled = true
  cache_cluster_size    = var.api_cache_cluster_size

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId = "$context.requestId", ip = "$context.identity.sourceIp", apiKeyId = "$context.identity.apiKeyId"
      method    = "$context.httpMethod", path = "$context.resourcePath", status = "$context.status"
      latencyMs = "$context.responseLatency", integrationMs = "$context.integrationLatency"
    })
  }

  depends_on = [aws_api_gateway_account.main]
}

# Every method: metrics, INFO logs (no bodies), throttles; GET responses cached, encrypted.
resource "aws_api_gateway_method_settings" "all" {
  rest_api_id = aws_api_gateway_rest_api.main.id
  stage_name  = aws_api_gateway_stage.main.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "INFO"
    data_trace_enabled     = false
    throttling_rate_limit  = var.api_throttle_rate_limit
    throttling_burst_limit = var.api_throttle_burst_limit
    caching_enabled        = true
    cache_data_encrypted   = true
    cache_ttl_in_seconds   = var.api_cache_ttl_seconds
  }
}

# A create must never be answered from the cache.
resource "aws_api_gateway_method_settings" "create_uncached" {
  #checkov:skip=CKV_AWS_225:POST /tasks creates a task; answering it from the cache would drop the write.
  rest_api_id = aws_api_gateway_rest_api.main.id
  stage_name  = aws_api_gateway_stage.main.stage_name
  method_path = "tasks/POST"

  settings {
    metrics_enabled        = true
    logging_level          = "INFO"
    data_trace_enabled     = false
    throttling_rate_limit  = var.api_throttle_rate_limit
    throttling_burst_limit = var.api_throttle_burst_limit
    caching_enabled        = false
    cache_data_encrypted   = true
  }
}

resource "aws_api_gateway_api_key" "client" {
  name        = "${local.name_prefix}-client"
  description = "API key of the task API's clients (value in the api-keys secret)"
  enabled     = true
  value       = data.aws_secretsmanager_random_password.api_key.random_password

  lifecycle {
    ignore_changes = [value]
  }
}

resource "aws_api_gateway_usage_plan" "main" {
  name        = "${local.name_prefix}-clients"
  description = "Throttle and daily quota of the client API key"

  api_stages {
    api_id = aws_api_gateway_rest_api.main.id
    stage  = aws_api_gateway_stage.main.stage_name
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

resource "aws_api_gateway_usage_plan_key" "client" {
  key_id        = aws_api_gateway_api_key.client.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.main.id
}

###############################################################################
# Alarms — API 4XX/5XX rate and p95 latency, DynamoDB throttles
###############################################################################

resource "aws_sns_topic" "alarms" {
  name              = "${local.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.main.arn
}

locals {
  api_dimensions = { ApiName = aws_api_gateway_rest_api.main.name, Stage = aws_api_gateway_stage.main.stage_name }
}

resource "aws_cloudwatch_metric_alarm" "api_4xx" {
  alarm_name          = "${local.name_prefix}-api-4xx-rate"
  alarm_description   = "Share of requests answered 4XX (bad input, missing key, blocked IP, throttled)"
  namespace           = "AWS/ApiGateway"
  metric_name         = "4XXError"
  dimensions          = local.api_dimensions
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_4xx_rate_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = "${local.name_prefix}-api-5xx-rate"
  alarm_description   = "Share of requests answered 5XX (function errors, timeouts)"
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  dimensions          = local.api_dimensions
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_5xx_rate_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_latency_p95" {
  alarm_name          = "${local.name_prefix}-api-latency-p95"
  alarm_description   = "p95 API latency above target (the spec: < 200 ms)"
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  dimensions          = local.api_dimensions
  extended_statistic  = "p95"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_latency_p95_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  for_each            = { read = "ReadThrottleEvents", write = "WriteThrottleEvents" }
  alarm_name          = "${local.name_prefix}-tasks-${each.key}-throttles"
  alarm_description   = "${each.value} on the tasks table (autoscaling lagging the demand or at max capacity)"
  namespace           = "AWS/DynamoDB"
  metric_name         = each.value
  dimensions          = { TableName = aws_dynamodb_table.tasks.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.ddb_throttle_events_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

###############################################################################
# Outputs
###############################################################################

output "api_invoke_url" {
  description = "Base URL of the stage (append /tasks)."
  value       = aws_api_gateway_stage.main.invoke_url
}

output "api_gateway_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.main.id
}

output "api_key_id" {
  description = "ID of the client API key (its value is in the api-keys secret)."
  value       = aws_api_gateway_api_key.client.id
}

output "api_key_secret_arn" {
  description = "ARN of the secret holding the client API key and the page-token key."
  value       = aws_secretsmanager_secret.api_keys.arn
}

output "lambda_function_name" {
  description = "Name of the tasks function."
  value       = aws_lambda_function.tasks.function_name
}

output "dynamodb_table_name" {
  description = "Name of the tasks table."
  value       = aws_dynamodb_table.tasks.name
}

output "s3_log_bucket_name" {
  description = "Bucket of the audit records."
  value       = aws_s3_bucket.logs.bucket
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value = concat(
    [aws_cloudwatch_metric_alarm.api_4xx.alarm_name, aws_cloudwatch_metric_alarm.api_5xx.alarm_name, aws_cloudwatch_metric_alarm.api_latency_p95.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.dynamodb_throttles : a.alarm_name],
  )
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.main.id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets."
  value       = [for s in aws_subnet.private : s.id]
}

output "security_group_ids" {
  description = "Security groups of the function and the interface endpoints."
  value       = { lambda = aws_security_group.lambda.id, endpoints = aws_security_group.endpoints.id }
}
