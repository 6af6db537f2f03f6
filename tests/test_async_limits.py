"""Hostile servers on 127.0.0.1 against the httpx transport: the call deadline, the answer
cap, cut-off bodies, cancellation that leaks nothing, and the upload read off the loop."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from test_transport_limits import (
    OK_BODY,
    RawServer,
    _answer,
    _read_request,
    _start,
    trickle_body,
    trickle_headers,
)

from volcspeech import HttpRequest, errors
from volcspeech._http_async import INLINE_BODY_BYTES, HttpxTransport
from volcspeech._messages import StreamBody
from volcspeech.asr import AsyncAsrClient
from volcspeech.rtc import AsyncRtcClient
from volcspeech.testing import set_testing

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """The async tests run on asyncio (the library's loop)."""
    return "asyncio"


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    """Starts raw-socket servers on 127.0.0.1; closes them after the test."""
    servers: list[RawServer] = []

    def make(script: Callable[[socket.socket, threading.Event], None]) -> RawServer:
        server = RawServer(script)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def wav(path: Path, size: int) -> Path:
    """A valid 16 kHz mono WAV of ``size`` bytes (silence)."""
    data = size - 44
    header = b"RIFF" + struct.pack("<I", size - 8) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    header += b"data" + struct.pack("<I", data)
    with path.open("wb") as f:
        f.write(header)
        f.truncate(size)
    return path


def open_fds_to(path: Path) -> int:
    """How many of this process's file descriptors point at ``path``."""
    target = str(path.resolve())
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                count += 1
        except OSError:
            continue
    return count


async def timed(call: Callable[[], Any]) -> tuple[BaseException | None, float]:
    t0 = time.monotonic()
    try:
        await call()
    except errors.VolcSpeechError as exc:
        return exc, time.monotonic() - t0
    return None, time.monotonic() - t0


# --- the deadline ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("script", [trickle_headers, trickle_body], ids=["headers", "body"])
async def test_a_trickling_server_cannot_extend_the_deadline(
    raw_server: Callable[..., RawServer], script: Callable[..., None]
) -> None:
    """With 2 s timeouts and retries, a server trickling a byte per 0.3 s is cut at the deadline."""
    server = raw_server(script)
    client = AsyncRtcClient(
        "AK", "SK", endpoint=server.url, timeout=(2, 2), max_retries=3, deadline=1.5
    )
    async with client:
        error, elapsed = await timed(lambda: client.start_segment(_start()))
    assert isinstance(error, errors.TimeoutError)
    assert "deadline" in str(error)
    assert 1.4 <= elapsed < 3.0  # the deadline plus scheduling slack on a busy machine


async def test_a_per_call_deadline_overrides_the_clients(
    raw_server: Callable[..., RawServer],
) -> None:
    """deadline= on one call limits that call, whatever the client's deadline."""
    server = raw_server(trickle_body)
    async with AsyncRtcClient("AK", "SK", endpoint=server.url, timeout=(5, 5), max_retries=0) as c:
        error, elapsed = await timed(lambda: c.start_segment(_start(), deadline=0.5))
    assert isinstance(error, errors.TimeoutError)
    assert elapsed < 2.0


async def test_retries_stop_at_the_deadline(raw_server: Callable[..., RawServer]) -> None:
    """Failing attempts with real backoff end when the deadline comes, not after all attempts."""

    def busy(conn: socket.socket, stop: threading.Event) -> None:
        while _read_request(conn):
            body = b'{"ResponseMetadata": {"Error": {"Code": "InternalError"}}}'
            conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    server = raw_server(busy)
    set_testing(False)
    try:
        client = AsyncRtcClient("AK", "SK", endpoint=server.url, max_retries=100, deadline=0.8)
        async with client:
            error, elapsed = await timed(lambda: client.start_segment(_start()))
    finally:
        set_testing(True)
    assert isinstance(error, errors.ServerError)
    assert elapsed < 1.5


# --- the answer ----------------------------------------------------------------------------------


async def test_an_endless_body_is_cut_at_the_cap(raw_server: Callable[..., RawServer]) -> None:
    """An answer that never ends raises ProtocolError once the cap is passed."""

    def endless(conn: socket.socket, stop: threading.Event) -> None:
        block = b"x" * 65536
        while not stop.is_set():
            conn.sendall(b"%x\r\n%s\r\n" % (len(block), block))

    server = raw_server(_answer(b"Transfer-Encoding: chunked\r\n", endless))
    async with AsyncRtcClient("AK", "SK", endpoint=server.url, max_answer_bytes=1 << 20) as c:
        with pytest.raises(errors.ProtocolError, match="max_answer_bytes") as info:
            await c.start_segment(_start())
    assert info.value.http_status == 200
    assert not info.value.retryable


async def test_a_gzip_bomb_is_cut_after_decompression(raw_server: Callable[..., RawServer]) -> None:
    """A small gzip body that inflates to 64 MiB is refused at the 1 MiB cap (counted decoded)."""
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    assert len(bomb) < (1 << 20)

    def send(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(bomb)

    headers = b"Content-Encoding: gzip\r\nContent-Length: %d\r\n" % len(bomb)
    server = raw_server(_answer(headers, send))
    async with AsyncRtcClient("AK", "SK", endpoint=server.url, max_answer_bytes=1 << 20) as c:
        with pytest.raises(errors.ProtocolError, match="decompression"):
            await c.start_segment(_start())


async def test_gzip_and_deflate_answers_are_read(raw_server: Callable[..., RawServer]) -> None:
    """Well-formed gzip and deflate answers under the cap are decoded and read."""
    import zlib

    for encoding, packed in (
        (b"gzip", gzip.compress(OK_BODY)),
        (b"deflate", zlib.compress(OK_BODY)),
    ):

        def send(conn: socket.socket, stop: threading.Event, packed: bytes = packed) -> None:
            conn.sendall(packed)

        headers = b"Content-Encoding: %s\r\nContent-Length: %d\r\n" % (encoding, len(packed))
        server = raw_server(_answer(headers, send))
        async with AsyncRtcClient("AK", "SK", endpoint=server.url) as client:
            assert (await client.start_segment(_start())).ok


async def test_an_unreadable_encoding_is_a_protocol_error(
    raw_server: Callable[..., RawServer],
) -> None:
    """An answer in an encoding we did not ask for is refused, not passed on."""

    def send(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"xxxx")

    server = raw_server(_answer(b"Content-Encoding: br\r\nContent-Length: 4\r\n", send))
    async with AsyncRtcClient("AK", "SK", endpoint=server.url) as client:
        with pytest.raises(errors.ProtocolError, match="'br'"):
            await client.start_segment(_start())


async def test_a_cut_off_body_is_a_retried_transport_error(
    raw_server: Callable[..., RawServer],
) -> None:
    """Fewer bytes than Content-Length, then a closed connection: retried, then TransportError."""

    def cut(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(OK_BODY[:10])

    headers = b"Content-Length: %d\r\n" % len(OK_BODY)
    server = raw_server(_answer(headers, cut))
    async with AsyncRtcClient("AK", "SK", endpoint=server.url, max_retries=2) as client:
        with pytest.raises(errors.TransportError) as info:
            await client.start_segment(_start())
    assert info.value.retryable
    assert f"cut off after 10 of {len(OK_BODY)} bytes" in str(info.value)
    assert server.connections == 3


async def test_a_refused_connection_is_a_retried_transport_error() -> None:
    """Nothing listening: a TransportError after every attempt, never an httpx exception."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    async with AsyncRtcClient("AK", "SK", endpoint=f"http://127.0.0.1:{port}", max_retries=1) as c:
        with pytest.raises(errors.TransportError, match="ConnectError") as info:
            await c.start_segment(_start())
    assert info.value.retryable


async def test_repeated_and_latin1_headers_are_read_as_on_the_wire(
    raw_server: Callable[..., RawServer],
) -> None:
    """Header values are Latin-1 as sent; a repeated header is joined like requests does."""
    message = "服务繁忙".encode()

    def script(conn: socket.socket, stop: threading.Event) -> None:
        if _read_request(conn):
            conn.sendall(
                b"HTTP/1.1 503 Busy\r\nX-Api-Status-Code: 55000031\r\nX-Api-Message: "
                + message
                + b"\r\nX-Tt-Logid: L1\r\nX-Dup: a\r\nX-Dup: b\r\nContent-Length: 0\r\n\r\n"
            )

    server = raw_server(script)
    transport = HttpxTransport()
    try:
        response = await transport(HttpRequest("POST", server.url + "/x", body=b"{}"))
    finally:
        await transport.aclose()
    assert response.headers["X-Dup"] == "a, b"
    assert response.headers["X-Api-Message"] == message.decode("latin-1")
    assert response.status == 503


# --- cancellation and the upload --------------------------------------------------------------


def stalls(received: list[int], resume: threading.Event, closed: threading.Event) -> Any:
    """A script that reads 1 MiB of the request, stops reading until ``resume`` (the client's
    upload then blocks on a full socket buffer), then reads on until the client closes."""

    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(0.05)
        total = 0
        while not stop.is_set():
            if total >= (1 << 20) and not resume.is_set():
                time.sleep(0.01)
                continue
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                closed.set()
                return
            total += len(chunk)
            received.append(total)

    return script


@pytest.mark.parametrize("stage", ["uploading", "waiting for the answer"])
async def test_a_cancelled_recognize_closes_its_file_and_connection(
    raw_server: Callable[..., RawServer], tmp_path: Path, stage: str
) -> None:
    """Cancelling recognize() mid-upload or while waiting closes the audio file and the
    connection, and leaves no task behind."""
    received: list[int] = []
    closed = threading.Event()
    resume = threading.Event()
    if stage == "uploading":
        server = raw_server(stalls(received, resume, closed))
        audio = wav(tmp_path / "big.wav", 16 << 20)
    else:

        def silent(conn: socket.socket, stop: threading.Event) -> None:
            if _read_request(conn):
                received.append(1)
                conn.settimeout(0.05)
                while not stop.is_set():
                    try:
                        if conn.recv(1) == b"":
                            break
                    except socket.timeout:
                        continue
            closed.set()

        server = raw_server(silent)
        audio = wav(tmp_path / "small.wav", 64 << 10)
    before = asyncio.all_tasks()
    async with AsyncAsrClient(api_key="k", endpoint=server.url, max_retries=0) as asr:
        task = asyncio.ensure_future(asr.recognize(audio))
        for _ in range(200):
            await asyncio.sleep(0.02)
            if received and (stage != "uploading" or open_fds_to(audio)):
                break
        assert received, "the request never reached the server"
        if stage == "uploading":
            assert open_fds_to(audio) == 1  # the upload is under way, the file open
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert open_fds_to(audio) == 0
        resume.set()
        assert await asyncio.to_thread(closed.wait, 5)  # the server saw the connection close
    assert asyncio.all_tasks() <= before


async def test_the_upload_is_read_and_encoded_off_the_event_loop(
    raw_server: Callable[..., RawServer],
) -> None:
    """Every block of a large streamed body is produced in a worker thread, not on the loop's;
    a small one is sent as bytes at once."""
    threads: list[int] = []
    block = INLINE_BODY_BYTES // 2

    def chunks() -> Iterator[bytes]:
        for _ in range(4):
            threads.append(threading.get_ident())
            yield b"x" * block

    def ok(conn: socket.socket, stop: threading.Event) -> None:
        if _read_request(conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")

    server = raw_server(ok)
    transport = HttpxTransport()
    try:
        body = StreamBody(4 * block, chunks, "test blocks")
        response = await transport(HttpRequest("POST", server.url + "/x", body=body))
        assert response.body == b"ok"
        assert len(threads) == 4
        assert threading.get_ident() not in threads
        threads.clear()
        small = StreamBody(4 * 1000, lambda: [b"y" * 1000] * 4, "small blocks")
        response = await transport(HttpRequest("POST", server.url + "/x", body=small))
        assert response.body == b"ok"
    finally:
        await transport.aclose()


async def test_http_client_of_another_kind_is_refused() -> None:
    """HttpxTransport takes only an httpx.AsyncClient."""
    import httpx

    with httpx.Client() as sync_client, pytest.raises(errors.ConfigurationError):
        HttpxTransport(sync_client)  # type: ignore[arg-type]


async def test_the_deadline_cuts_a_stalled_upload_and_closes_the_file(
    raw_server: Callable[..., RawServer], tmp_path: Path
) -> None:
    """A server that stops reading mid-upload cannot hold the call past its deadline; the
    audio file is closed when the TimeoutError is raised."""
    received: list[int] = []
    server = raw_server(stalls(received, threading.Event(), threading.Event()))
    audio = wav(tmp_path / "big.wav", 16 << 20)
    async with AsyncAsrClient(api_key="k", endpoint=server.url, max_retries=3) as asr:
        error, elapsed = await timed(lambda: asr.recognize(audio, deadline=0.8))
    assert isinstance(error, errors.TimeoutError)
    assert "deadline" in str(error)
    assert elapsed < 2.5
    assert received  # the upload had begun
    assert open_fds_to(audio) == 0


async def test_a_pipe_is_spooled_off_the_loop_and_recognized(tmp_path: Path) -> None:
    """A non-seekable stream is spooled (in a worker thread) and sent whole."""
    from volcspeech import HttpResponse
    from volcspeech.testing import MockTransport, sample_audio

    data = sample_audio("hello.wav").read_bytes()
    bodies: list[bytes] = []

    async def handler(request: HttpRequest) -> HttpResponse:
        bodies.append(request.read_body())
        return HttpResponse(
            200,
            {"X-Api-Status-Code": "20000000"},
            json.dumps({"result": {"text": "hi", "utterances": []}}).encode(),
        )

    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    with os.fdopen(read_fd, "rb") as stream:
        async with AsyncAsrClient(api_key="k", transport=MockTransport(handler)) as asr:
            transcript = await asr.recognize(stream)
    writer.join()
    assert transcript.text == "hi"

    assert base64.b64encode(data) in bodies[0]


async def test_a_tls_failure_is_a_transport_error(raw_server: Callable[..., RawServer]) -> None:
    """An https endpoint answered in plain text is a TLS TransportError, never an ssl exception."""

    def plain(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    server = raw_server(plain)
    endpoint = server.url.replace("http://", "https://")
    async with AsyncRtcClient("AK", "SK", endpoint=endpoint, max_retries=0) as client:
        with pytest.raises(errors.TransportError, match="TLS error"):
            await client.start_segment(_start())


def test_the_async_body_is_encoded_in_small_pieces(tmp_path: Path) -> None:
    """The async client's body encodes 384 KiB of audio per piece (each encoding holds the
    GIL briefly) and joins to the same bytes as the sync client's 3 MiB pieces."""
    from volcspeech.asr import AsrClient, RecognitionOptions
    from volcspeech.asr._async_client import ENCODE_SIZE
    from volcspeech.asr._audio import prepare_audio

    audio = wav(tmp_path / "mid.wav", 7 << 20)
    client = AsrClient(api_key="k", transport=lambda r: pytest.fail("no sending"))
    bodies = []
    for encode_size in (None, ENCODE_SIZE):
        prepared = prepare_audio(audio, {})
        request = client._recognize_request(
            prepared, RecognitionOptions(), "rid", client.resource_id, encode_size
        )
        assert isinstance(request.body, StreamBody)
        pieces = [bytes(p) for p in request.body]
        bodies.append((pieces, len(request.body)))
        assert prepared.source is not None
        prepared.source.close()
    (big, length), (small, same_length) = bodies
    assert length == same_length
    assert b"".join(big) == b"".join(small)
    assert max(len(p) for p in small) == ENCODE_SIZE // 3 * 4
    assert max(len(p) for p in big) == 4 << 20
