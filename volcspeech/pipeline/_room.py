"""One live room: a timeline per stream, its gaps, and which utterances are final."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Optional

from ._merge import MergedUtterance, SegmentPiece
from ._model import MIXED_USER, Gap, RoomKey, RoomTranscript, RoomUtterance, RoomWord
from ._store import piece_from_dict
from ._timeline import StreamTimeline, _sort_key

__all__ = ["LiveRoom"]


class _Stream:
    __slots__ = ("failures", "spans", "timeline")

    def __init__(self, redundant_ms: int, join_gap_ms: int) -> None:
        self.timeline = StreamTimeline(redundant_ms, join_gap_ms)
        # sequence -> (start, end) of every segment seen, recognized or failed
        self.spans: dict[int, tuple[int, int]] = {}
        # (sequence, start) -> (piece, (error_type, reason, attempts))
        self.failures: dict[
            tuple[Optional[int], int], tuple[SegmentPiece, tuple[str, str, int]]
        ] = {}


class LiveRoom:
    """A room's merge state; not thread-safe (the transcriber holds the room's lock).

    Args:
        key: the room.
        redundant_ms: the task's ``RedundantDuration`` in ms.
        join_gap_ms: see :class:`~volcspeech.pipeline.SegmentTranscriber`.
        origin_ms: room time zero, or ``None`` for the earliest segment's start.
    """

    def __init__(
        self, key: RoomKey, redundant_ms: int, join_gap_ms: int, origin_ms: Optional[int]
    ) -> None:
        self.key = key
        self.redundant_ms = redundant_ms
        self.join_gap_ms = join_gap_ms
        self.fixed_origin = origin_ms
        self.earliest: Optional[int] = None
        self.streams: dict[str, _Stream] = {}
        self.emitted: set[tuple[str, int, int, str]] = set()
        # Live utterances carry room times, so they wait for room time zero: the
        # start of a first segment (sequence 0), unless origin_ms was given.
        self.origin_known = origin_ms is not None
        self.pending = 0
        self.lock = threading.Lock()  # guards the merge state; the transcriber's lock the rest

    @classmethod
    def from_results(
        cls,
        key: RoomKey,
        results: Iterable[dict[str, Any]],
        redundant_ms: int,
        join_gap_ms: int,
        origin_ms: Optional[int],
    ) -> LiveRoom:
        """Rebuild a room from a store's results (in time order, so each insert is O(1))."""
        room = cls(key, redundant_ms, join_gap_ms, origin_ms)
        decoded = [piece_from_dict(r) for r in results]
        decoded.sort(key=lambda d: _sort_key(d[1]))
        for user_id, piece, error in decoded:
            room.add(user_id, piece, error, live=False)
        return room

    @property
    def origin(self) -> int:
        """Room time zero (epoch ms)."""
        if self.fixed_origin is not None:
            return self.fixed_origin
        return self.earliest if self.earliest is not None else 0

    def add(
        self,
        user_id: str,
        piece: SegmentPiece,
        error: Optional[tuple[str, str, int]] = None,
        *,
        live: bool = True,
    ) -> list[RoomUtterance]:
        """Merge one finished segment; return the utterances it made final (when ``live``)."""
        stream = self.streams.get(user_id)
        if stream is None:
            stream = self.streams[user_id] = _Stream(self.redundant_ms, self.join_gap_ms)
        if self.earliest is None or piece.start < self.earliest:
            self.earliest = piece.start
        if piece.sequence is not None:
            stream.spans[piece.sequence] = (piece.start, piece.end)
        timeline = stream.timeline
        if piece.failed:
            stream.failures[(piece.sequence, piece.start)] = (
                piece,
                error or ("Unknown", "recognition failed", 0),
            )
            at = timeline.position(piece)
            first, last = at - 1, at
        else:
            first, last = timeline.insert(piece)
        if not live:
            return []
        if not self.origin_known:
            if piece.sequence not in (0, None):
                return []
            self.origin_known = True
            return self._final_everywhere()
        ready = []
        for m in timeline.around(first, last):
            mark = (user_id, m.start, m.end, m.text)
            if mark not in self.emitted and self._is_final(stream, m):
                self.emitted.add(mark)
                ready.append(self._utterance(user_id, m))
        return ready

    def _final_everywhere(self) -> list[RoomUtterance]:
        """Every final utterance not handed out yet (once, when room time zero is known)."""
        ready = []
        for user_id, stream in self.streams.items():
            for m in stream.timeline.utterances():
                mark = (user_id, m.start, m.end, m.text)
                if mark not in self.emitted and self._is_final(stream, m):
                    self.emitted.add(mark)
                    ready.append(self._utterance(user_id, m))
        ready.sort(key=lambda u: (u.start_epoch_ms, u.user_id))
        return ready

    def _is_final(self, stream: _Stream, m: MergedUtterance) -> bool:
        """No segment still to come can change ``m`` (its neighbours were seen)."""
        if not m.sequences:
            return False
        spans = stream.spans
        first_seq, last_seq = min(m.sequences), max(m.sequences)
        first, last = spans.get(first_seq), spans.get(last_seq)
        if first is None or last is None:  # pragma: no cover - sequences come from pieces
            return False
        head = first[0] + self.redundant_ms + self.join_gap_ms
        if m.start <= head and first_seq and (first_seq - 1) not in spans:
            return False  # the previous segment may still own or extend its head
        tail = last[1] - self.join_gap_ms
        return not (m.end >= tail and last_seq + 1 not in spans)

    def _utterance(self, user_id: str, m: MergedUtterance) -> RoomUtterance:
        origin = self.origin
        return RoomUtterance(
            user_id=user_id,
            start_time=m.start - origin,
            end_time=m.end - origin,
            text=m.text,
            words=tuple(
                RoomWord(text, start - origin, end - origin, confidence)
                for text, start, end, confidence in m.words
            ),
            start_epoch_ms=m.start,
            segments=m.sequences,
            additions=dict(m.additions),
        )

    def rest(self) -> list[RoomUtterance]:
        """Every utterance not handed out yet (the room is finishing), marked as handed out."""
        ready = []
        for user_id, stream in self.streams.items():
            for m in stream.timeline.utterances():
                mark = (user_id, m.start, m.end, m.text)
                if mark not in self.emitted:
                    self.emitted.add(mark)
                    ready.append(self._utterance(user_id, m))
        ready.sort(key=lambda u: (u.start_epoch_ms, u.user_id))
        return ready

    def transcript(self) -> RoomTranscript:
        """The room's merged transcript so far (reads every stream once)."""
        users: list[RoomUtterance] = []
        mixed: list[RoomUtterance] = []
        gaps: list[Gap] = []
        count = 0
        origin = self.origin
        for user_id, stream in self.streams.items():
            target = mixed if user_id == MIXED_USER else users
            target.extend(self._utterance(user_id, m) for m in stream.timeline.utterances())
            count += len(stream.timeline)
            for piece, (error_type, reason, attempts) in stream.failures.values():
                gaps.append(
                    Gap(
                        user_id,
                        piece.start - origin,
                        piece.end - origin,
                        piece.sequence,
                        reason,
                        error_type,
                        attempts,
                    )
                )

        def order(u: RoomUtterance) -> tuple[int, str, int]:
            return (u.start_time, u.user_id, u.end_time)

        return RoomTranscript(
            app_id=self.key.app_id,
            room_id=self.key.room_id,
            origin_ms=origin,
            utterances=tuple(sorted(users, key=order)),
            mixed=tuple(sorted(mixed, key=order)),
            gaps=tuple(sorted(gaps, key=lambda g: (g.start_time, g.user_id))),
            segments=count,
            pending=self.pending,
            task_id=self.key.task_id,
        )
