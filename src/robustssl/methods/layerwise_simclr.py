"""Layer-wise contrastive loss (seed 004 eq. 4) and its Tikhonov-regularised form (eq. 5).

Features of named encoder layers (forward hooks, :class:`FeatureExtractor`) are average-pooled
over their spatial dimensions, projected by one MLP per layer and compared across views with
NT-Xent: L = Σ_k α_k·L_k (eq. 4); with β_k > 0 the penalty β_k·R_k is added, R_k being eq. 3's
per-view input-gradient norms of L_k (eq. 5; seed 004 Figure 1).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, field_validator
from torch import Tensor, nn

from robustssl.data.views import SimCLRViewConfig, SimCLRViews
from robustssl.methods.base import MethodStep, PretrainMethod
from robustssl.methods.common import MethodConfigBase, ProjectionConfig
from robustssl.methods.distributed import gather_with_grad, require_single_process
from robustssl.models import OUTPUT_KEY, FeatureExtractor, ProjectionHead
from robustssl.objectives import multiview_ntxent_loss
from robustssl.objectives.tikhonov import contrastive_penalty
from robustssl.utils.config import StrictConfig


class LayerLoss(StrictConfig):
    """One term of the layer-wise contrastive loss (seed 004 eq. 4–5): the encoder submodule
    ``layer`` (dotted name, or ``"output"`` for the encoder's features), its weight α_k in
    Σ α_k·L_k and its Tikhonov weight β_k in Σ β_k·R_k (eq. 5 has no ½, unlike eq. 3's λ/2)."""

    layer: str = Field(min_length=1)
    alpha: float = Field(1.0, ge=0)
    beta: float = Field(0.0, ge=0)


class LayerwiseSimCLRConfig(MethodConfigBase):
    """NT-Xent on pooled, per-layer projected features of several encoder layers, weighted
    (seed 004 eq. 4) and optionally Tikhonov-regularised per layer (eq. 5)."""

    name: Literal["layerwise_simclr"] = "layerwise_simclr"
    temperature: float = Field(0.5, gt=0)
    n_views: int = Field(2, ge=2)
    layers: list[LayerLoss] = Field(
        default_factory=lambda: [LayerLoss(layer="output")], min_length=1
    )
    projection: ProjectionConfig = ProjectionConfig()
    views: SimCLRViewConfig = SimCLRViewConfig()

    @field_validator("layers")
    @classmethod
    def _distinct_layers(cls, layers: list[LayerLoss]) -> list[LayerLoss]:
        names = [term.layer for term in layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layers lists a layer twice: {names}; give each layer once")
        if not any(term.alpha > 0 or term.beta > 0 for term in layers):
            raise ValueError("every layer has alpha 0 and beta 0; give one a positive alpha")
        return layers


_PROBE_SIZE = 32  # spatial size of the dry run that measures each layer's channel count


def pool(h: Tensor) -> Tensor:
    """(B, C, …) → (B, C): average over every dimension after the channels."""
    return h.flatten(2).mean(2) if h.dim() > 2 else h


def layer_outputs(encoder: nn.Module, layers: list[str], x: Tensor) -> dict[str, Tensor]:
    """``{layer: output}`` of one encoder forward (``"output"`` = the encoder's features)."""
    hooked = [name for name in layers if name != OUTPUT_KEY]
    if not hooked:  # (an extractor without hooks counts as closed)
        return {OUTPUT_KEY: encoder(x)}
    with FeatureExtractor(encoder, hooked, include_output=True) as fx:
        return fx(x)


def layer_dims(encoder: nn.Module, layers: list[str]) -> dict[str, int]:
    """Pooled feature size of each layer (``"output"`` = the encoder's features), from one
    no-grad eval-mode forward of a zero image (running statistics untouched)."""
    in_channels = getattr(encoder, "in_channels", None)
    if not isinstance(in_channels, int):
        raise ValueError("layerwise_simclr needs a robustssl Encoder (with in_channels)")
    was_training = encoder.training
    encoder.eval()
    try:
        param = next(encoder.parameters())
        probe = torch.zeros(2, in_channels, _PROBE_SIZE, _PROBE_SIZE, device=param.device)
        with torch.no_grad():
            outs = layer_outputs(encoder, layers, probe)
    finally:
        encoder.train(was_training)
    bad = [name for name, out in outs.items() if not isinstance(out, Tensor) or out.dim() < 2]
    if bad:
        raise ValueError(f"layers {bad} do not output (B, C, …) tensors; pick other layers")
    return {name: int(outs[name].shape[1]) for name in layers}


class LayerwiseSimCLR(PretrainMethod):
    """SimCLR views; one projector and one NT-Xent term per configured layer."""

    config_class = LayerwiseSimCLRConfig

    def __init__(self, encoder: nn.Module, cfg: LayerwiseSimCLRConfig) -> None:
        super().__init__(encoder)
        self.cfg = cfg
        self.views = SimCLRViews(cfg.views)
        self.layer_names = [term.layer for term in cfg.layers]
        dims = layer_dims(encoder, self.layer_names)
        proj = cfg.projection
        self.projectors = nn.ModuleList(
            ProjectionHead(
                dims[name], proj.hidden_dim, proj.out_dim, proj.num_layers, proj.batch_norm
            )
            for name in self.layer_names
        )

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        n = self.cfg.n_views
        views = self.views.views(x, n_views=n, generator=generator)
        if any(term.beta > 0 for term in self.cfg.layers):
            require_single_process("layer-wise Tikhonov (a layer with beta > 0)")
            views = [v.detach().requires_grad_(True) for v in views]
        feats = layer_outputs(self.encoder, self.layer_names, torch.cat(views))
        loss = x.new_zeros(())
        logs: dict[str, Tensor] = {}
        for term, projector in zip(self.cfg.layers, self.projectors, strict=True):
            z = projector(pool(feats[term.layer])).chunk(n)
            layer_loss = multiview_ntxent_loss(
                [gather_with_grad(v) for v in z], self.cfg.temperature
            )
            loss = loss + term.alpha * layer_loss
            logs[f"loss/{term.layer}"] = layer_loss.detach()
            if term.beta > 0:  # eq. 5
                penalty = contrastive_penalty(layer_loss, views)
                loss = loss + term.beta * penalty
                logs[f"tikhonov/{term.layer}"] = penalty.detach()
        return MethodStep(loss, feats[OUTPUT_KEY][: x.shape[0]], y, logs)
