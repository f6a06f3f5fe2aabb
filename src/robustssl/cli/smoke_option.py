"""``--smoke`` on pretrain, finetune, evaluate, run and quickstart (the rule:
robustssl.runs.smoke)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # `robustssl --help` imports no pydantic
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")
HELP = (
    "smoke test: 1 epoch, a small data subset, few evaluated points (robustssl.runs.smoke); "
    "the run is marked smoke and its numbers are not results"
)


def add_smoke_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--smoke", action="store_true", help=HELP)


def announce() -> None:
    """The loud line a smoke run starts (stderr) and ends (stdout) with."""
    from robustssl.runs.smoke import BANNER

    print(f"*** {BANNER} ***", file=sys.stderr, flush=True)


def banner() -> str:
    from robustssl.runs.smoke import BANNER

    return f"*** {BANNER} ***"


def smoke_config(kind: str, cfg: M, args: argparse.Namespace) -> M:
    """``cfg`` shrunk when ``--smoke`` was given (announced on stderr), else ``cfg``."""
    if not getattr(args, "smoke", False):
        return cfg
    from robustssl.runs.smoke import shrink_config

    announce()
    return shrink_config(kind, cfg)
