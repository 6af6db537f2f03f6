"""The emulator's own audio analysis (independent of the client's): format, duration, PCM.

WAV is read chunk by chunk with :mod:`struct`; MP3 and Ogg Opus durations come
from mutagen. :func:`speech_regions` finds where someone speaks in PCM with an
energy-based voice activity detector: it is what the emulator honestly knows
of audio it has no ground truth for.
"""

from __future__ import annotations

import array
import hashlib
import io
import math
import operator
import re
import struct
import sys
from collections.abc import Mapping
from typing import Any, Union

import attrs

from ._asr_refusal import BAD_FORMAT, Refusal

__all__ = ["NONZERO", "AudioInfo", "analyze", "speech_regions"]

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


#: Voice activity: the analysis frame, ms.
VAD_FRAME_MS = 20
#: A frame is speech when its level is at least this far above the noise floor (dB)...
VAD_ABOVE_FLOOR_DB = 12.0
#: ...and at least this loud (dBFS); quieter frames are silence whatever the floor.
VAD_MIN_LEVEL_DBFS = -50.0
#: Speech regions closer than this are one region (pauses between words), ms.
VAD_BRIDGE_MS = 300
#: Regions shorter than this are dropped (clicks), ms.
VAD_MIN_SPEECH_MS = 100
#: Of each frame, every n-th sample is measured: enough for a level, and fast.
_VAD_STRIDE = 4


def _as_int16(pcm: Union[bytes, memoryview], width: int) -> array.array[int]:
    """Little-endian PCM of any sample width as 16-bit samples (the top two bytes of each)."""
    data = bytes(pcm)
    if width == 1:  # 8-bit WAV is unsigned
        return array.array("h", ((b - 128) << 8 for b in data))
    count = len(data) // width
    if width == 2:
        samples = array.array("h", data[: count * 2])
    else:
        top = bytearray(count * 2)
        top[0::2] = data[width - 2 : count * width : width]
        top[1::2] = data[width - 1 : count * width : width]
        samples = array.array("h", bytes(top))
    if sys.byteorder == "big":  # pragma: no cover - the machines we run on are little-endian
        samples.byteswap()
    return samples


def _levels(samples: array.array[int], frame: int) -> list[float]:
    """The level of each frame in dBFS (-120 for digital silence)."""
    levels = []
    for start in range(0, len(samples), frame):
        part = samples[start : start + frame : _VAD_STRIDE]
        power = sum(map(operator.mul, part, part)) / max(1, len(part))
        levels.append(10 * math.log10(power / (32768.0 * 32768.0)) if power else -120.0)
    return levels


def speech_regions(
    pcm: Union[bytes, memoryview], rate: int, channels: int, width: int
) -> list[tuple[int, int]]:
    """Where the PCM holds speech, by its energy: ``[(start_ms, end_ms), ...]``.

    A 20 ms frame is speech when its level is 12 dB above the recording's
    noise floor (its 10th-percentile frame) and above -50 dBFS; speech frames
    less than 300 ms apart form one region, and regions under 100 ms are
    dropped. This knows *that* someone speaks, never *what* they say.

    Args:
        pcm: little-endian interleaved samples.
        rate: frames per second.
        channels: interleaved channels (measured together).
        width: bytes per sample (1: unsigned 8-bit, 2, 3 or 4: signed).
    """
    if not (rate > 0 and channels > 0 and width > 0) or not pcm:
        return []
    frame_samples = max(1, rate * VAD_FRAME_MS // 1000) * channels
    levels = _levels(_as_int16(pcm, width), frame_samples)
    if not levels:  # less than one whole sample
        return []
    floor = sorted(levels)[len(levels) // 10]
    threshold = max(VAD_MIN_LEVEL_DBFS, floor + VAD_ABOVE_FLOOR_DB)
    if floor > VAD_MIN_LEVEL_DBFS and floor + VAD_ABOVE_FLOOR_DB > max(levels):
        threshold = VAD_MIN_LEVEL_DBFS  # loud throughout (no quiet part): all of it counts
    total_ms = len(pcm) // (channels * width) * 1000 // rate
    regions: list[list[int]] = []
    for index, level in enumerate(levels):
        if level < threshold:
            continue
        start, end = index * VAD_FRAME_MS, min(total_ms, (index + 1) * VAD_FRAME_MS)
        if regions and start - regions[-1][1] < VAD_BRIDGE_MS:
            regions[-1][1] = end
        else:
            regions.append([start, end])
    return [(a, b) for a, b in regions if b - a >= VAD_MIN_SPEECH_MS]
