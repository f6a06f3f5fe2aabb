"""The classifier to finetune: the encoder + a fresh head for the target classes, with the parts the
protocol freezes frozen (``requires_grad=False``, eval mode)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from robustssl.finetune.config import FinetuneConfig
from robustssl.finetune.pretrained import PretrainedEncoder
from robustssl.finetune.protocols import PROTOCOLS
from robustssl.finetune.stages import FrozenAware, freeze, stage_modules
from robustssl.models import Classifier, ClassifierSpec, Encoder
from robustssl.models.checkpoint import build_head
from robustssl.utils import mix_seed

_HEAD_STREAM = 0x4EAD  # the head's initialisation seed stream


@dataclass
class FinetuneModel:
    """``classifier`` (what is saved), its ``spec``, and ``trainable``: the classifier behind
    :class:`FrozenAware`, the module the loops and attacks call."""

    classifier: Classifier
    spec: ClassifierSpec
    trainable: FrozenAware


def frozen_modules(cfg: FinetuneConfig, encoder: Encoder) -> list[nn.Module]:
    """The modules the protocol freezes: the whole encoder (slf, alf), its first ``freeze_stages``
    stages (partial) or nothing (aff, sff)."""
    kind = PROTOCOLS[cfg.protocol].encoder
    if kind == "frozen":
        return [encoder]
    if kind == "partial":
        assert cfg.freeze_stages is not None  # checked by FinetuneConfig
        return stage_modules(encoder, cfg.freeze_stages)
    return []


def build_finetune_model(
    cfg: FinetuneConfig, source: PretrainedEncoder, num_classes: int, device: torch.device
) -> FinetuneModel:
    """Encoder + new head (seeded by ``cfg.seed``) on ``device``, frozen as the protocol says."""
    spec = ClassifierSpec(
        backbone=source.backbone,
        in_channels=source.in_channels,
        mean=list(source.mean),
        std=list(source.std),
        num_classes=num_classes,
        backbone_kwargs=dict(source.backbone_kwargs),
        head=cfg.head.name,
        head_hidden_dim=cfg.head.hidden_dim,
        head_batch_norm=cfg.head.batch_norm,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(mix_seed(cfg.seed, _HEAD_STREAM))
        head = build_head(spec, source.encoder.feature_dim)
    classifier = Classifier(source.encoder, head).to(device)
    if cfg.channels_last:
        classifier = classifier.to(memory_format=torch.channels_last)
    frozen = frozen_modules(cfg, classifier.encoder)  # type: ignore[arg-type]
    freeze(frozen)
    return FinetuneModel(classifier, spec, FrozenAware(classifier, frozen))
