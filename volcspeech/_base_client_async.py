"""What every async client shares: the async transport, lifecycle and sending.

An async client (``AsyncAsrClient``, ``AsyncRtcClient``) keeps its settings
in its sync twin (``AsrClient``, ``RtcClient``) built with the same arguments
and an unused transport: every argument check, credential lookup, URL check,
timeout, retry policy, deadline and answer cap is the sync client's own code,
and the async client only adds ``await``. Operations hand a builder and a
reader to :meth:`AsyncBaseClient._send`, which runs them through
``volcspeech._transport_async.send`` (the shared ``CallState`` and
``decide_retry``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Callable, ClassVar, TypeVar

from . import _transport_async
from ._log import redact_exception
from ._messages import HttpRequest, HttpResponse
from ._transport import CallSettings
from ._transport_async import AsyncTransport
from .errors import ClientClosedError, ConfigurationError, VolcSpeechError

__all__ = ["AsyncBaseClient", "NotPicklable", "settings_only"]


class NotPicklable(ConfigurationError, TypeError):
    """An async client refusing to pickle (a ``TypeError`` too, as ``pickle`` expects).

    An async client belongs to its event loop; what travels to other processes
    is a sync client's settings (``AsrClient(credentials=...)``).
    """


T = TypeVar("T")


def settings_only(request: HttpRequest) -> HttpResponse:
    """The transport of an async client's sync twin, which only holds settings; never called."""
    raise ConfigurationError("internal: the settings of an async client cannot send")


class AsyncBaseClient:
    """The shared async half of a service client (not used directly).

    Args:
        transport: any callable ``HttpRequest -> Awaitable[HttpResponse]``
            instead of httpx (e.g. ``volcspeech.testing.MockTransport`` with an
            async handler); not with ``http_client``.
        http_client: an ``httpx.AsyncClient`` to send with; not closed by volcspeech.
    """

    #: The answer header holding the server's log id, copied onto transport errors.
    log_id_header: ClassVar[str | None] = None

    def __init__(self, *, transport: AsyncTransport | None, http_client: Any) -> None:
        self._closed = False
        if transport is not None:
            if http_client is not None:
                raise ConfigurationError("pass http_client or transport, not both")
            if not callable(transport):
                raise ConfigurationError(
                    "transport must be a callable taking an HttpRequest and returning an "
                    f"awaitable HttpResponse, got {type(transport).__name__}"
                )
            self._http: Any = transport
            self._owns_transport = False
        else:
            from ._http_async import HttpxTransport

            self._http = HttpxTransport(http_client)
            self._owns_transport = True

    # --- lifecycle -------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the ``httpx.AsyncClient`` if volcspeech created it; later calls raise."""
        if self._closed:
            return
        self._closed = True
        if self._owns_transport:
            await self._http.aclose()

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    async def __aenter__(self: Any) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError(
                f"this {type(self).__name__} is closed; make a new one (or use it inside "
                "its `async with` block)"
            )

    # --- sending ---------------------------------------------------------------

    async def _send(
        self,
        build: Callable[[], Awaitable[HttpRequest]],
        read: Callable[[HttpResponse], T],
        *,
        settings: CallSettings,
        request_id: str | None,
        operation: str,
    ) -> T:
        self._check_open()
        try:
            return await _transport_async.send(
                self._http,
                build,
                read,
                settings=settings,
                request_id=request_id,
                operation=operation,
            )
        except VolcSpeechError as exc:
            redact_exception(exc)  # a server may have echoed a key into the message
            raise
