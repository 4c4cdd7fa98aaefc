variable "name_prefix" {
  type        = string
  description = "Prefix of every name (the workspace)."
}

variable "name_suffix" {
  type        = string
  description = "Suffix of every name (environment_suffix)."
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR of the VPC."
}

variable "availability_zones" {
  type        = list(string)
  description = "AZs, one public and one private subnet each."
}

variable "public_subnet_cidrs" {
  type        = list(string)
  description = "Public subnet CIDRs, one per AZ."
}

variable "private_subnet_cidrs" {
  type        = list(string)
  description = "Private subnet CIDRs, one per AZ."
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the flow logs."
}

variable "tags" {
  type        = map(string)
  description = "Module-specific tags merged into the provider's default tags."
  default     = {}
}
