"""A throw-away suite metric, written the way a new metric is added: one file that registers
itself (importing it is enough). ``margin``: the mean logit margin (true logit − best other) on the
clean points and on PGD points per threat, and the share of clean points with margin > 1."""

from __future__ import annotations

from torch import Tensor

from robustssl.evaluation.metrics import Metric, MetricRun, register_metric
from robustssl.evaluation.records import EvalRecord


def margins(logits: Tensor, y: Tensor) -> Tensor:
    true = logits.gather(1, y[:, None])[:, 0]
    other = logits.scatter(1, y[:, None], float("-inf")).amax(1)
    return true - other


def _clean(run: MetricRun) -> list[EvalRecord]:
    m = margins(run.runner.logits(run.x), run.y)
    return [
        run.ctx.record("margin_mean", float(m.mean()), len(m)),
        run.ctx.record("margin_confident", float((m > 1).double().mean()), len(m)),
    ]


def _per_threat(run: MetricRun, norm: str, eps: float) -> list[EvalRecord]:
    m = margins(run.runner.logits(run.runner.x_adv("pgd", norm, eps)), run.y)
    config = run.runner.attack_config("pgd", norm, eps)
    kw = {"norm": norm, "eps": eps, "attack": "pgd", "attack_config": config}
    return [run.ctx.record("margin_mean", float(m.mean()), len(m), **kw)]


MARGIN = register_metric(
    Metric(
        key="margin",
        records=("margin_mean", "margin_confident"),
        percent=("margin_confident",),
        needs_threat=False,
        clean=_clean,
        per_threat=_per_threat,
    )
)
