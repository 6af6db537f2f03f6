"""A transport made from a function, for tests: no socket, every request recorded."""

from __future__ import annotations

import threading
from collections.abc import Awaitable
from typing import Any, Callable, Union

from .. import errors
from .._base_client import is_async_callable
from .._messages import HttpRequest, HttpResponse

__all__ = ["MockTransport"]

Handler = Callable[[HttpRequest], Union[HttpResponse, Awaitable[HttpResponse]]]


class MockTransport:
    """Makes a transport from ``handler``: pass it as ``transport=`` to a client.

    The handler gets each attempt's :class:`~volcspeech.HttpRequest` (its body
    is produced as bytes with ``request.read_body()``) and returns an
    :class:`~volcspeech.HttpResponse`, or raises a volcspeech error, e.g.
    :class:`~volcspeech.errors.TransportError` to play a dropped connection.
    Retries, validation and error mapping run exactly as with ``requests``.

    An ``async def`` handler makes an async transport (``is_async`` is true),
    for :class:`~volcspeech.asr.AsyncAsrClient` and
    :class:`~volcspeech.rtc.AsyncRtcClient`; a sync client refuses it.

    Args:
        handler: ``HttpRequest -> HttpResponse``, or an ``async def`` one.

    Attributes:
        requests: every request received, in order (thread-safe to read after the calls).
        is_async: whether calling the transport gives an awaitable.

    Example:
        >>> from volcspeech import HttpResponse
        >>> transport = MockTransport(lambda request: HttpResponse(503))
    """

    def __init__(self, handler: Handler) -> None:
        if not callable(handler):
            raise errors.ConfigurationError(
                f"handler must be a callable, got {type(handler).__name__}"
            )
        self._handler = handler
        self._lock = threading.Lock()
        self.requests: list[HttpRequest] = []
        self.is_async: bool = is_async_callable(handler)

    def __call__(self, request: HttpRequest) -> Any:
        with self._lock:
            self.requests.append(request)
        if self.is_async:
            return self._call_async(request)
        return _checked(self._handler(request))

    async def _call_async(self, request: HttpRequest) -> HttpResponse:
        result: Any = self._handler(request)
        return _checked(await result)

    def __repr__(self) -> str:
        kind = "async " if self.is_async else ""
        return f"<MockTransport {kind}{len(self.requests)} requests>"


def _checked(response: Any) -> HttpResponse:
    if not isinstance(response, HttpResponse):
        raise errors.ConfigurationError(
            f"the MockTransport handler returned a {type(response).__name__}, not an HttpResponse"
        )
    return response
