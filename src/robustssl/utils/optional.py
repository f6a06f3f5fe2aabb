"""Optional dependencies: imported where used, with an error naming the extra to install.

The core (data, models, objectives, attacks, evaluation) needs torch, numpy, scipy, pydantic,
pyyaml and safetensors only; the extras of pyproject.toml bring the rest:
``[train]`` (Lightning, TensorBoard, torchvision, Pillow, tqdm, scikit-learn), ``[report]``
(matplotlib, scikit-learn), ``[cluster]`` (submitit) and ``[all]``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# import name → (pip package, extra that brings it)
EXTRAS: dict[str, tuple[str, str]] = {
    "lightning": ("lightning", "train"),
    "tensorboard": ("tensorboard", "train"),
    "torchvision": ("torchvision", "train"),
    "PIL": ("pillow", "train"),
    "tqdm": ("tqdm", "train"),
    "sklearn": ("scikit-learn", "train"),
    "matplotlib": ("matplotlib", "report"),
    "submitit": ("submitit", "cluster"),
}


class MissingExtraError(ModuleNotFoundError):
    """An optional dependency is not installed; the message names the extra that brings it."""

    def __str__(self) -> str:
        return str(self.args[0])


def missing_extra_message(module: str, purpose: str, extra: str | None = None) -> str:
    """``purpose`` needs ``module``: how to install it."""
    top = module.split(".")[0]
    package, default_extra = EXTRAS.get(top, (top, "all"))
    extra = extra or default_extra
    return (
        f"{purpose} needs {package}, which is not installed; install it with "
        f"pip install 'robustssl[{extra}]' (or 'robustssl[all]' for everything)"
    )


def require(module: str, purpose: str, *, extra: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` saying which extra brings it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name is None or module.split(".")[0] != err.name.split(".")[0]:
            raise  # the module exists but one of *its* imports failed: not ours to explain
        message = missing_extra_message(module, purpose, extra)
        raise MissingExtraError(message, name=err.name) from err
