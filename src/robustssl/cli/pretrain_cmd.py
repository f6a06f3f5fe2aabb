"""``robustssl pretrain --config FILE [key=value ...] [--resume]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from robustssl.cli.smoke_option import add_smoke_option, banner, smoke_config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pretrain",
        help="pretrain an encoder (simclr, simsiam, barlow_twins, supcon, rotation, jigsaw, ...)",
        description="Train a method from a YAML config into <output_dir>/<name>: config, weights "
        "(safetensors), metrics (CSV + TensorBoard), a resumable checkpoint and summary.json.",
    )
    parser.add_argument("--config", type=Path, default=None, help="YAML config (see configs/)")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="override config keys, e.g. optim.lr=0.01 trainer.max_epochs=1",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run from its last checkpoint"
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config and exit"
    )
    add_smoke_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robustssl.cli.show import format_metrics
    from robustssl.methods import PretrainConfig, pretrain
    from robustssl.utils.config import load_config

    cfg = smoke_config("pretrain", load_config(args.config, PretrainConfig, args.overrides), args)
    if args.print_config:
        print(json.dumps(cfg.model_dump(mode="json"), indent=2))
        return 0
    result = pretrain(cfg, resume=args.resume)
    if result.already_complete:
        print(f"run {result.run_dir} is already complete; nothing was changed")
    shown = format_metrics(result.metrics)
    print(f"run {result.run_dir}: {shown} ({result.seconds:.0f} s of training)")
    if cfg.smoke:
        print(banner())
    return 0
