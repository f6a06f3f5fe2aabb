"""The smoke preset (``--smoke``): the one rule that shrinks any pretraining, finetuning or
evaluation config — and so any study — to a run of seconds to minutes that goes through every
code path of the real one, and marks it so that its numbers are never taken for results.

- pretraining: 1 epoch, no warm-up, no milestones, no time limit, the kNN bank ≤
  :data:`TRAIN_SAMPLES`; at most :data:`TRAIN_SAMPLES` training and :data:`EVAL_SAMPLES`
  monitoring images (stratified subsets, taken when the data is loaded: :func:`subset`);
- finetuning: 1 epoch, no milestones, at most :data:`TRAIN_SAMPLES` training and
  :data:`EVAL_SAMPLES` test images, epoch selection on at most :data:`EVAL_N` points;
- evaluation: ``data.n`` ≤ :data:`EVAL_N` (AutoAttack included), the diagnostics on at most
  :data:`EVAL_N` points with ≤ 20 long-PGD steps and ≤ 100 Square queries, Lipschitz and t-SNE
  on at most :data:`EVAL_N` points;
- every config gets ``smoke: true``: it is part of the run's identity (a smoke run never reuses
  or overwrites a real one), it is saved with the run, every evaluation record of a smoke run
  carries the tag ``smoke=True`` (shown in every table), and a smoke study goes to
  ``<study_dir>-smoke``.

The rule works on config dumps (plain dicts) and imports no torch: the CLI, the study planner and
the Python API all call :func:`shrink`. The training attack (ALF / AFF / adversarial pretraining)
keeps its settings: a smoke run tests the real code path, only shorter.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

TRAIN_SAMPLES = 1024  # training images at most (stratified subset)
EVAL_SAMPLES = 512  # monitoring / finetune test images at most
EVAL_N = 100  # evaluated points at most
DIAGNOSTIC_MORE_STEPS = 20
DIAGNOSTIC_QUERIES = 100
SUFFIX = "-smoke"
BANNER = (
    "SMOKE RUN (--smoke): 1 epoch, a small data subset, few evaluation points; a check that "
    "everything runs, NOT a result"
)
KINDS = ("pretrain", "finetune", "evaluate")


def _at_most(value: Any, cap: int) -> int:
    return cap if value is None else min(int(value), cap)


def _section(config: dict[str, Any], key: str) -> dict[str, Any]:
    section = config.get(key)
    if not isinstance(section, dict):
        section = {}
        config[key] = section
    return section


def _pretrain(cfg: dict[str, Any]) -> None:
    trainer = _section(cfg, "trainer")
    trainer.update(max_epochs=1, max_time_minutes=None)
    optim = _section(cfg, "optim")
    optim.update(warmup_epochs=0.0, milestones=[])
    monitor = _section(cfg, "monitor")
    bank = _at_most(monitor.get("max_bank_size"), TRAIN_SAMPLES)
    monitor.update(every_n_epochs=1, max_bank_size=bank)


def _finetune(cfg: dict[str, Any]) -> None:
    optim = _section(cfg, "optim")
    optim.update(epochs=1, milestones=[])
    select = _section(cfg, "select")
    select["n"] = _at_most(select.get("n"), EVAL_N)


def _evaluate(cfg: dict[str, Any]) -> None:
    data = _section(cfg, "data")
    data["n"] = _at_most(data.get("n"), EVAL_N)
    diagnostics = _section(cfg, "diagnostics")
    diagnostics["n_points"] = _at_most(diagnostics.get("n_points"), EVAL_N)
    diagnostics["more_steps"] = max(
        _at_most(diagnostics.get("more_steps"), DIAGNOSTIC_MORE_STEPS),
        int(diagnostics.get("steps") or 1),
    )
    diagnostics["queries"] = _at_most(diagnostics.get("queries"), DIAGNOSTIC_QUERIES)
    lipschitz = _section(cfg, "lipschitz")
    lipschitz["n"] = _at_most(lipschitz.get("n"), EVAL_N)
    representation = _section(cfg, "representation")
    representation["tsne_n"] = _at_most(representation.get("tsne_n"), EVAL_N)


_RULES = {"pretrain": _pretrain, "finetune": _finetune, "evaluate": _evaluate}


def shrink(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """A copy of the ``kind`` config dump (``PretrainConfig`` / ``FinetuneConfig`` /
    ``EvaluateConfig`` as JSON) shrunk by the smoke rule, with ``smoke: true``; validate it again
    with its config class. Shrinking twice gives the same config."""
    if kind not in _RULES:
        raise ValueError(f"unknown run kind {kind!r}; one of {', '.join(KINDS)}")
    out = copy.deepcopy(dict(config))
    _RULES[kind](out)
    out["smoke"] = True
    return out


class _Subsettable(Protocol):
    def __len__(self) -> int: ...

    def label_fraction(self, fraction: float, seed: int = 0) -> Any: ...


D = TypeVar("D", bound=_Subsettable)


def subset(data: D, cap: int, seed: int) -> D:
    """A stratified subset (``ImageDataset.label_fraction``) of about ``cap`` samples of
    ``data``; ``data`` itself when it holds no more."""
    n = len(data)
    return data if n <= cap else data.label_fraction(cap / n, seed=seed)


def smoke_study_dir(study_dir: Path) -> Path:
    """Where a smoke study goes: next to the real one, never inside it."""
    return (
        study_dir
        if study_dir.name.endswith(SUFFIX)
        else study_dir.with_name(study_dir.name + SUFFIX)
    )


M = TypeVar("M", bound=BaseModel)


def shrink_config(kind: str, config: M) -> M:
    """``config`` (a PretrainConfig / FinetuneConfig / EvaluateConfig) shrunk by :func:`shrink`
    and validated again."""
    return type(config).model_validate(shrink(kind, config.model_dump(mode="json")))


def is_smoke(*configs: Any) -> bool:
    """Whether any of these config dumps (or pydantic configs) is a smoke run's."""
    for config in configs:
        value = config.get("smoke") if isinstance(config, dict) else getattr(config, "smoke", None)
        if value:
            return True
    return False
