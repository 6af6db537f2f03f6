"""The sans-I/O layer and the transport seam: builders, readers and MockTransport, no sockets."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from volcspeech import AsrClient, HttpRequest, HttpResponse, RtcClient, _transport, errors
from volcspeech._messages import Headers, StreamBody
from volcspeech._retry import RetryPolicy, decide_retry
from volcspeech._signing import sign
from volcspeech.asr import RecognitionOptions, Transcript
from volcspeech.asr._audio import prepare_audio
from volcspeech.asr._flash import FLASH_PATH, build_recognize, read_recognize
from volcspeech.credentials import OpenApiCredentials
from volcspeech.rtc import StartSegmentRequest, StorageConfig
from volcspeech.rtc._operations import (
    RtcEndpoint,
    build_get_segment_task,
    build_start_segment,
    read_envelope,
    read_segment_result,
    read_segment_task,
)
from volcspeech.testing import MockTransport, set_testing

HELLO = Path(__file__).parent / "fixtures" / "audio" / "hello.wav"
SECRET = "sk-seam-secret-value"
OK = {"X-Api-Status-Code": "20000000", "X-Api-Message": "OK", "X-Tt-Logid": "LOG-1"}
ANSWER = {
    "audio_info": {"duration": 1000},
    "result": {
        "text": "hello",
        "utterances": [{"start_time": 0, "end_time": 900, "text": "hello", "words": []}],
    },
}
META = {"RequestId": "REQ1", "Action": "StartSegment", "Version": "2023-11-01", "Service": "rtc"}


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _start(task_id: str = "t1") -> StartSegmentRequest:
    return StartSegmentRequest(
        app_id="app",
        room_id="room",
        task_id=task_id,
        storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
    )


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return


# --- messages ------------------------------------------------------------------------


def test_headers_are_case_insensitive_and_keep_their_spelling() -> None:
    """Header lookups ignore case; iteration keeps the names as given."""
    headers = Headers({"X-Tt-Logid": "L", "content-type": "application/json"})
    assert headers["x-tt-logid"] == "L"
    assert "CONTENT-TYPE" in headers
    assert list(headers) == ["X-Tt-Logid", "content-type"]
    assert headers == {"x-tt-logid": "L", "Content-Type": "application/json"}


def test_headers_repr_redacts_credentials() -> None:
    """A request's headers never show a credential in their repr."""
    request = HttpRequest("POST", "http://127.0.0.1/", headers={"X-Api-Key": SECRET})
    assert SECRET not in repr(request)
    assert SECRET not in repr(request.headers)


def test_request_body_must_be_bytes_or_a_stream_body() -> None:
    """A body of another type is refused with a ConfigurationError."""
    with pytest.raises(errors.ConfigurationError, match="StreamBody"):
        HttpRequest("POST", "http://127.0.0.1/", body=iter([b"x"]))  # type: ignore[arg-type]
    assert HttpRequest("GET", "http://127.0.0.1/").body == b""


def test_stream_body_is_produced_again_on_each_iteration() -> None:
    """A StreamBody yields its whole content every time it is iterated."""
    body = StreamBody(6, lambda: iter([b"abc", b"def"]))
    assert (len(body), body.read_all(), b"".join(body)) == (6, b"abcdef", b"abcdef")


# --- the retry decision ---------------------------------------------------------------


def test_decide_retry_reads_the_typed_error() -> None:
    """Retryable errors get a jittered wait; others, exhausted attempts and budgets raise."""
    policy = RetryPolicy(attempts=3, total_timeout=10, wait_initial=1, wait_max=4)
    busy = errors.ServerBusyError("busy")
    assert decide_retry(busy, attempt=1, elapsed=0, policy=policy, uniform=max).wait == 1
    assert decide_retry(busy, attempt=2, elapsed=0, policy=policy, uniform=max).wait == 2
    last = decide_retry(busy, attempt=3, elapsed=0, policy=policy)
    assert (last.retry, last.exhausted) == (False, True)
    refused = decide_retry(errors.InvalidRequestError("no"), attempt=1, elapsed=0, policy=policy)
    assert (refused.retry, refused.exhausted) == (False, False)
    assert not decide_retry(ValueError("x"), attempt=1, elapsed=0, policy=policy).retry
    late = decide_retry(busy, attempt=1, elapsed=9.5, policy=policy, uniform=max)
    assert not late.retry
    assert "budget" in late.reason


def test_decide_retry_honours_retry_after_and_the_deadline() -> None:
    """Retry-After raises the wait (capped at 60 s); a wait past the deadline ends the retries."""
    policy = RetryPolicy(attempts=5, total_timeout=300)
    limited = errors.RateLimitError("slow down", retry_after=7)
    assert decide_retry(limited, attempt=1, elapsed=0, policy=policy).wait == 7
    huge = errors.RateLimitError("slow down", retry_after=10_000)
    assert decide_retry(huge, attempt=1, elapsed=0, policy=policy).wait == 60
    near = decide_retry(limited, attempt=1, elapsed=0, policy=policy, remaining=3)
    assert not near.retry
    assert "deadline" in near.reason


def test_transport_errors_are_retryable_unless_built_otherwise() -> None:
    """A TransportError is retryable by default; retryable=False survives a pickle."""
    import pickle

    assert errors.TransportError("reset").retryable
    local = errors.TransportError("bad", retryable=False)
    assert not pickle.loads(pickle.dumps(local)).retryable


# --- ASR flash: builder and reader ------------------------------------------------------


def test_build_recognize_streams_an_exact_body() -> None:
    """The flash request has the documented headers and a re-iterable body of exact length."""
    prepared = prepare_audio(HELLO, {})
    assert prepared.source is not None
    request = build_recognize(
        url="https://asr.example" + FLASH_PATH,
        auth_headers={"X-Api-Key": SECRET},
        resource_id="volc.bigasr.auc_turbo",
        request_id="rid-1",
        uid="u",
        audio=prepared,
        options=RecognitionOptions(),
    )
    assert request.method == "POST"
    assert request.headers["x-api-request-id"] == "rid-1"
    assert request.headers["X-Api-Sequence"] == "-1"
    first, second = request.read_body(), request.read_body()
    assert first == second
    assert len(first) == request.content_length
    body = json.loads(first)
    assert base64.b64decode(body["audio"]["data"]) == HELLO.read_bytes()
    assert body["user"] == {"uid": "u"}
    prepared.source.close()


def test_read_recognize_success_silence_and_errors() -> None:
    """The reader maps a plain HttpResponse to a Transcript or the typed error with its ids."""
    ok = read_recognize(HttpResponse(200, OK, _json(ANSWER)), "rid")
    assert isinstance(ok, Transcript)
    assert (ok.text, ok.log_id, ok.request_id) == ("hello", "LOG-1", "rid")
    silent = read_recognize(HttpResponse(200, {"X-Api-Status-Code": "20000003"}, b""), "rid")
    assert silent.silent
    assert silent.text == ""
    busy_headers = {"X-Api-Status-Code": "55000031", "Retry-After": "2", "X-Tt-Logid": "L2"}
    with pytest.raises(errors.ServerBusyError) as busy:
        read_recognize(HttpResponse(503, busy_headers, b""), "rid")
    assert (busy.value.retry_after, busy.value.log_id, busy.value.retryable) == (2, "L2", True)
    with pytest.raises(errors.AuthenticationError):
        read_recognize(HttpResponse(401, {}, b""), "rid")
    with pytest.raises(errors.ProtocolError, match="no X-Api-Status-Code"):
        read_recognize(HttpResponse(200, {}, b"{}"), "rid")


# --- RTC: builders and readers ------------------------------------------------------------


def test_rtc_builder_signs_with_the_given_clock() -> None:
    """StartSegment is signed exactly as _signing.sign would sign it at the given time."""
    endpoint = RtcEndpoint.parse("https://rtc.example/gw", "cn-north-1")
    creds = OpenApiCredentials("AK", SECRET)
    now = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    request = build_start_segment(_start(), endpoint=endpoint, credentials=creds, now=now)
    assert request.url == "https://rtc.example/gw?Action=StartSegment&Version=2023-11-01"
    expected = sign(
        method="POST",
        path="/gw",
        query={"Action": "StartSegment", "Version": "2023-11-01"},
        headers={"Host": "rtc.example", "Content-Type": "application/json"},
        body=request.read_body(),
        access_key_id="AK",
        secret_access_key=SECRET,
        region="cn-north-1",
        service="rtc",
        now=now,
    )
    assert request.headers["Authorization"] == expected["Authorization"]
    assert request.headers["X-Date"] == "20240102T030405Z"
    query = build_get_segment_task("a", "r", "t", endpoint=endpoint, credentials=creds, now=now)
    assert query.method == "GET"
    assert query.body == b""
    assert "AppId=a&RoomId=r&TaskId=t" in query.url


def test_rtc_readers_map_the_envelope() -> None:
    """Results, error codes, bare statuses and non-envelopes map to the documented types."""
    ok = read_segment_result(
        "StartSegment", HttpResponse(200, {}, _json({"ResponseMetadata": META, "Result": "ok"}))
    )
    assert ok.ok
    assert ok.request_id == "REQ1"
    error = {"Code": "FlowLimitExceeded.TaskCount", "CodeN": 10001, "Message": "too many"}
    limited = HttpResponse(
        200, {"Retry-After": "3"}, _json({"ResponseMetadata": {**META, "Error": error}})
    )
    with pytest.raises(errors.RateLimitError) as info:
        read_envelope("StartSegment", limited)
    assert (info.value.code_n, info.value.retry_after, info.value.request_id) == (10001, 3, "REQ1")
    with pytest.raises(errors.ProtocolError) as bad:
        read_envelope("StartSegment", HttpResponse(502, {}, b"<html>"))
    assert bad.value.retryable
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(errors.ProtocolError):
        read_envelope("StartSegment", HttpResponse(200, {}, deep))
    with pytest.raises(errors.ProtocolError, match="SegmentTask"):
        read_segment_task(
            HttpResponse(200, {}, _json({"ResponseMetadata": META, "Result": {}})),
            app_id="a",
            room_id="r",
            task_id="t",
        )


# --- end to end through MockTransport ------------------------------------------------------


def test_recognition_runs_through_mock_transport_without_sockets(no_sockets: None) -> None:
    """A recognition goes builder -> MockTransport -> reader with no socket opened."""
    transport = MockTransport(lambda request: HttpResponse(200, OK, _json(ANSWER)))
    with AsrClient(api_key=SECRET, transport=transport) as client:
        transcript = client.recognize(HELLO, request_id="rid-7")
    assert transcript.text == "hello"
    assert transcript.log_id == "LOG-1"
    (sent,) = transport.requests
    assert sent.url == "https://openspeech.bytedance.com" + FLASH_PATH
    assert sent.headers["X-Api-Key"] == SECRET
    assert sent.request_id == "rid-7"
    assert sent.log_id_header == "X-Tt-Logid"
    assert sent.deadline is not None
    assert json.loads(sent.read_body())["audio"]["data"]


def test_start_segment_runs_through_mock_transport_without_sockets(no_sockets: None) -> None:
    """A StartSegment goes builder -> MockTransport -> reader with no socket opened."""
    answer = _json({"ResponseMetadata": META, "Result": "ok"})
    transport = MockTransport(lambda request: HttpResponse(200, {}, answer))
    with RtcClient("AK", SECRET, transport=transport) as client:
        result = client.start_segment(_start())
    assert result.ok
    assert result.request_id == "REQ1"
    (sent,) = transport.requests
    assert sent.url.startswith("https://rtc.volcengineapi.com/?Action=StartSegment")
    assert "Authorization" in sent.headers
    assert json.loads(sent.read_body())["TaskId"] == "t1"


def test_retries_run_the_same_through_mock_transport(no_sockets: None) -> None:
    """A busy answer and a transport error are retried; each attempt is signed afresh."""
    set_testing(True)
    answers = iter(
        [
            HttpResponse(503, {"X-Api-Status-Code": "55000031"}, b""),
            errors.TransportError("reset"),
            HttpResponse(200, OK, _json(ANSWER)),
        ]
    )

    def handler(request: HttpRequest) -> HttpResponse:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    transport = MockTransport(handler)
    with AsrClient(api_key=SECRET, transport=transport, max_retries=3) as client:
        assert client.recognize(HELLO).text == "hello"
    assert len(transport.requests) == 3
    assert len({r.read_body() for r in transport.requests}) == 1  # the whole body every time


def test_validation_and_error_mapping_through_mock_transport() -> None:
    """Bad input fails before any attempt; a 400 answer is raised at once as its typed error."""
    transport = MockTransport(
        lambda request: HttpResponse(400, {"X-Api-Status-Code": "45000001", "X-Api-Message": "bad"})
    )
    client = AsrClient(api_key=SECRET, transport=transport, max_retries=3)
    with pytest.raises(errors.InvalidAudioError):
        client.recognize(b"not audio")
    assert transport.requests == []
    with pytest.raises(errors.InvalidRequestError) as info:
        client.recognize(HELLO)
    assert info.value.message == "bad"
    assert len(transport.requests) == 1


def test_a_custom_transports_own_exception_is_typed_and_not_retried() -> None:
    """An unexpected exception inside a transport becomes a TransportError, tried once."""

    def broken(request: HttpRequest) -> HttpResponse:
        raise KeyError("oops")

    transport = MockTransport(broken)
    client = RtcClient("AK", SECRET, transport=transport, max_retries=3)
    with client, pytest.raises(errors.TransportError, match="KeyError") as info:
        client.start_segment(_start())
    assert not info.value.retryable
    assert len(transport.requests) == 1


@pytest.mark.parametrize("key", [SECRET + "\n", " " + SECRET, SECRET + "\u00e9\u4e2d"])
def test_a_header_that_cannot_be_sent_is_a_configuration_error(key: str) -> None:
    """A key with a newline, a leading space or non-Latin-1 text fails once, unquoted, unretried:
    the client refuses it by name, and the transport seam on its own refuses the header."""
    transport = MockTransport(lambda request: HttpResponse(200, OK, _json(ANSWER)))
    with pytest.raises(errors.ConfigurationError, match="api_key") as early:
        AsrClient(api_key=key, transport=transport, max_retries=3)
    request = HttpRequest("POST", "http://127.0.0.1:9/x", headers={"X-Api-Key": key})
    with pytest.raises(errors.ConfigurationError, match="X-Api-Key") as info:
        _transport.send(
            transport,
            lambda: request,
            lambda response: response,
            settings=_transport.CallSettings(retry=RetryPolicy(attempts=4)),
        )
    for exc in (early.value, info.value):
        assert SECRET not in str(exc)
        assert SECRET not in repr(exc)
    assert transport.requests == []


def test_a_header_that_cannot_be_sent_never_reaches_requests() -> None:
    """Through requests too, a key with a newline is a ConfigurationError and not retried."""
    from volcspeech._http import RequestsTransport

    request = HttpRequest("POST", "http://127.0.0.1:9/x", headers={"X-Api-Key": SECRET + "\n"})
    transport = RequestsTransport()
    try:
        with pytest.raises(errors.ConfigurationError) as info:
            _transport.send(
                transport,
                lambda: request,
                lambda response: response,
                settings=_transport.CallSettings(retry=RetryPolicy(attempts=4)),
            )
    finally:
        transport.close()
    assert SECRET not in str(info.value)


def test_transport_and_session_are_exclusive_and_checked() -> None:
    """transport= must be callable and cannot come with session=."""
    with pytest.raises(errors.ConfigurationError, match="callable"):
        AsrClient(api_key="k", transport="nope")  # type: ignore[arg-type]
    import requests

    with pytest.raises(errors.ConfigurationError, match="not both"):
        RtcClient(
            "AK",
            "SK",
            transport=MockTransport(lambda r: HttpResponse(200)),
            session=requests.Session(),
        )
    with pytest.raises(errors.ConfigurationError, match=r"requests\.Session"):
        AsrClient(api_key="k", session="x")  # type: ignore[arg-type]


def test_closed_clients_refuse_calls() -> None:
    """After close() every operation raises ClientClosedError, before any traffic."""
    transport = MockTransport(lambda request: HttpResponse(200, OK, _json(ANSWER)))
    asr = AsrClient(api_key="k", transport=transport)
    with asr:
        pass
    assert asr.closed
    with pytest.raises(errors.ClientClosedError, match="closed"):
        asr.recognize(HELLO)
    with pytest.raises(errors.ClientClosedError):
        asr.recognize_many([HELLO])
    rtc = RtcClient("AK", "SK", transport=transport)
    rtc.close()
    rtc.close()  # idempotent
    with pytest.raises(errors.ClientClosedError):
        rtc.get_segment_task("a", "r", "t")
    assert transport.requests == []


def test_endpoint_password_never_shows() -> None:
    """An ASR endpoint with user:password@ keeps the password out of repr and errors."""
    client = AsrClient(api_key="k", endpoint="https://user:hunter2pw@asr.example/flash")
    assert "hunter2pw" not in repr(client)
    assert "user:***@asr.example" in repr(client)
    with pytest.raises(errors.ConfigurationError) as info:
        AsrClient(api_key="k", endpoint="ftp://user:hunter2pw@asr.example/flash")
    assert "hunter2pw" not in str(info.value)


def test_base_url_plus_path_per_operation() -> None:
    """The flash URL is the base URL plus its path; an emulator-style endpoint gives the base."""
    client = AsrClient(api_key="k", base_url="http://127.0.0.1:8080/")
    assert client.endpoint == "http://127.0.0.1:8080" + FLASH_PATH
    derived = AsrClient(api_key="k", endpoint="http://127.0.0.1:9000" + FLASH_PATH)
    assert derived.base_url == "http://127.0.0.1:9000"
    assert derived._url("/api/v3/other") == "http://127.0.0.1:9000/api/v3/other"
    assert AsrClient(api_key="k").endpoint == "https://openspeech.bytedance.com" + FLASH_PATH


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"deadline": 0}, "deadline"),
        ({"deadline": float("nan")}, "deadline"),
        ({"deadline": float("inf")}, "deadline"),
        ({"max_answer_bytes": 0}, "max_answer_bytes"),
        ({"max_answer_bytes": 1.5}, "max_answer_bytes"),
        ({"timeout": float("nan")}, "timeout"),
    ],
)
def test_deadline_and_cap_are_validated(kwargs: dict[str, Any], needle: str) -> None:
    """Bad deadlines, caps and timeouts are ConfigurationErrors naming the setting."""
    with pytest.raises(errors.ConfigurationError, match=needle):
        AsrClient(api_key="k", **kwargs)
    with pytest.raises(errors.ConfigurationError, match=needle):
        RtcClient("AK", "SK", **kwargs)


def test_mock_transport_insists_on_http_responses() -> None:
    """A handler returning something else is a ConfigurationError, tried once."""
    transport = MockTransport(lambda request: "200 OK")  # type: ignore[arg-type,return-value]
    client = RtcClient("AK", "SK", transport=transport, max_retries=3)
    with client, pytest.raises(errors.ConfigurationError, match="HttpResponse"):
        client.start_segment(_start())
    assert len(transport.requests) == 1
    with pytest.raises(errors.ConfigurationError, match="callable"):
        MockTransport("nope")  # type: ignore[arg-type]
