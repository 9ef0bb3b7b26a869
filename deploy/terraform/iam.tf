# Execution roles (the ECS agent: pull the image, write logs, read the secrets into the
# environment) and task roles (the application's own AWS calls). Least privilege:
#   api       execution: image, its log group, DATABASE_URL + ALMANAC_FEED_TOKEN_KEY; no task role
#   relay     execution: image, its log group, DATABASE_URL;  task: sns:Publish on the topic
#   projector execution: image, its log group, DATABASE_URL;  task: receive/delete on the queue
# KMS permissions accompany them where the resource is encrypted with a customer managed key,
# limited to that key and to use through that one service (kms:ViaService).

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    # Confused-deputy guard. (aws:SourceArn is left out: it is not documented for the
    # execution role, which the ECS agent assumes.)
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

locals {
  # Which secrets each execution role may read.
  execution_secrets = {
    api       = [aws_secretsmanager_secret.database_url.arn, aws_secretsmanager_secret.feed_token_key.arn]
    relay     = [aws_secretsmanager_secret.database_url.arn]
    projector = [aws_secretsmanager_secret.database_url.arn]
  }
}

resource "aws_iam_role" "execution" {
  for_each           = local.execution_secrets
  name               = "${var.name}-${each.key}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "execution" {
  for_each = local.execution_secrets

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"] # cannot be scoped to a repository
    resources = ["*"]
  }
  statement {
    sid       = "PullTheImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [aws_ecr_repository.almanac.arn]
  }
  statement {
    sid       = "WriteItsLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.service[each.key].arn}:log-stream:*"]
  }
  statement {
    sid       = "ReadItsSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = each.value
  }
  statement {
    sid       = "DecryptItsSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  for_each = local.execution_secrets
  name     = "execution"
  role     = aws_iam_role.execution[each.key].id
  policy   = data.aws_iam_policy_document.execution[each.key].json
}

# ------------------------------------------------------------------------------ relay
resource "aws_iam_role" "relay_task" {
  name               = "${var.name}-relay-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "relay_task" {
  statement {
    sid       = "PublishEvents"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.events.arn]
  }
  statement {
    sid       = "EncryptForTheTopic"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = [aws_kms_key.messaging.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "relay_task" {
  name   = "publish-events"
  role   = aws_iam_role.relay_task.id
  policy = data.aws_iam_policy_document.relay_task.json
}

# ------------------------------------------------------------------------------ projector
resource "aws_iam_role" "projector_task" {
  name               = "${var.name}-projector-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "projector_task" {
  statement {
    sid = "ConsumeEvents"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
    ]
    resources = [aws_sqs_queue.projector.arn]
  }
  statement {
    # The depth sampler (--metrics-port) reads the dead-letter queue's message count.
    sid       = "ReadTheDeadLetterQueueDepth"
    actions   = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    resources = [aws_sqs_queue.projector_dlq.arn]
  }
  statement {
    sid       = "DecryptFromTheQueue"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.messaging.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "projector_task" {
  name   = "consume-events"
  role   = aws_iam_role.projector_task.id
  policy = data.aws_iam_policy_document.projector_task.json
}
