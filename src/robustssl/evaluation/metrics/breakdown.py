"""``breakdown``: robust accuracy under each attack of ``breakdown`` on all points at one ε, plus
``worst_case`` (robust to every one of them) — seed 000 Figure 14."""

from __future__ import annotations

from robustssl.evaluation.metrics.aa import check_autoattack_classes
from robustssl.evaluation.metrics.registry import Metric, MetricRun, register_metric
from robustssl.evaluation.records import EvalRecord
from robustssl.evaluation.robustness import breakdown_records


def _check(run: MetricRun) -> None:
    if "aa" in run.cfg.breakdown:
        check_autoattack_classes(run)


def _per_threat(run: MetricRun, norm: str, eps: float) -> list[EvalRecord]:
    return breakdown_records(run.runner, run.ctx, norm, eps, run.cfg.breakdown)


BREAKDOWN = register_metric(
    Metric(
        key="breakdown",
        records=("breakdown",),
        percent=("breakdown",),
        check=_check,
        per_threat=_per_threat,
    )
)
