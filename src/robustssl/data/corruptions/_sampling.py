"""Batched resampling: scipy-style clipped zoom (one zoom as two matrices, a sum of zooms as one
sparse matrix), per-pixel bilinear sampling with border rules, PIL's BOX resize per axis."""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor

from robustssl.data.corruptions._filters import mirror


def clipped_zoom_coords(n: int, factor: float) -> Tensor:
    """float64 source coordinates (n,) of the official ``clipped_zoom`` along one axis.

    The centre ceil(n/z) pixels (from ``(n − ch) // 2``) are zoomed to round(ch·z) with
    ``scipy.ndimage.zoom(order=1)`` (corner-aligned: out j ↦ j·(ch−1)/(zn−1)) and the centre n
    pixels of the result are kept.
    """
    ch = math.ceil(n / factor)
    top = (n - ch) // 2
    zn = round(ch * factor)
    trim = (zn - n) // 2
    scale = (ch - 1) / (zn - 1) if zn > 1 else 0.0
    return top + (torch.arange(n, dtype=torch.float64) + trim) * scale


def linear_taps(coords: Tensor, n: int, mode: str) -> tuple[Tensor, Tensor, Tensor]:
    """Neighbour indices (mirrored into 0..n−1 by ``mode``) and the weight of the upper one."""
    lo = torch.floor(coords)
    weight = coords - lo
    lo = lo.long()
    return mirror(lo, n, mode), mirror(lo + 1, n, mode), weight


def interpolation_matrix(coords: Tensor, n: int, mode: str = "edge") -> Tensor:
    """float64 (len(coords), n) matrix of linear interpolation at ``coords`` along an axis."""
    i0, i1, w = linear_taps(coords, n, mode)
    rows = torch.arange(len(coords))
    mat = torch.zeros(len(coords), n, dtype=torch.float64)
    mat.index_put_((rows, i0), 1 - w, accumulate=True)
    mat.index_put_((rows, i1), w, accumulate=True)
    return mat


def clipped_zoom(x: Tensor, factor: float) -> Tensor:
    """The official ``clipped_zoom`` (same factor on both axes) of every image, as R·x·Cᵀ."""
    h, w = x.shape[2:]
    rows = interpolation_matrix(clipped_zoom_coords(h, factor), h).to(x.device, x.dtype)
    cols = interpolation_matrix(clipped_zoom_coords(w, factor), w).to(x.device, x.dtype)
    return torch.matmul(torch.matmul(rows, x), cols.T)


def zoom_sum_operator(h: int, w: int, factors: tuple[float, ...]) -> Tensor:
    """Sparse CSR float64 (HW, HW) matrix of x ↦ Σ_z clipped_zoom(x, z) on flattened images
    (each output pixel mixes 4 inputs per factor, so the matrix is ~4·len(factors) per row)."""
    out = torch.arange(h * w)
    rows, cols, vals = [], [], []
    for z in factors:
        r0, r1, wr = linear_taps(clipped_zoom_coords(h, z), h, "edge")
        c0, c1, wc = linear_taps(clipped_zoom_coords(w, z), w, "edge")
        for r, a in ((r0, 1 - wr), (r1, wr)):
            for c, b in ((c0, 1 - wc), (c1, wc)):
                rows.append(out)
                cols.append((r[:, None] * w + c[None, :]).reshape(-1))
                vals.append((a[:, None] * b[None, :]).reshape(-1))
    index = torch.stack((torch.cat(rows), torch.cat(cols)))
    size = (h * w, h * w)
    coo = torch.sparse_coo_tensor(index, torch.cat(vals), size, check_invariants=True).coalesce()
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        return coo.to_sparse_csr()


def apply_pixel_operator(x: Tensor, op: Tensor) -> Tensor:
    """(B, C, H, W) images mapped by a (HW, HW) sparse matrix acting on each flattened channel."""
    b, c, h, w = x.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        op = op.to(device=x.device, dtype=x.dtype)
        return (op @ x.reshape(b * c, h * w).T).T.reshape(b, c, h, w)


_GRID_MODES = {  # border mode → (align_corners, grid_sample padding): same bilinear values
    "reflect101": (True, "reflection"),  # reflect about the edge pixels' centres
    "symmetric": (False, "reflection"),  # reflect about the image's outer edges
    "edge": (True, "border"),
}


def bilinear_sample(x: Tensor, rows: Tensor, cols: Tensor, mode: str) -> Tensor:
    """x sampled at per-pixel coordinates ``rows``/``cols`` (B, H, W) (order-1 spline, like
    ``scipy.ndimage.map_coordinates(order=1)`` / cv2 INTER_LINEAR), borders by ``mode``.

    One ``grid_sample`` call: reflecting the coordinate about a pixel centre (or an image edge)
    gives the same linear interpolation as mirroring the neighbours' indices.
    """
    if mode not in _GRID_MODES:
        raise ValueError(f"unknown border mode {mode!r}; use one of {', '.join(_GRID_MODES)}")
    align, padding = _GRID_MODES[mode]
    h, w = x.shape[2:]

    def normalise(c: Tensor, n: int) -> Tensor:
        if align:
            return c * (2.0 / max(n - 1, 1)) - 1.0
        return (2.0 * c + 1.0) / n - 1.0

    grid = torch.stack((normalise(cols, w), normalise(rows, h)), dim=-1).to(x.dtype)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=align)


def box_resize_matrix(n_in: int, n_out: int) -> Tensor:
    """float64 (n_out, n_in) weights of PIL's ``Image.resize(..., BOX)`` along one axis.

    PIL (Resample.c, precompute_coeffs) centres output pixel o at (o + 0.5)·s in input units,
    s = n_in / n_out, takes the input pixels j in [centre − s'/2, centre + s'/2) (s' = max(s, 1))
    whose scaled offset (j + 0.5 − centre)/s' lies in (−0.5, 0.5], weight 1 each, normalised.
    """
    scale = n_in / n_out
    fscale = max(scale, 1.0)
    support = 0.5 * fscale
    mat = torch.zeros(n_out, n_in, dtype=torch.float64)
    for o in range(n_out):
        centre = (o + 0.5) * scale
        lo = max(int(centre - support + 0.5), 0)
        hi = min(int(centre + support + 0.5), n_in)
        for j in range(lo, hi):
            t = (j + 0.5 - centre) / fscale
            if -0.5 < t <= 0.5:
                mat[o, j] = 1.0
        mat[o] /= mat[o].sum()
    return mat
