output "endpoint" {
  description = "Writer endpoint."
  value       = aws_rds_cluster.main.endpoint
}

output "reader_endpoint" {
  description = "Reader endpoint."
  value       = aws_rds_cluster.main.reader_endpoint
}

output "master_secret_arn" {
  description = "ARN of the RDS-managed master user secret."
  value       = aws_rds_cluster.main.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the cluster."
  value       = aws_security_group.main.id
}
