"""The merged room transcript: utterances per user, the mixed stream, and gaps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Optional

import attrs

__all__ = ["MIXED_USER", "Gap", "RoomKey", "RoomTranscript", "RoomUtterance", "RoomWord"]

#: The user id RTC gives the mixed stream's segments.
MIXED_USER = "mixed"


class RoomKey(NamedTuple):
    """What identifies a live room's transcript: one segmentation task in one room.

    Two ``StartSegment`` tasks in the same room are two transcripts.

    Attributes:
        app_id: the RTC app id (``""`` when the callback carried none).
        room_id: the room.
        task_id: the segmentation task.
    """

    app_id: str
    room_id: str
    task_id: str

    def __str__(self) -> str:
        return f"{self.app_id}/{self.room_id}/{self.task_id}"


@attrs.frozen
class RoomWord:
    """A word on the room timeline.

    Attributes:
        text: the word.
        start_time: start in ms from the transcript's origin.
        end_time: end in ms from the transcript's origin.
        confidence: the recognizer's confidence, when given.
    """

    text: str
    start_time: int
    end_time: int
    confidence: Optional[float] = None


@attrs.frozen
class RoomUtterance:
    """One utterance of one user (or of the mixed stream) on the room timeline.

    Attributes:
        user_id: the speaker's RTC user id (``"mixed"`` for the mixed stream).
        start_time: start in ms from the transcript's origin.
        end_time: end in ms from the transcript's origin.
        text: what was said.
        words: the words, with room times.
        start_epoch_ms: the absolute start (Unix epoch, ms).
        segments: the sequence numbers of the segments it came from.
        additions: extra fields the recognizer returned (e.g. ``speaker``).
    """

    user_id: str
    start_time: int
    end_time: int
    text: str
    words: tuple[RoomWord, ...] = ()
    start_epoch_ms: int = 0
    segments: tuple[int, ...] = ()
    additions: Mapping[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "user_id": self.user_id,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "text": self.text,
            "start_epoch_ms": self.start_epoch_ms,
            "segments": list(self.segments),
            "words": [attrs.asdict(w) for w in self.words],
            **({"additions": dict(self.additions)} if self.additions else {}),
        }


@attrs.frozen
class Gap:
    """A stretch of a user's audio with no transcript, and why.

    Attributes:
        user_id: whose audio.
        start_time: start in ms from the transcript's origin.
        end_time: end in ms from the transcript's origin.
        sequence: the failed segment's sequence number, when known.
        reason: a readable reason (the last error's class and message).
        error_type: the last error's class name.
        attempts: how many times recognition was tried.
    """

    user_id: str
    start_time: int
    end_time: int
    sequence: Optional[int]
    reason: str
    error_type: str
    attempts: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return attrs.asdict(self)


@attrs.frozen
class RoomTranscript:
    """A merged, time-ordered transcript of one room.

    Attributes:
        app_id: the RTC app.
        room_id: the room.
        origin_ms: the Unix epoch time (ms) that room times count from.
        utterances: every user's utterances, ordered by start time (the mixed
            stream is kept apart, in ``mixed``).
        mixed: the mixed stream's utterances, when the task had ``Mixed`` on.
        gaps: segments that could not be recognized.
        segments: how many segments were recognized (silent ones included).
        pending: how many submitted segments are still being recognized.
        task_id: the segmentation task the segments came from.
    """

    app_id: str
    room_id: str
    origin_ms: int
    utterances: tuple[RoomUtterance, ...] = ()
    mixed: tuple[RoomUtterance, ...] = ()
    gaps: tuple[Gap, ...] = ()
    segments: int = 0
    pending: int = 0
    task_id: str = ""

    @property
    def key(self) -> RoomKey:
        """The room's :class:`RoomKey`."""
        return RoomKey(self.app_id, self.room_id, self.task_id)

    @property
    def text(self) -> str:
        """One line per utterance: ``user: text``."""
        return "\n".join(f"{u.user_id}: {u.text}" for u in self.utterances)

    @property
    def users(self) -> tuple[str, ...]:
        """The users heard, in order of first utterance."""
        return tuple(dict.fromkeys(u.user_id for u in self.utterances))

    @property
    def complete(self) -> bool:
        """No segment is pending and none failed."""
        return not self.pending and not self.gaps

    def for_user(self, user_id: str) -> tuple[RoomUtterance, ...]:
        """One user's utterances (``"mixed"`` gives the mixed stream)."""
        source = self.mixed if user_id == MIXED_USER else self.utterances
        return tuple(u for u in source if u.user_id == user_id)

    def _cues(self, stream: str, speaker_labels: bool, mark_gaps: bool) -> list[Any]:
        from .._subtitles import Cue, _span, split_cue

        if stream not in ("users", "mixed"):
            raise ValueError(f"stream must be 'users' or 'mixed', got {stream!r}")
        source = self.utterances if stream == "users" else self.mixed
        cues: list[Any] = []
        for u in source:
            speaker = u.user_id if speaker_labels and stream == "users" else None
            cues.extend(
                split_cue(
                    # _span: a time before the origin (negative) starts the cue at 0.
                    Cue(*_span(u.start_time, u.end_time), u.text, speaker),
                    [(w.text, w.start_time, w.end_time) for w in u.words],
                )
            )
        if mark_gaps:
            for g in self.gaps:
                if (g.user_id == MIXED_USER) == (stream == "mixed"):
                    label = g.user_id if speaker_labels and stream == "users" else None
                    cues.append(
                        Cue(
                            *_span(g.start_time, g.end_time),
                            "[no transcript: recognition failed]",
                            label,
                        )
                    )
        cues.sort(key=lambda c: (c.start_ms, c.end_ms))
        return cues

    def to_srt(
        self, *, stream: str = "users", speaker_labels: bool = True, mark_gaps: bool = True
    ) -> str:
        """The transcript as SubRip subtitles.

        Args:
            stream: ``"users"`` (each user's utterances) or ``"mixed"``.
            speaker_labels: prefix each cue with the user id.
            mark_gaps: add a cue where a segment could not be recognized.
        """
        from .._subtitles import format_srt

        return format_srt(self._cues(stream, speaker_labels, mark_gaps))

    def to_vtt(
        self, *, stream: str = "users", speaker_labels: bool = True, mark_gaps: bool = True
    ) -> str:
        """The transcript as WebVTT subtitles (speakers as ``<v>`` voice spans).

        Args:
            stream: ``"users"`` (each user's utterances) or ``"mixed"``.
            speaker_labels: mark each cue with its user id.
            mark_gaps: add a cue where a segment could not be recognized.
        """
        from .._subtitles import format_vtt

        return format_vtt(self._cues(stream, speaker_labels, mark_gaps))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole transcript."""
        return {
            "app_id": self.app_id,
            "room_id": self.room_id,
            "task_id": self.task_id,
            "origin_ms": self.origin_ms,
            "segments": self.segments,
            "pending": self.pending,
            "utterances": [u.to_dict() for u in self.utterances],
            "mixed": [u.to_dict() for u in self.mixed],
            "gaps": [g.to_dict() for g in self.gaps],
        }
