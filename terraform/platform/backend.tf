# Remote state: S3 with one state file per workspace (env:/<workspace>/platform/terraform.tfstate under
# workspace_key_prefix) and DynamoDB locking. Backend blocks cannot read variables, so the bucket (named with
# the environment_suffix, e.g. tfstate-platform-core) and the lock table are given at init:
#   terraform init -backend-config="bucket=tfstate-platform-<environment_suffix>" \
#                  -backend-config="dynamodb_table=tfstate-locks-<environment_suffix>"
# On Terraform >= 1.10 prefer `use_lockfile = true` (S3-native locking) over the DynamoDB table; see README.md.
terraform {
  backend "s3" {
    key                  = "platform/terraform.tfstate"
    workspace_key_prefix = "workspaces"
    region               = "us-east-1"
    encrypt              = true
  }
}
