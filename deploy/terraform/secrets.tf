# The two secrets the tasks receive as environment variables (ECS `secrets`), encrypted with the
# data key. Their values are generated here, so they are also in the Terraform state: keep the
# state in an encrypted backend (versions.tf).
#
# Not rotated automatically: rotating DATABASE_URL needs the RDS password changed in the same
# step, and a new ALMANAC_FEED_TOKEN_KEY revokes every feed URL (users re-subscribe). To rotate
# the feed key on purpose: `terraform apply -replace=random_id.feed_token_key`, then redeploy.

resource "random_id" "feed_token_key" {
  byte_length = 32 # ALMANAC_FEED_TOKEN_KEY: 32 bytes, hex
}

resource "aws_secretsmanager_secret" "feed_token_key" {
  #checkov:skip=CKV2_AWS_57:Rotating it revokes every feed URL (by design): a deliberate act, not a schedule (see the comment at the top).
  name                    = "${var.name}/feed-token-key"
  description             = "ALMANAC_FEED_TOKEN_KEY: seals the feed tokens (API tasks only)"
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "feed_token_key" {
  secret_id     = aws_secretsmanager_secret.feed_token_key.id
  secret_string = random_id.feed_token_key.hex
}

resource "aws_secretsmanager_secret" "database_url" {
  #checkov:skip=CKV2_AWS_57:Rotation needs the RDS password changed in the same step (a rotation Lambda composing the URL); not built yet, see deploy/README.md.
  name                    = "${var.name}/database-url"
  description             = "DATABASE_URL of every Almanac task"
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id = aws_secretsmanager_secret.database_url.id
  # sslmode=require verifies the server certificate against the image's trust store: build the
  # image with the RDS CA bundle in deploy/ca-certificates/ (deploy/README.md).
  secret_string = format(
    "postgres://%s:%s@%s:%d/%s?sslmode=require",
    aws_db_instance.main.username,
    random_password.db.result,
    aws_db_instance.main.address,
    aws_db_instance.main.port,
    aws_db_instance.main.db_name,
  )
}
