"""The ``robustssl`` command: one sub-command per module in this package."""

from robustssl.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
