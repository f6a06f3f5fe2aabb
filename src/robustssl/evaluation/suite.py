"""The evaluation suite: every configured metric of one classifier on one test set.

:func:`evaluate` checks everything it can before the first forward pass (config, class count,
input shape, layer names, AutoAttack's class requirement), then computes SA and the clean
classification metrics, and per threat model RA / AA / the ε-curve / the per-attack breakdown
(seed 001 §5, seed 003 §4.2, seed 000 Figure 14), metrics on PGD-attacked data (seed 002 §5.3),
representation change and t-SNE (seed 000 Tables 2–3, seed 002 §5.4), the gradient-masking
diagnostics, the local Lipschitz estimate and corruption accuracy (seed 003 §4.4). Everything
comes back as :class:`~robustssl.evaluation.records.EvalRecord` s.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor, nn

from robustssl.attacks import Finding, check_batch, check_gradient_masking, check_inputs
from robustssl.evaluation.config import EvaluateConfig
from robustssl.evaluation.corruption_eval import (
    Source,
    cifar_c_source,
    corruption_records,
    generated_source,
)
from robustssl.evaluation.records import ACCURACY_METRICS, EvalRecord, RecordContext
from robustssl.evaluation.representation import (
    lipschitz_records,
    representation_records,
    tsne_embeddings,
)
from robustssl.evaluation.robustness import AttackRunner, clean_record, robustness_records
from robustssl.models import available_layers
from robustssl.utils.config import validate_config


@dataclass
class EvaluationResult:
    """The records, the diagnostics findings per norm and t-SNE arrays per layer."""

    records: list[EvalRecord]
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    tsne: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def model_signature(model: nn.Module) -> tuple[int | None, int | None]:
    """(input channels, number of classes) read from the modules, without a forward pass."""
    encoder = getattr(model, "encoder", None)
    channels = getattr(encoder, "in_channels", None)
    head = getattr(model, "head", None)
    classes = getattr(head, "out_dim", None)
    if classes is None:
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        classes = linears[-1].out_features if linears else None
    return (
        channels if isinstance(channels, int) else None,
        classes if isinstance(classes, int) else None,
    )


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


def _check_request(model: nn.Module, cfg: EvaluateConfig, num_classes: int) -> None:
    wants_aa = "aa" in cfg.metrics or ("breakdown" in cfg.metrics and "aa" in cfg.breakdown)
    if wants_aa and cfg.attacks.autoattack.version != "rand" and num_classes < 4:
        raise ValueError(
            f"AutoAttack needs ≥ 4 classes (APGD-T uses the 4th-largest logit), the model has "
            f"{num_classes}; drop 'aa' from metrics and breakdown"
        )
    layers = [*cfg.representation.layers, *cfg.representation.tsne_layers]
    if "representation" in cfg.metrics and layers:
        names = set(available_layers(model))
        unknown = [name for name in layers if name not in names]
        if unknown:
            raise ValueError(
                f"representation layers {unknown} are not submodules of the model; list the "
                "names with robustssl.models.available_layers(model)"
            )
    c_dir = cfg.corruptions.cifar_c_dir
    if "corruption" in cfg.metrics and c_dir is not None:
        if not Path(c_dir).is_dir():
            raise FileNotFoundError(
                f"corruptions.cifar_c_dir {c_dir} is not a directory; download CIFAR-10-C from "
                "https://zenodo.org/record/2535967 and point it at the folder of .npy files"
            )
        if model_signature(model)[0] not in (None, 3):
            raise ValueError(
                "CIFAR-10-C holds RGB 32×32 images but the model takes "
                f"{model_signature(model)[0]} channel(s)"
            )
    if "representation" in cfg.metrics and cfg.representation.tsne_layers:
        try:
            import sklearn.manifold  # noqa: F401
        except ImportError:
            raise ValueError(
                "representation.tsne_layers needs scikit-learn: pip install "
                "'robustssl[report]', or set representation.tsne_layers=[]"
            ) from None


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
    _check_request(model, cfg, classes)
    runner = AttackRunner(model, x, y, cfg.attacks, cfg.seed, cfg.data.batch_size, cfg.progress)
    result = EvaluationResult(_clean_records(runner, ctx, cfg, classes))
    for norm, threat in cfg.threats.items():
        result.records += _threat_records(runner, ctx, cfg, classes, norm, threat.eps)
        if cfg.diagnostics.enabled:
            with runner.step(f"gradient-masking diagnostics {norm}"):
                findings = _diagnostics(runner, cfg, norm, threat.eps)
            result.findings[norm] = findings
            result.records += diagnostic_records(findings, ctx, norm, threat.eps, runner.n, cfg)
        if "representation" in cfg.metrics and cfg.representation.tsne_layers:
            result.tsne.update(_tsne(runner, cfg, norm, threat.eps))
    result.records += _global_records(model, x, y, ctx, cfg)
    return result


def _clean_records(
    runner: AttackRunner, ctx: RecordContext, cfg: EvaluateConfig, classes: int
) -> list[EvalRecord]:
    records = [clean_record(runner, ctx)] if "sa" in cfg.metrics else []
    if "classification" in cfg.metrics:
        logits = runner.logits(runner.x)
        records += classification_records(logits, runner.y, classes, ctx, {"data": "clean"})
    return records


def _threat_records(
    runner: AttackRunner,
    ctx: RecordContext,
    cfg: EvaluateConfig,
    classes: int,
    norm: str,
    eps: float,
) -> list[EvalRecord]:
    threat = cfg.threats[norm]
    records = robustness_records(
        runner,
        ctx,
        norm,
        eps,
        cfg.metrics,
        cfg.ra_attack,
        threat.curve_eps(norm),
        cfg.curve_attack,
        cfg.breakdown,
    )
    if "classification" in cfg.metrics:
        logits = runner.logits(runner.x_adv("pgd", norm, eps))
        config = runner.attack_config("pgd", norm, eps)
        kw = {"norm": norm, "eps": eps, "attack": "pgd", "attack_config": config}
        records += classification_records(logits, runner.y, classes, ctx, {"data": "pgd"}, **kw)
    if "representation" in cfg.metrics:
        rep = cfg.representation
        records += representation_records(runner, ctx, norm, eps, rep.attack, rep.layers)
    return records


def _tsne(
    runner: AttackRunner, cfg: EvaluateConfig, norm: str, eps: float
) -> dict[str, dict[str, np.ndarray]]:
    rep = cfg.representation
    arrays = tsne_embeddings(
        runner, rep.tsne_layers, norm, eps, rep.attack, rep.tsne_n, rep.perplexity
    )
    return {f"{layer}@{norm}": a for layer, a in arrays.items()}


def classification_records(
    logits: Tensor,
    y: Tensor,
    num_classes: int,
    ctx: RecordContext,
    tags: dict[str, Any],
    **kw: Any,
) -> list[EvalRecord]:
    """top-1, top-5, MCC, per-class accuracy and the confusion matrix (seed 002 §5.3) as
    records, from :class:`robustssl.evaluation.metrics.ClassificationMetrics`."""
    from robustssl.evaluation.metrics import ClassificationMetrics

    metrics = ClassificationMetrics.from_logits(logits, y, num_classes).to_dict()
    keys = ("top1", "top5", "mcc", "per_class_accuracy", "confusion_matrix")
    return [ctx.record(k, metrics[k], len(y), tags=dict(tags), **kw) for k in keys]


def _diagnostics(runner: AttackRunner, cfg: EvaluateConfig, norm: str, eps: float) -> list:
    d = cfg.diagnostics
    return check_gradient_masking(
        runner.model,
        runner.x,
        runner.y,
        norm,
        eps,
        cfg.seed,
        n_points=d.n_points,
        steps=d.steps,
        more_steps=d.more_steps,
        restarts=d.restarts,
        queries=d.queries,
        model_mode=cfg.attacks.model_mode,
    )


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


def _global_records(
    model: nn.Module, x: Tensor, y: Tensor, ctx: RecordContext, cfg: EvaluateConfig
) -> list[EvalRecord]:
    records = []
    if "lipschitz" in cfg.metrics:
        lip = cfg.lipschitz
        records += lipschitz_records(
            model,
            x[: lip.n],
            ctx,
            lip.radius,
            lip.norm,
            lip.steps,
            lip.restarts,
            cfg.data.batch_size,
        )
    if "corruption" in cfg.metrics:
        records += _corruptions(model, x, y, ctx, cfg)
    return records


def _corruptions(
    model: nn.Module, x: Tensor, y: Tensor, ctx: RecordContext, cfg: EvaluateConfig
) -> list[EvalRecord]:
    c = cfg.corruptions
    threats = [(n, t.eps) for n, t in cfg.threats.items()] if c.attacked else []
    if c.cifar_c_dir is None:
        source, origin = generated_source(x, y, cfg.seed, cfg.data.batch_size), "generated"
    else:
        source, origin = (
            _checked(cifar_c_source(c.cifar_c_dir, cfg.data.n, x.device), model),
            "cifar_c",
        )
    return corruption_records(
        model,
        source,
        cfg.corruption_list(),
        c.severities,
        ctx,
        threats,
        cfg.attacks,
        cfg.data.batch_size,
        cfg.progress,
        origin,
    )


def _checked(source: Source, model: nn.Module) -> Source:
    """``source`` whose labels are checked against the model's classes before use."""
    classes = model_signature(model)[1]

    def load(name: str, severity: int) -> tuple[Tensor, Tensor]:
        x, y = source(name, severity)
        if classes is not None and int(y.max()) >= classes:
            raise ValueError(
                f"the CIFAR-C labels go up to {int(y.max())} but the model predicts {classes} "
                "classes; use CIFAR-10-C for a 10-class model and CIFAR-100-C for 100"
            )
        return x, y

    return load


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
        pct = r.metric in ACCURACY_METRICS
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
