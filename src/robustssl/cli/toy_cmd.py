"""``robustssl toy triangle-square|lt``: the toy robustness studies of seed 000 §6, our numbers
(mean ± std over seeds; PGD and exact certificates) next to the seed's. See docs/toy.md."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

QUICK = {"seeds": 2, "fraction": 0.01, "extended_epochs": 2, "variant_epochs": 20}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "toy",
        help="the toy studies of seed 000 §6 (triangle-square, L-T) with exact certificates",
        description="Train and attack the conv + max-pool toy models of seed 000 §6 over several "
        "seeds, certify them exactly, and print our numbers next to the seed's.",
    )
    add = parser.add_argument
    add("study", choices=("triangle-square", "lt"), help="which study to run")
    add("--seeds", type=int, default=5, help="number of seeds, 0..N-1 (default 5)")
    add("--epochs", type=int, default=20, help="standard-training epochs (seed: 20)")
    add("--extended-epochs", type=int, default=6, help="epochs on the extended L-T data (6)")
    add("--fraction", type=float, default=1.0, help="share of the 344M extended samples per epoch")
    add("--variant-epochs", type=int, default=200, help="epochs for the pattern-pixel variants")
    add("--no-variants", action="store_true", help="skip the wrong-assumption variants")
    add("--quick", action="store_true", help="2 seeds, 1%% of the extended data, 2 epochs")
    add("--json", type=Path, default=None, help="also write the rows as JSON to this file")
    add("--progress", action="store_true", help="show progress bars")
    parser.set_defaults(handler=run)


def _options(args: argparse.Namespace) -> dict[str, int | float]:
    """The sizing options, ``--quick`` applied and each checked (the error names the flag)."""
    opts: dict[str, int | float] = {
        "seeds": args.seeds,
        "epochs": args.epochs,
        "extended_epochs": args.extended_epochs,
        "variant_epochs": args.variant_epochs,
        "fraction": args.fraction,
    }
    if args.quick:
        opts.update(QUICK)
    for key, value in opts.items():
        if key != "fraction" and value < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be ≥ 1, got {value}")
    if not 0 < opts["fraction"] <= 1:
        raise ValueError(f"--fraction must be in (0, 1], got {opts['fraction']}")
    return opts


def _config(args: argparse.Namespace):  # -> ToyStudyConfig (imported lazily)
    from robustssl.toy import ToyStudyConfig, TrainSpec

    opts = _options(args)
    base = ToyStudyConfig()
    return base.model_copy(
        update={
            "seeds": tuple(range(int(opts["seeds"]))),
            "standard": TrainSpec(epochs=int(opts["epochs"]), lr=base.standard.lr),
            "extended": TrainSpec(epochs=int(opts["extended_epochs"]), lr=base.extended.lr),
            "variant": TrainSpec(epochs=int(opts["variant_epochs"]), lr=base.variant.lr),
            "fraction": float(opts["fraction"]),
            "variants": not args.no_variants,
            "progress": args.progress,
        }
    )


def run(args: argparse.Namespace) -> int:
    from robustssl.cli.paths import check_output_file
    from robustssl.toy import format_rows, lt_study, triangle_square_study
    from robustssl.toy.reference import SEED_FILE

    cfg = _config(args)
    if args.json is not None:
        check_output_file(args.json, "--json")  # before minutes of training, not after
    start = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    n = len(cfg.seeds)
    if args.study == "triangle-square":
        rows = triangle_square_study(cfg, log)
        title = f"triangle-square (seed {SEED_FILE} §6.1), {n} seeds"
    else:
        rows = lt_study(cfg, log)
        title = (
            f"L-T (seed {SEED_FILE} §6.2), {n} seeds; extended: Dataset-ε {cfg.dataset_eps:g}, "
            f"{cfg.extended.epochs} epochs on {cfg.fraction:g} of the 344,373,768 samples"
        )
    legend = (
        "% of the standard samples; pgd = PGD(α=ε/2, 10 steps), pgd50 = PGD(α=0.1ε, 50 steps), "
        "certified = exact LP certificate; ours = mean ± std over seeds"
    )
    print(format_rows(rows, f"{title}\n{legend}"))
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.json is not None:
        args.json.write_text(json.dumps([r.to_dict() for r in rows], indent=2))
    return 0
