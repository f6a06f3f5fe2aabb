"""Model selection over epochs (``select``): keep the last epoch's classifier, or the epoch with
the highest robust accuracy on the evaluation (``best_test``, AdvCL's SLF script) or validation
(``best_val``) split. The score is PGD's robust accuracy (``select.*``; random start, model in eval
mode, one fixed seed for every epoch so epochs are compared on the same starts). The best weights
are kept in ``state/best.safetensors`` so a resumed run selects as an uninterrupted one."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from torch import nn

from robustssl.attacks.accuracy import accuracy_under_attack
from robustssl.attacks.build import build_attack
from robustssl.data import ImageDataset
from robustssl.finetune.config import SelectionConfig
from robustssl.models import load_state_strict
from robustssl.runs.layout import FINETUNE_BEST
from robustssl.utils import mix_seed
from robustssl.utils.checkpoint import load_weights, save_weights

SCORE = "select_robust_accuracy"
_SELECT_STREAM = 0x5E1EC7


class SelectionOnTestSetWarning(UserWarning):
    """``select: best_test`` picks the epoch by the test set's robust accuracy."""


def warn_if_test_selection(cfg: SelectionConfig) -> None:
    if cfg.rule == "best_test":
        warnings.warn(
            "select=best_test picks the epoch with the highest robust accuracy on the test set "
            "(as AdvCL's SLF script reports); the reported numbers are selected on the data they "
            "are measured on and so are optimistic. Use select=best_val (with data.val_fraction) "
            "or select=last for an unbiased estimate.",
            SelectionOnTestSetWarning,
            stacklevel=2,
        )


def select_score(
    model: nn.Module, dataset: ImageDataset, cfg: SelectionConfig, seed: int, batch_size: int
) -> float:
    """PGD robust accuracy (:func:`robustssl.attacks.accuracy.accuracy_under_attack`: correct
    clean and attacked) of ``model`` on the first ``cfg.n`` images of ``dataset`` (all when
    None)."""
    if cfg.n is not None and cfg.n < len(dataset):
        dataset = dataset.subset(range(cfg.n))
    attack = build_attack(
        "pgd",
        model,
        cfg.norm,
        cfg.eps,
        steps=cfg.steps,
        step_size=cfg.step_size,
        seed=mix_seed(seed, _SELECT_STREAM),
        model_mode="eval",
    )
    return accuracy_under_attack(model, dataset.loader(batch_size), attack)


def is_best(rows: list[dict[str, Any]], score: float) -> bool:
    """``score`` beats every earlier epoch's (ties keep the first, as AdvCL's ``>``)."""
    return all(score > float(row[SCORE]) for row in rows)


def best_epoch(rows: list[dict[str, Any]]) -> int:
    """The 1-based epoch whose classifier ``select`` keeps (the first of equal scores)."""
    scores = [float(row[SCORE]) for row in rows]
    return int(rows[scores.index(max(scores))]["epoch"])


def save_best(model: nn.Module, run_dir: Path, epoch: int) -> None:
    save_weights(model, run_dir / FINETUNE_BEST, {"epoch": epoch})


def load_best(model: nn.Module, run_dir: Path) -> None:
    path = run_dir / FINETUNE_BEST
    load_state_strict(model, load_weights(path, "cpu"), str(path))
