"""A tiny study for the runner tests: supervised pretraining (small CNN width 8, one epoch) on the
fake Fashion-MNIST files, SLF finetuning, SA / RA on 16 test points — seconds per stage."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from robustssl.experiments.plan import Plan, expand
from robustssl.experiments.spec import load_experiment

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs" / "fashion_mnist"


def tiny_study(root: Path, study_dir: Path, **changes: Any) -> dict[str, Any]:
    """The experiment mapping: 2 pretrain runs (a grid over the learning rate) → 2 SLF runs →
    2 evaluations. ``changes`` replace top-level keys."""
    raw: dict[str, Any] = {
        "name": "tiny",
        "study_dir": str(study_dir),
        "seeds": [0],
        "data": {"root": str(root)},
        "defaults": {
            "pretrain": {
                "data": {"batch_size": 32},
                "model.backbone_kwargs": {"width": 8},
                "monitor": {"knn": False, "online_probe": False},
                "trainer": {"accelerator": "cpu", "max_epochs": 1, "max_time_minutes": None},
            },
            "finetune": {"device": "cpu"},
            "evaluate": {"device": "cpu"},
        },
        "pretrain": {
            "sup": {
                "label": "Supervised",
                "config": str(CONFIGS / "supervised.yaml"),
                "grid": {"optim.lr": [0.001, 0.002]},
            }
        },
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
    return expand(load_experiment(None, overrides, raw=raw))


def write_experiment(raw: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def tree_state(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``root`` with its mtime (ns) and bytes."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
