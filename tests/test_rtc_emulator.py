"""The emulator's RTC side: schema checks, actions, faults, the object store, callback delivery."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import io
import json
import threading
import time
import wave
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
import requests

from volcspeech._signing import canonical_query, sign
from volcspeech.errors import CallbackSignatureError
from volcspeech.rtc import (
    CallbackDeduplicator,
    StartSegmentRequest,
    parse_callback,
    sign_callback,
)
from volcspeech.testing import Emulator
from volcspeech.testing._callback_sender import check_loopback_url
from volcspeech.testing._callback_signer import (
    SIGNED_FIELDS,
    callback_signature,
    segment_callback,
)
from volcspeech.testing._wav import wav_bytes


@pytest.fixture
def emu(volcspeech_emulator: Emulator) -> Emulator:
    """A running emulator (the plugin's)."""
    return volcspeech_emulator


@pytest.fixture(scope="module")
def shared(volcspeech_emulator_factory: Callable[[], Emulator]) -> Iterator[Emulator]:
    """One emulator for the tests that only send requests the service refuses."""
    with volcspeech_emulator_factory() as emulator:
        yield emulator


def _raw(
    emu: Emulator,
    action: str,
    body: Any = None,
    *,
    method: str = "POST",
    query: dict[str, str] | None = None,
    data: bytes | None = None,
    version: str = "2023-11-01",
) -> requests.Response:
    """Send a correctly signed request with any body, bypassing the client's validation."""
    payload = data if data is not None else (b"" if body is None else json.dumps(body).encode())
    params = {"Action": action, "Version": version, **(query or {})}
    headers = {"Host": f"127.0.0.1:{emu.port}", "Content-Type": "application/json"}
    creds = emu.credentials
    signed = sign(
        method=method,
        query=params,
        headers=headers,
        body=payload,
        access_key_id=creds.access_key_id,
        secret_access_key=creds.secret_access_key,
        region="cn-north-1",
        service="rtc",
        now=dt.datetime.now(dt.timezone.utc),
    )
    return requests.request(
        method,
        f"{emu.url}/?{canonical_query(params)}",
        data=payload,
        headers={**headers, **signed},
        timeout=10,
    )


def _error(response: requests.Response) -> tuple[int, str]:
    payload = response.json()
    meta = payload["ResponseMetadata"]
    assert set(meta) >= {"RequestId", "Action", "Version", "Service", "Region", "Error"}
    assert meta["Service"] == "rtc"
    assert "Result" not in payload
    return response.status_code, meta["Error"]["Code"]


VALID = {
    "AppId": "app",
    "RoomId": "room",
    "TaskId": "task",
    "StorageConfig": {"Type": 0, "TosConfig": {"AccountId": "1", "Bucket": "b"}},
}
CUSTOM = {
    "Type": 2,
    "CustomConfig": {"Vendor": 0, "Bucket": "b", "AccessKey": "a", "SecretKey": "s"},
}


def _with(**changes: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(VALID))
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


SCHEMA_CASES: list[tuple[dict[str, Any], str]] = [
    (_with(AppId=None), "MissingParameter.AppId"),
    (_with(AppId="a b"), "InvalidParameter.AppId"),
    (_with(RoomId="r" * 129), "InvalidParameter.RoomId"),
    (_with(TaskId=5), "InvalidParameter.TaskId"),
    (_with(BusinessId="b/b"), "InvalidParameter.BusinessId"),
    (_with(Duration=0), "InvalidParameter.Duration"),
    (_with(Duration="20"), "InvalidParameter.Duration"),
    (_with(MaxIdleTime=86401), "InvalidParameter.MaxIdleTime"),
    (_with(StorageConfig=None), "MissingParameter.StorageConfig"),
    (_with(StorageConfig=[]), "InvalidParameter.StorageConfig"),
    (_with(StorageConfig={"Type": 1, "VodConfig": {}}), "InvalidParameter.StorageConfig.Type"),
    (_with(StorageConfig={"Type": 5}), "InvalidParameter.StorageConfig.Type"),
    (_with(StorageConfig={"Type": 0}), "MissingParameter.StorageConfig.TosConfig"),
    (
        _with(StorageConfig={"TosConfig": {"AccountId": "1", "Bucket": "b"}, **CUSTOM}),
        "InvalidParameter.StorageConfig.TosConfig",
    ),
    (
        _with(StorageConfig={"Type": 0, "TosConfig": {"AccountId": "1", "Bucket": ""}}),
        "InvalidParameter.StorageConfig.TosConfig.Bucket",
    ),
    (
        _with(
            StorageConfig={"Type": 0, "TosConfig": {"AccountId": "1", "Bucket": "b", "Region": -1}}
        ),
        "InvalidParameter.StorageConfig.TosConfig.Region",
    ),
    (
        _with(StorageConfig={"Type": 2, "CustomConfig": {"Bucket": "b", "AccessKey": "a"}}),
        "MissingParameter.StorageConfig.CustomConfig.SecretKey",
    ),
    (
        _with(StorageConfig={**CUSTOM, "CustomConfig": {**CUSTOM["CustomConfig"], "Vendor": 9}}),
        "InvalidParameter.StorageConfig.CustomConfig.Vendor",
    ),
    (
        _with(StorageConfig={**VALID["StorageConfig"], "Control": {"Align": True}}),
        "InvalidParameter.StorageConfig.Control",
    ),
    (
        _with(TargetStreams={"StreamList": [{"UserId": f"u{i}"} for i in range(18)]}),
        "InvalidParameter.TargetStreams.StreamList",
    ),
    (
        _with(TargetStreams={"StreamList": {"UserId": "u"}}),
        "InvalidParameter.TargetStreams.StreamList",
    ),
    (_with(TargetStreams=[]), "InvalidParameter.TargetStreams"),
    (
        _with(TargetStreams={"StreamList": [{"UserId": "u u"}]}),
        "InvalidParameter.TargetStreams.StreamList.UserId",
    ),
    (_with(TargetStreams={"StreamList": [{}]}), "MissingParameter.TargetStreams.StreamList.UserId"),
    (
        _with(TargetStreams={"StreamList": [{"UserId": "u", "StreamType": 2}]}),
        "InvalidParameter.TargetStreams.StreamList.StreamType",
    ),
    (
        _with(
            TargetStreams={"StreamList": [{"UserId": "u", "Index": 1}, {"UserId": "v", "Index": 1}]}
        ),
        "InvalidParameter.TargetStreams.StreamList.Index",
    ),
    (_with(Control={"Align": "yes"}), "InvalidParameter.Control.Align"),
    (_with(Control={"RedundantDuration": -1}), "InvalidParameter.Control.RedundantDuration"),
    (_with(Control={"Unknown": 1}), "InvalidParameter.Control.Unknown"),
    (_with(Handle="true"), "InvalidParameter.Handle"),
    (_with(Identifier="a*b"), "InvalidParameter.Identifier"),
    (_with(Foo=1), "InvalidParameter.Foo"),
]


@pytest.mark.parametrize(("body", "code"), SCHEMA_CASES)
def test_start_segment_schema(shared: Emulator, body: dict[str, Any], code: str) -> None:
    """Bodies that break the documented schema answer HTTP 400 with a field-specific code."""
    assert _error(_raw(shared, "StartSegment", body)) == (400, code)


def test_valid_bodies_pass_the_schema(emu: Emulator) -> None:
    """The minimal and a full custom-store body are accepted."""
    assert _raw(emu, "StartSegment", VALID).json()["Result"] == "ok"
    full = _with(
        TaskId="t2",
        BusinessId="biz",
        MaxIdleTime=10,
        Duration=600,
        StorageConfig=CUSTOM,
        TargetStreams={"StreamList": [{"UserId": "u", "StreamType": 1, "Index": 0}]},
        Control={"Align": False, "Mixed": True, "IgnoreSilence": True, "RedundantDuration": 0},
        Identifier="id",
        Handle=True,
    )
    assert _raw(emu, "StartSegment", full).json()["Result"] == "ok"


@pytest.mark.parametrize(
    ("action", "body", "code"),
    [
        ("UpdateSegment", {"AppId": "a", "RoomId": "r"}, "MissingParameter.TaskId"),
        (
            "UpdateSegment",
            {"AppId": "a", "RoomId": "r", "TaskId": "t", "Duration": 601},
            "InvalidParameter.Duration",
        ),
        (
            "UpdateSegment",
            {"AppId": "a", "RoomId": "r", "TaskId": "t", "Handle": 1},
            "InvalidParameter.Handle",
        ),
        (
            "UpdateSegment",
            {"AppId": "a", "RoomId": "r", "TaskId": "t", "MaxIdleTime": 5},
            "InvalidParameter.MaxIdleTime",
        ),
        ("StopSegment", {"AppId": "a", "RoomId": "r r", "TaskId": "t"}, "InvalidParameter.RoomId"),
        (
            "StopSegment",
            {"AppId": "a", "RoomId": "r", "TaskId": "t", "Duration": 5},
            "InvalidParameter.Duration",
        ),
        ("StartSegment", [1], "InvalidParameter.Body"),
        ("StartSegment", None, "InvalidParameter.Body"),
    ],
)
def test_other_schemas(shared: Emulator, action: str, body: Any, code: str) -> None:
    """UpdateSegment and StopSegment bodies are checked too; non-objects are refused."""
    assert _error(_raw(shared, action, body)) == (400, code)


def test_gateway_level_errors(emu: Emulator) -> None:
    """Unknown actions and versions, wrong methods, bad JSON and huge bodies are refused."""
    assert _error(_raw(emu, "ListRooms", VALID)) == (404, "InvalidActionOrVersion")
    assert _error(_raw(emu, "StartSegment", VALID, version="2020-12-01")) == (
        404,
        "InvalidActionOrVersion",
    )
    assert _error(_raw(emu, "StartSegment", method="GET")) == (405, "InvalidParameter.Method")
    query = {"AppId": "a", "RoomId": "r", "TaskId": "t"}
    assert _error(_raw(emu, "GetSegmentTask", query=query)) == (405, "InvalidParameter.Method")
    assert _error(_raw(emu, "StartSegment", data=b"{nope")) == (400, "InvalidParameter.Body")
    assert _error(_raw(emu, "StartSegment", data=b"\xff")) == (400, "InvalidParameter.Body")
    huge = b" " * ((1 << 20) + 1)
    assert _error(_raw(emu, "StartSegment", data=huge)) == (413, "InvalidParameter.Body")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"AppId": "a", "RoomId": "r"}, "MissingParameter.TaskId"),
        ({"AppId": "a", "RoomId": "r r", "TaskId": "t"}, "InvalidParameter.RoomId"),
        ({"AppId": "a", "RoomId": "r", "TaskId": "unknown"}, "InvalidParameter.TaskNotFound"),
    ],
)
def test_get_segment_task_query(shared: Emulator, query: dict[str, str], code: str) -> None:
    """GetSegmentTask checks its query parameters."""
    assert _error(_raw(shared, "GetSegmentTask", method="GET", query=query)) == (400, code)


def test_unclaimed_paths_are_not_rtc(emu: Emulator) -> None:
    """Only `/` with an Action belongs to the RTC service."""
    assert requests.get(f"{emu.url}/?Version=2023-11-01", timeout=5).status_code == 404
    assert requests.get(f"{emu.url}/other?Action=StartSegment", timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("fault", "status", "code", "code_n"),
    [
        ({"code": "FlowLimitExceeded"}, 429, "FlowLimitExceeded", None),
        ({}, 500, "InternalError", None),
        ({"code": "InternalError.Timeout"}, 500, "InternalError.Timeout", None),
        ({"code": "AccessDenied"}, 400, "AccessDenied", None),
        ({"http_status": 429}, 429, "FlowLimitExceeded", None),
        ({"http_status": 403}, 403, "InvalidParameter", None),
        ({"http_status": 503}, 503, "InternalError", None),
        ({"code": 100014, "http_status": 500}, 500, "InternalError", 100014),
    ],
)
def test_fault_rendering(
    emu: Emulator, fault: dict[str, Any], status: int, code: str, code_n: int | None
) -> None:
    """Injected faults answer in the RTC envelope with a matching status and code."""
    emu.inject(service="rtc", message="injected", retry_after=1, **fault)
    response = _raw(emu, "StartSegment", VALID)
    assert _error(response) == (status, code)
    error = response.json()["ResponseMetadata"]["Error"]
    assert error.get("CodeN") == code_n
    assert error["Message"] == "injected"
    assert response.headers["Retry-After"] == "1"


def test_task_view_and_reset(emu: Emulator) -> None:
    """emulator.rtc.task() shows a task as GetSegmentTask would; reset() forgets tasks."""
    with emu.rtc.client() as client:
        request = StartSegmentRequest.from_dict(
            _with(Control={"Mixed": True}, TargetStreams={"StreamList": [{"UserId": "u"}]})
        )
        client.start_segment(request)
    view = emu.rtc.task("app", "room", "task")
    assert view is not None
    assert view["Status"] == 2
    assert view["Control"] == {"Mixed": True}
    assert view["TargetStreams"] == {"StreamList": [{"UserId": "u"}]}
    assert len(view["Identifier"]) == 36  # a random UUID by default
    assert emu.rtc.task("app", "room", "other") is None
    emu.rtc.reset()
    assert emu.rtc.task("app", "room", "task") is None


# --- the object store --------------------------------------------------------------------


def test_storage_service(emu: Emulator) -> None:
    """Objects put in process are served over HTTP; others answer 404; writes over HTTP 405."""
    store = emu.storage
    store.put("bucket", "dir/a.wav", b"RIFF....")
    store.put("bucket", "b.bin", b"\x00\x01")
    assert store.keys("bucket") == ["b.bin", "dir/a.wav"]
    assert store.buckets() == ["bucket"]
    assert store.get("bucket", "nope") is None
    response = requests.get(store.url("bucket", "dir/a.wav"), timeout=5)
    assert (response.status_code, response.content) == (200, b"RIFF....")
    assert response.headers["Content-Type"] == "audio/wav"
    assert requests.get(store.url("bucket", "b.bin"), timeout=5).headers["Content-Type"] == (
        "application/octet-stream"
    )
    assert requests.get(f"{emu.url}/storage/bucket/missing", timeout=5).status_code == 404
    assert requests.get(f"{emu.url}/storage/bucket", timeout=5).status_code == 404
    assert requests.put(store.url("bucket", "c"), data=b"x", timeout=5).status_code == 405
    emu.inject(service="storage", http_status=503, code="SlowDown")
    failed = requests.get(store.url("bucket", "b.bin"), timeout=5)
    assert (failed.status_code, failed.json()["error"]) == (503, "SlowDown")
    with pytest.raises(ValueError):
        store.put("", "k", b"")
    store.clear()
    assert store.keys("bucket") == []


# --- rooms -------------------------------------------------------------------------------


def test_register_room_validation(emu: Emulator) -> None:
    """Unreadable or inconsistent tracks and bad publishing windows are refused."""
    good = wav_bytes(b"\x01\x00" * 16000, 16000)
    with pytest.raises(ValueError, match="at least one track"):
        emu.rtc.register_room("a", "r", {})
    with pytest.raises(ValueError, match=r"'u'.*not a readable WAV"):
        emu.rtc.register_room("a", "r", {"u": b"not a wav"})
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(b"\x00" * 400)
    with pytest.raises(ValueError, match="mono 16-bit"):
        emu.rtc.register_room("a", "r", {"u": buffer.getvalue()})
    with pytest.raises(ValueError, match="one sample rate"):
        emu.rtc.register_room("a", "r", {"u": good, "v": wav_bytes(b"\x00\x00" * 8000, 8000)})
    with pytest.raises(ValueError, match="publish window"):
        emu.rtc.register_room("a", "r", {"u": good}, publish={"u": (500, 500)})


# --- callbacks ---------------------------------------------------------------------------


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []
    fail_first: ClassVar[int] = 0
    status: ClassVar[int] = 200
    delay_first: ClassVar[float] = 0.0
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        with cls.lock:
            cls.bodies.append(body)
            count = len(cls.bodies)
        if count == 1 and cls.delay_first:
            time.sleep(cls.delay_first)
        status = 500 if count <= cls.fail_first else cls.status
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    """A webhook receiver on 127.0.0.1 that records the bodies it gets."""
    handler = type(
        "Receiver",
        (_Receiver,),
        {
            "bodies": [],
            "fail_first": 0,
            "status": 200,
            "delay_first": 0.0,
            "lock": threading.Lock(),
        },
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/rtc/callback", handler
    finally:
        server.shutdown()
        server.server_close()


def _start_sample(emu: Emulator, task_id: str = "t1", **control: Any) -> None:
    request = StartSegmentRequest.from_dict(
        {
            "AppId": "demo-app",
            "RoomId": "demo-room",
            "TaskId": task_id,
            "StorageConfig": {"Type": 0, "TosConfig": {"AccountId": "1", "Bucket": "segments"}},
            "Control": control,
        }
    )
    with emu.rtc.client() as client:
        client.start_segment(request)


def test_callbacks_arrive_at_a_local_receiver_and_verify(
    emu: Emulator, receiver: tuple[str, type[_Receiver]]
) -> None:
    """Every segment's callback reaches the receiver in order, verifies and names a real file."""
    url, handler = receiver
    emu.rtc.register_sample_room()
    emu.rtc.callback_url = url
    _start_sample(emu)
    assert emu.rtc.wait_for_callbacks(10)
    segments = emu.rtc.segments
    assert len(handler.bodies) == len(segments) == 6
    secret = emu.credentials.callback_secret
    for body, expected in zip(handler.bodies, segments):
        event = parse_callback(body, secret, max_age=60)
        segment = event.segment()
        assert segment.event_id == expected.event_id
        assert (segment.user_id, segment.sequence, segment.start_time_ms) == (
            expected.user_id,
            expected.sequence,
            expected.start_time,
        )
        assert segment.duration_ms == expected.duration_ms
        assert segment.url is not None
        stored = requests.get(segment.url, timeout=5).content
        assert stored == emu.storage.get(segment.bucket or "", segment.object_key or "")
    assert all(d.delivered and d.attempt == 1 for d in emu.rtc.deliveries)
    assert emu.rtc.pending_callbacks == []


def test_failed_deliveries_are_resent_at_most_twice(
    emu: Emulator, receiver: tuple[str, type[_Receiver]]
) -> None:
    """A non-200 answer is retried; after three attempts the callback is given up."""
    url, handler = receiver
    handler.fail_first = 2
    emu.rtc.register_sample_room()
    emu.rtc.callback_url = url
    _start_sample(emu)
    assert emu.rtc.wait_for_callbacks(10)
    first = [d for d in emu.rtc.deliveries if d.event_id == emu.rtc.segments[0].event_id]
    assert [(d.attempt, d.status) for d in first] == [(1, 500), (2, 500), (3, 200)]
    handler.status = 503
    emu.rtc.reset()
    _start_sample(emu, "t2")
    assert emu.rtc.wait_for_callbacks(10)
    attempts = emu.rtc.deliveries
    assert len(attempts) == 3 * len(emu.rtc.segments)
    assert {d.attempt for d in attempts} == {1, 2, 3}
    assert not any(d.delivered for d in attempts)


def test_slow_receiver_counts_as_failed(
    emu: Emulator, receiver: tuple[str, type[_Receiver]]
) -> None:
    """No answer within the callback timeout is a failure, and the callback is re-sent."""
    url, handler = receiver
    handler.delay_first = 0.5
    emu.rtc.callback_timeout = 0.1
    assert emu.rtc.callback_timeout == 0.1
    emu.rtc.register_sample_room()
    emu.rtc.callback_url = url
    _start_sample(emu)
    assert emu.rtc.wait_for_callbacks(10)
    first = emu.rtc.deliveries[0]
    assert first.status is None
    assert first.error is not None
    assert "no answer" in first.error
    assert emu.rtc.deliveries[1].delivered


def test_unreachable_receiver(emu: Emulator) -> None:
    """A receiver that is not listening gets three attempts per callback, then nothing."""
    emu.rtc.register_sample_room()
    emu.rtc.callback_url = "http://127.0.0.1:9/closed"
    _start_sample(emu)
    assert emu.rtc.wait_for_callbacks(20)
    assert len(emu.rtc.deliveries) == 3 * len(emu.rtc.segments)
    assert all(d.error for d in emu.rtc.deliveries)


def test_shuffled_and_duplicated_deliveries(
    emu: Emulator, receiver: tuple[str, type[_Receiver]]
) -> None:
    """Options shuffle and duplicate deliveries; a deduplicator restores exactly one of each."""
    url, handler = receiver
    emu.rtc.register_sample_room()
    emu.rtc.callback_url = url
    emu.rtc.callback_options(shuffle=True, duplicate=0.5, seed=3)
    _start_sample(emu, Mixed=True)
    assert emu.rtc.wait_for_callbacks(10)
    secret = emu.credentials.callback_secret
    events = [parse_callback(b, secret) for b in handler.bodies]
    expected = [s.event_id for s in emu.rtc.segments]
    assert len(events) > len(expected)
    assert [e.event_id for e in events] != expected
    dedup = CallbackDeduplicator()
    unique = [e for e in events if dedup.first_delivery(e)]
    assert sorted(e.event_id for e in unique) == sorted(expected)


def test_pending_callbacks_without_url(emu: Emulator) -> None:
    """Without a callback URL the signed bodies are kept and can be taken."""
    emu.rtc.register_sample_room()
    _start_sample(emu)
    pending = emu.rtc.pending_callbacks
    assert len(pending) == len(emu.rtc.segments)
    assert parse_callback(pending[0], emu.credentials.callback_secret).event_type == (
        "SegmentRealTimeData"
    )
    assert emu.rtc.take_callbacks() == pending
    assert emu.rtc.take_callbacks() == []
    assert emu.rtc.wait_for_callbacks(0.1)
    assert emu.rtc.deliveries == []


@pytest.mark.parametrize(
    "url",
    ["http://example.com/cb", "http://10.0.0.1/cb", "ftp://127.0.0.1/cb", "http:///x", "nope"],
)
def test_callbacks_only_go_to_loopback(emu: Emulator, url: str) -> None:
    """Callback URLs off the loopback interface are refused."""
    with pytest.raises(ValueError):
        emu.rtc.callback_url = url
    assert emu.rtc.callback_url is None


def test_loopback_urls_are_accepted(emu: Emulator) -> None:
    """127.0.0.0/8, localhost and ::1 are allowed; None switches delivery off."""
    for url in (
        "http://127.0.0.1:1/x",
        "http://127.1.2.3/x",
        "http://localhost:8/x",
        "https://[::1]:9/",
    ):
        assert check_loopback_url(url) == url
        emu.rtc.callback_url = url
    emu.rtc.callback_url = None
    assert emu.rtc.callback_url is None


def test_callback_options_validation(emu: Emulator) -> None:
    """Out-of-range options are refused."""
    with pytest.raises(ValueError):
        emu.rtc.callback_options(duplicate=1.5)
    with pytest.raises(ValueError):
        emu.rtc.callback_options(pace=-1)


def test_paced_delivery(emu: Emulator, receiver: tuple[str, type[_Receiver]]) -> None:
    """A pace spaces the deliveries out."""
    url, _ = receiver
    emu.rtc.register_sample_room()
    emu.rtc.callback_url = url
    emu.rtc.callback_options(pace=0.02)
    _start_sample(emu)
    assert emu.rtc.wait_for_callbacks(10)
    times = [d.time for d in emu.rtc.deliveries]
    assert times[-1] - times[0] >= 0.02 * (len(times) - 1) * 0.9


# --- the emulator's own callback signer ---------------------------------------------------


def test_emulator_signer_known_answer() -> None:
    """The emulator signs the SHA-256 of the eight strings sorted and concatenated."""
    envelope = {
        "EventType": "SegmentRealTimeData",
        "EventData": '{"RoomId":"r"}',
        "EventTime": "2024-01-02T03:04:05.000000000Z",
        "EventId": "e1",
        "AppId": "app",
        "Version": "2023-11-01",
        "Nonce": "0042",
    }
    # The eight strings in byte order, written out by hand.
    ordered = [
        "0042",
        "2023-11-01",
        "2024-01-02T03:04:05.000000000Z",
        "SegmentRealTimeData",
        "app",
        "e1",
        "secret",
        '{"RoomId":"r"}',
    ]
    expected = hashlib.sha256("".join(ordered).encode()).hexdigest()
    assert callback_signature(envelope, "secret") == expected
    assert callback_signature({**envelope, "Signature": "x", "Other": "y"}, "secret") == expected


def test_emulator_signer_sorts_non_ascii_as_utf8() -> None:
    """Strings beyond ASCII sort by their UTF-8 bytes, the order of the vendor's Go sort."""
    envelope = dict.fromkeys(SIGNED_FIELDS, "a")
    envelope["EventData"] = '{"RoomId":"会议室"}'
    envelope["AppId"] = "\U0001f600"  # UTF-16 order would put it before U+FF21
    envelope["Nonce"] = "\uff21"
    signature = callback_signature(envelope, "秘密")
    assert signature == sign_callback(envelope, "秘密")


@pytest.mark.parametrize("field", [*SIGNED_FIELDS, "Signature"])
def test_library_verifier_accepts_emulator_signatures_and_rejects_tampering(field: str) -> None:
    """parse_callback accepts what the emulator signs and refuses it with any field changed."""
    data = {
        "AppId": "app",
        "RoomId": "r",
        "TaskId": "t",
        "UserId": "u",
        "StreamType": 0,
        "Bucket": "b",
        "ObjectKey": "k.wav",
        "StartTime": 1,
        "Duration": 2,
        "Sequence": 0,
    }
    envelope = segment_callback("app", data, "the-secret", now_ms=1_700_000_000_000)
    now = 1_700_000_000.0  # the envelope's own time: only the signature is under test
    event = parse_callback(envelope, "the-secret", now=now)
    assert (event.event_id, event.app_id) == (envelope["EventId"], "app")
    assert event.segment().room_id == "r"
    with pytest.raises(CallbackSignatureError):
        parse_callback(envelope, "another-secret", now=now)
    tampered = dict(envelope)
    tampered[field] = tampered[field] + "0" if field != "EventData" else '{"RoomId":"x"}'
    with pytest.raises(CallbackSignatureError):
        parse_callback(tampered, "the-secret", now=now)


def test_emulated_callbacks_carry_the_emulators_own_signature(emu: Emulator) -> None:
    """Every callback the service queues is signed by the emulator's signer and verifies."""
    emu.rtc.register_sample_room()
    _start_sample(emu)
    secret = emu.credentials.callback_secret
    for body in emu.rtc.take_callbacks():
        assert body["Signature"] == callback_signature(body, secret)
        assert parse_callback(body, secret).event_type == "SegmentRealTimeData"
