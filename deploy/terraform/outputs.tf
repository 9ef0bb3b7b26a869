output "load_balancer_dns_name" {
  description = "Point the public host name (var.public_url) at this (CNAME or alias record)."
  value       = aws_lb.main.dns_name
}

output "ecr_repository_url" {
  description = "docker push target: <url>:<image_tag>."
  value       = aws_ecr_repository.almanac.repository_url
}

output "cluster_name" {
  value = aws_ecs_cluster.main.name
}

output "sns_topic_arn" {
  description = "The relay's --topic-arn."
  value       = aws_sns_topic.events.arn
}

output "sqs_queue_url" {
  description = "The projectors' --queue-url."
  value       = aws_sqs_queue.projector.url
}

output "sqs_dead_letter_queue_url" {
  value = aws_sqs_queue.projector_dlq.url
}

output "database_address" {
  value = aws_db_instance.main.address
}

output "database_url_secret_arn" {
  value = aws_secretsmanager_secret.database_url.arn
}

output "feed_token_key_secret_arn" {
  value = aws_secretsmanager_secret.feed_token_key.arn
}

output "log_groups" {
  value = { for name, group in aws_cloudwatch_log_group.service : name => group.name }
}

output "run_one_off_task" {
  description = "Network settings for `aws ecs run-task` of one-off commands (users create, rebuild) with the projector's task definition."
  value = {
    task_definition = aws_ecs_task_definition.projector.family
    subnets         = var.private_subnet_ids
    security_groups = [aws_security_group.worker.id]
  }
}
