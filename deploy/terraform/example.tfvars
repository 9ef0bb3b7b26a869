# Example values (no secret here; the secrets are generated, see secrets.tf).
region                 = "eu-west-1"
vpc_id                 = "vpc-0123456789abcdef0"
public_subnet_ids      = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
private_subnet_ids     = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
certificate_arn        = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
public_url             = "https://cal.example.com"
alb_access_logs_bucket = "example-alb-access-logs"
image_tag              = "2026-11-26-5bac82b"
fifo                   = false
