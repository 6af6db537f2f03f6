"""``SegmentTranscriber``: RTC segments in, merged room transcripts out."""

from __future__ import annotations

import concurrent.futures
import functools
import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from .. import RetryPolicy
from .._log import get_logger
from ..errors import ConfigurationError
from ..rtc._callback_events import SEGMENT_EVENT_TYPE
from ..rtc._callback_parse import DEFAULT_CALLBACK_MAX_AGE
from ._lifecycle import RoomLifecycle
from ._merge import SegmentPiece
from ._model import RoomKey, RoomTranscript, RoomUtterance
from ._recognize import AudioRef, Outcome, recognize_segment, safe_reason
from ._room import LiveRoom
from ._settings import check_callable, check_int, check_seconds, check_type
from ._store import MemoryRoomStore, PieceResult, RoomStore, piece_to_dict

if TYPE_CHECKING:  # pragma: no cover
    from ..asr import AsrClient, RecognitionOptions
    from ..rtc import CallbackEvent, Segment, SegmentFieldMapping

__all__ = ["AudioRef", "SegmentTranscriber"]

logger = get_logger("volcspeech.pipeline")

#: Attempts per segment on top of the client's own retries.
DEFAULT_SEGMENT_ATTEMPTS = 3
#: First wait between segment attempts (seconds), doubled each time, jittered.
DEFAULT_SEGMENT_RETRY_WAIT = 1.0
#: The longest wait between segment attempts (seconds).
DEFAULT_SEGMENT_RETRY_WAIT_MAX = 10.0
DEFAULT_MAX_WORKERS = 8
DEFAULT_JOIN_GAP_MS = 500
#: How many callback ``EventId`` values are remembered to skip re-deliveries.
DEFAULT_DEDUP_SIZE = 10_000


def segment_id(segment: Segment) -> str:
    """A segment's identity within its room (what re-deliveries share)."""
    return json.dumps(
        [segment.user_id, segment.stream_type, segment.sequence, segment.start_time_ms]
    )


def room_key(segment: Segment) -> RoomKey:
    """The room a segment belongs to: app, room and task."""
    return RoomKey(segment.app_id or "", segment.room_id, segment.task_id)


class SegmentTranscriber(RoomLifecycle):
    """Recognize RTC audio segments and merge them into one transcript per room and task.

    Feed it :class:`~volcspeech.rtc.Segment` objects, verified
    :class:`~volcspeech.rtc.CallbackEvent` objects, or raw callback bodies
    (verified with ``callback_secret`` before anything is trusted). Duplicate
    deliveries are ignored; segments are recognized concurrently; each finished
    segment is merged into its room's timeline once, and the transcript does not
    depend on the order segments arrive in. A room is one segmentation task in
    one room (:class:`RoomKey`); finish it with :meth:`finish_room`, by
    ``room_idle_timeout``, or with everything else in :meth:`finish`.

    Args:
        asr: the client that recognizes each segment (shared by all workers).
        resolve_audio: turns a segment into an ``http(s)://`` URL (e.g. a
            presigned one) or the audio's bytes. Anything else (a local path, a
            ``file:`` URL) becomes a gap: audio named by a callback is never
            read from the local disk. See :func:`base_url_resolver`,
            :func:`tos_presigned_resolver`, :func:`s3_presigned_resolver`.
        redundant_duration_ms: the task's ``RedundantDuration`` in ms; the
            overlapping head of each segment is taken from the previous one.
        max_workers: concurrent recognitions when no ``executor`` is given.
        executor: any ``concurrent.futures.Executor`` (a thread pool, Dask's
            client executor, ...); volcspeech does not shut it down.
        on_utterance: called once per merged utterance as soon as no later
            segment can change it (from a worker thread). With a shared
            ``store``, it is called for a room's utterances when the room finishes.
        callback_secret: the RTC callback secret key, to verify raw callbacks.
        options: recognition options for every segment.
        segment_attempts: attempts per segment when recognition fails
            transiently, on top of the client's own retries.
        segment_retry_wait: the first backoff ceiling between those attempts (seconds).
        segment_retry: a :class:`~volcspeech.RetryPolicy` for those attempts
            instead of ``segment_attempts`` and ``segment_retry_wait``.
        join_gap_ms: the longest pause across a segment edge that still joins
            two pieces of one utterance.
        origin_ms: the Unix time (ms) room times count from, e.g. the task's
            ``StartTime``; by default each room's earliest segment start.
        field_mapping: how ``SegmentRealTimeData`` fields are named, for raw callbacks.
        max_callback_age: refuse raw callbacks older (or newer) than this many
            seconds; :data:`~volcspeech.rtc.DEFAULT_CALLBACK_MAX_AGE` (600 s) by
            default, ``None`` turns the check off (as in
            :func:`~volcspeech.rtc.parse_callback`).
        store: where rooms are kept: :class:`MemoryRoomStore` (the default, one
            process), :class:`SQLiteRoomStore` (worker processes on one host) or
            :class:`RedisRoomStore` (several hosts).
        room_idle_timeout: finish a room no callback touched for this many seconds.
        on_room_finished: called with each room's transcript when the room is
            finished (by :meth:`finish_room`, the idle timeout, :meth:`finish`,
            or the worker that completes a closing room's last segment) —
            exactly once per room, across every transcriber sharing the store.
        dedup_size: how many callback ``EventId`` values are remembered to skip
            re-deliveries (segments are also deduplicated per room, in the store).

    Raises:
        ConfigurationError: on invalid settings.
    """

    def __init__(
        self,
        asr: AsrClient,
        *,
        resolve_audio: Callable[[Segment], AudioRef],
        redundant_duration_ms: int = 0,
        max_workers: int = DEFAULT_MAX_WORKERS,
        executor: Optional[concurrent.futures.Executor] = None,
        on_utterance: Optional[Callable[[RoomUtterance], None]] = None,
        callback_secret: Optional[str] = None,
        options: Optional[RecognitionOptions] = None,
        segment_attempts: int = DEFAULT_SEGMENT_ATTEMPTS,
        segment_retry_wait: float = DEFAULT_SEGMENT_RETRY_WAIT,
        segment_retry: Optional[RetryPolicy] = None,
        join_gap_ms: int = DEFAULT_JOIN_GAP_MS,
        origin_ms: Optional[int] = None,
        field_mapping: Optional[SegmentFieldMapping] = None,
        max_callback_age: Optional[float] = DEFAULT_CALLBACK_MAX_AGE,
        store: Optional[RoomStore] = None,
        room_idle_timeout: Optional[float] = None,
        on_room_finished: Optional[Callable[[RoomTranscript], None]] = None,
        dedup_size: int = DEFAULT_DEDUP_SIZE,
    ) -> None:
        from ..asr import RecognitionOptions
        from ..rtc import CallbackDeduplicator, SegmentFieldMapping

        if not callable(getattr(asr, "recognize", None)):
            raise ConfigurationError(
                f"asr must be an AsrClient (with a recognize method), got {type(asr).__name__}"
            )
        check_callable("resolve_audio", resolve_audio, "segment -> URL or bytes", optional=False)
        check_int("redundant_duration_ms", redundant_duration_ms, 0)
        check_int("max_workers", max_workers, 1)
        check_int("segment_attempts", segment_attempts, 1)
        check_int("join_gap_ms", join_gap_ms, 0)
        check_int("origin_ms", origin_ms, 0, optional=True)
        check_int("dedup_size", dedup_size, 1)
        wait = check_seconds("segment_retry_wait", segment_retry_wait)
        check_seconds("max_callback_age", max_callback_age, allow_zero=False, optional=True)
        check_seconds("room_idle_timeout", room_idle_timeout, allow_zero=False, optional=True)
        check_callable("on_utterance", on_utterance, "RoomUtterance -> None")
        check_callable("on_room_finished", on_room_finished, "RoomTranscript -> None")
        check_type("options", options, RecognitionOptions, "a RecognitionOptions")
        check_type("field_mapping", field_mapping, SegmentFieldMapping, "a SegmentFieldMapping")
        check_type("segment_retry", segment_retry, RetryPolicy, "a volcspeech.RetryPolicy")
        if callback_secret is not None and (
            not isinstance(callback_secret, str) or not callback_secret
        ):
            raise ConfigurationError("callback_secret must be a non-empty string or None")
        if executor is not None and not callable(getattr(executor, "submit", None)):
            raise ConfigurationError(
                f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}"
            )
        if store is not None and not isinstance(store, RoomStore):
            raise ConfigurationError(
                f"store must be a RoomStore (MemoryRoomStore, SQLiteRoomStore, RedisRoomStore), "
                f"got {type(store).__name__}"
            )
        assert wait is not None
        self.asr = asr
        self.resolve_audio = resolve_audio
        self.redundant_duration_ms = redundant_duration_ms
        self.on_utterance = on_utterance
        self.on_room_finished = on_room_finished
        self.options = options
        self.segment_retry = segment_retry or RetryPolicy(
            attempts=segment_attempts,
            wait_initial=wait,
            wait_max=max(wait, DEFAULT_SEGMENT_RETRY_WAIT_MAX),
        )
        self.segment_attempts = self.segment_retry.attempts
        self.segment_retry_wait = wait
        self.join_gap_ms = join_gap_ms
        self.origin_ms = origin_ms
        self.field_mapping = field_mapping
        self.max_callback_age = max_callback_age
        self.room_idle_timeout = room_idle_timeout
        self.store: RoomStore = store if store is not None else MemoryRoomStore()
        self._shared = bool(getattr(self.store, "shared", False))
        self._callback_secret = callback_secret
        self._own_executor = executor is None
        self._executor = executor or concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="volcspeech-segment"
        )
        self._dedup = CallbackDeduplicator(max_size=dedup_size)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._rooms: dict[RoomKey, LiveRoom] = {}
        self._pending = 0
        self._final: dict[RoomKey, RoomTranscript] = {}
        self._finished = False
        self._feeding = 0
        self._dirty: dict[RoomKey, None] = {}
        self._stop = threading.Event()
        self._reaper: Optional[threading.Thread] = None
        if room_idle_timeout is not None:
            self._reaper = threading.Thread(
                target=self._reap, name="volcspeech-idle-rooms", daemon=True
            )
            self._reaper.start()

    def __repr__(self) -> str:
        return (
            f"SegmentTranscriber(rooms={len(self._rooms)}, pending={self._pending}, "
            f"store={type(self.store).__name__})"
        )

    # --- input -----------------------------------------------------------------

    def _to_segment(self, item: Any) -> tuple[Optional[Segment], Optional[CallbackEvent]]:
        from ..rtc import CallbackEvent, Segment, parse_callback

        if isinstance(item, Segment):
            return item, None
        if not isinstance(item, CallbackEvent):
            if not isinstance(item, (bytes, bytearray, str, Mapping)):
                raise TypeError(
                    "submit() takes a Segment, a CallbackEvent or a raw callback body "
                    f"(bytes, str or dict), not {type(item).__name__}"
                )
            if self._callback_secret is None:
                raise ConfigurationError(
                    "raw callbacks need callback_secret= to be verified before use"
                )
            item = parse_callback(item, self._callback_secret, max_age=self.max_callback_age)
        # Bounded by count; older re-deliveries are refused by the callback's age check.
        # An id is recorded once its segment is stored (see submit): a delivery that
        # failed half-way must stay acceptable when RTC re-sends it.
        if item in self._dedup:
            logger.debug("duplicate callback %s ignored", item.event_id)
            return None, None
        if item.event_type != SEGMENT_EVENT_TYPE:
            self._dedup.seen(item)
            logger.debug("callback %s of type %s ignored", item.event_id, item.event_type)
            return None, None
        segment: Segment = item.segment(self.field_mapping)
        return segment, item

    def submit(self, item: Union[Segment, CallbackEvent, bytes, str, Mapping[str, Any]]) -> bool:
        """Queue one segment (or callback) for recognition.

        Args:
            item: a ``Segment``, a ``CallbackEvent``, or a raw callback body.

        Returns:
            ``True`` when queued; ``False`` for a duplicate delivery, a segment
            of a room already finished, or a callback that is not
            ``SegmentRealTimeData``.

        Raises:
            CallbackError: a raw callback that fails verification or parsing.
            ConfigurationError: a raw callback without ``callback_secret``, or
                an executor that refuses work (the segment is not recorded, so
                a re-delivery can still be taken).
            RuntimeError: after :meth:`finish`.

        A store that cannot be reached raises its own error (``sqlite3.Error``,
        ``redis.RedisError``); nothing is recorded then, so RTC's re-delivery
        is taken. Answer the callback with a 5xx.
        """
        if self._finished:
            raise RuntimeError("this SegmentTranscriber is finished")
        segment, event = self._to_segment(item)
        if segment is None:
            return False
        key, seg_id = room_key(segment), segment_id(segment)
        with self._lock:
            if self._finished:
                raise RuntimeError("this SegmentTranscriber is finished")
            room = self._room(key)
            room.pending += 1
            self._pending += 1
        queued = False
        try:
            record = {
                "user": segment.user_id,
                "seq": segment.sequence,
                "start": segment.start_time_ms,
                "duration": segment.duration_ms,
            }
            if not self.store.add_segment(key, seg_id, record, time.time()):
                if event is not None:
                    self._dedup.seen(event)
                logger.debug("duplicate or late segment %s %s ignored", key, seg_id)
                return False
            try:
                future = self._executor.submit(
                    recognize_segment,
                    self.asr,
                    self.resolve_audio,
                    self.options,
                    segment,
                    self.segment_retry,
                )
            except Exception as exc:
                self.store.forget_segment(key, seg_id)
                raise ConfigurationError(
                    f"the executor refused the segment ({type(exc).__name__}: {exc}); "
                    "is it shut down?"
                ) from exc
            queued = True
            if event is not None:
                self._dedup.seen(event)
        finally:
            if not queued:
                self._release(key)
        future.add_done_callback(functools.partial(self._done, key, seg_id, segment))
        return True

    def _room(self, key: RoomKey) -> LiveRoom:
        room = self._rooms.get(key)
        if room is None:
            room = self._rooms[key] = LiveRoom(
                key, self.redundant_duration_ms, self.join_gap_ms, self.origin_ms
            )
        return room

    def _release(self, key: RoomKey) -> None:
        """One segment of ``key`` is no longer pending here: count it and wake waiters."""
        with self._lock:
            self._pending -= 1
            room = self._rooms.get(key)
            if room is not None:
                room.pending -= 1
                if not room.pending and (self._shared or not room.streams):
                    # Shared: the room lives in the store. Memory: nothing was recorded
                    # (a duplicate, a late delivery for a finished room, a refusal).
                    state = None if self._shared else self.store.state(key)
                    if state is None or state.finished:
                        self._forget(key)
            if self._feeding and key in self._rooms:
                self._dirty[key] = None
            self._idle.notify_all()

    def _forget(self, key: RoomKey) -> None:
        self._rooms.pop(key, None)
        self._dirty.pop(key, None)

    def _done(
        self,
        key: RoomKey,
        seg_id: str,
        segment: Segment,
        future: concurrent.futures.Future[Outcome],
    ) -> None:
        try:
            try:
                outcome = future.result()
            except BaseException as exc:  # the executor failed (cancelled, worker died, pickling)
                start = int(segment.start_time_ms)
                piece = SegmentPiece(
                    segment.sequence, start, start + int(segment.duration_ms), (), True
                )
                outcome = Outcome(piece, type(exc).__name__, safe_reason(exc), 0)
            error = None
            if outcome.error_type is not None:
                error = (outcome.error_type, outcome.reason or "", outcome.attempts)
            result = (
                piece_to_dict(segment.user_id, outcome.piece, error)
                if self._shared
                else PieceResult(segment.user_id, outcome.piece, error)
            )
            stored = self.store.add_result(key, seg_id, result, time.time())
            if not stored:
                logger.info(
                    "segment %s of room %s was recognized after the room was finished or "
                    "dropped; its result is discarded",
                    seg_id,
                    key,
                )
            elif not self._shared:
                with self._lock:
                    room = self._rooms.get(key)
                if room is not None:
                    live = self.on_utterance is not None
                    with room.lock:
                        ready = room.add(segment.user_id, outcome.piece, error, live=live)
                    self._emit(ready)
        except Exception:  # never lose the wake-up below
            logger.exception("could not record segment %s of room %s", seg_id, key)
        finally:
            self._release(key)
        self._complete_if_closing(key)

    def _emit(self, utterances: list[RoomUtterance]) -> None:
        if self.on_utterance is None:
            return
        for utterance in utterances:
            try:
                self.on_utterance(utterance)
            except Exception:  # a bad handler must not stop the transcriber
                logger.exception("on_utterance handler failed")

    # --- output ----------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Segments submitted here and not yet recognized (or given up on)."""
        with self._lock:
            return self._pending

    def _snapshot(self, key: RoomKey) -> RoomTranscript:
        if key in self._final:
            return self._final[key]
        room = self._build(key)
        if room is None:
            raise KeyError(f"no such room: {key}")
        with room.lock:
            return room.transcript()

    def rooms(self) -> list[RoomKey]:
        """The rooms this transcriber holds (with a shared store: every unfinished room)."""
        live = self.store.rooms() if self._shared else []
        with self._lock:
            return sorted(set(live) | set(self._rooms) | set(self._final))

    def transcript(
        self,
        room_id: Optional[str] = None,
        app_id: Optional[str] = None,
        task_id: Optional[str] = None,
    ) -> RoomTranscript:
        """The merged transcript of a room so far (it reads the whole room).

        Args:
            room_id: the room; may be omitted when only one room was seen.
            app_id: the app, when the same room id exists in several apps.
            task_id: the task, when the room had several segmentation tasks.

        Raises:
            KeyError: no such room, or several rooms match.
        """
        known = self.rooms()
        keys = [
            k
            for k in known
            if (room_id is None or k.room_id == room_id)
            and (app_id is None or k.app_id == app_id)
            and (task_id is None or k.task_id == task_id)
        ]
        if len(keys) != 1:
            raise KeyError(
                f"{len(keys)} rooms match room_id={room_id!r} app_id={app_id!r} "
                f"task_id={task_id!r}; known: {[str(k) for k in known]}"
            )
        return self._snapshot(keys[0])

    def transcripts(self) -> list[RoomTranscript]:
        """Every room's merged transcript so far."""
        return [self._snapshot(k) for k in self.rooms()]

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until every segment submitted here is done; ``False`` on timeout."""
        check_seconds("timeout", timeout, optional=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def finish(self, timeout: Optional[float] = None) -> list[RoomTranscript]:
        """Finish every room this transcriber holds and return their transcripts.

        Waits for every segment, fires the remaining ``on_utterance`` calls and
        ``on_room_finished`` per room. No more segments are accepted afterwards.
        Rooms already finished (by :meth:`finish_room`, the idle timeout or
        another worker) are not included. With a shared store this finishes
        every unfinished room in the store: call it from one place when the
        whole service stops (workers call :meth:`close`), with a ``timeout``.

        Raises:
            TimeoutError: segments still pending after ``timeout`` seconds.
        """
        if not self.wait(timeout):
            raise TimeoutError(f"{self.pending} segment(s) still pending after {timeout}s")
        with self._lock:
            self._finished = True
            keys = sorted(self._rooms)
        if self._shared:
            keys = sorted(set(keys) | set(self.store.rooms()))
        self._stop.set()
        for key in keys:
            try:
                self.finish_room(key, timeout=timeout)
            except KeyError:
                continue  # dropped meanwhile
            except TimeoutError:
                logger.warning("room %s: segments pending in another worker; left to it", key)
        with self._lock:
            return [self._final[k] for k in sorted(self._final)]

    def feed(self, items: Iterable[Any]) -> Iterator[RoomTranscript]:
        """Submit ``items`` and yield a room's transcript each time its segments are done.

        Each yield reads the whole room: meant for short rooms and demos; a
        service uses ``on_utterance`` / ``on_room_finished``. The last transcript
        yielded for each room includes every segment. Duplicates are skipped.
        :meth:`finish` is called at the end.
        """
        with self._lock:
            self._feeding += 1
        try:
            for item in items:
                self.submit(item)
                yield from self._drain()
            while self.pending:
                with self._lock:
                    if not self._dirty:
                        self._idle.wait(0.5)
                yield from self._drain()
            yield from self._drain()
        finally:
            with self._lock:
                self._feeding -= 1
        self.finish()

    def _drain(self) -> Iterator[RoomTranscript]:
        with self._lock:
            keys = sorted(self._dirty)
            self._dirty.clear()
        for key in keys:
            try:
                yield self._snapshot(key)
            except KeyError:
                continue

    def close(self) -> None:
        """Stop the idle-room check and shut down the thread pool volcspeech created.

        A given executor is left alone; rooms are not finished (see :meth:`finish`).
        """
        self._stop.set()
        if self._reaper is not None and self._reaper is not threading.current_thread():
            self._reaper.join(timeout=5)
        if self._own_executor:
            self._executor.shutdown(wait=True)

    def __enter__(self) -> SegmentTranscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
