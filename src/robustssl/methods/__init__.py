"""Pretraining methods as compositions of views + encoder/heads + objective, trained by one
LightningModule (layer 5: may import data, models, objectives, attacks)."""

from robustssl.utils.optional import MissingExtraError, missing_extra_message

try:
    import lightning  # noqa: F401  (training runs on Lightning: name the extra if it is missing)
except ModuleNotFoundError as err:
    message = missing_extra_message("lightning", "pretraining (robustssl.methods)")
    raise MissingExtraError(message, name=err.name) from err

from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.methods.adversary import perturb
from robustssl.methods.base import MethodStep, PretrainMethod
from robustssl.methods.config import PretrainConfig
from robustssl.methods.knn import knn_accuracy, knn_predict
from robustssl.methods.module import NonFiniteLossError, PretrainModule
from robustssl.methods.pretrain import PretrainResult, pretrain
from robustssl.methods.registry import METHODS, build_method

__all__ = [
    "METHODS",
    "MethodStep",
    "NonFiniteLossError",
    "PretrainAdversaryConfig",
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
