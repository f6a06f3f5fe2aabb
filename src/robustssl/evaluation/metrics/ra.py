"""``ra``: robust accuracy under ``ra_attack`` (PGD-20 by default, seed 001 §5, seed 003 §4.2)
at each threat model's ε."""

from __future__ import annotations

from robustssl.evaluation.metrics.registry import Metric, MetricRun, register_metric
from robustssl.evaluation.records import EvalRecord
from robustssl.evaluation.robustness import ra_records


def _per_threat(run: MetricRun, norm: str, eps: float) -> list[EvalRecord]:
    return ra_records(run.runner, run.ctx, norm, eps, run.cfg.ra_attack)


RA = register_metric(Metric(key="ra", records=("ra",), percent=("ra",), per_threat=_per_threat))
