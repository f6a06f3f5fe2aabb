"""``robustssl quickstart [key=value ...]``: the Fashion-MNIST study of configs/quickstart.yaml,
then its HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from robustssl.cli.run_cmd import add_run_options, execute_study


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "quickstart",
        help="run the small Fashion-MNIST study (about 7 min on 2 CPU cores) and write its report",
        description="Supervised, supervised PGD-AT, SimCLR and AdvCL on Fashion-MNIST (small "
        "CNN), SLF and ALF finetuning, SA / RA (PGD-20) / ε-curves, then the HTML report. "
        "Stopped? Run it again: completed stages are kept.",
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="experiment file (configs/quickstart.yaml)"
    )
    add_run_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robustssl.experiments.quickstart import quickstart_file
    from robustssl.experiments.report import build_report

    code, study = execute_study(args.config or quickstart_file(), args)
    if study is None:
        return code
    report = build_report(study)
    print(f"report: {report.index}")
    print(f"open it in a browser: file://{report.index.resolve()}")
    return code
