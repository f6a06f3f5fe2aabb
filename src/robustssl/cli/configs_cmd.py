"""``robustssl configs list`` and ``robustssl configs copy DIR [--force]``: the config files
shipped with robustssl (stage configs, ``quickstart.yaml``, ``reproduce/*.yaml``);
``robustssl config schema KIND [--out FILE]``: the JSON schema of a config file (``config`` and
``configs`` are one command)."""

from __future__ import annotations

import argparse
from pathlib import Path

from robustssl.runs.compare import CONFIG_KINDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "configs",
        aliases=["config"],
        help="list the config files shipped with robustssl, or copy them to edit",
        description="Config files shipped with robustssl. Any --config or experiment file that "
        "is not a local file is looked up among them, with or without .yaml "
        "(e.g. --config fashion_mnist/simclr, robustssl run reproduce/seed001_table1_fmnist).",
    )
    actions = parser.add_subparsers(dest="configs_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="print the shipped configs, one per line")
    listing.set_defaults(handler=run_list)
    copy = actions.add_parser("copy", help="copy every shipped config into DIR to edit")
    copy.add_argument("dest", type=Path, metavar="DIR", help="destination (created if absent)")
    copy.add_argument("--force", action="store_true", help="overwrite files already in DIR")
    copy.set_defaults(handler=run_copy)
    schema = actions.add_parser(
        "schema",
        help="print the JSON schema of a config file (editor completion)",
        description="The JSON schema (pydantic) of a pretrain, finetune, evaluate or experiment "
        "config file, for editor completion and checking (e.g. the YAML language server).",
    )
    schema.add_argument("kind", choices=CONFIG_KINDS, help="which config file")
    schema.add_argument("--out", type=Path, metavar="FILE", help="write it to FILE, not stdout")
    schema.set_defaults(handler=run_schema)


def run_list(args: argparse.Namespace) -> int:
    from robustssl.utils.config_files import configs_dir, list_configs

    print(f"# configs shipped with robustssl, in {configs_dir()}")
    for name in list_configs():
        print(name)
    return 0


def run_copy(args: argparse.Namespace) -> int:
    from robustssl.utils.config_files import copy_configs

    written = copy_configs(args.dest, overwrite=args.force)
    print(f"copied {len(written)} config files into {args.dest}")
    print(f"use them with e.g. --config {args.dest / 'fashion_mnist' / 'simclr.yaml'}")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    import json

    from robustssl.experiments.schema import config_schema
    from robustssl.runs.atomic import atomic_write_text

    text = json.dumps(config_schema(args.kind), indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        print(text, end="")
        return 0
    atomic_write_text(args.out, text)
    print(f"wrote the {args.kind} config schema to {args.out}")
    return 0
