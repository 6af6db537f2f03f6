"""The standard-API half of :class:`~volcspeech.asr.AsyncAsrClient`: submit, query, wait, routing.

The async twin of :mod:`._standard_client`: every check, request, answer
reader, polling decision (:class:`~._standard_poll.Waiter`) and routing
decision is the sync mixin's own code, reached through the client's sync
twin (``self._spec``); this module only adds ``await``. Uploaders are the
sync ones (``upload(source) -> url``), run in a worker thread; an uploader
whose ``upload`` is an ``async def`` is awaited on the loop instead.
"""

from __future__ import annotations

# First: without the extra (httpx, anyio) this raises an ImportError naming it.
from .. import _http_async  # noqa: F401

# isort: split

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, Callable, TypeVar, Union

import anyio.to_thread

from .. import _transport_async, errors
from .._base_client import TimeoutLike
from .._messages import HttpRequest, HttpResponse
from .._transport import CallSettings
from ._audio import AudioInput, PreparedAudio
from ._models import AsrModel, RecognitionTask, TaskState
from ._options import RecognitionOptions
from ._results import Transcript
from ._standard import read_query, read_submit
from ._standard_client import TaskLike, _again, failed_state, uploaded_audio, uploader_error
from ._standard_poll import DEFAULT_WAIT_TIMEOUT, PollLike
from ._standard_routing import goes_flash

if TYPE_CHECKING:  # pragma: no cover
    from ._client import AsrClient

__all__ = ["AsyncStandardOperations"]

_T = TypeVar("_T")


class AsyncStandardOperations:
    """Submit, query, wait and the routing of :meth:`AsyncAsrClient.recognize` (a mixin)."""

    if TYPE_CHECKING:  # provided by AsyncAsrClient / AsyncBaseClient
        _spec: AsrClient

        def _check_open(self) -> None: ...
        async def _send(
            self,
            build: Callable[[], Awaitable[HttpRequest]],
            read: Callable[[HttpResponse], _T],
            *,
            settings: CallSettings,
            request_id: str | None,
            operation: str,
        ) -> _T: ...
        async def _inspect(
            self, audio: AudioInput, options: RecognitionOptions
        ) -> PreparedAudio: ...

        recognize: Callable[..., Awaitable[Transcript]]

    async def submit(
        self,
        audio: AudioInput,
        *,
        options: RecognitionOptions | None = None,
        request_id: str | None = None,
        callback_url: str | None = None,
        callback_data: str | None = None,
        model: Union[str, AsrModel, None] = None,
        uploader: Any = None,
        timeout: TimeoutLike = None,
        deadline: float | None = None,
    ) -> RecognitionTask:
        """Submit a standard-API task, as :meth:`volcspeech.asr.AsrClient.submit` does.

        The audio's head is read, and an uploader runs, in a worker thread
        (an uploader with an ``async def upload`` is awaited instead).

        Args:
            audio: a path, bytes-like object, binary file object or ``http(s)://`` URL.
            options: recognition options; the standard-only fields are accepted.
            request_id: the task id; a fresh UUID4 by default.
            callback_url: a URL the service calls when the task ends.
            callback_data: a string handed back with the callback.
            model: ``"1.0"``, ``"2.0"``, an :class:`AsrModel` or a resource id.
            uploader: an object with ``upload(source) -> url`` (e.g.
                :class:`~volcspeech.asr.TosUploader`), sync or async.
            timeout: per-attempt timeouts of the submit.
            deadline: total seconds of the submit call.

        Returns:
            The task: store ``task.to_dict()`` to resume it anywhere (sync or async).

        Raises:
            ValidationError: bad options, model, request id or uploader, or
                local audio beyond the inline limit without an uploader.
            InvalidAudioError: the audio cannot be read or is not WAV / MP3 / Ogg Opus.
            APIError: the service refused the task (after retries for transient errors).
            TransportError: no answer.
        """
        self._check_open()
        options, resource_id, task_id = self._spec._submit_args(
            options, callback_url, callback_data, model, uploader, request_id
        )
        settings = self._spec._settings(timeout, deadline)
        prepared = await self._inspect(audio, options)
        return await self._submit_prepared(
            prepared, options, task_id, resource_id, uploader, settings
        )

    async def _submit_prepared(
        self,
        prepared: PreparedAudio,
        options: RecognitionOptions,
        task_id: str,
        resource_id: str,
        uploader: Any,
        settings: CallSettings,
    ) -> RecognitionTask:
        try:
            prepared = await self._standard_audio(prepared, uploader)
            request, task = self._spec._submit_request(prepared, options, task_id, resource_id)

            async def build() -> HttpRequest:
                return request

            return await self._send(
                build,
                lambda response: read_submit(response, task),
                settings=settings,
                request_id=task_id,
                operation="asr.submit",
            )
        finally:
            if prepared.source is not None:
                prepared.source.close()

    async def _standard_audio(self, prepared: PreparedAudio, uploader: Any) -> PreparedAudio:
        upload = self._spec._upload_source(prepared, uploader)
        if upload is None:
            return prepared
        try:
            if inspect.iscoroutinefunction(uploader.upload):
                url = await uploader.upload(upload)
            else:
                url = await anyio.to_thread.run_sync(uploader.upload, upload)
        except errors.VolcSpeechError:
            raise
        except Exception as exc:  # a user's uploader: its own errors, wrapped once
            raise uploader_error(exc, upload) from exc
        return uploaded_audio(prepared, url)

    async def query(self, task: TaskLike, *, timeout: TimeoutLike = None) -> TaskState:
        """Ask once where a task is, as :meth:`volcspeech.asr.AsrClient.query` does.

        Args:
            task: a :class:`RecognitionTask`, its ``to_dict()``, or a task id
                (then with the client's ``model``).
            timeout: per-attempt timeouts.

        Returns:
            Queued, processing, done (with the transcript) or failed (with the
            typed error); transient errors are retried first.

        Raises:
            AuthenticationError: credentials refused.
            ProtocolError: an unreadable answer.
            TransportError: no answer (after retries).
        """
        self._check_open()
        resolved, request = self._spec._query_request(task)

        async def build() -> HttpRequest:
            return request

        try:
            return await self._send(
                build,
                lambda response: read_query(response, resolved),
                settings=self._spec._settings(timeout),
                request_id=resolved.task_id,
                operation="asr.query",
            )
        except (errors.AuthenticationError, errors.ProtocolError):
            raise
        except errors.APIError as exc:
            return failed_state(resolved, exc)

    async def wait(
        self,
        task: TaskLike,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll: PollLike = None,
    ) -> Transcript:
        """Poll a task until it is done, as :meth:`volcspeech.asr.AsrClient.wait` does.

        Sleeps with ``asyncio.sleep`` between queries (the loop stays free);
        cancelling the wait leaves the task running on the service.

        Args:
            task: as for :meth:`query`.
            timeout: seconds to wait in all (3 h by default); no sleep runs past it.
            poll: a :class:`PollSchedule`, or seconds between queries (fixed).

        Returns:
            The transcript (``silent=True`` for silent audio).

        Raises:
            TimeoutError: the task did not finish within ``timeout`` (it goes on).
            APIError: the task failed (its typed error).
        """
        return await self._wait(task, timeout, poll, None)

    async def _wait(
        self, task: TaskLike, timeout: float, poll: PollLike, limit: asyncio.Semaphore | None
    ) -> Transcript:
        resolved, waiter = self._spec._waiter(task, timeout, poll)
        self._check_open()
        while True:
            if limit is None:
                state = await self.query(resolved)
            else:
                async with limit:
                    state = await self.query(resolved)
            if state.finished:
                return state.unwrap()
            await _transport_async.sleep(waiter.next_wait(state))

    async def _recognize_routed(
        self,
        audio: AudioInput,
        *,
        api: str,
        options: RecognitionOptions | None,
        request_id: str | None,
        timeout: TimeoutLike,
        deadline: float | None,
        uploader: Any,
        model: Any,
        poll: PollLike,
    ) -> Transcript:
        """``recognize(api="standard" | "auto")``, as the sync client routes it."""
        task = await self._route(
            audio, api, options, request_id, timeout, deadline, uploader, model, poll
        )
        if isinstance(task, Transcript):
            return task
        return await self.wait(task, timeout=deadline or DEFAULT_WAIT_TIMEOUT, poll=poll)

    async def _route(
        self,
        audio: AudioInput,
        api: str,
        options: RecognitionOptions | None,
        request_id: str | None,
        timeout: TimeoutLike,
        deadline: float | None,
        uploader: Any,
        model: Any,
        poll: PollLike = None,
    ) -> Transcript | RecognitionTask:
        """The first step of a routed recognition: a flash transcript, or a submitted task."""
        self._check_open()
        checked, flash_model, resource_id, _ = self._spec._route_args(
            api, options, uploader, model, poll
        )
        prepared = await self._inspect(audio, checked)
        if goes_flash(api, prepared, checked):
            try:
                return await self.recognize(
                    _again(audio, prepared),
                    options=options,
                    request_id=request_id,
                    timeout=timeout,
                    deadline=deadline,
                    model=flash_model,
                )
            finally:
                if prepared.source is not None:
                    prepared.source.close()
        try:
            checked.check_api("standard")
            task_id = self._spec._task_id(request_id)
        except BaseException:
            if prepared.source is not None:
                prepared.source.close()
            raise
        return await self._submit_prepared(
            prepared, checked, task_id, resource_id, uploader, self._spec._settings(timeout)
        )


async def standard_batch(
    client: AsyncStandardOperations,
    inputs: AsyncIterator[tuple[int, Any]],
    *,
    api: str,
    options: RecognitionOptions | None,
    concurrency: int,
    make_result: Callable[..., Any],
    progress: Any,
    uploader: Any,
    model: Any,
    poll: PollLike,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
) -> AsyncIterator[Any]:
    """``AsyncAsrClient.recognize_many(api="standard" | "auto")``: submit every task, then
    poll them together on the loop.

    Each item is submitted (or, with ``"auto"``, recognized by flash) as soon as a slot is
    free; once every item is submitted, each task waits asleep on the loop between its
    queries. At most ``concurrency`` requests (submits, queries, flash recognitions) are
    in flight. Results come in completion order, each with its ``index``."""
    limit = asyncio.Semaphore(concurrency)
    submitting = 0
    all_submitted = asyncio.Event()
    exhausted = False

    def submitted() -> None:
        nonlocal submitting
        submitting -= 1
        if exhausted and submitting == 0:
            all_submitted.set()

    async def one(index: int, item: Any) -> Any:
        try:
            try:
                async with limit:
                    first = await client._route(
                        item, api, options, None, None, None, uploader, model, poll
                    )
            finally:
                submitted()
            if isinstance(first, Transcript):
                return make_result(index, item, transcript=first)
            await all_submitted.wait()  # every task is on the service before the polling
            return make_result(
                index, item, transcript=await client._wait(first, timeout, poll, limit)
            )
        except Exception as exc:  # one item's failure is that item's result
            return make_result(index, item, error=exc)

    pending: set[asyncio.Task[Any]] = set()
    try:
        async for index, item in inputs:
            submitting += 1
            pending.add(asyncio.ensure_future(one(index, item)))
            await asyncio.sleep(0)  # let it start (and take its slot) in input order
            done = {t for t in pending if t.done()}
            pending -= done
            for task in sorted(done, key=lambda t: t.result().index):
                if progress is not None:
                    progress.update(task.result().ok)
                yield task.result()
        exhausted = True
        if submitting == 0:
            all_submitted.set()
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: t.result().index):
                if progress is not None:
                    progress.update(task.result().ok)
                yield task.result()
    finally:
        await inputs.aclose()  # type: ignore[attr-defined]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        if progress is not None:
            progress.close()
