"""Baseline JPEG encode + decode simulated on tensors (what PIL's ``save(..., "JPEG", quality=q)``
then ``open`` do through libjpeg, with its defaults): JFIF YCbCr, 4:2:0 chroma subsampling,
8×8 DCT, the ITU-T T.81 Annex K tables scaled by IJG's quality rule, rounding, dequantisation,
inverse DCT, libjpeg's "fancy" (triangle) chroma upsampling and YCbCr → RGB. Samples are rounded
to 8 bits wherever libjpeg stores them. 1-channel images are coded as grayscale JPEGs.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from robustssl.data.corruptions._filters import pad_axis

_LUMA_TABLE = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
_CHROMA_TABLE = (
    (17, 18, 24, 47, 99, 99, 99, 99),
    (18, 21, 26, 66, 99, 99, 99, 99),
    (24, 26, 56, 99, 99, 99, 99, 99),
    (47, 66, 99, 99, 99, 99, 99, 99),
    *((99,) * 8 for _ in range(4)),
)
_RGB_TO_YCC = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))


def quant_table(base: tuple[tuple[int, ...], ...], quality: int) -> Tensor:
    """IJG scaling: s = 5000 // q (q < 50) or 200 − 2q; table = (T·s + 50) // 100 in [1, 255]."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    table = (torch.tensor(base, dtype=torch.int64) * scale + 50) // 100
    return table.clamp_(1, 255).double()


def dct_matrix(dtype: torch.dtype, device: torch.device) -> Tensor:
    """Orthonormal 8-point DCT-II (rows = frequencies): JPEG's FDCT is D · block · Dᵀ."""
    k = torch.arange(8, dtype=torch.float64)
    d = torch.cos((2 * k[None, :] + 1) * k[:, None] * math.pi / 16) * 0.5
    d[0] /= math.sqrt(2.0)
    return d.to(device, dtype)


def _round(x: Tensor) -> Tensor:
    return torch.floor(x + 0.5)


def _code_plane(plane: Tensor, table: Tensor) -> Tensor:
    """Quantise + dequantise the DCT of each 8×8 block of (B, H, W) samples (H, W ≡ 0 mod 8)."""
    b, h, w = plane.shape
    d = dct_matrix(plane.dtype, plane.device)
    q = table.to(plane.device, plane.dtype)
    blocks = (plane - 128).reshape(b, h // 8, 8, w // 8, 8).transpose(2, 3)
    coef = d @ blocks @ d.T
    coef = torch.sign(coef) * torch.floor(coef.abs() / q + 0.5) * q  # libjpeg: half away from 0
    out = (d.T @ coef @ d).transpose(2, 3).reshape(b, h, w) + 128
    return _round(out).clamp_(0, 255)


def _pad_to(plane: Tensor, multiple: int) -> Tensor:
    """Edge-replicate (B, H, W) to multiples of ``multiple`` (libjpeg's edge expansion)."""
    h, w = plane.shape[1:]
    plane = pad_axis(plane, 1, 0, -h % multiple, "edge")
    return pad_axis(plane, 2, 0, -w % multiple, "edge")


def _pad_chroma(plane: Tensor) -> Tensor:
    """Full-resolution chroma before 2×2 downsampling, padded as libjpeg does: columns
    edge-replicated to a multiple of 16, rows only to an even count (the downsampled plane is then
    padded to whole blocks by repeating its last row)."""
    h, w = plane.shape[1:]
    plane = pad_axis(plane, 1, 0, h % 2, "edge")
    return pad_axis(plane, 2, 0, -w % 16, "edge")


def _downsample(plane: Tensor) -> Tensor:
    """libjpeg h2v2 downsampling: (sum of 2×2 + bias) // 4, bias 1, 2, 1, 2, ... by column."""
    b, h, w = plane.shape
    s = plane.reshape(b, h // 2, 2, w // 2, 2).sum(dim=(2, 4))
    bias = (torch.arange(w // 2, device=plane.device) % 2 + 1).to(plane.dtype)
    return torch.floor((s + bias) / 4)


def _upsample(plane: Tensor) -> Tensor:
    """libjpeg h2v2 fancy upsampling: 3:1 vertical sums, then (3·this + other + 8 or 7) >> 4."""
    b, h, w = plane.shape
    up = pad_axis(plane, 1, 1, 0, "edge")[:, :-1]
    down = pad_axis(plane, 1, 0, 1, "edge")[:, 1:]
    rows = torch.stack((3 * plane + up, 3 * plane + down), dim=2).reshape(b, 2 * h, w)
    left = pad_axis(rows, 2, 1, 0, "edge")[:, :, :-1]
    right = pad_axis(rows, 2, 0, 1, "edge")[:, :, 1:]
    even = torch.floor((3 * rows + left + 8) / 16)
    odd = torch.floor((3 * rows + right + 7) / 16)
    return torch.stack((even, odd), dim=3).reshape(b, 2 * h, 2 * w)


def _ycc_matrix(x: Tensor) -> Tensor:
    return torch.tensor(_RGB_TO_YCC, dtype=x.dtype, device=x.device)


def jpeg_roundtrip(x: Tensor, quality: int) -> Tensor:
    """(B, C, H, W) in [0, 1] → the decoded JPEG at ``quality``, in [0, 1] (multiples of 1/255)."""
    _, c, h, w = x.shape
    v = _round(x.float() * 255)
    luma_q, chroma_q = quant_table(_LUMA_TABLE, quality), quant_table(_CHROMA_TABLE, quality)
    if c == 1:
        out = _code_plane(_pad_to(v[:, 0], 8), luma_q)[:, :h, :w]
        return out.unsqueeze(1).div_(255).to(x.dtype)
    ycc = torch.einsum("kc,bchw->bkhw", _ycc_matrix(v), v)
    ycc[:, 1:] += 128
    ycc = _round(ycc).clamp_(0, 255)
    y = _code_plane(_pad_to(ycc[:, 0], 8), luma_q)[:, :h, :w]
    chroma = []
    for k in (1, 2):
        small = _pad_to(_downsample(_pad_chroma(ycc[:, k])), 8)
        small = _code_plane(small, chroma_q)[:, : (h + 1) // 2, : (w + 1) // 2]  # real samples
        chroma.append(_upsample(small)[:, :h, :w] - 128)
    cb, cr = chroma
    rgb = torch.stack(
        (
            y + _round(1.402 * cr),
            y + _round(-0.344136 * cb - 0.714136 * cr),
            y + _round(1.772 * cb),
        ),
        dim=1,
    )
    return rgb.clamp_(0, 255).div_(255).to(x.dtype)
