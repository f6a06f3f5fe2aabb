"""``robustssl views``: render a dataset's training views (SimCLR, rotation, jigsaw, HFC) as PNG.

Lets a researcher see what the encoder is trained on before spending compute on it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported when the command runs, so `robustssl --help` stays quick
    import torch


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "views",
        help="save a PNG grid of the training views of a few images",
        description="Rows: originals, two SimCLR views, a random rotation, a jigsaw scramble, "
        "the low- and high-frequency components (seed 001 eq. 8).",
    )
    parser.add_argument("--dataset", default="fashion_mnist", help="registered dataset name")
    parser.add_argument("--split", default="train")
    parser.add_argument(
        "--root", type=Path, default=None, help="data root (default: $ROBUSTSSL_DATA or ./data)"
    )
    parser.add_argument("--num-images", type=int, default=8, help="images per row (default 8)")
    parser.add_argument("--radius", type=float, default=None, help="FFT radius r (default: side/4)")
    parser.add_argument("--jigsaw-grid", type=int, default=2, help="jigsaw grid n (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("views.png"), help="output PNG path")
    parser.set_defaults(handler=run)


def _to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """Min–max rescale each image for display (the HFC has negative values)."""
    flat = x.flatten(1)
    lo, hi = flat.min(1).values, flat.max(1).values
    return ((flat - lo[:, None]) / (hi - lo).clamp_min(1e-8)[:, None]).view_as(x)


def render_rows(x: torch.Tensor, seed: int, radius: float, jigsaw_grid: int) -> list[torch.Tensor]:
    """The grid's rows for a batch x in [0,1]: each row has x's shape."""
    from robustssl.data.views import (
        JigsawPuzzle,
        SimCLRViewConfig,
        SimCLRViews,
        frequency_split,
        random_rotation,
    )
    from robustssl.utils import make_generator

    gen = make_generator(seed)
    simclr = SimCLRViews(SimCLRViewConfig())
    view1, view2 = simclr.views(x, n_views=2, generator=gen)
    rotated, _ = random_rotation(x, generator=gen)
    puzzle = JigsawPuzzle(
        grid=jigsaw_grid, num_permutations=min(24, _factorial(jigsaw_grid**2)), seed=seed
    )
    scrambled, _ = puzzle(x, generator=gen)
    low, high = frequency_split(x, radius)
    return [x, view1, view2, rotated, scrambled, low.clamp(0, 1), _to_unit_range(high)]


def _factorial(n: int) -> int:
    out = 1
    for k in range(2, n + 1):
        out *= k
    return out


def run(args: argparse.Namespace) -> int:
    import torch

    from robustssl.cli.paths import check_output_file
    from robustssl.data import default_data_root, load_dataset
    from robustssl.utils.optional import require

    if args.num_images < 1:
        raise ValueError(f"--num-images must be ≥ 1, got {args.num_images}")
    check_output_file(args.out, "--out")
    save_image = require("torchvision.utils", "robustssl views").save_image
    root = args.root if args.root is not None else default_data_root()
    data = load_dataset(args.dataset, split=args.split, root=root)
    count = min(args.num_images, len(data))
    x, _ = data.get_batch(torch.arange(count))
    side = min(x.shape[-2:])
    x = x[..., :side, :side]
    radius = args.radius if args.radius is not None else side / 4
    rows = render_rows(x, args.seed, radius, args.jigsaw_grid)
    save_image(torch.cat(rows), args.out, nrow=count, padding=2, pad_value=1.0)
    print(
        f"wrote {args.out} ({len(rows)} rows x {count} images of {args.dataset}/{args.split}: "
        "original, SimCLR view 1, SimCLR view 2, rotation, jigsaw, low-pass, high-pass)"
    )
    return 0
