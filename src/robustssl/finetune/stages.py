"""Backbone stages and freezing, for partial finetuning ("frozen early layers", SPEC §6).

Stages, input to output: ``small_cnn`` — block1, block2, block3 (3 stages); CIFAR ResNets — stem
(conv1 + bn1), layer1, layer2, layer3, layer4 (5 stages). A frozen module has
``requires_grad=False`` and stays in eval mode (BatchNorm statistics fixed) even while the rest
trains, through :class:`FrozenAware`.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from robustssl.models import Encoder, ResNet, SmallCNN


def backbone_stages(encoder: Encoder) -> list[tuple[str, list[nn.Module]]]:
    """(name, modules) of each stage of the encoder's backbone, input to output."""
    b = encoder.backbone
    if isinstance(b, SmallCNN):
        return [("block1", [b.block1]), ("block2", [b.block2]), ("block3", [b.block3])]
    if isinstance(b, ResNet):
        return [
            ("stem", [b.conv1, b.bn1]),
            ("layer1", [b.layer1]),
            ("layer2", [b.layer2]),
            ("layer3", [b.layer3]),
            ("layer4", [b.layer4]),
        ]
    raise ValueError(
        f"no stage definition for backbone {type(b).__name__}; partial finetuning supports "
        "small_cnn and the resnets"
    )


def check_freeze_stages(encoder: Encoder, k: int) -> None:
    """Raise unless 1 ≤ k < number of stages (k = all stages is a frozen encoder: slf / alf)."""
    names = [name for name, _ in backbone_stages(encoder)]
    if not 1 <= k < len(names):
        raise ValueError(
            f"freeze_stages={k}, but {type(encoder.backbone).__name__} has {len(names)} stages "
            f"({', '.join(names)}); use 1..{len(names) - 1}, or protocol=slf/alf to freeze all"
        )


def stage_modules(encoder: Encoder, k: int) -> list[nn.Module]:
    """The modules of the first ``k`` stages (checked)."""
    check_freeze_stages(encoder, k)
    return [m for _, modules in backbone_stages(encoder)[:k] for m in modules]


def freeze(modules: Sequence[nn.Module]) -> None:
    """No gradients and eval mode for every parameter / sub-module of ``modules``."""
    for module in modules:
        module.eval()
        for p in module.parameters():
            p.requires_grad_(False)


class FrozenAware(nn.Module):
    """``model`` whose ``train()`` keeps the ``frozen`` sub-modules in eval mode, so neither the
    training steps nor a train-mode attack touch their BatchNorm statistics."""

    def __init__(self, model: nn.Module, frozen: Sequence[nn.Module]) -> None:
        super().__init__()
        self.model = model
        self._frozen = list(frozen)  # a plain list: not registered twice

    def train(self, mode: bool = True) -> FrozenAware:
        super().train(mode)
        for module in self._frozen:
            module.eval()
        return self

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)
