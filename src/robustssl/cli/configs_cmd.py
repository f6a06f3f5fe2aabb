"""``robustssl configs list`` and ``robustssl configs copy DIR [--force]``: the config files
shipped with robustssl (stage configs, ``quickstart.yaml``, ``reproduce/*.yaml``)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "configs",
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
