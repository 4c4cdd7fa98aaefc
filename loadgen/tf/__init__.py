"""Terraform reader: the only part of loadgen that reads terraform/ (HCL, tfvars, alarms, capacities, schema)."""
