"""loadgen: a load and performance simulator for the hot paths of the AWS serverless stacks in terraform/."""

__version__ = "0.1.0"
