"""Which config keys change a run's numbers — the one list, used by the study plan (a stage's
id) and by ``--resume`` (may this run continue with this config?).

- :data:`DISPLAY_KEYS`: names, locations, progress bars, loggers, devices and data-loading options;
  they never change the numbers.
- :data:`LINK_KEYS`: the run an evaluation-free stage reads its input from (a finetune run's
  ``pretrained``); a plan identifies it by the upstream stage's id instead of its path.
- :data:`ADDED_KEYS` and :data:`RENAMED_KEYS`: keys a config dump gained or renamed after runs
  had been made with it. Dumps are compared (and hashed) in their earlier shape, so unchanged
  configs keep their stage ids and earlier runs still resume (:func:`earlier_shape`).
- A moved run directory is the same run: on resume, paths inside the old location are read as
  paths inside the new one (:func:`relocate`), so a moved study resumes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

DISPLAY_KEYS: dict[str, tuple[str, ...]] = {
    "pretrain": (
        "name",
        "output_dir",
        "data.root",
        "data.download",
        "data.in_memory",
        "data.num_workers",
        "trainer.progress_bar",
        "trainer.logger",
    ),
    "finetune": (
        "name",
        "output_dir",
        "progress_bar",
        "logger",
        "device",
        "data.root",
        "data.download",
        "data.in_memory",
    ),
    "evaluate": ("name", "device", "progress", "logger", "data.root"),
}
CONFIG_KINDS: tuple[str, ...] = (*DISPLAY_KEYS, "experiment")  # the kinds of config file
LINK_KEYS: dict[str, tuple[str, ...]] = {
    "pretrain": (),
    "finetune": ("pretrained",),
    "evaluate": (),
}

# Issue 16 (one adversary config): pretraining adversaries gained ``attack`` and
# ``step_size_rule`` (every earlier pretraining run used PGD with the madry rule); finetuning
# adversaries gained ``use_best`` and call ``step_rule`` ``step_size_rule``. Issue 20: every
# adversary gained the single-step knobs ``noise`` and ``clip``.
ADDED_KEYS: dict[str, dict[str, Any]] = {
    "pretrain": {
        "method.adversary.attack": "pgd",
        "method.adversary.step_size_rule": "madry",
        "method.adversary.noise": None,
        "method.adversary.clip": "default",
        "monitor.catastrophic_overfitting": None,
        "smoke": False,
        "trainer.logger": "tensorboard",
    },
    "finetune": {
        "adversary.use_best": False,
        "adversary.noise": None,
        "adversary.clip": "default",
        "smoke": False,
        "logger": None,
        # issue 16 (finetuning on the shared Lightning machinery): the trainer section
        "trainer": {
            "accelerator": "auto",
            "devices": "auto",
            "num_nodes": 1,
            "strategy": "auto",
            "precision": "32-true",
            "log_every_n_steps": 20,
            "deterministic": None,
        },
    },
    "evaluate": {"smoke": False, "logger": None},
}
RENAMED_KEYS: dict[str, dict[str, str]] = {
    "pretrain": {},
    "finetune": {"adversary.step_size_rule": "adversary.step_rule"},
    "evaluate": {},
}


def _parent(config: dict[str, Any], dotted: str) -> tuple[dict[str, Any] | None, str]:
    node: Any = config
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    return (node if isinstance(node, dict) else None), last


def earlier_shape(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``config`` as dumps looked before :data:`ADDED_KEYS` / :data:`RENAMED_KEYS`:
    an added key at its earlier value is left out, a renamed key takes its earlier name."""
    _check_kind(kind)
    out = copy.deepcopy(dict(config))
    for dotted, earlier in ADDED_KEYS[kind].items():
        node, last = _parent(out, dotted)
        if node is not None and last in node and node[last] == earlier:
            del node[last]
    for dotted, old in RENAMED_KEYS[kind].items():
        node, last = _parent(out, dotted)
        if node is not None and last in node:
            node[old.rsplit(".", 1)[-1]] = node.pop(last)
    return out


def _check_kind(kind: str) -> None:
    if kind not in DISPLAY_KEYS:
        raise ValueError(f"unknown run kind {kind!r}; one of {', '.join(DISPLAY_KEYS)}")


def without_keys(config: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """A deep copy of ``config`` without the dotted ``keys``."""
    out = copy.deepcopy(dict(config))
    for dotted in keys:
        node: Any = out
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return out


def identity_config(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """What of ``config`` determines the numbers of a stage whose upstream runs are known by
    id: without display keys and link keys."""
    return without_keys(earlier_shape(kind, config), DISPLAY_KEYS[kind] + LINK_KEYS[kind])


def comparable_config(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """What of ``config`` must match for ``--resume``: without display keys (links stay:
    resuming with another encoder would mix two runs)."""
    return without_keys(earlier_shape(kind, config), DISPLAY_KEYS[kind])


def _relocation(old: Any, new: Any) -> tuple[str, str] | None:
    """(old prefix, new prefix) of a moved output directory: both paths without their common
    trailing parts (``/a/study/runs/x`` → ``/b/s/runs/x`` gives ``/a/study`` → ``/b/s``)."""
    if not isinstance(old, str) or not isinstance(new, str) or old == new:
        return None
    a, b = list(PurePath(old).parts), list(PurePath(new).parts)
    while len(a) > 1 and len(b) > 1 and a[-1] == b[-1]:
        a.pop()
        b.pop()
    return str(PurePath(*a)), str(PurePath(*b))


def relocate(node: Any, old: str, new: str) -> Any:
    """``node`` with every string path equal to or inside ``old`` moved under ``new``."""
    if isinstance(node, dict):
        return {k: relocate(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [relocate(v, old, new) for v in node]
    if isinstance(node, str) and (node == old or node.startswith(old.rstrip("/") + "/")):
        return new + node[len(old) :] if node != old else new
    return node


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict) and node:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: node}


def config_differences(
    kind: str, saved: Mapping[str, Any], current: Mapping[str, Any]
) -> list[tuple[str, Any, Any]]:
    """(dotted key, saved value, current value) for every key that would change the numbers,
    sorted; empty when ``current`` may resume a run started with ``saved``. Paths under a moved
    ``output_dir`` compare as moved."""
    a, b = _flat(comparable_config(kind, saved)), _flat(comparable_config(kind, current))
    moved = _relocation(saved.get("output_dir"), current.get("output_dir"))
    a_moved = _flat(comparable_config(kind, relocate(dict(saved), *moved))) if moved else a
    missing = object()
    return [
        (k, a.get(k), b.get(k))
        for k in sorted(set(a) | set(b))
        if a.get(k, missing) != b.get(k, missing) and a_moved.get(k, missing) != b.get(k, missing)
    ]


def describe_differences(differences: list[tuple[str, Any, Any]], limit: int = 6) -> str:
    """``key: saved X, now Y; ...`` (at most ``limit`` keys, then how many more)."""
    shown = [f"{k}: saved {a!r}, now {b!r}" for k, a, b in differences[:limit]]
    if len(differences) > limit:
        shown.append(f"and {len(differences) - limit} more")
    return "; ".join(shown)
