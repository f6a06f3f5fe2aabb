"""``robustssl results STUDY_DIR [--ingest RUN_DIR ...] [--filter key=value ...]
[--pivot rows=a,b cols=c value=v] [--csv FILE]``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "results",
        help="show a study's results (filter, pivot, export CSV)",
        description="Print the records of STUDY_DIR/results.sqlite as a table, filtered with "
        "key=value pairs and optionally pivoted; accuracies are shown in %, --csv writes the "
        "stored fractions at full precision. Keys: metric, method, protocol, threat, eps_train, "
        "label_fraction, model, dataset, norm, eps, attack, attack_tag, n, subset, seed, stage, "
        "kind, tags.<name>; an unknown key or metric is an error. See docs/experiments.md.",
    )
    parser.add_argument("study", type=Path, help="study directory (holds results.sqlite)")
    parser.add_argument(
        "--ingest",
        type=Path,
        action="append",
        default=[],
        metavar="RUN_DIR",
        help="first read RUN_DIR/evaluation/*/records.json into the store (repeatable)",
    )
    parser.add_argument(
        "--filter",
        nargs="+",
        default=[],
        metavar="key=value",
        help="keep matching records (a,b: either value)",
    )
    parser.add_argument(
        "--pivot",
        nargs="+",
        default=None,
        metavar="rows=…|cols=…|value=…",
        help="pivot, e.g. rows=method,protocol cols=eps value=value (mean ± std (n) per cell, "
        "columns split by attack tag)",
    )
    parser.add_argument(
        "--csv",
        type=Path,
        default=None,
        help="also write the table as CSV (stored fractions, full precision)",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild a damaged results.sqlite from the study's records.json files (the old "
        "file is kept as results.sqlite.damaged-<time>)",
    )
    parser.set_defaults(handler=run)


def parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    """``["a=1", "b=x"]`` → {"a": "1", "b": "x"}; a pair without "=" is an error."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} {pair!r} is not key=value (e.g. metric=ra)")
        out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    from robustssl.cli.paths import check_output_file
    from robustssl.experiments.formats import to_csv, to_text
    from robustssl.experiments.rebuild import rebuild_store
    from robustssl.experiments.store import ROW_KEYS, ResultsStore, check_keys
    from robustssl.experiments.tables import listing, pivot, pivot_spec

    if args.csv is not None:
        check_output_file(args.csv, "--csv")
    if args.rebuild:
        print(rebuild_store(args.study).summary())

    filters: dict[str, str | list[str]] = {
        k: v.split(",") if "," in v else v for k, v in parse_pairs(args.filter, "--filter").items()
    }
    spec = pivot_spec(parse_pairs(args.pivot, "--pivot")) if args.pivot is not None else None
    with ResultsStore(args.study, create=bool(args.ingest)) as store:
        for run_dir in args.ingest:
            done = store.ingest(run_dir)
            print(
                f"ingested {run_dir}: {done.inserted} new, {done.updated} updated, "
                f"{done.unchanged} unchanged records from {len(done.files)} file(s)"
            )
        if spec is not None:
            check_keys([*spec[0], spec[1], spec[2]], ROW_KEYS, store.tag_names(), "pivot")
        rows = store.rows(**filters)
    if not rows:
        print(f"no records match {filters or '(no filter)'} in {args.study}")
        return 1
    table = pivot(rows, *spec) if spec is not None else listing(rows)
    print(to_text(table), end="")
    if args.csv is not None:
        args.csv.write_text(to_csv(table))
        print(f"wrote {args.csv}")
    return 0
