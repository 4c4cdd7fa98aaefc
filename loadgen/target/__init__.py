"""The systems loadgen sends load to: the embedded local target (Redis, moto, the API Gateway emulator, a
instant Kinesis sink) and the resources created on it from Terraform."""
