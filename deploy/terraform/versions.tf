terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70.0, < 7.0.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6.0, < 4.0.0"
    }
  }

  # State holds the database password and the feed token key (see secrets.tf): keep it in an
  # encrypted remote backend with restricted access, e.g.
  #   backend "s3" { bucket = "…" key = "almanac/terraform.tfstate" region = "…" encrypt = true use_lockfile = true }
  # given at `terraform init -backend-config=…` time.
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Application = var.name, ManagedBy = "terraform" }, var.tags)
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = var.region
  # ".fifo" is required at the end of FIFO topic and queue names.
  fifo_suffix = var.fifo ? ".fifo" : ""
  topic_name  = "${var.name}-events${local.fifo_suffix}"
  # Built from its name (not from the resource) so that the key policy of the key that encrypts
  # the topic can name it without a dependency cycle.
  topic_arn = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.topic_name}"
}
