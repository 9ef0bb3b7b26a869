# Security groups, least open: internet -> ALB (443, and 80 for the redirect) -> API tasks (6400)
# -> PostgreSQL (5432) <- relay/projector tasks. Tasks reach AWS APIs over HTTPS only.

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "Almanac load balancer"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.allowed_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from clients and calendar apps"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  #checkov:skip=CKV_AWS_260:Port 80 only answers a 301 to HTTPS (aws_lb_listener.http); calendar URLs typed without https:// still work.
  for_each          = toset(var.allowed_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTP, redirected to HTTPS"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
}

resource "aws_vpc_security_group_egress_rule" "alb_to_api" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the API tasks"
  referenced_security_group_id = aws_security_group.api.id
  ip_protocol                  = "tcp"
  from_port                    = 6400
  to_port                      = 6400
}

resource "aws_security_group" "api" {
  name        = "${var.name}-api"
  description = "Almanac API tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "api_from_alb" {
  security_group_id            = aws_security_group.api.id
  description                  = "From the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = 6400
  to_port                      = 6400
}

resource "aws_security_group" "worker" {
  name        = "${var.name}-worker"
  description = "Almanac relay and projector tasks (no inbound traffic)"
  vpc_id      = var.vpc_id
}

# Both task groups: PostgreSQL, and HTTPS to AWS APIs (ECR, Logs, Secrets Manager, SNS, SQS).
resource "aws_vpc_security_group_egress_rule" "tasks_to_db" {
  for_each                     = { api = aws_security_group.api.id, worker = aws_security_group.worker.id }
  security_group_id            = each.value
  description                  = "To PostgreSQL"
  referenced_security_group_id = aws_security_group.db.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_vpc_security_group_egress_rule" "tasks_to_aws_apis" {
  for_each = {
    for pair in setproduct(["api", "worker"], var.aws_api_egress_cidrs) : "${pair[0]} ${pair[1]}" => {
      group = pair[0] == "api" ? aws_security_group.api.id : aws_security_group.worker.id
      cidr  = pair[1]
    }
  }
  security_group_id = each.value.group
  description       = "HTTPS to AWS APIs (image pulls, logs, secrets, SNS, SQS)"
  cidr_ipv4         = each.value.cidr
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "Almanac PostgreSQL (no outbound rule)"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "db_from_tasks" {
  for_each                     = { api = aws_security_group.api.id, worker = aws_security_group.worker.id }
  security_group_id            = aws_security_group.db.id
  description                  = "From the ${each.key} tasks"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}
