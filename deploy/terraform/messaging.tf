# relay --(sns:Publish)--> topic --(raw delivery)--> queue --> projectors; 5 failed receives -> DLQ.
# Standard (default) or FIFO by var.fifo. With FIFO the relay sets MessageGroupId = user id and
# MessageDeduplicationId = event id; with standard the projector skips duplicates and fills gaps
# from the event store, so both give the same feeds.

resource "aws_sns_topic" "events" {
  name                        = local.topic_name
  fifo_topic                  = var.fifo
  content_based_deduplication = false
  kms_master_key_id           = aws_kms_key.messaging.arn
}

resource "aws_sqs_queue" "projector_dlq" {
  name                              = "${var.name}-projector-dlq${local.fifo_suffix}"
  fifo_queue                        = var.fifo
  message_retention_seconds         = 1209600 # 14 days, the maximum
  kms_master_key_id                 = aws_kms_key.messaging.arn
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_sqs_queue" "projector" {
  name                              = "${var.name}-projector${local.fifo_suffix}"
  fifo_queue                        = var.fifo
  deduplication_scope               = var.fifo ? "messageGroup" : null
  fifo_throughput_limit             = var.fifo ? "perMessageGroupId" : null
  visibility_timeout_seconds        = 60
  receive_wait_time_seconds         = 20 # long polling
  message_retention_seconds         = 1209600 # a projector outage of up to 14 days loses nothing
  kms_master_key_id                 = aws_kms_key.messaging.arn
  kms_data_key_reuse_period_seconds = 300
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.projector_dlq.arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "projector_dlq" {
  queue_url = aws_sqs_queue.projector_dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.projector.arn]
  })
}

data "aws_iam_policy_document" "projector_queue" {
  statement {
    sid       = "TopicSendsToQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.projector.arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.events.arn]
    }
  }

  statement {
    sid       = "DenyWithoutTLS"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.projector.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "projector" {
  queue_url = aws_sqs_queue.projector.id
  policy    = data.aws_iam_policy_document.projector_queue.json
}

resource "aws_sns_topic_subscription" "projector" {
  topic_arn            = aws_sns_topic.events.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.projector.arn
  raw_message_delivery = true

  depends_on = [aws_sqs_queue_policy.projector]
}

resource "aws_cloudwatch_metric_alarm" "projector_dlq" {
  alarm_name          = "${var.name}-projector-dead-letters"
  alarm_description   = "Events the projectors failed to apply 5 times. The feeds stay correct (the next event of that user fills the gap from the store), but something is wrong: read the projector logs, then redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.projector_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
}
