"""The seeds' figures with matplotlib (Agg canvas, no pyplot state), each saved as PNG and SVG.

- :func:`robustness_curves`: accuracy vs ε, one line per method, L∞ and L2 panels (seed 003
  Fig. 3, seed 001 Fig. 3);
- :func:`confusion_pair`: confusion matrices, clean and attacked side by side (seed 002 Fig. 5.3);
- :func:`tsne_scatter`: t-SNE embedding coloured by class (seed 001 Fig. 4, seed 002 Fig. 5.4);
- :func:`adversarial_grid`: clean / adversarial / amplified perturbation images (SPEC §9);
- :func:`landscape_figure`: adversarial loss landscape, surface + contours (seed 001 Fig. 6);
- :func:`inversion_figure`: seed images and feature inversion maps per method (seed 001 Fig. 5).

Each line, class or panel carries an SVG ``id`` (``curve-<method>``, ``class-<k>``) so tests
and post-processing can find it. Images are arrays or tensors in [0, 1], (N, C, H, W).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robustssl.utils.optional import MissingExtraError, missing_extra_message

try:
    import matplotlib
    from matplotlib.figure import Figure
except ModuleNotFoundError as err:
    message = missing_extra_message("matplotlib", "the report's figures")
    raise MissingExtraError(message, name=err.name) from err
import numpy as np

from robustssl.experiments.points import (
    NORM_NAMES,
    Point,
    accuracy_points,
    label_of,
    point_labels,
    varying,
)

DPI = 100
NORM_ORDER = ("Linf", "L2", "L1")


@dataclass(frozen=True)
class FigureFiles:
    """The PNG and SVG written for one figure."""

    png: Path
    svg: Path


def save_figure(fig: Figure, path: str | Path) -> FigureFiles:
    """Write ``<path>.png`` and ``<path>.svg`` (a ``.png`` / ``.svg`` suffix of ``path`` is
    dropped first; other dots stay part of the name)."""
    base = Path(path)
    if base.suffix.lower() in (".png", ".svg"):
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    png, svg = base.parent / f"{base.name}.png", base.parent / f"{base.name}.svg"
    fig.savefig(png, dpi=DPI, metadata={"Software": None})
    fig.savefig(svg, metadata={"Date": None})
    return FigureFiles(png, svg)


def _array(x: Any) -> np.ndarray:
    """A float numpy array from a tensor or array-like."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _image(x: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] → (H, W) or (H, W, 3) for imshow."""
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"images must be (N, C, H, W) with C = 1 or 3, got an item {x.shape}")
    return np.clip(x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0), 0, 1)


def curves_from_rows(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, list]]:
    """{norm: {label: [(ε, accuracy %), ...] sorted by ε}} from stored records (see
    :func:`robustssl.experiments.points.accuracy_points`), averaging repeated points (seeds).
    One line per model label and attack setting: the label ends with the attack's tag
    (``simclr · PGD-20 α=ε/4``); the clean point (ε = 0) starts every line of its model."""
    points: list[Point] = accuracy_points(rows)
    keys = ["method", *varying([p.row for p in points], ("protocol", "eps_train"))]
    tags = point_labels(points)
    sums: dict[str, dict[str, dict[float, list[float]]]] = {}
    for p in points:
        if p.eps == 0:
            continue
        by_eps = sums.setdefault(p.norm, {}).setdefault(
            f"{label_of(p.row, keys)} · {tags[p.setting]}", {}
        )
        by_eps.setdefault(p.eps, []).append(100 * p.value)
    for p in points:  # the clean point starts each attacked line of the same model and norm
        if p.eps != 0:
            continue
        base = f"{label_of(p.row, keys)} · "
        for label, by_eps in sums.get(p.norm, {}).items():
            if label.startswith(base):
                by_eps.setdefault(0.0, []).append(100 * p.value)
    return {
        norm: {lab: sorted((e, sum(v) / len(v)) for e, v in d.items()) for lab, d in labels.items()}
        for norm, labels in sums.items()
    }


def robustness_curves(
    curves: Mapping[str, Mapping[str, Sequence[tuple[float, float]]]],
    path: str | Path,
    title: str = "Accuracy under attack",
) -> FigureFiles:
    """One panel per norm (L∞ first, then L2), one line per method: accuracy (%) vs ε_test."""
    norms = [n for n in NORM_ORDER if curves.get(n)] + [
        n for n in curves if n not in NORM_ORDER and curves[n]
    ]
    if not norms:
        raise ValueError("no curve points to plot; evaluate with metrics containing 'curve'")
    fig = Figure(figsize=(5.0 * len(norms), 4.0))
    for i, norm in enumerate(norms):
        ax = fig.add_subplot(1, len(norms), i + 1)
        for label, pts in curves[norm].items():
            eps, acc = zip(*sorted(pts), strict=True)
            (line,) = ax.plot(eps, acc, marker="o", label=label)
            line.set_gid(f"curve-{norm}-{label}")
        ax.set_xlabel(f"ε_test ({NORM_NAMES.get(norm, norm)})")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.set_title(NORM_NAMES.get(norm, norm))
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def confusion_pair(
    clean: Any,
    attacked: Any,
    path: str | Path,
    class_names: Sequence[str] | None = None,
    titles: tuple[str, str] = ("clean", "attacked"),
) -> FigureFiles:
    """Two confusion matrices (rows true class, columns predicted) side by side, each with its
    own colour scale (seed 002 Fig. 5.3); counts written in the cells up to 12 classes."""
    mats = [_array(clean), _array(attacked)]
    k = mats[0].shape[0]
    if any(m.ndim != 2 or m.shape != (k, k) for m in mats):
        raise ValueError(
            f"confusion matrices must both be square (K, K), got {[m.shape for m in mats]}"
        )
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    fig = Figure(figsize=(11.0, 5.0))
    for i, (mat, title) in enumerate(zip(mats, titles, strict=True)):
        ax = fig.add_subplot(1, 2, i + 1)
        im = ax.imshow(mat, cmap="Blues")
        im.set_gid(f"confusion-{i}")
        fig.colorbar(im, ax=ax, fraction=0.046)
        ax.set_xticks(range(k), names, rotation=90 if k > 10 else 0, fontsize=7)
        ax.set_yticks(range(k), names, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title)
        if k <= 12:
            top = mat.max() if mat.size else 0
            for r in range(k):
                for c in range(k):
                    color = "white" if mat[r, c] > top / 2 else "black"
                    ax.text(
                        c, r, f"{mat[r, c]:g}", ha="center", va="center", fontsize=6, color=color
                    )
    fig.tight_layout()
    return save_figure(fig, path)


def tsne_scatter(
    embedding: Any,
    labels: Any,
    path: str | Path,
    adversarial: Any = None,
    class_names: Sequence[str] | None = None,
    title: str = "t-SNE",
) -> FigureFiles:
    """Scatter of an (N, 2) embedding coloured by class; with an ``adversarial`` (N,) mask the
    attacked points are drawn as crosses (seed 002 Fig. 5.7)."""
    emb, lab = _array(embedding), np.asarray(_array(labels), dtype=np.int64)
    if emb.ndim != 2 or emb.shape[1] != 2 or len(lab) != len(emb):
        raise ValueError(f"need an (N, 2) embedding and N labels, got {emb.shape}, {lab.shape}")
    adv = np.zeros(len(emb), bool) if adversarial is None else np.asarray(adversarial, bool)
    fig = Figure(figsize=(6.0, 5.5))
    ax = fig.add_subplot(1, 1, 1)
    classes = np.unique(lab)
    cmap = "tab10" if len(classes) <= 10 else "tab20"
    palette = matplotlib.colormaps[cmap]
    for i, k in enumerate(classes):
        name = class_names[k] if class_names is not None else str(k)
        for mask, marker, suffix in ((~adv, "o", ""), (adv, "x", " (adv)")):
            sel = (lab == k) & mask
            if sel.any():
                coll = ax.scatter(
                    emb[sel, 0],
                    emb[sel, 1],
                    s=8,
                    marker=marker,
                    color=palette(i % palette.N),
                    label=name + suffix,
                )
                coll.set_gid(f"class-{k}{'-adv' if suffix else ''}")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    ax.legend(fontsize=6, markerscale=2, loc="best", ncol=2)
    fig.tight_layout()
    return save_figure(fig, path)


def adversarial_grid(
    x: Any, x_adv: Any, path: str | Path, amplify: float = 10.0, n: int = 8
) -> FigureFiles:
    """Rows: clean images, adversarial images, perturbation × ``amplify`` shown around grey
    (0.5 + amplify·δ, clipped); ``n`` columns."""
    clean, adv = _array(x)[:n], _array(x_adv)[:n]
    if clean.shape != adv.shape or clean.ndim != 4:
        raise ValueError(
            f"x and x_adv must be matching (N, C, H, W), got {clean.shape}, {adv.shape}"
        )
    delta = 0.5 + amplify * (adv - clean)
    m = len(clean)
    fig = Figure(figsize=(1.4 * m, 4.6))
    for row, (imgs, name) in enumerate(
        ((clean, "clean"), (adv, "adversarial"), (delta, f"δ × {amplify:g}"))
    ):
        for col in range(m):
            ax = fig.add_subplot(3, m, row * m + col + 1)
            img = _image(imgs[col])
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(name, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def landscape_figure(
    alphas: Any, betas: Any, losses: Any, path: str | Path, title: str = "adversarial loss"
) -> FigureFiles:
    """The loss over the (α, β) plane of two filter-normalised directions (seed 001 Fig. 6):
    a 3-D surface and a contour map."""
    a, b, z = _array(alphas), _array(betas), _array(losses)
    if z.shape != (len(a), len(b)):
        raise ValueError(
            f"losses must be (len(alphas), len(betas)) = {(len(a), len(b))}, got {z.shape}"
        )
    aa, bb = np.meshgrid(a, b, indexing="ij")
    fig = Figure(figsize=(10.0, 4.5))
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    ax3.plot_surface(aa, bb, z, cmap="viridis", linewidth=0)
    ax3.set_xlabel("α")
    ax3.set_ylabel("β")
    ax3.set_zlabel("loss")
    ax = fig.add_subplot(1, 2, 2)
    contour = ax.contourf(aa, bb, z, levels=20, cmap="viridis")
    fig.colorbar(contour, ax=ax)
    ax.plot([0], [0], "r+", markersize=10)
    ax.set_xlabel("α")
    ax.set_ylabel("β")
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def inversion_figure(
    seeds: Any, maps: Mapping[str, Any], path: str | Path, title: str = ""
) -> FigureFiles:
    """Seed 001 Fig. 5: column 1 the seed images, then one column of inversion maps per method
    (each (S, C, H, W) like ``seeds``)."""
    seed_imgs = _array(seeds)
    columns = [("seed", seed_imgs)] + [(name, _array(m)) for name, m in maps.items()]
    if any(m.shape != seed_imgs.shape for _, m in columns):
        raise ValueError("every inversion map set must have the shape of the seed images")
    s, c = len(seed_imgs), len(columns)
    fig = Figure(figsize=(1.6 * c, 1.6 * s + 0.4))
    for row in range(s):
        for col, (name, imgs) in enumerate(columns):
            ax = fig.add_subplot(s, c, row * c + col + 1)
            img = _image(imgs[row])
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)
