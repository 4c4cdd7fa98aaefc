variable "env" {
  type        = string
  description = "Environment (dev, staging, prod); must equal the selected workspace."

  validation {
    condition     = contains(["dev", "staging", "prod"], var.env)
    error_message = "env must be dev, staging or prod."
  }
}

variable "environment_suffix" {
  type        = string
  description = "Suffix of every resource name (uniqueness of a deployment, e.g. a PR number); the same in the three tfvars."
}

variable "aws_region" {
  type        = string
  description = "Region of every resource (the spec: us-east-1)."
  default     = "us-east-1"
}

variable "project" {
  type        = string
  description = "Project tag."
  default     = "platform"
}

variable "tags" {
  type        = map(string)
  description = "Extra tags merged into every resource's tags."
  default     = {}
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR of the env's VPC (10.0/10.1/10.2.0.0/16)."
}

variable "availability_zones" {
  type        = list(string)
  description = "The two AZs of the subnets."
}

variable "public_subnet_cidrs" {
  type        = list(string)
  description = "One public subnet CIDR per AZ."
}

variable "private_subnet_cidrs" {
  type        = list(string)
  description = "One private subnet CIDR per AZ."
}

variable "db_instance_class" {
  type        = string
  description = "Aurora PostgreSQL instance class of the env (see README for the spec's classes Aurora does not offer)."
}

variable "db_backup_retention_days" {
  type        = number
  description = "Automated backup retention of the Aurora cluster."
}

variable "db_engine_version" {
  type        = string
  description = "Aurora PostgreSQL engine version."
  default     = "15.4"
}

variable "lambda_memory_size" {
  type        = number
  description = "Memory of the event processor (MB): 128 dev, 256 staging, 512 prod."
}

variable "lambda_timeout_seconds" {
  type        = number
  description = "Timeout of the event processor."
}

variable "lambda_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the event processor."
}

variable "lambda_max_retry_attempts" {
  type        = number
  description = "Retries of a failed asynchronous invocation (0-2) before it goes to the failure queue."
}

variable "lambda_max_event_age_seconds" {
  type        = number
  description = "Age after which an asynchronous event is sent to the failure queue instead of retried."
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the log groups (Lambda, flow logs, Aurora)."
}

variable "lambda_errors_threshold" {
  type        = number
  description = "Errors per 5 minutes of the event processor that alarm."
}
