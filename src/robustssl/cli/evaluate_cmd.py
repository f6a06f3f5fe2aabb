"""``robustssl evaluate RUN_DIR_OR_CLASSIFIER_FILE [--config FILE] [key=value ...]``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from robustssl.cli.smoke_option import add_smoke_option, banner, smoke_config


class _OverridesAnywhere(argparse.ArgumentParser):
    """Collects ``key=value`` overrides wherever they are: argparse fills a ``nargs="*"``
    positional from one run of positionals only, so ``RUN --config F a=1`` would leave ``a=1``
    unrecognised."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        namespace, extras = super().parse_known_args(args, namespace)
        stray = [a for a in extras if "=" in a and not a.startswith("-")]
        namespace.overrides = [*getattr(namespace, "overrides", []), *stray]
        return namespace, [a for a in extras if a not in stray]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a finetuned classifier: SA/RA/AA, ε-curves, attacks, metrics, diagnostics",
        description="Evaluate a finetune run dir (holding classifier.safetensors) or a classifier "
        ".safetensors file on its test set; writes <run>/evaluation/<name>/records.json (merged "
        "with earlier results) and prints a summary table. See docs/evaluation.md.",
    )
    parser.add_argument("target", type=Path, help="finetune run dir or classifier .safetensors")
    parser.add_argument("--config", type=Path, default=None, help="YAML config (see configs/)")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="override config keys, e.g. data.n=200 threats.Linf.eps=8/255 metrics=[sa,ra]",
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config and exit"
    )
    add_smoke_option(parser)
    parser.set_defaults(handler=run)
    parser.__class__ = type("EvaluateParser", (_OverridesAnywhere, type(parser)), {})


def run(args: argparse.Namespace) -> int:
    from robustssl.evaluation.config import EvaluateConfig
    from robustssl.evaluation.from_checkpoint import evaluate_checkpoint
    from robustssl.evaluation.suite import format_summary
    from robustssl.utils.config import load_config

    cfg = smoke_config("evaluate", load_config(args.config, EvaluateConfig, args.overrides), args)
    if args.print_config:
        print(json.dumps(cfg.model_dump(mode="json"), indent=2))
        return 0
    done = evaluate_checkpoint(args.target, cfg)
    print(format_summary(done.result.records))
    print(f"wrote {done.records_path}")
    if any(r.tags.get("smoke") for r in done.result.records):
        print(banner())
    return 0
