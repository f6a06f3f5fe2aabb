"""Representation analysis: how far attacks move features, t-SNE of layers, local Lipschitz.

- ‖f(x_adv) − f(x)‖₂ per test point, summarised by mean / std / median (seed 000 §4.3, Tables
  2–3: the 512-d ResNet encoding before and after APGD-CE at 8/255); f is the classifier's
  encoder or any named layer (flattened).
- Features of any named layer through :class:`robustssl.models.FeatureExtractor` and a 2-d t-SNE
  of them (seed 002 §5.3–5.4, perplexity 35–50).
- An empirical local Lipschitz estimate: max over a small ball of ‖f(x') − f(x)‖₂ / ‖x' − x‖,
  found by projected gradient ascent on that ratio (a lower bound on the true local constant;
  seed 000 §4.3 notes that the norm change is only as good as such estimates).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from robustssl.attacks import ThreatModel, attack_mode, canonical_norm
from robustssl.evaluation.records import EvalRecord, RecordContext
from robustssl.evaluation.robustness import AttackRunner
from robustssl.models import FeatureExtractor
from robustssl.utils import make_generator, mix_seed
from robustssl.utils.optional import require

FeatureFn = Callable[[Tensor], Tensor]

FEATURE_DIFF = "feature_diff_"
FEATURE_DIFF_STATS = ("mean", "std", "median", "max")


def encoder_of(model: nn.Module) -> nn.Module:
    """The classifier's ``encoder`` (the representation f), or the model itself."""
    encoder = getattr(model, "encoder", None)
    return encoder if isinstance(encoder, nn.Module) else model


def layer_features(
    model: nn.Module, x: Tensor, layers: Sequence[str], batch_size: int = 256
) -> dict[str, Tensor]:
    """{layer: (n, d) flattened activations} of the named submodules on x, in eval mode."""
    extractor = FeatureExtractor(model, layers, detach=True)
    with extractor, attack_mode(model, "eval"), torch.no_grad():
        parts = [extractor(c) for c in x.split(batch_size)]
    return {name: torch.cat([p[name].flatten(1) for p in parts]) for name in layers}


def feature_fn(model: nn.Module, layer: str | None = None) -> FeatureFn:
    """f(x) (B, d): the encoder output (``layer`` None) or a named layer, flattened; hooks are
    kept only for the duration of each call."""
    if layer is None:
        encoder = encoder_of(model)
        return lambda x: encoder(x).flatten(1)

    def features(x: Tensor) -> Tensor:
        with FeatureExtractor(model, [layer]) as extractor:
            return extractor(x)[layer].flatten(1)

    return features


def feature_difference(
    model: nn.Module, x: Tensor, x_adv: Tensor, layer: str | None = None, batch_size: int = 256
) -> Tensor:
    """(n,) ‖f(x_adv) − f(x)‖₂ with f the encoder or a named layer (seed 000 Tables 2–3)."""
    if x.shape != x_adv.shape:
        raise ValueError(f"x {tuple(x.shape)} and x_adv {tuple(x_adv.shape)} differ in shape")
    f = feature_fn(model, layer)
    out = []
    with attack_mode(model, "eval"), torch.no_grad():
        for a, b in zip(x.split(batch_size), x_adv.split(batch_size), strict=True):
            out.append((f(b) - f(a)).norm(dim=1))
    return torch.cat(out)


def summarize(values: Tensor) -> dict[str, float]:
    """mean, std (unbiased; 0 for one value), median, max and min of a 1-d tensor."""
    v = values.detach().double().flatten()
    if v.numel() == 0:
        raise ValueError("nothing to summarise: the tensor is empty")
    std = float(v.std()) if v.numel() > 1 else 0.0
    return {
        "mean": float(v.mean()),
        "std": std,
        "median": float(v.median()),
        "max": float(v.max()),
        "min": float(v.min()),
    }


def tsne(
    features: Tensor | np.ndarray, perplexity: float = 40.0, seed: int = 0, max_iter: int = 1000
) -> np.ndarray:
    """A 2-d t-SNE embedding (n, 2) of (n, d) features with sklearn.manifold.TSNE (seed 002
    §5.4 uses perplexity 35 with 1500 iterations and 50 with 2500)."""
    data = features.detach().cpu().double().numpy() if isinstance(features, Tensor) else features
    data = np.asarray(data, dtype=np.float64).reshape(len(data), -1)
    if not 0 < perplexity < len(data):
        raise ValueError(
            f"perplexity must be in (0, n) = (0, {len(data)}), got {perplexity}; use more points "
            "or a smaller perplexity (seed 002: 35–50 on thousands of points)"
        )
    manifold = require("sklearn.manifold", "t-SNE (leave out tsne_layers)", extra="report")
    embed = manifold.TSNE(
        2, perplexity=perplexity, random_state=seed, max_iter=max_iter, init="pca"
    )
    return embed.fit_transform(data)


def local_lipschitz(
    model: nn.Module,
    x: Tensor,
    radius: float,
    norm: str = "L2",
    steps: int = 20,
    restarts: int = 1,
    seed: int = 0,
    batch_size: int = 256,
    layer: str | None = None,
) -> Tensor:
    """(n,) the largest ratio ‖f(x') − f(x)‖₂ / ‖x' − x‖ found in the ``norm`` ball of
    ``radius`` around each x (∩ [0,1]), f the encoder of ``model`` (or ``layer``). Projected
    steepest ascent on the ratio from a random start (``restarts`` times), step size radius/2
    decaying with a cosine; the best ratio seen (starts included) is kept, so the result is a
    lower bound on the local constant. The model runs in eval mode."""
    if steps < 1 or restarts < 1 or not radius > 0:
        raise ValueError(
            f"need steps ≥ 1, restarts ≥ 1 and radius > 0, got {steps}, {restarts}, {radius}"
        )
    threat = ThreatModel(canonical_norm(norm), radius)
    f = feature_fn(model, layer)
    out = []
    with attack_mode(model, "eval"):
        for i, xb in enumerate(x.detach().split(batch_size)):
            gen = make_generator(mix_seed(seed, i))
            out.append(_lipschitz_batch(f, xb, threat, steps, restarts, gen))
    return torch.cat(out)


def _ratio(f: FeatureFn, x_p: Tensor, x: Tensor, fx: Tensor, norm: str) -> Tensor:
    delta = (x_p - x).flatten(1)
    d = delta.abs().amax(1) if norm == "Linf" else delta.norm(dim=1)
    return (f(x_p).flatten(1) - fx).norm(dim=1) / d.clamp_min(1e-12)


def _lipschitz_batch(
    f: FeatureFn,
    x: Tensor,
    threat: ThreatModel,
    steps: int,
    restarts: int,
    gen: torch.Generator,
) -> Tensor:
    with torch.no_grad():
        fx = f(x).flatten(1)
    best = torch.zeros(len(x), dtype=fx.dtype, device=x.device)
    for _ in range(restarts):
        x_p = threat.random_start(x, gen)
        for k in range(steps + 1):
            x_p = x_p.detach().requires_grad_(True)
            with torch.enable_grad():
                ratio = _ratio(f, x_p, x, fx, threat.norm)
                (grad,) = torch.autograd.grad(ratio.sum(), x_p)
            best = torch.maximum(best, ratio.detach())
            if k == steps:
                break
            step = 0.5 * threat.eps * 0.5 * (1 + math.cos(math.pi * k / steps))
            x_p = threat.project(x_p.detach() + threat.ascent(grad, step), x)
    return best


def representation_records(
    runner: AttackRunner,
    ctx: RecordContext,
    norm: str,
    eps: float,
    attack: str = "pgd",
    layers: Sequence[str] = (),
) -> list[EvalRecord]:
    """feature_diff_{mean,std,median,max} of the encoder (and each named layer) between x and
    x_adv of ``attack`` on the classifier at (norm, ε) (seed 000 Tables 2–3)."""
    x_adv = runner.x_adv(attack, norm, eps)
    config = runner.attack_config(attack, norm, eps)
    records = []
    for layer in (None, *layers):
        diff = feature_difference(runner.model, runner.x, x_adv, layer, runner.batch_size)
        stats = summarize(diff)
        records += [
            ctx.record(
                f"{FEATURE_DIFF}{stat}",
                stats[stat],
                runner.n,
                norm=norm,
                eps=eps,
                attack=attack,
                attack_config=config,
                tags={"layer": layer or "encoder"},
            )
            for stat in FEATURE_DIFF_STATS
        ]
    return records


def lipschitz_records(
    model: nn.Module,
    x: Tensor,
    ctx: RecordContext,
    radius: float,
    norm: str = "L2",
    steps: int = 20,
    restarts: int = 1,
    batch_size: int = 256,
) -> list[EvalRecord]:
    """lipschitz_mean / lipschitz_max of the encoder's local estimates over x (ε = radius)."""
    values = local_lipschitz(
        model,
        x,
        radius,
        norm=norm,
        steps=steps,
        restarts=restarts,
        seed=ctx.seed,
        batch_size=batch_size,
    )
    stats = summarize(values)
    info = {"steps": steps, "restarts": restarts}
    config = {"name": "lipschitz_ascent", "steps": steps, "restarts": restarts}
    return [
        ctx.record(
            f"lipschitz_{stat}",
            stats[stat],
            len(x),
            norm=norm,
            eps=radius,
            attack_config={**config, "batch_size": batch_size},
            tags={"layer": "encoder"},
            info=info,
        )
        for stat in ("mean", "max")
    ]


def tsne_embeddings(
    runner: AttackRunner,
    layers: Sequence[str],
    norm: str,
    eps: float,
    attack: str = "pgd",
    n: int = 500,
    perplexity: float = 40.0,
) -> dict[str, dict[str, np.ndarray]]:
    """{layer: {"embedding" (2m, 2), "labels" (2m,), "adversarial" (2m,) bool}}: one t-SNE of
    the clean and the attacked features of the first ``n`` points together (seed 002 Fig. 5.7)."""
    m = min(n, runner.n)
    x, x_adv = runner.x[:m], runner.x_adv(attack, norm, eps)[:m]
    labels = runner.y[:m].cpu().numpy()
    out = {}
    for layer in layers:
        both = layer_features(runner.model, torch.cat([x, x_adv]), [layer], runner.batch_size)
        out[layer] = {
            "embedding": tsne(both[layer], perplexity, runner.seed),
            "labels": np.concatenate([labels, labels]),
            "adversarial": np.repeat([False, True], m),
        }
    return out
