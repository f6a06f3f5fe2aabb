"""TRADES (Zhang et al. 2019), the adversarial full finetuning of ACL (VITA-Group ACL
``trades.py`` / ``train_trades.py``; REFERENCE_FACTS.md).

    L = CE(f(x), y) + β · (1/B) Σᵢ KL(p(xᵢ) ‖ p(x′ᵢ)),   KL(p ‖ q) = Σ_c p_c (log p_c − log q_c),

with p = softmax of the logits. This is PyTorch's ``KLDivLoss(reduction="sum")(log_softmax(f(x′)),
softmax(f(x))) / B``, the form both reference codes compute (ACL's README and issue 17 write it
KL(f(x′) ‖ f(x)) with the arguments in KLDivLoss's order). Gradients flow through both p(x) and
p(x′), as in the reference. The attack maximises the same per-sample KL over x′.
"""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor


def trades_kl(
    logits_natural: Tensor, logits_adv: Tensor, reduction: Literal["mean", "none"] = "mean"
) -> Tensor:
    """KL(p(x) ‖ p(x′)) per sample (B,) or averaged over the batch (TRADES' batchmean)."""
    if logits_natural.shape != logits_adv.shape or logits_natural.dim() != 2:
        raise ValueError(
            f"logits must be two (B, K) tensors of one shape, got {tuple(logits_natural.shape)} "
            f"and {tuple(logits_adv.shape)}"
        )
    log_p = F.log_softmax(logits_natural, dim=1)
    log_q = F.log_softmax(logits_adv, dim=1)
    per_sample = (log_p.exp() * (log_p - log_q)).sum(1)
    return per_sample if reduction == "none" else per_sample.mean()


def trades_loss(logits_natural: Tensor, logits_adv: Tensor, y: Tensor, beta: float) -> Tensor:
    """CE(f(x), y) + β·KL(p(x) ‖ p(x′)) averaged over the batch."""
    ce = F.cross_entropy(logits_natural, y)
    return ce + beta * trades_kl(logits_natural, logits_adv)
