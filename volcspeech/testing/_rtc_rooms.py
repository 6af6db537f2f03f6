"""The emulated RTC service's state: rooms with real audio, tasks, and the segments cut."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ._segmenter import MIXED_USER
from ._wav import SAMPLE_WIDTH, frames_at, read_wav

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_MAX_IDLE_TIME",
    "EmulatedSegment",
    "Room",
    "Task",
    "build_room",
    "now_ms",
    "window_utterances",
]

DEFAULT_DURATION = 20
DEFAULT_MAX_IDLE_TIME = 180


@attrs.frozen
class EmulatedSegment:
    """A segment the emulator cut, stored and announced.

    Attributes:
        app_id: the app.
        room_id: the room.
        task_id: the task.
        user_id: the user (``mixed`` for the mix).
        sequence: the period index.
        room_start_ms: start in room time (0 = slicing start).
        room_end_ms: end in room time.
        start_time: start as epoch milliseconds (``StartTime`` in the callback).
        bucket: where the WAV is.
        object_key: its key.
        event_id: the ``EventId`` of its callback.
    """

    app_id: str
    room_id: str
    task_id: str
    user_id: str
    sequence: int
    room_start_ms: int
    room_end_ms: int
    start_time: int
    bucket: str
    object_key: str
    event_id: str

    @property
    def duration_ms(self) -> int:
        """The segment's length in ms."""
        return self.room_end_ms - self.room_start_ms


@attrs.define
class Room:
    """A registered room: each target's room-length PCM and ground truth."""

    rate: int
    room_ms: int
    tracks: dict[str, bytes]  # room-length PCM, silent outside the publish window
    publish: dict[str, tuple[int, int]]
    utterances: dict[str, list[dict[str, Any]]]
    mixes: dict[tuple[str, ...], bytes] = attrs.field(factory=dict)


@attrs.define
class Task:
    """A segmentation task's state, keyed by ``(AppId, RoomId, TaskId)``."""

    app_id: str
    room_id: str
    task_id: str
    body: dict[str, Any]
    start_ms: int
    status: int = 2
    end_ms: int = 0
    stop_reason: str | None = None
    duration: int = DEFAULT_DURATION
    handle: bool = True
    identifier: str = ""
    sliced: bool = False

    def view(self) -> dict[str, Any]:
        """The task as ``GetSegmentTask`` reports it."""
        view: dict[str, Any] = {
            "StartTime": self.start_ms,
            "EndTime": self.end_ms,
            "Status": self.status,
            "Duration": self.duration,
            "Handle": self.handle,
            "Identifier": self.identifier,
            "MaxIdleTime": self.body.get("MaxIdleTime", DEFAULT_MAX_IDLE_TIME),
            "StorageConfig": self.body["StorageConfig"],
        }
        if self.stop_reason:
            view["StopReason"] = self.stop_reason
        for key in ("TargetStreams", "Control"):
            if key in self.body:
                view[key] = self.body[key]
        return view

    def targets(self, room: Room) -> list[str]:
        """The users of ``room`` whose audio this task cuts."""
        streams = self._streams()
        if not streams:
            return list(room.tracks)
        # Registered tracks are users' microphone streams: screen streams have no audio here.
        wanted = [s["UserId"] for s in streams if s.get("StreamType", 0) == 0]
        return [u for u in dict.fromkeys(wanted) if u in room.tracks]

    def stream_type(self, user_id: str) -> int:
        """The ``StreamType`` of a user's segments (0 for the mix)."""
        if user_id == MIXED_USER:
            return 0
        types = {s["UserId"]: s.get("StreamType", 0) for s in self._streams()}
        return int(types.get(user_id, 0))

    @property
    def bucket(self) -> str:
        """The bucket of the task's ``TosConfig`` or ``CustomConfig``."""
        storage = self.body["StorageConfig"]
        return str((storage.get("TosConfig") or storage.get("CustomConfig"))["Bucket"])

    def _streams(self) -> list[dict[str, Any]]:
        return list((self.body.get("TargetStreams") or {}).get("StreamList") or [])


def now_ms() -> int:
    """The clock, as epoch milliseconds."""
    return int(time.time() * 1000)


def window_utterances(
    utterances: Sequence[Mapping[str, Any]], lo: int, hi: int
) -> list[dict[str, Any]]:
    """The utterances (words) inside ``[lo, hi]``: what a publishing window lets through."""
    kept: list[dict[str, Any]] = []
    for utt in utterances:
        words = utt.get("words")
        if isinstance(words, list) and words:
            inside = [w for w in words if lo <= int(w["start_time"]) and int(w["end_time"]) <= hi]
            if not inside:
                continue
            if len(inside) == len(words):
                kept.append(dict(utt))
                continue
            kept.append(
                {
                    **utt,
                    "text": " ".join(str(w["text"]) for w in inside),
                    "start_time": int(inside[0]["start_time"]),
                    "end_time": int(inside[-1]["end_time"]),
                    "words": [dict(w) for w in inside],
                }
            )
        elif lo <= int(utt["start_time"]) and int(utt["end_time"]) <= hi:
            kept.append(dict(utt))
    return kept


def build_room(
    tracks: Mapping[str, bytes],
    utterances: Mapping[str, Sequence[Mapping[str, Any]]] | None,
    publish: Mapping[str, tuple[int, int]] | None,
) -> Room:
    """A room from per-user WAV tracks (see :meth:`RtcService.register_room`).

    Raises:
        ValueError: an unreadable track, mixed sample rates, a bad window.
    """
    if not tracks:
        raise ValueError("a room needs at least one track")
    pcms: dict[str, bytes] = {}
    rates = set()
    for user_id, wav in tracks.items():
        try:
            pcm, rate = read_wav(wav)
        except ValueError as exc:
            raise ValueError(f"track {user_id!r}: {exc}") from None
        pcms[user_id] = pcm
        rates.add(rate)
    if len(rates) != 1:
        raise ValueError(f"every track must have one sample rate, got {sorted(rates)}")
    rate = rates.pop()
    frames = max(len(p) for p in pcms.values()) // SAMPLE_WIDTH
    room_ms = frames * 1000 // rate
    windows: dict[str, tuple[int, int]] = {}
    effective: dict[str, bytes] = {}
    truth: dict[str, list[dict[str, Any]]] = {}
    for user_id, pcm in pcms.items():
        track_ms = len(pcm) // SAMPLE_WIDTH * 1000 // rate
        lo, hi = (publish or {}).get(user_id, (0, track_ms))
        if not 0 <= lo < hi:
            raise ValueError(f"publish window of {user_id!r} must be 0 <= start < end")
        hi = min(hi, room_ms)
        windows[user_id] = (lo, hi)
        a, b = frames_at(lo, rate) * SAMPLE_WIDTH, frames_at(hi, rate) * SAMPLE_WIDTH
        padded = pcm.ljust(frames * SAMPLE_WIDTH, b"\0")
        effective[user_id] = bytes(a) + padded[a:b] + bytes(len(padded) - b)
        truth[user_id] = window_utterances((utterances or {}).get(user_id, ()), lo, hi)
    return Room(rate, room_ms, effective, windows, truth)
