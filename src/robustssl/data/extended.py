"""The lazy "extended dataset" of seed 000 §6.2.1–6.2.2: every sample with every ε-perturbation.

Each of the N base samples is combined with every perturbation pattern of its P perturbed pixels,
each pixel taking one of K offsets. For L-T at Dataset-ε = 0.41 with the whole 4×4 canvas and
offsets {−ε, 0, +ε} this is 8·3¹⁶ = 344,373,768 samples (seed 000 §6.2.2). Nothing is ever
materialised: a sample is a number, and batches are generated on demand.

Indexing (a bijection, :meth:`ExtendedDataset.decode` / :meth:`~ExtendedDataset.encode`):
``index = s·K^P + Σ_j d_j·K^(P−1−j)``; digit d_j (most significant first) picks the offset of the
j-th perturbed pixel (row-major), so index order enumerates patterns like ``itertools.product``.
Digits come from int64 division of a whole batch of indices at once.

Blocks: the K^k consecutive indices sharing s and the top P−k digits (k = ``block_digits``, default
6 → 729 samples, the seed code's file size). A batch of blocks is one broadcast add: base + offsets
of the high digits (per block) + a precomputed table of the K^k low-digit offset patterns. Epochs
run through blocks in index order or in a seeded random order (the seed code shuffles its files of
729 and trains with Adam, lr 0.1, on batches of 170 files).

Variants (``options`` × ``pixels``; the seed's assumptions 3–4 and Fact 2, §6.2.1 and §6.2.3):

- options "symmetric": offsets {−ε, 0, +ε} (digits 0, 1, 2): the final extended dataset;
  "corners": {−ε, +ε} (standard images left out, Fact 2); "in_boundary": {0, ε toward the inside
  of [0, 1]} — 0-pixels get {0, +ε}, 1-pixels {0, −ε} (assumption 3, shown wrong).
- pixels "canvas": every canvas pixel; "pattern": only the k×k window of the sample's pattern
  (assumption 4, shown wrong).

Images may leave [0, 1] (a 0-pixel minus ε), as in the seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Literal

import torch
from torch import Tensor

from robustssl.data.toy import placements, toy_spec, toy_tensors
from robustssl.utils import make_generator, mix_seed

Options = Literal["symmetric", "corners", "in_boundary"]
Pixels = Literal["canvas", "pattern"]
OPTIONS: tuple[str, ...] = ("symmetric", "corners", "in_boundary")
PIXELS: tuple[str, ...] = ("canvas", "pattern")
MAX_SHUFFLED_BLOCKS = 2**27


def offset_table(base_flat: Tensor, positions: Tensor, eps: float, options: str) -> Tensor:
    """(N, P, K) offset of each digit, per base sample and perturbed pixel."""
    n, p = positions.shape
    if options == "symmetric":
        return torch.tensor([-eps, 0.0, eps]).expand(n, p, 3).clone()
    if options == "corners":
        return torch.tensor([-eps, eps]).expand(n, p, 2).clone()
    inward = torch.where(base_flat.gather(1, positions) < 0.5, eps, -eps)
    return torch.stack([torch.zeros_like(inward), inward], dim=2)


class ExtendedDataset:
    """Base samples × all perturbation patterns, generated on demand on ``device``.

    The batch interface of the other datasets: ``len``, ``image_shape``, ``num_classes``,
    ``get_batch(indices) -> (x, y)`` and ``loader(...)`` (seeded epochs of shuffled blocks)."""

    def __init__(
        self,
        base: Tensor,
        targets: Tensor,
        positions: Tensor | None = None,
        *,
        eps: float = 0.41,
        options: Options = "symmetric",
        block_digits: int = 6,
        device: torch.device | str = "cpu",
    ) -> None:
        if base.dim() != 4 or not base.is_floating_point() or targets.shape != base.shape[:1]:
            raise ValueError("base must be float (N, C, H, W) with one target per sample")
        if not 0.0 < eps < 0.5:
            raise ValueError(
                f"eps={eps} must be in (0, 0.5): from 0.5 on, perturbed samples of different "
                "classes coincide (seed 000 §6.1, Figure 18b)"
            )
        if options not in OPTIONS:
            raise ValueError(f"options={options!r}; choose one of {', '.join(OPTIONS)}")
        flat = base.detach().float().reshape(len(base), -1).cpu()
        d = flat.shape[1]
        pos = torch.arange(d).expand(len(base), d) if positions is None else positions.long().cpu()
        if pos.dim() != 2 or len(pos) != len(base) or pos.min() < 0 or pos.max() >= d:
            raise ValueError(f"positions must be (N, P) flat pixel indices in [0, {d})")
        self.eps, self.options, self.device = float(eps), options, torch.device(device)
        self.image_shape: tuple[int, ...] = tuple(base.shape[1:])
        self.num_base, self.num_pixels = len(base), pos.shape[1]
        self.radix = 3 if options == "symmetric" else 2
        self.patterns_per_sample = self.radix**self.num_pixels
        if self.num_base * self.patterns_per_sample >= 2**63:
            raise ValueError(
                f"{self.num_base}·{self.radix}^{self.num_pixels} samples overflow int64 indices; "
                "perturb fewer pixels (pixels='pattern') or use a smaller canvas"
            )
        if not 0 <= block_digits <= self.num_pixels:
            raise ValueError(f"block_digits={block_digits} must be in [0, {self.num_pixels}]")
        self.block_digits = block_digits
        self.base_flat = flat.to(self.device)
        self.base_targets = targets.long().to(self.device)
        self.positions = pos.contiguous().to(self.device)
        self.table = offset_table(flat, pos, self.eps, options).to(self.device)
        self.powers = self.radix ** torch.arange(self.num_pixels - 1, -1, -1, device=self.device)
        self._low = self._low_offsets()

    # ---- sizes --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.num_base * self.patterns_per_sample

    @property
    def num_classes(self) -> int:
        return int(self.base_targets.max()) + 1

    @property
    def block_size(self) -> int:
        return self.radix**self.block_digits

    @property
    def num_blocks(self) -> int:
        return len(self) // self.block_size

    # ---- the bijection ------------------------------------------------------------------------
    def check_indices(self, indices: Tensor) -> Tensor:
        """``indices`` as a 1-D int64 tensor on the device, bounds-checked."""
        idx = torch.as_tensor(indices).reshape(-1)
        if idx.dtype.is_floating_point or idx.dtype == torch.bool:
            raise TypeError(f"indices must be integers, got {idx.dtype}")
        idx = idx.long().to(self.device)
        if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= len(self)):
            raise IndexError(f"indices must be in [0, {len(self)})")
        return idx

    def decode(self, indices: Tensor) -> tuple[Tensor, Tensor]:
        """index → (base sample (B,), digits (B, P)), most significant digit first."""
        idx = self.check_indices(indices)
        sample, code = idx // self.patterns_per_sample, idx % self.patterns_per_sample
        return sample, (code[:, None] // self.powers) % self.radix

    def encode(self, sample: Tensor, digits: Tensor) -> Tensor:
        """(base sample, digits) → index; the inverse of :meth:`decode`."""
        sample, digits = sample.long().to(self.device), digits.long().to(self.device)
        if digits.shape != (len(sample), self.num_pixels):
            raise ValueError(f"digits must be (B, {self.num_pixels}), got {tuple(digits.shape)}")
        if bool((digits < 0).any() | (digits >= self.radix).any()):
            raise ValueError(f"digits must be in [0, {self.radix})")
        if bool((sample < 0).any() | (sample >= self.num_base).any()):
            raise ValueError(f"base samples must be in [0, {self.num_base})")
        return sample * self.patterns_per_sample + (digits * self.powers).sum(1)

    def standard_indices(self) -> Tensor:
        """The index of each unperturbed base sample (every digit at offset 0); the "corners"
        option has none (Fact 2 of seed 000 §6.2.3 leaves them out)."""
        if self.options == "corners":
            raise ValueError("options='corners' has no unperturbed samples")
        zero = 1 if self.options == "symmetric" else 0
        digits = torch.full((self.num_base, self.num_pixels), zero, device=self.device)
        return self.encode(torch.arange(self.num_base, device=self.device), digits)

    # ---- generation ---------------------------------------------------------------------------
    def _offsets(self, sample: Tensor, digits: Tensor, first: int = 0) -> Tensor:
        """(B, C·H·W) offsets of perturbed pixels first … first+m−1 set by ``digits`` (B, m)."""
        cols = torch.arange(first, first + digits.shape[1], device=self.device)
        out = torch.zeros(len(sample), self.base_flat.shape[1], device=self.device)
        values = self.table[sample[:, None], cols, digits]
        return out.scatter_add_(1, self.positions[sample][:, cols], values)

    def get_batch(self, indices: Tensor) -> tuple[Tensor, Tensor]:
        """Images (B, C, H, W) and labels (B,) of ``indices``."""
        sample, digits = self.decode(indices)
        x = self.base_flat[sample] + self._offsets(sample, digits)
        return x.view(-1, *self.image_shape), self.base_targets[sample]

    def _low_offsets(self) -> Tensor:
        """(N, K^k, C·H·W): offsets of every low-digit pattern, per base sample."""
        k, p = self.block_digits, self.num_pixels
        codes = torch.arange(self.block_size, device=self.device)
        digits = (codes[:, None] // self.powers[p - k :]) % self.radix
        rows = [
            self._offsets(torch.full_like(codes, s), digits, p - k) for s in range(self.num_base)
        ]
        return torch.stack(rows)

    def block_indices(self, blocks: Tensor) -> Tensor:
        """The dataset indices of ``blocks``, concatenated (each block in index order)."""
        blocks = blocks.long().to(self.device).reshape(-1)
        within = torch.arange(self.block_size, device=self.device)
        return (blocks[:, None] * self.block_size + within).reshape(-1)

    def get_blocks(self, blocks: Tensor) -> tuple[Tensor, Tensor]:
        """The samples of ``blocks`` (in :meth:`block_indices` order), generated in bulk."""
        blocks = blocks.long().to(self.device).reshape(-1)
        if len(blocks) and (int(blocks.min()) < 0 or int(blocks.max()) >= self.num_blocks):
            raise IndexError(f"block ids must be in [0, {self.num_blocks})")
        high_count = self.patterns_per_sample // self.block_size
        sample, high = blocks // high_count, blocks % high_count
        high_powers = self.powers[: self.num_pixels - self.block_digits] // self.block_size
        digits = (high[:, None] // high_powers) % self.radix
        x = (self.base_flat[sample] + self._offsets(sample, digits))[:, None] + self._low[sample]
        y = self.base_targets[sample].repeat_interleave(self.block_size)
        return x.view(-1, *self.image_shape), y

    def loader(
        self,
        blocks_per_batch: int = 170,
        *,
        shuffle: bool = True,
        seed: int = 0,
        fraction: float = 1.0,
    ) -> ExtendedLoader:
        """Batches of ``blocks_per_batch`` blocks (170·729 = 123,930 samples by default)."""
        return ExtendedLoader(self, blocks_per_batch, shuffle=shuffle, seed=seed, fraction=fraction)

    def __repr__(self) -> str:
        return (
            f"ExtendedDataset(n={len(self):,} = {self.num_base}·{self.radix}^{self.num_pixels}, "
            f"eps={self.eps:g}, options={self.options!r}, image_shape={self.image_shape})"
        )


class ExtendedLoader:
    """Seeded epochs over blocks: index order, or a permutation of the blocks per (seed, epoch);
    with ``fraction`` < 1, the first share of that order (a random subset when shuffled)."""

    def __init__(
        self,
        dataset: ExtendedDataset,
        blocks_per_batch: int,
        *,
        shuffle: bool,
        seed: int,
        fraction: float,
    ) -> None:
        if isinstance(blocks_per_batch, bool) or not isinstance(blocks_per_batch, int):
            raise ValueError(f"blocks_per_batch={blocks_per_batch!r} must be an int ≥ 1")
        if blocks_per_batch < 1 or not 0.0 < fraction <= 1.0:
            raise ValueError(
                f"need blocks_per_batch ≥ 1 and 0 < fraction ≤ 1, got {blocks_per_batch}, "
                f"{fraction}"
            )
        if shuffle and dataset.num_blocks > MAX_SHUFFLED_BLOCKS:
            raise ValueError(
                f"{dataset.num_blocks:,} blocks are too many to shuffle; raise block_digits or "
                "iterate in index order (shuffle=False)"
            )
        self.dataset, self.blocks_per_batch = dataset, blocks_per_batch
        self.shuffle, self.seed, self.fraction = shuffle, seed, fraction
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def blocks_per_epoch(self) -> int:
        return max(1, round(self.fraction * self.dataset.num_blocks))

    @property
    def samples_per_epoch(self) -> int:
        return self.blocks_per_epoch * self.dataset.block_size

    def block_order(self) -> Tensor:
        """This epoch's block ids (CPU), in iteration order."""
        if not self.shuffle:
            return torch.arange(self.blocks_per_epoch)
        gen = make_generator(mix_seed(self.seed, self.epoch))
        return torch.randperm(self.dataset.num_blocks, generator=gen)[: self.blocks_per_epoch]

    def __len__(self) -> int:
        return math.ceil(self.blocks_per_epoch / self.blocks_per_batch)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for chunk in self.block_order().split(self.blocks_per_batch):
            with torch.no_grad():
                batch = self.dataset.get_blocks(chunk)
            yield batch


def pattern_positions(name: str) -> Tensor:
    """(N, k·k) flat canvas pixels under each sample's pattern (the "pattern" variant)."""
    spec = toy_spec(name)
    k = spec.pattern_size
    window = torch.tensor([r * spec.canvas + c for r in range(k) for c in range(k)])
    corners = torch.tensor([i * spec.canvas + j for i, j, _ in placements(name)])
    return corners[:, None] + window[None, :]


def extended_dataset(
    name: str = "lt",
    eps: float = 0.41,
    *,
    pixels: Pixels = "canvas",
    options: Options = "symmetric",
    block_digits: int = 6,
    device: torch.device | str = "cpu",
) -> ExtendedDataset:
    """The extended version of toy dataset ``name`` (default: L-T, Dataset-ε 0.41, 344M samples)."""
    if pixels not in PIXELS:
        raise ValueError(f"pixels={pixels!r}; choose one of {', '.join(PIXELS)}")
    x, y = toy_tensors(name)
    positions = pattern_positions(name) if pixels == "pattern" else None
    return ExtendedDataset(
        x, y, positions, eps=eps, options=options, block_digits=block_digits, device=device
    )
