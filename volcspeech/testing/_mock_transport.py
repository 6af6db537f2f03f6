"""A transport made from a function, for tests: no socket, every request recorded."""

from __future__ import annotations

import threading
from typing import Callable

from .. import errors
from .._messages import HttpRequest, HttpResponse

__all__ = ["MockTransport"]


class MockTransport:
    """Makes a transport from ``handler``: pass it as ``transport=`` to a client.

    The handler gets each attempt's :class:`~volcspeech.HttpRequest` (its body
    is produced as bytes with ``request.read_body()``) and returns an
    :class:`~volcspeech.HttpResponse`, or raises a volcspeech error, e.g.
    :class:`~volcspeech.errors.TransportError` to play a dropped connection.
    Retries, validation and error mapping run exactly as with ``requests``.

    Args:
        handler: ``HttpRequest -> HttpResponse``.

    Attributes:
        requests: every request received, in order (thread-safe to read after the calls).

    Example:
        >>> from volcspeech import HttpResponse
        >>> transport = MockTransport(lambda request: HttpResponse(503))
    """

    def __init__(self, handler: Callable[[HttpRequest], HttpResponse]) -> None:
        if not callable(handler):
            raise errors.ConfigurationError(
                f"handler must be a callable, got {type(handler).__name__}"
            )
        self._handler = handler
        self._lock = threading.Lock()
        self.requests: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with self._lock:
            self.requests.append(request)
        response = self._handler(request)
        if not isinstance(response, HttpResponse):
            raise errors.ConfigurationError(
                f"the MockTransport handler returned a {type(response).__name__}, "
                "not an HttpResponse"
            )
        return response

    def __repr__(self) -> str:
        return f"<MockTransport {len(self.requests)} requests>"
