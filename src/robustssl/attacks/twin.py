"""A faster twin of a model for attacking it in eval mode: the same function, computed with each
eval-mode BatchNorm folded into the convolution that feeds it and the weights in channels-last
layout (oneDNN's fast path on CPU, tensor cores on GPU).

The model itself is never changed: the twin is a deep copy. Which BatchNorm follows which
convolution is read from one forward pass (a BN whose input *is* a conv's output tensor), and
the twin is only used when its logits equal the model's on the example batch; otherwise the
attack falls back to the model. Attacks that verify their breaks (AutoAttack) do so on the model.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _conv_bn_pairs(model: nn.Module, example: Tensor) -> list[tuple[str, str]]:
    """(conv name, BN name) where the BN's input is the conv's output in a forward of
    ``example``; modules called more than once are left out."""
    outputs: dict[int, str] = {}
    pairs: list[tuple[str, str]] = []
    calls: dict[str, int] = {}

    def conv_hook(name: str):
        def hook(_m: nn.Module, _i: tuple, out: Tensor) -> None:
            calls[name] = calls.get(name, 0) + 1
            outputs[id(out)] = name
            keep.append(out)

        return hook

    def bn_hook(name: str):
        def hook(_m: nn.Module, inputs: tuple) -> None:
            calls[name] = calls.get(name, 0) + 1
            if inputs and id(inputs[0]) in outputs:
                pairs.append((outputs[id(inputs[0])], name))

        return hook

    keep: list[Tensor] = []  # holds conv outputs alive so their ids stay unique
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, _CONV):
            handles.append(module.register_forward_hook(conv_hook(name)))
        elif isinstance(module, _BN) and module.track_running_stats:
            handles.append(module.register_forward_pre_hook(bn_hook(name)))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    return [(c, b) for c, b in pairs if calls[c] == 1 and calls[b] == 1]


def _fold(conv: nn.Module, bn: nn.Module) -> None:
    """conv ← BN ∘ conv with the BN's running statistics (eval mode)."""
    if not isinstance(conv, _CONV) or not isinstance(bn, _BN):
        raise TypeError(f"cannot fold {type(bn).__name__} into {type(conv).__name__}")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("cannot fold a BatchNorm without running statistics")
    scale = bn.weight.detach() if bn.affine else torch.ones_like(bn.running_var)
    shift = bn.bias.detach() if bn.affine else torch.zeros_like(bn.running_mean)
    scale = scale / torch.sqrt(bn.running_var + bn.eps)
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(shift)
    weight = conv.weight.detach() * scale.view(-1, *([1] * (conv.weight.dim() - 1)))
    conv.weight = nn.Parameter(weight, requires_grad=False)
    conv.bias = nn.Parameter((bias - bn.running_mean) * scale + shift, requires_grad=False)


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


def _same_function(twin: nn.Module, model: nn.Module, example: Tensor) -> bool:
    with torch.no_grad():
        ours, theirs = twin(example), model(example)
    if not isinstance(ours, Tensor) or not isinstance(theirs, Tensor):
        return False
    if ours.shape != theirs.shape:
        return False
    scale = float(theirs.abs().max()) if theirs.numel() else 0.0
    return bool(torch.allclose(ours.float(), theirs.float(), rtol=1e-4, atol=1e-4 * scale + 1e-6))


def inference_twin(model: nn.Module, example: Tensor, channels_last: bool = True) -> nn.Module:
    """A frozen eval-mode copy of ``model`` computing the same logits faster, or ``model``
    itself when the copy does not reproduce its outputs on ``example`` (or ``model`` is in
    train mode, where BatchNorm uses batch statistics and cannot be folded)."""
    if any(m.training for m in model.modules()):
        return model
    twin = copy.deepcopy(model).eval()
    for parameter in twin.parameters():
        parameter.requires_grad_(False)
    for conv_name, bn_name in _conv_bn_pairs(twin, example):
        _fold(twin.get_submodule(conv_name), twin.get_submodule(bn_name))
        _replace(twin, bn_name, nn.Identity())
    if channels_last and example.dim() == 4:
        twin = twin.to(memory_format=torch.channels_last)
    return twin if _same_function(twin, model, example) else model
