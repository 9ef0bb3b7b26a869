# The image repository: immutable tags, scanned on push, encrypted with the data key.
# First apply: `terraform apply -target=aws_ecr_repository.almanac`, push the image, then apply
# everything (deploy/README.md).

resource "aws_ecr_repository" "almanac" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.data.arn
  }
}

resource "aws_ecr_lifecycle_policy" "almanac" {
  repository = aws_ecr_repository.almanac.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 50 most recent images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 50 }
      action       = { type = "expire" }
    }]
  })
}
