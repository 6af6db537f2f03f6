"""Careless inputs: every public constructor and method refuses a bad argument with a
volcspeech error naming it, before any traffic; internal errors never escape bare."""

from __future__ import annotations

import http.server
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volcspeech import AsrClient, RetryPolicy, RtcClient, Timeout, errors
from volcspeech.asr import RecognitionOptions
from volcspeech.rtc import StopSegmentRequest, parse_callback

HELLO = Path(__file__).parent / "fixtures" / "audio" / "hello.wav"

Refusal = tuple[str, Callable[[Any], Any], type[errors.VolcSpeechError], str]


class _NoTraffic:
    """A TCP listener that fails the test if anything connects to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def assert_untouched(self) -> None:
        with pytest.raises(socket.timeout):
            self.sock.accept()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[_NoTraffic]:
    """A local port that must see no connection."""
    server = _NoTraffic()
    try:
        yield server
    finally:
        server.close()


def _asr(url: str, **kwargs: Any) -> AsrClient:
    return AsrClient(api_key="test-api-key", endpoint=url + "/flash", **kwargs)


def _rtc(url: str, **kwargs: Any) -> RtcClient:
    return RtcClient("AKLTtest", "test-secret-key", endpoint=url, **kwargs)


def _recognize(url: str, audio: Any, **kwargs: Any) -> Any:
    with _asr(url, max_retries=0) as client:
        return client.recognize(audio, **kwargs)


def _stop(url: str, **kwargs: Any) -> Any:
    with _rtc(url, max_retries=0) as client:
        return client.stop_segment(
            StopSegmentRequest(app_id="a", room_id="r", task_id="t"), **kwargs
        )


class _Path(os.PathLike[str]):
    def __init__(self, path: str) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return self.path


class _StaticCreds:
    """A provider of fixed, well-formed credentials."""

    def get_credentials(self) -> Any:
        from volcspeech.credentials import OpenApiCredentials

        return OpenApiCredentials("AKLTtest", "test-secret-key")


class _Raising:
    """A file object whose read fails with its own exception."""

    def read(self, size: int = -1) -> bytes:
        raise RuntimeError("the caller's own failure")


class _ReadsInt:
    """A file object whose read returns a number."""

    def read(self, size: int = -1) -> int:
        return 5


CE, VE, AE = errors.ConfigurationError, errors.ValidationError, errors.InvalidAudioError

CASES: list[Refusal] = [
    # AsrClient constructor
    ("asr api_key int", lambda u: AsrClient(api_key=123, endpoint=u), CE, "api_key"),
    ("asr api_key newline", lambda u: AsrClient(api_key="k-key\n", endpoint=u), CE, "api_key"),
    ("asr endpoint [::1", lambda u: _asr("http://[::1"), CE, "endpoint"),
    ("asr endpoint NUL", lambda u: AsrClient(api_key="k", endpoint=u + "/\x00"), CE, "endpoint"),
    ("asr endpoint ftp", lambda u: AsrClient(api_key="k", endpoint="ftp://h/x"), CE, "endpoint"),
    ("asr endpoint int", lambda u: AsrClient(api_key="k", endpoint=5), CE, "endpoint"),
    ("asr base_url query", lambda u: AsrClient(api_key="k", base_url=u + "?a=1"), CE, "base_url"),
    ("asr resource_id", lambda u: _asr(u, resource_id="a b"), CE, "resource_id"),
    ("asr uid empty", lambda u: _asr(u, uid=""), CE, "uid"),
    ("asr timeout nan", lambda u: _asr(u, timeout=math.nan), CE, "timeout"),
    ("asr timeout inf", lambda u: _asr(u, timeout=(1, math.inf)), CE, "timeout.read"),
    ("asr timeout str", lambda u: _asr(u, timeout="10"), CE, "timeout"),
    ("asr timeout triple", lambda u: _asr(u, timeout=(1, 2, 3)), CE, "timeout"),
    ("asr max_retries -1", lambda u: _asr(u, max_retries=-1), CE, "max_retries"),
    ("asr max_retries float", lambda u: _asr(u, max_retries=1.5), CE, "max_retries"),
    ("asr retry str", lambda u: _asr(u, retry="x"), CE, "retry"),
    ("asr deadline nan", lambda u: _asr(u, deadline=math.nan), CE, "deadline"),
    ("asr deadline 0", lambda u: _asr(u, deadline=0), CE, "deadline"),
    ("asr cap 0", lambda u: _asr(u, max_answer_bytes=0), CE, "max_answer_bytes"),
    ("asr cap bool", lambda u: _asr(u, max_answer_bytes=True), CE, "max_answer_bytes"),
    ("asr session str", lambda u: _asr(u, session="x"), CE, "session"),
    ("asr transport str", lambda u: _asr(u, transport="x"), CE, "transport"),
    # AsrClient.recognize
    ("recognize None", lambda u: _recognize(u, None), AE, "audio"),
    ("recognize int", lambda u: _recognize(u, 5), AE, "audio"),
    ("recognize NUL path", lambda u: _recognize(u, "a\x00b.wav"), AE, "NUL"),
    ("recognize NUL PathLike", lambda u: _recognize(u, _Path("a\x00b.wav")), AE, "NUL"),
    ("recognize dir", lambda u: _recognize(u, str(HELLO.parent)), AE, "regular file"),
    ("recognize ftp", lambda u: _recognize(u, "ftp://h/a.wav"), AE, "scheme"),
    ("recognize read raises", lambda u: _recognize(u, _Raising()), AE, "RuntimeError"),
    ("recognize read int", lambda u: _recognize(u, _ReadsInt()), AE, "returned int"),
    ("recognize URL [::1", lambda u: _recognize(u, "http://[::1/a.wav"), AE, "audio URL"),
    ("recognize URL port", lambda u: _recognize(u, "http://h:99999/a.wav"), AE, "audio URL"),
    ("recognize URL NUL", lambda u: _recognize(u, "http://h/a\x00.wav"), AE, "audio URL"),
    ("recognize URL no host", lambda u: _recognize(u, "http://:80/a.wav"), AE, "audio URL"),
    ("recognize options", lambda u: _recognize(u, HELLO, options="x"), VE, "options"),
    ("recognize request_id", lambda u: _recognize(u, HELLO, request_id="a b"), VE, "request_id"),
    ("recognize timeout nan", lambda u: _recognize(u, HELLO, timeout=math.nan), CE, "timeout"),
    ("recognize deadline inf", lambda u: _recognize(u, HELLO, deadline=math.inf), CE, "deadline"),
    (
        "recognize_many workers",
        lambda u: _asr(u).recognize_many([], max_workers=0),
        VE,
        "max_workers",
    ),
    ("recognize api", lambda u: _recognize(u, HELLO, api="x"), VE, "api"),
    ("submit None", lambda u: _asr(u).submit(None), AE, "audio"),
    ("submit URL [::1", lambda u: _asr(u).submit("http://[::1/a"), AE, "audio URL"),
    ("query int", lambda u: _asr(u).query(123), VE, "task"),
    ("wait timeout nan", lambda u: _asr(u).wait("t-1", timeout=math.nan), VE, "timeout"),
    ("wait poll str", lambda u: _asr(u).wait("t-1", poll="x"), VE, "poll"),
    # RtcClient constructor
    ("rtc ints", lambda u: RtcClient(123, 456, endpoint=u), CE, "access_key_id"),
    ("rtc secret bytes", lambda u: RtcClient("AK", b"sk", endpoint=u), CE, "secret_access_key"),
    ("rtc token ctrl", lambda u: _rtc(u, session_token="t\x01t"), CE, "session_token"),
    ("rtc region empty", lambda u: _rtc(u, region=""), CE, "region"),
    ("rtc region space", lambda u: _rtc(u, region="cn north"), CE, "region"),
    ("rtc region int", lambda u: _rtc(u, region=1), CE, "region"),
    ("rtc region unknown", lambda u: RtcClient("AK", "sk", region="mars-1"), CE, "region"),
    ("rtc endpoint [::1", lambda u: _rtc("http://[::1"), CE, "endpoint"),
    ("rtc endpoint userinfo", lambda u: _rtc("http://u:p@127.0.0.1:1"), CE, "endpoint"),
    ("rtc endpoint NUL", lambda u: _rtc(u + "/\x00"), CE, "endpoint"),
    ("rtc endpoint query", lambda u: _rtc(u + "/?a=b"), CE, "endpoint"),
    (
        "rtc token with provider",
        lambda u: RtcClient(credentials=_StaticCreds(), session_token="tok-12345", endpoint=u),
        CE,
        "session_token",
    ),
    ("rtc credentials str", lambda u: RtcClient(credentials="x", endpoint=u), CE, "credentials"),
    ("rtc timeout nan", lambda u: _rtc(u, timeout=math.nan), CE, "timeout"),
    ("rtc deadline str", lambda u: _rtc(u, deadline="10"), CE, "deadline"),
    ("rtc session str", lambda u: _rtc(u, session="x"), CE, "session"),
    ("rtc rate_limits str", lambda u: _rtc(u, rate_limits="x"), CE, "rate_limits"),
    # RtcClient methods
    ("start_segment dict", lambda u: _rtc(u).start_segment({}), VE, "StartSegmentRequest"),
    ("stop timeout nan", lambda u: _stop(u, timeout=math.nan), CE, "timeout"),
    ("stop deadline -1", lambda u: _stop(u, deadline=-1), CE, "deadline"),
    ("get_segment_task ints", lambda u: _rtc(u).get_segment_task(1, 2, 3), VE, "app_id"),
    ("get_segment_task id", lambda u: _rtc(u).get_segment_task("a", "r r", "t"), VE, "room_id"),
    # Values
    ("RetryPolicy attempts 0", lambda u: RetryPolicy(attempts=0), CE, "attempts"),
    ("RetryPolicy attempts bool", lambda u: RetryPolicy(attempts=True), CE, "attempts"),
    ("RetryPolicy wait nan", lambda u: RetryPolicy(wait_initial=math.nan), CE, "wait_initial"),
    ("RetryPolicy wait_max inf", lambda u: RetryPolicy(wait_max=math.inf), CE, "wait_max"),
    ("RetryPolicy budget 0", lambda u: RetryPolicy(total_timeout=0), CE, "total_timeout"),
    (
        "RetryPolicy budget -inf",
        lambda u: RetryPolicy(total_timeout=-math.inf),
        CE,
        "total_timeout",
    ),
    ("RetryPolicy order", lambda u: RetryPolicy(wait_initial=20, wait_max=1), CE, "wait_initial"),
    ("Timeout nan", lambda u: Timeout(connect=math.nan), CE, "timeout.connect"),
    ("Timeout negative", lambda u: Timeout(read=-1), CE, "timeout.read"),
    ("RecognitionOptions", lambda u: RecognitionOptions(language=5), VE, "language"),
    (
        "parse_callback max_age nan",
        lambda u: parse_callback("{}", "s", max_age=math.nan),
        CE,
        "max_age",
    ),
]


@pytest.mark.parametrize(("name", "call", "kind", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_argument_is_refused_by_name_before_traffic(
    name: str,
    call: Callable[[str], Any],
    kind: type[errors.VolcSpeechError],
    field: str,
    listener: _NoTraffic,
) -> None:
    """The call raises the volcspeech error naming the field, and nothing connects."""
    with pytest.raises(errors.VolcSpeechError) as info:
        call(listener.url)
    assert isinstance(info.value, kind), repr(info.value)
    assert field in str(info.value), str(info.value)
    listener.assert_untouched()


@settings(max_examples=60, deadline=None)
@given(
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(10**6), 10**6),
        st.text(max_size=5),
        st.none(),
        st.booleans(),
        st.tuples(st.floats(), st.floats()),
    ),
    name=st.sampled_from(["timeout", "deadline", "max_retries", "max_answer_bytes"]),
)
def test_client_settings_accept_or_refuse_but_never_crash(value: Any, name: str) -> None:
    """Any value of a numeric setting is either accepted or a ConfigurationError naming it."""
    refusal: errors.ConfigurationError | None = None
    try:
        RtcClient(
            "AKLTtest", "test-secret-key", endpoint="http://127.0.0.1:9", **{name: value}
        ).close()
    except errors.ConfigurationError as exc:  # anything else fails the test
        refusal = exc
    assert refusal is None or name in str(refusal)


# --- internal errors never escape: deep answers, FIFOs, passwords in endpoints -----------


class _DeepHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        depth = 100_000
        body = ("[" * depth + "]" * depth).encode()
        body = b'{"ResponseMetadata": {"RequestId": "r"}, "Result": ' + body + b"}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Api-Status-Code", "20000000")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def deep_server() -> Iterator[str]:
    """A local server whose every answer is JSON nested 100,000 levels deep."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DeepHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_deeply_nested_answers_are_protocol_errors(deep_server: str) -> None:
    """A 100,000-deep JSON answer is a ProtocolError for RTC and ASR, not a RecursionError."""
    with pytest.raises(errors.ProtocolError):
        _stop(deep_server)
    with pytest.raises(errors.ProtocolError):
        _recognize(deep_server, HELLO)


def test_deeply_nested_callback_is_a_format_error() -> None:
    """A callback body nested 100,000 levels deep is a CallbackFormatError."""
    with pytest.raises(errors.CallbackFormatError):
        parse_callback("[" * 100_000 + "]" * 100_000, "secret")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_file_replaced_by_a_fifo_is_refused_not_blocked_on(tmp_path: Path) -> None:
    """A path that became a FIFO after it was checked is refused at once on the next
    attempt's open (which would otherwise block forever waiting for a writer)."""
    from volcspeech.asr._audio import prepare_audio

    path = tmp_path / "a.wav"
    path.write_bytes(HELLO.read_bytes())
    prepared = prepare_audio(str(path), {})
    assert prepared.source is not None
    path.unlink()
    os.mkfifo(path)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            b"".join(bytes(c) for c in prepared.source.iter_chunks())  # type: ignore[union-attr]
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    started = time.monotonic()
    reader.start()
    reader.join(5)
    if reader.is_alive():  # unblock the open() so the thread can end
        with open(path, "wb"):
            pass
        reader.join(5)
        pytest.fail("opening the FIFO blocked")
    assert time.monotonic() - started < 2
    assert isinstance(outcome[0], errors.InvalidAudioError)
    assert "no longer a regular file" in str(outcome[0])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_given_as_audio_is_refused(tmp_path: Path) -> None:
    """A FIFO named as the audio path is refused before anything opens it."""
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(errors.InvalidAudioError, match="not a regular file"):
        _recognize("http://127.0.0.1:9", str(fifo))


def test_endpoint_password_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    """An ASR endpoint with user:password@ shows the password in no repr, error or log."""
    password = "endpoint-password-123"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with caplog.at_level(logging.DEBUG):
        client = AsrClient(
            api_key="test-api-key",
            endpoint=f"http://user:{password}@127.0.0.1:{port}/flash",
            max_retries=1,
        )
        with client, pytest.raises(errors.TransportError) as info:
            client.recognize(HELLO)
        with pytest.raises(errors.ConfigurationError) as bad:
            AsrClient(api_key="k", endpoint=f"http://user:{password}@[::1/flash")
    for text in (repr(client), str(info.value), repr(info.value), str(bad.value), caplog.text):
        assert password not in text
