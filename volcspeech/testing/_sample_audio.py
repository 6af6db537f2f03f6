"""Small audio files installed with volcspeech, for examples and first tries.

The files live in ``volcspeech/testing/data/audio/`` and are the same as the
test suite's fixtures (``tests/fixtures/audio/``, made by
``tools/make_test_audio.sh``): eSpeak NG saying "hello world", exactly
1000 ms long.

Example:
    >>> sample_audio("hello.wav").stat().st_size
    32044
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType

from ..errors import ValidationError

__all__ = ["SAMPLE_AUDIO", "sample_audio"]

#: The names :func:`sample_audio` knows, with what each file is.
SAMPLE_AUDIO: Mapping[str, str] = MappingProxyType(
    {
        "hello.wav": "WAV, 16 kHz mono 16-bit, 1000 ms: 'hello world' (139-861 ms)",
        "hello.mp3": "MP3, 16 kHz mono 32 kbit/s, the same speech",
        "hello.ogg": "Ogg Opus, 16 kHz mono 24 kbit/s, the same speech",
        "hello.flac": "FLAC, the same speech: a format the flash API refuses",
        "silence.wav": "WAV, 16 kHz mono 16-bit, 1000 ms of digital silence",
    }
)


def sample_audio(name: str = "hello.wav") -> Path:
    """The path of an audio file installed with volcspeech.

    Useful for trying the client against the :class:`~volcspeech.testing.Emulator`
    without audio of your own; the documentation's examples use it.

    Args:
        name: one of ``hello.wav`` (16 kHz mono WAV, "hello world", 1000 ms),
            ``hello.mp3``, ``hello.ogg`` (the same speech as MP3 and Ogg Opus),
            ``hello.flac`` (a format the service refuses) and ``silence.wav``
            (1000 ms of silence). :data:`SAMPLE_AUDIO` describes each.

    Returns:
        The path of the file (read it, do not write to it).

    Raises:
        ValidationError: ``name`` is not one of the files above.
    """
    if name not in SAMPLE_AUDIO:
        raise ValidationError(
            f"sample_audio: name must be one of {', '.join(SAMPLE_AUDIO)}, got {name!r}",
            field="name",
        )
    # volcspeech installs unzipped (zip_safe = False), so the resource is a real file.
    return Path(str(files(__name__.rpartition(".")[0]) / "data" / "audio" / name))
