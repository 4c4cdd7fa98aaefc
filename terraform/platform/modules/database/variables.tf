variable "name_prefix" {
  type        = string
  description = "Prefix of every name (the workspace)."
}

variable "name_suffix" {
  type        = string
  description = "Suffix of every name (environment_suffix)."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the cluster."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the cluster (two AZs)."
}

variable "client_security_group_id" {
  type        = string
  description = "Security group whose members may connect on 5432 (the compute module's)."
}

variable "instance_class" {
  type        = string
  description = "Instance class of the writer."
}

variable "engine_version" {
  type        = string
  description = "Aurora PostgreSQL engine version."
}

variable "backup_retention_days" {
  type        = number
  description = "Automated backup retention."
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the exported PostgreSQL logs."
}

variable "database_name" {
  type        = string
  description = "Initial database."
  default     = "platform"
}

variable "tags" {
  type        = map(string)
  description = "Module-specific tags."
  default     = {}
}
