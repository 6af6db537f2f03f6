"""The ``httpx`` transport: one attempt, ``HttpRequest -> await HttpResponse``.

The only module of the library that imports ``httpx`` (the ``volcspeech[async]``
extra):

* one ``httpx.AsyncClient`` per client (or the caller's own, never closed here);
* connect, read and write timeouts always set, and the request's ``deadline``
  enforced over the whole attempt — connect, upload, headers and body — by a
  cancel scope, so a trickling server cannot extend it;
* a streamed body (the base64 audio) produced block by block in a worker
  thread, so file reads and encoding never block the event loop, and the
  file is closed when the attempt ends, is cancelled or fails;
* the answer read with the shared :class:`~volcspeech._answer.AnswerBody`:
  the cap counted after decompression, gzip/deflate decoded in bounded steps,
  a cut-off body a retryable :class:`~volcspeech.errors.TransportError`;
* the one place where ``httpx`` exceptions become volcspeech errors.

Retries are not here: ``volcspeech._transport_async.send`` runs the loop on
the shared ``CallState`` and ``decide_retry``.
"""

from __future__ import annotations

import contextlib
import platform
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

try:
    import anyio
    import anyio.to_thread
    import httpx
except ImportError as _exc:  # pragma: no cover - exercised in a fresh interpreter by a test
    raise ImportError(
        "volcspeech's async clients need httpx: pip install 'volcspeech[async]'"
    ) from _exc

# anyio loads its asyncio backend on first use, some 40 ms of imports: load it
# with this module (at start-up), not inside the first request on a running loop.
with contextlib.suppress(ImportError):
    import anyio._backends._asyncio

from . import errors
from ._answer import ACCEPT_ENCODING, AnswerBody, deadline_passed
from ._log import redact
from ._messages import Headers, HttpRequest, HttpResponse, StreamBody
from ._version import version

__all__ = ["DEFAULT_MAX_KEEPALIVE", "INLINE_BODY_BYTES", "HttpxTransport", "user_agent"]

#: Idle connections kept per client (the number of connections is not capped:
#: the caller's concurrency is).
DEFAULT_MAX_KEEPALIVE = 64


def user_agent() -> str:
    """``volcspeech/<v> python/<v> httpx/<v>``."""
    return f"volcspeech/{version()} python/{platform.python_version()} httpx/{httpx.__version__}"


#: A streamed body up to this size is produced whole on the event loop and sent
#: as bytes: reading and encoding it takes well under a millisecond, less than
#: a hop to a worker thread and a send per block.
INLINE_BODY_BYTES = 512 * 1024


class _ThreadedBody:
    """A :class:`StreamBody` as an async iterable whose blocks are produced in a worker thread.

    Each block (a piece of base64 audio) is read and encoded off the event
    loop; :meth:`close` closes the source's generator, and so its file. A
    cancelled task does not wait for its worker thread, so producing a block
    and closing happen under one lock: :meth:`close` waits for the block being
    produced (about a millisecond), and a block asked for after it gets nothing.
    """

    def __init__(self, body: StreamBody) -> None:
        self._body = body
        self._chunks: Iterator[bytes] | None = None
        self._lock = threading.Lock()

    def __aiter__(self) -> AsyncIterator[bytes]:
        self.close()
        with self._lock:
            self._chunks = iter(self._body)
        return self

    def _next(self) -> bytes | None:
        with self._lock:
            if self._chunks is None:
                return None
            chunk = next(self._chunks, None)
        if chunk is None:
            return None
        return chunk if isinstance(chunk, bytes) else bytes(chunk)

    async def __anext__(self) -> bytes:
        chunk = await anyio.to_thread.run_sync(self._next)
        if chunk is None:
            self.close()
            raise StopAsyncIteration
        return chunk

    def close(self) -> None:
        with self._lock:
            chunks, self._chunks = self._chunks, None
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _headers(raw: list[tuple[bytes, bytes]]) -> Headers:
    """The answer's headers as on the wire (Latin-1), repeated ones joined like ``requests``."""
    joined: dict[str, tuple[str, str]] = {}
    for name_b, value_b in raw:
        name, value = name_b.decode("latin-1"), value_b.decode("latin-1")
        key = name.lower()
        if key in joined:
            joined[key] = (joined[key][0], f"{joined[key][1]}, {value}")
        else:
            joined[key] = (name, value)
    return Headers(joined.values())


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``exc`` or an exception in its chain (httpx wraps httpcore's) is a ``kind``."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, kind):
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False


def _translate(
    exc: BaseException, request: HttpRequest, log_id: str | None
) -> errors.VolcSpeechError:
    """The one boundary where ``httpx`` errors become volcspeech errors."""
    name = type(exc).__name__
    rid = request.request_id
    if isinstance(exc, httpx.TimeoutException):
        return errors.TimeoutError(f"{name}: the request timed out", request_id=rid, log_id=log_id)
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return errors.ConfigurationError(f"invalid endpoint URL ({name})")
    if isinstance(exc, (httpx.LocalProtocolError, UnicodeError)):
        # Never quote: the value is usually a credential.
        return errors.ConfigurationError(f"a request header cannot be sent ({name})")
    if _caused_by(exc, ssl.SSLError):
        return errors.TransportError(f"TLS error: {name}", request_id=rid, log_id=log_id)
    # httpx messages are about sockets and hosts, never credentials; keep them
    # short and pass them through the redactor anyway.
    detail = redact(str(exc) or type(exc.__context__).__name__)[:300]
    return errors.TransportError(f"{name}: {detail}", request_id=rid, log_id=log_id)


class HttpxTransport:
    """Sends one :class:`HttpRequest` with ``httpx`` and returns the whole :class:`HttpResponse`.

    Args:
        client: an ``httpx.AsyncClient`` to send with (proxies, certificates,
            mounts); used as it is and never closed here. volcspeech makes
            its own by default and closes it in :meth:`aclose`.
    """

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        if client is not None and not isinstance(client, httpx.AsyncClient):
            raise errors.ConfigurationError(
                f"http_client must be an httpx.AsyncClient, got {type(client).__name__}"
            )
        self._owns_client = client is None
        self.client = (
            client
            if client is not None
            else httpx.AsyncClient(
                limits=httpx.Limits(
                    max_connections=None, max_keepalive_connections=DEFAULT_MAX_KEEPALIVE
                ),
                follow_redirects=False,
            )
        )
        self._user_agent = user_agent()

    async def aclose(self) -> None:
        """Close the ``httpx.AsyncClient`` if volcspeech created it."""
        if self._owns_client:
            await self.client.aclose()

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        t0 = time.monotonic()
        if request.deadline is None:
            return await self._send(request, t0)
        remaining = request.deadline - t0
        if remaining <= 0:
            raise deadline_passed(request, None)
        log: list[str | None] = [None]
        with anyio.move_on_after(remaining) as scope:
            return await self._send(request, t0, log)
        # Only reached when the scope cut the attempt at the deadline.
        assert scope.cancelled_caught
        raise deadline_passed(request, log[0])

    async def _send(
        self, request: HttpRequest, t0: float, log: list[str | None] | None = None
    ) -> HttpResponse:
        timeout = request.timeout
        headers = {"User-Agent": self._user_agent, "Accept-Encoding": ACCEPT_ENCODING}
        headers.update(request.headers)
        stream: _ThreadedBody | None = None
        content: Any = request.body
        if isinstance(content, StreamBody):
            if len(content) <= INLINE_BODY_BYTES:
                content = content.read_all()
            else:
                stream = content = _ThreadedBody(content)
        if stream is not None:
            # Sent with its exact length: httpx then uses no chunked encoding.
            headers["Content-Length"] = str(len(request.body))
        response: httpx.Response | None = None
        body: AnswerBody | None = None
        try:
            try:
                built = self.client.build_request(
                    request.method,
                    request.url,
                    headers=headers,
                    content=content,
                    timeout=httpx.Timeout(
                        connect=timeout.connect,
                        read=timeout.read,
                        write=timeout.read,
                        pool=timeout.connect,
                    ),
                )
                response = await self.client.send(built, stream=True, follow_redirects=False)
                answer_headers = _headers(response.headers.raw)
                body = AnswerBody(request, response.status_code, answer_headers)
                if log is not None:
                    log[0] = body.log_id
                async for data in response.aiter_raw():
                    body.feed(data)
                content = body.finish()
            except errors.VolcSpeechError:
                raise
            except (httpx.HTTPError, httpx.InvalidURL, OSError, UnicodeError) as exc:
                if body is not None:
                    cut = body.cut_off()
                    if cut is not None:
                        raise cut from None
                raise _translate(exc, request, body.log_id if body else None) from None
        finally:
            with anyio.CancelScope(shield=True):
                if response is not None:
                    await response.aclose()
                if stream is not None:
                    stream.close()
        return HttpResponse(
            status=response.status_code,
            headers=answer_headers,
            body=content,
            elapsed=time.monotonic() - t0,
        )
