# Fargate: API behind the ALB (many), relay (exactly one), projectors on the SQS queue (many).

resource "aws_ecs_cluster" "main" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_cloudwatch_log_group" "service" {
  for_each          = toset(["api", "relay", "projector"])
  name              = "/ecs/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.logs.arn
}

locals {
  image = "${aws_ecr_repository.almanac.repository_url}:${var.image_tag}"

  # What every container shares: the image's non-root user, a read-only root file system with a
  # scratch /tmp, logs to CloudWatch, DATABASE_URL from Secrets Manager.
  container_base = {
    image                  = local.image
    essential              = true
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    stopTimeout            = 30
  }

  database_secret = { name = "DATABASE_URL", valueFrom = aws_secretsmanager_secret.database_url.arn }

  log_configuration = {
    for service in ["api", "relay", "projector"] : service => {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.service[service].name
        awslogs-region        = local.region
        awslogs-stream-prefix = service
      }
    }
  }
}

# ------------------------------------------------------------------------------ api
resource "aws_ecs_task_definition" "api" {
  family                   = "${var.name}-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.api_cpu
  memory                   = var.api_memory
  execution_role_arn       = aws_iam_role.execution["api"].arn
  # No task role: the API makes no AWS call, so it gets no AWS credentials.

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([merge(local.container_base, {
    name         = "api"
    command      = ["serve", "--no-projector"]
    portMappings = [{ containerPort = 6400, protocol = "tcp" }]
    environment = [
      { name = "ALMANAC_PUBLIC_URL", value = var.public_url },
      { name = "ALMANAC_FEED_CACHE_MB", value = tostring(var.feed_cache_mb) },
      { name = "ALMANAC_FEED_GZIP_LEVEL", value = tostring(var.feed_gzip_level) },
      { name = "LOG_LEVEL", value = var.log_level },
      # /api/v1/ready (the ALB's health check) bounds the relay's lag.
      { name = "ALMANAC_READY_CHECKPOINT", value = "bus-relay" },
    ]
    secrets = [
      local.database_secret,
      { name = "ALMANAC_FEED_TOKEN_KEY", valueFrom = aws_secretsmanager_secret.feed_token_key.arn },
    ]
    # Liveness (ECS replaces a task that fails it): /api/v1/health, not /api/v1/ready, so that a
    # database outage takes tasks out of the load balancer without restarting them all.
    healthCheck = {
      command     = ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:6400/api/v1/health"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }
    logConfiguration = local.log_configuration["api"]
  })])
}

resource "aws_ecs_service" "api" {
  name                               = "api"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.api.arn
  desired_count                      = var.api_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 60
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.api.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = 6400
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [aws_lb_listener.https]
}

# ------------------------------------------------------------------------------ relay
resource "aws_ecs_task_definition" "relay" {
  family                   = "${var.name}-relay"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.worker_cpu
  memory                   = var.worker_memory
  execution_role_arn       = aws_iam_role.execution["relay"].arn
  task_role_arn            = aws_iam_role.relay_task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([merge(local.container_base, {
    name    = "relay"
    command = ["relay", "--bus", "sns", "--topic-arn", aws_sns_topic.events.arn]
    environment = [
      { name = "AWS_REGION", value = local.region },
      { name = "LOG_LEVEL", value = var.log_level },
    ]
    secrets          = [local.database_secret]
    logConfiguration = local.log_configuration["relay"]
  })])
}

# Exactly one relay, also during deployments: the old task stops before the new one starts
# (maximum 100 %, minimum 0 %). Two relays would publish from one checkpoint (deploy/README.md).
resource "aws_ecs_service" "relay" {
  name                               = "relay"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.relay.arn
  desired_count                      = 1
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}

# ------------------------------------------------------------------------------ projector
resource "aws_ecs_task_definition" "projector" {
  family                   = "${var.name}-projector"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.worker_cpu
  memory                   = var.worker_memory
  execution_role_arn       = aws_iam_role.execution["projector"].arn
  task_role_arn            = aws_iam_role.projector_task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([merge(local.container_base, {
    name    = "projector"
    command = ["project", "--source", "sqs", "--queue-url", aws_sqs_queue.projector.url]
    environment = [
      { name = "AWS_REGION", value = local.region },
      { name = "LOG_LEVEL", value = var.log_level },
    ]
    secrets          = [local.database_secret]
    logConfiguration = local.log_configuration["projector"]
  })])
}

resource "aws_ecs_service" "projector" {
  name                               = "projector"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.projector.arn
  desired_count                      = var.projector_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 50
  deployment_maximum_percent         = 200
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}
