"""Matching cores shared by the Lambda handlers in terraform/ and by the simulator's benches; stdlib only."""
