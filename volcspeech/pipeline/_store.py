"""Where live rooms are kept: the ``RoomStore`` protocol and the in-memory store.

A store holds, per room (:class:`RoomKey`: app, room, task), the verified
segments and their recognition results, and the room's state: when a callback
last touched it, whether a finish was asked for, and whether it is finished.
Every operation is idempotent on a segment's identity, and :meth:`claim`
is atomic, so several transcribers (threads, processes, hosts) sharing one
store produce each room's transcript exactly once.

Implementations: :class:`MemoryRoomStore` (one process, the default),
:class:`~volcspeech.pipeline.SQLiteRoomStore` (processes on one host) and
:class:`~volcspeech.pipeline.RedisRoomStore` (several hosts).
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, Optional, Protocol, runtime_checkable

import attrs

from ..errors import ConfigurationError
from ._merge import PieceUtterance, PieceWord, SegmentPiece, WordTuple
from ._model import RoomKey

__all__ = [
    "DEFAULT_FINISHED_TTL",
    "DEFAULT_MAX_FINISHED",
    "MemoryRoomStore",
    "PieceResult",
    "RoomState",
    "RoomStore",
    "piece_from_dict",
    "piece_to_dict",
]

#: How long a finished (or dropped) room is remembered, so late re-deliveries are ignored (s).
DEFAULT_FINISHED_TTL = 3600.0
#: How many finished rooms the in-memory store remembers at most.
DEFAULT_MAX_FINISHED = 10_000


@attrs.frozen
class RoomState:
    """A room's counters and flags, as a store sees them.

    Attributes:
        accepted: segments accepted (each identity once).
        done: segments with a recognition result (or a failure).
        touched: when a callback or a result last touched the room (epoch s).
        closing: a finish was asked for; whoever completes the last segment finishes it.
        finished: the transcript was produced (or the room dropped).
    """

    accepted: int
    done: int
    touched: float
    closing: bool = False
    finished: bool = False

    @property
    def complete(self) -> bool:
        """Every accepted segment has its result."""
        return self.done >= self.accepted


@runtime_checkable
class RoomStore(Protocol):
    """What :class:`~volcspeech.pipeline.SegmentTranscriber` keeps its rooms in.

    Results are JSON-ready dicts (see :func:`piece_to_dict`); segment ids are
    strings unique within a room. ``now`` is epoch seconds.
    """

    #: Whether other processes may see and change the same rooms.
    shared: bool

    def add_segment(
        self, key: RoomKey, segment_id: str, segment: Mapping[str, Any], now: float
    ) -> bool:
        """Record a verified segment; ``False`` if it is known or the room is finished."""
        ...

    def forget_segment(self, key: RoomKey, segment_id: str) -> None:
        """Undo :meth:`add_segment` for a segment that could not be queued."""
        ...

    def add_result(
        self, key: RoomKey, segment_id: str, result: Mapping[str, Any], now: float
    ) -> bool:
        """Record a segment's result; ``False`` if the room is finished or unknown."""
        ...

    def state(self, key: RoomKey) -> Optional[RoomState]:
        """The room's counters and flags, or ``None`` for an unknown room."""
        ...

    def results(self, key: RoomKey) -> list[dict[str, Any]]:
        """Every result recorded for the room (any order)."""
        ...

    def request_finish(self, key: RoomKey) -> None:
        """Mark the room closing: whoever completes its last segment finishes it."""
        ...

    def claim(self, key: RoomKey, now: float) -> bool:
        """Mark the room finished; ``True`` for exactly one caller, ever."""
        ...

    def purge(self, key: RoomKey, now: float) -> None:
        """Forget a finished room's segments and results (its finished mark stays a while)."""
        ...

    def drop(self, key: RoomKey, now: float) -> None:
        """Forget the room without a transcript; later deliveries are ignored a while."""
        ...

    def idle_rooms(self, before: float) -> list[RoomKey]:
        """Unfinished rooms nothing touched since ``before`` (epoch s)."""
        ...

    def rooms(self) -> list[RoomKey]:
        """Every unfinished room."""
        ...


def piece_to_dict(
    user_id: str, piece: SegmentPiece, error: Optional[tuple[str, str, int]] = None
) -> dict[str, Any]:
    """A recognized (or failed) segment as a JSON-ready dict.

    Args:
        user_id: the stream.
        piece: the segment's words on the room timeline.
        error: for a failed segment, ``(error_type, reason, attempts)``.
    """
    out: dict[str, Any] = {
        "user": user_id,
        "seq": piece.sequence,
        "start": piece.start,
        "end": piece.end,
        "utterances": [
            {
                "text": u.text,
                # tuples, not lists: the garbage collector stops tracking them
                "words": [(w.text, w.start, w.end, w.confidence) for w in u.words],
                "additions": [(k, v) for k, v in u.additions],
            }
            for u in piece.utterances
        ],
    }
    if piece.failed:
        out["failed"] = True
    if error is not None:
        out["error"] = list(error)
    return out


class PieceResult(Mapping[str, Any]):
    """A result as :func:`piece_to_dict` gives it, built only when read.

    The in-memory store keeps these: the words as plain tuples of plain values
    (which the garbage collector stops tracking) instead of a dict per
    utterance and a list per word, which a long room would make every
    collection walk again and again.
    """

    __slots__ = ("_utterances", "end", "error", "failed", "sequence", "start", "user_id")

    def __init__(
        self, user_id: str, piece: SegmentPiece, error: Optional[tuple[str, str, int]] = None
    ) -> None:
        self.user_id = user_id
        self.error = error
        self.sequence = piece.sequence
        self.start = piece.start
        self.end = piece.end
        self.failed = piece.failed
        self._utterances: tuple[tuple[str, tuple[WordTuple, ...], Any], ...] = tuple(
            (u.text, tuple((w[0], w[1], w[2], w[3]) for w in u.words), u.additions)
            for u in piece.utterances
        )

    @property
    def piece(self) -> SegmentPiece:
        """The segment's piece, rebuilt."""
        return SegmentPiece(
            self.sequence,
            self.start,
            self.end,
            tuple(
                PieceUtterance(text, tuple(PieceWord(*w) for w in words), additions)
                for text, words, additions in self._utterances
            ),
            self.failed,
        )

    def _data(self) -> dict[str, Any]:
        return piece_to_dict(self.user_id, self.piece, self.error)

    def __getitem__(self, name: str) -> Any:
        return self._data()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


def piece_from_dict(
    data: Mapping[str, Any],
) -> tuple[str, SegmentPiece, Optional[tuple[str, str, int]]]:
    """Read back :func:`piece_to_dict`: ``(user_id, piece, error)``."""
    utterances = tuple(
        PieceUtterance(
            u["text"],
            tuple(PieceWord(w[0], int(w[1]), int(w[2]), w[3]) for w in u["words"]),
            tuple((str(k), v) for k, v in u.get("additions", ())),
        )
        for u in data.get("utterances", ())
    )
    seq = data.get("seq")
    piece = SegmentPiece(
        None if seq is None else int(seq),
        int(data["start"]),
        int(data["end"]),
        utterances,
        failed=bool(data.get("failed", False)),
    )
    raw = data.get("error")
    error = None if raw is None else (str(raw[0]), str(raw[1]), int(raw[2]))
    return str(data["user"]), piece, error


def check_retention(finished_ttl: float, max_finished: Optional[int] = None) -> None:
    """Validate the retention settings every store takes."""
    if (
        isinstance(finished_ttl, bool)
        or not isinstance(finished_ttl, (int, float))
        or not math.isfinite(finished_ttl)
        or finished_ttl <= 0
    ):
        raise ConfigurationError(
            f"finished_ttl must be a finite number of seconds > 0, got {finished_ttl!r}"
        )
    if max_finished is not None and (
        isinstance(max_finished, bool) or not isinstance(max_finished, int) or max_finished < 1
    ):
        raise ConfigurationError(f"max_finished must be an integer >= 1, got {max_finished!r}")


@attrs.define
class _MemoryRoom:
    touched: float
    segments: dict[str, Mapping[str, Any]] = attrs.field(factory=dict)
    results: dict[str, Mapping[str, Any]] = attrs.field(factory=dict)
    closing: bool = False


class MemoryRoomStore:
    """Rooms in this process's memory (the default; not shared with other processes).

    A finished or dropped room leaves only its key and the time behind, for
    at most ``finished_ttl`` seconds and ``max_finished`` rooms, so a late
    re-delivery is ignored and memory stays bounded.

    Args:
        finished_ttl: how long finished rooms are remembered (seconds).
        max_finished: how many finished rooms are remembered at most.

    Raises:
        ConfigurationError: a setting out of range.
    """

    shared = False

    def __init__(
        self,
        *,
        finished_ttl: float = DEFAULT_FINISHED_TTL,
        max_finished: int = DEFAULT_MAX_FINISHED,
    ) -> None:
        check_retention(finished_ttl, max_finished)
        self.finished_ttl = float(finished_ttl)
        self.max_finished = max_finished
        self._lock = threading.Lock()
        self._rooms: dict[RoomKey, _MemoryRoom] = {}
        self._finished: collections.OrderedDict[RoomKey, float] = collections.OrderedDict()

    def __repr__(self) -> str:
        return f"MemoryRoomStore(rooms={len(self._rooms)}, finished={len(self._finished)})"

    def _is_finished(self, key: RoomKey) -> bool:
        return key in self._finished

    def _remember_finished(self, key: RoomKey, now: float) -> None:
        self._finished[key] = now
        self._finished.move_to_end(key)
        horizon = now - self.finished_ttl
        while self._finished and (
            len(self._finished) > self.max_finished or next(iter(self._finished.values())) < horizon
        ):
            self._finished.popitem(last=False)

    def add_segment(
        self, key: RoomKey, segment_id: str, segment: Mapping[str, Any], now: float
    ) -> bool:
        """Record a verified segment; ``False`` if it is known or the room is finished."""
        with self._lock:
            if self._is_finished(key):
                return False
            room = self._rooms.get(key)
            if room is None:
                room = self._rooms[key] = _MemoryRoom(now)
            if segment_id in room.segments:
                return False
            room.segments[segment_id] = segment
            room.touched = max(room.touched, now)
            return True

    def forget_segment(self, key: RoomKey, segment_id: str) -> None:
        """Undo :meth:`add_segment` for a segment that could not be queued."""
        with self._lock:
            room = self._rooms.get(key)
            if room is not None:
                room.segments.pop(segment_id, None)
                room.results.pop(segment_id, None)
                if not room.segments:
                    del self._rooms[key]

    def add_result(
        self, key: RoomKey, segment_id: str, result: Mapping[str, Any], now: float
    ) -> bool:
        """Record a segment's result; ``False`` if the room is finished or unknown."""
        with self._lock:
            room = self._rooms.get(key)
            if room is None or key in self._finished:
                return False
            if segment_id not in room.segments or segment_id in room.results:
                return False
            room.results[segment_id] = result
            room.touched = max(room.touched, now)
            return True

    def state(self, key: RoomKey) -> Optional[RoomState]:
        """The room's counters and flags, or ``None`` for an unknown room."""
        with self._lock:
            room = self._rooms.get(key)
            if room is None:
                if key in self._finished:
                    return RoomState(0, 0, self._finished[key], finished=True)
                return None
            return RoomState(len(room.segments), len(room.results), room.touched, room.closing)

    def results(self, key: RoomKey) -> list[dict[str, Any]]:
        """Every result recorded for the room (any order)."""
        with self._lock:
            room = self._rooms.get(key)
            return [] if room is None else [dict(r) for r in room.results.values()]

    def request_finish(self, key: RoomKey) -> None:
        """Mark the room closing: whoever completes its last segment finishes it."""
        with self._lock:
            room = self._rooms.get(key)
            if room is not None:
                room.closing = True

    def claim(self, key: RoomKey, now: float) -> bool:
        """Mark the room finished; ``True`` for exactly one caller, ever."""
        with self._lock:
            if key in self._finished:
                return False
            self._remember_finished(key, now)
            return True

    def purge(self, key: RoomKey, now: float) -> None:
        """Forget a finished room's segments and results (its finished mark stays a while)."""
        with self._lock:
            self._rooms.pop(key, None)

    def drop(self, key: RoomKey, now: float) -> None:
        """Forget the room without a transcript; later deliveries are ignored a while."""
        with self._lock:
            self._rooms.pop(key, None)
            self._remember_finished(key, now)

    def idle_rooms(self, before: float) -> list[RoomKey]:
        """Unfinished rooms nothing touched since ``before`` (epoch s)."""
        with self._lock:
            return [k for k, r in self._rooms.items() if r.touched < before]

    def rooms(self) -> list[RoomKey]:
        """Every unfinished room."""
        with self._lock:
            return list(self._rooms)


def now() -> float:
    """The current time for stores (epoch seconds)."""
    return time.time()
