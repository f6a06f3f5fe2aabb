"""The evaluation suite: every configured metric of one classifier on one test set.

:func:`evaluate` checks everything it can before the first forward pass (config, class count,
input shape, and each selected metric's own checks: layer names, AutoAttack's class requirement,
the CIFAR-C folder), then runs the metrics of :mod:`robustssl.evaluation.metrics` in their
registration order: the clean ones (SA, classification metrics), per threat model (RA / AA / the
ε-curve / the per-attack breakdown of seed 001 §5, seed 003 §4.2, seed 000 Figure 14; metrics on
PGD-attacked data, seed 002 §5.3; representation change and t-SNE, seed 000 Tables 2–3, seed 002
§5.4; the gradient-masking diagnostics), then the local Lipschitz estimate and corruption accuracy
(seed 003 §4.4). Everything comes back as :class:`~robustssl.evaluation.records.EvalRecord` s.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from torch import Tensor, nn

from robustssl.attacks import Finding, check_batch, check_inputs
from robustssl.evaluation.config import EvaluateConfig
from robustssl.evaluation.metrics import MetricRun, is_accuracy, registered_metrics
from robustssl.evaluation.records import EvalRecord, RecordContext
from robustssl.evaluation.signature import model_signature
from robustssl.utils.config import validate_config


@dataclass
class EvaluationResult:
    """The records, the diagnostics findings per norm and t-SNE arrays per layer."""

    records: list[EvalRecord]
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    tsne: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def check_compatible(
    model: nn.Module,
    num_classes: int,
    image_shape: tuple[int, ...],
    dataset: str,
    expected_shape: tuple[int, ...] | None = None,
) -> None:
    """A clear error when the classifier cannot take this dataset (before any compute)."""
    channels, classes = model_signature(model)
    if classes is not None and classes != num_classes:
        raise ValueError(
            f"the checkpoint predicts {classes} classes but {dataset} has {num_classes}; "
            f"evaluate on the dataset it was finetuned on, or finetune a {num_classes}-class head"
        )
    if channels is not None and image_shape[0] != channels:
        raise ValueError(
            f"the checkpoint expects {channels}-channel images but {dataset} has "
            f"{image_shape[0]} (shape {tuple(image_shape)}); set data.convert_channels=true"
        )
    if expected_shape is not None and tuple(expected_shape) != tuple(image_shape):
        raise ValueError(
            f"the checkpoint was trained on images of shape {tuple(expected_shape)} but {dataset} "
            f"gives {tuple(image_shape)}; set data.image_size={expected_shape[-1]}"
        )


def evaluate(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    cfg: EvaluateConfig | Mapping[str, Any],
    ctx: RecordContext | None = None,
    num_classes: int | None = None,
    expected_shape: tuple[int, ...] | None = None,
) -> EvaluationResult:
    """Every metric ``cfg`` asks for on (x in [0,1], y); validation first, then compute."""
    if not isinstance(cfg, EvaluateConfig):
        cfg = validate_config(dict(cfg), EvaluateConfig)
    ctx = replace(ctx or RecordContext(model=type(model).__name__), seed=cfg.seed)
    check_inputs(x, y)
    classes = num_classes if num_classes is not None else model_signature(model)[1]
    if classes is None:
        raise ValueError("cannot tell the model's class count; pass num_classes=")
    check_compatible(model, classes, tuple(x.shape[1:]), ctx.dataset or "the data", expected_shape)
    check_batch(model, x, y, classes)  # the attacks' shared checks: labels, dtype, NaN, empty
    run = MetricRun(model, x, y, cfg=cfg, ctx=ctx, classes=classes)
    metrics = [m for m in registered_metrics() if m.selected(cfg)]
    for metric in metrics:  # every check before the first forward pass
        if metric.check is not None:
            metric.check(run)
    records = [r for m in metrics if m.clean is not None for r in m.clean(run)]
    for norm, threat in cfg.threats.items():
        for metric in metrics:
            if metric.per_threat is not None:
                records += metric.per_threat(run, norm, threat.eps)
    for metric in metrics:
        if metric.after is not None:
            records += metric.after(run)
    return EvaluationResult(records, run.findings, run.tsne)


def _finding_line(r: EvalRecord) -> str:
    """``[warning] zero_gradients (Linf, ε=0.03137): <what was seen and the fix>``, wrapped."""
    head = f"[{r.info.get('severity', '?')}] {r.attack} ({r.norm}, ε={r.eps:.4g})"
    message = str(r.info.get("message") or "").strip()
    text = f"{head}: {message}" if message else head
    return textwrap.fill(
        text, 100, initial_indent="  ", subsequent_indent="      ", break_on_hyphens=False
    )


def format_summary(records: list[EvalRecord]) -> str:
    """A plain-text table of the scalar records: accuracies in %, each number with the tag of the
    attack that produced it and its n; the header says which points were evaluated (SA here is
    on those points, not the finetune summary's full-test-set clean accuracy); diagnostics last."""
    shown = [r for r in records if r.metric == "sa"] or records[:1]
    subsets = sorted(
        {f"{r.subset}, n={r.n}" if r.subset else f"the {r.n} points given" for r in shown}
    )
    where = "; ".join(subsets) or "the given points"
    lines = [f"evaluated on {where} — accuracies in % of those points (SA: clean accuracy there)"]
    head = f"{'metric':<22} {'norm':<5} {'eps':>8} {'attack':<26} {'n':>6} {'value':>10}  tags"
    lines += [head, "-" * len(head)]
    diag = []
    for r in records:
        if r.metric == "diagnostic":
            diag.append(_finding_line(r))
            continue
        if not isinstance(r.value, (int, float)):
            continue
        pct = is_accuracy(r.metric)
        value = f"{100 * r.value:9.2f}%" if pct else f"{r.value:10.4g}"
        eps = f"{r.eps:8.4g}" if r.eps is not None else f"{'-':>8}"
        tags = " ".join(f"{k}={v}" for k, v in r.tags.items())
        attack = r.attack_tag if r.attack is not None or r.attack_config else "-"
        lines.append(
            f"{r.metric:<22} {r.norm or '-':<5} {eps} {attack:<26} {r.n:>6} {value}  {tags}"
        )
    if diag:
        lines += ["gradient-masking diagnostics:", *diag]
    return "\n".join(lines)
