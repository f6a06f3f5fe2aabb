"""``robustssl datasets``: list the dataset registry and where each dataset is found locally."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from robustssl.data import DATASETS, default_data_root, find_local


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "datasets",
        help="list known datasets and which are available locally",
        description="List the dataset registry and where each dataset's files were found.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="data root to search (default: $ROBUSTSSL_DATA or ./data)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per dataset")
    parser.set_defaults(handler=run)


def _size(n_bytes: int | None) -> str:
    if not n_bytes:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    raise AssertionError("unreachable")


def collect(root: Path | None) -> list[dict[str, object]]:
    """One record per registered dataset: its facts and where it was found (None if absent)."""
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


def run(args: argparse.Namespace) -> int:
    root = args.root if args.root is not None else default_data_root()
    rows = collect(root)
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    table = Table(title=f"robustssl datasets (data root: {root})")
    for column in ("name", "classes", "shape (C,H,W)", "splits", "size", "local files"):
        table.add_column(column)
    for row in rows:
        shape = "x".join(map(str, row["image_shape"])) if row["image_shape"] else "any"
        hint = "--root DIR" if row["name"] == "imagefolder" else "download=True"
        local = row["local"] or f"[dim]not found ({hint})[/dim]"
        table.add_row(
            str(row["name"]),
            str(row["num_classes"] or "-"),
            shape,
            ", ".join(row["splits"]),
            _size(row["approx_bytes"]),
            local,
        )
    Console().print(table)
    return 0
