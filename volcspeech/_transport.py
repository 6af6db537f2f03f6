"""The transport seam and the synchronous retry loop around it.

A *transport* is any callable ``HttpRequest -> HttpResponse`` that makes one
attempt: it returns the answer whatever its status, or raises a volcspeech
:class:`~volcspeech.errors.TransportError` when there is no whole answer
(``volcspeech._http.RequestsTransport`` for ``requests``;
``volcspeech.testing.MockTransport`` for tests). It knows nothing of a
service's headers or codes.

:func:`send` runs one call: it builds a fresh request per attempt, stamps it
with the per-attempt settings (timeouts, the call's deadline, the answer cap,
the ids), hands it to the transport, gives the answer to the service's reader
and, on failure, asks :func:`volcspeech._retry.decide_retry` what to do.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, TypeVar

import attrs

from . import _retry, errors
from ._log import get_logger, redact
from ._messages import DEFAULT_MAX_ANSWER_BYTES, DEFAULT_TIMEOUT, HttpRequest, HttpResponse, Timeout
from ._retry import DEFAULT_DEADLINE, DEFAULT_RETRY, RetryPolicy, decide_retry

__all__ = [
    "CallSettings",
    "CallState",
    "Transport",
    "check_headers",
    "deadline_error",
    "send",
]

logger = get_logger("volcspeech")

T = TypeVar("T")

#: What a client accepts as ``transport=``: one attempt, ``HttpRequest -> HttpResponse``.
Transport = Callable[[HttpRequest], HttpResponse]

_NOT_REPLAYABLE = (
    " (not retried: the audio came from a non-seekable stream that cannot "
    "be sent again; pass a path, bytes or a seekable file to get retries)"
)


@attrs.frozen
class CallSettings:
    """How one call is sent: resolved from the client's settings and the call's overrides.

    Attributes:
        timeout: each attempt's connect and read timeouts.
        retry: the retry policy.
        deadline: seconds the whole call (every attempt and wait) may take.
        max_answer_bytes: the largest answer body read (decompressed).
        log_id_header: the service's log-id answer header, copied onto transport errors.
    """

    timeout: Timeout = DEFAULT_TIMEOUT
    retry: RetryPolicy = DEFAULT_RETRY
    deadline: float = DEFAULT_DEADLINE
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    log_id_header: str | None = None


def deadline_error(deadline: float, request_id: str | None, log_id: str | None = None) -> Any:
    """The error of a call that ran out of time (a :class:`~volcspeech.errors.TimeoutError`)."""
    return errors.TimeoutError(
        f"the call's deadline of {deadline:g}s passed", request_id=request_id, log_id=log_id
    )


def _with_reason(exc: errors.VolcSpeechError, reason: str) -> errors.VolcSpeechError:
    """A copy of ``exc`` whose message ends with ``reason`` (same class and fields)."""
    reduced: Any = exc.__reduce__()
    rebuild, args = reduced[0], reduced[1]
    new = rebuild(args[0], args[1] + reason, *args[2:])
    assert isinstance(new, errors.VolcSpeechError)
    return new


_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def check_headers(request: HttpRequest) -> None:
    """Refuse, before any traffic, a header HTTP cannot carry; the value is never quoted.

    A stray newline or space in a key read from a file is the usual cause; a
    library would raise quoting the value (a credential), and retrying cannot help.

    Raises:
        ConfigurationError: naming the header, not its value.
    """
    for name, value in request.headers.items():
        if not _HEADER_NAME.match(str(name)):
            raise errors.ConfigurationError(f"a request header name is not an HTTP token: {name!r}")
        problem = None
        value = value if isinstance(value, str) else str(value)
        if any(c in value for c in "\r\n\x00"):
            problem = "contains a line break or NUL"
        elif value[:1].isspace() or value[-1:].isspace():
            problem = "starts or ends with whitespace"
        else:
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                problem = "has characters outside Latin-1"
        if problem:
            raise errors.ConfigurationError(
                f"the {name} header {problem}; check the setting it is built from "
                "(the value is not shown)"
            )


class CallState:
    """The bookkeeping of one call, shared by the sync loop and any async twin of it.

    An async client writes the same loop with ``await transport(request)`` and
    ``await asyncio.sleep(state.next_wait(error))``; every decision, log line
    and error stays the same.

    Args:
        settings: the call's settings.
        request_id: the call's id, for logs and transport errors.
        operation: a short name for log lines.
        can_replay: whether the body can be produced again for a retry.
    """

    def __init__(
        self,
        settings: CallSettings,
        *,
        request_id: str | None = None,
        operation: str = "request",
        can_replay: Callable[[], bool] = lambda: True,
    ) -> None:
        self.settings = settings
        self.request_id = request_id
        self.operation = operation
        self._can_replay = can_replay
        self.started = time.monotonic()
        self.deadline_at = self.started + settings.deadline
        self.attempt = 0

    def stamp(self, request: HttpRequest) -> HttpRequest:
        """The next attempt's request, with the call's settings; checks its headers.

        Raises:
            ConfigurationError: a header cannot be sent (never retried).
        """
        self.attempt += 1
        stamped = attrs.evolve(
            request,
            timeout=self.settings.timeout,
            deadline=self.deadline_at,
            max_answer_bytes=self.settings.max_answer_bytes,
            request_id=self.request_id,
            log_id_header=self.settings.log_id_header,
        )
        check_headers(stamped)
        return stamped

    def answered(self, request: HttpRequest, response: HttpResponse, t0: float) -> None:
        """Log one answer (the DEBUG line per request)."""
        logger.debug(
            "%s %s -> HTTP %s in %.3fs request_id=%s log_id=%s",
            self.operation,
            request.method,
            response.status,
            time.monotonic() - t0,
            request.request_id,
            response.header(request.log_id_header),
        )

    def failed(self, exc: BaseException, t0: float) -> errors.VolcSpeechError:
        """The volcspeech error for what a transport raised (a foreign one: never retried)."""
        if isinstance(exc, errors.VolcSpeechError):
            logger.debug("%s failed after %.3fs: %s", self.operation, time.monotonic() - t0, exc)
            return exc
        detail = redact(f"{type(exc).__name__}: {exc}")[:300]
        error = errors.TransportError(
            f"the transport raised {detail}", request_id=self.request_id, retryable=False
        )
        error.__cause__ = exc
        return error

    def next_wait(self, error: errors.VolcSpeechError) -> float:
        """Seconds to wait before the next attempt, or raise the call's final error."""
        now = time.monotonic()
        if now >= self.deadline_at and isinstance(error, errors.TransportError):
            error = deadline_error(self.settings.deadline, self.request_id, error.log_id)
        policy = self.settings.retry
        decision = decide_retry(
            error,
            attempt=self.attempt,
            elapsed=now - self.started,
            policy=policy,
            remaining=self.deadline_at - now,
        )
        if decision.retry and not self._can_replay():
            logger.debug("not retrying %s: the request body cannot be replayed", self.operation)
            raise _with_reason(error, _NOT_REPLAYABLE) from None
        if decision.wait is None:
            logger.debug(
                "%s %s after %.1fs request_id=%s: %s (%s)",
                "giving up" if decision.exhausted else "not retrying",
                self.operation,
                now - self.started,
                self.request_id,
                error,
                decision.reason,
            )
            raise error from error.__cause__
        logger.debug(
            "retrying %s in %.2fs (attempt %d of %d, %.1fs elapsed) request_id=%s after %s: %s",
            self.operation,
            decision.wait,
            self.attempt + 1,
            policy.attempts,
            now - self.started,
            self.request_id,
            type(error).__name__,
            error,
        )
        return decision.wait


def send(
    transport: Transport,
    build: Callable[[], HttpRequest],
    read: Callable[[HttpResponse], T],
    *,
    settings: CallSettings,
    request_id: str | None = None,
    operation: str = "request",
    can_replay: Callable[[], bool] = lambda: True,
) -> T:
    """Run one call: ``build`` → transport → ``read``, with retries, within the deadline.

    Args:
        transport: makes one attempt.
        build: makes the request of one attempt; called again for each retry
            (fresh signature, fresh body stream).
        read: the service's reader; returns the result or raises a typed
            error whose ``retryable`` decides.
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
        request = state.stamp(build())
        t0 = time.monotonic()
        try:
            response = transport(request)
        except Exception as exc:  # typed by the transport, or wrapped by failed()
            error = state.failed(exc, t0)
        else:
            state.answered(request, response, t0)
            try:
                return read(response)
            except errors.VolcSpeechError as exc:
                error = exc
        _retry.sleep(state.next_wait(error))
