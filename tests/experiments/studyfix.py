"""A small study on disk for the experiments tests: run directories with finetune-style
``config.json`` files and ``evaluation/default/records.json`` holding known numbers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from robustssl.evaluation.records import EvalRecord, RecordContext, write_records

DATASET = "fashion_mnist"
EPS = 0.1
CURVE_EPS = (0.0, 0.05, 0.1)
# method → protocol → (sa, ra, aa, curve accuracies at CURVE_EPS, breakdown)
NUMBERS: dict[str, dict[str, dict[str, Any]]] = {
    "supervised": {
        "slf": {"sa": 0.91, "ra": 0.05, "aa": 0.01, "curve": (0.91, 0.40, 0.05)},
    },
    "simclr": {
        "slf": {"sa": 0.80, "ra": 0.10, "aa": 0.08, "curve": (0.80, 0.35, 0.10)},
        "alf": {"sa": 0.76, "ra": 0.30, "aa": 0.25, "curve": (0.76, 0.50, 0.30)},
    },
    "advcl": {
        "slf": {"sa": 0.78, "ra": 0.45, "aa": 0.40, "curve": (0.78, 0.62, 0.45)},
        "alf": {"sa": 0.77, "ra": 0.50, "aa": 0.44, "curve": (0.77, 0.64, 0.50)},
    },
}
BREAKDOWN_ATTACKS = ("fgsm", "pgd", "aa", "worst_case")
SUBSET = "test[0:100]"
# the suite's settings of each attack (AttackRunner.attack_config), as the records carry them
CONFIGS: dict[str, dict[str, Any]] = {
    "pgd": {
        "name": "pgd",
        "steps": 20,
        "step_size_rule": "auto",
        "restarts": 1,
        "loss": "ce",
        "batch_size": 256,
    },
    "fgsm": {"name": "fgsm", "loss": "ce", "batch_size": 256},
    "apgd-ce": {"name": "apgd-ce", "steps": 100, "loss": "ce", "restarts": 1, "batch_size": 256},
    "aa": {
        "name": "aa",
        "version": "standard",
        "attacks": ["apgd-ce", "apgd-t", "fab-t", "square"],
        "batch_size": 256,
    },
}
CONFIGS["worst_case"] = {"name": "worst_case", "of": [CONFIGS[a] for a in ("fgsm", "pgd", "aa")]}


def attacked(name: str, **kw: Any) -> dict[str, Any]:
    """Record keywords of attack ``name`` with its settings."""
    return {"attack": name, "attack_config": CONFIGS[name], **kw}


def run_records(
    model: str, method: str, protocol: str, nums: dict[str, Any], seed: int = 0
) -> list[EvalRecord]:
    """Every record a study needs for one finetuned model."""
    ctx = RecordContext(
        model=model, pretraining=method, finetune=protocol, dataset=DATASET, seed=seed
    )
    ctx = replace(ctx, subset=SUBSET)
    threat = {"norm": "Linf", "eps": EPS}
    recs = [
        ctx.record("sa", nums["sa"], 100),
        ctx.record("ra", nums["ra"], 100, **attacked("pgd", **threat)),
        ctx.record("aa", nums["aa"], 100, **attacked("aa", **threat)),
    ]
    recs += [
        ctx.record(
            "accuracy", a, 100, norm="Linf", eps=e, **attacked("pgd"), tags={"sweep": "pruned"}
        )
        for e, a in zip(CURVE_EPS, nums["curve"], strict=True)
    ]
    bd = {"fgsm": nums["ra"] + 0.1, "pgd": nums["ra"], "aa": nums["aa"], "worst_case": nums["aa"]}
    recs += [ctx.record("breakdown", v, 100, **attacked(k, **threat)) for k, v in bd.items()]
    cm_clean = [[45, 5], [4, 46]]
    cm_pgd = [[30, 20], [25, 25]]
    for data, cm, mcc in (("clean", cm_clean, 0.82), ("pgd", cm_pgd, 0.1)):
        kw = attacked("pgd", **threat) if data == "pgd" else {}
        recs.append(ctx.record("mcc", mcc, 100, tags={"data": data}, **kw))
        recs.append(ctx.record("confusion_matrix", cm, 100, tags={"data": data}, **kw))
    recs.append(ctx.record("sa", 0.5, 100, tags={"corruption": "fog", "severity": 3}))
    return recs


def write_run(
    root: Path,
    name: str,
    records: Sequence[EvalRecord],
    config: dict[str, Any] | None = None,
    eval_name: str = "default",
) -> Path:
    """``root/name`` with ``config.json`` and ``evaluation/<eval_name>/records.json``."""
    run = root / name
    run.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (run / "config.json").write_text(json.dumps(config))
    write_records(run / "evaluation" / eval_name / "records.json", list(records))
    return run


def finetune_config(protocol: str, pretrained: str | None, eps: float | None) -> dict[str, Any]:
    """The parts of a FinetuneConfig dump that the store reads."""
    cfg: dict[str, Any] = {"protocol": protocol, "pretrained": pretrained}
    cfg["data"] = {"dataset": DATASET, "label_fraction": 1.0}
    cfg["adversary"] = None if eps is None else {"norm": "Linf", "eps": eps, "steps": 5}
    return cfg


def write_study(study: Path) -> list[Path]:
    """Pretraining run dirs (config only) and one finetune run per (method, protocol)."""
    runs = []
    for method, protocols in NUMBERS.items():
        pre = study / "runs" / f"pre_{method}"
        pre.mkdir(parents=True, exist_ok=True)
        pre_cfg: dict[str, Any] = {"name": f"pre_{method}", "method": {"name": method}}
        if method == "advcl":  # adversarial pretraining (seed 001 eq. 7)
            pre_cfg["method"]["adversary"] = {"norm": "Linf", "eps": EPS, "steps": 5}
        (pre / "config.json").write_text(json.dumps(pre_cfg))
        for protocol, nums in protocols.items():
            name = f"{method}_{protocol}"
            eps = EPS if protocol == "alf" else None
            recs = run_records(name, method, protocol, nums)
            cfg = finetune_config(protocol, str(pre), eps)
            runs.append(write_run(study / "runs", name, recs, cfg))
    return runs


def write_diagnostic(run: Path) -> None:
    """A gradient-masking finding next to the run's other records."""
    ctx = RecordContext(model=run.name, pretraining="advcl", finetune="slf", dataset=DATASET)
    rec = ctx.record(
        "diagnostic",
        0.3,
        50,
        norm="Linf",
        eps=EPS,
        attack="black_box_beats_white_box",
        info={"severity": "warning", "message": "Square beat PGD by 3.0 pp"},
    )
    write_records(run / "evaluation" / "default" / "records.json", [rec])


def write_tsne(run: Path, n: int = 40, seed: int = 0) -> Path:
    """A ``tsne_<layer>@Linf.npz`` as the evaluation suite writes it."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(4), n // 4)
    emb = rng.normal(size=(n, 2)) + labels[:, None] * 3.0
    path = run / "evaluation" / "default" / "tsne_encoder@Linf.npz"
    np.savez(path, embedding=emb, labels=labels, adversarial=np.arange(n) % 2 == 1)
    return path
