"""Recognizing one segment: resolve its audio, check where it points, retry, read the words.

Runs on the transcriber's executor, possibly in another process: everything
here is a module-level function of picklable arguments.
"""

from __future__ import annotations

import os
import random
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import attrs

from .._log import get_logger
from ..errors import ValidationError, VolcSpeechError
from ._merge import PieceUtterance, PieceWord, SegmentPiece

if TYPE_CHECKING:  # pragma: no cover
    from .. import RetryPolicy
    from ..asr import AsrClient, RecognitionOptions, Transcript
    from ..rtc import Segment

__all__ = ["AudioRef", "Outcome", "check_audio_ref", "recognize_segment", "safe_reason"]

logger = get_logger("volcspeech.pipeline")

#: What ``resolve_audio`` may return: an ``http(s)://`` URL, or the audio's bytes.
AudioRef = Union[str, bytes]

#: A gap's reason is cut to this many characters.
MAX_REASON_CHARS = 300


@attrs.frozen
class Outcome:
    """What recognizing one segment gave: its piece, or the failure."""

    piece: SegmentPiece
    error_type: Optional[str] = None
    reason: Optional[str] = None
    attempts: int = 1


def check_audio_ref(audio: object) -> AudioRef:
    """Refuse anything but an ``http(s)://`` URL or bytes.

    Audio named by a callback is only ever fetched over http(s): a path (or a
    ``file:`` URL) that a callback or a resolver produced would make the
    client read a local file and upload it.

    Raises:
        ValidationError: a path, another scheme or another type.
    """
    if isinstance(audio, (bytes, bytearray, memoryview)):
        return bytes(audio)
    if isinstance(audio, str):
        try:
            parts = urllib.parse.urlsplit(audio)
        except ValueError:
            parts = None
        if parts is not None and parts.scheme.lower() in ("http", "https") and parts.netloc:
            return audio
        got = "a URL of another scheme" if parts is not None and parts.scheme else "a path"
        raise ValidationError(
            "resolve_audio must return an http(s):// URL or bytes; segment audio is never "
            f"read from a local path (got {got})",
            field="resolve_audio",
        )
    if isinstance(audio, os.PathLike):
        raise ValidationError(
            "resolve_audio must return an http(s):// URL or bytes; segment audio is never "
            "read from a local path",
            field="resolve_audio",
        )
    raise ValidationError(
        f"resolve_audio must return an http(s):// URL or bytes, not {type(audio).__name__}",
        field="resolve_audio",
    )


def safe_reason(exc: BaseException) -> str:
    """A gap's reason: the error class and its message, one line, cut short.

    Messages are the library's own or the service's; audio is never read from
    a local file, so no file content can be quoted here.
    """
    message = " ".join(str(exc).split())
    if len(message) > MAX_REASON_CHARS:
        message = message[: MAX_REASON_CHARS - 1] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _sleep(seconds: float) -> None:
    from .._http import is_testing

    if seconds > 0 and not is_testing():
        time.sleep(seconds)


def recognize_segment(
    asr: AsrClient,
    resolve_audio: Callable[[Segment], Any],
    options: Optional[RecognitionOptions],
    segment: Segment,
    retry: RetryPolicy,
) -> Outcome:
    """Resolve and recognize one segment, retrying transient failures per ``retry``."""
    start = int(segment.start_time_ms)
    end = start + int(segment.duration_ms or 0)
    first = time.monotonic()
    last: Optional[BaseException] = None
    attempt = 0
    for attempt in range(1, retry.attempts + 1):
        try:
            audio = check_audio_ref(resolve_audio(segment))
            transcript = asr.recognize(audio, options=options)
        except VolcSpeechError as exc:
            last = exc
            if not exc.retryable or attempt == retry.attempts:
                break
            wait = random.uniform(0, retry.backoff_ceiling(attempt))  # full jitter
            if time.monotonic() - first + wait > retry.total_timeout:
                break
            logger.info(
                "segment %s/%s seq=%s failed (%s); attempt %d of %d in %.1fs",
                segment.room_id,
                segment.user_id,
                segment.sequence,
                type(exc).__name__,
                attempt + 1,
                retry.attempts,
                wait,
            )
            _sleep(wait)
            continue
        except Exception as exc:  # a resolver bug must become a gap, not a lost segment
            last = exc
            break
        return Outcome(piece_of(segment, start, end, transcript), attempts=attempt)
    assert last is not None
    reason = safe_reason(last)
    logger.warning(
        "segment %s/%s seq=%s gave up after %d attempt(s): %s",
        segment.room_id,
        segment.user_id,
        segment.sequence,
        attempt,
        reason,
    )
    failed = SegmentPiece(segment.sequence, start, end, (), failed=True)
    return Outcome(failed, type(last).__name__, reason, attempt)


def piece_of(segment: Segment, start: int, end: int, transcript: Transcript) -> SegmentPiece:
    """A recognized segment's words, shifted to absolute time."""
    if end <= start:  # no duration in the callback: use the audio's
        end = start + int(transcript.duration_ms or 0)
    utterances: list[PieceUtterance] = []
    for u in transcript.utterances:
        words = tuple(
            PieceWord(w.text, start + int(w.start_time), start + int(w.end_time), w.confidence)
            for w in u.words
        )
        if not words and u.text:
            words = (PieceWord(u.text, start + int(u.start_time), start + int(u.end_time)),)
        if words:
            additions = tuple(sorted((u.additions or {}).items()))
            utterances.append(PieceUtterance(u.text, words, additions))
    if not utterances and transcript.text:
        # Results without utterances: the whole segment is one utterance.
        utterances.append(
            PieceUtterance(transcript.text, (PieceWord(transcript.text, start, end),))
        )
    return SegmentPiece(segment.sequence, start, end, tuple(utterances))
