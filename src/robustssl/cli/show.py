"""How the training commands print a run's metrics: accuracies in % (stored as fractions in
``summary.json``), everything else as stored."""

from __future__ import annotations

from collections.abc import Mapping

_ACCURACY_SUFFIXES = ("accuracy", "top1", "top5", "probe_acc")


def is_accuracy(key: str) -> bool:
    """Whether a metric name is an accuracy (a fraction shown in %)."""
    return key.endswith(_ACCURACY_SUFFIXES)


def format_metrics(metrics: Mapping[str, object]) -> str:
    """``knn_top1=75.00%, epochs=2, train_loss=0.4123``."""
    parts = []
    for key, value in metrics.items():
        if isinstance(value, float) and is_accuracy(key):
            parts.append(f"{key}={100 * value:.2f}%")
        elif isinstance(value, float):
            parts.append(f"{key}={value:.4f}")
        else:
            parts.append(f"{key}={value}")
    return ", ".join(parts)
