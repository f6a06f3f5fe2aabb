"""Models: CIFAR ResNets, a small CPU CNN, input normalisation, heads, feature extractor, dual BN.

Backbones map [0,1] images (B, C, H, W) to features (B, feature_dim); normalisation is the first
layer of :class:`Encoder`, so attacks and ε stay in pixel space. See docs/models.md.
"""

from robustssl.models.checkpoint import (
    ClassifierSpec,
    build_classifier,
    load_classifier,
    load_state_strict,
    save_classifier,
)
from robustssl.models.dual_bn import (
    DEFAULT_BRANCHES,
    MultiBatchNorm,
    bn_branch,
    convert_to_multi_bn,
    extract_bn_branch,
    set_bn_branch,
)
from robustssl.models.encoder import Classifier, Encoder
from robustssl.models.encoder_file import (
    EncoderSpec,
    describe_encoder,
    encoder_from_state,
    load_encoder,
    read_encoder_spec,
    save_encoder,
)
from robustssl.models.feature_extractor import OUTPUT_KEY, FeatureExtractor, available_layers
from robustssl.models.heads import (
    LinearClassifier,
    MLPClassifier,
    PredictionHead,
    PretextHead,
    ProjectionHead,
)
from robustssl.models.normalize import Normalize
from robustssl.models.registry import (
    BACKBONES,
    available_backbones,
    build_backbone,
    build_encoder,
)
from robustssl.models.resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50
from robustssl.models.small_cnn import SmallCNN

__all__ = [
    "BACKBONES",
    "DEFAULT_BRANCHES",
    "OUTPUT_KEY",
    "BasicBlock",
    "Bottleneck",
    "Classifier",
    "ClassifierSpec",
    "Encoder",
    "EncoderSpec",
    "FeatureExtractor",
    "LinearClassifier",
    "MLPClassifier",
    "MultiBatchNorm",
    "Normalize",
    "PredictionHead",
    "PretextHead",
    "ProjectionHead",
    "ResNet",
    "SmallCNN",
    "available_backbones",
    "available_layers",
    "bn_branch",
    "build_backbone",
    "build_classifier",
    "build_encoder",
    "convert_to_multi_bn",
    "describe_encoder",
    "encoder_from_state",
    "extract_bn_branch",
    "load_classifier",
    "load_encoder",
    "load_state_strict",
    "read_encoder_spec",
    "resnet18",
    "resnet34",
    "resnet50",
    "save_classifier",
    "save_encoder",
    "set_bn_branch",
]
