"""Dual / multi BatchNorm: one BN per branch ("clean"/"adv"), all other weights shared.

ACL's A2S and Dual-Stream encoders share every convolution but keep separate BN parameters and
statistics for standard and adversarial inputs, and use the adversarial-BN encoder downstream
(seed 000 §2.7.2). AdvCL keeps three BN branches ("normal", "pgd", "pgd_ce"; seed 001 §4 and
REFERENCE_FACTS "Adversarial contrastive reference repos").
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import torch
from torch import nn

DEFAULT_BRANCHES: tuple[str, ...] = ("clean", "adv")
_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def _check_branches(branches: Sequence[str]) -> tuple[str, ...]:
    names = (branches,) if isinstance(branches, str) else tuple(branches)
    if not names:
        raise ValueError("branches must name at least one BN branch, e.g. ('clean', 'adv')")
    for b in names:
        if not isinstance(b, str) or not b.isidentifier():
            raise ValueError(f"branch names must be Python identifiers, got {b!r}")
        if hasattr(nn.ModuleDict, b):
            raise ValueError(
                f"branch name {b!r} clashes with an nn.ModuleDict attribute; "
                "choose another name, e.g. 'clean', 'adv'"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"branch names must be unique, got {names}")
    return names


class MultiBatchNorm(nn.Module):
    """One full BatchNorm (own affine params and running stats) per branch; ``active_branch``
    decides which one ``forward`` uses. Select it with :func:`bn_branch`, not by hand."""

    def __init__(self, bns: Mapping[str, nn.Module]) -> None:
        super().__init__()
        branches = _check_branches(list(bns))
        for name, bn in bns.items():
            if not isinstance(bn, _BN_TYPES):
                raise ValueError(
                    f"branch {name!r} must be a BatchNorm module, got {type(bn).__name__}"
                )
        self.bns = nn.ModuleDict(bns)
        self.branches: tuple[str, ...] = branches
        self.active_branch: str = branches[0]

    @classmethod
    def from_batchnorm(
        cls, bn: nn.Module, branches: Sequence[str] = DEFAULT_BRANCHES
    ) -> MultiBatchNorm:
        """Copies of ``bn`` (params, running stats, mode, class) for each branch."""
        if not isinstance(bn, _BN_TYPES):
            raise ValueError(f"expected a BatchNorm module, got {type(bn).__name__}")
        return cls({name: copy.deepcopy(bn) for name in _check_branches(branches)})

    def branch(self, name: str) -> nn.Module:
        """The BatchNorm of branch ``name``."""
        self.check_branch(name)
        return self.bns[name]

    def check_branch(self, name: str) -> None:
        """Raise a ValueError listing the branches when ``name`` is not one of them."""
        if name not in self.branches:
            raise ValueError(
                f"unknown BN branch {name!r}; this model has branches "
                f"{', '.join(repr(b) for b in self.branches)}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bns[self.active_branch](x)

    def extra_repr(self) -> str:
        return f"active_branch={self.active_branch!r}"


def _multi_bns(model: nn.Module) -> list[MultiBatchNorm]:
    found = [m for m in model.modules() if isinstance(m, MultiBatchNorm)]
    if not found:
        raise ValueError(
            "model has no MultiBatchNorm layers; call convert_to_multi_bn(model, branches) first"
        )
    return found


def _replace_modules(
    model: nn.Module,
    replace: type | tuple[type, ...],
    make: Callable[[nn.Module], nn.Module],
) -> nn.Module:
    """Swap every submodule of type ``replace`` (outermost only) for ``make(module)``."""
    if isinstance(model, replace):
        return make(model)
    targets = [name for name, m in model.named_modules() if name and isinstance(m, replace)]
    targets = [t for t in targets if not any(t.startswith(o + ".") for o in targets)]
    for name in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child, make(parent.get_submodule(child)))
    return model


def convert_to_multi_bn(model: nn.Module, branches: Sequence[str] = DEFAULT_BRANCHES) -> nn.Module:
    """Replace every BatchNorm1d/2d/3d/SyncBatchNorm in ``model`` (in place) by a
    :class:`MultiBatchNorm` whose branches start as copies of it; returns the model."""
    branches = _check_branches(branches)
    if any(isinstance(m, MultiBatchNorm) for m in model.modules()):
        raise ValueError(
            "model already has MultiBatchNorm layers; select a branch with "
            "bn_branch(model, name) instead of converting again"
        )
    return _replace_modules(
        model, _BN_TYPES, lambda bn: MultiBatchNorm.from_batchnorm(bn, branches)
    )


def set_bn_branch(model: nn.Module, name: str) -> None:
    """Make ``name`` the active branch of every MultiBatchNorm in ``model``."""
    multi = _multi_bns(model)
    for m in multi:
        m.check_branch(name)
    for m in multi:
        m.active_branch = name


@contextmanager
def bn_branch(model: nn.Module, name: str) -> Iterator[nn.Module]:
    """Context manager: run ``model`` with BN branch ``name``; restores the previous branches
    on exit, also after an exception."""
    multi = _multi_bns(model)
    previous = [m.active_branch for m in multi]
    set_bn_branch(model, name)
    try:
        yield model
    finally:
        for m, prev in zip(multi, previous, strict=True):
            m.active_branch = prev


def extract_bn_branch(model: nn.Module, name: str) -> nn.Module:
    """Deep copy of ``model`` with each MultiBatchNorm replaced by its plain ``name`` BatchNorm,
    so state-dict keys match a never-converted model (e.g. ACL's adversarial encoder)."""
    for m in _multi_bns(model):
        m.check_branch(name)

    def plain(multi: nn.Module) -> nn.Module:
        assert isinstance(multi, MultiBatchNorm)
        return copy.deepcopy(multi.branch(name))

    return _replace_modules(copy.deepcopy(model), MultiBatchNorm, plain)
