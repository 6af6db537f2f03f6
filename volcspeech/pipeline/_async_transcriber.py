"""``AsyncSegmentTranscriber``: the live-room transcriber on an event loop with ``AsyncAsrClient``.

It is a :class:`SegmentTranscriber` whose recognitions run as tasks on the
caller's event loop instead of a thread pool: the same verification,
deduplication, room keys, stores, incremental merge and room lifecycle (it
*is* that code: the thread transcriber is built inside with an executor that
schedules each segment's recognition on the loop). Only the waiting is
async: ``await submit(...)``, ``await finish()``, ``await finish_room(...)``,
and ``async for update in transcriber.updates()``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

try:
    import anyio.to_thread
except ImportError as _exc:  # pragma: no cover - the extra's other half
    raise ImportError(
        "volcspeech's async transcriber needs httpx and anyio: pip install 'volcspeech[async]'"
    ) from _exc

from .. import RetryPolicy, _transport_async
from .._base_client import is_async_callable
from ..errors import ConfigurationError, VolcSpeechError
from ..rtc._callback_parse import DEFAULT_CALLBACK_MAX_AGE
from ._model import RoomKey, RoomTranscript, RoomUtterance
from ._recognize import AudioRef, Outcome, check_audio_ref, gave_up, piece_of, retry_wait, span
from ._settings import check_int
from ._store import MemoryRoomStore, RoomStore
from ._transcriber import (
    DEFAULT_DEDUP_SIZE,
    DEFAULT_JOIN_GAP_MS,
    DEFAULT_MAX_WORKERS,
    DEFAULT_SEGMENT_ATTEMPTS,
    DEFAULT_SEGMENT_RETRY_WAIT,
    SegmentTranscriber,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..asr import AsyncAsrClient, RecognitionOptions
    from ..rtc import CallbackEvent, Segment, SegmentFieldMapping

__all__ = ["AsyncSegmentTranscriber", "RoomUpdate", "recognize_segment_async"]

#: What :meth:`AsyncSegmentTranscriber.updates` yields: a final utterance, or a
#: finished room's transcript.
RoomUpdate = Union[RoomUtterance, RoomTranscript]

_END = object()


async def recognize_segment_async(
    asr: AsyncAsrClient,
    resolve_audio: Callable[[Segment], Any],
    options: Optional[RecognitionOptions],
    segment: Segment,
    retry: RetryPolicy,
) -> Outcome:
    """Resolve and recognize one segment on the loop, retrying transient failures per ``retry``.

    The twin of ``recognize_segment``: the same checks, waits, log lines and
    outcomes; the resolver runs in a worker thread (it may sign or fetch).
    """
    start, end = span(segment)
    first = time.monotonic()
    last: Optional[BaseException] = None
    attempt = 0
    for attempt in range(1, retry.attempts + 1):
        try:
            audio = check_audio_ref(await anyio.to_thread.run_sync(resolve_audio, segment))
            transcript = await asr.recognize(audio, options=options)
        except VolcSpeechError as exc:
            last = exc
            wait = retry_wait(exc, attempt, retry, first, segment)
            if wait is None:
                break
            await _transport_async.sleep(wait)
            continue
        except Exception as exc:  # a resolver bug must become a gap, not a lost segment
            last = exc
            break
        return Outcome(piece_of(segment, start, end, transcript), attempts=attempt)
    assert last is not None
    return gave_up(segment, last, attempt)


class _LoopExecutor(concurrent.futures.Executor):
    """What the thread transcriber takes as ``executor``: runs each segment on the loop."""

    def __init__(self, owner: AsyncSegmentTranscriber) -> None:
        self._owner = owner

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        # ``fn`` is ``recognize_segment(asr, resolve_audio, options, segment, retry)``;
        # its async twin runs instead, with the same arguments.
        return self._owner._schedule(*args)


class AsyncSegmentTranscriber:
    """Recognize RTC segments on an event loop and merge them into one transcript per room.

    The asyncio face of :class:`~volcspeech.pipeline.SegmentTranscriber`, with
    the same arguments (``concurrency`` instead of ``max_workers`` and
    ``executor``), the same verification, deduplication, rooms, stores, merge
    and lifecycle — the thread transcriber runs inside, and each segment's
    recognition is a task on the loop with an
    :class:`~volcspeech.asr.AsyncAsrClient`.

    Args:
        asr: the async client that recognizes each segment.
        resolve_audio: segment -> ``http(s)://`` URL or bytes (run in a worker thread).
        concurrency: segments recognized at once.
        redundant_duration_ms: the task's ``RedundantDuration`` in ms.
        on_utterance: called once per final utterance (from the loop or a worker thread).
        callback_secret: the RTC callback secret key, to verify raw callbacks.
        options: recognition options for every segment.
        segment_attempts: attempts per segment on top of the client's own retries.
        segment_retry_wait: the first backoff ceiling between those attempts.
        segment_retry: a :class:`~volcspeech.RetryPolicy` for those attempts instead.
        join_gap_ms: the longest pause across a segment edge that still joins an utterance.
        origin_ms: the Unix time (ms) room times count from.
        field_mapping: how ``SegmentRealTimeData`` fields are named, for raw callbacks.
        max_callback_age: refuse raw callbacks older (or newer) than this many seconds.
        store: where rooms are kept (memory, SQLite, Redis); a shared store is
            read and written in a worker thread, never on the loop.
        room_idle_timeout: finish a room no callback touched for this many seconds.
        on_room_finished: called with each room's transcript when it finishes.
        dedup_size: how many callback ``EventId`` values are remembered.

    Raises:
        ConfigurationError: ``asr`` is not an async client, or as
            :class:`~volcspeech.pipeline.SegmentTranscriber`.
    """

    def __init__(
        self,
        asr: AsyncAsrClient,
        *,
        resolve_audio: Callable[[Segment], AudioRef],
        concurrency: int = DEFAULT_MAX_WORKERS,
        redundant_duration_ms: int = 0,
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
        if not is_async_callable(getattr(asr, "recognize", None)):
            raise ConfigurationError(
                "asr must be an AsyncAsrClient (with an async recognize method), got "
                f"{type(asr).__name__}; a sync AsrClient goes to SegmentTranscriber"
            )
        check_int("concurrency", concurrency, 1)
        self._user_on_utterance = on_utterance
        self._user_on_room_finished = on_room_finished
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._gate: Optional[asyncio.Semaphore] = None
        self._concurrency = concurrency
        self._tasks: set[asyncio.Task[Outcome]] = set()
        self._queue: Optional[asyncio.Queue[Any]] = None
        self._closed = False
        self.asr = asr
        self._core = SegmentTranscriber(
            asr,  # type: ignore[arg-type]  # only its recognize is used, by the twin above
            resolve_audio=resolve_audio,
            redundant_duration_ms=redundant_duration_ms,
            executor=_LoopExecutor(self),
            on_utterance=self._on_utterance,
            callback_secret=callback_secret,
            options=options,
            segment_attempts=segment_attempts,
            segment_retry_wait=segment_retry_wait,
            segment_retry=segment_retry,
            join_gap_ms=join_gap_ms,
            origin_ms=origin_ms,
            field_mapping=field_mapping,
            max_callback_age=max_callback_age,
            store=store,
            room_idle_timeout=room_idle_timeout,
            on_room_finished=self._on_room_finished,
            dedup_size=dedup_size,
        )
        self._in_thread = not isinstance(self._core.store, MemoryRoomStore)

    def __repr__(self) -> str:
        return "Async" + repr(self._core)

    @property
    def store(self) -> RoomStore:
        """Where the rooms are kept."""
        return self._core.store

    @property
    def pending(self) -> int:
        """Segments submitted here and not yet recognized (or given up on)."""
        return self._core.pending

    # --- recognition on the loop ---------------------------------------------------

    def _schedule(
        self,
        asr: AsyncAsrClient,
        resolve_audio: Callable[[Segment], Any],
        options: Optional[RecognitionOptions],
        segment: Segment,
        retry: RetryPolicy,
    ) -> concurrent.futures.Future[Outcome]:
        loop = self._loop
        if loop is None or loop.is_closed() or self._closed:
            raise RuntimeError("the transcriber's event loop is not running")
        future: concurrent.futures.Future[Outcome] = concurrent.futures.Future()

        def start() -> None:
            task = loop.create_task(self._recognize(asr, resolve_audio, options, segment, retry))
            self._tasks.add(task)
            task.add_done_callback(lambda t: self._settle(t, future))

        loop.call_soon_threadsafe(start)
        return future

    async def _recognize(self, *args: Any) -> Outcome:
        assert self._gate is not None
        async with self._gate:
            return await recognize_segment_async(*args)

    def _settle(self, task: asyncio.Task[Outcome], future: concurrent.futures.Future[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            outcome: Any = None
            error: Optional[BaseException] = concurrent.futures.CancelledError()
        else:
            error = task.exception()
            outcome = None if error is not None else task.result()

        def deliver() -> None:
            # The thread transcriber records the result in the future's callback.
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(outcome)

        if self._in_thread:
            # A shared store is written by the callback: not on the loop.
            assert self._loop is not None
            self._loop.run_in_executor(None, deliver)
        else:
            deliver()

    # --- updates ---------------------------------------------------------------

    def _push(self, item: Any) -> None:
        queue, loop = self._queue, self._loop
        if queue is None or loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def _on_utterance(self, utterance: RoomUtterance) -> None:
        self._push(utterance)
        if self._user_on_utterance is not None:
            self._user_on_utterance(utterance)

    def _on_room_finished(self, transcript: RoomTranscript) -> None:
        self._push(transcript)
        if self._user_on_room_finished is not None:
            self._user_on_room_finished(transcript)

    async def updates(self) -> AsyncIterator[RoomUpdate]:
        """Each final utterance and each finished room, as they happen, until :meth:`finish`.

        Yields :class:`~volcspeech.pipeline.RoomUtterance` objects as no later
        segment can change them (with a shared store: when their room
        finishes) and a :class:`~volcspeech.pipeline.RoomTranscript` when a
        room finishes. Updates are kept from the first call on: start
        iterating (in a task) before submitting. One consumer at a time. The
        iteration ends after :meth:`finish` or :meth:`aclose`.
        """
        self._bind()
        if self._queue is None:
            self._queue = asyncio.Queue()
        queue = self._queue
        while True:
            item = await queue.get()
            if item is _END:
                return
            yield item

    # --- input and lifecycle -------------------------------------------------------

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            self._gate = asyncio.Semaphore(self._concurrency)
        elif self._loop is not loop:
            raise RuntimeError("an AsyncSegmentTranscriber is used from one event loop only")

    async def submit(
        self, item: Union[Segment, CallbackEvent, bytes, str, Mapping[str, Any]]
    ) -> bool:
        """Queue one segment (or callback) for recognition on this loop.

        As :meth:`SegmentTranscriber.submit <volcspeech.pipeline.SegmentTranscriber.submit>`:
        raw callbacks are verified first; returns ``False`` for a duplicate, a
        segment of a finished room, or another event type.

        Raises:
            CallbackError: a raw callback that fails verification or parsing.
            RuntimeError: after :meth:`finish` or :meth:`aclose`.
        """
        self._bind()
        if self._closed:
            raise RuntimeError("this AsyncSegmentTranscriber is closed")
        if self._in_thread:
            return await anyio.to_thread.run_sync(self._core.submit, item)
        return self._core.submit(item)

    async def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait until every segment submitted here is done; ``False`` on timeout."""
        return await anyio.to_thread.run_sync(self._core.wait, timeout)

    async def finish(self, timeout: Optional[float] = None) -> list[RoomTranscript]:
        """Finish every room (as :meth:`SegmentTranscriber.finish`) and end :meth:`updates`.

        Raises:
            TimeoutError: segments still pending after ``timeout`` seconds.
        """
        self._bind()
        # The thread transcriber waits on a condition the loop's tasks signal:
        # in a worker thread, so the loop keeps running them.
        try:
            return await anyio.to_thread.run_sync(self._core.finish, timeout)
        finally:
            if self._core._finished:
                self._push(_END)

    async def finish_room(
        self, key: Any, *, timeout: Optional[float] = None
    ) -> Optional[RoomTranscript]:
        """Finish one room (as :meth:`SegmentTranscriber.finish_room`); its transcript.

        Raises:
            KeyError: no such room.
            TimeoutError: segments still pending after ``timeout``.
        """
        self._bind()

        def finish() -> Optional[RoomTranscript]:
            return self._core.finish_room(key, timeout=timeout)

        return await anyio.to_thread.run_sync(finish)

    async def drop_room(self, key: Any) -> bool:
        """Forget a room without producing its transcript (see ``SegmentTranscriber``)."""
        return await anyio.to_thread.run_sync(self._core.drop_room, key)

    def rooms(self) -> list[RoomKey]:
        """The rooms held (see ``SegmentTranscriber.rooms``)."""
        return self._core.rooms()

    def transcript(
        self,
        room_id: Optional[str] = None,
        app_id: Optional[str] = None,
        task_id: Optional[str] = None,
    ) -> RoomTranscript:
        """A room's merged transcript so far (see ``SegmentTranscriber.transcript``)."""
        return self._core.transcript(room_id, app_id, task_id)

    async def aclose(self) -> None:
        """Wait for the recognitions in flight, stop the idle-room check, end :meth:`updates`.

        As ``SegmentTranscriber.close``: rooms are not finished (see
        :meth:`finish`) and the client is not closed. Cancelling ``aclose``
        cancels the recognitions still running (their segments become gaps).
        """
        if self._closed:
            return
        self._closed = True
        tasks = list(self._tasks)
        try:
            if tasks:
                await asyncio.wait(tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            raise
        finally:
            await anyio.to_thread.run_sync(self._core.close)
            self._push(_END)

    async def __aenter__(self) -> AsyncSegmentTranscriber:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
