# modules/database — Aurora PostgreSQL: one writer of the env's instance class in the private subnets,
# reachable on 5432 from the client security group only. Encrypted with a module key; the master password
# is managed by RDS in Secrets Manager. Destroyable by design (the spec): skip_final_snapshot, no deletion
# protection; automated backups (backup_retention_days) are the recovery path.

data "aws_partition" "current" {}

resource "aws_kms_key" "main" {
  #checkov:skip=CKV2_AWS_64:The default key policy (account root) is the policy: only the account's IAM principals, via RDS, use this key.
  description             = "${var.name_prefix}-aurora-${var.name_suffix} storage and secret"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  tags                    = var.tags
}

resource "aws_db_subnet_group" "main" {
  name       = "${var.name_prefix}-aurora-subnets-${var.name_suffix}"
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "main" {
  name        = "${var.name_prefix}-aurora-sg-${var.name_suffix}"
  description = "Aurora PostgreSQL: 5432 from the compute module only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  security_group_id            = aws_security_group.main.id
  description                  = "PostgreSQL from the compute security group"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = var.client_security_group_id
}

resource "aws_rds_cluster_parameter_group" "main" {
  name        = "${var.name_prefix}-aurora-params-${var.name_suffix}"
  family      = "aurora-postgresql${split(".", var.engine_version)[0]}"
  description = "TLS only, DDL and slow-query logging"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  tags = var.tags
}

resource "aws_rds_cluster" "main" {
  #checkov:skip=CKV_AWS_139:The spec requires destroyable environments (deletion protection is forbidden there).
  #checkov:skip=CKV2_AWS_8:Automated backups (backup_retention_days) cover recovery; AWS Backup plans are managed outside this stack.
  cluster_identifier                  = "${var.name_prefix}-aurora-${var.name_suffix}"
  engine                              = "aurora-postgresql"
  engine_version                      = var.engine_version
  database_name                       = var.database_name
  master_username                     = "platform_admin"
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.main.arn
  db_subnet_group_name                = aws_db_subnet_group.main.name
  vpc_security_group_ids              = [aws_security_group.main.id]
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.main.name
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.main.arn
  backup_retention_period             = var.backup_retention_days
  preferred_backup_window             = "03:00-04:00"
  copy_tags_to_snapshot               = true
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]
  skip_final_snapshot                 = true
  deletion_protection                 = false
  tags                                = var.tags

  depends_on = [aws_cloudwatch_log_group.postgresql]
}

resource "aws_cloudwatch_log_group" "postgresql" {
  #checkov:skip=CKV_AWS_158:Exported database logs use the CloudWatch Logs service key.
  name              = "/aws/rds/cluster/${var.name_prefix}-aurora-${var.name_suffix}/postgresql"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_iam_role" "monitoring" {
  name = "${var.name_prefix}-aurora-monitoring-${var.name_suffix}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_rds_cluster_instance" "writer" {
  identifier                      = "${var.name_prefix}-aurora-1-${var.name_suffix}"
  cluster_identifier              = aws_rds_cluster.main.id
  engine                          = aws_rds_cluster.main.engine
  engine_version                  = aws_rds_cluster.main.engine_version
  instance_class                  = var.instance_class
  db_subnet_group_name            = aws_db_subnet_group.main.name
  publicly_accessible             = false
  auto_minor_version_upgrade      = true
  monitoring_interval             = 60
  monitoring_role_arn             = aws_iam_role.monitoring.arn
  performance_insights_enabled    = true
  performance_insights_kms_key_id = aws_kms_key.main.arn
  tags                            = var.tags
}
