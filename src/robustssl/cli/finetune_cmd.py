"""``robustssl finetune --config FILE [key=value ...] [--resume] [--print-config]``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path

from robustssl.cli.smoke_option import add_smoke_option, banner, smoke_config
from robustssl.runs.layout import SUMMARY


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
    add_smoke_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robustssl.finetune import FinetuneConfig, finetune
    from robustssl.utils.config import load_config

    cfg = smoke_config("finetune", load_config(args.config, FinetuneConfig, args.overrides), args)
    if args.print_config:
        print(json.dumps(cfg.model_dump(mode="json"), indent=2))
        return 0
    result = finetune(cfg, resume=args.resume)
    smoke = bool(json.loads((result.run_dir / SUMMARY).read_text()).get("smoke"))
    print(format_finetune_result(result.run_dir, result.metrics, result.seconds, smoke=smoke))
    if smoke:
        print(banner())
    return 0


def format_finetune_result(
    run_dir: Path, metrics: Mapping[str, object], seconds: float, *, smoke: bool = False
) -> str:
    """The finished run: its clean accuracy labelled as measured on the full test set (not the
    first n points `robustssl evaluate` calls SA; a smoke run's subset of it), then the other
    metrics."""
    from robustssl.cli.show import format_metrics

    clean, points = metrics.get("clean_accuracy"), metrics.get("test_samples", "all")
    others = format_metrics({k: v for k, v in metrics.items() if k != "clean_accuracy"})
    head = f"run {run_dir}: "
    if isinstance(clean, float):
        where = "a smoke subset of the test set" if smoke else "the full test set"
        head += f"clean accuracy {100 * clean:.2f}% on {where} ({points} points); "
    return f"{head}{others} ({seconds:.0f} s of training)"
