"""The room lifecycle of ``SegmentTranscriber``: finishing, dropping and idle rooms.

A room is finished exactly once across every transcriber sharing a store:
whoever wins the store's atomic :meth:`~RoomStore.claim` produces the
transcript. A finish that cannot wait for segments still being recognized
marks the room *closing*, and the transcriber that records its last result
finishes it.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from .._log import get_logger
from ..errors import ConfigurationError
from ._model import RoomKey, RoomTranscript, RoomUtterance
from ._room import LiveRoom
from ._settings import check_seconds

if TYPE_CHECKING:  # pragma: no cover
    from ._store import RoomStore

__all__ = ["RoomLifecycle", "as_key"]

logger = get_logger("volcspeech.pipeline")

#: How often (at most) the idle-room check runs, in seconds.
IDLE_CHECK_INTERVAL = 1.0


def as_key(key: Any) -> RoomKey:
    """A :class:`RoomKey` from a key, a 3-tuple of strings or a transcript."""
    if isinstance(key, RoomTranscript):
        return key.key
    if isinstance(key, tuple) and len(key) == 3 and all(isinstance(k, str) for k in key):
        return RoomKey(*key)
    raise ConfigurationError(
        f"a room key is a RoomKey(app_id, room_id, task_id) (a tuple of 3 strings), got {key!r}"
    )


class RoomLifecycle:
    """Finishing and dropping rooms (mixed into ``SegmentTranscriber``)."""

    store: RoomStore
    redundant_duration_ms: int
    join_gap_ms: int
    origin_ms: Optional[int]
    on_utterance: Optional[Callable[[RoomUtterance], None]]
    on_room_finished: Optional[Callable[[RoomTranscript], None]]
    room_idle_timeout: Optional[float]
    _shared: bool
    _lock: threading.Lock
    _idle: threading.Condition
    _rooms: dict[RoomKey, LiveRoom]
    _final: dict[RoomKey, RoomTranscript]
    _finished: bool
    _stop: threading.Event

    def _emit(self, utterances: list[RoomUtterance]) -> None:
        raise NotImplementedError

    def _forget(self, key: RoomKey) -> None:
        raise NotImplementedError

    def _complete_if_closing(self, key: RoomKey) -> None:
        try:
            state = self.store.state(key)
            ready = state is not None and state.closing and not state.finished and state.complete
            if ready and self._settled(key):
                self._produce(key)
        except Exception:
            logger.exception("could not finish room %s", key)

    def _settled(self, key: RoomKey) -> bool:
        """No segment of the room is between its store result and the local timeline."""
        with self._lock:
            room = self._rooms.get(key)
            return self._shared or room is None or not room.pending

    def _build(self, key: RoomKey) -> Optional[LiveRoom]:
        if self._shared:
            return LiveRoom.from_results(
                key,
                self.store.results(key),
                self.redundant_duration_ms,
                self.join_gap_ms,
                self.origin_ms,
            )
        with self._lock:
            return self._rooms.get(key)

    def _produce(self, key: RoomKey) -> Optional[RoomTranscript]:
        """Claim the room and produce its transcript, or ``None`` if someone else did."""
        now = time.time()
        if not self.store.claim(key, now):
            return None
        room = self._build(key)
        if room is None:  # dropped meanwhile
            room = LiveRoom(key, self.redundant_duration_ms, self.join_gap_ms, self.origin_ms)
        with room.lock:
            rest = room.rest() if self.on_utterance is not None else []
            transcript = room.transcript()
        self.store.purge(key, now)
        with self._lock:
            self._forget(key)
            if self._finished:
                self._final[key] = transcript
        self._emit(rest)
        if self.on_room_finished is not None:
            try:
                self.on_room_finished(transcript)
            except Exception:
                logger.exception("on_room_finished handler failed for room %s", key)
        return transcript

    def finish_room(self, key: Any, *, timeout: Optional[float] = None) -> Optional[RoomTranscript]:
        """Finish one room: wait for its segments, produce its transcript, forget it.

        Fires the room's remaining ``on_utterance`` calls and ``on_room_finished``.
        With a shared store, any transcriber sharing it can finish any room,
        and each room is produced exactly once.

        Args:
            key: the room's :class:`RoomKey` ``(app_id, room_id, task_id)``.
            timeout: the longest wait for segments still being recognized
                (seconds). With a shared store, give one: a segment accepted
                by a worker that died is never completed.

        Returns:
            The room's transcript; ``None`` when it was already finished (or
            dropped), here or elsewhere.

        Raises:
            KeyError: no such room.
            TimeoutError: segments still pending after ``timeout``; the room is
                marked closing, and whoever completes its last segment finishes it.
        """
        key = as_key(key)
        check_seconds("timeout", timeout, optional=True)
        state = self.store.state(key)
        if state is None:
            with self._lock:
                known = key in self._rooms
            if not known:
                raise KeyError(f"no such room: {key}")
        elif state.finished:
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._wait_room(key, deadline):
            self.store.request_finish(key)
            state = self.store.state(key)  # the last segment may have landed meanwhile
            if state is not None and state.complete and not state.finished:
                return self._produce(key)
            raise TimeoutError(
                f"room {key} still has segments pending after {timeout}s; it is marked "
                "closing and will be finished when its last segment is done"
            )
        return self._produce(key)

    def _wait_room(self, key: RoomKey, deadline: Optional[float]) -> bool:
        with self._lock:
            while key in self._rooms and self._rooms[key].pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        if not self._shared:
            return True
        delay = 0.01
        while True:  # other processes' segments: poll the store
            state = self.store.state(key)
            if state is None or state.complete:
                return True
            if deadline is not None and time.monotonic() + delay > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def drop_room(self, key: Any) -> bool:
        """Forget a room without producing its transcript.

        Segments of the room still being recognized are discarded, and later
        deliveries for it are ignored (for the store's ``finished_ttl``).

        Returns:
            Whether the room was known.
        """
        key = as_key(key)
        known = self.store.state(key) is not None
        self.store.drop(key, time.time())
        with self._lock:
            known = known or key in self._rooms
            self._forget(key)
            self._idle.notify_all()
        return known

    def _reap(self) -> None:
        assert self.room_idle_timeout is not None
        interval = min(IDLE_CHECK_INTERVAL, self.room_idle_timeout / 4)
        while not self._stop.wait(interval):
            try:
                self.reap_idle_rooms()
            except Exception:
                logger.exception("idle-room check failed")

    def reap_idle_rooms(self, now: Optional[float] = None) -> list[RoomTranscript]:
        """Finish every room nothing touched for ``room_idle_timeout`` seconds.

        Runs by itself every second when ``room_idle_timeout`` is set; call it
        to check at once. A room with segments still being recognized is
        marked closing instead (whoever completes its last segment finishes it).

        Returns:
            The transcripts produced by this call.
        """
        if self.room_idle_timeout is None:
            return []
        now = time.time() if now is None else now
        produced = []
        for key in self.store.idle_rooms(now - self.room_idle_timeout):
            state = self.store.state(key)
            if state is None or state.finished:
                continue
            if not state.complete or not self._settled(key):
                self.store.request_finish(key)
                state = self.store.state(key)
                if state is None or not state.complete or not self._settled(key):
                    continue
            logger.info("room %s idle for %ss: finishing it", key, self.room_idle_timeout)
            transcript = self._produce(key)
            if transcript is not None:
                produced.append(transcript)
        return produced
