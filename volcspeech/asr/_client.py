"""The flash recognition client."""

from __future__ import annotations

import collections
import concurrent.futures
import re
import sys
import threading
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

import attrs

from .. import _executors
from .._base_client import BaseClient, TimeoutLike, check_base_url, display_url
from .._credential_sources import SpeechCredentialSource
from .._messages import HttpRequest
from .._retry import RetryPolicy
from .._transport import CallSettings, Transport
from ..errors import ConfigurationError, ValidationError
from ._audio import (
    LARGE_INLINE_BYTES,
    MAX_AUDIO_BYTES,
    AudioInput,
    LargeInlineAudioWarning,
    PreparedAudio,
    prepare_audio,
)
from ._credentials import SpeechCredentialsMixin
from ._flash import FLASH_PATH, LOG_ID_HEADER, build_recognize, read_recognize
from ._models import STANDARD_2_RESOURCE_ID, AsrModel
from ._options import RecognitionOptions
from ._results import Transcript
from ._standard_batch import standard_batch
from ._standard_client import (
    StandardOperations,
    flash_resource_id,
    resolve_client_model,
)
from ._standard_poll import PollLike
from ._standard_routing import check_api_choice

if TYPE_CHECKING:  # pragma: no cover
    from .._http import Session

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_ENDPOINT",
    "DEFAULT_RESOURCE_ID",
    "AsrClient",
    "BatchResult",
]

#: The speech service's base URL; each operation adds its path.
DEFAULT_BASE_URL = "https://openspeech.bytedance.com"
#: The flash recognition endpoint.
DEFAULT_ENDPOINT = DEFAULT_BASE_URL + FLASH_PATH
#: The resource id of the flash API (``X-Api-Resource-Id``).
DEFAULT_RESOURCE_ID = "volc.bigasr.auc_turbo"
#: Parallel recognitions of :meth:`AsrClient.recognize_many` by default.
DEFAULT_MAX_WORKERS = 8
#: The standard API's model by default: 2.0 (``volc.seedasr.auc``).
DEFAULT_STANDARD_MODEL = AsrModel.STANDARD_2
#: Local audio sent inline (``audio.data``) to the standard API up to this size
#: by default (the flash limit); beyond it an uploader is needed. *Uncertain*:
#: the vendor documents ``audio.url``; set ``standard_inline_bytes=0`` to always upload.
DEFAULT_STANDARD_INLINE_BYTES = MAX_AUDIO_BYTES

_DEFAULT_OPTIONS = RecognitionOptions()
_HEADER_SAFE = re.compile(r"^[\x21-\x7e]{1,256}$")


@attrs.frozen
class BatchResult:
    """The outcome of one item of :meth:`AsrClient.recognize_many`.

    Attributes:
        index: the item's position in the input (from 0).
        input: the item as given.
        transcript: the transcript, when recognition succeeded.
        error: the exception, when it failed (usually a
            :class:`~volcspeech.errors.VolcSpeechError`).
    """

    index: int
    input: Any = attrs.field(repr=False)
    transcript: Transcript | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Whether the item was recognized."""
        return self.error is None

    def unwrap(self) -> Transcript:
        """Return the transcript or raise the item's error."""
        if self.error is not None:
            raise self.error
        assert self.transcript is not None
        return self.transcript

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``index``, ``input`` (a path or URL as a string, else
        ``None``), ``transcript`` (its ``to_dict()``) and ``error`` (its ``to_dict()``)."""
        from ._records import batch_result_to_dict

        return batch_result_to_dict(self.index, self.input, self.transcript, self.error)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchResult:
        """Read what :meth:`to_dict` wrote; the error comes back as its volcspeech class."""
        from ._records import batch_result_fields

        return cls(**batch_result_fields(data))


class _Progress:
    """A one-line progress report on stderr (``\\r``-rewritten)."""

    def __init__(self, total: int | None, stream: IO[str]) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self._stream = stream

    def update(self, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        of_total = f"/{self.total}" if self.total is not None else ""
        failed = f", {self.failed} failed" if self.failed else ""
        self._stream.write(f"\rrecognized {self.done}{of_total}{failed}")
        self._stream.flush()

    def close(self) -> None:
        if self.done:
            self._stream.write("\n")
            self._stream.flush()


def _base_of(endpoint: str) -> str:
    """The base URL of a flash endpoint: without the flash path when it ends with it."""
    if endpoint.rstrip("/").endswith(FLASH_PATH):
        return endpoint.rstrip("/")[: -len(FLASH_PATH)]
    scheme, _, rest = endpoint.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


class AsrClient(SpeechCredentialsMixin, StandardOperations, BaseClient):
    """A client of the recorded-file recognition APIs: flash, and standard (submit/query).

    Safe to share across threads; one pooled HTTP session serves them all
    (its pool grows to the number of threads using the client at once).
    Use it as a context manager or call :meth:`close`; a closed client raises
    :class:`~volcspeech.errors.ClientClosedError`.

    Args:
        app_key: the console APP ID (old console); with ``access_key``.
        access_key: the console access token (old console).
        api_key: the new console's API key (replaces the pair).
        endpoint: the flash API URL (an emulator's, in tests); by default
            ``base_url`` plus the flash path.
        base_url: the service's base URL, to which each operation adds its
            path; by default derived from ``endpoint`` or the vendor's.
        resource_id: the ``X-Api-Resource-Id`` header.
        timeout: per-attempt timeouts: seconds, a ``(connect, read)`` pair or a
            :class:`~volcspeech.Timeout`; 10 s connect and 120 s read by default.
        max_retries: retries after the first attempt for transient failures
            (busy service, 5xx, connection errors); 3 by default.
        retry: a whole :class:`~volcspeech.RetryPolicy` (attempts, total time
            budget, backoff) instead of ``max_retries``.
        session: a ``requests.Session`` to use (proxies, custom adapters);
            volcspeech makes a pooled one by default. Size its pool to at
            least the number of threads sharing the client.
        uid: ``user.uid`` in the request body; the APP ID (or ``"volcspeech"``)
            by default.
        deadline: seconds one call may take in all (every attempt, upload,
            answer and wait); 600 by default. No call outlives it.
        max_answer_bytes: the largest answer read, counted after
            decompression; 32 MiB by default. A larger one is a
            :class:`~volcspeech.errors.ProtocolError`.
        transport: any callable ``HttpRequest -> HttpResponse`` that makes one
            attempt (e.g. ``volcspeech.testing.MockTransport``), instead of
            ``requests``; not with ``session``.
        credentials: a credential source instead of keys, read at the first
            request in the process that uses the client, e.g.
            :class:`~volcspeech.credentials.EnvCredentials` or
            :class:`~volcspeech.credentials.CallableCredentials`.
        allow_pickling_secrets: let a client given literal keys pickle with
            them (unsafe; see ``docs/scaling.md``).
        model: the standard API's model: ``"2.0"`` (``volc.seedasr.auc``, the
            default), ``"1.0"`` (``volc.bigasr.auc``), an :class:`AsrModel` or a
            raw resource id. ``"flash"`` leaves the default.
        standard_inline_bytes: local audio up to this size goes to the standard
            API inline (``audio.data``; 100 MiB by default); beyond it an
            ``uploader=`` is needed. ``0``: always upload.

    Credentials not given here are read from ``VOLCSPEECH_API_KEY``, or
    ``VOLCSPEECH_APP_KEY`` with ``VOLCSPEECH_ACCESS_KEY``.

    A client pickles (for process pools and Dask) as its settings and its
    credential source: the environment when no keys were given, or the
    ``credentials=`` source. One given literal keys, a ``session`` or a
    ``transport`` refuses to pickle with a :class:`~volcspeech.errors.ConfigurationError`.

    Raises:
        ConfigurationError: no credentials, half a key pair, a bad endpoint,
            timeout or ``max_retries``.
    """

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
        session: Session | None = None,
        uid: str | None = None,
        base_url: str | None = None,
        deadline: float | None = None,
        max_answer_bytes: int | None = None,
        transport: Transport | None = None,
        credentials: SpeechCredentialSource | None = None,
        allow_pickling_secrets: bool = False,
        model: str | AsrModel = DEFAULT_STANDARD_MODEL,
        standard_inline_bytes: int = DEFAULT_STANDARD_INLINE_BYTES,
    ) -> None:
        self._set_credentials(app_key, access_key, api_key, credentials)
        if base_url is not None:
            base_url = check_base_url(base_url, "base_url").rstrip("/")
        if endpoint is not None:
            self.endpoint = check_base_url(endpoint, "endpoint")
        else:
            self.endpoint = (base_url or DEFAULT_BASE_URL) + FLASH_PATH
        self.base_url = base_url if base_url is not None else _base_of(self.endpoint)
        if not isinstance(resource_id, str) or not _HEADER_SAFE.match(resource_id):
            raise ConfigurationError(f"resource_id must be a non-empty token, got {resource_id!r}")
        self.resource_id = resource_id
        if uid is not None and (not isinstance(uid, str) or not uid):
            raise ConfigurationError(f"uid must be a non-empty string, got {uid!r}")
        self._uid = uid
        try:
            standard = resolve_client_model(model)
        except ValidationError as exc:
            raise ConfigurationError(str(exc)) from None
        #: The standard API's ``X-Api-Resource-Id`` (the client's ``model``).
        self.standard_resource_id = standard if standard is not None else STANDARD_2_RESOURCE_ID
        if (
            isinstance(standard_inline_bytes, bool)
            or not isinstance(standard_inline_bytes, int)
            or standard_inline_bytes < 0
        ):
            raise ConfigurationError(
                f"standard_inline_bytes must be an int >= 0, got {standard_inline_bytes!r}"
            )
        self.standard_inline_bytes = standard_inline_bytes
        super().__init__(
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            deadline=deadline,
            max_answer_bytes=max_answer_bytes,
            session=session,
            transport=transport,
            allow_pickling_secrets=allow_pickling_secrets,
        )
        self._given_base_url = base_url
        self._lock = threading.Lock()
        self._warned_large = False

    log_id_header = LOG_ID_HEADER

    def _pickle_config(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "base_url": self._given_base_url,
            "resource_id": self.resource_id,
            "uid": self._uid,
            "model": self.standard_resource_id,
            "standard_inline_bytes": self.standard_inline_bytes,
            **self._credential_config(),
        }

    def __repr__(self) -> str:
        if self._source is not None:
            kind = repr(self._source)
        elif self._credentials.api_key:
            kind = "api_key"
        else:
            kind = "app_key+access_key"
        return (
            f"AsrClient(endpoint={display_url(self.endpoint)!r}, "
            f"resource_id={self.resource_id!r}, credentials={kind})"
        )

    def _url(self, path: str) -> str:
        """The URL of an operation: the base URL plus its path."""
        return self.base_url + path

    def _warn_large(self, size: int) -> None:
        with self._lock:
            if self._warned_large:
                return
            self._warned_large = True
        warnings.warn(
            f"sending {size / (1024 * 1024):.1f} MiB of audio inline (base64); the vendor "
            "advises keeping inline uploads under about 20 MB and sending larger files "
            "as an http(s) URL (audio.url)",
            LargeInlineAudioWarning,
            stacklevel=3,
        )

    def recognize(
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
        """Recognize one audio file.

        ``api="flash"`` (the default) makes one request to the flash API.
        ``api="standard"`` submits a standard-API task and waits for it
        (:meth:`submit` + :meth:`wait`). ``api="auto"`` uses flash for audio
        inside its limits (100 MiB, 2 h) and the standard API beyond them
        (local audio beyond the inline limit then needs ``uploader=``); URLs
        are never fetched here, so ``"auto"`` sends them to flash.

        Args:
            audio: a path (``str`` or ``os.PathLike``), ``bytes`` /
                ``bytearray`` / ``memoryview``, a binary file object (read from
                its current position to the end), or an ``http(s)://`` URL
                string that the service downloads (never fetched here).
            options: recognition options; ``audio.format`` / ``codec`` are
                filled in from the audio's bytes when unset.
            request_id: the ``X-Api-Request-Id``; a fresh UUID4 by default.
            timeout: this call's per-attempt timeouts (the client's by default).
            deadline: this call's total time limit in seconds (the client's by
                default); with the standard API, how long to wait for the task (3 h
                by default) while each request keeps the client's limit.
            api: ``"flash"``, ``"standard"`` or ``"auto"``.
            uploader: for the standard API: an object with ``upload(source) -> url``
                (e.g. :class:`~volcspeech.asr.TosUploader`) for local audio.
            model: the model: ``"flash"`` or a raw flash resource id with
                ``api="flash"``; ``"1.0"``, ``"2.0"`` or a resource id for the
                standard API (with ``"auto"``, for the standard side only).
            poll: the standard API's polling schedule (see :meth:`wait`).

        Returns:
            The transcript; ``silent=True`` with no text for all-silent audio.

        Raises:
            InvalidAudioError: the audio cannot be sent (before any traffic).
            ValidationError: a bad ``options`` or ``request_id``.
            APIError: the service refused or failed (after retries for
                transient errors); carries ``code``, ``message``, ``log_id``.
            TransportError: no answer (after retries);
                :class:`~volcspeech.errors.TimeoutError` past the deadline.
            ClientClosedError: the client is closed.
        """
        self._check_open()
        api = check_api_choice(api)
        if api != "flash":
            return self._recognize_routed(
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
        resource_id = flash_resource_id(model, self.resource_id)
        options, request_id, settings = self._call_args(options, request_id, timeout, deadline)
        prepared = prepare_audio(audio, options.to_audio_dict())
        try:
            if prepared.source is not None and prepared.source.size > LARGE_INLINE_BYTES:
                self._warn_large(prepared.source.size)
            request = self._recognize_request(prepared, options, request_id, resource_id)
            rid = request_id
            # The body streams the source from its start each time it is sent.
            return self._send(
                lambda: request,
                lambda response: read_recognize(response, rid),
                settings=settings,
                request_id=rid,
                operation="asr.recognize",
            )
        finally:
            if prepared.source is not None:
                prepared.source.close()

    def _call_args(
        self,
        options: RecognitionOptions | None,
        request_id: str | None,
        timeout: TimeoutLike,
        deadline: float | None,
    ) -> tuple[RecognitionOptions, str, CallSettings]:
        """A flash recognition's checked options, request id and settings (shared with
        the async client).

        Raises:
            ValidationError: a bad ``options`` or ``request_id``.
        """
        if options is None:
            options = _DEFAULT_OPTIONS
        elif not isinstance(options, RecognitionOptions):
            raise ValidationError(
                f"options must be RecognitionOptions, got {type(options).__name__}"
            )
        options.check_api("flash")
        if request_id is None:
            request_id = str(uuid.uuid4())
        elif not isinstance(request_id, str) or not _HEADER_SAFE.match(request_id):
            raise ValidationError(
                "request_id must be 1-256 printable ASCII characters without spaces",
                field="request_id",
            )
        return options, request_id, self._settings(timeout, deadline)

    def _recognize_request(
        self,
        prepared: PreparedAudio,
        options: RecognitionOptions,
        request_id: str,
        resource_id: str,
        encode_size: int | None = None,
    ) -> HttpRequest:
        """The flash request of checked audio (shared with the async client)."""
        return build_recognize(
            url=self.endpoint,
            auth_headers=self._credentials.headers(),
            resource_id=resource_id,
            request_id=request_id,
            uid=self.uid,
            audio=prepared,
            options=options,
            encode_size=encode_size,
        )

    # --- batches ---------------------------------------------------------------

    def recognize_many(
        self,
        items: Iterable[AudioInput],
        *,
        options: RecognitionOptions | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        executor: concurrent.futures.Executor | None = None,
        progress: bool = False,
        api: str = "flash",
        uploader: Any = None,
        model: str | AsrModel | None = None,
        poll: PollLike = None,
    ) -> Iterator[BatchResult]:
        """Recognize many files in parallel, yielding results in input order.

        With ``api="standard"`` (or ``"auto"`` for audio beyond flash's
        limits) every task is submitted first, then all are polled together
        from this thread: no thread waits for a task, and at most 4 threads
        (``min(max_workers, 4)``) make the submits and queries.

        A failing item yields a :class:`BatchResult` with its ``error``; the
        batch goes on. At most ``2 * max_workers`` items are in flight (read
        ahead from ``items``, which may be a lazy iterator), so memory stays
        bounded however long the input.

        Args:
            items: audio inputs, as for :meth:`recognize`.
            options: options for every item.
            max_workers: parallel recognitions (the thread pool's size when no
                ``executor`` is given).
            executor: any :class:`concurrent.futures.Executor` (a thread pool,
                a process pool, Dask's ``client.get_executor()``); not shut
                down here. Executors in other processes get a pickled copy of
                this client (its settings and credential source, never keys),
                built once per worker process; a dead worker or a task that
                cannot be pickled is that item's error
                (:class:`~volcspeech.errors.ExecutorError`).
            progress: print a progress line on stderr.
            api: ``"flash"`` (default), ``"standard"`` or ``"auto"``, as for :meth:`recognize`.
            uploader: for the standard API, as for :meth:`recognize`.
            model: the standard model, as for :meth:`submit`.
            poll: the polling schedule of each standard task.

        Yields:
            One :class:`BatchResult` per item, in input order.

        Raises:
            ValidationError: ``items`` is not an iterable of inputs, ``max_workers``
                is not an int from 1 to 1024, ``executor`` is not an Executor, or
                ``options`` is invalid.
        """
        _executors.check_batch_args(items, max_workers, executor)
        if options is not None and not isinstance(options, RecognitionOptions):
            raise ValidationError(
                f"options must be RecognitionOptions, got {type(options).__name__}"
            )
        self._check_open()
        if check_api_choice(api) != "flash":
            total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
            return standard_batch(
                self,
                items,
                api=api,
                options=options,
                max_workers=max_workers,
                executor=executor,
                make_result=BatchResult,
                progress=_Progress(total, sys.stderr) if progress else None,
                uploader=uploader,
                model=model,
                poll=poll,
            )
        return self._batch(items, options, max_workers, executor, progress)

    def _batch(
        self,
        items: Iterable[AudioInput],
        options: RecognitionOptions | None,
        max_workers: int,
        executor: concurrent.futures.Executor | None,
        progress: bool,
    ) -> Iterator[BatchResult]:
        self._ensure_pool(max_workers)
        owned = executor is None
        pool = executor or concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="volcspeech-asr"
        )
        total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
        report = _Progress(total, sys.stderr) if progress else None
        window = 2 * max_workers
        pending: collections.deque[tuple[int, Any, concurrent.futures.Future[Transcript]]]
        pending = collections.deque()
        source = enumerate(items)
        try:
            while True:
                while len(pending) < window:
                    nxt = next(source, None)
                    if nxt is None:
                        break
                    index, item = nxt
                    future = _executors.submit(pool, self.recognize, item, options=options)
                    pending.append((index, item, future))
                if not pending:
                    return
                index, item, future = pending.popleft()
                try:
                    result = BatchResult(index, item, transcript=future.result())
                except Exception as exc:  # one item's failure is that item's result
                    result = BatchResult(index, item, error=_executors.item_error(exc))
                if report is not None:
                    report.update(result.ok)
                yield result
        finally:
            for _, _, future in pending:
                future.cancel()
            if report is not None:
                report.close()
            if owned:
                pool.shutdown(wait=True)
