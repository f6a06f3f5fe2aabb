"""``corruption``: SA (and RA under PGD at each threat's ε, ``corruptions.attacked``) on corrupted
test points — the ``corruptions.names`` families generated on the test subset, or CIFAR-10-C /
CIFAR-100-C read from ``corruptions.cifar_c_dir`` — per family × severity and the per-severity
means (seed 003 §4.4)."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor, nn

from robustssl.evaluation.config import EvaluateConfig
from robustssl.evaluation.corruption_eval import (
    Source,
    cifar_c_source,
    corruption_records,
    generated_source,
)
from robustssl.evaluation.metrics.registry import Metric, MetricRun, register_metric
from robustssl.evaluation.records import EvalRecord
from robustssl.evaluation.signature import model_signature


def _validate(cfg: EvaluateConfig) -> None:
    c = cfg.corruptions
    if not c.names and c.cifar_c_dir is None:
        raise ValueError(
            "metric 'corruption' needs corruptions.names (a list or 'all') or "
            "corruptions.cifar_c_dir (a CIFAR-10-C / CIFAR-100-C folder of .npy files)"
        )
    if isinstance(c.names, list) and c.names:
        from robustssl.data.cifar_c import CIFAR_C_NAMES
        from robustssl.data.corruptions import corruption_names

        known = list(CIFAR_C_NAMES if c.cifar_c_dir else corruption_names())
        unknown = [n for n in c.names if n not in known]
        if unknown:
            raise ValueError(
                f"corruptions.names: unknown {unknown}; known: {', '.join(known)} or 'all'"
            )


def _check(run: MetricRun) -> None:
    c_dir = run.cfg.corruptions.cifar_c_dir
    if c_dir is None:
        return
    if not Path(c_dir).is_dir():
        raise FileNotFoundError(
            f"corruptions.cifar_c_dir {c_dir} is not a directory; download CIFAR-10-C from "
            "https://zenodo.org/record/2535967 and point it at the folder of .npy files"
        )
    channels = model_signature(run.model)[0]
    if channels not in (None, 3):
        raise ValueError(
            f"CIFAR-10-C holds RGB 32×32 images but the model takes {channels} channel(s)"
        )


def _after(run: MetricRun) -> list[EvalRecord]:
    cfg, c = run.cfg, run.cfg.corruptions
    threats = [(n, t.eps) for n, t in cfg.threats.items()] if c.attacked else []
    if c.cifar_c_dir is None:
        source = generated_source(run.x, run.y, cfg.seed, cfg.data.batch_size)
        origin = "generated"
    else:
        source = _checked(cifar_c_source(c.cifar_c_dir, cfg.data.n, run.x.device), run.model)
        origin = "cifar_c"
    return corruption_records(
        run.model,
        source,
        cfg.corruption_list(),
        c.severities,
        ctx=run.ctx,
        threats=threats,
        params=cfg.attacks,
        batch_size=cfg.data.batch_size,
        progress=cfg.progress,
        origin=origin,
    )


def _checked(source: Source, model: nn.Module) -> Source:
    """``source`` whose labels are checked against the model's classes before use."""
    classes = model_signature(model)[1]

    def load(name: str, severity: int) -> tuple[Tensor, Tensor]:
        x, y = source(name, severity)
        if classes is not None and int(y.max()) >= classes:
            raise ValueError(
                f"the CIFAR-C labels go up to {int(y.max())} but the model predicts {classes} "
                "classes; use CIFAR-10-C for a 10-class model and CIFAR-100-C for 100"
            )
        return x, y

    return load


CORRUPTION = register_metric(
    Metric(
        key="corruption",
        records=("sa", "ra"),
        percent=("sa", "ra"),
        validate=_validate,
        check=_check,
        after=_after,
    )
)
