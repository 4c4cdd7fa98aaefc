output "workspace" {
  description = "The workspace (= env) this state belongs to."
  value       = terraform.workspace
}

output "vpc_id" {
  description = "ID of the env's VPC."
  value       = module.vpc.vpc_id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets."
  value       = module.vpc.private_subnet_ids
}

output "public_subnet_ids" {
  description = "IDs of the public subnets."
  value       = module.vpc.public_subnet_ids
}

output "aurora_endpoint" {
  description = "Writer endpoint of the Aurora PostgreSQL cluster."
  value       = module.database.endpoint
}

output "aurora_master_secret_arn" {
  description = "ARN of the RDS-managed master user secret."
  value       = module.database.master_secret_arn
}

output "lambda_function_name" {
  description = "Name of the event processor."
  value       = module.compute.function_name
}

output "dynamodb_table_name" {
  description = "Name of the events table."
  value       = module.compute.table_name
}
