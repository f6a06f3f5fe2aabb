"""The tiny study the runner and reliability tests share: supervised pretraining (small CNN of
width 8, one epoch) on the fake Fashion-MNIST files → SLF finetuning → SA / RA on 16 test points,
about a second per chain.

``tests/experiments`` uses it as it is (2 learning rates, so 2 chains); ``tests/reliability``
through ``relfix.study_spec`` (named ``rel``, one learning rate unless given more).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from robustssl.experiments.plan import Plan

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs" / "fashion_mnist"


def tiny_study(
    root: Path,
    study_dir: Path,
    *,
    name: str = "tiny",
    lrs: tuple[float, ...] = (0.001, 0.002),
    label: str | None = "Supervised",
    **changes: Any,
) -> dict[str, Any]:
    """The experiment mapping: one pretraining run per learning rate of ``lrs`` (a grid when there
    are several) → SLF of each → SA / RA of each. ``changes`` replace top-level keys."""
    grid = {"grid": {"optim.lr": list(lrs)}} if len(lrs) > 1 else {}
    pretrain = {
        **({"label": label} if label is not None else {}),
        "config": str(CONFIGS / "supervised.yaml"),
        **grid,
    }
    raw: dict[str, Any] = {
        "name": name,
        "study_dir": str(study_dir),
        "seeds": [0],
        "data": {"root": str(root)},
        "defaults": {
            "pretrain": {
                "data": {"batch_size": 32},
                "model.backbone_kwargs": {"width": 8},
                "monitor": {"knn": False, "online_probe": False},
                "trainer": {"accelerator": "cpu", "max_epochs": 1, "max_time_minutes": None},
                **({} if grid else {"optim.lr": lrs[0]}),
            },
            "finetune": {"device": "cpu"},
            "evaluate": {"device": "cpu"},
        },
        "pretrain": {"sup": pretrain},
        "finetune": {
            "slf": {
                "pretrain": "sup",
                "config": str(CONFIGS / "finetune_slf.yaml"),
                "overrides": {
                    "data": {"batch_size": 32},
                    "optim": {"epochs": 2, "milestones": [1]},
                },
            }
        },
        "evaluate": {
            "rob": {
                "finetune": "slf",
                "config": str(CONFIGS / "evaluate.yaml"),
                "threats": {"Linf": [0.1]},
                "overrides": {
                    "data": {"n": 16, "batch_size": 16},
                    "metrics": ["sa", "ra"],
                    "attacks.pgd": {"steps": 3},
                    "diagnostics": {"enabled": False},
                },
            }
        },
    }
    raw.update(copy.deepcopy(changes))
    return raw


def plan_of(raw: dict[str, Any], overrides: tuple[str, ...] = ()) -> Plan:
    """The plan of an experiment mapping (``key=value`` overrides applied first)."""
    from robustssl.experiments.plan import expand  # imported here: relfix's workers stay light
    from robustssl.experiments.spec import load_experiment

    return expand(load_experiment(None, overrides, raw=raw))


def write_yaml(path: Path, body: dict[str, Any]) -> Path:
    """``body`` as YAML at ``path`` (its folder made when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def tree_state(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``root`` with its mtime (ns) and bytes."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
