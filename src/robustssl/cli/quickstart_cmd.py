"""``robustssl quickstart [key=value ...]``: the Fashion-MNIST study of configs/quickstart.yaml,
then its HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from robustssl.cli.run_cmd import add_run_options, execute_study

# The one stated quickstart time (README, configs/quickstart.yaml, docs/running.md and
# docs/reproduce.md say the same; tests/cli/test_output.py checks it). Measured: 4½ minutes.
QUICKSTART_TIME = "about 5 minutes on a 2-core CPU"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "quickstart",
        help=f"run the small Fashion-MNIST study ({QUICKSTART_TIME}) and write its report",
        description="Supervised, supervised PGD-AT, SimCLR and AdvCL on Fashion-MNIST (small "
        "CNN), SLF and ALF finetuning, SA / RA (PGD-20) / ε-curves, then the HTML report "
        f"({QUICKSTART_TIME}). Stopped? Run it again: completed stages are kept.",
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="experiment file (configs/quickstart.yaml)"
    )
    parser.add_argument(
        "--no-fetch",
        action="store_true",
        help="do not get missing datasets (Debian's package via apt, else a download); stop "
        "with the ways to get them instead",
    )
    add_run_options(parser)
    parser.set_defaults(handler=run)


def fetch_study_data(experiment: Path, overrides: list[str]) -> None:
    """Get the study's missing datasets before it starts (``robustssl datasets fetch``)."""
    from robustssl.experiments.datacheck import fetch_missing
    from robustssl.experiments.plan import expand
    from robustssl.experiments.spec import load_experiment

    fetch_missing(expand(load_experiment(experiment, overrides)))


def run(args: argparse.Namespace) -> int:
    from robustssl.experiments.quickstart import quickstart_file
    from robustssl.experiments.report import build_report

    experiment = args.config or quickstart_file()
    if not args.dry_run and not args.no_fetch:
        fetch_study_data(experiment, args.overrides)
    code, study = execute_study(experiment, args)
    if study is None:
        return code
    report = build_report(study)
    print(f"report: {report.index}")
    print(f"open it in a browser: file://{report.index.resolve()}")
    return code
