"""The gradient-masking diagnostics (:func:`robustssl.attacks.check_gradient_masking`) at each
threat model's ε, when ``diagnostics.enabled`` (not a ``metrics`` value): one ``diagnostic``
record per finding, and the findings per norm in ``EvaluationResult.findings``."""

from __future__ import annotations

import math

from robustssl.attacks import Finding, check_gradient_masking
from robustssl.evaluation.config import EvaluateConfig
from robustssl.evaluation.metrics.registry import Metric, MetricRun, register_metric
from robustssl.evaluation.records import EvalRecord, RecordContext


def diagnostic_records(
    findings: list[Finding],
    ctx: RecordContext,
    norm: str,
    eps: float,
    n: int,
    cfg: EvaluateConfig,
) -> list[EvalRecord]:
    """One ``metric="diagnostic"`` record per finding: ``attack`` is the check's code, ``value``
    its statistic, ``info`` the severity and the message with the numbers."""
    n_points = min(n, cfg.diagnostics.n_points)
    settings = cfg.diagnostics.model_dump(exclude={"enabled"})
    settings["model_mode"] = cfg.attacks.model_mode
    return [
        ctx.record(
            "diagnostic",
            f.value if f.value is None or math.isfinite(f.value) else None,
            n_points,
            norm=norm,
            eps=eps,
            attack=f.code,
            attack_config={"name": f.code, **settings},
            info={"severity": f.severity, "message": f.message},
        )
        for f in findings
    ]


def _per_threat(run: MetricRun, norm: str, eps: float) -> list[EvalRecord]:
    d, runner = run.cfg.diagnostics, run.runner
    with runner.step(f"gradient-masking diagnostics {norm}"):
        findings = check_gradient_masking(
            runner.model,
            runner.x,
            runner.y,
            norm,
            eps,
            run.cfg.seed,
            n_points=d.n_points,
            steps=d.steps,
            more_steps=d.more_steps,
            restarts=d.restarts,
            queries=d.queries,
            model_mode=run.cfg.attacks.model_mode,
        )
    run.findings[norm] = findings
    return diagnostic_records(findings, run.ctx, norm, eps, n=runner.n, cfg=run.cfg)


DIAGNOSTICS = register_metric(
    Metric(
        key="diagnostics",
        records=("diagnostic",),
        listed=False,
        wanted=lambda cfg: cfg.diagnostics.enabled,
        per_threat=_per_threat,
    )
)
