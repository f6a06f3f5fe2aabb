"""Accuracy on corrupted data, clean and under attack (seed 003 §4.4, Figure 4: Top-1 on each
CIFAR-10-C corruption, non-robust and robust).

Two sources of corrupted images:

- generated: the 15 families × 5 severities of Hendrycks & Dietterich applied to the test subset
  on its device (:func:`robustssl.data.corruptions.corrupt`, seeded per family and severity);
- files: a CIFAR-10-C / CIFAR-100-C directory in the official ``.npy`` layout
  (:func:`robustssl.data.cifar_c.load_cifar_c`), first ``n`` images of each severity.

Each (family, severity) gives an ``sa`` record and, with ``attacked``, an ``ra`` record per threat
model (PGD on the corrupted images); ``tags`` hold ``corruption`` and ``severity``, and
``corruption: "mean"`` records average over the families at each severity.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from robustssl.evaluation.config import AttackParams
from robustssl.evaluation.records import EvalRecord, RecordContext
from robustssl.evaluation.robustness import AttackRunner
from robustssl.utils import mix_seed
from robustssl.utils.progress import tqdm

Threats = Sequence[tuple[str, float]]
Source = Callable[[str, int], tuple[Tensor, Tensor]]


def corrupted(x: Tensor, name: str, severity: int, seed: int = 0, batch_size: int = 256) -> Tensor:
    """x with corruption ``name`` at ``severity`` (1–5), batch by batch, each batch seeded from
    (seed, family, severity, batch start) so the result does not depend on other families."""
    from robustssl.data.corruptions import corrupt

    family = zlib.crc32(name.encode())
    return torch.cat(
        [
            corrupt(xb, name, severity, seed=mix_seed(seed, family, severity, start))
            for start, xb in zip(range(0, len(x), batch_size), x.split(batch_size), strict=True)
        ]
    )


def corruption_records(
    model: nn.Module,
    source: Source,
    names: Sequence[str],
    severities: Sequence[int],
    ctx: RecordContext,
    threats: Threats = (),
    params: AttackParams | None = None,
    batch_size: int = 256,
    progress: bool = True,
    origin: str = "generated",
) -> list[EvalRecord]:
    """SA (and RA under PGD at each (norm, ε) in ``threats``) on ``source(name, severity)`` ->
    (x, y) for every family × severity, plus per-severity means over the families."""
    grid = [(name, s) for name in names for s in severities]
    records: list[EvalRecord] = []
    for name, severity in tqdm(grid, desc="corruptions", disable=not progress, leave=False):
        x, y = source(name, severity)
        runner = AttackRunner(model, x, y, params, ctx.seed, batch_size, progress=False)
        tags = {"corruption": name, "severity": severity, "source": origin}
        records.append(ctx.record("sa", runner.accuracy(), runner.n, tags=tags))
        records += [
            ctx.record(
                "ra",
                runner.accuracy("pgd", norm, eps),
                runner.n,
                norm=norm,
                eps=eps,
                attack="pgd",
                attack_config=runner.attack_config("pgd", norm, eps),
                tags=tags,
            )
            for norm, eps in threats
        ]
    return records + _means(records, severities, ctx, origin)


def _means(
    records: list[EvalRecord], severities: Sequence[int], ctx: RecordContext, origin: str
) -> list[EvalRecord]:
    groups: dict[tuple, list[EvalRecord]] = {}
    for r in records:
        groups.setdefault((r.metric, r.norm, r.eps, r.attack, r.tags["severity"]), []).append(r)
    out = []
    for (metric, norm, eps, attack, severity), rs in groups.items():
        tags = {"corruption": "mean", "severity": severity, "source": origin}
        value = sum(r.value for r in rs) / len(rs)
        info = {"families": [r.tags["corruption"] for r in rs]}
        out.append(
            ctx.record(
                metric,
                value,
                sum(r.n for r in rs),
                norm=norm,
                eps=eps,
                attack=attack,
                attack_config=rs[0].attack_config,
                tags=tags,
                info=info,
            )
        )
    return sorted(out, key=lambda r: (severities.index(r.tags["severity"]), r.metric))


def generated_source(x: Tensor, y: Tensor, seed: int = 0, batch_size: int = 256) -> Source:
    """(name, severity) -> (corrupted x, y) from the generators on x's device."""
    return lambda name, severity: (corrupted(x, name, severity, seed, batch_size), y)


def cifar_c_source(
    root: str | Path, n: int | None = None, device: str | torch.device = "cpu"
) -> Source:
    """(name, severity) -> the first ``n`` images of that severity from a CIFAR-10-C directory."""
    from robustssl.data.cifar_c import load_cifar_c

    def load(name: str, severity: int) -> tuple[Tensor, Tensor]:
        data = load_cifar_c(root, name, severity, device=device)
        count = len(data) if n is None else min(n, len(data))
        return data.get_batch(torch.arange(count))

    return load
