"""The async flash recognition client (httpx; the ``volcspeech[async]`` extra)."""

from __future__ import annotations

# First: without the extra (httpx, anyio) this raises an ImportError naming it.
from .. import _http_async  # noqa: F401

# isort: split

import asyncio
import os
import sys
import threading
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from typing import Any, Callable, Union

import anyio.to_thread

from .._base_client import TimeoutLike
from .._base_client_async import AsyncBaseClient, NotPicklable, settings_only
from .._credential_sources import SpeechCredentialSource
from .._http_async import INLINE_BODY_BYTES, HttpxTransport
from .._messages import HttpRequest
from .._retry import RetryPolicy
from .._transport_async import AsyncTransport
from ..errors import ValidationError
from ._async_standard import AsyncStandardOperations, standard_batch
from ._audio import LARGE_INLINE_BYTES, AudioInput, PreparedAudio, prepare_audio
from ._client import (
    DEFAULT_RESOURCE_ID,
    DEFAULT_STANDARD_INLINE_BYTES,
    DEFAULT_STANDARD_MODEL,
    AsrClient,
    BatchResult,
    _Progress,
)
from ._flash import LOG_ID_HEADER, read_recognize
from ._models import AsrModel
from ._options import RecognitionOptions
from ._results import Transcript
from ._standard_client import flash_resource_id
from ._standard_poll import PollLike, PollSchedule
from ._standard_routing import check_api_choice, inspect_audio

__all__ = ["DEFAULT_CONCURRENCY", "AsyncAsrClient"]

#: Recognitions in flight at once in :meth:`AsyncAsrClient.recognize_many` by default.
DEFAULT_CONCURRENCY = 16

#: Raw audio bytes base64-encoded per body piece: each encoding (in a worker
#: thread) holds the GIL about a millisecond, so the loop is never kept waiting.
ENCODE_SIZE = 384 * 1024

_HttpClient = Any  # httpx.AsyncClient (kept out of the signature's evaluation)


def _small(audio: Any) -> bool:
    """Whether preparing ``audio`` reads little enough to be done on the event loop."""
    if isinstance(audio, (str, os.PathLike)) and not isinstance(audio, bytes):
        if isinstance(audio, str) and "://" in audio:
            return True  # a URL: nothing is read
        try:
            return os.stat(audio).st_size <= INLINE_BODY_BYTES
        except (OSError, ValueError, TypeError):
            return True  # prepare_audio raises the error at once
    return isinstance(audio, (bytes, bytearray, memoryview)) and len(audio) <= INLINE_BODY_BYTES


async def _prepare(
    audio: AudioInput,
    options: RecognitionOptions,
    prepare: Callable[[Any, dict[str, Any]], PreparedAudio] = prepare_audio,
) -> PreparedAudio:
    """``prepare_audio`` (or ``inspect_audio``) in a worker thread (it reads the file's
    head; a pipe is spooled), or on the loop for a URL or small audio (a thread hop
    would cost more).

    A cancelled caller does not wait for the thread: whichever of the two comes
    second (the thread's result, the cancellation) closes the prepared source,
    so a spooled copy never leaks.
    """
    if _small(audio):
        return prepare(audio, options.to_audio_dict())
    lock = threading.Lock()
    state: dict[str, Any] = {"prepared": None, "abandoned": False}

    def work() -> PreparedAudio:
        prepared = prepare(audio, options.to_audio_dict())
        with lock:
            if not state["abandoned"]:
                state["prepared"] = prepared
                return prepared
        if prepared.source is not None:
            prepared.source.close()
        return prepared

    try:
        return await anyio.to_thread.run_sync(work)
    except BaseException:
        with lock:
            state["abandoned"] = True
            prepared = state["prepared"]
        if prepared is not None and prepared.source is not None:
            prepared.source.close()
        raise


class AsyncAsrClient(AsyncStandardOperations, AsyncBaseClient):
    """The async client of the recorded-file recognition APIs (on ``httpx``): flash,
    and standard (submit/query).

    The same arguments, methods, results and errors as
    :class:`~volcspeech.asr.AsrClient`, awaited; one client serves any number
    of concurrent recognitions on one event loop. The differences:
    ``http_client=`` (an ``httpx.AsyncClient``) instead of ``session=``,
    ``concurrency=`` instead of ``max_workers=`` / ``executor=`` in
    :meth:`recognize_many`, and no ``allow_pickling_secrets=``: an async
    client never pickles (it belongs to its event loop). Use it with ``async with``
    or call :meth:`aclose`; a closed client raises
    :class:`~volcspeech.errors.ClientClosedError`.

    Args:
        app_key: the console APP ID (old console); with ``access_key``.
        access_key: the console access token (old console).
        api_key: the new console's API key (replaces the pair).
        endpoint: the flash API URL (an emulator's, in tests).
        base_url: the service's base URL, to which each operation adds its path.
        resource_id: the ``X-Api-Resource-Id`` header.
        timeout: per-attempt timeouts: seconds, a ``(connect, read)`` pair or a
            :class:`~volcspeech.Timeout`; 10 s connect and 120 s read by default.
        max_retries: retries after the first attempt for transient failures; 3 by default.
        retry: a whole :class:`~volcspeech.RetryPolicy` instead of ``max_retries``.
        uid: ``user.uid`` in the request body.
        deadline: seconds one call may take in all (every attempt, upload,
            answer and wait); 600 by default.
        max_answer_bytes: the largest answer read, counted after decompression.
        transport: any callable ``HttpRequest -> Awaitable[HttpResponse]``
            making one attempt (e.g. ``volcspeech.testing.MockTransport`` with
            an ``async def`` handler), instead of httpx; not with ``http_client``.
        http_client: your own ``httpx.AsyncClient`` (proxies, certificates,
            limits); used as it is and not closed by volcspeech.
        credentials: a credential source instead of keys, read at the first
            request (on the event loop), e.g.
            :class:`~volcspeech.credentials.EnvCredentials` or
            :class:`~volcspeech.credentials.CallableCredentials`.
        model: the standard API's model: ``"2.0"`` (the default), ``"1.0"``,
            an :class:`AsrModel` or a raw resource id.
        standard_inline_bytes: local audio up to this size goes to the standard
            API inline (100 MiB by default); beyond it an ``uploader=`` is needed.

    Credentials not given here are read from ``VOLCSPEECH_API_KEY``, or
    ``VOLCSPEECH_APP_KEY`` with ``VOLCSPEECH_ACCESS_KEY``.

    Raises:
        ConfigurationError: as :class:`~volcspeech.asr.AsrClient`, or both
            ``transport`` and ``http_client``.
    """

    log_id_header = LOG_ID_HEADER

    def __init__(
        self,
        app_key: str | None = None,
        access_key: str | None = None,
        *,
        api_key: str | None = None,
        endpoint: str | None = None,
        resource_id: str = DEFAULT_RESOURCE_ID,
        timeout: TimeoutLike = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        uid: str | None = None,
        base_url: str | None = None,
        deadline: float | None = None,
        max_answer_bytes: int | None = None,
        transport: AsyncTransport | None = None,
        http_client: _HttpClient = None,
        credentials: SpeechCredentialSource | None = None,
        model: str | AsrModel = DEFAULT_STANDARD_MODEL,
        standard_inline_bytes: int = DEFAULT_STANDARD_INLINE_BYTES,
    ) -> None:
        # The sync twin checks every argument and holds the settings.
        self._spec = AsrClient(
            app_key,
            access_key,
            api_key=api_key,
            endpoint=endpoint,
            resource_id=resource_id,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            uid=uid,
            base_url=base_url,
            deadline=deadline,
            max_answer_bytes=max_answer_bytes,
            transport=settings_only,
            credentials=credentials,
            model=model,
            standard_inline_bytes=standard_inline_bytes,
        )
        super().__init__(transport=transport, http_client=http_client)
        self.endpoint = self._spec.endpoint
        self.base_url = self._spec.base_url
        self.resource_id = self._spec.resource_id
        #: The standard API's ``X-Api-Resource-Id`` (the client's ``model``).
        self.standard_resource_id = self._spec.standard_resource_id
        self.standard_inline_bytes = self._spec.standard_inline_bytes

    @property
    def uid(self) -> str:
        """``user.uid`` of each request: as given, else the APP ID or ``"volcspeech"``."""
        return self._spec.uid

    def __repr__(self) -> str:
        return "Async" + repr(self._spec)

    def __reduce__(self) -> Any:
        raise NotPicklable(
            "an AsyncAsrClient belongs to its event loop and cannot be pickled (async "
            "clients do not pickle); make one per process or task from its settings, or "
            "pickle an AsrClient given credentials= (e.g. EnvCredentials()) instead"
        )

    async def _inspect(self, audio: AudioInput, options: RecognitionOptions) -> PreparedAudio:
        """``inspect_audio`` off the loop for large audio (the standard API's check)."""
        return await _prepare(audio, options, inspect_audio)

    @property
    def retry_policy(self) -> RetryPolicy:
        """The client's retry policy."""
        return self._spec.retry_policy

    @property
    def http_client(self) -> _HttpClient:
        """The ``httpx.AsyncClient`` in use (``None`` with a custom ``transport``)."""
        return self._http.client if isinstance(self._http, HttpxTransport) else None

    async def recognize(
        self,
        audio: AudioInput,
        *,
        options: RecognitionOptions | None = None,
        request_id: str | None = None,
        timeout: TimeoutLike = None,
        deadline: float | None = None,
        api: str = "flash",
        uploader: Any = None,
        model: str | AsrModel | None = None,
        poll: PollLike = None,
    ) -> Transcript:
        """Recognize one audio file, as :meth:`volcspeech.asr.AsrClient.recognize` does.

        The file is read and base64-encoded block by block in a worker thread
        while it is sent, so the event loop is never blocked by it. Cancelling
        the call closes the file and the connection.

        Args:
            audio: a path, bytes-like object, binary file object or an
                ``http(s)://`` URL string (never fetched here).
            options: recognition options.
            request_id: the ``X-Api-Request-Id``; a fresh UUID4 by default.
            timeout: this call's per-attempt timeouts (the client's by default).
            deadline: this call's total time limit in seconds (the client's by default).
            api: ``"flash"`` (one request), ``"standard"`` (:meth:`submit` +
                :meth:`wait`) or ``"auto"`` (flash inside its limits, 100 MiB and
                2 h; standard beyond them).
            uploader: for the standard API: an object with ``upload(source) -> url``
                (sync, run in a worker thread; or ``async def upload``).
            model: ``"flash"`` or a raw flash resource id with ``api="flash"``;
                ``"1.0"``, ``"2.0"`` or a resource id for the standard API.
            poll: the standard API's polling schedule (see :meth:`wait`).

        Returns:
            The transcript; ``silent=True`` with no text for all-silent audio.

        Raises:
            InvalidAudioError: the audio cannot be sent (before any traffic).
            ValidationError: a bad ``options`` or ``request_id``.
            APIError: the service refused or failed (after retries).
            TransportError: no answer (after retries);
                :class:`~volcspeech.errors.TimeoutError` past the deadline.
            ClientClosedError: the client is closed.
        """
        self._check_open()
        api = check_api_choice(api)
        if api != "flash":
            return await self._recognize_routed(
                audio,
                api=api,
                options=options,
                request_id=request_id,
                timeout=timeout,
                deadline=deadline,
                uploader=uploader,
                model=model,
                poll=poll,
            )
        resource_id = flash_resource_id(model, self._spec.resource_id)
        options, request_id, settings = self._spec._call_args(
            options, request_id, timeout, deadline
        )
        prepared = await _prepare(audio, options)
        try:
            if prepared.source is not None and prepared.source.size > LARGE_INLINE_BYTES:
                self._spec._warn_large(prepared.source.size)
            request = self._spec._recognize_request(
                prepared, options, request_id, resource_id, encode_size=ENCODE_SIZE
            )
            rid = request_id

            async def build() -> HttpRequest:
                return request  # its body streams the source from its start each time

            return await self._send(
                build,
                lambda response: read_recognize(response, rid),
                settings=settings,
                request_id=rid,
                operation="asr.recognize",
            )
        finally:
            if prepared.source is not None:
                prepared.source.close()

    # --- batches ---------------------------------------------------------------

    def recognize_many(
        self,
        items: Union[Iterable[AudioInput], AsyncIterable[AudioInput]],
        *,
        options: RecognitionOptions | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        progress: bool = False,
        api: str = "flash",
        uploader: Any = None,
        model: str | AsrModel | None = None,
        poll: PollLike = None,
    ) -> AsyncIterator[BatchResult]:
        """Recognize many files concurrently, yielding each result **as it completes**.

        Results come in completion order, not input order: each
        :class:`~volcspeech.asr.BatchResult` carries its item's ``index``
        (sort by it if you need input order). A failing item yields a result
        with its ``error``; the batch goes on. At most ``concurrency`` items
        are in flight, read lazily from ``items`` (a list, any iterable or an
        async iterable), so memory stays bounded however long the input.
        Leaving the ``async for`` early (or cancelling it) cancels the
        recognitions in flight, which close their files and connections.

        Args:
            items: audio inputs, as for :meth:`recognize`.
            options: options for every item.
            concurrency: recognitions in flight at once.
            progress: print a progress line on stderr.
            api: ``"flash"`` (default), ``"standard"`` or ``"auto"``, as for
                :meth:`recognize`. With the standard API every item is
                submitted first, then all tasks are polled together, each asleep
                on the loop between its queries; at most ``concurrency``
                requests (submits, queries) are in flight.
            uploader: for the standard API, as for :meth:`recognize`.
            model: the standard model, as for :meth:`submit`.
            poll: the polling schedule of each standard task.

        Returns:
            An async iterator of one :class:`~volcspeech.asr.BatchResult` per item.

        Raises:
            ValidationError: ``concurrency`` is not a positive int, ``options``
                is invalid, or ``items`` is not iterable (raised at the call).
            ClientClosedError: the client is closed.
        """
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError(
                f"concurrency must be a positive int, got {concurrency!r}", field="concurrency"
            )
        if options is not None and not isinstance(options, RecognitionOptions):
            raise ValidationError(
                f"options must be RecognitionOptions, got {type(options).__name__}"
            )
        if not isinstance(items, (Iterable, AsyncIterable)) or isinstance(items, (str, bytes)):
            raise ValidationError(
                "items must be an iterable (or async iterable) of audio inputs, "
                f"got {type(items).__name__}",
                field="items",
            )
        self._check_open()
        if check_api_choice(api) != "flash":
            if uploader is not None and not callable(getattr(uploader, "upload", None)):
                raise ValidationError(
                    "uploader must have an upload(source) -> url method, got "
                    f"{type(uploader).__name__}",
                    field="uploader",
                )
            total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
            return standard_batch(
                self,
                _aenumerate(items),
                api=api,
                options=options,
                concurrency=concurrency,
                make_result=BatchResult,
                progress=_Progress(total, sys.stderr) if progress else None,
                uploader=uploader,
                model=model,
                poll=PollSchedule.coerce(poll),
            )
        return self._batch(items, options, concurrency, progress)

    async def _one(self, index: int, item: Any, options: RecognitionOptions | None) -> BatchResult:
        try:
            return BatchResult(index, item, transcript=await self.recognize(item, options=options))
        except Exception as exc:  # one item's failure is that item's result
            return BatchResult(index, item, error=exc)

    async def _batch(
        self,
        items: Union[Iterable[AudioInput], AsyncIterable[AudioInput]],
        options: RecognitionOptions | None,
        concurrency: int,
        progress: bool,
    ) -> AsyncIterator[BatchResult]:
        total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
        report = _Progress(total, sys.stderr) if progress else None
        source = _aenumerate(items)
        exhausted = False
        pending: set[asyncio.Task[BatchResult]] = set()
        try:
            while True:
                while not exhausted and len(pending) < concurrency:
                    try:
                        index, item = await source.__anext__()
                    except StopAsyncIteration:
                        exhausted = True
                        break
                    pending.add(asyncio.ensure_future(self._one(index, item, options)))
                if not pending:
                    return
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: t.result().index):
                    result = task.result()
                    if report is not None:
                        report.update(result.ok)
                    yield result
        finally:
            await source.aclose()
            for task in pending:
                task.cancel()
            if pending:
                # Let them close their files and connections before we go.
                await asyncio.wait(pending)
            if report is not None:
                report.close()


async def _aenumerate(
    items: Union[Iterable[AudioInput], AsyncIterable[AudioInput]],
) -> AsyncGenerator[tuple[int, Any], None]:
    index = 0
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield index, item
            index += 1
    else:
        for item in items:
            yield index, item
            index += 1
