"""``robustssl run EXPERIMENT.yaml [--dry-run] [--jobs N] [--threads N] [--launcher local|slurm]
[key=value]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from robustssl.cli.smoke_option import add_smoke_option, announce, banner

if TYPE_CHECKING:
    from robustssl.experiments.spec import Experiment


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``quickstart``."""
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="override experiment keys, e.g. seeds=[0,1] study_dir=/tmp/s data.download=true "
        "pretrain.simclr.overrides.trainer.max_epochs=1",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (stages, cached or to run, estimated cost) and write nothing",
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="independent stages run at once (default 1)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per stage (default: the cores divided among --jobs); numbers are "
        "bit-identical for the same seed and threads, so pin it to compare runs with other --jobs",
    )
    parser.add_argument(
        "--launcher",
        choices=("local", "slurm"),
        default="local",
        help="local processes, or submitit jobs on SLURM (pip install 'robustssl[cluster]')",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--no-estimate", action="store_true", help="--dry-run without the timing of a few steps"
    )
    add_smoke_option(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a study: pretrain → finetune → evaluate grids from an experiment file",
        description="Expand EXPERIMENT.yaml into stages and run those not complete yet, in "
        "dependency order; a killed study resumes where it stopped. Results go to "
        "STUDY_DIR/results.sqlite (see `robustssl results`, `robustssl report`). The exit "
        "status is the number of failed stages. Format: docs/running.md.",
    )
    parser.add_argument("experiment", type=Path, help="experiment file (YAML)")
    add_run_options(parser)
    parser.set_defaults(handler=run)


def execute_study(experiment: Path, args: argparse.Namespace) -> tuple[int, Path | None]:
    """Load, plan, and run (or print the plan); (exit status, study dir or None on dry run)."""
    from robustssl.experiments.dryrun import format_plan
    from robustssl.experiments.plan import expand
    from robustssl.experiments.runner import run_plan

    plan = expand(load_study(experiment, args))
    if args.dry_run:
        print(format_plan(plan, estimate=not args.no_estimate))
        return 0, None
    report = run_plan(
        plan, args.jobs, args.launcher, progress=not args.no_progress, threads=args.threads
    )
    print(report.summary())
    for name, error in report.failed.items():
        print(f"  failed: {name}: {error.splitlines()[0] if error else ''}")
    if plan.experiment.smoke:
        print(banner())
    return report.exit_code, report.study_dir


def load_study(experiment: Path, args: argparse.Namespace) -> Experiment:
    """The experiment; with ``--smoke`` every stage shrunk (robustssl.runs.smoke) and the study
    moved to ``<study_dir>-smoke``, announced on stderr."""
    from dataclasses import replace

    from robustssl.experiments.spec import load_experiment
    from robustssl.runs.smoke import smoke_study_dir

    exp = load_experiment(experiment, args.overrides)
    if not getattr(args, "smoke", False):
        return exp
    announce()
    return replace(exp, smoke=True, study_dir=smoke_study_dir(exp.study_dir))


def run(args: argparse.Namespace) -> int:
    code, _ = execute_study(args.experiment, args)
    return code
