output "function_name" {
  description = "Name of the event processor."
  value       = aws_lambda_function.event_processor.function_name
}

output "function_arn" {
  description = "ARN of the event processor."
  value       = aws_lambda_function.event_processor.arn
}

output "table_name" {
  description = "Name of the events table."
  value       = aws_dynamodb_table.events.name
}

output "failure_queue_url" {
  description = "URL of the failure queue."
  value       = aws_sqs_queue.failures.url
}

output "security_group_id" {
  description = "Security group of the function (the database admits it)."
  value       = aws_security_group.lambda.id
}
