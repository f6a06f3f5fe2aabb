"""Your own model in one call (issue 18): :func:`evaluate_model` runs the evaluation suite
(:func:`robustssl.evaluation.suite.evaluate`) on any ``nn.Module`` that maps [0, 1] images to
logits, on given points or on a named dataset's test split, and returns the suite's summary
table with its records — written, when asked, to ``records.json`` with the dataset filled in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from robustssl.attacks import Finding
from robustssl.attacks.checks import check_dtype, check_inputs, check_labels, model_classes
from robustssl.evaluation.config import EvaluateConfig
from robustssl.evaluation.records import EvalRecord, RecordContext
from robustssl.evaluation.suite import EvaluationResult, evaluate, format_summary
from robustssl.runs import DirLock
from robustssl.utils.config import validate_config

CUSTOM = "custom"  # the records' dataset when x, y come without a name
DEFAULT_METRICS = ("sa", "ra", "aa")


@dataclass
class ModelEvaluation:
    """What :func:`evaluate_model` measured: ``table`` (the summary ``robustssl evaluate``
    prints, :func:`~robustssl.evaluation.suite.format_summary`; also ``str()`` of this object),
    the ``records``, the gradient-masking ``findings`` per norm, and ``records_path`` when
    written."""

    table: str
    records: list[EvalRecord]
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    records_path: Path | None = None
    result: EvaluationResult | None = None

    def __str__(self) -> str:
        return self.table


def _threats(threats: Mapping[str, Any]) -> dict[str, Any]:
    """``{"Linf": 8/255}`` or ``{"Linf": {"eps": 0.1, "eps_list": [...]}}`` → config form."""
    if not isinstance(threats, Mapping) or not threats:
        raise ValueError(f"threats must be a mapping like {{'Linf': 8/255}}, got {threats!r}")
    return {
        norm: value if isinstance(value, Mapping) else {"eps": value}
        for norm, value in threats.items()
    }


def build_config(
    config: EvaluateConfig | Mapping[str, Any] | None = None,
    *,
    threats: Mapping[str, Any] | None = None,
    attacks: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    seed: int | None = None,
    progress: bool | None = None,
) -> EvaluateConfig:
    """The :class:`EvaluateConfig` of :func:`evaluate_model`'s arguments (checked: unknown
    metrics, attacks, norms or a wrong ε raise here, before any compute). A dict ``config``
    that sets no metrics gets SA, RA and AA, and no progress bars unless it asks for them; an
    :class:`EvaluateConfig` is taken as it is."""
    base = config.model_dump() if isinstance(config, EvaluateConfig) else dict(config or {})
    if threats is not None:
        base["threats"] = _threats(threats)
    if isinstance(attacks, str):
        raise ValueError(f"attacks must be a list of attack names, e.g. [{attacks!r}]")
    if attacks is not None:
        base["breakdown"] = list(attacks)
        base["metrics"] = list(metrics) if metrics is not None else ["sa", "breakdown"]
    elif metrics is not None:
        base["metrics"] = list(metrics)
    elif not isinstance(config, EvaluateConfig):
        base.setdefault("metrics", list(DEFAULT_METRICS))
    if seed is not None:
        base["seed"] = seed
    if progress is not None:
        base["progress"] = progress
    elif not isinstance(config, EvaluateConfig):
        base.setdefault("progress", False)
    return validate_config(base, EvaluateConfig)


def _device(model: nn.Module) -> torch.device:
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


def _dataset_points(
    dataset: str, cfg: EvaluateConfig, device: torch.device
) -> tuple[Tensor, Tensor, int, str, str]:
    """(x, y, classes, canonical name, subset) of the first ``cfg.data.n`` test points."""
    from robustssl.data import load_dataset
    from robustssl.data.registry import canonical_name

    if cfg.data.convert_channels:
        raise ValueError(
            "data.convert_channels applies to robustssl classifiers; put the channel "
            "conversion inside your model"
        )
    name = canonical_name(dataset)
    split = cfg.data.split
    data = load_dataset(
        name, split, root=cfg.data.root, device=device, image_size=cfg.data.image_size
    )
    n = len(data) if cfg.data.n is None else min(cfg.data.n, len(data))
    x, y = data.get_batch(torch.arange(n))
    return x, y, data.num_classes, name, f"{split}[0:{n}]"


def evaluate_model(
    model: nn.Module,
    x: Tensor | None = None,
    y: Tensor | None = None,
    *,
    dataset: str | None = None,
    threats: Mapping[str, Any] | None = None,
    attacks: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    config: EvaluateConfig | Mapping[str, Any] | None = None,
    name: str | None = None,
    out: str | Path | None = None,
    seed: int | None = None,
    progress: bool | None = None,
) -> ModelEvaluation:
    """Evaluate ``model`` (images in [0, 1] → logits, normalisation inside) on ``x, y`` or on
    the first ``config["data"]["n"]`` (default 1000) test points of ``dataset``.

    - ``threats``: ``{"Linf": 8/255, "L2": 0.5}`` (or ``{"Linf": {"eps": ..., "eps_list":
      [...]}}``); default L∞ 8/255.
    - ``attacks``: attack names (``pgd``, ``apgd-ce``, ``aa``, ...; ``ATTACK_NAMES``), each run
      alone at each threat's ε plus their per-point worst case (the suite's ``breakdown``).
      Without ``attacks`` the metrics are ``metrics`` (default SA, RA under PGD-20, AA).
    - ``config``: any :class:`EvaluateConfig` (or its dict) for everything else (attack
      settings, batch size, diagnostics, ...); the arguments above override it.
    - ``dataset`` with ``x``/``y``: only names the points in the records (default ``"custom"``).
    - ``out``: a directory; ``records.json`` there (merged with earlier records) and
      ``config.json``.
    - ``x, y`` (all of them are used; ``data.n`` applies to ``dataset`` only) and the dataset's
      points go to the device of the model's parameters.

    Everything is checked before the first attack: the config, x/y (the attacks' shared checks:
    shape, dtype, NaN, [0, 1], labels within the model's classes) and the dataset's classes.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if (x is None) != (y is None):
        raise ValueError("pass both x and y, or neither and dataset='<name>'")
    if x is None and dataset is None:
        raise ValueError("pass the points (x, y) or dataset='<name>' (e.g. 'fashion_mnist')")
    cfg = build_config(
        config, threats=threats, attacks=attacks, metrics=metrics, seed=seed, progress=progress
    )
    device = _device(model)
    subset: str | None = None
    if x is None:
        assert dataset is not None
        x, y, data_classes, dataset, subset = _dataset_points(dataset, cfg, device)
    else:
        assert y is not None
        check_inputs(x, y)
        x, y, data_classes = x.to(device), y.to(device), None
    assert y is not None
    check_dtype(model, x)
    classes = model_classes(model, x)
    if data_classes is not None and data_classes != classes:
        raise ValueError(
            f"the model predicts {classes} classes but {dataset} has {data_classes}; evaluate "
            f"it on a {classes}-class dataset"
        )
    check_labels(y, classes)
    ctx = RecordContext(
        model=name or type(model).__name__,
        dataset=dataset or CUSTOM,
        seed=cfg.seed,
        subset=subset,
    )
    if out is None:
        result = evaluate(model, x, y, cfg, ctx, classes)
        records_path = None
    else:
        from robustssl.evaluation.from_checkpoint import write_evaluation

        out_dir = Path(out)
        with DirLock(out_dir, "evaluation folder", stop_note="the evaluation starts over"):
            result = evaluate(model, x, y, cfg, ctx, classes)
            records_path = write_evaluation(out_dir, cfg, result)
    return ModelEvaluation(
        format_summary(result.records), result.records, result.findings, records_path, result
    )
