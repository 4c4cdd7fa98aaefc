"""Measuring and judging: the HdrHistogram recorder, the alarm judge and summary.json, the Kinesis shard model."""
