variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "almanac"
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# ------------------------------------------------------------------------------ network
variable "vpc_id" {
  description = "VPC to deploy into (networking is managed elsewhere)."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the internet-facing load balancer (at least two availability zones)."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets without public addresses for the tasks and the database (at least two AZs). They need a route to the AWS APIs: a NAT gateway, or VPC endpoints for ECR (api, dkr), S3, CloudWatch Logs, Secrets Manager, SNS and SQS."
  type        = list(string)
}

variable "allowed_ingress_cidrs" {
  description = "Who may reach the load balancer. Calendar apps (Google, Apple, Outlook) fetch feeds from their own servers, so feeds need the internet."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "aws_api_egress_cidrs" {
  description = "Where tasks may open HTTPS connections (AWS APIs, image pulls). Narrow it to the VPC's CIDR when every API is reached through VPC endpoints."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

# ------------------------------------------------------------------------------ edge
variable "certificate_arn" {
  description = "ACM certificate of the public host name, in the same region."
  type        = string
}

variable "public_url" {
  description = "Externally visible base URL for feed and task links, e.g. https://cal.example.com (ALMANAC_PUBLIC_URL)."
  type        = string
}

variable "alb_access_logs_bucket" {
  description = "Existing S3 bucket for load balancer access logs (its policy must let Elastic Load Balancing write). Access logs hold request paths, so secret feed URLs: restrict who reads it."
  type        = string
}

variable "waf_rate_limit" {
  description = "Requests to /api/ per client IP per 5 minutes before WAF blocks that IP (feeds are not rate limited)."
  type        = number
  default     = 3000
}

# ------------------------------------------------------------------------------ application
variable "image_tag" {
  description = "Tag of the almanac image in the ECR repository this configuration creates (immutable tags)."
  type        = string
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64: the architecture the image was built for."
  type        = string
  default     = "X86_64"
}

variable "api_count" {
  description = "API tasks (any number: they share the database)."
  type        = number
  default     = 2
}

variable "projector_count" {
  description = "Projector tasks (any number share the SQS queue)."
  type        = number
  default     = 2
}

variable "api_cpu" {
  type    = number
  default = 512
}

variable "api_memory" {
  description = "MiB; leave room above feed_cache_mb."
  type        = number
  default     = 1024
}

variable "worker_cpu" {
  description = "CPU units of the relay and projector tasks."
  type        = number
  default     = 256
}

variable "worker_memory" {
  description = "MiB of the relay and projector tasks."
  type        = number
  default     = 512
}

variable "feed_cache_mb" {
  description = "Byte budget of each API process's feed cache (ALMANAC_FEED_CACHE_MB)."
  type        = number
  default     = 256
}

variable "feed_gzip_level" {
  description = "zlib level 1-9 of the cached gzip feeds (ALMANAC_FEED_GZIP_LEVEL); one level for every API process (it is named in the gzip ETag)."
  type        = number
  default     = 6

  validation {
    condition     = var.feed_gzip_level >= 1 && var.feed_gzip_level <= 9 && floor(var.feed_gzip_level) == var.feed_gzip_level
    error_message = "feed_gzip_level must be a whole number 1...9."
  }
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group."
  type        = number
  default     = 365
}

# ------------------------------------------------------------------------------ bus
variable "fifo" {
  description = "FIFO topic and queues (per-user order, deduplication by event id) instead of standard ones (at-least-once, unordered: the projector fills gaps from the event store)."
  type        = bool
  default     = false
}

variable "alarm_topic_arn" {
  description = "SNS topic notified when messages reach the dead-letter queue (null: the alarm has no action)."
  type        = string
  default     = null
}

# ------------------------------------------------------------------------------ database
variable "db_engine_version" {
  description = "PostgreSQL major version (15 is what the tests run against)."
  type        = string
  default     = "15"
}

variable "db_parameter_group_family" {
  type    = string
  default = "postgres15"
}

variable "db_instance_class" {
  type    = string
  default = "db.t4g.medium"
}

variable "db_allocated_storage" {
  description = "GiB at creation."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage" {
  description = "GiB ceiling of storage autoscaling."
  type        = number
  default     = 200
}

variable "db_multi_az" {
  type    = bool
  default = true
}

variable "db_backup_retention_days" {
  type    = number
  default = 14
}
