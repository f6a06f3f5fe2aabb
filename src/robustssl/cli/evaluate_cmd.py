"""``robustssl evaluate RUN_DIR_OR_CLASSIFIER_FILE [--config FILE] [key=value ...]``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from robustssl.evaluation.config import EvaluateConfig

from robustssl.cli.smoke_option import add_smoke_option, banner, smoke_config


class _OverridesAnywhere(argparse.ArgumentParser):
    """Collects ``key=value`` overrides wherever they are: argparse fills a ``nargs="*"``
    positional from one run of positionals only, so ``RUN --config F a=1`` would leave ``a=1``
    unrecognised."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        into = namespace if namespace is not None else argparse.Namespace()
        parsed, extras = super().parse_known_args(args, into)
        stray = [a for a in extras if "=" in a and not a.startswith("-")]
        parsed.overrides = [*getattr(parsed, "overrides", []), *stray]
        return parsed, [a for a in extras if a not in stray]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a finetuned classifier: SA/RA/AA, ε-curves, attacks, metrics, diagnostics",
        description="Evaluate a finetune run dir (holding classifier.safetensors) or a classifier "
        ".safetensors file on its test set, or your own model (--model pkg.module:factory "
        "--weights FILE.safetensors --dataset NAME); writes <run>/evaluation/<name>/records.json "
        "(merged with earlier results) and prints a summary table. See docs/evaluation.md.",
    )
    parser.add_argument(
        "target",
        type=Path,
        nargs="?",
        help="finetune run dir or classifier .safetensors (or --model/--weights instead)",
    )
    own = parser.add_argument_group(
        "your own model", "evaluate any nn.Module (images in [0,1] → logits, normalisation inside)"
    )
    own.add_argument(
        "--model",
        metavar="PKG.MODULE:FACTORY",
        help="a callable returning the nn.Module (imported from sys.path or the working dir)",
    )
    own.add_argument(
        "--weights", type=Path, metavar="FILE", help="its state dict (.safetensors, strict)"
    )
    own.add_argument("--dataset", metavar="NAME", help="test set to use (same as data.dataset=)")
    own.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where records.json goes (default: <weights dir>/evaluation/<name>)",
    )
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

    target = args.target
    if target is not None and "=" in str(target) and not target.exists():
        args.overrides, args.target = [str(target), *args.overrides], None  # --model: no target
    cfg = smoke_config("evaluate", load_config(args.config, EvaluateConfig, args.overrides), args)
    if args.print_config:
        print(json.dumps(cfg.model_dump(mode="json"), indent=2))
        return 0
    if args.model is not None or args.weights is not None:
        return _run_own_model(args, cfg)
    if args.target is None:
        raise ValueError(
            "name what to evaluate: a finetune run dir / classifier .safetensors, or "
            "--model pkg.module:factory --weights FILE.safetensors --dataset NAME"
        )
    if args.dataset is not None or args.out is not None:
        raise ValueError("--dataset and --out go with --model; for a run use data.dataset=...")
    done = evaluate_checkpoint(args.target, cfg)
    print(format_summary(done.result.records))
    print(f"wrote {done.records_path}")
    if any(r.tags.get("smoke") for r in done.result.records):
        print(banner())
    return 0


def _run_own_model(args: argparse.Namespace, cfg: EvaluateConfig) -> int:
    """``--model pkg.module:factory --weights FILE --dataset NAME [--out DIR]``."""
    from robustssl.evaluation.model_api import evaluate_model
    from robustssl.models.factory import model_from_factory
    from robustssl.utils import resolve_device

    if args.target is not None:
        raise ValueError(f"give either {args.target} or --model/--weights, not both")
    if args.model is None or args.weights is None:
        raise ValueError("--model pkg.module:factory and --weights FILE.safetensors go together")
    dataset = args.dataset or cfg.data.dataset
    if dataset is None:
        raise ValueError("--model needs the test set: --dataset NAME (e.g. fashion_mnist)")
    if not args.weights.is_file():
        raise FileNotFoundError(f"--weights {args.weights}: no such file")
    out = args.out or args.weights.parent / "evaluation" / cfg.name
    model = model_from_factory(args.model, args.weights).to(resolve_device(cfg.device))
    done = evaluate_model(model, dataset=dataset, config=cfg, name=args.model, out=out)
    print(done.table)
    print(f"wrote {done.records_path}")
    return 0
