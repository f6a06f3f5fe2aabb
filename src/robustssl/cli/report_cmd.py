"""``robustssl report STUDY_DIR [--out DIR] [--add-records FILE ...]``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write a study's tables, figures and static HTML report",
        description="Read STUDY_DIR/results.sqlite and write STUDY_DIR/report/: the seeds' "
        "tables as Markdown, CSV and LaTeX, figures as PNG and SVG, and index.html (no server, "
        "no external assets). See docs/experiments.md.",
    )
    parser.add_argument("study", type=Path, help="study directory (holds results.sqlite)")
    parser.add_argument("--out", type=Path, default=None, help="output dir (STUDY_DIR/report)")
    parser.add_argument(
        "--add-records",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="an earlier report's records.csv (e.g. docs/results/NAME.csv) of the same "
        "experiment: its seeds this study has not run are reported beside the study's own, "
        "each record checked to be of a stage the experiment plans (repeatable)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robustssl.cli.paths import check_output_dir
    from robustssl.experiments.report import build_report

    if args.out is not None:
        check_output_dir(args.out, "--out")
    report = build_report(args.study, args.out, add_records=args.add_records)
    print(
        f"report: {report.index} ({len(report.tables)} tables, {len(report.figures)} figures, "
        f"{report.findings} gradient-masking findings)"
    )
    return 0
