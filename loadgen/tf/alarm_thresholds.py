"""CloudWatch alarms of a stack resolved for an env: the thresholds the simulator's verdicts are judged by."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from loadgen.tf.env_model import ResolvedStack
from loadgen.tf.expressions import UNKNOWN, known_or_none


@dataclass(frozen=True)
class Alarm:
    """One `aws_cloudwatch_metric_alarm` instance as an env resolves it."""

    address: str
    name: Any
    namespace: Any
    metric: Any
    statistic: Any
    extended_statistic: Any
    comparison: Any
    threshold: Any
    unit: Any
    period: Any
    evaluation_periods: Any
    dimensions: Any
    hot_path: str | None
    file: str
    line: int
    compares_to_metric: bool = False
    """The alarm's threshold is another metric (`threshold_metric_id`, e.g. an anomaly band), not a number."""

    @property
    def threshold_is_number(self) -> bool:
        return isinstance(self.threshold, (int, float)) and not isinstance(self.threshold, bool)

    def to_json(self) -> dict:
        return known_or_none(asdict(self))


def _from_metric_query(queries: list[dict]) -> dict:
    """A metric-math alarm names the metric of the query that returns data or of its first metric."""
    for query in queries:
        for metric in query.get("metric", []) if isinstance(query, dict) else []:
            return {"namespace": metric.get("namespace", UNKNOWN), "metric_name": metric.get("metric_name", UNKNOWN),
                    "statistic": metric.get("stat", UNKNOWN), "unit": metric.get("unit", UNKNOWN),
                    "period": metric.get("period", UNKNOWN), "dimensions": metric.get("dimensions", UNKNOWN)}
    return {}


def alarms(resolved: ResolvedStack, guards: dict[str, str] | None = None) -> list[Alarm]:
    """Every alarm of the stack for the env; `guards` (alarm address -> hot path, from the engine's declarations)
    names the hot path each one guards. The Terraform layer itself knows nothing of hot paths."""
    guards = guards or {}
    found = []
    for instance in resolved.instances("aws_cloudwatch_metric_alarm"):
        fallback = _from_metric_query(instance.blocks("metric_query"))

        def get(name: str, fallback_key: str | None = None) -> Any:
            value = instance.attribute(name) if name in instance.block.body else UNKNOWN
            return fallback.get(fallback_key or name, UNKNOWN) if value is UNKNOWN else value

        found.append(Alarm(
            address=instance.address,
            name=get("alarm_name"),
            namespace=get("namespace"),
            metric=get("metric_name"),
            statistic=get("statistic"),
            extended_statistic=get("extended_statistic"),
            comparison=get("comparison_operator"),
            threshold=get("threshold"),
            unit=get("unit"),
            period=get("period"),
            evaluation_periods=get("evaluation_periods"),
            dimensions=get("dimensions"),
            hot_path=guards.get(instance.address) or guards.get(instance.block.address),
            file=str(instance.block.file),
            line=instance.block.line,
            compares_to_metric="threshold_metric_id" in instance.block.body,
        ))
    return found
