"""Small PCM/WAV helpers for the emulator: 16-bit mono little-endian only, stdlib only."""

from __future__ import annotations

import array
import io
import sys
import wave
from collections.abc import Sequence

__all__ = [
    "SAMPLE_WIDTH",
    "frames_at",
    "mix",
    "peak",
    "read_wav",
    "silence",
    "wav_bytes",
]

#: Bytes per sample (signed 16-bit).
SAMPLE_WIDTH = 2
_MIN, _MAX = -32768, 32767


def read_wav(data: bytes) -> tuple[bytes, int]:
    """Return the PCM samples and the sample rate of a mono 16-bit WAV file.

    Raises:
        ValueError: not a WAV file, or not mono 16-bit PCM.
    """
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            channels, width, rate = (
                reader.getnchannels(),
                reader.getsampwidth(),
                reader.getframerate(),
            )
            pcm = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a readable WAV file: {exc}") from None
    if channels != 1 or width != SAMPLE_WIDTH:
        raise ValueError(
            f"expected mono 16-bit PCM, got {channels} channel(s) of {8 * width}-bit samples"
        )
    return pcm, rate


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    """Wrap 16-bit mono little-endian PCM in a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(SAMPLE_WIDTH)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return out.getvalue()


def frames_at(ms: int, rate: int) -> int:
    """The sample index at ``ms`` milliseconds (floor)."""
    return ms * rate // 1000


def silence(frames: int) -> bytes:
    """``frames`` zero samples."""
    return bytes(SAMPLE_WIDTH * max(0, frames))


def _samples(pcm: bytes) -> array.array[int]:
    values = array.array("h")
    values.frombytes(pcm[: len(pcm) - len(pcm) % SAMPLE_WIDTH])
    if sys.byteorder != "little":  # pragma: no cover - big-endian hosts only
        values.byteswap()
    return values


def peak(pcm: bytes) -> int:
    """The largest absolute sample value (0 for empty or all-zero audio)."""
    values = _samples(pcm)
    if not values:
        return 0
    return max(abs(min(values)), abs(max(values)))


def mix(tracks: Sequence[bytes]) -> bytes:
    """Sum tracks sample by sample with clipping; the result is as long as the longest."""
    if not tracks:
        return b""
    length = max(len(t) for t in tracks) // SAMPLE_WIDTH
    total = array.array("i", bytes(4 * length))
    for track in tracks:
        for i, value in enumerate(_samples(track)):
            if value:
                total[i] += value
    out = array.array("h", (_MAX if v > _MAX else _MIN if v < _MIN else v for v in total))
    if sys.byteorder != "little":  # pragma: no cover - big-endian hosts only
        out.byteswap()
    return out.tobytes()
