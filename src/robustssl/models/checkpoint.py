"""Classifiers saved as safetensors + a JSON spec, and strict state-dict loading.

Loading is strict: a missing or unexpected key is an error naming the keys (the public AdvCL code
silently loads 0 of 130 tensors with ``strict=False``; ../shared/REFERENCE_FACTS.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from robustssl.models.encoder import Classifier
from robustssl.models.heads import LinearClassifier, MLPClassifier
from robustssl.models.registry import build_encoder
from robustssl.utils.checkpoint import load_weights, load_weights_metadata, save_weights

SPEC_KEY = "classifier_spec"


@dataclass(frozen=True)
class ClassifierSpec:
    """Everything needed to rebuild a :class:`Classifier` before loading its weights."""

    backbone: str
    in_channels: int
    mean: Sequence[float]
    std: Sequence[float]
    num_classes: int
    backbone_kwargs: Mapping[str, Any] = field(default_factory=dict)
    head: Literal["linear", "mlp"] = "linear"
    head_hidden_dim: int = 512
    head_batch_norm: bool = False

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        d["backbone_kwargs"] = dict(self.backbone_kwargs)
        return d

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ClassifierSpec:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(
                f"classifier spec has unknown fields {unknown}; known: {sorted(known)}"
            )
        return cls(**raw)


def build_head(spec: ClassifierSpec, feature_dim: int) -> nn.Module:
    if spec.head == "linear":
        return LinearClassifier(feature_dim, spec.num_classes)
    if spec.head == "mlp":
        return MLPClassifier(
            feature_dim, spec.num_classes, spec.head_hidden_dim, spec.head_batch_norm
        )
    raise ValueError(f"unknown head {spec.head!r}; use 'linear' or 'mlp'")


def build_classifier(spec: ClassifierSpec) -> Classifier:
    """An untrained :class:`Classifier` with the architecture ``spec`` describes."""
    encoder = build_encoder(
        spec.backbone, spec.in_channels, spec.mean, spec.std, **dict(spec.backbone_kwargs)
    )
    return Classifier(encoder, build_head(spec, encoder.feature_dim))


def load_state_strict(module: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """``load_state_dict`` that names missing / unexpected / mis-shaped keys in its error."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(
        f"{k}: {tuple(state[k].shape)} in file vs {tuple(v.shape)} in model"
        for k, v in own.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    )
    if missing or unexpected or shapes:
        parts = [
            f"missing keys {missing[:8]}{' …' if len(missing) > 8 else ''}" if missing else "",
            f"unexpected keys {unexpected[:8]}{' …' if len(unexpected) > 8 else ''}"
            if unexpected
            else "",
            f"shape mismatches {shapes[:4]}" if shapes else "",
        ]
        raise ValueError(
            f"weights in {source} do not match the model ("
            + "; ".join(p for p in parts if p)
            + "); check the backbone, its options and the number of classes"
        )
    module.load_state_dict(state, strict=True)


def save_classifier(
    model: Classifier, spec: ClassifierSpec, path: Path, metadata: Mapping[str, Any] | None = None
) -> None:
    """Weights to ``path`` (.safetensors) with the spec and ``metadata`` in its JSON header."""
    save_weights(model, Path(path), {**(metadata or {}), SPEC_KEY: spec.to_json()})


def load_classifier(
    path: Path, device: str | torch.device = "cpu"
) -> tuple[Classifier, ClassifierSpec, dict[str, Any]]:
    """(model in eval mode, its spec, the file's metadata) from :func:`save_classifier` output."""
    path = Path(path)
    state = load_weights(path, device)
    meta = load_weights_metadata(path) or {}
    if SPEC_KEY not in meta:
        raise ValueError(
            f"{path} holds no classifier spec; it was not written by save_classifier "
            "(a pretraining run's encoder.safetensors needs `robustssl finetune` first)"
        )
    spec = ClassifierSpec.from_json(meta[SPEC_KEY])
    model = build_classifier(spec).to(device)
    load_state_strict(model, state, str(path))
    return model.eval(), spec, meta
