"""Argument parsing and dispatch for the ``robustssl`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from robustssl import __version__
from robustssl.cli import (
    configs_cmd,
    datasets_cmd,
    evaluate_cmd,
    finetune_cmd,
    pretrain_cmd,
    quickstart_cmd,
    report_cmd,
    results_cmd,
    run_cmd,
    toy_cmd,
    views_cmd,
)

Command = Callable[[argparse.Namespace], int]
_SUBCOMMANDS = (
    datasets_cmd,
    views_cmd,
    pretrain_cmd,
    finetune_cmd,
    evaluate_cmd,
    results_cmd,
    report_cmd,
    run_cmd,
    quickstart_cmd,
    configs_cmd,
    toy_cmd,
)


RESUME_HINTS = {
    "run": "; run the same command again: completed stages are kept, the interrupted one resumes",
    "quickstart": "; run it again: completed stages are kept, the interrupted one resumes",
    "pretrain": "; continue with the same command and --resume",
    "finetune": "; continue with the same command and --resume",
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; each sub-command module contributes ``register(subparsers)``."""
    parser = argparse.ArgumentParser(
        prog="robustssl",
        description="Train self-supervised vision models and measure, explain and improve "
        "their adversarial robustness.",
    )
    parser.add_argument("--version", action="version", version=f"robustssl {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _SUBCOMMANDS:
        module.register(subparsers)
    return parser


def _append_overrides(
    parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]
) -> None:
    """``key=value`` overrides given after options (``run X.yaml --dry-run a=1``) join the
    command's overrides; anything else unrecognised is argparse's usual error."""
    unknown = [e for e in extra if e.startswith("-") or "=" not in e]
    if unknown or (extra and not isinstance(getattr(args, "overrides", None), list)):
        parser.error(f"unrecognized arguments: {' '.join(unknown or extra)}")
    if extra:
        args.overrides = [*args.overrides, *extra]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    _append_overrides(parser, args, extra)
    if args.command is None:
        parser.print_help()
        return 2
    handler: Command = args.handler
    # Imported after parsing, so that `robustssl --help` never loads torch (startup < 1.5 s).
    from robustssl.data.errors import DatasetError
    from robustssl.utils.config import ConfigError
    from robustssl.utils.optional import MissingExtraError

    try:
        return handler(args)
    except KeyboardInterrupt:
        hint = RESUME_HINTS.get(args.command, "")
        print(f"\nrobustssl {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    except (
        DatasetError, ConfigError, MissingExtraError, ValueError, FileNotFoundError,
        FloatingPointError,
    ) as err:
        print(f"robustssl {args.command}: error: {err}", file=sys.stderr)
        return 2
