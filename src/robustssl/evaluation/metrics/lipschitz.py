"""``lipschitz``: the encoder's empirical local Lipschitz constant (mean and max over the first
``lipschitz.n`` points) in a ball of ``lipschitz.radius``."""

from __future__ import annotations

from robustssl.evaluation.metrics.registry import Metric, MetricRun, register_metric
from robustssl.evaluation.records import EvalRecord
from robustssl.evaluation.representation import lipschitz_records


def _after(run: MetricRun) -> list[EvalRecord]:
    lip = run.cfg.lipschitz
    return lipschitz_records(
        run.model,
        run.x[: lip.n],
        run.ctx,
        lip.radius,
        norm=lip.norm,
        steps=lip.steps,
        restarts=lip.restarts,
        batch_size=run.cfg.data.batch_size,
    )


LIPSCHITZ = register_metric(
    Metric(
        key="lipschitz",
        records=("lipschitz_mean", "lipschitz_max"),
        needs_threat=False,
        after=_after,
    )
)
