"""The ``volcspeech`` command.

Each service adds its subcommands through a ``register(subparsers)`` function
in a private module (``volcspeech.asr._cli``, ``volcspeech.rtc._cli``,
``volcspeech._demo``), so this file stays a thin dispatcher. Errors print their
code, message and ids and exit non-zero; credentials are never printed.

It is also where ``--emulator`` meets :mod:`volcspeech.testing`: the service
packages never import the emulator; this command hands them one (the parser
default ``emulated_asr_client``) and explains on stderr what an emulated
answer means when the emulator had no ground truth for the audio.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable

from . import __version__, credentials
from ._log import REDACTED, redact
from .errors import APIError, ConfigurationError, VolcSpeechError

if TYPE_CHECKING:  # pragma: no cover
    from .asr import AsrClient
    from .testing import AsrCall

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
    parser.set_defaults(emulated_asr_client=_emulated_asr_client)
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


@contextlib.contextmanager
def _emulated_asr_client(
    audio: str, truth: Mapping[str, Any] | None, settings: Mapping[str, Any]
) -> Iterator[AsrClient]:
    """A client of a throwaway emulator for ``asr recognize --emulator``."""
    from .testing import Emulator

    with Emulator() as emulator:
        if truth is not None:
            try:
                if audio.startswith(("http://", "https://")):
                    emulator.asr.register_url(audio, **truth)
                else:
                    emulator.asr.register(audio, **truth)
            except (OSError, ValueError) as exc:
                raise ConfigurationError(f"cannot register the ground truth: {exc}") from None
        with emulator.asr.client(**settings) as client:
            yield client
        calls = emulator.asr.calls
        if calls and calls[-1].emulated:
            print(_explain_emulated(audio, calls[-1]), file=sys.stderr)


def _explain_emulated(audio: str, call: AsrCall) -> str:
    """What an answer derived from the audio (no ground truth) holds, and how to give one."""
    name = "stdin" if audio == "-" else audio
    duration = f"its duration ({(call.duration_ms or 0) / 1000:.2f} s)"
    regions = call.speech_regions
    if regions is None:
        derived = f"{duration}. It does not decode MP3 or Ogg, so it knows no speech regions."
    else:
        spans = ", ".join(f"{a / 1000:.2f}-{b / 1000:.2f} s" for a, b in regions[:5])
        spans += f", ... ({len(regions) - 5} more)" if len(regions) > 5 else ""
        derived = (
            f"{duration} and {len(regions)} speech region(s) found by voice activity"
            f"{f' ({spans})' if regions else ''}, as utterances "
            '"[speech START-END s]" marked "emulated": true; see them with -f json, srt or vtt.'
        )
    return (
        f"volcspeech: the emulator has no ground truth for {name}, so it cannot know the "
        "words: the text is empty.\n"
        f"  It answered what it can derive from the audio itself: {derived}\n"
        '  To have it answer a transcript, give it one: --ground-truth FILE.json with {"text": '
        '...} or {"utterances": [...]} in the API\'s response shape (in Python: '
        "emulator.asr.register(path, text=...))."
    )


#: Environment variables whose values are secrets: never printed in an error line.
_SECRET_ENV = (
    credentials.ENV_SPEECH_API_KEY,
    credentials.ENV_SPEECH_ACCESS_KEY,
    credentials.ENV_SECRET_KEY,
    credentials.ENV_SESSION_TOKEN,
    credentials.ENV_OLD_SECRET_KEY,
)


def _scrub(line: str) -> str:
    """``line`` with credential values redacted, and any secret of the environment masked.

    The second step does not rely on where a secret appears: whatever an
    error message quotes (a server echoing a header, a library's message),
    the value of a secret variable, raw, stripped or as its repr escapes it,
    is replaced.
    """
    line = redact(line)
    for name in _SECRET_ENV:
        value = os.environ.get(name) or ""
        for form in sorted({value, value.strip(), repr(value)[1:-1]}, key=len, reverse=True):
            if len(form) >= 4:
                line = line.replace(form, REDACTED)
    return line


def _describe(exc: VolcSpeechError) -> str:
    return _scrub(_describe_raw(exc))


def _describe_raw(exc: VolcSpeechError) -> str:
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
