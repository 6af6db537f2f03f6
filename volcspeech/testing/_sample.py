"""A small two-speaker RTC room with real speech and exact word timings.

The data lives in ``volcspeech/testing/data/sample_room/`` and is produced by
``tools/make_sample_room.py``: a 49.5 s product stand-up between ``alice`` and
``bob``, synthesized word by word with espeak-ng, so every word's start and end
time is exact (sample position / 16 at 16 kHz). Each user has a full-length
16 kHz mono 16-bit WAV track that is exact digital silence (zero samples)
outside that user's words.

``SampleRoom.notes["cases"]`` lists the segment-boundary cases built into the
timeline, e.g. a word of ``alice`` that straddles 20000 ms.

Example:
    >>> room = load_sample_room()
    >>> room.tracks["alice"].duration_ms == room.duration_ms
    True
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import wave
from collections.abc import Mapping
from importlib.resources import files
from types import MappingProxyType
from typing import Any

import attrs

__all__ = [
    "SampleRoom",
    "SampleTrack",
    "SampleUtterance",
    "SampleWord",
    "load_sample_room",
]

_PACKAGE = "volcspeech.testing"
_DATA_DIR = ("data", "sample_room")
_GROUND_TRUTH = "ground_truth.json"


@attrs.frozen
class SampleWord:
    """One word with its exact position on the room timeline.

    Attributes:
        text: The word as written, including attached sentence punctuation
            (e.g. ``"everyone."``); the spoken word has no punctuation.
        start_time: Start of the word in milliseconds from the room start.
        end_time: End of the word in milliseconds from the room start
            (exclusive).
    """

    text: str
    start_time: int
    end_time: int


@attrs.frozen
class SampleUtterance:
    """One utterance (a speaker turn) of one user.

    Attributes:
        user_id: The RTC user id of the speaker.
        text: The words' texts joined by single spaces.
        start_time: Start of the first word, in milliseconds.
        end_time: End of the last word, in milliseconds.
        words: The words of the utterance in time order.
    """

    user_id: str
    text: str
    start_time: int
    end_time: int
    words: tuple[SampleWord, ...]


@attrs.frozen
class SampleTrack:
    """The full-length audio track of one user, with that user's utterances.

    Attributes:
        user_id: The RTC user id.
        wav: The complete WAV file (16 kHz mono signed 16-bit PCM).
        utterances: The user's utterances in time order.
    """

    user_id: str
    wav: bytes = attrs.field(repr=False)
    utterances: tuple[SampleUtterance, ...]

    @property
    def sample_rate(self) -> int:
        """The sample rate of the track in Hz."""
        with wave.open(io.BytesIO(self.wav), "rb") as reader:
            return reader.getframerate()

    @property
    def pcm(self) -> bytes:
        """The raw PCM samples (the WAV ``data`` chunk), signed 16-bit little-endian."""
        with wave.open(io.BytesIO(self.wav), "rb") as reader:
            return reader.readframes(reader.getnframes())

    @property
    def duration_ms(self) -> int:
        """The length of the track in whole milliseconds."""
        with wave.open(io.BytesIO(self.wav), "rb") as reader:
            return reader.getnframes() * 1000 // reader.getframerate()


@attrs.frozen
class SampleRoom:
    """A recorded RTC room: one track per user plus the ground truth.

    Attributes:
        app_id: The RTC app id the room belongs to.
        room_id: The RTC room id.
        sample_rate: The sample rate of every track in Hz.
        duration_ms: The room length in milliseconds; every track has exactly
            this length.
        tracks: The tracks keyed by user id.
        notes: Free-form, read-only metadata from the generator, including
            ``"cases"``, the segment-boundary cases built into the timeline.
    """

    app_id: str
    room_id: str
    sample_rate: int
    duration_ms: int
    tracks: Mapping[str, SampleTrack]
    notes: Mapping[str, Any]

    def utterances(self) -> list[SampleUtterance]:
        """Return the utterances of all users.

        Returns:
            Every utterance, sorted by ``(start_time, user_id)``.
        """
        return sorted(
            (u for track in self.tracks.values() for u in track.utterances),
            key=lambda u: (u.start_time, u.user_id),
        )

    def words(self, user_id: str) -> list[SampleWord]:
        """Return the words spoken by one user.

        Args:
            user_id: The user whose words to return.

        Returns:
            The user's words in time order.

        Raises:
            KeyError: If the room has no track for ``user_id``.
        """
        return [w for u in self.tracks[user_id].utterances for w in u.words]


def _freeze(value: Any) -> Any:
    """Return a read-only deep copy of decoded JSON (dicts become mappings, lists tuples)."""
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _read_data(name: str) -> bytes:
    resource = files(_PACKAGE)
    for part in _DATA_DIR:
        resource = resource / part
    return (resource / name).read_bytes()


def _check_wav(user_id: str, wav: bytes, sample_rate: int, duration_ms: int) -> None:
    """Validate that ``wav`` is a 16-bit mono track of the expected rate and length.

    Raises:
        ValueError: If the WAV does not match.
    """
    try:
        with wave.open(io.BytesIO(wav), "rb") as reader:
            params = reader.getparams()
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"sample room track {user_id!r} is not a valid WAV file") from exc
    expected_frames = duration_ms * sample_rate // 1000
    if (params.nchannels, params.sampwidth, params.framerate, params.nframes) != (
        1,
        2,
        sample_rate,
        expected_frames,
    ):
        raise ValueError(
            f"sample room track {user_id!r}: expected mono 16-bit {sample_rate} Hz with "
            f"{expected_frames} frames, got {params.nchannels} ch, {8 * params.sampwidth}-bit, "
            f"{params.framerate} Hz, {params.nframes} frames"
        )


def _parse_utterance(user_id: str, raw: Mapping[str, Any]) -> SampleUtterance:
    words = tuple(
        SampleWord(
            text=str(w["text"]), start_time=int(w["start_time"]), end_time=int(w["end_time"])
        )
        for w in raw["words"]
    )
    return SampleUtterance(
        user_id=user_id,
        text=str(raw["text"]),
        start_time=int(raw["start_time"]),
        end_time=int(raw["end_time"]),
        words=words,
    )


@functools.cache
def load_sample_room() -> SampleRoom:
    """Load the bundled sample room (two speakers, exact word timings).

    The files are read from the installed package with
    :func:`importlib.resources.files`, the gzip-compressed tracks are
    decompressed and validated, and the result is cached with
    :func:`functools.cache`: every call returns the same immutable
    :class:`SampleRoom`.

    Returns:
        The sample room.

    Raises:
        ValueError: If the bundled data is inconsistent (a track's format or
            length does not match the ground truth).
    """
    truth = json.loads(_read_data(_GROUND_TRUTH).decode("utf-8"))
    sample_rate = int(truth["sample_rate"])
    duration_ms = int(truth["duration_ms"])
    tracks: dict[str, SampleTrack] = {}
    for user_id, info in truth["users"].items():
        wav = gzip.decompress(_read_data(str(info["audio"])))
        _check_wav(user_id, wav, sample_rate, duration_ms)
        utterances = tuple(_parse_utterance(user_id, u) for u in info["utterances"])
        tracks[user_id] = SampleTrack(user_id=user_id, wav=wav, utterances=utterances)
    return SampleRoom(
        app_id=str(truth["app_id"]),
        room_id=str(truth["room_id"]),
        sample_rate=sample_rate,
        duration_ms=duration_ms,
        tracks=MappingProxyType(tracks),
        notes=_freeze(truth.get("notes", {})),
    )
