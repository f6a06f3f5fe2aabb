"""An encoder in one self-describing file: ``encoder.safetensors`` holds the weights and, in its
JSON header, the :class:`EncoderSpec` that rebuilds the module, so :func:`load_encoder` needs no
run directory (issue 18).

The header is safetensors' ``__metadata__`` entry ``"robustssl"`` (robustssl.utils.checkpoint):
``{"encoder_spec": {...}, "config": <the pretraining config>, "metrics": {...}}``. Files written
before the spec existed carry only ``config``; their spec is rebuilt from ``config.model`` and the
``normalize.mean/std`` buffers of the weights. Loading is strict (every key, every shape) and never
unpickles anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from robustssl.models.checkpoint import load_state_strict
from robustssl.models.encoder import Encoder
from robustssl.models.registry import build_encoder
from robustssl.runs.layout import ENCODER
from robustssl.utils.checkpoint import (
    load_weights,
    load_weights_metadata,
    non_finite_keys,
    save_weights,
)

SPEC_KEY = "encoder_spec"
FORMAT = "robustssl.encoder"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class EncoderSpec:
    """Everything that rebuilds an :class:`Encoder` (``Normalize(mean, std)`` + backbone) before
    its weights are loaded, and where it came from: ``input_size`` (H, W) it was trained on,
    the training ``dataset`` and pretraining ``method`` (None when unknown)."""

    backbone: str
    in_channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    feature_dim: int
    backbone_kwargs: Mapping[str, Any] = field(default_factory=dict)
    input_size: tuple[int, int] | None = None
    dataset: str | None = None
    method: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "backbone": self.backbone,
            "backbone_kwargs": dict(self.backbone_kwargs),
            "in_channels": self.in_channels,
            "mean": list(self.mean),
            "std": list(self.std),
            "feature_dim": self.feature_dim,
            "input_size": list(self.input_size) if self.input_size else None,
            "dataset": self.dataset,
            "method": self.method,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], source: str = "the file") -> EncoderSpec:
        raw = dict(raw)
        if raw.pop("format", FORMAT) != FORMAT:
            raise ValueError(f"{source}: the encoder spec is not a {FORMAT!r} spec")
        version = raw.pop("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{source} has encoder spec version {version!r}; this robustssl reads version "
                f"{FORMAT_VERSION} (a newer robustssl wrote it: upgrade)"
            )
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        missing = sorted({"backbone", "in_channels", "mean", "std", "feature_dim"} - set(raw))
        if unknown or missing:
            raise ValueError(
                f"{source}: encoder spec with unknown fields {unknown} / missing {missing}"
            )
        try:
            size = raw.get("input_size")
            return cls(
                **{
                    **raw,
                    "in_channels": int(raw["in_channels"]),
                    "feature_dim": int(raw["feature_dim"]),
                    "mean": tuple(float(v) for v in raw["mean"]),
                    "std": tuple(float(v) for v in raw["std"]),
                    "backbone_kwargs": dict(raw.get("backbone_kwargs") or {}),
                    "input_size": (int(size[0]), int(size[1])) if size else None,
                }
            )
        except (TypeError, ValueError, IndexError) as err:
            raise ValueError(
                f"{source}: the encoder spec in its header is damaged ({err}); re-export it "
                "with robustssl.models.save_encoder"
            ) from None


def describe_encoder(
    encoder: torch.nn.Module,
    backbone: str,
    backbone_kwargs: Mapping[str, Any] | None = None,
    *,
    input_size: Sequence[int] | None = None,
    dataset: str | None = None,
    method: str | None = None,
) -> EncoderSpec:
    """The spec of a built ``encoder`` (normalisation read from its buffers)."""
    if not isinstance(encoder, Encoder):
        raise TypeError(
            f"describe_encoder needs a robustssl.models.Encoder (Normalize + backbone), got "
            f"{type(encoder).__name__}"
        )
    norm = encoder.normalize
    return EncoderSpec(
        backbone=backbone,
        in_channels=encoder.in_channels,
        mean=tuple(float(v) for v in norm.mean.flatten().tolist()),
        std=tuple(float(v) for v in norm.std.flatten().tolist()),
        feature_dim=int(encoder.feature_dim),
        backbone_kwargs=dict(backbone_kwargs or {}),
        input_size=(int(input_size[-2]), int(input_size[-1])) if input_size else None,
        dataset=dataset,
        method=method,
    )


def save_encoder(
    encoder: torch.nn.Module,
    spec: EncoderSpec,
    path: str | Path,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """``encoder``'s weights to ``path`` (.safetensors, atomically) with ``spec`` and
    ``metadata`` (e.g. the pretraining config) in the header."""
    save_weights(encoder, Path(path), {**(metadata or {}), SPEC_KEY: spec.to_json()})


def _from_config(
    config: Mapping[str, Any], state: Mapping[str, torch.Tensor], source: str
) -> tuple[EncoderSpec, Encoder]:
    """The spec (and the untrained encoder) of a file written before specs existed:
    ``config.model`` + the normalisation buffers of ``state``."""
    model = config.get("model") or {}
    if "backbone" not in model:
        raise ValueError(
            f"{source} does not say how to build its encoder (no encoder spec, no "
            "config.model.backbone in its header): it was not written by robustssl pretrain; "
            "write it with robustssl.models.save_encoder(encoder, describe_encoder(encoder, "
            "backbone, kwargs), path)"
        )
    if "normalize.mean" not in state or "normalize.std" not in state:
        raise ValueError(
            f"{source} has no normalize.mean/std: it is not an Encoder state dict "
            "(robustssl.models.Encoder, saved by robustssl pretrain)"
        )
    mean = tuple(float(v) for v in state["normalize.mean"].flatten().tolist())
    std = tuple(float(v) for v in state["normalize.std"].flatten().tolist())
    kwargs = dict(model.get("backbone_kwargs") or {})
    encoder = build_encoder(model["backbone"], len(mean), mean, std, **kwargs)
    views = (config.get("method") or {}).get("views") or {}
    size = views.get("size")
    spec = describe_encoder(
        encoder,
        model["backbone"],
        kwargs,
        input_size=(size, size) if size else None,
        dataset=(config.get("data") or {}).get("dataset"),
        method=(config.get("method") or {}).get("name"),
    )
    return spec, encoder


def read_encoder_spec(
    path: str | Path, state: Mapping[str, torch.Tensor] | None = None
) -> EncoderSpec:
    """The :class:`EncoderSpec` of an encoder file (rebuilt from its ``config`` for files
    written before specs existed; ``state`` saves reading the weights again)."""
    path = Path(path)
    meta = load_weights_metadata(path) or {}
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: its robustssl header is not a JSON object; re-export the file")
    if SPEC_KEY in meta:
        return EncoderSpec.from_json(meta[SPEC_KEY], str(path))
    if state is None:
        state = load_weights(path, "cpu")
    return _from_config(meta.get("config") or {}, state, str(path))[0]


def build_from_spec(spec: EncoderSpec) -> Encoder:
    """An untrained :class:`Encoder` with the architecture ``spec`` describes."""
    encoder = build_encoder(
        spec.backbone, spec.in_channels, spec.mean, spec.std, **dict(spec.backbone_kwargs)
    )
    if encoder.feature_dim != spec.feature_dim:
        raise ValueError(
            f"the encoder spec says feature_dim={spec.feature_dim} but {spec.backbone} with "
            f"{dict(spec.backbone_kwargs)} gives {encoder.feature_dim}"
        )
    return encoder


def encoder_from_state(
    backbone: str,
    backbone_kwargs: Mapping[str, Any],
    state: Mapping[str, torch.Tensor],
    source: str,
) -> Encoder:
    """The :class:`Encoder` of ``backbone`` whose normalisation comes from ``state``'s
    ``normalize.mean/std``, strictly loaded from ``state`` (errors name the keys)."""
    config = {"model": {"backbone": backbone, "backbone_kwargs": dict(backbone_kwargs)}}
    encoder = _from_config(config, state, source)[1]
    load_state_strict(encoder, state, source)
    return encoder


def load_encoder(path: str | Path, device: str | torch.device = "cpu") -> Encoder:
    """The encoder of one ``encoder.safetensors`` (``robustssl pretrain`` writes it into the run
    directory; nothing else of the run is needed; a run directory stands for its file), strictly
    loaded, in eval mode on ``device``.

    Maps images in [0, 1] of shape (B, C, H, W) to features (B, feature_dim); its spec (backbone,
    normalisation, training input size, dataset, method): :func:`read_encoder_spec`.
    """
    path = Path(path)
    if path.is_dir():  # a pretraining run directory: its encoder file
        if not (path / ENCODER).is_file():
            raise FileNotFoundError(
                f"{path} holds no {ENCODER}: pass a finished pretraining run directory or the "
                "encoder file itself"
            )
        path = path / ENCODER
    if not path.is_file():
        raise FileNotFoundError(
            f"no encoder file at {path}; `robustssl pretrain` writes <run dir>/{ENCODER}, "
            "robustssl.models.save_encoder any other"
        )
    state = load_weights(path, "cpu")
    spec = read_encoder_spec(path, state)
    if bad := non_finite_keys(state):
        raise ValueError(
            f"{path} holds NaN or infinite weights ({', '.join(bad[:3])}): the run that wrote it "
            "diverged or the file is damaged"
        )
    encoder = build_from_spec(spec)
    load_state_strict(encoder, state, str(path))
    return encoder.to(device).eval()
