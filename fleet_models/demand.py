"""What a domain model asks of the stack: records or requests per second, per Kinesis stream or API route."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Demand:
    """Mean and peak rate of one stream or route of a domain model."""

    name: str
    """Stream key (as in the stack's aws_kinesis_stream for_each map) or route ("POST /orders")."""
    kind: str
    """`kinesis` or `api`."""
    mean_rps: float
    peak_rps: float
    partition_key: str | None = None
