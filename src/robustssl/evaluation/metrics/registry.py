"""The evaluation suite's metric registry: one :class:`Metric` entry per value of
``EvaluateConfig.metrics``, registered by the file that computes it.

An entry says everything the rest of the code needs to know about a metric: its config key, the
checks it makes before any compute, what it computes (once on clean data, per threat model, and/or
once after the threat models), the record metric names it writes and which of them are accuracies
(stored as fractions, shown in % in every table). :func:`robustssl.evaluation.evaluate` runs the
selected entries in registration order, so the record order is the registration order.

Adding a metric is one file that builds a :class:`Metric` and calls :func:`register_metric` (see
``robustssl/evaluation/metrics/ra.py`` for a small one, docs/evaluation.md "Adding a metric").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from robustssl.evaluation.robustness import AttackRunner

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor, nn

    from robustssl.attacks import Finding
    from robustssl.evaluation.config import EvaluateConfig
    from robustssl.evaluation.records import EvalRecord, RecordContext


@dataclass
class MetricRun:
    """What every metric of one evaluation sees: the classifier, the checked test points, the
    config, the record context, the class count and the shared :attr:`runner` (x_adv is cached
    per (attack, norm, ε), so metrics share attack runs). ``findings`` and ``tsne`` collect the
    non-record outputs (diagnostics findings per norm, t-SNE arrays per layer@norm)."""

    model: nn.Module
    x: Tensor
    y: Tensor
    cfg: EvaluateConfig
    ctx: RecordContext
    classes: int
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    tsne: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @cached_property
    def runner(self) -> AttackRunner:
        """The :class:`AttackRunner` of the test points, built at first use: the metrics'
        ``check`` hooks run before it, so they never call the model."""
        cfg = self.cfg
        return AttackRunner(
            self.model,
            self.x,
            self.y,
            cfg.attacks,
            seed=cfg.seed,
            batch_size=cfg.data.batch_size,
            progress=cfg.progress,
        )


Records = list["EvalRecord"]


@dataclass(frozen=True)
class Metric:
    """One metric of the suite.

    - ``key``: its name in ``EvaluateConfig.metrics`` (``listed=False``: not a ``metrics`` value;
      ``wanted`` then says when it runs, e.g. the diagnostics' ``diagnostics.enabled``).
    - ``records``: the record ``metric`` names it writes; ``percent``: those that are accuracies
      (fractions in [0, 1], shown in % by ``format_summary`` and the study tables).
    - ``needs_threat``: it needs at least one entry in ``threats``.
    - ``validate(cfg)``: config checks (run while the config is validated, before any data).
    - ``check(run)``: checks against the model and data, before the first forward pass.
    - ``clean(run)`` once, ``per_threat(run, norm, eps)`` for each threat, ``after(run)`` once
      after the threat models; each returns records (or ``None``: no hook).
    """

    key: str
    records: tuple[str, ...]
    percent: tuple[str, ...] = ()
    needs_threat: bool = True
    listed: bool = True
    wanted: Callable[[EvaluateConfig], bool] | None = None
    validate: Callable[[EvaluateConfig], None] | None = None
    check: Callable[[MetricRun], None] | None = None
    clean: Callable[[MetricRun], Records] | None = None
    per_threat: Callable[[MetricRun, str, float], Records] | None = None
    after: Callable[[MetricRun], Records] | None = None

    def __post_init__(self) -> None:
        unknown = [m for m in self.percent if m not in self.records]
        if unknown:
            raise ValueError(f"metric {self.key!r}: percent {unknown} are not in its records")
        if self.clean is None and self.per_threat is None and self.after is None:
            raise ValueError(
                f"metric {self.key!r} computes nothing: give clean, per_threat or after"
            )

    def selected(self, cfg: EvaluateConfig) -> bool:
        """Whether ``cfg`` asks for this metric."""
        return self.wanted(cfg) if self.wanted is not None else self.key in cfg.metrics


_REGISTRY: dict[str, Metric] = {}


def register_metric(metric: Metric, replace: bool = False) -> Metric:
    """Add ``metric`` (after every registered one); a second entry under one key is a ValueError
    unless ``replace`` (which keeps the old entry's place)."""
    if metric.key in _REGISTRY and not replace:
        raise ValueError(f"metric {metric.key!r} is already registered; pass replace=True")
    for other in _REGISTRY.values():  # a record name shared by two entries (corruption writes
        if other.key == metric.key:  # sa / ra too) must be shown the same way by both
            continue
        for name in set(metric.records) & set(other.records):
            if (name in metric.percent) != (name in other.percent):
                raise ValueError(
                    f"metric {metric.key!r}: record {name!r} is also written by {other.key!r}, "
                    "which shows it differently; list it in both percent tuples or in neither"
                )
    _REGISTRY[metric.key] = metric
    return metric


def unregister_metric(key: str) -> None:
    """Remove the entry ``key`` (a KeyError names the registered ones)."""
    if key not in _REGISTRY:
        raise KeyError(f"no metric {key!r}; registered: {', '.join(_REGISTRY)}")
    del _REGISTRY[key]


def registered_metrics() -> tuple[Metric, ...]:
    """Every entry, in registration order (the order their records come out)."""
    return tuple(_REGISTRY.values())


def metric_names() -> tuple[str, ...]:
    """The values ``EvaluateConfig.metrics`` accepts."""
    return tuple(m.key for m in _REGISTRY.values() if m.listed)


def get_metric(key: str) -> Metric:
    if key not in _REGISTRY:
        raise KeyError(f"no metric {key!r}; registered: {', '.join(_REGISTRY)}")
    return _REGISTRY[key]


def record_metrics() -> tuple[str, ...]:
    """Every record ``metric`` name the suite writes (docs/evaluation.md, "Outputs: records")."""
    return tuple(dict.fromkeys(r for m in _REGISTRY.values() for r in m.records))


def accuracy_metrics() -> frozenset[str]:
    """The record metrics that are accuracies: fractions in [0, 1], shown in %."""
    return frozenset(r for m in _REGISTRY.values() for r in m.percent)


def is_accuracy(metric: Any) -> bool:
    return metric in accuracy_metrics()
