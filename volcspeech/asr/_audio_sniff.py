"""Format detection of flash-API audio: what its bytes say (never its file name).

WAV (``RIFF`` / ``WAVE``, checked to be 16-bit with 1 or 2 channels), MP3
(MPEG audio Layer III, with or without an ID3v2 tag) and Ogg Opus. Only the
head of the audio is read (:data:`SNIFF_BYTES`), plus the chunk headers of a
WAV and what ``mutagen`` needs for an MP3/Ogg duration (its headers, and the
last Ogg page).
"""

from __future__ import annotations

import struct
from typing import Any

import attrs

from ..errors import InvalidAudioError

__all__ = ["SNIFF_BYTES", "WAV_BITS", "WAV_CHANNELS", "AudioInfo", "sniff"]

#: Bytes read from the start of the audio to detect its format.
SNIFF_BYTES = 64 * 1024


@attrs.frozen
class AudioInfo:
    """What the bytes of an audio input say about it.

    Attributes:
        format: ``"wav"``, ``"mp3"``, ``"ogg"`` or ``"raw"`` (the ``audio.format`` value).
        codec: ``"opus"`` for Ogg Opus, else ``None`` (the service default).
        size: the audio's length in bytes.
        duration_ms: the duration in milliseconds: exact for WAV, from
            ``mutagen`` for MP3/Ogg (``None`` when it cannot tell).
        sample_rate: samples per second, when the header says.
        channels: the channel count, when the header says.
        bits: bits per sample (WAV / raw only).
    """

    format: str
    codec: str | None
    size: int
    duration_ms: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bits: int | None = None


_MP3_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
#: How far after an ID3 tag we look for the first MPEG frame (encoders pad with zeros).
_MP3_SYNC_SEARCH = 8192
_WAV_MAX_CHUNKS = 64
#: What the recognition docs allow in a WAV: 16-bit samples, 1 or 2 channels.
WAV_BITS = (16,)
WAV_CHANNELS = (1, 2)


def _read_at(reader: Any, offset: int, size: int) -> bytes:
    reader.seek(offset)
    data = reader.read(size)
    return bytes(data or b"")


def _sniff_wav(reader: Any, head: bytes, size: int) -> AudioInfo:
    offset = 12
    fmt: tuple[int, ...] | None = None
    for _ in range(_WAV_MAX_CHUNKS):
        header = head[offset : offset + 8]
        if len(header) < 8:
            header = _read_at(reader, offset, 8)
        if len(header) < 8:
            break
        chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
        body = offset + 8
        if chunk_id == b"fmt ":
            raw = head[body : body + 16]
            if len(raw) < 16:
                raw = _read_at(reader, body, 16)
            if len(raw) < 16 or chunk_size < 16:
                raise InvalidAudioError("WAV audio has a truncated 'fmt ' chunk")
            fmt = struct.unpack("<HHIIHH", raw)
        elif chunk_id == b"data":
            if fmt is None:
                raise InvalidAudioError("WAV audio has its 'data' chunk before its 'fmt ' chunk")
            # Streamed WAVs write 0 or 0xFFFFFFFF here; the data then runs to the end.
            available = max(0, size - body)
            data_size = available if chunk_size in (0, 0xFFFFFFFF) else min(chunk_size, available)
            _, channels, rate, _, block_align, bits = fmt
            if rate <= 0 or block_align <= 0 or channels <= 0:
                raise InvalidAudioError(
                    f"WAV audio has an invalid 'fmt ' chunk (rate {rate}, channels {channels}, "
                    f"block align {block_align})"
                )
            if bits not in WAV_BITS or channels not in WAV_CHANNELS:
                raise InvalidAudioError(
                    f"WAV audio is {bits}-bit with {channels} channel(s) (its 'fmt ' chunk); "
                    "the flash API takes 16-bit samples and 1 or 2 channels: convert it first, "
                    "e.g. ffmpeg -i in.wav -ac 1 -sample_fmt s16 out.wav"
                )
            frames = data_size // block_align
            return AudioInfo(
                format="wav",
                codec=None,
                size=size,
                duration_ms=frames * 1000 // rate,
                sample_rate=rate,
                channels=channels,
                bits=bits,
            )
        offset = body + chunk_size + (chunk_size & 1)
    raise InvalidAudioError("WAV audio without a 'data' chunk (or 'fmt ' chunk)")


def _mp3_frame(header: bytes) -> tuple[int, int, int] | None:
    """Parse an MPEG Layer III frame header: (frame length or 0 if free, rate, channels)."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 3
    layer = (header[1] >> 1) & 3
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate_index == 15 or rate_index == 3:
        return None
    rate = _MP3_RATES[version][rate_index]
    bitrate = _MP3_BITRATES[1 if version == 3 else 2][bitrate_index] * 1000
    padding = (header[2] >> 1) & 1
    coefficient = 144 if version == 3 else 72
    length = coefficient * bitrate // rate + padding if bitrate else 0
    channels = 1 if header[3] >> 6 == 3 else 2
    return length, rate, channels


def _id3_size(head: bytes) -> int:
    flags = head[5]
    b = head[6:10]
    size = (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]
    return 10 + size + (10 if flags & 0x10 else 0)


def _sniff_mp3(reader: Any, head: bytes, size: int) -> AudioInfo | None:
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        tag_end = _id3_size(head)
        window = head[tag_end : tag_end + _MP3_SYNC_SEARCH]
        if len(window) < 4:
            window = _read_at(reader, tag_end, _MP3_SYNC_SEARCH)
        sync = next((i for i in range(len(window) - 3) if _mp3_frame(window[i : i + 4])), None)
        if sync is None:
            return None
        start = tag_end + sync
    first = _mp3_frame(_read_at(reader, start, 4) if start + 4 > len(head) else head[start:])
    if first is None:
        return None
    length, rate, channels = first
    following = start + length
    # One sync pattern can be chance: require the next frame too, unless the
    # first frame ends the file (or has a free bitrate we cannot follow).
    if length and following < size:
        if following + 4 <= len(head):
            nxt = head[following : following + 4]
        else:
            nxt = _read_at(reader, following, 4)
        if len(nxt) == 4 and _mp3_frame(nxt) is None:
            return None
    return AudioInfo(
        format="mp3",
        codec=None,
        size=size,
        duration_ms=_mutagen_duration(reader, "mp3"),
        sample_rate=rate,
        channels=channels,
    )


def _sniff_ogg(reader: Any, head: bytes, size: int) -> AudioInfo:
    segments = head[26] if len(head) > 26 else 0
    packet = head[27 + segments : 27 + segments + 19]
    if packet.startswith(b"OpusHead") and len(packet) >= 16:
        channels = packet[9]
        rate = struct.unpack("<I", packet[12:16])[0]
        return AudioInfo(
            format="ogg",
            codec="opus",
            size=size,
            duration_ms=_mutagen_duration(reader, "ogg"),
            sample_rate=rate or None,
            channels=channels,
        )
    for magic, name in ((b"\x01vorbis", "Ogg Vorbis"), (b"\x7fFLAC", "Ogg FLAC")):
        if packet.startswith(magic):
            raise InvalidAudioError(
                f"audio is {name}; the flash API accepts WAV, MP3 and Ogg *Opus* only"
            )
    raise InvalidAudioError(
        "audio is an Ogg stream without Opus; the flash API accepts WAV, MP3 and Ogg Opus"
    )


def _mutagen_duration(reader: Any, kind: str) -> int | None:
    """Best-effort duration from the headers via mutagen (``None`` if it cannot tell)."""
    try:
        parser: Any
        if kind == "mp3":
            from mutagen.mp3 import MP3 as parser
        else:
            from mutagen.oggopus import OggOpus as parser
        reader.seek(0)
        length = parser(reader).info.length
    except Exception:  # mutagen raises many types on odd files; the duration is optional
        return None
    if not isinstance(length, (int, float)) or length != length or length < 0:
        return None
    return round(length * 1000)


_KNOWN_OTHER = (
    (b"fLaC", 0, "FLAC"),
    (b"ftyp", 4, "MP4/M4A"),
    (b"#!AMR", 0, "AMR"),
    (b"\x1a\x45\xdf\xa3", 0, "Matroska/WebM"),
    (b"FORM", 0, "AIFF"),
    (b"RIFF", 0, "a RIFF file that is not WAVE"),
)


def _describe_unknown(head: bytes) -> str:
    for magic, offset, name in _KNOWN_OTHER:
        if head[offset : offset + len(magic)] == magic:
            return name
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "AAC (ADTS)"
    if _mp3_frame(head[:4]) is not None:
        return "an MPEG frame header not followed by another frame"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "MPEG audio that is not Layer III"
    return f"unrecognized data starting with 0x{head[:8].hex()}"


def sniff(reader: Any, size: int) -> AudioInfo:
    """Detect the format of audio from its bytes.

    Args:
        reader: a seekable binary reader of the audio, from its first byte.
        size: the audio's length in bytes.

    Returns:
        The detected format, with duration and parameters when the headers give them.

    Raises:
        InvalidAudioError: the bytes are not WAV, MP3 or Ogg Opus; the message
            names what was found.
    """
    reader.seek(0)
    head = bytes(reader.read(SNIFF_BYTES) or b"")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _sniff_wav(reader, head, size)
    if head[:4] == b"OggS":
        return _sniff_ogg(reader, head, size)
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF):
        info = _sniff_mp3(reader, head, size)
        if info is not None:
            return info
    raise InvalidAudioError(
        f"audio format not supported: found {_describe_unknown(head)}; "
        "the flash API accepts WAV, MP3 and Ogg Opus"
    )
