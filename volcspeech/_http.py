"""The ``requests`` transport: one attempt, ``HttpRequest -> HttpResponse``.

The only module of the library that imports ``requests``/``urllib3``:

* one ``requests.Session`` per client (injectable), pooled; the pool grows to
  the number of threads using it at once, so a shared client never discards
  connections ("Connection pool is full");
* connect and read timeouts always set, and the request's ``deadline``
  enforced for the whole attempt — connect, upload, headers and body — by a
  watchdog that shuts the socket down, so a trickling server cannot extend it;
* the answer read with a cap counted after decompression (gzip/deflate are
  decoded in bounded steps by ``_answer.AnswerBody``, shared with the httpx
  transport), and checked against ``Content-Length`` so a cut-off body is a
  retryable :class:`~volcspeech.errors.TransportError` with any urllib3;
* the one place where ``requests``/``urllib3`` exceptions become volcspeech errors.

Retries are not here: ``volcspeech._transport.send`` runs the loop and
``volcspeech._retry.decide_retry`` decides.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import os
import platform
import socket
import threading
import time
import urllib.parse
from typing import Any

import requests
import requests.adapters
import urllib3
import urllib3.connectionpool
import urllib3.exceptions

from . import errors
from ._answer import ACCEPT_ENCODING, READ_CHUNK, AnswerBody, deadline_passed
from ._log import RedactingFilter, get_logger, redact
from ._messages import DEFAULT_TIMEOUT, Headers, HttpRequest, HttpResponse, Timeout
from ._retry import (
    DEFAULT_ATTEMPTS,
    DEFAULT_RETRY,
    RetryPolicy,
    is_testing,
    parse_retry_after,
    set_testing,
)
from ._version import version

__all__ = [
    "DEFAULT_ATTEMPTS",
    "DEFAULT_POOL_MAXSIZE",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "RedactingFilter",
    "RequestsTransport",
    "RetryPolicy",
    "Session",
    "Timeout",
    "is_testing",
    "parse_retry_after",
    "set_testing",
    "user_agent",
]

logger = get_logger("volcspeech")

#: The session type ``session=`` takes (for type hints outside this module).
Session = requests.Session

#: Connections kept per host at first; the pool grows with the threads using it.
DEFAULT_POOL_MAXSIZE = 32
#: Bytes read from the socket per step.
_READ_CHUNK = READ_CHUNK
#: Encodings we decode ourselves (bounded, in ``_answer``), and so the only ones we accept.
_ACCEPT_ENCODING = ACCEPT_ENCODING


def user_agent() -> str:
    """``volcspeech/<v> python/<v> requests/<v>``."""
    return (
        f"volcspeech/{version()} python/{platform.python_version()} requests/{requests.__version__}"
    )


# --- the deadline watchdog ----------------------------------------------------------


class _Attempt:
    """One attempt's connection, so the watchdog can cut it at the deadline."""

    __slots__ = ("cancelled", "conn", "expired")

    def __init__(self) -> None:
        self.conn: Any = None
        self.expired = False
        self.cancelled = False

    def cut(self) -> None:
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            # The plain-socket shutdown also on TLS sockets: it only wakes
            # the blocked reader or writer; the owner thread closes.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that cuts the connections of attempts past their deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Attempt]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._compact_at = 1024

    def arm(self, deadline: float, attempt: _Attempt) -> None:
        with self._cond:
            if len(self._heap) >= self._compact_at:
                # Finished attempts are dropped lazily; keep the heap near the live ones.
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self._compact_at = max(1024, 2 * len(self._heap))
            heapq.heappush(self._heap, (deadline, next(self._seq), attempt))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="volcspeech-deadline", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, attempt = heapq.heappop(self._heap)
                attempt.expired = True
                attempt.cut()


_watchdog = _Watchdog()
_current = threading.local()


def _reset_after_fork() -> None:
    # A child process has no watchdog thread, and its lock may have been
    # copied while held: start from a fresh one.
    global _watchdog
    _watchdog = _Watchdog()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reset_after_fork)


def _track(conn: Any) -> Any:
    attempt: _Attempt | None = getattr(_current, "attempt", None)
    if attempt is not None:
        attempt.conn = conn
        if attempt.expired:
            attempt.cut()
    return conn


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        return _track(super()._get_conn(timeout))


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        return _track(super()._get_conn(timeout))


_POOL_CLASSES = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(requests.adapters.HTTPAdapter):
    """An adapter whose pools tell the watchdog which connection an attempt uses."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager


def _new_adapter(pool_maxsize: int) -> _Adapter:
    # Retries are ours (they rebuild streams and signatures); urllib3 must not retry.
    return _Adapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)


def _new_session(pool_maxsize: int) -> requests.Session:
    session = requests.Session()
    adapter = _new_adapter(pool_maxsize)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    # requests re-reads proxy and CA-bundle variables on every request (about a
    # fifth of a small request's CPU). For our own session they are read once
    # per host instead (``RequestsTransport._environment``); a caller's session
    # keeps its own settings untouched.
    session.trust_env = False
    return session


# --- errors ---------------------------------------------------------------------------


def _translate(
    exc: BaseException, request: HttpRequest, log_id: str | None
) -> errors.VolcSpeechError:
    """The one boundary where ``requests``/``urllib3`` errors become volcspeech errors."""
    name = type(exc).__name__
    rid = request.request_id
    if isinstance(
        exc,
        (requests.Timeout, urllib3.exceptions.TimeoutError, socket.timeout),
    ):
        return errors.TimeoutError(f"{name}: the request timed out", request_id=rid, log_id=log_id)
    if isinstance(
        exc,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ),
    ):
        return errors.ConfigurationError(f"invalid endpoint URL ({name})")
    if isinstance(exc, (requests.exceptions.InvalidHeader, UnicodeError)):
        # Never quote: the value is usually a credential.
        return errors.ConfigurationError(f"a request header cannot be sent ({name})")
    if isinstance(exc, requests.exceptions.SSLError):
        return errors.TransportError(f"TLS error: {name}", request_id=rid, log_id=log_id)
    detail = str(exc.__context__ or exc)
    # urllib3 messages are about sockets and hosts, never credentials; keep them
    # short and pass them through the redactor anyway.
    detail = redact(detail)[:300]
    return errors.TransportError(f"{name}: {detail}", request_id=rid, log_id=log_id)


# --- reading the answer ---------------------------------------------------------------


class RequestsTransport:
    """Sends one :class:`HttpRequest` with ``requests`` and returns the whole :class:`HttpResponse`.

    Args:
        session: a ``requests.Session`` to use (proxies, adapters); a pooled
            one by default. A caller's session is used as it is: its pool is
            not grown, and the deadline is applied through the timeouts and
            between reads (volcspeech's own session also cuts a connection
            that trickles past the deadline).
        pool_maxsize: connections kept per host at first, for volcspeech's own session.
    """

    def __init__(
        self, session: requests.Session | None = None, *, pool_maxsize: int = DEFAULT_POOL_MAXSIZE
    ) -> None:
        if session is not None and not isinstance(session, requests.Session):
            raise errors.ConfigurationError(
                f"session must be a requests.Session, got {type(session).__name__}"
            )
        self.session = session if session is not None else _new_session(pool_maxsize)
        self._owns_session = session is None
        self._pool_maxsize = pool_maxsize
        self._user_agent = user_agent()
        self._env_cache: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._in_flight = 0
        self._retired: list[Any] = []

    @property
    def pool_maxsize(self) -> int:
        """Connections kept per host now."""
        return self._pool_maxsize

    def ensure_pool(self, size: int) -> None:
        """Grow the connection pool of volcspeech's own session to at least ``size``."""
        if not self._owns_session:
            return
        with self._lock:
            self._grow(size)

    def _grow(self, size: int) -> None:
        if size <= self._pool_maxsize:
            return
        adapter = _new_adapter(size)
        old = self.session.adapters
        # A new mapping swapped in at once: other threads may be looking up an
        # adapter in the old one right now (``Session.mount`` edits it in place).
        self.session.adapters = collections.OrderedDict(
            (prefix, adapter if prefix in ("https://", "http://") else value)
            for prefix, value in old.items()
        )
        # Requests on the old adapter finish normally; it is closed with the client.
        for prefix in ("https://", "http://"):
            retired = old.get(prefix)
            if retired is not None and all(retired is not r for r in self._retired):
                self._retired.append(retired)
        self._pool_maxsize = size
        logger.debug("connection pool grown to %d", size)

    def close(self) -> None:
        """Close the session if volcspeech created it."""
        if self._owns_session:
            self.session.close()
            for adapter in self._retired:
                adapter.close()

    def _environment(self, url: str) -> dict[str, Any]:
        """Proxies, ``verify`` and ``cert`` from the environment for a URL, read once per host."""
        if not self._owns_session:
            return {}
        parts = urllib.parse.urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        cached = self._env_cache.get(key)
        if cached is None:
            with self._lock:
                probe = requests.Session()
                try:
                    found = probe.merge_environment_settings(key + "/", {}, None, None, None)
                finally:
                    probe.close()
                cached = {k: v for k, v in found.items() if k != "stream"}
                self._env_cache[key] = cached
        return cached

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with self._lock:
            self._in_flight += 1
            if self._owns_session and self._in_flight > self._pool_maxsize:
                # Every thread using the client at once keeps its connection.
                self._grow(max(self._in_flight, 2 * self._pool_maxsize))
        try:
            return self._send(request)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _send(self, request: HttpRequest) -> HttpResponse:
        t0 = time.monotonic()
        timeout = request.timeout
        connect, read = timeout.connect, timeout.read
        attempt = _Attempt()
        if request.deadline is not None:
            remaining = request.deadline - t0
            if remaining <= 0:
                raise _deadline(request, None)
            connect, read = min(connect, remaining), min(read, remaining)
            _watchdog.arm(request.deadline, attempt)
        headers = {"User-Agent": self._user_agent, "Accept-Encoding": _ACCEPT_ENCODING}
        headers.update(request.headers)
        body: Any = request.body if len(request.body) else None
        response: requests.Response | None = None
        _current.attempt = attempt
        try:
            try:
                response = self.session.request(
                    request.method,
                    request.url,
                    data=body,
                    headers=headers,
                    timeout=(connect, read),
                    allow_redirects=False,
                    # The body is read below, with a cap: a body that breaks
                    # off then still has its headers (and log id) at hand.
                    stream=True,
                    **self._environment(request.url),
                )
                content = self._read_body(response, request, attempt)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                log_id = _log_id(response, request)
                if attempt.expired:
                    raise _deadline(request, log_id) from None
                raise _translate(exc, request, log_id) from None
            finally:
                if response is not None:
                    response.close()
        finally:
            _current.attempt = None
            attempt.cancelled = True
        assert response is not None
        return HttpResponse(
            status=response.status_code,
            headers=Headers(response.headers.items()),
            body=content,
            elapsed=time.monotonic() - t0,
        )

    def _read_body(
        self, response: requests.Response, request: HttpRequest, attempt: _Attempt
    ) -> bytes:
        body = AnswerBody(request, response.status_code, response.headers)
        raw = response.raw
        while True:
            if request.deadline is not None and time.monotonic() >= request.deadline:
                attempt.expired = True
                raise _deadline(request, body.log_id)
            data = raw.read(_READ_CHUNK, decode_content=False)
            if not data:
                break
            body.feed(data)
        return body.finish()


def _log_id(response: requests.Response | None, request: HttpRequest) -> str | None:
    if response is None or request.log_id_header is None:
        return None
    return response.headers.get(request.log_id_header) or None


def _deadline(request: HttpRequest, log_id: str | None) -> errors.TimeoutError:
    return deadline_passed(request, log_id)
