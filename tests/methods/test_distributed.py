"""Autograd-aware gather: 2 gloo ranks × B give the loss and (DDP-averaged) grads of 1 × 2B."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from robustssl.methods.distributed import gather_with_grad
from robustssl.objectives import barlow_twins_loss, ntxent_loss

BATCH, DIM_IN, DIM_OUT = 6, 5, 4


def _data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x1 = torch.randn(2 * BATCH, DIM_IN, generator=gen)
    x2 = x1 + 0.3 * torch.randn(2 * BATCH, DIM_IN, generator=gen)
    weight = torch.randn(DIM_IN, DIM_OUT, generator=gen)
    return x1, x2, weight


def _loss(name: str, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    return ntxent_loss(z1, z2, 0.3) if name == "ntxent" else barlow_twins_loss(z1, z2, 0.01)


def _worker(rank: int, port: int, out_dir: str, name: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        x1, x2, weight = _data()
        weight = weight.clone().requires_grad_(True)
        part = slice(rank * BATCH, (rank + 1) * BATCH)
        z1, z2 = gather_with_grad(x1[part] @ weight), gather_with_grad(x2[part] @ weight)
        loss = _loss(name, z1, z2)
        loss.backward()
        grad = weight.grad.clone()
        dist.all_reduce(grad)  # what DDP does: average parameter gradients over ranks
        grad /= 2
        np.save(Path(out_dir) / f"loss{rank}.npy", loss.detach().numpy())
        np.save(Path(out_dir) / f"grad{rank}.npy", grad.numpy())
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("name", ["ntxent", "barlow_twins"])
def test_two_ranks_match_one_process(tmp_path: Path, name: str) -> None:
    mp.spawn(_worker, args=(_free_port(), str(tmp_path), name), nprocs=2, join=True)
    x1, x2, weight = _data()
    weight = weight.clone().requires_grad_(True)
    loss = _loss(name, x1 @ weight, x2 @ weight)
    loss.backward()
    for rank in range(2):
        assert np.load(tmp_path / f"loss{rank}.npy") == pytest.approx(loss.item(), rel=1e-5)
        assert np.allclose(np.load(tmp_path / f"grad{rank}.npy"), weight.grad.numpy(), atol=1e-5)


def test_gather_is_identity_without_process_group() -> None:
    x = torch.randn(3, 2, requires_grad=True)
    assert gather_with_grad(x) is x
