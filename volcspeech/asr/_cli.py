"""``volcspeech asr recognize | submit | query | wait``: recorded-file recognition from the shell.

``recognize`` runs one file or URL through the flash API (``--api flash``,
the default), the standard submit/query API (``--api standard``) or the one
that fits (``--api auto``). ``submit`` prints a task as JSON; ``query`` and
``wait`` take that JSON (a string, a file, or ``-`` for stdin) or a task id,
from any process.

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
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Callable, ContextManager, Optional

from ..errors import ConfigurationError, ValidationError
from ._client import DEFAULT_ENDPOINT, AsrClient
from ._models import RecognitionTask
from ._options import RecognitionOptions, dialog_context, hotwords_context
from ._results import Transcript
from ._uploaders import S3Uploader, TosUploader

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
    ("enable_lid", "(standard API) language identification"),
    ("enable_emotion_detection", "(standard API) emotion of each utterance"),
    ("enable_gender_detection", "(standard API) gender of each utterance"),
    ("show_volume", "(standard API) volume of each utterance"),
    ("show_speech_rate", "(standard API) speech rate of each utterance"),
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
    """Add the ``asr`` command and its ``recognize``, ``submit``, ``query`` and ``wait``."""
    asr = subparsers.add_parser(
        "asr",
        help="recorded-file speech recognition (flash and standard)",
        description="Doubao recorded-file speech recognition: flash, and standard (submit/query).",
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
    _add_audio_options(recognize)
    _add_output(recognize)
    recognize.add_argument(
        "--api",
        choices=("flash", "standard", "auto"),
        default="flash",
        help="flash (default: one request), standard (submit, then poll) or auto (flash "
        "within 100 MiB and 2 h, standard beyond)",
    )
    recognize.add_argument("--poll", type=float, help="standard API: seconds between queries")
    recognize.add_argument("--request-id", help="X-Api-Request-Id (a fresh UUID by default)")
    _add_connection(recognize)
    _add_upload(recognize)
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

    submit = commands.add_parser(
        "submit",
        help="submit a standard-API task; prints it as JSON",
        description="Submit one file or URL to the standard (submit/query) API and print the "
        "task as JSON, to pass to 'volcspeech asr query' or 'wait' (from any process).",
    )
    _add_audio_options(submit)
    submit.add_argument("--request-id", help="the task id (a fresh UUID by default)")
    submit.add_argument("--callback-url", help="a URL the service calls when the task ends")
    submit.add_argument("--callback-data", help="a string handed back with the callback")
    _add_connection(submit)
    _add_upload(submit)
    submit.set_defaults(handler=_submit)

    query = commands.add_parser(
        "query",
        help="ask once where a task is; prints JSON",
        description="Query a task once. TASK is the JSON 'submit' printed, a file holding it, "
        "'-' for stdin, or a task id (with --model). Exits 1 if the task failed.",
    )
    query.add_argument("task", metavar="TASK", help="task JSON, a file, '-' or a task id")
    _add_connection(query)
    query.set_defaults(handler=_query)

    wait = commands.add_parser(
        "wait",
        help="wait for a task and print its transcript",
        description="Poll a task until it is done and print the transcript (TASK as for query).",
    )
    wait.add_argument("task", metavar="TASK", help="task JSON, a file, '-' or a task id")
    _add_output(wait)
    wait.add_argument("--poll", type=float, help="seconds between queries (default: 1 s growing)")
    wait.add_argument(
        "--wait-timeout", type=float, default=None, help="seconds to wait in all (default: 3 h)"
    )
    _add_connection(wait)
    wait.set_defaults(handler=_wait)


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        "-f",
        dest="output_format",
        choices=("text", "json", "srt", "vtt"),
        default="text",
        help="output: plain text, the API's JSON answer, SubRip or WebVTT (default: text)",
    )
    parser.add_argument("--output", "-o", metavar="PATH", help="write here instead of stdout")


def _add_upload(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--upload",
        metavar="tos://BUCKET | s3://BUCKET",
        help="standard API: upload local audio there first (TOS keys from "
        "$VOLCSPEECH_TOS_ACCESS_KEY, $VOLCSPEECH_TOS_SECRET_KEY, $VOLCSPEECH_TOS_ENDPOINT, "
        "$VOLCSPEECH_TOS_REGION; S3 from boto3's usual configuration)",
    )


def _add_audio_options(parser: argparse.ArgumentParser) -> None:
    """The audio argument and the recognition options shared by recognize and submit."""
    parser.add_argument("audio", metavar="FILE_OR_URL", help="a path, '-' or an http(s) URL")
    for name, kind, text in _VALUE_OPTIONS:
        parser.add_argument("--" + name.replace("_", "-"), type=kind, help=text)
    for name, text in _BOOL_OPTIONS:
        parser.add_argument(
            "--" + name.replace("_", "-"),
            action=argparse.BooleanOptionalAction,
            default=None,
            help=text,
        )
    context = parser.add_mutually_exclusive_group()
    context.add_argument(
        "--hotword", action="append", metavar="WORD", help="a word to favour (repeatable)"
    )
    context.add_argument(
        "--dialog-context",
        action="append",
        metavar="TEXT",
        help="an earlier turn of the conversation (repeatable)",
    )


def _add_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", help=f"the API URL (default: {DEFAULT_ENDPOINT})")
    parser.add_argument("--timeout", type=float, help="per-attempt timeout in seconds")
    parser.add_argument("--max-retries", type=int, help="retries for transient failures")
    parser.add_argument("--model", help="standard-API model: 1.0, 2.0 (default) or a resource id")


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
    if getattr(args, "model", None):
        settings["model"] = args.model
    if not getattr(args, "emulator", False):
        if getattr(args, "ground_truth", None):
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


def _write(text: str, output: str | None) -> None:
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"cannot write {output!r}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def _uploader(spec: str | None) -> Any:
    """An uploader for ``--upload tos://BUCKET`` or ``s3://BUCKET`` (keys from the environment)."""
    if not spec:
        return None
    scheme, _, bucket = spec.partition("://")
    if scheme == "tos" and bucket:
        env = {
            name: os.environ.get(f"VOLCSPEECH_TOS_{name.upper()}")
            for name in ("access_key", "secret_key", "endpoint", "region")
        }
        return TosUploader(
            bucket=bucket,
            access_key_id=env["access_key"],
            secret_access_key=env["secret_key"],
            endpoint=env["endpoint"],
            region=env["region"],
        )
    if scheme == "s3" and bucket:
        return S3Uploader(bucket=bucket)
    raise ConfigurationError(f"--upload must be tos://BUCKET or s3://BUCKET, got {spec!r}")


def _recognize(args: argparse.Namespace) -> int:
    options = _options(args)
    audio: Any = sys.stdin.buffer if args.audio == "-" else args.audio
    uploader = _uploader(args.upload)
    with _client(args) as client:
        transcript = client.recognize(
            audio,
            options=options,
            request_id=args.request_id,
            api=args.api,
            uploader=uploader,
            poll=args.poll,
        )
    _write(_render(transcript, args.output_format), args.output)
    return 0


def _submit(args: argparse.Namespace) -> int:
    options = _options(args)
    audio: Any = sys.stdin.buffer if args.audio == "-" else args.audio
    with _client(args) as client:
        task = client.submit(
            audio,
            options=options,
            request_id=args.request_id,
            callback_url=args.callback_url,
            callback_data=args.callback_data,
            uploader=_uploader(args.upload),
        )
    _write(json.dumps(task.to_dict()) + "\n", None)
    return 0


def _task(spec: str) -> Any:
    """A task from JSON text, a JSON file, '-' (stdin) or a bare task id."""
    text = sys.stdin.read() if spec == "-" else spec
    if spec != "-" and not spec.lstrip().startswith("{") and Path(spec).is_file():
        try:
            text = Path(spec).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read task file {spec!r}: {exc.strerror}") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise ValidationError("TASK is not valid JSON", field="task") from None
        return RecognitionTask.from_dict(data)
    return text.strip()


def _query(args: argparse.Namespace) -> int:
    with _client(args) as client:
        state = client.query(_task(args.task))
    out: dict[str, Any] = {**state.task.to_dict(), "status": state.status.value, "code": state.code}
    if state.transcript is not None:
        out["text"] = state.transcript.text
    if state.error is not None:
        out["error"] = str(state.error)
    _write(json.dumps(out, ensure_ascii=False) + "\n", None)
    return 1 if state.error is not None else 0


def _wait(args: argparse.Namespace) -> int:
    task = _task(args.task)
    with _client(args) as client:
        kwargs: dict[str, Any] = {"poll": args.poll}
        if args.wait_timeout is not None:
            kwargs["timeout"] = args.wait_timeout
        transcript = client.wait(task, **kwargs)
    _write(_render(transcript, args.output_format), args.output)
    return 0
