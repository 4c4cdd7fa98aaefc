###############################################################################
# platform — identical infrastructure per env through three modules
# (../../../shared/specs/platform.md)
#
# Workspace = env (dev, staging, prod): state, names and tfvars follow it.
#   modules/vpc       2 public + 2 private subnets over 2 AZs, NAT per AZ
#   modules/database  Aurora PostgreSQL (per-env instance class, backups)
#   modules/compute   event processor Lambda (per-env memory) + its DynamoDB table
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

locals {
  # Every name: <workspace>-<resource type>-<environment_suffix>.
  name_prefix = terraform.workspace
  name_suffix = var.environment_suffix
  tags = merge(var.tags, {
    Environment = var.env
    ManagedBy   = "Terraform"
    Project     = var.project
    Workspace   = terraform.workspace
  })
}

# dev.tfvars applied in the prod workspace would build prod's names with dev's sizes: refuse it.
resource "terraform_data" "workspace_guard" {
  input = terraform.workspace

  lifecycle {
    precondition {
      condition     = terraform.workspace == var.env
      error_message = "Select the workspace of the env first: terraform workspace select <env> (it must equal var.env)."
    }
  }
}

module "vpc" {
  source = "./modules/vpc"

  name_prefix          = local.name_prefix
  name_suffix          = local.name_suffix
  vpc_cidr             = var.vpc_cidr
  availability_zones   = var.availability_zones
  public_subnet_cidrs  = var.public_subnet_cidrs
  private_subnet_cidrs = var.private_subnet_cidrs
  log_retention_days   = var.log_retention_days
  tags                 = { Module = "vpc" }
}

module "compute" {
  source = "./modules/compute"

  name_prefix          = local.name_prefix
  name_suffix          = local.name_suffix
  env                  = var.env
  vpc_id               = module.vpc.vpc_id
  subnet_ids           = module.vpc.private_subnet_ids
  memory_size          = var.lambda_memory_size
  timeout_seconds      = var.lambda_timeout_seconds
  reserved_concurrency = var.lambda_reserved_concurrency
  max_retry_attempts   = var.lambda_max_retry_attempts
  max_event_age        = var.lambda_max_event_age_seconds
  log_retention_days   = var.log_retention_days
  errors_threshold     = var.lambda_errors_threshold
  tags                 = { Module = "compute" }
}

module "database" {
  source = "./modules/database"

  name_prefix              = local.name_prefix
  name_suffix              = local.name_suffix
  vpc_id                   = module.vpc.vpc_id
  subnet_ids               = module.vpc.private_subnet_ids
  client_security_group_id = module.compute.security_group_id
  instance_class           = var.db_instance_class
  engine_version           = var.db_engine_version
  backup_retention_days    = var.db_backup_retention_days
  log_retention_days       = var.log_retention_days
  tags                     = { Module = "database" }
}
