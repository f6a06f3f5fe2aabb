"""``robustssl finetune --config FILE [key=value ...] [--resume] [--print-config]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "finetune",
        help="finetune a pretrained encoder (slf, alf, aff, sff, partial)",
        description="Finetune the encoder of a pretraining run (or a random one) on a labelled "
        "dataset into <output_dir>/<name>: config, classifier.safetensors, metrics.csv, "
        "resumable per-epoch state and summary.json.",
    )
    parser.add_argument("--config", type=Path, default=None, help="YAML config (see configs/)")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="override config keys, e.g. protocol=alf adversary.eps=0.1 optim.epochs=2",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run from its last finished epoch"
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config and exit"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robustssl.finetune import FinetuneConfig, finetune
    from robustssl.utils.config import load_config

    cfg = load_config(args.config, FinetuneConfig, args.overrides)
    if args.print_config:
        print(json.dumps(cfg.model_dump(mode="json"), indent=2))
        return 0
    result = finetune(cfg, resume=args.resume)
    shown = ", ".join(
        f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.metrics.items()
    )
    print(f"run {result.run_dir}: {shown} ({result.seconds:.0f} s of training)")
    return 0
