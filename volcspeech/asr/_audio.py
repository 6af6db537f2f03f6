"""Audio inputs of the flash API: what the caller passed, checked and streamed.

Every input becomes an :class:`AudioSource` (or a URL) before any traffic.
The work is split by concern:

* :mod:`._audio_sources`: paths, bytes, file objects and spooled streams, each
  readable from its start once per attempt; ``http(s)://`` strings are sent as
  ``audio.url`` and never fetched;
* :mod:`._audio_sniff`: the format from the bytes (never the file name): WAV,
  MP3 and Ogg Opus, with their duration;
* :mod:`._audio_body`: the request body, produced chunk by chunk
  (:class:`StreamedBody`), so neither the file, its base64 nor the JSON is
  ever held whole in memory;
* here: :func:`prepare_audio`, which ties them together and checks the
  service's limits (size, duration, declared vs detected format).

The names of the three modules are re-exported here, so ``volcspeech.asr._audio``
imports keep working.
"""

from __future__ import annotations

import os
import re
from typing import Any

import attrs

from ..errors import InvalidAudioError
from ._audio_body import StreamedBody, base64_length
from ._audio_sniff import SNIFF_BYTES, WAV_BITS, WAV_CHANNELS, AudioInfo, sniff
from ._audio_sources import (
    ALLOWED_URL_SCHEMES,
    CHUNK_BYTES,
    MAX_AUDIO_BYTES,
    SPOOL_MEMORY_BYTES,
    AudioInput,
    AudioSource,
    _BytesSource,
    _FileSource,
    _limit_text,
    _MemoryReader,
    _PathSource,
    _Reader,
    _SpooledSource,
    _Window,
    check_audio_url,
    open_regular_file,
    read_failure,
    source_from_file,
    source_from_path,
)

__all__ = [
    "ALLOWED_URL_SCHEMES",
    "CHUNK_BYTES",
    "LARGE_INLINE_BYTES",
    "MAX_AUDIO_BYTES",
    "MAX_DURATION_MS",
    "SNIFF_BYTES",
    "SPOOL_MEMORY_BYTES",
    "WAV_BITS",
    "WAV_CHANNELS",
    "AudioInfo",
    "AudioInput",
    "AudioSource",
    "LargeInlineAudioWarning",
    "PreparedAudio",
    "StreamedBody",
    "base64_length",
    "check_audio_url",
    "open_regular_file",
    "prepare_audio",
    "sniff",
    "source_from_file",
    "source_from_path",
]

# Kept importable from here for code written before the split.
_COMPAT = (_BytesSource, _FileSource, _MemoryReader, _PathSource, _Reader, _SpooledSource, _Window)

#: The longest audio the flash API takes: 2 hours.
MAX_DURATION_MS = 2 * 60 * 60 * 1000
#: Inline uploads above this size (20 MiB) trigger :class:`LargeInlineAudioWarning`.
LARGE_INLINE_BYTES = 20 * 1024 * 1024

#: Defaults assumed only to estimate the duration of ``format="raw"`` PCM (never sent).
_RAW_DEFAULT_RATE = 16000
_RAW_DEFAULT_BITS = 16
_RAW_DEFAULT_CHANNELS = 1

_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_MIB = 1024 * 1024


class LargeInlineAudioWarning(UserWarning):
    """Inline (base64) audio above 20 MiB: the vendor advises sending a URL instead.

    Emitted at most once per :class:`~volcspeech.asr.AsrClient`. Silence it with
    ``warnings.filterwarnings("ignore", category=LargeInlineAudioWarning)``.
    """


def _format_ms(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"


@attrs.frozen
class PreparedAudio:
    """Checked audio, ready to be put in a request.

    Attributes:
        fields: the ``audio`` JSON object without ``data`` (``url``, ``format``, ...).
        source: the inline audio, or ``None`` for a URL.
        info: what the bytes said (``None`` for a URL).
    """

    fields: dict[str, Any]
    source: AudioSource | None = None
    info: AudioInfo | None = None


def _source_from_input(audio: Any) -> AudioSource | str:
    """A source for inline audio, or the URL string."""
    if isinstance(audio, str):
        if _URL_LIKE.match(audio):
            return check_audio_url(audio)
        return source_from_path(audio)
    if isinstance(audio, os.PathLike):
        path = os.fspath(audio)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return source_from_path(path)
    if isinstance(audio, (bytes, bytearray, memoryview)):
        view = memoryview(audio)
        if not view.c_contiguous:
            view = memoryview(view.tobytes())
        return _BytesSource(view.cast("B") if view.format != "B" or view.ndim != 1 else view)
    if hasattr(audio, "read"):
        return source_from_file(audio)
    raise InvalidAudioError(
        f"unsupported audio input of type {type(audio).__name__}: pass a path, bytes, "
        "a binary file object or an http(s):// URL string"
    )


def _raw_info(size: int, fields: dict[str, Any]) -> AudioInfo:
    rate = fields.get("rate") or _RAW_DEFAULT_RATE
    bits = fields.get("bits") or _RAW_DEFAULT_BITS
    channels = fields.get("channel") or _RAW_DEFAULT_CHANNELS
    frame = channels * bits // 8
    return AudioInfo(
        format="raw",
        codec=fields.get("codec"),
        size=size,
        duration_ms=(size // frame) * 1000 // rate,
        sample_rate=rate,
        channels=channels,
        bits=bits,
    )


def _check_limits(info: AudioInfo, description: str) -> None:
    if info.size > MAX_AUDIO_BYTES:
        raise InvalidAudioError(
            f"{description} is {info.size} bytes ({info.size / _MIB:.1f} MiB); the flash API "
            f"accepts at most {_limit_text()}"
        )
    if info.duration_ms is not None and info.duration_ms > MAX_DURATION_MS:
        raise InvalidAudioError(
            f"{description} is {_format_ms(info.duration_ms)} long ({info.duration_ms} ms, "
            f"{info.format}); the flash API accepts at most 2 h: use the standard "
            "recorded-file API for longer audio"
        )


def _merge_format(fields: dict[str, Any], info: AudioInfo, description: str) -> None:
    given_format = fields.get("format")
    if given_format is not None and given_format != info.format:
        raise InvalidAudioError(
            f"options say format={given_format!r} but {description} is {info.format.upper()} "
            "(detected from its bytes); leave format unset to have it filled in"
        )
    given_codec = fields.get("codec")
    if given_codec is not None and info.codec is not None and given_codec != info.codec:
        raise InvalidAudioError(
            f"options say codec={given_codec!r} but {description} is {info.codec}"
        )
    if given_codec == "opus" and info.codec is None:
        raise InvalidAudioError(
            f"options say codec='opus' but {description} is {info.format.upper()}, not Opus"
        )
    fields.setdefault("format", info.format)
    if info.codec is not None:
        fields.setdefault("codec", info.codec)


def prepare_audio(
    audio: Any, audio_fields: dict[str, Any], *, flash_limits: bool = True
) -> PreparedAudio:
    """Check an audio input and fill ``audio.format``/``codec`` from its bytes.

    Args:
        audio: a path, bytes-like object, binary file object or http(s) URL string.
        audio_fields: the ``audio`` options the caller set (``format``, ``codec``,
            ``rate``, ...); not modified.
        flash_limits: refuse audio beyond the flash API's size and duration
            limits (the standard API has none: routing checks them instead).

    Returns:
        The prepared audio. The caller must :meth:`AudioSource.close` its source.

    Raises:
        InvalidAudioError: the input cannot be sent (kind, scheme, missing file,
            text mode, empty, format, size, duration).
    """
    fields = dict(audio_fields)
    source = _source_from_input(audio)
    if isinstance(source, str):
        fields["url"] = source
        return PreparedAudio(fields=fields)
    try:
        if source.size == 0:
            raise InvalidAudioError(f"{source.description} is empty (0 bytes)")
        if flash_limits and source.size > MAX_AUDIO_BYTES:
            _check_limits(AudioInfo(format="?", codec=None, size=source.size), source.description)
        if fields.get("format") == "raw":
            # Headerless PCM: nothing to sniff; the duration uses the declared
            # (or documented default) rate, bits and channels.
            info = _raw_info(source.size, fields)
        else:
            try:
                with source.open() as reader:
                    info = sniff(reader, source.size)
            except InvalidAudioError:
                raise
            except Exception as exc:
                raise read_failure(source.description, exc) from (
                    None if isinstance(exc, OSError) else exc
                )
            _merge_format(fields, info, source.description)
        if flash_limits:
            _check_limits(info, source.description)
    except BaseException:
        source.close()
        raise
    return PreparedAudio(fields=fields, source=source, info=info)
