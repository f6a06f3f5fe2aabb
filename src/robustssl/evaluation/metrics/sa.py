"""``sa``: standard accuracy on the clean test points (seed 001 §5)."""

from __future__ import annotations

from robustssl.evaluation.metrics.registry import Metric, MetricRun, register_metric
from robustssl.evaluation.records import EvalRecord
from robustssl.evaluation.robustness import clean_record


def _clean(run: MetricRun) -> list[EvalRecord]:
    return [clean_record(run.runner, run.ctx)]


SA = register_metric(
    Metric(key="sa", records=("sa",), percent=("sa",), needs_threat=False, clean=_clean)
)
