"""``curve``: accuracy over an ε grid (each threat's ``eps_list``) from the pruned sweep of
``curve_attack`` (seed 003 Tables 2–3); records ``accuracy`` tagged ``sweep=pruned``."""

from __future__ import annotations

from robustssl.evaluation.metrics.registry import Metric, MetricRun, register_metric
from robustssl.evaluation.records import EvalRecord
from robustssl.evaluation.robustness import curve_records


def _per_threat(run: MetricRun, norm: str, eps: float) -> list[EvalRecord]:
    eps_list = run.cfg.threats[norm].curve_eps(norm)
    return curve_records(run.runner, run.ctx, norm, eps, eps_list, attack=run.cfg.curve_attack)


CURVE = register_metric(
    Metric(key="curve", records=("accuracy",), percent=("accuracy",), per_threat=_per_threat)
)
