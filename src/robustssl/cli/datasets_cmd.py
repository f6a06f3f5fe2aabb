"""``robustssl datasets [--json]``: the dataset registry and where each dataset is found locally;
``robustssl datasets fetch NAME``: get one (Debian's package, else a download)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "datasets",
        help="list known datasets and which are available locally; fetch one",
        description="List the dataset registry and where each dataset's files were found "
        "(plain columns, never cut: pipe it through grep), or `robustssl datasets fetch NAME`.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="data root to search (default: $ROBUSTSSL_DATA or ./data)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per dataset")
    parser.set_defaults(handler=run)
    actions = parser.add_subparsers(dest="datasets_action", metavar="ACTION")
    listing = actions.add_parser("list", help="the default: list the registry")
    listing.set_defaults(handler=run)
    fetch = actions.add_parser(
        "fetch",
        help="get a dataset: Debian's package (apt, as root or with passwordless sudo), else "
        "torchvision's download",
        description="Get a dataset onto this machine: Debian's package where there is one "
        "(fashion_mnist: dataset-fashion-mnist) when apt-get may run as root or through "
        "passwordless sudo, else torchvision's download into the data root; if neither works, "
        "say what was tried and the ways left. Nothing is done when it is already here.",
    )
    fetch.add_argument("name", help="dataset name (robustssl datasets)")
    fetch.add_argument(
        "--root", type=Path, default=None, help="where a download goes (default: data root)"
    )
    fetch.add_argument("--no-apt", action="store_true", help="never run apt-get")
    fetch.add_argument("--no-download", action="store_true", help="never download")
    fetch.set_defaults(handler=run_fetch)


def _size(n_bytes: float | None) -> str:
    if not n_bytes:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    raise AssertionError("unreachable")


def collect(root: Path | None) -> list[dict[str, Any]]:
    """One record per registered dataset: its facts and where it was found (None if absent)."""
    from robustssl.data import DATASETS, find_local

    rows = []
    for name, info in DATASETS.items():
        found = find_local(name, root=root)
        rows.append(
            {
                "name": name,
                "num_classes": info.num_classes,
                "image_shape": list(info.image_shape) if info.image_shape else None,
                "splits": list(info.splits),
                "approx_bytes": info.approx_bytes,
                "local": str(found) if found is not None else None,
                "description": info.description,
            }
        )
    return rows


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces; no cell is ever cut."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from robustssl.data import DATASETS, default_data_root, find_local

    root = args.root if args.root is not None else default_data_root()
    if args.json:
        for row in collect(root):
            print(json.dumps(row))
        return 0
    cells = []
    for name, info in DATASETS.items():
        found = find_local(name, root=root)
        fix = "--root DIR" if name == "imagefolder" else f"robustssl datasets fetch {name}"
        shape = info.image_shape
        cells.append(
            [
                name,
                str(info.num_classes or "-"),
                "x".join(map(str, shape)) if shape else "any",
                ",".join(info.splits),
                _size(info.approx_bytes),
                str(found) if found is not None else f"not found ({fix})",
            ]
        )
    print(f"# robustssl datasets (data root: {root})")
    print(format_table(["name", "classes", "shape(C,H,W)", "splits", "size", "local files"], cells))
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from robustssl.data.fetch import fetch_dataset

    fetched = fetch_dataset(
        args.name, args.root, use_apt=not args.no_apt, use_download=not args.no_download
    )
    verb = {"present": "already here", "apt": "installed with apt", "download": "downloaded"}
    print(f"{fetched.name}: {verb[fetched.how]}: {fetched.location}")
    return 0
