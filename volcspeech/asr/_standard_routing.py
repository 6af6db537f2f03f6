"""Which recorded-file API an audio input goes to, and how local audio reaches the standard API.

:func:`inspect_audio` checks an input like the flash path does (kind, format,
emptiness) but without the flash limits, so ``api="auto"`` can tell whether
the audio fits flash (:func:`fits_flash`: at most 100 MiB and 2 h, the
limits of :mod:`._audio`). Local audio goes to the standard API inline up to
the client's ``standard_inline_bytes`` (*uncertain*: the vendor documents
``audio.url``; some copies of the doc list ``audio.data`` too), else through
an uploader that turns it into a URL.
"""

from __future__ import annotations

from typing import Any

from ._audio import (
    MAX_AUDIO_BYTES,
    MAX_DURATION_MS,
    PreparedAudio,
    prepare_audio,
)

__all__ = ["API_CHOICES", "check_api_choice", "fits_flash", "goes_flash", "inspect_audio"]

#: What ``api=`` accepts.
API_CHOICES = ("flash", "standard", "auto")


def check_api_choice(api: Any) -> str:
    """``api`` if it is one of :data:`API_CHOICES`.

    Raises:
        ValidationError: naming the allowed values.
    """
    from ..errors import ValidationError

    if api not in API_CHOICES:
        raise ValidationError(
            f"api must be one of {', '.join(map(repr, API_CHOICES))}, got {api!r}", field="api"
        )
    return str(api)


def inspect_audio(audio: Any, audio_fields: dict[str, Any]) -> PreparedAudio:
    """Check an input and fill ``format``/``codec`` from its bytes, without the flash limits.

    Returns:
        The prepared audio (a URL has no source). The caller closes its source.

    Raises:
        InvalidAudioError: the input cannot be read, is empty or not WAV / MP3 / Ogg Opus.
    """
    return prepare_audio(audio, audio_fields, flash_limits=False)


def fits_flash(prepared: PreparedAudio) -> bool:
    """Whether local audio is inside the flash API's limits (100 MiB, 2 h); URLs count as fitting.

    A URL is never fetched by the client, so its size and duration are
    unknown: ``api="auto"`` sends URLs to flash (pass ``api="standard"`` for
    long recordings behind a URL).
    """
    info = prepared.info
    if info is None:
        return True
    if info.size > MAX_AUDIO_BYTES:
        return False
    return info.duration_ms is None or info.duration_ms <= MAX_DURATION_MS


def goes_flash(api: str, prepared: PreparedAudio, options: Any) -> bool:
    """Whether a routed recognition goes to flash: ``api="auto"``, audio inside flash's
    limits and no standard-only option set."""
    return api == "auto" and fits_flash(prepared) and not options.standard_fields_set()
