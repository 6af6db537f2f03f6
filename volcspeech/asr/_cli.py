"""``volcspeech asr recognize``: recognize one file or URL from the command line.

Credentials come from the environment (``VOLCSPEECH_API_KEY``, or
``VOLCSPEECH_APP_KEY`` + ``VOLCSPEECH_ACCESS_KEY``), never from arguments
(which other users of the machine can read). ``--emulator`` runs against a
local :class:`~volcspeech.testing.Emulator` instead, optionally with ground
truth from a JSON file; the ``volcspeech`` command (:mod:`volcspeech.cli`)
provides that emulator through the parser default ``emulated_asr_client``, so
this package never imports :mod:`volcspeech.testing`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Callable, ContextManager, Optional

from ..errors import ConfigurationError, ValidationError
from ._client import DEFAULT_ENDPOINT, AsrClient
from ._options import RecognitionOptions, dialog_context, hotwords_context
from ._results import Transcript

__all__ = ["EmulatedAsrClient", "register"]

#: Opens a client of a local emulator: ``(audio, ground truth or None, client settings)``.
#: The ``volcspeech`` command sets it as the parser default ``emulated_asr_client``.
EmulatedAsrClient = Callable[
    [str, Optional[Mapping[str, Any]], Mapping[str, Any]], ContextManager[AsrClient]
]

_BOOL_OPTIONS = (
    ("enable_itn", "inverse text normalization (digits, dates)"),
    ("enable_punc", "punctuation"),
    ("enable_ddc", "disfluency removal"),
    ("enable_speaker_info", "speaker separation"),
    ("enable_channel_split", "recognize stereo channels separately"),
    ("show_utterances", "utterances with word timings"),
    ("vad_segment", "split utterances by voice activity"),
    ("enable_poi_fc", "point-of-interest correction"),
    ("enable_music_fc", "music-title correction"),
)
_VALUE_OPTIONS = (
    ("language", str, "language, e.g. en-US (unset: Mandarin/English and dialects)"),
    ("audio_format", str, "audio.format (wav/mp3/ogg/raw); detected when unset"),
    ("codec", str, "audio.codec (raw/opus); detected when unset"),
    ("rate", int, "sample rate in Hz (raw PCM)"),
    ("bits", int, "bits per sample (raw PCM)"),
    ("channel", int, "channels (raw PCM)"),
    ("model_version", str, "model version, e.g. 400"),
    ("ssd_version", str, "speaker-separation model (with --enable-speaker-info)"),
    ("end_window_size", int, "silence that ends an utterance, 300-5000 ms"),
    ("boosting_table_name", str, "hot-word table of the self-learning platform"),
    ("correct_table_name", str, "replacement table of the self-learning platform"),
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``asr`` command and its ``recognize`` subcommand."""
    asr = subparsers.add_parser(
        "asr",
        help="flash speech recognition",
        description="Doubao flash recorded-file speech recognition.",
    )
    commands = asr.add_subparsers(dest="asr_command", metavar="ASR_COMMAND")
    asr.set_defaults(handler=lambda args: _usage(asr))
    recognize = commands.add_parser(
        "recognize",
        help="recognize one audio file or URL",
        description="Recognize one audio file (WAV, MP3, Ogg Opus; '-' reads stdin) or an "
        "http(s) URL. Credentials come from $VOLCSPEECH_API_KEY or $VOLCSPEECH_APP_KEY + "
        "$VOLCSPEECH_ACCESS_KEY.",
    )
    recognize.add_argument("audio", metavar="FILE_OR_URL", help="a path, '-' or an http(s) URL")
    recognize.add_argument(
        "--format",
        "-f",
        dest="output_format",
        choices=("text", "json", "srt", "vtt"),
        default="text",
        help="output: plain text, the API's JSON answer, SubRip or WebVTT (default: text)",
    )
    recognize.add_argument("--output", "-o", metavar="PATH", help="write here instead of stdout")
    for name, kind, text in _VALUE_OPTIONS:
        recognize.add_argument("--" + name.replace("_", "-"), type=kind, help=text)
    for name, text in _BOOL_OPTIONS:
        recognize.add_argument(
            "--" + name.replace("_", "-"),
            action=argparse.BooleanOptionalAction,
            default=None,
            help=text,
        )
    context = recognize.add_mutually_exclusive_group()
    context.add_argument(
        "--hotword", action="append", metavar="WORD", help="a word to favour (repeatable)"
    )
    context.add_argument(
        "--dialog-context",
        action="append",
        metavar="TEXT",
        help="an earlier turn of the conversation (repeatable)",
    )
    recognize.add_argument("--request-id", help="X-Api-Request-Id (a fresh UUID by default)")
    recognize.add_argument("--endpoint", help=f"the API URL (default: {DEFAULT_ENDPOINT})")
    recognize.add_argument("--timeout", type=float, help="per-attempt timeout in seconds")
    recognize.add_argument("--max-retries", type=int, help="retries for transient failures")
    recognize.add_argument(
        "--emulator", action="store_true", help="run against a local emulator, not the cloud"
    )
    recognize.add_argument(
        "--ground-truth",
        metavar="FILE.json",
        help="with --emulator: the transcript to answer ({'utterances': [...], 'text': ...} "
        "in the API's response shape, or a whole API answer)",
    )
    recognize.set_defaults(handler=_recognize)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _options(args: argparse.Namespace) -> RecognitionOptions:
    values: dict[str, Any] = {}
    for name, _, _ in _VALUE_OPTIONS:
        value = getattr(args, name)
        if value is not None:
            values["format" if name == "audio_format" else name] = value
    for name, _ in _BOOL_OPTIONS:
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    if args.hotword:
        values["context"] = hotwords_context(args.hotword)
    elif args.dialog_context:
        values["context"] = dialog_context(args.dialog_context)
    return RecognitionOptions(**values)


def _ground_truth(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read ground truth {path!r}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        data = data["result"]
    if not isinstance(data, dict) or not ({"utterances", "text"} & data.keys()):
        raise ConfigurationError(
            f"ground truth {path!r} must be a JSON object with 'utterances' and/or 'text'"
        )
    return {"utterances": data.get("utterances"), "text": data.get("text")}


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[AsrClient]:
    settings: dict[str, Any] = {"timeout": args.timeout, "max_retries": args.max_retries}
    if not args.emulator:
        if args.ground_truth:
            raise ConfigurationError("--ground-truth needs --emulator")
        with AsrClient(endpoint=args.endpoint or DEFAULT_ENDPOINT, **settings) as client:
            yield client
        return
    emulated: EmulatedAsrClient | None = getattr(args, "emulated_asr_client", None)
    if emulated is None:
        raise ConfigurationError("--emulator is available from the volcspeech command only")
    truth = None
    if args.ground_truth:
        if args.audio == "-":
            raise ConfigurationError("--ground-truth needs a file or URL, not stdin")
        truth = _ground_truth(args.ground_truth)
    with emulated(args.audio, truth, settings) as client:
        yield client


def _render(transcript: Transcript, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(transcript.raw, ensure_ascii=False, indent=2) + "\n"
    if output_format == "srt":
        return transcript.to_srt()
    if output_format == "vtt":
        return transcript.to_vtt()
    return transcript.text + "\n"


def _recognize(args: argparse.Namespace) -> int:
    options = _options(args)
    audio: Any = sys.stdin.buffer if args.audio == "-" else args.audio
    with _client(args) as client:
        transcript = client.recognize(audio, options=options, request_id=args.request_id)
    text = _render(transcript, args.output_format)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"cannot write {args.output!r}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0
