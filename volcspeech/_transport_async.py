"""The asynchronous retry loop: the twin of ``_transport.send`` with ``await``.

An *async transport* is any callable ``HttpRequest -> Awaitable[HttpResponse]``
that makes one attempt (``volcspeech._http_async.HttpxTransport`` for httpx;
``volcspeech.testing.MockTransport`` with an async handler for tests).
:func:`send` stamps, logs, decides and raises through the same
:class:`~volcspeech._transport.CallState` as the sync loop, so every
decision, log line and error is the same; it only awaits the transport and
sleeps with ``asyncio.sleep``. No HTTP library is imported here.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable
from typing import Any, Callable, TypeVar, Union

from . import errors
from ._messages import HttpRequest, HttpResponse
from ._retry import is_testing
from ._transport import CallSettings, CallState

__all__ = ["AsyncTransport", "send", "sleep"]

T = TypeVar("T")

#: What an async client accepts as ``transport=``: one attempt, awaited.
AsyncTransport = Callable[[HttpRequest], Union[Awaitable[HttpResponse], HttpResponse]]


async def sleep(seconds: float) -> None:
    """``asyncio.sleep`` unless :func:`volcspeech.testing.set_testing` switched sleeping off."""
    if not is_testing() and seconds > 0:
        await asyncio.sleep(seconds)


async def _attempt(transport: AsyncTransport, request: HttpRequest) -> HttpResponse:
    result: Any = transport(request)
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, HttpResponse):
        raise errors.ConfigurationError(
            f"the transport returned a {type(result).__name__}, not an HttpResponse"
        )
    return result


async def send(
    transport: AsyncTransport,
    build: Callable[[], Awaitable[HttpRequest]],
    read: Callable[[HttpResponse], T],
    *,
    settings: CallSettings,
    request_id: str | None = None,
    operation: str = "request",
    can_replay: Callable[[], bool] = lambda: True,
) -> T:
    """Run one call: ``build`` → transport → ``read``, with retries, within the deadline.

    Args:
        transport: makes one attempt (its result is awaited).
        build: makes the request of one attempt (awaited: an RTC attempt
            waits for its rate-limit slot); called again for each retry.
        read: the service's reader (pure).
        settings: timeouts, retry policy, deadline, answer cap, log-id header.
        request_id: the call's id, for logs and transport errors.
        operation: a short name for log lines.
        can_replay: whether the body can be produced again for a retry.

    Returns:
        What ``read`` returns.

    Raises:
        VolcSpeechError: the last error; never an HTTP library's.
    """
    state = CallState(settings, request_id=request_id, operation=operation, can_replay=can_replay)
    while True:
        request = state.stamp(await build())
        t0 = time.monotonic()
        try:
            response = await _attempt(transport, request)
        except Exception as exc:  # typed by the transport, or wrapped by failed()
            error = state.failed(exc, t0)
        else:
            state.answered(request, response, t0)
            try:
                return read(response)
            except errors.VolcSpeechError as exc:
                error = exc
        await sleep(state.next_wait(error))
