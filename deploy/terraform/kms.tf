# Three customer managed keys, rotated yearly: data at rest (database, secrets, images), messages
# (SNS, SQS) and logs. Each key policy delegates to IAM in this account (the usual root
# statement) and names the AWS services that must use the key on their own behalf.

data "aws_iam_policy_document" "kms_account_root" {
  #checkov:skip=CKV_AWS_109:A key policy, not an IAM policy: "*" is the key itself and the principal is this account, which hands control to IAM (the AWS default key policy).
  #checkov:skip=CKV_AWS_111:Same: the key policy's account statement; who may write is decided by IAM policies in this account.
  #checkov:skip=CKV_AWS_356:Same: in a key policy the resource "*" can only mean this key.
  statement {
    sid       = "AccountAdministersTheKeyThroughIAM"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy, "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "data" {
  description             = "${var.name}: database, secrets, container images"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_account_root.json
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name}-data"
  target_key_id = aws_kms_key.data.key_id
}

data "aws_iam_policy_document" "kms_messaging" {
  source_policy_documents = [data.aws_iam_policy_document.kms_account_root.json]

  # SNS encrypts with this key when it delivers into the (encrypted) SQS queue.
  statement {
    sid       = "SnsDeliversToEncryptedQueue"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.topic_arn]
    }
  }
}

resource "aws_kms_key" "messaging" {
  description             = "${var.name}: SNS topic and SQS queues"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_messaging.json
}

resource "aws_kms_alias" "messaging" {
  name          = "alias/${var.name}-messaging"
  target_key_id = aws_kms_key.messaging.key_id
}

data "aws_iam_policy_document" "kms_logs" {
  source_policy_documents = [data.aws_iam_policy_document.kms_account_root.json]

  statement {
    sid       = "CloudWatchLogsEncryptsThisAccountsLogGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "logs" {
  description             = "${var.name}: CloudWatch log groups"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_logs.json
}

resource "aws_kms_alias" "logs" {
  name          = "alias/${var.name}-logs"
  target_key_id = aws_kms_key.logs.key_id
}
