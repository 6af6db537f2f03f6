"""The async RTC segmentation OpenAPI client (httpx; the ``volcspeech[async]`` extra)."""

from __future__ import annotations

# First: without the extra (httpx, anyio) this raises an ImportError naming it.
from .. import _http_async  # noqa: F401

# isort: split

import asyncio
import datetime as _dt
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import anyio.to_thread

from .._base_client import TimeoutLike
from .._base_client_async import AsyncBaseClient, NotPicklable, settings_only
from .._http_async import HttpxTransport
from .._messages import HttpRequest, HttpResponse
from .._retry import RetryPolicy
from .._transport_async import AsyncTransport
from ..credentials import CredentialProvider, StaticProvider, current_credentials
from ._client import RtcClient, _expect, _RetriedWrite
from ._operations import (
    RtcEndpoint,
    SegmentResult,
    build_get_segment_task,
    build_start_segment,
    build_stop_segment,
    build_update_segment,
    read_segment_task,
)
from ._ratelimit import RateLimiter
from ._requests import StartSegmentRequest, StopSegmentRequest, UpdateSegmentRequest, check_task_key
from ._task import SegmentTask

if TYPE_CHECKING:  # pragma: no cover
    from ..credentials import OpenApiCredentials

__all__ = ["AsyncRtcClient"]

T = TypeVar("T")


class AsyncRtcClient(AsyncBaseClient):
    """The async client of the RTC audio segmentation OpenAPI (on ``httpx``).

    The same arguments, methods, results and errors as
    :class:`~volcspeech.rtc.RtcClient`, awaited: every attempt signed afresh,
    transient failures retried with the shared decision, each action kept
    under its QPS by the client's :class:`~volcspeech.rtc.RateLimiter` (the
    wait is an ``asyncio.sleep``). Use it with ``async with`` or call
    :meth:`aclose`.

    Args:
        access_key_id: the OpenAPI access key id (else ``$VOLCENGINE_ACCESS_KEY``).
        secret_access_key: its secret (else ``$VOLCENGINE_SECRET_KEY``).
        session_token: an STS session token, for temporary credentials.
        credentials: any :class:`~volcspeech.credentials.CredentialProvider`
            instead of a key pair (asked in a worker thread, so a refreshing
            provider never blocks the event loop).
        region: the signing region.
        endpoint: the base URL, e.g. the emulator's.
        timeout: per-attempt timeouts.
        max_retries: retries after the first attempt (default 3).
        retry: a whole :class:`~volcspeech.RetryPolicy` instead of ``max_retries``.
        rate_limits: requests per second per action, or a ready
            :class:`~volcspeech.rtc.RateLimiter`.
        deadline: seconds one call may take in all; 600 by default.
        max_answer_bytes: the largest answer read (after decompression).
        transport: any callable ``HttpRequest -> Awaitable[HttpResponse]``
            instead of httpx; not with ``http_client``.
        http_client: your own ``httpx.AsyncClient``; not closed by volcspeech.

    Raises:
        ConfigurationError: as :class:`~volcspeech.rtc.RtcClient`, or both
            ``transport`` and ``http_client``.
    """

    def __init__(
        self,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        *,
        session_token: str | None = None,
        credentials: CredentialProvider | None = None,
        region: str = "cn-north-1",
        endpoint: str | None = None,
        timeout: TimeoutLike = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        rate_limits: Mapping[str, int | None] | RateLimiter | None = None,
        deadline: float | None = None,
        max_answer_bytes: int | None = None,
        transport: AsyncTransport | None = None,
        http_client: Any = None,
    ) -> None:
        # The sync twin checks every argument and holds the settings.
        self._spec = RtcClient(
            access_key_id,
            secret_access_key,
            session_token=session_token,
            credentials=credentials,
            region=region,
            endpoint=endpoint,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            rate_limits=rate_limits,
            deadline=deadline,
            max_answer_bytes=max_answer_bytes,
            transport=settings_only,
        )
        super().__init__(transport=transport, http_client=http_client)
        self.region = self._spec.region
        self.endpoint = self._spec.endpoint

    def __repr__(self) -> str:
        return "Async" + repr(self._spec)

    def __reduce__(self) -> Any:
        raise NotPicklable(
            "an AsyncRtcClient belongs to its event loop and cannot be pickled (async "
            "clients do not pickle); make one per process or task, or pickle an "
            "RtcClient given credentials= (e.g. EnvCredentials()) instead"
        )

    @property
    def rate_limiter(self) -> RateLimiter:
        """The limiter shared by every task using this client."""
        return self._spec.rate_limiter

    @property
    def retry_policy(self) -> RetryPolicy:
        """The client's retry policy."""
        return self._spec.retry_policy

    @property
    def http_client(self) -> Any:
        """The ``httpx.AsyncClient`` in use (``None`` with a custom ``transport``)."""
        return self._http.client if isinstance(self._http, HttpxTransport) else None

    # --- actions -------------------------------------------------------------------

    async def start_segment(
        self,
        request: StartSegmentRequest,
        *,
        timeout: TimeoutLike = None,
        deadline: float | None = None,
    ) -> SegmentResult:
        """Start segmenting a room's audio (``StartSegment``); see :meth:`RtcClient.start_segment`.

        Raises:
            ValidationError: ``request`` is not a :class:`StartSegmentRequest` (before any traffic).
            APIError: the service refused it.
            TransportError: no answer after the retries.
        """
        _expect(request, StartSegmentRequest, "start_segment")
        return await self._call("StartSegment", build_start_segment, request, timeout, deadline)

    async def update_segment(
        self,
        request: UpdateSegmentRequest,
        *,
        timeout: TimeoutLike = None,
        deadline: float | None = None,
    ) -> SegmentResult:
        """Change a running task (``UpdateSegment``); see :meth:`RtcClient.update_segment`.

        Raises:
            ValidationError: ``request`` is not an :class:`UpdateSegmentRequest`.
            APIError: the service refused it.
            TransportError: no answer after the retries.
        """
        _expect(request, UpdateSegmentRequest, "update_segment")
        return await self._call("UpdateSegment", build_update_segment, request, timeout, deadline)

    async def stop_segment(
        self,
        request: StopSegmentRequest,
        *,
        timeout: TimeoutLike = None,
        deadline: float | None = None,
    ) -> SegmentResult:
        """Stop a task (``StopSegment``); see :meth:`RtcClient.stop_segment`.

        Raises:
            ValidationError: ``request`` is not a :class:`StopSegmentRequest`.
            APIError: the service refused it.
            TransportError: no answer after the retries.
        """
        _expect(request, StopSegmentRequest, "stop_segment")
        return await self._call("StopSegment", build_stop_segment, request, timeout, deadline)

    async def get_segment_task(
        self,
        app_id: str,
        room_id: str,
        task_id: str,
        *,
        timeout: TimeoutLike = None,
        deadline: float | None = None,
    ) -> SegmentTask:
        """Look up a task (``GetSegmentTask``); see :meth:`RtcClient.get_segment_task`.

        Raises:
            ValidationError: a malformed id (before any traffic).
            ProtocolError: the answer has no ``Result.SegmentTask``.
            APIError: the service refused it.
            TransportError: no answer after the retries.
        """
        check_task_key("get_segment_task", app_id, room_id, task_id)
        ids = {"app_id": app_id, "room_id": room_id, "task_id": task_id}

        def build(endpoint: RtcEndpoint, credentials: OpenApiCredentials, now: Any) -> HttpRequest:
            return build_get_segment_task(
                app_id, room_id, task_id, endpoint=endpoint, credentials=credentials, now=now
            )

        return await self._run(
            "GetSegmentTask", build, lambda r: read_segment_task(r, **ids), timeout, deadline
        )

    # --- plumbing ------------------------------------------------------------------

    async def _call(
        self,
        action: str,
        builder: Callable[..., HttpRequest],
        request: Any,
        timeout: TimeoutLike,
        deadline: float | None,
    ) -> SegmentResult:
        # The sync client's reading of retried writes (confirmed_by_retry), shared.
        write = _RetriedWrite(action)

        def build(endpoint: RtcEndpoint, credentials: OpenApiCredentials, now: Any) -> HttpRequest:
            write.sending()
            return builder(request, endpoint=endpoint, credentials=credentials, now=now)

        return await self._run(action, build, write.read, timeout, deadline)

    async def _run(
        self,
        action: str,
        build: Callable[[RtcEndpoint, OpenApiCredentials, Any], HttpRequest],
        read: Callable[[HttpResponse], T],
        timeout: TimeoutLike,
        deadline: float | None,
    ) -> T:
        self._check_open()
        spec = self._spec
        settings = spec._settings(timeout, deadline)
        provider = spec._provider

        async def attempt() -> HttpRequest:
            # Each attempt counts against the QPS and carries a fresh signature.
            wait = spec._limiter.reserve(action)
            if wait > 0:
                await asyncio.sleep(wait)
            # Checked as the sync client checks them (a provider answering None,
            # or a key with a newline, is a ConfigurationError naming the field).
            if isinstance(provider, StaticProvider):
                credentials = current_credentials(provider)
            else:  # a refreshing provider may read files or the network
                credentials = await anyio.to_thread.run_sync(current_credentials, provider)
            return build(spec._endpoint, credentials, _dt.datetime.now(_dt.timezone.utc))

        return await self._send(
            attempt,
            read,
            settings=settings,
            request_id=uuid.uuid4().hex,
            operation=f"rtc.{action}",
        )
