"""The emulator's own audio analysis (independent of the client's): format, duration, PCM.

WAV is read chunk by chunk with :mod:`struct`; MP3 and Ogg Opus durations come
from mutagen.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
from collections.abc import Mapping
from typing import Any, Union

import attrs

from ._asr_refusal import BAD_FORMAT, Refusal

__all__ = ["NONZERO", "AudioInfo", "analyze"]

#: Any byte that is not zero: a WAV whose PCM has none is digital silence.
NONZERO = re.compile(rb"[^\x00]")


@attrs.frozen
class AudioInfo:
    """What the emulator learned from audio bytes (``pcm`` for WAV and raw PCM)."""

    format: str
    codec: str | None
    duration_ms: int
    sha256: str
    size: int
    pcm: Any = attrs.field(default=None, repr=False)  # memoryview of the samples (WAV/raw)
    rate: int = 0
    channels: int = 0
    width: int = 0


def _wav(data: memoryview) -> tuple[int, int, int, memoryview]:
    """(rate, channels, sample width, samples) of a RIFF/WAVE file."""
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        chunk_id = bytes(data[pos : pos + 4])
        (size,) = struct.unpack_from("<I", data, pos + 4)
        start = pos + 8
        if chunk_id == b"fmt " and size >= 16 and start + 16 <= len(data):
            _, channels, rate, _, align, _ = struct.unpack_from("<HHIIHH", data, start)
            fmt = (rate, channels, align)
        elif chunk_id == b"data" and fmt is not None:
            rate, channels, align = fmt
            if not (rate and channels and align):
                break
            if align < channels:  # not even one byte per sample: no sample width
                raise Refusal(BAD_FORMAT, "audio format error: WAV block align below channels")
            end = len(data) if size in (0, 0xFFFFFFFF) else min(len(data), start + size)
            return rate, channels, align // channels, data[start:end]
        pos = start + size + (size & 1)
    raise Refusal(BAD_FORMAT, "audio format error: WAV without fmt/data chunks")


def _mutagen_info(data: memoryview, kind: str) -> tuple[int, int, int]:
    """(duration ms, rate, channels) of MP3 / Ogg Opus bytes, via mutagen."""
    try:
        parser: Any
        if kind == "mp3":
            from mutagen.mp3 import MP3 as parser
        else:
            from mutagen.oggopus import OggOpus as parser
        info = parser(io.BytesIO(data)).info
    except Exception:
        what = "MP3" if kind == "mp3" else "Ogg Opus"
        raise Refusal(BAD_FORMAT, f"audio format error: not a readable {what} stream") from None
    rate = int(getattr(info, "sample_rate", 0) or 48000)
    return round(info.length * 1000), rate, int(info.channels)


def analyze(
    raw: Union[bytes, bytearray], fields: Mapping[str, Any], digest: str | None = None
) -> AudioInfo:
    data = memoryview(raw)
    digest = digest or hashlib.sha256(data).hexdigest()
    declared = fields.get("format")
    if declared == "raw":
        rate = fields.get("rate") or 16000
        width = (fields.get("bits") or 16) // 8
        channels = fields.get("channel") or 1
        frames = len(data) // (width * channels)
        duration = frames * 1000 // rate
        return AudioInfo("raw", None, duration, digest, len(data), data, rate, channels, width)
    head = bytes(data[:12])
    pcm = None
    rate = channels = width = 0
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        kind, codec = "wav", None
        rate, channels, width, pcm = _wav(data)
        duration = (len(pcm) // (channels * width)) * 1000 // rate
    elif head[:4] == b"OggS":
        kind, codec = "ogg", "opus"
        duration, rate, channels = _mutagen_info(data, "ogg")
    elif head[:3] == b"ID3" or (head[:1] == b"\xff" and len(head) > 1 and head[1] & 0xE0 == 0xE0):
        kind, codec = "mp3", None
        duration, rate, channels = _mutagen_info(data, "mp3")
    else:
        raise Refusal(BAD_FORMAT, "audio format error: only WAV, MP3 and Ogg Opus are supported")
    if declared is not None and declared != kind:
        raise Refusal(BAD_FORMAT, f"audio format error: format {declared} does not match data")
    given_codec = fields.get("codec")
    if given_codec is not None and given_codec != (codec or "raw"):
        raise Refusal(BAD_FORMAT, f"audio format error: codec {given_codec} does not match data")
    return AudioInfo(kind, codec, duration, digest, len(data), pcm, rate, channels, width)
