"""The emulator's HTTP plumbing: a WSGI application that records and injects faults.

The WSGI application (:class:`EmulatorApp`) dispatches each request to the
first registered service that claims it (the ASR route, the RTC OpenAPI, the
segment storage). Services only implement :class:`~._protocol.Service`;
recording and fault injection happen here, the same way for all of them. The
threaded server classes below serve it on loopback.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

import attrs

from .._log import get_logger
from ._protocol import EmulatorRequest, EmulatorResponse, Fault, Service

if TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["EmulatorApp", "FaultQueue", "RecordedRequest", "Server", "ServerRequestHandler"]

logger = get_logger("volcspeech.testing")

#: Keep at most this many body bytes of each recorded request.
RECORD_BODY_LIMIT = 1 << 20


class FaultQueue:
    """Thread-safe list of pending faults; the first match is used and counted down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[list[Any]] = []  # [fault, remaining]
        self.injected = 0

    def add(self, fault: Fault) -> Fault:
        """Queue a fault."""
        with self._lock:
            self._faults.append([fault, fault.times])
        return fault

    def take(self, service: str, action: str | None) -> Fault | None:
        """Return and count down the first fault matching this request, if any."""
        with self._lock:
            for entry in self._faults:
                fault, remaining = entry
                if remaining <= 0:
                    continue
                if fault.service not in ("any", service):
                    continue
                if fault.action is not None and fault.action != action:
                    continue
                entry[1] -= 1
                self.injected += 1
                return fault  # type: ignore[no-any-return]
        return None

    def pending(self) -> int:
        """How many injections are still queued."""
        with self._lock:
            return sum(max(0, e[1]) for e in self._faults)

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()


@attrs.frozen(repr=False)
class RecordedRequest:
    """A request the emulator received (headers may hold the fake test credentials)."""

    service: str
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    body_size: int
    status: int
    code: Union[int, str, None]
    fault: Fault | None
    time: float

    @property
    def action(self) -> str | None:
        """The RTC ``Action`` query parameter, if any."""
        return self.query.get("Action")

    def __repr__(self) -> str:
        return (
            f"RecordedRequest({self.service} {self.method} {self.path} action={self.action!r} "
            f"status={self.status} code={self.code!r} body_size={self.body_size})"
        )


class _ChunkedInput:
    """Decodes a ``Transfer-Encoding: chunked`` request body (wsgiref does not)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._chunk_left = 0
        self._done = False

    def read(self, size: int) -> bytes:
        if self._done:
            return b""
        if self._chunk_left == 0:
            line = self._raw.readline(1024)
            try:
                self._chunk_left = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                self._chunk_left = 0
            if self._chunk_left == 0:
                # Last chunk: skip trailers up to the empty line.
                while self._raw.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                self._done = True
                return b""
        data: bytes = self._raw.read(min(size, self._chunk_left))
        self._chunk_left -= len(data)
        if not data:
            self._done = True
        elif self._chunk_left == 0:
            self._raw.readline(16)  # the CRLF after each chunk
        return data


#: Stands for "read until the body ends" for chunked bodies.
_UNBOUNDED = 1 << 62


class _RecordingInput(io.RawIOBase):
    """Wraps ``wsgi.input``: limits reads to Content-Length and keeps the first MiB."""

    def __init__(self, raw: Any, length: int) -> None:
        self._raw = raw
        self._left = length
        self.size = 0
        self.kept = bytearray()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        want = min(len(buffer), self._left)
        data = self._raw.read(want)
        if not data:
            self._left = 0
            return 0
        n = len(data)
        buffer[:n] = data
        self._left -= n
        self.size += n
        room = RECORD_BODY_LIMIT - len(self.kept)
        if room > 0:
            self.kept += data[:room]
        return n

    def drain(self) -> None:
        while self.read(1 << 16):
            pass


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class _Dropped(Exception):
    """The app reset the connection on purpose."""


def _reset(environ: Mapping[str, Any]) -> None:
    sock: socket.socket | None = environ.get("volcspeech.socket")
    if sock is None:  # pragma: no cover - only under a foreign WSGI server
        raise _Dropped()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Detach so the handler's later writes fail on a closed object instead
        # of touching a file descriptor number the OS may reuse.
        os.close(sock.detach())
    except OSError:  # pragma: no cover - already gone
        pass
    raise _Dropped()


class EmulatorApp:
    """The WSGI application: dispatch, recording and faults for every service.

    Args:
        services: the services, asked in order.
    """

    def __init__(self, services: Sequence[Service] = ()) -> None:
        self.services: list[Service] = list(services)
        self.faults = FaultQueue()
        self._log_lock = threading.Lock()
        self.requests: list[RecordedRequest] = []

    def _record(
        self,
        service: str,
        req: EmulatorRequest,
        raw: _RecordingInput,
        status: int,
        code: Union[int, str, None],
        fault: Fault | None,
    ) -> None:
        entry = RecordedRequest(
            service=service,
            method=req.method,
            path=req.path,
            query=dict(req.query),
            headers=dict(req.headers),
            body=bytes(raw.kept),
            body_size=raw.size,
            status=status,
            code=code,
            fault=fault,
            time=time.time(),
        )
        with self._log_lock:
            self.requests.append(entry)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            raw = _RecordingInput(_ChunkedInput(environ["wsgi.input"]), _UNBOUNDED)
        else:
            raw = _RecordingInput(environ["wsgi.input"], length)
        raw_query = environ.get("QUERY_STRING", "")
        pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = environ["CONTENT_LENGTH"]
        req = EmulatorRequest(
            method=environ["REQUEST_METHOD"],
            path=urllib.parse.unquote(environ.get("PATH_INFO", "/")) or "/",
            query=dict(pairs),
            query_pairs=pairs,
            raw_query=raw_query,
            headers=headers,
            body=io.BufferedReader(raw, buffer_size=1 << 16),
            environ=environ,
        )
        service = next((s for s in self.services if s.claims(req)), None)
        name = service.name if service is not None else "none"
        fault = self.faults.take(name, req.query.get("Action"))
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.drop:
            self._record(name, req, raw, 0, fault.code, fault)
            _reset(environ)
        if service is None:
            response = EmulatorResponse.json(404, {"error": f"no emulated service at {req.path}"})
        elif fault is not None and not fault.passthrough:
            raw.drain()
            response = service.fault_response(req, fault)
            if fault.retry_after is not None:
                response.headers.append(("Retry-After", f"{fault.retry_after:g}"))
        else:
            try:
                response = service.handle(req)
            except _Dropped:  # pragma: no cover - a service may reset too
                raise
            except Exception as exc:  # an emulator bug must show up as a 500, loudly
                logger.exception("emulator service %s failed", name)
                response = EmulatorResponse.json(500, {"error": f"emulator bug: {exc!r}"})
        code = response.code if response.code is not None else req.code
        self._record(name, req, raw, response.status, code, fault)
        body = response.body
        if isinstance(body, bytes):
            chunks: Iterable[bytes] = [body]
            size: int | None = len(body)
        else:
            chunks, size = body, None
        out_headers = list(response.headers)
        if fault is not None and fault.truncate:
            full = b"".join(chunks)
            out_headers = [h for h in out_headers if h[0].lower() != "content-length"]
            out_headers.append(("Content-Length", str(len(full) + 100)))
            chunks, size = [full[: len(full) // 2]], None
        elif size is not None and not any(h[0].lower() == "content-length" for h in out_headers):
            out_headers.append(("Content-Length", str(size)))
        status = f"{response.status} {_REASONS.get(response.status, 'Status')}"
        start_response(status, out_headers)
        return chunks


class _QuietServerHandler(ServerHandler):
    def log_exception(self, exc_info: Any) -> None:
        if exc_info and isinstance(exc_info[1], (_Dropped, OSError)):
            return
        super().log_exception(exc_info)  # pragma: no cover

    def handle_error(self) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (_Dropped, OSError)):
            return
        super().handle_error()  # pragma: no cover


class ServerRequestHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("emulator: " + format, *args)

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["volcspeech.socket"] = self.connection
        return environ

    def handle(self) -> None:
        # wsgiref's handle(), with a handler that stays quiet on resets.
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        wfile: Any = self.wfile
        handler = _QuietServerHandler(
            self.rfile, wfile, self.get_stderr(), self.get_environ(), multithread=True
        )
        handler.request_handler = self  # type: ignore[attr-defined]
        with contextlib.suppress(_Dropped, OSError):
            handler.run(self.server.get_app())  # type: ignore[attr-defined]


class Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("emulator connection from %s ended with an error", client_address)
