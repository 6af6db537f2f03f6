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

__all__ = ["CallSettings", "Transport", "check_headers", "deadline_error", "send"]

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


def _attempt(
    transport: Transport,
    request: HttpRequest,
    read: Callable[[HttpResponse], T],
    operation: str,
) -> T:
    t0 = time.monotonic()
    check_headers(request)
    try:
        response = transport(request)
    except errors.VolcSpeechError as exc:
        logger.debug("%s failed after %.3fs: %s", operation, time.monotonic() - t0, exc)
        raise
    except Exception as exc:  # a custom transport's own error: typed, never retried
        detail = redact(f"{type(exc).__name__}: {exc}")[:300]
        raise errors.TransportError(
            f"the transport raised {detail}", request_id=request.request_id, retryable=False
        ) from exc
    logger.debug(
        "%s %s -> HTTP %s in %.3fs request_id=%s log_id=%s",
        operation,
        request.method,
        response.status,
        time.monotonic() - t0,
        request.request_id,
        response.header(request.log_id_header),
    )
    return read(response)


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
    policy = settings.retry
    started = time.monotonic()
    deadline_at = started + settings.deadline
    attempt = 0
    while True:
        attempt += 1
        request = attrs.evolve(
            build(),
            timeout=settings.timeout,
            deadline=deadline_at,
            max_answer_bytes=settings.max_answer_bytes,
            request_id=request_id,
            log_id_header=settings.log_id_header,
        )
        try:
            return _attempt(transport, request, read, operation)
        except errors.VolcSpeechError as exc:
            error: errors.VolcSpeechError = exc
        now = time.monotonic()
        if now >= deadline_at and isinstance(error, errors.TransportError):
            error = deadline_error(settings.deadline, request_id, getattr(error, "log_id", None))
        decision = decide_retry(
            error,
            attempt=attempt,
            elapsed=now - started,
            policy=policy,
            remaining=deadline_at - now,
        )
        if decision.retry and not can_replay():
            logger.debug("not retrying %s: the request body cannot be replayed", operation)
            raise _with_reason(error, _NOT_REPLAYABLE) from None
        if not decision.retry:
            logger.debug(
                "%s %s after %.1fs request_id=%s: %s (%s)",
                "giving up" if decision.exhausted else "not retrying",
                operation,
                now - started,
                request_id,
                error,
                decision.reason,
            )
            raise error from None
        assert decision.wait is not None
        logger.debug(
            "retrying %s in %.2fs (attempt %d of %d, %.1fs elapsed) request_id=%s after %s: %s",
            operation,
            decision.wait,
            attempt + 1,
            policy.attempts,
            now - started,
            request_id,
            type(error).__name__,
            error,
        )
        _retry.sleep(decision.wait)
