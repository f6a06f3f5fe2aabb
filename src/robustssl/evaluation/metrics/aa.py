"""``aa``: accuracy under AutoAttack (seed 001 §5; ``attacks.autoattack.version``) at each threat
model's ε, with its per-stage accuracies and times."""

from __future__ import annotations

from robustssl.evaluation.metrics.registry import Metric, MetricRun, register_metric
from robustssl.evaluation.records import EvalRecord
from robustssl.evaluation.robustness import aa_records


def check_autoattack_classes(run: MetricRun) -> None:
    """AutoAttack "standard" / "plus" needs ≥ 4 classes (APGD-T uses the 4th-largest logit)."""
    if run.cfg.attacks.autoattack.version != "rand" and run.classes < 4:
        raise ValueError(
            f"AutoAttack needs ≥ 4 classes (APGD-T uses the 4th-largest logit), the model has "
            f"{run.classes}; drop 'aa' from metrics and breakdown"
        )


def _per_threat(run: MetricRun, norm: str, eps: float) -> list[EvalRecord]:
    return aa_records(run.runner, run.ctx, norm, eps)


AA = register_metric(
    Metric(
        key="aa",
        records=("aa",),
        percent=("aa",),
        check=check_autoattack_classes,
        per_threat=_per_threat,
    )
)
