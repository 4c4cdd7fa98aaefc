variable "name_prefix" {
  type        = string
  description = "Prefix of every name (the workspace)."
}

variable "name_suffix" {
  type        = string
  description = "Suffix of every name (environment_suffix)."
}

variable "env" {
  type        = string
  description = "Environment name, passed to the function."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the function."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the function."
}

variable "memory_size" {
  type        = number
  description = "Memory of the function (MB)."
}

variable "timeout_seconds" {
  type        = number
  description = "Timeout of the function."
}

variable "reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the function."
}

variable "max_retry_attempts" {
  type        = number
  description = "Retries of a failed asynchronous invocation (0-2)."
}

variable "max_event_age" {
  type        = number
  description = "Maximum age (s) of an asynchronous event before it goes to the failure queue."
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the function's log group."
}

variable "errors_threshold" {
  type        = number
  description = "Errors per 5 minutes that alarm."
}

variable "runtime" {
  type        = string
  description = "Lambda runtime (the spec's Python 3.11)."
  default     = "python3.11"
}

variable "tags" {
  type        = map(string)
  description = "Module-specific tags."
  default     = {}
}
