"""Finetuning protocols (layer 5: may import data, models, objectives, attacks, methods).

SLF / ALF / AFF (seed 001 §3, §5), SFF, partial (first k stages frozen), linear or 2-layer MLP head
(seed 004), readout trained with APGD-CE-10 (seed 000 §4.3), label fractions, cross-dataset
transfer with resizing and channel conversion, cached features for SLF, cross-entropy or TRADES
training (ACL's AFF), epoch selection (last / best_test / best_val). See docs/finetuning.md.
"""

from robustssl.attacks.adversary import AdversaryConfig
from robustssl.finetune.config import (
    AugmentationConfig,
    FinetuneConfig,
    FinetuneDataConfig,
    FinetuneOptimConfig,
    HeadConfig,
    LossConfig,
    SelectionConfig,
)
from robustssl.finetune.pretrained import PretrainedEncoder, load_pretrained_encoder
from robustssl.finetune.protocols import PROTOCOLS, Protocol, get_protocol
from robustssl.finetune.run import FinetuneResult, finetune
from robustssl.finetune.stages import backbone_stages
from robustssl.runs.layout import CLASSIFIER as CLASSIFIER_FILE

__all__ = [
    "CLASSIFIER_FILE",
    "PROTOCOLS",
    "AdversaryConfig",
    "AugmentationConfig",
    "FinetuneConfig",
    "FinetuneDataConfig",
    "FinetuneOptimConfig",
    "FinetuneResult",
    "HeadConfig",
    "LossConfig",
    "PretrainedEncoder",
    "Protocol",
    "SelectionConfig",
    "backbone_stages",
    "finetune",
    "get_protocol",
    "load_pretrained_encoder",
]
