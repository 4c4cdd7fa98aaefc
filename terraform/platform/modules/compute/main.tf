# modules/compute — the event processor: a Python 3.11 Lambda (per-env memory) in the private subnets that
# records account events exactly once in an on-demand DynamoDB table; failed asynchronous invocations are
# retried (max_retry_attempts, max_event_age) and then land in an SQS failure queue; errors alarm.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  function_name = "${var.name_prefix}-event-processor-${var.name_suffix}"
}

resource "aws_kms_key" "main" {
  description             = "${var.name_prefix}-compute-${var.name_suffix} (table, queue, environment, logs)"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  tags                    = var.tags

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryption"
        Effect    = "Allow"
        Principal = { Service = "logs.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:*:${data.aws_caller_identity.current.account_id}:log-group:*" } }
      },
    ]
  })
}

resource "aws_dynamodb_table" "events" {
  name                        = "${var.name_prefix}-events-${var.name_suffix}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "event_id"
  deletion_protection_enabled = false
  tags                        = var.tags

  attribute {
    name = "event_id"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }
}

resource "aws_sqs_queue" "failures" {
  name                              = "${var.name_prefix}-event-processor-failures-${var.name_suffix}"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.main.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

resource "aws_security_group" "lambda" {
  name        = "${var.name_prefix}-event-processor-sg-${var.name_suffix}"
  description = "Event processor: HTTPS out (AWS APIs via NAT and gateway endpoints), nothing in"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.lambda.id
  description       = "HTTPS to AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_cloudwatch_log_group" "lambda" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
  tags              = var.tags
}

resource "aws_iam_role" "lambda" {
  name = "${local.function_name}-role"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
  tags = var.tags
}

# Least privilege: this table (put only), this queue, this key, this log group.
resource "aws_iam_role_policy" "lambda" {
  name = "least-privilege"
  role = aws_iam_role.lambda.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "RecordEvents", Effect = "Allow", Action = ["dynamodb:PutItem"], Resource = [aws_dynamodb_table.events.arn] },
      { Sid = "FailureQueue", Effect = "Allow", Action = ["sqs:SendMessage"], Resource = [aws_sqs_queue.failures.arn] },
      { Sid = "ModuleKey", Effect = "Allow", Action = ["kms:Decrypt", "kms:GenerateDataKey"], Resource = [aws_kms_key.main.arn] },
      { Sid = "OwnLogGroup", Effect = "Allow", Action = ["logs:CreateLogStream", "logs:PutLogEvents"], Resource = ["${aws_cloudwatch_log_group.lambda.arn}:*"] },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "vpc" {
  role       = aws_iam_role.lambda.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role_policy_attachment" "xray" {
  role       = aws_iam_role.lambda.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

data "archive_file" "event_processor" {
  type        = "zip"
  source_file = "${path.module}/lambda/event_processor.py"
  output_path = "${path.module}/.build/event_processor.zip"
}

resource "aws_lambda_function" "event_processor" {
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile; the package is built from this repository by archive_file.
  function_name                  = local.function_name
  description                    = "Records account events exactly once"
  role                           = aws_iam_role.lambda.arn
  runtime                        = var.runtime
  handler                        = "event_processor.handler"
  filename                       = data.archive_file.event_processor.output_path
  source_code_hash               = data.archive_file.event_processor.output_base64sha256
  memory_size                    = var.memory_size
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = aws_kms_key.main.arn
  tags                           = var.tags

  environment {
    variables = {
      ENV          = var.env
      EVENTS_TABLE = aws_dynamodb_table.events.name
    }
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.lambda.id]
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.failures.arn
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.lambda.name
  }

  depends_on = [aws_iam_role_policy.lambda, aws_iam_role_policy_attachment.vpc]
}

resource "aws_lambda_function_event_invoke_config" "event_processor" {
  function_name                = aws_lambda_function.event_processor.function_name
  maximum_retry_attempts       = var.max_retry_attempts
  maximum_event_age_in_seconds = var.max_event_age

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failures.arn
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${local.function_name}-errors"
  alarm_description   = "Event processor errors (each retried, then sent to the failure queue)"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.event_processor.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.errors_threshold
  treat_missing_data  = "notBreaching"
  tags                = var.tags
}
