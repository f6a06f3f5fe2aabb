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
    pseudo_labels_cmd,
    quickstart_cmd,
    report_cmd,
    results_cmd,
    run_cmd,
    toy_cmd,
    views_cmd,
)
from robustssl.runs.atomic import DiskFullError, disk_full_error, is_disk_full
from robustssl.runs.signals import (
    exit_status,
    raise_on_sigterm,
    signal_handlers_kept,
    signal_name,
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
    pseudo_labels_cmd,
)


RESUME_HINTS = {
    "run": "run the same command again: completed stages are kept, the interrupted one resumes",
    "quickstart": "run the same command again: completed stages are kept, the interrupted one "
    "resumes",
    "pretrain": "run the same command again with --resume: it continues from the last finished "
    "epoch",
    "finetune": "run the same command again with --resume: it continues from the last finished "
    "epoch",
    "evaluate": "run the same command again: the evaluation starts over (nothing was written)",
}
DEFAULT_HINT = "run the same command again (nothing was left half-written)"


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


def _os_error(err: OSError) -> str:
    if is_disk_full(err) and not isinstance(err, DiskFullError):
        return str(disk_full_error(err.filename or "the output", err))
    return str(err)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status (2: bad input or a fault such as
    a full disk or a damaged file; 130 / 143: stopped by Ctrl-C / kill)."""
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
        with signal_handlers_kept():  # restored afterwards (main() may be called in-process)
            raise_on_sigterm()  # `kill PID` unwinds the command like Ctrl-C does
            return handler(args)
    except KeyboardInterrupt as err:
        hint = RESUME_HINTS.get(args.command, DEFAULT_HINT)
        print(
            f"\nrobustssl {args.command}: interrupted by {signal_name(err)}; {hint}",
            file=sys.stderr,
        )
        return exit_status(err)
    except (
        DatasetError,
        ConfigError,
        MissingExtraError,
        ValueError,
        FileNotFoundError,
        FloatingPointError,
    ) as err:
        print(f"robustssl {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a permission, a path that is a file
        print(f"robustssl {args.command}: error: {_os_error(err)}", file=sys.stderr)
        return 2
