"""The emulated ASR's ground truth: registrations, and the words of a slice of a recording.

A *slice* of a registered WAV (same rate, channels and sample width, PCM found
inside the registered PCM at a frame-aligned offset) gets the words with more
than half their duration inside the slice (exactly half: the slice holding the
word's first half), with times relative to the slice, grouped into their
original utterances.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ._audio import NONZERO, AudioInfo

__all__ = [
    "AsrRegistration",
    "Recording",
    "Truth",
    "checked_int",
    "field",
    "find_slice",
    "normalize_utterances",
    "slice_truth",
]

#: Length of the first non-silent probe used to find a slice in a recording.
_PROBE_MS = 500


@attrs.frozen
class AsrRegistration:
    """Registered ground truth, as returned by :meth:`AsrService.register`.

    Attributes:
        id: a number unique within the emulator.
        sha256: the hex digest of the registered audio (``None`` for a URL without audio).
        url: the registered URL, for :meth:`AsrService.register_url`.
        text: the text answered for the whole audio.
        utterances: the utterances, as dicts in the API's response shape.
        duration_ms: the audio's duration.
    """

    id: int
    sha256: str | None
    url: str | None
    text: str
    utterances: tuple[dict[str, Any], ...] = attrs.field(repr=False)
    duration_ms: int | None
    has_truth: bool = attrs.field(default=True, repr=False)


def field(obj: Any, key: str) -> Any:
    """A key of a mapping or an attribute of an object (``None`` if absent)."""
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def checked_int(value: Any, where: str) -> int:
    """``value`` if it is an int (not a bool); else ``ValueError`` naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where} must be an int (milliseconds), got {value!r}")
    return value


def _normalize_word(raw: Any, where: str) -> dict[str, Any]:
    text = field(raw, "text")
    if not isinstance(text, str):
        raise ValueError(f"{where}.text must be a str")
    word: dict[str, Any] = {
        "text": text,
        "start_time": checked_int(field(raw, "start_time"), f"{where}.start_time"),
        "end_time": checked_int(field(raw, "end_time"), f"{where}.end_time"),
    }
    for key in ("confidence", "blank_duration"):
        if field(raw, key) is not None:
            word[key] = field(raw, key)
    return word


def normalize_utterances(utterances: Iterable[Any]) -> tuple[dict[str, Any], ...]:
    out = []
    for i, raw in enumerate(utterances):
        where = f"utterances[{i}]"
        text = field(raw, "text")
        if not isinstance(text, str):
            raise ValueError(f"{where}.text must be a str")
        words = [
            _normalize_word(w, f"{where}.words[{j}]")
            for j, w in enumerate(field(raw, "words") or ())
        ]
        utterance: dict[str, Any] = {
            "text": text,
            "start_time": checked_int(field(raw, "start_time"), f"{where}.start_time"),
            "end_time": checked_int(field(raw, "end_time"), f"{where}.end_time"),
            "words": words,
        }
        additions = field(raw, "additions")
        if additions is not None:
            if not isinstance(additions, Mapping):
                raise ValueError(f"{where}.additions must be a mapping")
            utterance["additions"] = dict(additions)
        if field(raw, "definite") is not None:
            utterance["definite"] = bool(field(raw, "definite"))
        out.append(utterance)
    return tuple(out)


@attrs.frozen
class Truth:
    registration: AsrRegistration
    text: str
    utterances: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, registration: AsrRegistration) -> Truth:
        """The whole registered transcript."""
        return cls(registration, registration.text, registration.utterances)


@attrs.frozen
class Recording:
    """A registered WAV whose slices can be recognized."""

    registration: AsrRegistration
    rate: int
    channels: int
    width: int
    pcm: bytes = attrs.field(repr=False)


def _inside(start: int, end: int, w0: int, w1: int) -> bool:
    """Whether a span (scaled times) belongs to the window [w0, w1).

    More than half of it inside; exactly half goes to the window holding its
    first half, so of two abutting windows exactly one gets it.
    """
    if end <= start:
        return w0 <= start < w1
    overlap = min(end, w1) - max(start, w0)
    return 2 * overlap > end - start or (2 * overlap == end - start and start >= w0)


def slice_truth(rec: Recording, offset_frames: int, frames: int) -> Truth:
    rate = rec.rate
    w0, w1 = offset_frames * 1000, (offset_frames + frames) * 1000  # ms * rate
    length_ms = frames * 1000 // rate

    def rel(ms: int) -> int:
        return min(length_ms, max(0, round((ms * rate - w0) / rate)))

    utterances = []
    for utt in rec.registration.utterances:
        if utt["words"]:
            words = [
                dict(w, start_time=rel(w["start_time"]), end_time=rel(w["end_time"]))
                for w in utt["words"]
                if _inside(w["start_time"] * rate, w["end_time"] * rate, w0, w1)
            ]
            if not words:
                continue
            text = " ".join(w["text"] for w in words)
            if len(words) == len(utt["words"]):
                text = utt["text"]
            start, end = words[0]["start_time"], words[-1]["end_time"]
        elif _inside(utt["start_time"] * rate, utt["end_time"] * rate, w0, w1):
            words, text = [], utt["text"]
            start, end = rel(utt["start_time"]), rel(utt["end_time"])
        else:
            continue
        utterances.append(dict(utt, text=text, start_time=start, end_time=end, words=words))
    text = " ".join(u["text"] for u in utterances)
    return Truth(rec.registration, text, tuple(utterances))


def find_slice(rec: Recording, audio: AudioInfo) -> int | None:
    """The frame offset of ``audio``'s samples inside ``rec``, if they are a slice of it."""
    if (audio.rate, audio.channels, audio.width) != (rec.rate, rec.channels, rec.width):
        return None
    pcm = audio.pcm
    frame = rec.channels * rec.width
    if len(pcm) == 0 or len(pcm) > len(rec.pcm) or len(pcm) % frame:
        return None
    first = NONZERO.search(pcm)
    if first is None:
        return None
    probe_start = first.start() // frame * frame
    probe_len = max(frame, rec.rate * _PROBE_MS // 1000 * frame)
    probe = bytes(pcm[probe_start : probe_start + probe_len])
    haystack = memoryview(rec.pcm)
    found = rec.pcm.find(probe)
    while found >= 0:
        offset = found - probe_start
        if offset >= 0 and offset % frame == 0 and haystack[offset : offset + len(pcm)] == pcm:
            return offset // frame
        found = rec.pcm.find(probe, found + 1)
    return None
