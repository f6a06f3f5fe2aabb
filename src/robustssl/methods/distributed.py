"""Autograd-aware all-gather for contrastive losses under DDP (negatives from every rank)."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor


class _GatherWithGrad(torch.autograd.Function):
    """Forward: all_gather along dim 0. Backward: every rank's gradient for its own slice is the
    sum over ranks of the gradients flowing into that slice (all_reduce, then take own slice)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        world = dist.get_world_size()
        ctx.rank, ctx.batch = dist.get_rank(), x.shape[0]
        parts = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.batch : (ctx.rank + 1) * ctx.batch]


def gather_with_grad(x: Tensor) -> Tensor:
    """All ranks' ``x`` concatenated in rank order, gradients flowing back to each rank's slice.

    Identity when torch.distributed is not initialised (single process). Every rank must pass
    the same batch size. With DDP averaging gradients over W ranks, a loss computed on the gathered
    batch gives each rank's parameters the same gradient as one process on the W·B batch.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    return _GatherWithGrad.apply(x)


def require_single_process(what: str) -> None:
    """Fail clearly when ``what`` needs a second derivative through :func:`gather_with_grad`
    (its backward all-reduces in place, which autograd cannot differentiate again)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        raise RuntimeError(
            f"{what} needs double backprop through the cross-process gather, which is not "
            "differentiable twice; train on one process (trainer.devices=1) or turn it off"
        )
