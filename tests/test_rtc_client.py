"""RtcClient against the emulator and a scripted local server: results, errors, retries, limits."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from volcspeech.errors import (
    ConfigurationError,
    InvalidRequestError,
    ProtocolError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from volcspeech.rtc import (
    RateLimiter,
    RtcClient,
    SegmentResult,
    SegmentTaskStatus,
    StartSegmentRequest,
    StopSegmentRequest,
    StorageConfig,
    UpdateSegmentRequest,
)
from volcspeech.testing import Emulator

SECRET = "super-secret-sk-value"


@pytest.fixture
def emu(volcspeech_emulator: Emulator) -> Emulator:
    """A running emulator (the plugin's)."""
    return volcspeech_emulator


def _start(task_id: str = "t1", **kwargs: Any) -> StartSegmentRequest:
    return StartSegmentRequest(
        app_id="app",
        room_id="room",
        task_id=task_id,
        storage_config=StorageConfig.tos(account_id="1", bucket="b"),
        **kwargs,
    )


def _key(task_id: str = "t1") -> dict[str, str]:
    return {"app_id": "app", "room_id": "room", "task_id": task_id}


def test_task_lifecycle(emu: Emulator) -> None:
    """Start, repeat start, update, get and stop give typed results with request ids."""
    with emu.rtc.client() as client:
        first = client.start_segment(_start(duration=10, identifier="pre"))
        assert isinstance(first, SegmentResult)
        assert first.ok
        assert not first.already_running
        assert first.request_id
        assert first.raw["ResponseMetadata"]["Service"] == "rtc"
        again = client.start_segment(_start())
        assert again.already_running
        assert not again.ok
        task = client.get_segment_task("app", "room", "t1")
        assert task.status is SegmentTaskStatus.RUNNING
        assert (task.duration, task.identifier, task.handle, task.end_time) == (10, "pre", True, 0)
        assert (task.app_id, task.room_id, task.task_id) == ("app", "room", "t1")
        assert task.request_id
        assert task.start_time is not None
        updated = client.update_segment(
            UpdateSegmentRequest(**_key(), duration=30, identifier="next")
        )
        assert updated.ok
        task = client.get_segment_task("app", "room", "t1")
        assert (task.duration, task.identifier) == (30, "next")
        assert client.stop_segment(StopSegmentRequest(**_key())).ok
        task = client.get_segment_task("app", "room", "t1")
        assert task.status is SegmentTaskStatus.ENDED
        assert task.stop_reason == "StopByAPI"
        assert task.end_time is not None
        assert task.end_time >= task.start_time  # type: ignore[operator]
        assert not task.running


def test_hot_start_reports_not_started(emu: Emulator) -> None:
    """Handle=false creates the task without cutting; an update with Handle=true starts it."""
    with emu.rtc.client() as client:
        client.start_segment(_start(handle=False))
        assert client.get_segment_task("app", "room", "t1").status is SegmentTaskStatus.NOT_STARTED
        client.update_segment(UpdateSegmentRequest(**_key(), handle=True))
        assert client.get_segment_task("app", "room", "t1").status is SegmentTaskStatus.RUNNING
        client.update_segment(UpdateSegmentRequest(**_key(), handle=False))
        assert client.get_segment_task("app", "room", "t1").handle is False


def test_unknown_and_stopped_tasks(emu: Emulator) -> None:
    """Updating, stopping or getting an unknown task, or updating a stopped one, is refused."""
    with emu.rtc.client() as client:
        with pytest.raises(InvalidRequestError) as info:
            client.get_segment_task("app", "room", "nope")
        assert info.value.code == "InvalidParameter.TaskNotFound"
        assert info.value.http_status == 400
        assert info.value.request_id
        with pytest.raises(InvalidRequestError):
            client.update_segment(UpdateSegmentRequest(**_key("nope"), duration=5))
        with pytest.raises(InvalidRequestError):
            client.stop_segment(StopSegmentRequest(**_key("nope")))
        client.start_segment(_start())
        client.stop_segment(StopSegmentRequest(**_key()))
        assert client.stop_segment(StopSegmentRequest(**_key())).ok  # idempotent
        with pytest.raises(InvalidRequestError) as info:
            client.update_segment(UpdateSegmentRequest(**_key(), duration=5))
        assert info.value.code == "InvalidParameter.TaskNotRunning"
        assert client.start_segment(_start()).ok  # a stopped task id can start again
    assert len(emu.requests_for("rtc")) == 8  # one request per call: client errors are not retried


def test_requests_are_validated_before_any_traffic(emu: Emulator) -> None:
    """A wrong request type or a malformed id raises before anything is sent."""
    with emu.rtc.client() as client:
        with pytest.raises(ValidationError, match="from_dict"):
            client.start_segment(_start().to_dict())  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="takes a UpdateSegmentRequest"):
            client.update_segment(_start())  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="StopSegmentRequest"):
            client.stop_segment(None)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="task_id"):
            client.get_segment_task("app", "room", "bad id")
    assert emu.requests_for("rtc") == []


def test_flow_limit_is_retried_with_retry_after(emu: Emulator) -> None:
    """FlowLimitExceeded (HTTP 429) is retried and the call then succeeds."""
    emu.inject(service="rtc", action="StartSegment", code="FlowLimitExceeded.QPS", retry_after=1)
    with emu.rtc.client() as client:
        assert client.start_segment(_start()).ok
    assert [(r.status, r.code) for r in emu.requests_for("rtc")] == [
        (429, "FlowLimitExceeded.QPS"),
        (200, None),
    ]


def test_flow_limit_on_http_200_is_retried(emu: Emulator) -> None:
    """An Error envelope with HTTP 200 is still an error, and FlowLimitExceeded is retried."""
    emu.inject(service="rtc", code="FlowLimitExceeded.TaskCount", http_status=200, times=2)
    with emu.rtc.client() as client:
        assert client.start_segment(_start()).ok
    assert [r.status for r in emu.requests_for("rtc")] == [200, 200, 200]


def test_retries_give_up_with_the_last_error(emu: Emulator) -> None:
    """After max_retries the last retryable error is raised with its code and Retry-After."""
    emu.inject(service="rtc", code="InternalError", times=5, retry_after=2)
    with emu.rtc.client(max_retries=2) as client, pytest.raises(ServerError) as info:
        client.start_segment(_start())
    assert info.value.code == "InternalError"
    assert info.value.http_status == 500
    assert info.value.retry_after == 2
    assert info.value.retryable
    assert len(emu.requests_for("rtc")) == 3


def test_invalid_parameter_is_raised_at_once(emu: Emulator) -> None:
    """An InvalidParameter answer is not retried."""
    emu.inject(service="rtc", code="InvalidParameter.AppId", message="bad app")
    with emu.rtc.client() as client, pytest.raises(InvalidRequestError) as info:
        client.start_segment(_start())
    assert (info.value.code, info.value.message, info.value.http_status) == (
        "InvalidParameter.AppId",
        "bad app",
        400,
    )
    assert not info.value.retryable
    assert len(emu.requests_for("rtc")) == 1


def test_dropped_connection_is_retried(emu: Emulator) -> None:
    """A reset connection is a transport error, retried like the others."""
    emu.inject(service="rtc", drop=True)
    with emu.rtc.client() as client:
        assert client.start_segment(_start()).ok


def test_rate_limiter_paces_the_client(emu: Emulator) -> None:
    """Every attempt passes through the client's limiter (here with an injected clock)."""
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter({"GetSegmentTask": 2}, clock=lambda: now[0], sleep=sleep)
    with emu.rtc.client(rate_limits=limiter) as client:
        assert client.rate_limiter is limiter
        client.start_segment(_start())
        for _ in range(5):
            client.get_segment_task("app", "room", "t1")
    assert waits == [1.0, 1.0]
    assert now[0] == 2.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"region": "mars-north-1"}, "known regions: ap-singapore-1, cn-north-1"),
        ({"region": ""}, "region"),
        ({"endpoint": "ftp://x"}, "http"),
        ({"endpoint": "http://user:pw@127.0.0.1:1"}, "user name"),
        ({"endpoint": "http://127.0.0.1:1/?a=b"}, "query"),
        ({"endpoint": "http://"}, "host"),
        ({"rate_limits": {"StartSegmnt": 5}}, "unknown action"),
        ({"rate_limits": {"StartSegment": -1}}, "whole number"),
        ({"rate_limits": {"StartSegment": 2.5}}, "whole number"),
        ({"timeout": -1}, "positive"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_configuration_errors(kwargs: dict[str, Any], message: str) -> None:
    """Bad client settings raise ConfigurationError naming the problem."""
    with pytest.raises(ConfigurationError, match=message):
        RtcClient("AK", SECRET, **kwargs)


def test_endpoints_and_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Known regions pick their endpoint; credentials come from the environment; repr hides them."""
    assert RtcClient("AK", SECRET).endpoint == "https://rtc.volcengineapi.com"
    sg = RtcClient("AK", SECRET, region="ap-singapore-1")
    assert sg.endpoint == "https://open-ap-singapore-1.volcengineapi.com"
    custom = RtcClient("AK", SECRET, region="cn-shanghai", endpoint="https://proxy.example/rtc")
    assert custom.region == "cn-shanghai"
    assert SECRET not in repr(custom)
    assert "cn-shanghai" in repr(custom)
    with pytest.raises(ConfigurationError, match="no OpenAPI credentials"):
        RtcClient()
    monkeypatch.setenv("VOLCENGINE_ACCESS_KEY", "AKenv")
    monkeypatch.setenv("VOLCENGINE_SECRET_KEY", SECRET)
    assert SECRET not in repr(RtcClient())


def test_per_call_timeout(emu: Emulator) -> None:
    """A slow answer past the per-call read timeout is a TimeoutError, retried, then raised."""
    from volcspeech.errors import TimeoutError as VolcTimeout

    emu.inject(service="rtc", delay=0.5, times=2, passthrough=True)
    with emu.rtc.client(max_retries=1) as client, pytest.raises(VolcTimeout):
        client.start_segment(_start(), timeout=(1.0, 0.1))


# --- a scripted server for answers the emulator would never give ------------------------


class _Scripted(http.server.BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, dict[str, str], bytes]]] = []
    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).seen.append(self.path)
        status, headers, body = type(self).answers.pop(0)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[str, type[_Scripted]]]:
    """A local server answering with the queued (status, headers, body) triples."""
    handler = type("Handler", (_Scripted,), {"answers": [], "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


META = {"RequestId": "REQ1", "Action": "StartSegment", "Version": "2023-11-01", "Service": "rtc"}


@pytest.mark.parametrize(
    ("status", "body", "retried"),
    [
        (200, b"<html>oops</html>", False),
        (502, b"<html>bad gateway</html>", True),
        (200, _json(["not", "an", "envelope"]), False),
        (200, _json({"Result": "ok"}), False),
        (503, _json({"message": "unavailable"}), True),
        (200, _json({"ResponseMetadata": {**META, "Error": "broken"}}), False),
        (400, _json({"ResponseMetadata": {**META, "Error": {"Message": "no code"}}}), False),
        (200, b"\xff\xfe", False),
    ],
)
def test_unreadable_answers_are_protocol_errors(
    scripted: tuple[str, type[_Scripted]], status: int, body: bytes, retried: bool
) -> None:
    """Non-JSON or unknown envelopes raise ProtocolError; 5xx ones are retried first."""
    url, handler = scripted
    handler.answers.extend([(status, {}, body)] * 2)
    client = RtcClient("AK", SECRET, endpoint=url, max_retries=1)
    with client, pytest.raises(ProtocolError) as info:
        client.start_segment(_start())
    assert info.value.http_status == status
    assert info.value.retryable is retried
    assert len(handler.seen) == (2 if retried else 1)


def test_error_envelope_and_status_mapping(scripted: tuple[str, type[_Scripted]]) -> None:
    """Error envelopes map by code (CodeN kept); a bare HTTP error maps by status."""
    url, handler = scripted
    error = {"Code": "FlowLimitExceeded.TaskCount", "CodeN": 10001, "Message": "too many"}
    handler.answers.append(
        (200, {"Retry-After": "3"}, _json({"ResponseMetadata": {**META, "Error": error}}))
    )
    handler.answers.append((429, {}, _json({"ResponseMetadata": META})))
    handler.answers.append((404, {}, _json({"ResponseMetadata": META})))
    with RtcClient("AK", SECRET, endpoint=url, max_retries=0) as client:
        with pytest.raises(RateLimitError) as info:
            client.start_segment(_start())
        assert (info.value.code, info.value.code_n, info.value.request_id) == (
            "FlowLimitExceeded.TaskCount",
            10001,
            "REQ1",
        )
        assert info.value.retry_after == 3
        with pytest.raises(RateLimitError) as info2:
            client.start_segment(_start())
        assert (info2.value.code, info2.value.code_n) == (429, None)
        with pytest.raises(InvalidRequestError) as info3:
            client.start_segment(_start())
        assert (info3.value.code, info3.value.http_status) == (404, 404)


def test_get_task_without_segment_task(scripted: tuple[str, type[_Scripted]]) -> None:
    """A GetSegmentTask answer without Result.SegmentTask is a ProtocolError."""
    url, handler = scripted
    handler.answers.append((200, {}, _json({"ResponseMetadata": META, "Result": {}})))
    with RtcClient("AK", SECRET, endpoint=url) as client, pytest.raises(ProtocolError) as info:
        client.get_segment_task("a", "r", "t")
    assert info.value.request_id == "REQ1"
    assert handler.seen[0].startswith("/?Action=GetSegmentTask&AppId=a&RoomId=r&TaskId=t")


def test_endpoint_path_is_used(scripted: tuple[str, type[_Scripted]]) -> None:
    """An endpoint with a path (a gateway prefix) sends and signs that path."""
    url, handler = scripted
    handler.answers.append((200, {}, _json({"ResponseMetadata": META, "Result": "ok"})))
    with RtcClient("AK", SECRET, endpoint=url + "/rtc-proxy") as client:
        assert client.start_segment(_start()).result == "ok"
    assert handler.seen[0].startswith("/rtc-proxy?Action=StartSegment")
