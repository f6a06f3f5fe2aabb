"""LARS optimizer (You et al. 2017), the large-batch optimizer of SimCLR, ACL and RoCL
(REFERENCE_FACTS: ACL and RoCL pretrain with LARS).

The public implementations differ in three details, each a switch here (docs/fidelity.md):

- which tensors take the trust ratio: SimCLR exempts biases and norm layers (parameter groups with
  ``lars_exclude=True``, made by ``OptimConfig.exclude_bias_and_norm``); ACL's
  ``optimizer/lars.py`` and torchlars (RoCL) scale every tensor;
- the trust ratio: ``"update_norm"`` η‖w‖/(‖g + λw‖ + ε) (SimCLR's TensorFlow LARS, our default) or
  ``"sum_of_norms"`` η‖w‖/(‖g‖ + λ‖w‖ + ε) (You et al. Algorithm 1, ACL, torchlars);
- where the learning rate enters: outside the momentum buffer (w ← w − lr·v, v ← m·v + u; ours and
  torchlars over SGD) or inside it (v ← m·v + lr·u, w ← w − v; ACL). They agree while lr is
  constant.

Both ratios fall back to 1 when ‖w‖ or ‖g‖ is 0, as every reference does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal, overload

import torch
from torch import Tensor

TrustRatio = Literal["update_norm", "sum_of_norms"]


class LARS(torch.optim.Optimizer):
    """SGD with momentum whose per-tensor step is scaled by the trust ratio (see module docs).

    Parameter groups with ``lars_exclude=True`` (biases and norm layers, as in SimCLR) take plain
    SGD-momentum steps: no trust ratio (their weight decay is whatever the group sets, 0 when made
    by ``build_optimizer``).
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        trust_coefficient: float = 0.001,
        eps: float = 1e-8,
        trust_ratio: TrustRatio = "update_norm",
        lr_in_momentum: bool = False,
    ) -> None:
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if trust_ratio not in ("update_norm", "sum_of_norms"):
            raise ValueError(
                f"trust_ratio={trust_ratio!r}; use 'update_norm' (SimCLR) or 'sum_of_norms' "
                "(You et al. 2017, ACL, torchlars)"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            trust_coefficient=trust_coefficient,
            eps=eps,
            lars_exclude=False,
            trust_ratio=trust_ratio,
            lr_in_momentum=lr_in_momentum,
        )
        super().__init__(params, defaults)

    @staticmethod
    def scaled_update(p: Tensor, group: dict) -> Tensor:
        """The step direction u of ``p`` before momentum: g + λw times the trust ratio (or the
        plain gradient for an excluded group)."""
        grad, decay = p.grad, group["weight_decay"]
        assert grad is not None
        update = grad.add(p, alpha=decay) if decay else grad
        if group["lars_exclude"]:
            return update
        w_norm = torch.linalg.vector_norm(p)
        g_norm = torch.linalg.vector_norm(grad)
        if group["trust_ratio"] == "update_norm":
            denominator = torch.linalg.vector_norm(update)
            g_norm = denominator
        else:
            denominator = g_norm + decay * w_norm
        trust = group["trust_coefficient"] * w_norm / (denominator + group["eps"])
        return update * torch.where((w_norm > 0) & (g_norm > 0), trust, 1.0)

    @overload
    def step(self, closure: None = None) -> None: ...

    @overload
    def step(self, closure: Callable[[], float]) -> float: ...

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            inside = group["lr_in_momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                update = self.scaled_update(p, group)
                if inside:
                    update = update * group["lr"]
                buf = self.state[p].get("momentum_buffer")
                if buf is None:
                    buf = self.state[p]["momentum_buffer"] = update.clone()
                else:
                    buf.mul_(group["momentum"]).add_(update)
                p.add_(buf, alpha=-1.0 if inside else -group["lr"])
        return loss
