"""The ``volcspeech`` command.

Each service adds its subcommands through a ``register(subparsers)`` function
in a private module (``volcspeech.asr._cli``, ``volcspeech.rtc._cli``,
``volcspeech._demo``), so this file stays a thin dispatcher. Errors print their
code, message and ids and exit non-zero; credentials are never printed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Callable

from . import __version__
from .errors import APIError, VolcSpeechError

__all__ = ["build_parser", "main"]

# Modules that contribute subcommands; one missing is skipped, so the CLI works
# while a service is absent from a trimmed install.
_COMMAND_MODULES = ("volcspeech._demo", "volcspeech.asr._cli", "volcspeech.rtc._cli")

#: Exit status for a service or input error.
EXIT_ERROR = 1
#: Exit status for bad command-line usage (argparse's own).
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="volcspeech",
        description="Volcengine flash speech recognition and RTC segmentation, "
        "with a local emulator.",
    )
    parser.add_argument("--version", action="version", version=f"volcspeech {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] = (
            module.register
        )
        register(subparsers)
    return parser


def _describe(exc: VolcSpeechError) -> str:
    if isinstance(exc, APIError):
        parts = [f"error: {type(exc).__name__}: code={exc.code} message={exc.message}"]
        for label, value in (
            ("http_status", exc.http_status),
            ("request_id", exc.request_id),
            ("log_id", exc.log_id),
        ):
            if value is not None:
                parts.append(f"{label}={value}")
        return " ".join(parts)
    return f"error: {type(exc).__name__}: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose > 1 else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE if args.command is None else EXIT_ERROR
    try:
        return handler(args)
    except VolcSpeechError as exc:
        print(_describe(exc), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
