"""What a domain model asks of the stack: records or requests per second, per Kinesis stream or API route; and
what a profile's named scenario may change in a model."""

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
    peak_time_s: float = 0.0
    """Seconds after the model's t = 0 of this stream's or route's busiest moment."""


def scenario_changes(allowed: tuple[str, ...], scenario: dict | None) -> dict:
    """A profile scenario's values (its `description` aside), refused unless every key is one the model lets a
    scenario set: a scenario changes rates and mixes, never topology (sizes, streams, routes)."""
    values = {k: v for k, v in (scenario or {}).items() if k != "description"}
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(f"a scenario may set only {', '.join(allowed)}; not {', '.join(unknown)}")
    return values
