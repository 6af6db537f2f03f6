"""``SegmentTranscriber``: RTC segments in, merged room transcripts out."""

from __future__ import annotations

import concurrent.futures
import os
import queue
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import attrs

from .. import _http
from .._log import get_logger
from ..errors import ConfigurationError, VolcSpeechError
from ._merge import MergedUtterance, PieceUtterance, PieceWord, SegmentPiece, merge_stream
from ._model import MIXED_USER, Gap, RoomTranscript, RoomUtterance, RoomWord

if TYPE_CHECKING:  # pragma: no cover
    from ..asr import AsrClient, RecognitionOptions, Transcript
    from ..rtc import CallbackEvent, Segment, SegmentFieldMapping

__all__ = ["AudioRef", "SegmentTranscriber"]

logger = get_logger("volcspeech.pipeline")

#: What ``resolve_audio`` may return: an http(s) URL, a path, or the bytes.
AudioRef = Union[str, "os.PathLike[str]", bytes]

#: Attempts per segment on top of the client's own retries.
DEFAULT_SEGMENT_ATTEMPTS = 3
#: First wait between segment attempts (seconds), doubled each time, jittered.
DEFAULT_SEGMENT_RETRY_WAIT = 1.0
DEFAULT_MAX_WORKERS = 8
DEFAULT_JOIN_GAP_MS = 500

RoomKey = tuple[str, str]


def _room_key(segment: Segment) -> RoomKey:
    return (segment.app_id or "", segment.room_id)


@attrs.frozen
class _Outcome:
    """What recognizing one segment gave (built in the worker, applied under the lock)."""

    piece: SegmentPiece
    error: Optional[BaseException] = None
    attempts: int = 1


def _recognize(
    asr: AsrClient,
    resolve_audio: Callable[[Segment], AudioRef],
    options: Optional[RecognitionOptions],
    segment: Segment,
    attempts: int,
    retry_wait: float,
) -> _Outcome:
    """Resolve and recognize one segment, retrying transient failures."""
    start = int(segment.start_time_ms)
    end = start + int(segment.duration_ms or 0)
    last: Optional[BaseException] = None
    for attempt in range(1, attempts + 1):
        try:
            audio = resolve_audio(segment)
            transcript = asr.recognize(audio, options=options)
        except VolcSpeechError as exc:
            last = exc
            if not exc.retryable or attempt == attempts:
                break
            wait = random.uniform(0, retry_wait * 2 ** (attempt - 1))
            logger.info(
                "segment %s/%s seq=%s failed (%s); attempt %d of %d in %.1fs",
                segment.room_id,
                segment.user_id,
                segment.sequence,
                type(exc).__name__,
                attempt + 1,
                attempts,
                wait,
            )
            if not _http.is_testing():
                time.sleep(wait)
            continue
        except Exception as exc:  # a resolver bug must become a gap, not a lost segment
            last = exc
            break
        return _Outcome(_piece(segment, start, end, transcript), attempts=attempt)
    assert last is not None
    logger.warning(
        "segment %s/%s seq=%s gave up after %d attempt(s): %s: %s",
        segment.room_id,
        segment.user_id,
        segment.sequence,
        attempt,
        type(last).__name__,
        last,
    )
    return _Outcome(SegmentPiece(segment.sequence, start, end, (), failed=True), last, attempt)


def _piece(segment: Segment, start: int, end: int, transcript: Transcript) -> SegmentPiece:
    if end <= start:  # no duration in the callback: use the audio's
        end = start + int(transcript.duration_ms or 0)
    utterances: list[PieceUtterance] = []
    for u in transcript.utterances:
        words = tuple(
            PieceWord(w.text, start + int(w.start_time), start + int(w.end_time), w.confidence)
            for w in u.words
        )
        if not words and u.text:
            words = (PieceWord(u.text, start + int(u.start_time), start + int(u.end_time)),)
        if words:
            additions = tuple(sorted((u.additions or {}).items()))
            utterances.append(PieceUtterance(u.text, words, additions))
    if not utterances and transcript.text:
        # Results without utterances: the whole segment is one utterance.
        utterances.append(
            PieceUtterance(transcript.text, (PieceWord(transcript.text, start, end),))
        )
    return SegmentPiece(segment.sequence, start, end, tuple(utterances))


@attrs.define
class _Stream:
    pieces: dict[tuple[Optional[int], int], SegmentPiece] = attrs.field(factory=dict)
    failures: dict[tuple[Optional[int], int], _Outcome] = attrs.field(factory=dict)


@attrs.define
class _Room:
    app_id: str
    room_id: str
    streams: dict[str, _Stream] = attrs.field(factory=dict)
    pending: int = 0
    emitted: set[tuple[str, int]] = attrs.field(factory=set)


class SegmentTranscriber:
    """Recognize RTC audio segments and merge them into one transcript per room.

    Feed it :class:`~volcspeech.rtc.Segment` objects, verified
    :class:`~volcspeech.rtc.CallbackEvent` objects, or raw callback bodies
    (verified with ``callback_secret`` before anything is trusted). Duplicate
    deliveries are ignored; segments are recognized concurrently; the merged
    transcript does not depend on the order they arrive in.

    Args:
        asr: the client that recognizes each segment (shared by all workers).
        resolve_audio: turns a segment into what ``asr.recognize`` takes: an
            http(s) URL (e.g. a presigned one), a path or bytes. See
            :func:`base_url_resolver`, :func:`tos_presigned_resolver`,
            :func:`s3_presigned_resolver`.
        redundant_duration_ms: the task's ``RedundantDuration`` in ms; the
            overlapping head of each segment is taken from the previous one.
        max_workers: concurrent recognitions when no ``executor`` is given.
        executor: any ``concurrent.futures.Executor`` (a thread pool, Dask's
            client executor, ...); volcspeech does not shut it down.
        on_utterance: called once per merged utterance as soon as no later
            segment can change it (from a worker thread).
        callback_secret: the RTC callback secret key, to verify raw callbacks.
        options: recognition options for every segment.
        segment_attempts: attempts per segment when recognition fails
            transiently, on top of the client's own retries.
        segment_retry_wait: the first wait between those attempts (seconds).
        join_gap_ms: the longest pause across a segment edge that still joins
            two pieces of one utterance.
        origin_ms: the Unix time (ms) room times count from, e.g. the task's
            ``StartTime``; by default the earliest segment's start.
        field_mapping: how ``SegmentRealTimeData`` fields are named, for raw callbacks.
        max_callback_age: reject raw callbacks older than this many seconds.

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
        join_gap_ms: int = DEFAULT_JOIN_GAP_MS,
        origin_ms: Optional[int] = None,
        field_mapping: Optional[SegmentFieldMapping] = None,
        max_callback_age: Optional[float] = None,
    ) -> None:
        if not callable(resolve_audio):
            raise ConfigurationError(
                "resolve_audio must be callable (segment -> URL, path or bytes)"
            )
        for name, value, low in (
            ("redundant_duration_ms", redundant_duration_ms, 0),
            ("max_workers", max_workers, 1),
            ("segment_attempts", segment_attempts, 1),
            ("join_gap_ms", join_gap_ms, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigurationError(f"{name} must be an integer >= {low}, got {value!r}")
        self.asr = asr
        self.resolve_audio = resolve_audio
        self.redundant_duration_ms = redundant_duration_ms
        self.on_utterance = on_utterance
        self.options = options
        self.segment_attempts = segment_attempts
        self.segment_retry_wait = segment_retry_wait
        self.join_gap_ms = join_gap_ms
        self.origin_ms = origin_ms
        self.field_mapping = field_mapping
        self.max_callback_age = max_callback_age
        self._callback_secret = callback_secret
        self._own_executor = executor is None
        self._executor = executor or concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="volcspeech-segment"
        )
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._rooms: dict[RoomKey, _Room] = {}
        self._seen_segments: set[tuple[Any, ...]] = set()
        self._seen_events: set[str] = set()
        self._finished = False
        self._updates: queue.Queue[RoomKey] = queue.Queue()

    def __repr__(self) -> str:
        return f"SegmentTranscriber(rooms={len(self._rooms)}, pending={self.pending})"

    # --- input -----------------------------------------------------------------

    def _to_segment(self, item: Any) -> Optional[Segment]:
        from ..rtc import CallbackEvent, Segment, parse_callback

        if isinstance(item, Segment):
            return item
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
        with self._lock:
            if item.event_id in self._seen_events:
                logger.debug("duplicate callback %s ignored", item.event_id)
                return None
            self._seen_events.add(item.event_id)
        if item.event_type != "SegmentRealTimeData":
            logger.debug("callback %s of type %s ignored", item.event_id, item.event_type)
            return None
        segment: Segment = item.segment(self.field_mapping)
        return segment

    def submit(self, item: Union[Segment, CallbackEvent, bytes, str, Mapping[str, Any]]) -> bool:
        """Queue one segment (or callback) for recognition.

        Args:
            item: a ``Segment``, a ``CallbackEvent``, or a raw callback body.

        Returns:
            ``True`` when queued; ``False`` for a duplicate delivery or a
            callback that is not ``SegmentRealTimeData``.

        Raises:
            CallbackError: a raw callback that fails verification or parsing.
            ConfigurationError: a raw callback without ``callback_secret``.
            RuntimeError: after :meth:`finish`.
        """
        segment = self._to_segment(item)
        if segment is None:
            return False
        key = (
            segment.app_id,
            segment.room_id,
            segment.task_id,
            segment.user_id,
            segment.sequence,
            segment.start_time_ms,
        )
        with self._lock:
            if self._finished:
                raise RuntimeError("this SegmentTranscriber is finished")
            if key in self._seen_segments:
                logger.debug("duplicate segment %s ignored", key)
                return False
            self._seen_segments.add(key)
            room = self._room(_room_key(segment))
            room.pending += 1
        future = self._executor.submit(
            _recognize,
            self.asr,
            self.resolve_audio,
            self.options,
            segment,
            self.segment_attempts,
            self.segment_retry_wait,
        )
        future.add_done_callback(lambda f: self._done(segment, f))
        return True

    def _room(self, key: RoomKey) -> _Room:
        if key not in self._rooms:
            self._rooms[key] = _Room(*key)
        return self._rooms[key]

    def _done(self, segment: Segment, future: concurrent.futures.Future[_Outcome]) -> None:
        try:
            outcome = future.result()
        except BaseException as exc:  # the executor itself failed (cancelled, worker died)
            start = int(segment.start_time_ms)
            end = start + int(segment.duration_ms or 0)
            outcome = _Outcome(SegmentPiece(segment.sequence, start, end, (), True), exc)
        with self._lock:
            room = self._room(_room_key(segment))
            stream = room.streams.setdefault(segment.user_id, _Stream())
            key = (outcome.piece.sequence, outcome.piece.start)
            stream.pieces[key] = outcome.piece
            if outcome.piece.failed:
                stream.failures[key] = outcome
            room.pending -= 1
            ready = self._collect_final(room, segment.user_id, finishing=False)
            self._idle.notify_all()
        self._updates.put(_room_key(segment))
        self._emit(ready)

    # --- merging ---------------------------------------------------------------

    def _origin(self, room: _Room) -> int:
        if self.origin_ms is not None:
            return self.origin_ms
        starts = [p.start for s in room.streams.values() for p in s.pieces.values()]
        return min(starts) if starts else 0

    def _merged(self, stream: _Stream) -> list[MergedUtterance]:
        return merge_stream(
            list(stream.pieces.values()),
            redundant_duration_ms=self.redundant_duration_ms,
            join_gap_ms=self.join_gap_ms,
        )

    def _to_room_utterance(self, user_id: str, m: MergedUtterance, origin: int) -> RoomUtterance:
        return RoomUtterance(
            user_id=user_id,
            start_time=m.start - origin,
            end_time=m.end - origin,
            text=m.text,
            words=tuple(
                RoomWord(w.text, w.start - origin, w.end - origin, w.confidence) for w in m.words
            ),
            start_epoch_ms=m.start,
            segments=m.sequences,
            additions=dict(m.additions),
        )

    def _is_final(self, stream: _Stream, m: MergedUtterance) -> bool:
        by_seq = {p.sequence: p for p in stream.pieces.values() if p.sequence is not None}
        if not m.sequences:
            return False
        first, last = by_seq.get(min(m.sequences)), by_seq.get(max(m.sequences))
        if first is None or last is None:  # pragma: no cover - sequences come from pieces
            return False
        head = first.start + self.redundant_duration_ms + self.join_gap_ms
        if m.start < head and first.sequence and (first.sequence - 1) not in by_seq:
            return False  # the previous segment may still own or extend its head
        tail = last.end - self.join_gap_ms
        return not (m.end > tail and (last.sequence or 0) + 1 not in by_seq)

    def _collect_final(self, room: _Room, user_id: str, *, finishing: bool) -> list[RoomUtterance]:
        stream = room.streams[user_id]
        origin = self._origin(room)
        ready = []
        for m in self._merged(stream):
            key = (user_id, m.start)
            if key in room.emitted:
                continue
            if finishing or self._is_final(stream, m):
                room.emitted.add(key)
                ready.append(self._to_room_utterance(user_id, m, origin))
        return ready

    def _emit(self, utterances: list[RoomUtterance]) -> None:
        if self.on_utterance is None:
            return
        for utterance in utterances:
            try:
                self.on_utterance(utterance)
            except Exception:  # a bad handler must not stop the transcriber
                logger.exception("on_utterance handler failed")

    def _snapshot(self, room: _Room) -> RoomTranscript:
        origin = self._origin(room)
        users: list[RoomUtterance] = []
        mixed: list[RoomUtterance] = []
        gaps: list[Gap] = []
        count = 0
        for user_id, stream in room.streams.items():
            target = mixed if user_id == MIXED_USER else users
            target.extend(self._to_room_utterance(user_id, m, origin) for m in self._merged(stream))
            for key, piece in stream.pieces.items():
                if piece.failed:
                    failure = stream.failures.get(key)
                    err = failure.error if failure else None
                    gaps.append(
                        Gap(
                            user_id,
                            piece.start - origin,
                            piece.end - origin,
                            piece.sequence,
                            f"{type(err).__name__}: {err}" if err else "recognition failed",
                            type(err).__name__ if err else "Unknown",
                            failure.attempts if failure else 0,
                        )
                    )
                else:
                    count += 1

        def order(u: RoomUtterance) -> tuple[int, str, int]:
            return (u.start_time, u.user_id, u.end_time)

        return RoomTranscript(
            app_id=room.app_id,
            room_id=room.room_id,
            origin_ms=origin,
            utterances=tuple(sorted(users, key=order)),
            mixed=tuple(sorted(mixed, key=order)),
            gaps=tuple(sorted(gaps, key=lambda g: (g.start_time, g.user_id))),
            segments=count,
            pending=room.pending,
        )

    # --- output ----------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Segments submitted and not yet recognized (or given up on)."""
        with self._lock:
            return sum(r.pending for r in self._rooms.values())

    def transcript(
        self, room_id: Optional[str] = None, app_id: Optional[str] = None
    ) -> RoomTranscript:
        """The merged transcript of a room so far.

        Args:
            room_id: the room; may be omitted when only one room was seen.
            app_id: the app, when the same room id exists in several apps.

        Raises:
            KeyError: no such room, or several rooms match.
        """
        with self._lock:
            keys = [
                k
                for k in self._rooms
                if (room_id is None or k[1] == room_id) and (app_id is None or k[0] == app_id)
            ]
            if len(keys) != 1:
                raise KeyError(
                    f"{len(keys)} rooms match room_id={room_id!r} app_id={app_id!r}; "
                    f"known: {sorted(self._rooms)}"
                )
            return self._snapshot(self._rooms[keys[0]])

    def transcripts(self) -> list[RoomTranscript]:
        """Every room's merged transcript so far."""
        with self._lock:
            return [self._snapshot(r) for r in self._rooms.values()]

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until every submitted segment is done; ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while any(r.pending for r in self._rooms.values()):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def finish(self, timeout: Optional[float] = None) -> list[RoomTranscript]:
        """Wait for every segment, fire the remaining ``on_utterance`` calls, and return the
        final transcripts. No more segments are accepted afterwards.

        Raises:
            TimeoutError: segments still pending after ``timeout`` seconds.
        """
        if not self.wait(timeout):
            raise TimeoutError(f"{self.pending} segment(s) still pending after {timeout}s")
        with self._lock:
            self._finished = True
            ready: list[RoomUtterance] = []
            for room in self._rooms.values():
                for user_id in room.streams:
                    ready.extend(self._collect_final(room, user_id, finishing=True))
        self._emit(sorted(ready, key=lambda u: (u.start_epoch_ms, u.user_id)))
        return self.transcripts()

    def feed(self, items: Iterable[Any]) -> Iterator[RoomTranscript]:
        """Submit ``items`` and yield a room's transcript each time one of its segments is done.

        The last transcript yielded for each room includes every segment.
        Duplicates are skipped. :meth:`finish` is called at the end.
        """
        for item in items:
            self.submit(item)
            yield from self._drain(block=False)
        while self.pending:
            yield from self._drain(block=True)
        yield from self._drain(block=False)
        self.finish()

    def _drain(self, *, block: bool) -> Iterator[RoomTranscript]:
        try:
            key = self._updates.get(timeout=0.5) if block else self._updates.get_nowait()
        except queue.Empty:
            return
        keys = {key}
        while True:
            try:
                keys.add(self._updates.get_nowait())
            except queue.Empty:
                break
        for k in sorted(keys):
            with self._lock:
                snapshot = self._snapshot(self._rooms[k])
            yield snapshot

    def close(self) -> None:
        """Shut down the thread pool volcspeech created (a given executor is left alone)."""
        if self._own_executor:
            self._executor.shutdown(wait=True)

    def __enter__(self) -> SegmentTranscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
