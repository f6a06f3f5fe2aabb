"""``classification``: top-1 / top-k, confusion matrix, multiclass MCC and per-class accuracy
(seed 002 §5.3: Top1/Top5, the N×N confusion matrix with true classes as rows and predictions as
columns, and the multiclass Matthews correlation coefficient of eq. 5.2), on the clean points and
on PGD points per threat model; the suite's registry entry is at the end.

Every function takes predictions (int64 class indices, (N,)) or logits ((N, K) floats) and int64
targets (N,) on any device and returns Python numbers or CPU tensors. Bad input (shapes that do
not match, labels outside 0..K−1, no samples) raises a ValueError naming the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from robustssl.data.labels import labels_outside
from robustssl.evaluation.metrics.registry import Metric, MetricRun, register_metric
from robustssl.evaluation.records import EvalRecord, RecordContext

# the records of the suite's ``classification`` metric, clean and on PGD data
SCORES = ("top1", "top5", "mcc", "per_class_accuracy", "confusion_matrix")


def _check_targets(targets: Tensor, n: int, num_classes: int) -> Tensor:
    """``targets`` as an int64 (N,) tensor with every label in 0..num_classes−1."""
    if not isinstance(targets, Tensor):
        raise TypeError(f"targets must be a torch.Tensor, got {type(targets).__name__}")
    if targets.is_floating_point() or targets.dtype == torch.bool:
        raise TypeError(f"targets must be integer class indices, got {targets.dtype}")
    t = targets.reshape(-1).long()
    if t.numel() != n:
        raise ValueError(f"{n} predictions but {t.numel()} targets; pass one target per sample")
    if n == 0:
        raise ValueError("no samples: metrics need at least one (prediction, target) pair")
    outside = labels_outside(t, num_classes)
    if outside is not None:
        raise ValueError(
            f"targets must lie in 0..{num_classes - 1} (num_classes={num_classes}); got "
            f"min {outside[0]}, max {outside[1]} (unlabelled samples, −1, must be removed)"
        )
    return t


def _check_logits(logits: Tensor, num_classes: int | None = None) -> Tensor:
    if not isinstance(logits, Tensor) or logits.ndim != 2 or not logits.is_floating_point():
        got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a float tensor (N, K), got {got}")
    if num_classes is not None and logits.shape[1] != num_classes:
        raise ValueError(
            f"logits have {logits.shape[1]} columns but num_classes={num_classes}; "
            "the classifier's head does not match the dataset"
        )
    return logits


def _check_num_classes(num_classes: int) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes={num_classes!r} must be a positive int")
    return num_classes


def as_predictions(preds_or_logits: Tensor, num_classes: int) -> Tensor:
    """Class indices (N,) from logits (N, K) (argmax, first index on ties) or from indices."""
    num_classes = _check_num_classes(num_classes)
    if isinstance(preds_or_logits, Tensor) and preds_or_logits.is_floating_point():
        return _check_logits(preds_or_logits, num_classes).argmax(dim=1)
    if not isinstance(preds_or_logits, Tensor) or preds_or_logits.dtype == torch.bool:
        raise TypeError("predictions must be an integer tensor (N,) or float logits (N, K)")
    p = preds_or_logits.reshape(-1).long()
    outside = labels_outside(p, num_classes)
    if outside is not None:
        raise ValueError(
            f"predictions must lie in 0..{num_classes - 1}; got min {outside[0]}, max {outside[1]}"
        )
    return p


def top_k_accuracy(logits: Tensor, targets: Tensor, k: int = 1) -> float:
    """Fraction of samples whose target is among the k highest logits (seed 002 §5.3, footnote 2).

    Ties are broken towards the lower class index (a stable descending sort), so k = 1 equals the
    accuracy of ``logits.argmax(1)``.
    """
    logits = _check_logits(logits)
    num_classes = logits.shape[1]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= num_classes:
        raise ValueError(f"k={k!r} must be an int in 1..{num_classes} (the number of classes)")
    t = _check_targets(targets, logits.shape[0], num_classes).to(logits.device)
    order = torch.sort(logits, dim=1, descending=True, stable=True).indices[:, :k]
    return (order == t[:, None]).any(dim=1).double().mean().item()


def accuracy(preds_or_logits: Tensor, targets: Tensor, num_classes: int) -> float:
    """Top-1 accuracy of predictions (N,) or logits (N, K)."""
    p = as_predictions(preds_or_logits, num_classes)
    t = _check_targets(targets, p.numel(), num_classes).to(p.device)
    return (p == t).double().mean().item()


def confusion_matrix(preds_or_logits: Tensor, targets: Tensor, num_classes: int) -> Tensor:
    """int64 (K, K) CPU counts: entry [i, j] = samples of true class i predicted as j."""
    p = as_predictions(preds_or_logits, num_classes)
    t = _check_targets(targets, p.numel(), num_classes).to(p.device)
    flat = torch.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).cpu()


def _check_confusion(cm: Tensor) -> Tensor:
    if not isinstance(cm, Tensor) or cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError("confusion matrix must be a square (K, K) tensor")
    if bool((cm < 0).any()):
        raise ValueError("confusion matrix counts must be non-negative")
    return cm.detach().cpu().double()


def mcc_from_confusion(cm: Tensor) -> float:
    """Multiclass MCC (Gorodkin's R_K; seed 002 eq. 5.2) of a confusion matrix.

    MCC = (c·s − t·p) / (√(s² − p·p) · √(s² − t·t)) with c the correct count, s the sample count,
    t the per-class true counts (row sums) and p the per-class predicted counts (column sums).
    When a factor of the denominator is 0 (all samples in one true class, or all predicted as one
    class) the result is 0, as in ``sklearn.metrics.matthews_corrcoef``.
    """
    c = _check_confusion(cm)
    s = c.sum()
    correct = torch.trace(c)
    t, p = c.sum(dim=1), c.sum(dim=0)
    cov_tp = correct * s - torch.dot(t, p)
    cov_pp = s * s - torch.dot(p, p)
    cov_tt = s * s - torch.dot(t, t)
    if cov_pp.item() == 0.0 or cov_tt.item() == 0.0:
        return 0.0
    return (cov_tp / torch.sqrt(cov_pp * cov_tt)).item()


def matthews_corrcoef(preds_or_logits: Tensor, targets: Tensor, num_classes: int) -> float:
    """Multiclass MCC of predictions or logits; see :func:`mcc_from_confusion`."""
    return mcc_from_confusion(confusion_matrix(preds_or_logits, targets, num_classes))


def per_class_accuracy(cm: Tensor) -> Tensor:
    """float64 (K,) recall of each true class from a confusion matrix; NaN for a class with no
    samples (it has no accuracy; :meth:`ClassificationMetrics.to_dict` writes it as None)."""
    c = _check_confusion(cm)
    support = c.sum(dim=1)
    acc = torch.full_like(support, math.nan)
    present = support > 0
    acc[present] = torch.diagonal(c)[present] / support[present]
    return acc


@dataclass(frozen=True)
class ClassificationMetrics:
    """Top-1, top-5 (None when built from predictions), MCC, confusion matrix and per-class
    accuracy of one evaluation (seed 002 §5.3). ``top5`` uses k = min(5, num_classes)."""

    top1: float
    top5: float | None
    mcc: float
    confusion: Tensor
    per_class: Tensor
    n: int
    num_classes: int

    @classmethod
    def from_logits(
        cls, logits: Tensor, targets: Tensor, num_classes: int
    ) -> ClassificationMetrics:
        logits = _check_logits(logits, _check_num_classes(num_classes))
        top5 = top_k_accuracy(logits, targets, min(5, num_classes))
        return cls._build(logits.argmax(dim=1), targets, num_classes, top5)

    @classmethod
    def from_predictions(
        cls, preds: Tensor, targets: Tensor, num_classes: int
    ) -> ClassificationMetrics:
        return cls._build(as_predictions(preds, num_classes), targets, num_classes, None)

    @classmethod
    def _build(
        cls, preds: Tensor, targets: Tensor, num_classes: int, top5: float | None
    ) -> ClassificationMetrics:
        cm = confusion_matrix(preds, targets, num_classes)
        n = int(cm.sum())
        return cls(
            top1=torch.trace(cm).item() / n,
            top5=top5,
            mcc=mcc_from_confusion(cm),
            confusion=cm,
            per_class=per_class_accuracy(cm),
            n=n,
            num_classes=num_classes,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: numbers, nested lists for the matrix, None for absent classes."""
        return {
            "top1": self.top1,
            "top5": self.top5,
            "mcc": self.mcc,
            "n": self.n,
            "num_classes": self.num_classes,
            "confusion_matrix": self.confusion.tolist(),
            "per_class_accuracy": [None if math.isnan(a) else a for a in self.per_class.tolist()],
        }


def classification_records(
    logits: Tensor,
    y: Tensor,
    num_classes: int,
    ctx: RecordContext,
    tags: dict[str, Any],
    **kw: Any,
) -> list[EvalRecord]:
    """top-1, top-5, MCC, per-class accuracy and the confusion matrix (seed 002 §5.3) as
    records, from :class:`ClassificationMetrics`."""
    metrics = ClassificationMetrics.from_logits(logits, y, num_classes).to_dict()
    return [ctx.record(k, metrics[k], len(y), tags=dict(tags), **kw) for k in SCORES]


def _clean(run: MetricRun) -> list[EvalRecord]:
    logits = run.runner.logits(run.runner.x)
    return classification_records(logits, run.runner.y, run.classes, run.ctx, {"data": "clean"})


def _per_threat(run: MetricRun, norm: str, eps: float) -> list[EvalRecord]:
    """The same metrics on PGD-attacked data (seed 002 §5.3)."""
    runner = run.runner
    logits = runner.logits(runner.x_adv("pgd", norm, eps))
    config = runner.attack_config("pgd", norm, eps)
    kw = {"norm": norm, "eps": eps, "attack": "pgd", "attack_config": config}
    return classification_records(logits, runner.y, run.classes, run.ctx, {"data": "pgd"}, **kw)


CLASSIFICATION = register_metric(
    Metric(
        key="classification",
        records=SCORES,
        percent=("top1", "top5"),
        needs_threat=False,
        clean=_clean,
        per_threat=_per_threat,
    )
)
