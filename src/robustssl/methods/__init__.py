"""Pretraining methods as compositions of views + encoder/heads + objective, trained by one
LightningModule (layer 5: may import data, models, objectives, attacks)."""

from robustssl.methods.adversary import AdversaryConfig, perturb
from robustssl.methods.base import MethodStep, PretrainMethod
from robustssl.methods.config import PretrainConfig
from robustssl.methods.knn import knn_accuracy, knn_predict
from robustssl.methods.module import NonFiniteLossError, PretrainModule
from robustssl.methods.pretrain import PretrainResult, pretrain
from robustssl.methods.registry import METHODS, build_method

__all__ = [
    "METHODS",
    "AdversaryConfig",
    "MethodStep",
    "NonFiniteLossError",
    "PretrainConfig",
    "PretrainMethod",
    "PretrainModule",
    "PretrainResult",
    "build_method",
    "knn_accuracy",
    "knn_predict",
    "perturb",
    "pretrain",
]
