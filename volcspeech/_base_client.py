"""What every client shares: settings, the transport, lifecycle and URL checks.

A service client (``AsrClient``, ``RtcClient``) subclasses :class:`BaseClient`
and keeps only its operations: each operation is a pure builder
(``HttpRequest``) and a pure reader (``HttpResponse`` -> result), handed to
:meth:`BaseClient._send`, which runs them through the transport with the
client's timeouts, retry policy, deadline and answer cap.
"""

from __future__ import annotations

import inspect
import math
import urllib.parse
from typing import Any, Callable, ClassVar, TypeVar, Union

from . import _transport, _worker_cache
from ._log import redact_exception, remember_secret
from ._messages import DEFAULT_MAX_ANSWER_BYTES, HttpRequest, HttpResponse, Timeout
from ._retry import DEFAULT_DEADLINE, RetryPolicy
from ._transport import CallSettings, Transport
from .errors import ClientClosedError, ConfigurationError, VolcSpeechError

__all__ = [
    "BaseClient",
    "TimeoutLike",
    "check_base_url",
    "display_url",
    "is_async_callable",
]

T = TypeVar("T")

TimeoutLike = Union[Timeout, float, tuple[float, float], None]


def display_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for reprs and messages)."""
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.password is None and "@" not in parts.netloc:
            return url
        host = parts.netloc.rpartition("@")[2]
        user = parts.username or ""
        return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return "<malformed URL>"


def check_base_url(url: Any, field: str = "endpoint", *, allow_userinfo: bool = True) -> str:
    """Return ``url`` if it is an ``http(s)://`` URL with a host and no query or fragment.

    Raises:
        ConfigurationError: naming ``field``; a password in the URL is never quoted.
    """
    if not isinstance(url, str) or not url:
        raise ConfigurationError(
            f"{field} must be a string URL (http:// or https://), got {type(url).__name__}"
        )
    try:
        parts = urllib.parse.urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ConfigurationError(
            f"{field} is not a valid URL: {display_url(url)[:100]!r}"
        ) from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise ConfigurationError(
            f"{field} must be an http:// or https:// URL with a host, "
            f"got {display_url(url)[:100]!r}"
        )
    if not allow_userinfo and (parts.username is not None or parts.password is not None):
        raise ConfigurationError(f"{field} must not contain a user name or password")
    if parts.password:
        remember_secret(urllib.parse.unquote(parts.password))  # masked in logs and errors
        remember_secret(parts.password)
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{field} must not contain a query or fragment")
    if any(c in url for c in "\x00\r\n\t "):
        raise ConfigurationError(f"{field} must not contain spaces or control characters")
    return url


def is_async_callable(value: Any) -> bool:
    """Whether calling ``value`` gives an awaitable.

    True for a coroutine function, an object with an ``async def __call__``, and
    one marked ``is_async = True`` (an async ``MockTransport``).
    """
    return (
        getattr(value, "is_async", False) is True
        or inspect.iscoroutinefunction(value)
        or (callable(value) and inspect.iscoroutinefunction(type(value).__call__))
    )


def _check_deadline(value: Any) -> float:
    if value is None:
        return DEFAULT_DEADLINE
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(f"deadline must be a positive number of seconds, got {value!r}")
    return float(value)


def _check_cap(value: Any) -> int:
    if value is None:
        return DEFAULT_MAX_ANSWER_BYTES
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"max_answer_bytes must be an int >= 1, got {value!r}")
    return value


class BaseClient:
    """The shared half of a service client (not used directly).

    Args:
        timeout: per-attempt timeouts: seconds, a ``(connect, read)`` pair or a
            :class:`~volcspeech.Timeout`.
        max_retries: retries after the first attempt.
        retry: a whole :class:`~volcspeech.RetryPolicy` instead of ``max_retries``.
        deadline: seconds one call may take in all, across its attempts and
            waits; 600 by default.
        max_answer_bytes: the largest answer read (after decompression).
        session: a ``requests.Session`` for the default transport.
        transport: any callable ``HttpRequest -> HttpResponse`` instead of ``requests``.
        allow_pickling_secrets: let a client given literal keys pickle *with*
            them (unsafe: anyone who sees the pickle has the keys).

    A client pickles as its configuration and a credential source, never
    its keys: see :meth:`__reduce__`.
    """

    #: The answer header holding the server's log id, copied onto transport errors.
    log_id_header: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        timeout: TimeoutLike = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
        max_answer_bytes: int | None = None,
        session: Any = None,
        transport: Transport | None = None,
        allow_pickling_secrets: bool = False,
    ) -> None:
        if not isinstance(allow_pickling_secrets, bool):
            raise ConfigurationError(
                f"allow_pickling_secrets must be True or False, got {allow_pickling_secrets!r}"
            )
        self._allow_pickling_secrets = allow_pickling_secrets
        self._custom_http = session is not None or transport is not None
        self._timeout = Timeout.coerce(timeout)
        self._retry = RetryPolicy.resolve(max_retries, retry)
        self._deadline = _check_deadline(deadline)
        self._max_answer_bytes = _check_cap(max_answer_bytes)
        self._closed = False
        if transport is not None:
            if session is not None:
                raise ConfigurationError("pass session or transport, not both")
            if not callable(transport):
                raise ConfigurationError(
                    "transport must be a callable taking an HttpRequest and returning an "
                    f"HttpResponse, got {type(transport).__name__}"
                )
            if is_async_callable(transport):
                raise ConfigurationError(
                    f"transport is asynchronous; use it with the async client "
                    f"(Async{type(self).__name__}), or pass a synchronous one"
                )
            self._http: Any = transport
            self._owns_transport = False
        else:
            from ._http import RequestsTransport

            self._http = RequestsTransport(session)
            self._owns_transport = True

    # --- lifecycle -------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP session if volcspeech created it; later calls raise."""
        if self._closed:
            return
        self._closed = True
        if self._owns_transport:
            self._http.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __enter__(self: Any) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError(
                f"this {type(self).__name__} is closed; make a new one (or use it inside "
                "its `with` block)"
            )

    # --- pickling ---------------------------------------------------------------

    def __reduce__(self) -> Any:
        """Pickle as configuration plus a credential source; never as keys.

        The receiving process rebuilds the client (once per configuration and
        process, see ``volcspeech._worker_cache``) without reading any
        credential; its first request does.

        Raises:
            ConfigurationError: the client was given literal keys (without
                ``allow_pickling_secrets=True``), a credential provider that
                does not pickle, or a ``session=`` / ``transport=`` (live
                objects that cannot travel to another process).
        """
        name = type(self).__name__
        if self._custom_http:
            raise ConfigurationError(
                f"this {name} was given session= or transport=, which cannot travel to "
                "another process, so it does not pickle; give the client to process pools "
                f"and Dask without them (build a {name} with the same settings in each worker "
                "if you need them there)"
            )
        config = self._pickle_config()
        config.update(
            timeout=self._timeout,
            retry=self._retry,
            deadline=self._deadline,
            max_answer_bytes=self._max_answer_bytes,
        )
        if self._allow_pickling_secrets:
            config["allow_pickling_secrets"] = True
        return (_worker_cache.rebuild, (type(self), config))

    def _pickle_config(self) -> dict[str, Any]:
        """The service's own settings and credential source (raising for literal keys)."""
        raise ConfigurationError(f"{type(self).__name__} does not pickle")

    # --- settings --------------------------------------------------------------

    @property
    def retry_policy(self) -> RetryPolicy:
        """The client's retry policy."""
        return self._retry

    def _settings(self, timeout: TimeoutLike = None, deadline: float | None = None) -> CallSettings:
        return CallSettings(
            timeout=self._timeout if timeout is None else Timeout.coerce(timeout),
            retry=self._retry,
            deadline=self._deadline if deadline is None else _check_deadline(deadline),
            max_answer_bytes=self._max_answer_bytes,
            log_id_header=self.log_id_header,
        )

    def _ensure_pool(self, size: int) -> None:
        """Grow the default transport's connection pool to ``size`` connections."""
        grow = getattr(self._http, "ensure_pool", None)
        if self._owns_transport and grow is not None:
            grow(size)

    # --- sending ---------------------------------------------------------------

    def _send(
        self,
        build: Callable[[], HttpRequest],
        read: Callable[[HttpResponse], T],
        *,
        settings: CallSettings,
        request_id: str | None,
        operation: str,
        can_replay: Callable[[], bool] = lambda: True,
    ) -> T:
        self._check_open()
        try:
            return _transport.send(
                self._http,
                build,
                read,
                settings=settings,
                request_id=request_id,
                operation=operation,
                can_replay=can_replay,
            )
        except VolcSpeechError as exc:
            redact_exception(exc)  # a server may have echoed a key into the message
            raise
