"""Jigsaw pretext task: n×n tiles shuffled by one of J fixed permutations (seed 003 §3.1, §4.2).

The permutation set is chosen once, deterministically from ``seed``, by a greedy
maximal-Hamming-distance selection after Noroozi & Favaro 2016 (seed 003 ref. [20]). They add the
permutation with the largest *summed* distance to the chosen set; we add the one with the largest
*minimum* distance (farthest point; ties broken by a seeded random priority), which keeps every
pair apart: for 30 permutations of a 3×3 grid the minimum pairwise distance is 7 (summed
criterion: 4–5) at a mean of 7.9 (8.3). With ``include_identity`` (default) the identity is
class 0, as in JiGen (Carlucci et al., seed 003 ref. [2]), so the unscrambled image is one of the
J classes; without it the identity never occurs.

Convention: position i of the scrambled image holds tile ``permutations[label, i]`` of the
original (tiles numbered row-major). If the image side is not divisible by the grid, the
largest divisible centred region is tiled and the border stays untouched.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import torch
from torch import Tensor

from robustssl.data.views._common import check_images

_MAX_ENUMERATED = 9  # enumerate all (n²)! permutations up to a 3×3 grid, else sample a pool
_POOL_SIZE = 20_000


class JigsawPuzzle:
    """Scramble images by one of ``num_permutations`` fixed tile permutations; label = its row."""

    def __init__(
        self,
        grid: int = 3,
        num_permutations: int = 30,
        seed: int = 0,
        include_identity: bool = True,
    ) -> None:
        if grid < 2:
            raise ValueError(f"grid={grid} must be >= 2 (a 1×1 grid has nothing to shuffle)")
        tiles = grid * grid
        limit = math.factorial(tiles) if tiles <= _MAX_ENUMERATED else _POOL_SIZE
        limit -= 0 if include_identity else 1
        if not 1 <= num_permutations <= limit:
            raise ValueError(
                f"num_permutations={num_permutations} must be in [1, {limit}] for grid={grid}"
            )
        self.grid = grid
        self.seed = seed
        self.include_identity = include_identity
        self.permutations = select_permutations(tiles, num_permutations, seed, include_identity)

    @property
    def num_classes(self) -> int:
        return self.permutations.shape[0]

    def __call__(
        self, x: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Scramble each image with a random permutation; returns ``(x_scrambled, labels)``."""
        check_images(x)
        labels = torch.randint(0, self.num_classes, (x.shape[0],), generator=generator)
        return self.scramble(x, labels), labels.to(x.device)

    def scramble(self, x: Tensor, labels: Tensor) -> Tensor:
        """Apply permutation ``labels[i]`` to image i."""
        return self._shuffle(x, self._rows(labels, x))

    def unscramble(self, x_scrambled: Tensor, labels: Tensor) -> Tensor:
        """Undo ``scramble``: ``unscramble(scramble(x, y), y) == x``."""
        return self._shuffle(x_scrambled, self._rows(labels, x_scrambled).argsort(dim=1))

    def _rows(self, labels: Tensor, x: Tensor) -> Tensor:
        check_images(x)
        labels = torch.as_tensor(labels).to("cpu", torch.long)
        if labels.shape != (x.shape[0],):
            raise ValueError(f"labels must have shape ({x.shape[0]},), got {tuple(labels.shape)}")
        if labels.numel() and not 0 <= int(labels.min()) <= int(labels.max()) < self.num_classes:
            raise ValueError(f"labels must lie in [0, {self.num_classes - 1}]")
        return self.permutations[labels]

    def _shuffle(self, x: Tensor, perms: Tensor) -> Tensor:
        """out tile i of image b = tile perms[b, i] of image b, on the centred divisible region."""
        b, c, h, w = x.shape
        n = self.grid
        th, tw = h // n, w // n
        if th == 0 or tw == 0:
            raise ValueError(
                f"{h}x{w} images are smaller than the {n}x{n} grid; use a smaller grid"
            )
        top, left = (h - n * th) // 2, (w - n * tw) // 2
        region = x[:, :, top : top + n * th, left : left + n * tw]
        tiles = region.reshape(b, c, n, th, n, tw).permute(0, 2, 4, 1, 3, 5).reshape(b, n * n, -1)
        perms = perms.to(x.device)
        shuffled = tiles.gather(1, perms[:, :, None].expand(-1, -1, tiles.shape[-1]))
        shuffled = shuffled.reshape(b, n, n, c, th, tw).permute(0, 3, 1, 4, 2, 5)
        out = x.clone()
        out[:, :, top : top + n * th, left : left + n * tw] = shuffled.reshape(b, c, n * th, n * tw)
        return out

    def __repr__(self) -> str:
        return (
            f"JigsawPuzzle(grid={self.grid}, num_permutations={self.num_classes}, "
            f"seed={self.seed}, include_identity={self.include_identity})"
        )


def select_permutations(
    tiles: int, count: int, seed: int = 0, include_identity: bool = True
) -> Tensor:
    """Greedy maximal-minimum-Hamming-distance permutation set, (count, tiles) LongTensor."""
    gen = torch.Generator().manual_seed(seed)
    pool = _candidate_pool(tiles, gen)
    priority = torch.rand(pool.shape[0], generator=gen)
    if not include_identity:
        priority[0] = -1.0  # the identity (row 0 of the pool) is never chosen
    first = 0 if include_identity else int(priority.argmax())
    chosen = [first]
    min_dist = (pool != pool[first]).sum(dim=1)
    min_dist[0] = min(int(min_dist[0]), 0) if include_identity else -1
    for _ in range(count - 1):
        best = min_dist.max()
        nxt = int(torch.where(min_dist == best, priority, -1.0).argmax())
        chosen.append(nxt)
        min_dist = torch.minimum(min_dist, (pool != pool[nxt]).sum(dim=1))
    return pool[chosen].long()


def _candidate_pool(tiles: int, gen: torch.Generator) -> Tensor:
    """All permutations of ``tiles`` (identity first) if few enough, else identity + random ones."""
    if tiles <= _MAX_ENUMERATED:
        return _all_permutations(tiles)
    rand = torch.rand(_POOL_SIZE - 1, tiles, generator=gen).argsort(dim=1).to(torch.uint8)
    return torch.cat((torch.arange(tiles, dtype=torch.uint8)[None], rand))


@lru_cache(maxsize=4)
def _all_permutations(tiles: int) -> Tensor:
    return torch.tensor(list(itertools.permutations(range(tiles))), dtype=torch.uint8)
