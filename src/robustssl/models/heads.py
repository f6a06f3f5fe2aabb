"""Heads on top of encoder features: projection, SimSiam prediction, classifiers, pretext heads.

Each head is an ``nn.Sequential`` with named layers (``fc1``, ``bn1``, ``relu1``, ``fc2``…) and
exposes ``in_dim`` and ``out_dim``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from torch import nn

from robustssl.models._checks import check_positive_int


def _mlp(
    dims: Sequence[int], hidden_bn: bool, last_bn: bool = False
) -> OrderedDict[str, nn.Module]:
    """Linear layers over ``dims``; hidden ones get [BN] + ReLU, the last one optionally a BN.

    Linear layers followed by a BN have no bias (the BN shift replaces it). The last BN is
    non-affine, as in the SimSiam projector.
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    n = len(dims) - 1
    for i in range(1, n + 1):
        is_last = i == n
        with_bn = last_bn if is_last else hidden_bn
        layers[f"fc{i}"] = nn.Linear(dims[i - 1], dims[i], bias=not with_bn)
        if with_bn:
            layers[f"bn{i}"] = nn.BatchNorm1d(dims[i], affine=not is_last)
        if not is_last:
            layers[f"relu{i}"] = nn.ReLU()
    return layers


class _Head(nn.Sequential):
    """Sequential head that records its input and output sizes."""

    def __init__(self, layers: OrderedDict[str, nn.Module], in_dim: int, out_dim: int) -> None:
        super().__init__(layers)
        self.in_dim: int = in_dim
        self.out_dim: int = out_dim


class ProjectionHead(_Head):
    """SimCLR-style MLP projector g(·) with ``num_layers`` linear layers (seed 000 §4.1, seed 002
    §3.3.2.3): hidden layers are Linear → [BN] → ReLU; ``last_bn`` adds a non-affine BN on the
    output (SimSiam / Barlow Twins projectors)."""

    def __init__(
        self,
        in_dim: int,
        hidden_dim: int = 2048,
        out_dim: int = 128,
        num_layers: int = 2,
        batch_norm: bool = True,
        last_bn: bool = False,
    ) -> None:
        dims = [
            check_positive_int(n, v)
            for n, v in (("in_dim", in_dim), ("hidden_dim", hidden_dim), ("out_dim", out_dim))
        ]
        num_layers = check_positive_int("num_layers", num_layers)
        sizes = [dims[0], *[dims[1]] * (num_layers - 1), dims[2]]
        super().__init__(_mlp(sizes, batch_norm, last_bn), in_dim, out_dim)


class PredictionHead(_Head):
    """SimSiam predictor h(·): Linear(in→hidden) → BN → ReLU → Linear(hidden→out); a bottleneck
    with hidden = out/4, i.e. 512 hidden for 2048 out as in seed 000 §4.1. ``out_dim`` defaults
    to ``in_dim``."""

    def __init__(self, in_dim: int = 2048, hidden_dim: int = 512, out_dim: int | None = None):
        in_dim = check_positive_int("in_dim", in_dim)
        hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        out = in_dim if out_dim is None else check_positive_int("out_dim", out_dim)
        super().__init__(_mlp([in_dim, hidden_dim, out], hidden_bn=True), in_dim, out)


def _check_classes(num_classes: int) -> int:
    check_positive_int("num_classes", num_classes)
    if num_classes < 2:
        raise ValueError(f"num_classes must be ≥ 2 for a classifier, got {num_classes}")
    return num_classes


class LinearClassifier(_Head):
    """Linear readout ``fc`` from features to logits (linear evaluation, seed 000 §4.2)."""

    def __init__(self, in_dim: int, num_classes: int) -> None:
        in_dim = check_positive_int("in_dim", in_dim)
        num_classes = _check_classes(num_classes)
        super().__init__(OrderedDict(fc=nn.Linear(in_dim, num_classes)), in_dim, num_classes)


class MLPClassifier(_Head):
    """Two-layer classifier fc1 → [BN] → ReLU → fc2 (seed 004 "Experiments": a 2-layer fully
    connected network with ReLU used for finetuning)."""

    def __init__(
        self, in_dim: int, num_classes: int, hidden_dim: int = 512, batch_norm: bool = False
    ) -> None:
        in_dim = check_positive_int("in_dim", in_dim)
        hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        num_classes = _check_classes(num_classes)
        super().__init__(_mlp([in_dim, hidden_dim, num_classes], batch_norm), in_dim, num_classes)


class PretextHead(_Head):
    """Self-supervised task head F^SS (seed 003 §3.1–3.2): rotation (4 classes) or jigsaw
    (J permutations). Linear when ``hidden_dim`` is None, else fc1 → ReLU → fc2."""

    def __init__(self, in_dim: int, num_classes: int, hidden_dim: int | None = None) -> None:
        in_dim = check_positive_int("in_dim", in_dim)
        num_classes = _check_classes(num_classes)
        if hidden_dim is None:
            layers: OrderedDict[str, nn.Module] = OrderedDict(fc=nn.Linear(in_dim, num_classes))
        else:
            hidden_dim = check_positive_int("hidden_dim", hidden_dim)
            layers = _mlp([in_dim, hidden_dim, num_classes], hidden_bn=False)
        super().__init__(layers, in_dim, num_classes)
