"""``robustssl pseudo-labels convert REF.pkl OUT.safetensors [--ks 2 10 50 100 500]``: AdvCL's
published ClusterFit pseudo-labels → a safetensors file for ``method.clusterfit.labels``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pseudo-labels",
        help="convert external ClusterFit pseudo-labels (AdvCL's pickle) to safetensors",
        description="Read AdvCL's data/imagenet_clPretrain_pseudo_labels.pkl through the "
        "restricted unpickler (numpy arrays and lists only; nothing in the file is executed) and "
        "write its pseudo_train_<K> columns as one (N, n_K) int64 tensor 'labels'.",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    convert = sub.add_parser("convert", help="pickle → .safetensors")
    convert.add_argument("source", type=Path, help="the reference's .pkl file")
    convert.add_argument("output", type=Path, help="the .safetensors file to write")
    convert.add_argument(
        "--ks",
        type=int,
        nargs="+",
        default=[2, 10, 50, 100, 500],
        help="cluster numbers K to take, in column order (default: 2 10 50 100 500)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robustssl.methods.external_labels import convert_reference_pickle

    if args.output.exists():
        raise ValueError(f"{args.output} exists; choose another output file (nothing was written)")
    labels = convert_reference_pickle(args.source, args.output, args.ks)
    counts = ", ".join(
        f"K={k}: {int(labels[:, i].unique().numel())} used" for i, k in enumerate(args.ks)
    )
    print(f"wrote {args.output}: {labels.shape[0]} samples × {labels.shape[1]} columns ({counts})")
    print(f"use it with method.clusterfit.labels={args.output} method.clusterfit.ks={args.ks}")
    return 0
