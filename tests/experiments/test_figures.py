"""Figures: PNG + SVG written with the expected pixel sizes and one drawn element per method /
class, and clear errors for bad shapes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from studyfix import write_study

from robustssl.experiments import figures as figs
from robustssl.experiments.store import ResultsStore

SVG = "{http://www.w3.org/2000/svg}"


def _size(files: figs.FigureFiles) -> tuple[int, int]:
    assert files.png.is_file() and files.svg.is_file()
    assert files.svg.read_text().lstrip().startswith("<?xml")
    with Image.open(files.png) as img:
        return img.size


def _groups(svg: Path, prefix: str) -> dict[str, list[ET.Element]]:
    """Elements whose SVG id starts with ``prefix`` → their own <path> children (marker
    definitions inside <defs> are not counted)."""
    root = ET.parse(svg).getroot()
    return {
        el.get("id"): el.findall(f"{SVG}path")
        for el in root.iter()
        if (el.get("id") or "").startswith(prefix)
    }


def test_robustness_curves_one_line_per_method_and_panel(tmp_path: Path) -> None:
    curves = {
        "Linf": {"simclr": [(0.0, 80.0), (0.1, 10.0)], "advcl": [(0.1, 45.0), (0.0, 78.0)]},
        "L2": {"simclr": [(0.0, 80.0), (0.5, 20.0), (1.0, 5.0)]},
    }
    files = figs.robustness_curves(curves, tmp_path / "curves.png")
    assert _size(files) == (1000, 400)
    groups = _groups(files.svg, "curve-")
    assert sorted(groups) == ["curve-L2-simclr", "curve-Linf-advcl", "curve-Linf-simclr"]
    assert all(len(paths) == 1 for paths in groups.values())
    # the line passes through every point: one move-to and (points − 1) line-tos
    d = groups["curve-L2-simclr"][0].get("d")
    assert d.count("L") == 2 and d.startswith("M")
    one = figs.robustness_curves({"L2": curves["L2"]}, tmp_path / "one")
    assert _size(one) == (500, 400)
    with pytest.raises(ValueError, match="no curve points"):
        figs.robustness_curves({}, tmp_path / "none")


def test_curves_from_stored_rows(tmp_path: Path) -> None:
    with ResultsStore(tmp_path) as store:
        for run in write_study(tmp_path):
            store.ingest(run)
        rows = store.rows()
    curves = figs.curves_from_rows(rows)
    assert list(curves) == ["Linf"] and len(curves["Linf"]) == 5
    line = curves["Linf"]["supervised (SLF, ε_train=0) · PGD-20 α=ε/4"]  # attack per line
    assert [e for e, _ in line] == [0.0, 0.05, 0.1]
    assert [a for _, a in line] == pytest.approx([91.0, 40.0, 5.0])


def test_confusion_pair(tmp_path: Path) -> None:
    clean = torch.tensor([[9, 1, 0], [0, 8, 2], [1, 0, 9]])
    files = figs.confusion_pair(clean, clean.flip(0), tmp_path / "cm", ["a", "b", "c"])
    assert _size(files) == (1100, 500)
    assert sorted(_groups(files.svg, "confusion-")) == ["confusion-0", "confusion-1"]
    with pytest.raises(ValueError, match="square"):
        figs.confusion_pair(np.ones((3, 3)), np.ones((2, 2)), tmp_path / "bad")


def test_tsne_scatter_colours_by_class(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 10)
    emb = rng.normal(size=(30, 2))
    adv = np.arange(30) % 2 == 0
    files = figs.tsne_scatter(emb, labels, tmp_path / "tsne", adversarial=adv)
    assert _size(files) == (600, 550)
    groups = _groups(files.svg, "class-")
    assert sorted(groups) == [f"class-{k}{s}" for k in range(3) for s in ("", "-adv")]
    # each class group draws its own points: 5 clean and 5 attacked markers
    assert all(len(g.findall(f".//{SVG}use")) == 5 for g in _svg_groups(files.svg, "class-"))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        figs.tsne_scatter(np.zeros((5, 3)), np.zeros(5), tmp_path / "bad")


def _svg_groups(svg: Path, prefix: str) -> list[ET.Element]:
    root = ET.parse(svg).getroot()
    return [g for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith(prefix)]


def test_adversarial_grid_and_inversion(tmp_path: Path) -> None:
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    grid = figs.adversarial_grid(x, (x + 0.03).clamp(0, 1), tmp_path / "grid", n=4)
    assert _size(grid) == pytest.approx((560, 460), abs=1)
    rgb = torch.rand(2, 3, 8, 8)
    inv = figs.inversion_figure(rgb, {"advcl": rgb.flip(1), "simclr": 1 - rgb}, tmp_path / "inv")
    assert _size(inv) == pytest.approx((480, 360), abs=1)
    with pytest.raises(ValueError, match="matching"):
        figs.adversarial_grid(x, x[:2, :, :4], tmp_path / "bad")
    with pytest.raises(ValueError, match="shape of the seed images"):
        figs.inversion_figure(rgb, {"a": rgb[:1]}, tmp_path / "bad")


def test_landscape_figure(tmp_path: Path) -> None:
    a = np.linspace(-1, 1, 5)
    b = np.linspace(-1, 1, 4)
    z = a[:, None] ** 2 + b[None, :] ** 2
    files = figs.landscape_figure(a, b, z, tmp_path / "land.svg")
    assert files.png.name == "land.png" and _size(files) == (1000, 450)
    with pytest.raises(ValueError, match=r"\(len\(alphas\), len\(betas\)\)"):
        figs.landscape_figure(a, b, z.T, tmp_path / "bad")
