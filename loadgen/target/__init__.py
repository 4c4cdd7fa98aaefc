"""The systems loadgen sends load to: the embedded local target (Redis, moto, PostgreSQL, the API Gateway emulator,
an instant Kinesis sink) and the resources created on it from Terraform."""
