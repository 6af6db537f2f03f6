"""Hostile servers on 127.0.0.1: the call deadline, the answer cap, cut-off bodies, pool size."""

from __future__ import annotations

import concurrent.futures
import gzip
import http.server
import json
import logging
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from volcspeech import RtcClient, errors
from volcspeech.rtc import StartSegmentRequest, StorageConfig
from volcspeech.testing import set_testing

OK_BODY = json.dumps(
    {"ResponseMetadata": {"RequestId": "REQ1", "Action": "StartSegment"}, "Result": "ok"}
).encode()


def _start() -> StartSegmentRequest:
    return StartSegmentRequest(
        app_id="app",
        room_id="room",
        task_id="t1",
        storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
    )


def _read_request(conn: socket.socket) -> bool:
    """Read one request (headers and Content-Length body); False when the client went away."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        rest += chunk
    return True


class RawServer:
    """A socket server on 127.0.0.1 that runs ``script(conn, stop)`` for each connection."""

    def __init__(self, script: Callable[[socket.socket, threading.Event], None]) -> None:
        self._script = script
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.stop = threading.Event()
        self.connections = 0
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, conn: socket.socket) -> None:
        try:
            self._script(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self._accept.join(2)
        self._sock.close()
        for thread in self._threads:
            thread.join(2)


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def make(script: Callable[[socket.socket, threading.Event], None]) -> RawServer:
        server = RawServer(script)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def trickle_headers(conn: socket.socket, stop: threading.Event) -> None:
    """Status line, then one header byte every 0.3 s, forever."""
    if not _read_request(conn):
        return
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Pad: ")
    while not stop.is_set():
        conn.sendall(b"a")
        time.sleep(0.3)


def trickle_body(conn: socket.socket, stop: threading.Event) -> None:
    """Whole headers announcing a large body, then one body byte every 0.3 s."""
    if not _read_request(conn):
        return
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
    while not stop.is_set():
        conn.sendall(b" ")
        time.sleep(0.3)


def _timed(call: Callable[[], Any]) -> tuple[BaseException | None, float]:
    t0 = time.monotonic()
    try:
        call()
    except errors.VolcSpeechError as exc:
        return exc, time.monotonic() - t0
    return None, time.monotonic() - t0


@pytest.mark.slow
@pytest.mark.parametrize("script", [trickle_headers, trickle_body], ids=["headers", "body"])
def test_a_trickling_server_cannot_extend_the_deadline(
    raw_server: Callable[..., RawServer], script: Callable[..., None]
) -> None:
    """With 2 s timeouts and retries, a server trickling a byte per 0.3 s is cut at the deadline."""
    server = raw_server(script)
    client = RtcClient("AK", "SK", endpoint=server.url, timeout=(2, 2), max_retries=3, deadline=1.5)
    with client:
        error, elapsed = _timed(lambda: client.start_segment(_start()))
    assert isinstance(error, errors.TimeoutError)
    assert "deadline" in str(error)
    assert 1.4 <= elapsed < 3.0  # the deadline plus scheduling slack on a busy machine


@pytest.mark.slow
def test_a_per_call_deadline_overrides_the_clients(raw_server: Callable[..., RawServer]) -> None:
    """deadline= on one call limits that call, whatever the client's deadline."""
    server = raw_server(trickle_body)
    with RtcClient("AK", "SK", endpoint=server.url, timeout=(5, 5), max_retries=0) as client:
        error, elapsed = _timed(lambda: client.start_segment(_start(), deadline=0.8))
    assert isinstance(error, errors.TimeoutError)
    assert elapsed < 2.3


def test_retries_stop_at_the_deadline(raw_server: Callable[..., RawServer]) -> None:
    """Failing attempts with backoff end when the deadline comes, not after all attempts."""

    def busy(conn: socket.socket, stop: threading.Event) -> None:
        while _read_request(conn):
            body = b'{"ResponseMetadata": {"Error": {"Code": "InternalError"}}}'
            conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    server = raw_server(busy)
    set_testing(False)
    try:
        client = RtcClient("AK", "SK", endpoint=server.url, max_retries=100, deadline=0.8)
        with client:
            error, elapsed = _timed(lambda: client.start_segment(_start()))
    finally:
        set_testing(True)
    assert isinstance(error, errors.ServerError)
    assert elapsed < 1.5


def _answer(headers: bytes, body_source: Callable[[socket.socket, threading.Event], None]) -> Any:
    def script(conn: socket.socket, stop: threading.Event) -> None:
        if not _read_request(conn):
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Tt-Logid: LOG-9\r\n" + headers + b"\r\n")
        body_source(conn, stop)

    return script


def test_an_endless_body_is_cut_at_the_cap(raw_server: Callable[..., RawServer]) -> None:
    """An answer that never ends raises ProtocolError once the cap is passed."""

    def endless(conn: socket.socket, stop: threading.Event) -> None:
        block = b"x" * 65536
        while not stop.is_set():
            conn.sendall(b"%x\r\n%s\r\n" % (len(block), block))

    server = raw_server(_answer(b"Transfer-Encoding: chunked\r\n", endless))
    client = RtcClient("AK", "SK", endpoint=server.url, max_answer_bytes=1 << 20)
    with client, pytest.raises(errors.ProtocolError, match="max_answer_bytes") as info:
        client.start_segment(_start())
    assert info.value.http_status == 200
    assert not info.value.retryable


def test_a_gzip_bomb_is_cut_without_inflating(raw_server: Callable[..., RawServer]) -> None:
    """A small gzip body that inflates to 64 MiB is refused after 1 MiB, in bounded memory."""
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    assert len(bomb) < (1 << 20)

    def send(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(bomb)

    headers = b"Content-Encoding: gzip\r\nContent-Length: %d\r\n" % len(bomb)
    server = raw_server(_answer(headers, send))
    client = RtcClient("AK", "SK", endpoint=server.url, max_answer_bytes=1 << 20)
    tracemalloc.start()
    try:
        with client, pytest.raises(errors.ProtocolError, match="decompression"):
            client.start_segment(_start())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_a_gzip_answer_is_read(raw_server: Callable[..., RawServer]) -> None:
    """A well-formed gzip answer under the cap is decoded and read."""
    packed = gzip.compress(OK_BODY)

    def send(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(packed)

    headers = b"Content-Encoding: gzip\r\nContent-Length: %d\r\n" % len(packed)
    server = raw_server(_answer(headers, send))
    with RtcClient("AK", "SK", endpoint=server.url) as client:
        assert client.start_segment(_start()).ok


def test_a_cut_off_body_is_a_retried_transport_error(raw_server: Callable[..., RawServer]) -> None:
    """Fewer bytes than Content-Length, then a closed connection: retried, then TransportError."""

    def cut(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(OK_BODY[:10])

    headers = b"Content-Length: %d\r\n" % len(OK_BODY)
    server = raw_server(_answer(headers, cut))
    client = RtcClient("AK", "SK", endpoint=server.url, max_retries=2)
    with client, pytest.raises(errors.TransportError) as info:
        client.start_segment(_start())
    assert info.value.retryable
    assert "IncompleteRead" in str(info.value) or "cut off" in str(info.value)
    assert server.connections == 3


class _Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(0.02)  # keep the threads overlapping
        self.send_response(200)
        self.send_header("Content-Length", str(len(OK_BODY)))
        self.end_headers()
        self.wfile.write(OK_BODY)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.slow
def test_64_threads_share_one_client_without_discarded_connections(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The pool grows with the threads using the client: no 'Connection pool is full'."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok, bind_and_activate=False)
    server.request_queue_size = 128  # 64 threads connect at once
    server.server_bind()
    server.server_activate()
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    barrier = threading.Barrier(64)
    client = RtcClient("AK", "SK", endpoint=url, rate_limits={"StartSegment": None})

    def work() -> int:
        barrier.wait()
        return sum(client.start_segment(_start()).ok for _ in range(5))

    try:
        pool = concurrent.futures.ThreadPoolExecutor(64)
        with caplog.at_level(logging.WARNING, logger="urllib3"), client, pool:
            done = list(pool.map(lambda _: work(), range(64)))
    finally:
        server.shutdown()
        server.server_close()
    assert sum(done) == 64 * 5
    full = [r for r in caplog.records if "pool is full" in r.getMessage()]
    assert full == []
    assert client._http.pool_maxsize >= 64
    # The smaller adapters it replaced were closed with the client.
    assert client._http._retired
    assert all(len(a.poolmanager.pools) == 0 for a in client._http._retired)


def _deflate_raw(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        (b"deflate", zlib.compress),
        (b"deflate", _deflate_raw),
        (b"gzip", lambda data: gzip.compress(data[:20]) + gzip.compress(data[20:])),
    ],
    ids=["zlib-deflate", "raw-deflate", "two-gzip-members"],
)
def test_deflate_and_multi_member_gzip_answers_are_read(
    raw_server: Callable[..., RawServer], encoding: bytes, pack: Callable[[bytes], bytes]
) -> None:
    """Both deflate forms and a gzip answer of several members decode to the whole answer."""
    packed = pack(OK_BODY)

    def send(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(packed)

    headers = b"Content-Encoding: %s\r\nContent-Length: %d\r\n" % (encoding, len(packed))
    server = raw_server(_answer(headers, send))
    with RtcClient("AK", "SK", endpoint=server.url) as client:
        assert client.start_segment(_start()).request_id == "REQ1"


@pytest.mark.parametrize(
    ("headers", "body", "needle"),
    [
        (b"Content-Encoding: br\r\n", b"xx", "'br'"),
        (b"Content-Encoding: gzip\r\n", b"not gzip at all", "corrupt gzip"),
    ],
)
def test_unreadable_encodings_are_protocol_errors(
    raw_server: Callable[..., RawServer], headers: bytes, body: bytes, needle: str
) -> None:
    """An encoding volcspeech did not ask for, or a corrupt one, is a ProtocolError."""

    def send(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(body)

    server = raw_server(_answer(headers + b"Content-Length: %d\r\n" % len(body), send))
    client = RtcClient("AK", "SK", endpoint=server.url, max_retries=2)
    with client, pytest.raises(errors.ProtocolError, match=needle) as info:
        client.start_segment(_start())
    assert info.value.http_status == 200
    assert server.connections == 1
