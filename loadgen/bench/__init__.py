"""Benchmarks of the harness itself: how fast loadgen generates and pushes, against the demand it must feed."""
