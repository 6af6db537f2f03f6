"""RTC callbacks: signature verification first, then parsing, ages, duplicates and segments."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from typing import Any

import attrs
import pytest

from volcspeech.errors import (
    CallbackError,
    CallbackSignatureError,
    ConfigurationError,
    StaleCallbackError,
)
from volcspeech.rtc import (
    CallbackDeduplicator,
    CallbackEvent,
    Segment,
    SegmentFieldMapping,
    parse_callback,
    sign_callback,
)
from volcspeech.rtc._callbacks import parse_event_time

SECRET = "callback-secret-from-console"
EVENT_TIME = "2024-05-01T08:00:00.123456789Z"
EVENT_EPOCH = dt.datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=dt.timezone.utc).timestamp()

SEGMENT_DATA = {
    "AppId": "app",
    "BusinessId": "biz",
    "RoomId": "room",
    "TaskId": "task",
    "UserId": "alice",
    "StreamType": 0,
    "Identifier": "pre",
    "Bucket": "bucket",
    "ObjectKey": "pre_alice_1714550400000_0.wav",
    "Url": "http://127.0.0.1:1/storage/bucket/pre_alice_1714550400000_0.wav",
    "StartTime": 1714550400000,
    "Duration": 20000,
    "Sequence": 0,
}


def _envelope(secret: str = SECRET, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "EventType": "SegmentRealTimeData",
        "EventData": json.dumps(SEGMENT_DATA),
        "EventTime": EVENT_TIME,
        "EventId": "evt-1",
        "AppId": "app",
        "Version": "2023-11-01",
        "Nonce": "4821",
    }
    fields.update(overrides)
    fields["Signature"] = sign_callback(fields, secret)
    return fields


def _body(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope).encode()


def test_signature_matches_an_independent_computation() -> None:
    """sign_callback sorts the eight strings, concatenates them and hashes with SHA-256."""
    fields = {
        "EventType": "RecordStarted",
        "EventData": '{"RoomId":"r"}',
        "EventTime": "1970-07-01T00:00:00.000000000Z",
        "EventId": "id",
        "AppId": "Your_AppId",
        "Version": "2020-12-01",
        "Nonce": "1234",
    }
    parts = sorted([*fields.values(), "secret"])
    expected = hashlib.sha256("".join(parts).encode()).hexdigest()
    assert sign_callback(fields, "secret") == expected
    assert sign_callback({**fields, "Extra": "ignored"}, "secret") == expected


@pytest.mark.parametrize("kind", ["bytes", "str", "dict", "bytearray"])
def test_valid_callback(kind: str) -> None:
    """A correctly signed callback parses, whatever form the body comes in."""
    envelope = _envelope()
    body: Any = {
        "bytes": _body(envelope),
        "str": _body(envelope).decode(),
        "dict": envelope,
        "bytearray": bytearray(_body(envelope)),
    }[kind]
    event = parse_callback(body, SECRET, max_age=60, now=EVENT_EPOCH + 1)
    assert isinstance(event, CallbackEvent)
    assert (event.event_type, event.event_id, event.app_id, event.version, event.nonce) == (
        "SegmentRealTimeData",
        "evt-1",
        "app",
        "2023-11-01",
        "4821",
    )
    assert event.event_time == dt.datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=dt.timezone.utc)
    assert event.data == SEGMENT_DATA
    assert event.raw["Signature"] == envelope["Signature"]


def test_uppercase_signature_is_accepted() -> None:
    """Hex case does not matter."""
    envelope = _envelope()
    envelope["Signature"] = envelope["Signature"].upper()
    assert parse_callback(envelope, SECRET).event_id == "evt-1"


def test_tampered_callback_fails_signature() -> None:
    """Changing any signed field breaks the signature."""
    for field, value in (
        ("EventData", json.dumps({**SEGMENT_DATA, "UserId": "mallory"})),
        ("EventId", "evt-2"),
        ("EventTime", "2024-05-01T08:00:01Z"),
        ("Nonce", "0000"),
        ("AppId", "other"),
    ):
        envelope = _envelope()
        envelope[field] = value
        with pytest.raises(CallbackSignatureError):
            parse_callback(_body(envelope), SECRET)


def test_tampered_malformed_event_data_fails_on_signature_not_json() -> None:
    """Nothing is parsed before verification: forged, malformed EventData is a signature error."""
    envelope = _envelope()
    envelope["EventData"] = "{not json"
    with pytest.raises(CallbackSignatureError):
        parse_callback(_body(envelope), SECRET)


def test_wrong_secret() -> None:
    """A callback signed with another secret is refused, without revealing either."""
    envelope = _envelope(secret="another-secret")
    with pytest.raises(CallbackSignatureError) as info:
        parse_callback(_body(envelope), SECRET)
    assert SECRET not in str(info.value)
    assert "another-secret" not in str(info.value)


def test_signed_malformed_event_data_is_a_callback_error() -> None:
    """Correctly signed but unparseable EventData is a CallbackError (after verification)."""
    with pytest.raises(CallbackError, match="EventData is not JSON") as info:
        parse_callback(_envelope(EventData="{not json"), SECRET)
    assert not isinstance(info.value, CallbackSignatureError)
    with pytest.raises(CallbackError, match="must be a JSON object"):
        parse_callback(_envelope(EventData="[1, 2]"), SECRET)
    assert parse_callback(_envelope(EventData=""), SECRET).data == {}


def test_oversized_body_is_refused_before_parsing() -> None:
    """A body over the limit is refused without being parsed."""
    huge = b"{" + b" " * (1 << 20) + b"}"
    with pytest.raises(CallbackError, match="byte limit"):
        parse_callback(huge, SECRET)
    envelope = _body(_envelope())
    with pytest.raises(CallbackError, match="byte limit"):
        parse_callback(envelope, SECRET, max_body_size=100)
    with pytest.raises(CallbackError, match="byte limit"):
        parse_callback(envelope.decode(), SECRET, max_body_size=100)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not UTF-8 JSON"),
        (b"\xff\xfe{}", "not UTF-8 JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{}", "Signature is missing"),
        (12, "must be bytes, str or a dict"),
    ],
)
def test_malformed_bodies(body: Any, message: str) -> None:
    """Malformed bodies raise CallbackError (not a signature error, not a JSON exception)."""
    with pytest.raises(CallbackError, match=message) as info:
        parse_callback(body, SECRET)
    assert not isinstance(info.value, CallbackSignatureError)


@pytest.mark.parametrize(
    "field", ["EventType", "EventData", "EventTime", "EventId", "AppId", "Version", "Nonce"]
)
def test_missing_or_non_string_fields(field: str) -> None:
    """Every signed field must be present and a string."""
    envelope = _envelope()
    del envelope[field]
    with pytest.raises(CallbackError, match=f"{field} is missing"):
        parse_callback(envelope, SECRET)
    envelope = _envelope()
    envelope[field] = 5
    with pytest.raises(CallbackError, match=f"{field} must be a string"):
        parse_callback(envelope, SECRET)


def test_noce_spelling_is_accepted() -> None:
    """The BytePlus spelling Noce is read when Nonce is absent."""
    fields = _envelope()
    fields["Noce"] = fields.pop("Nonce")
    fields["Signature"] = sign_callback(fields, SECRET)
    assert parse_callback(fields, SECRET).nonce == "4821"


def test_stale_and_future_callbacks() -> None:
    """max_age refuses old events and events from the future; without it any age passes."""
    body = _body(_envelope())
    with pytest.raises(StaleCallbackError, match="old"):
        parse_callback(body, SECRET, max_age=300, now=EVENT_EPOCH + 301)
    with pytest.raises(StaleCallbackError, match="in the future"):
        parse_callback(body, SECRET, max_age=300, now=EVENT_EPOCH - 301)
    fresh = dt.datetime.fromtimestamp(EVENT_EPOCH + 299, dt.timezone.utc)
    assert parse_callback(body, SECRET, max_age=300, now=fresh).event_id == "evt-1"
    naive = dt.datetime.fromtimestamp(EVENT_EPOCH + 10, dt.timezone.utc).replace(tzinfo=None)
    assert parse_callback(body, SECRET, max_age=300, now=naive).event_id == "evt-1"
    assert parse_callback(body, SECRET).event_id == "evt-1"


def test_stale_check_runs_after_signature() -> None:
    """A forged old event is a signature error, not a stale one."""
    envelope = _envelope()
    envelope["EventId"] = "forged"
    with pytest.raises(CallbackSignatureError):
        parse_callback(envelope, SECRET, max_age=1, now=EVENT_EPOCH + 10**6)


def test_unreadable_event_time() -> None:
    """An EventTime in an unknown format reads as None, and fails a max_age check."""
    envelope = _envelope(EventTime="yesterday")
    assert parse_callback(envelope, SECRET).event_time is None
    with pytest.raises(StaleCallbackError, match="cannot be read"):
        parse_callback(envelope, SECRET, max_age=60)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T08:00:00Z", dt.datetime(2024, 5, 1, 8, 0, 0)),
        ("2024-05-01T08:00:00.5Z", dt.datetime(2024, 5, 1, 8, 0, 0, 500000)),
        ("2024-05-01T16:00:00.000000000+08:00", dt.datetime(2024, 5, 1, 8, 0, 0)),
        ("2024-05-01T03:30:00-0430", dt.datetime(2024, 5, 1, 8, 0, 0)),
        ("1970-07-01T 00:00:00.000000000 Z", dt.datetime(1970, 7, 1)),
        ("2024-05-01 08:00:00z", dt.datetime(2024, 5, 1, 8, 0, 0)),
        ("1714550400000", dt.datetime(2024, 5, 1, 8, 0, 0)),
        ("1714550400", dt.datetime(2024, 5, 1, 8, 0, 0)),
    ],
)
def test_event_time_formats(text: str, expected: dt.datetime) -> None:
    """RFC 3339 (any fraction, any offset) and epoch ms or s digits are understood."""
    assert parse_event_time(text) == expected.replace(tzinfo=dt.timezone.utc)


def test_empty_secret_is_a_configuration_error() -> None:
    """An empty secret is refused rather than used."""
    with pytest.raises(ConfigurationError):
        parse_callback(_envelope(), "")
    with pytest.raises(ConfigurationError):
        sign_callback(_envelope(), "")


# --- duplicates --------------------------------------------------------------------------


def test_deduplicator() -> None:
    """A re-delivered EventId is recognised; the oldest ids are forgotten past max_size."""
    dedup = CallbackDeduplicator(max_size=2)
    event = parse_callback(_envelope(), SECRET)
    assert dedup.first_delivery(event)
    assert not dedup.first_delivery(parse_callback(_envelope(), SECRET))
    assert dedup.seen("evt-1")
    assert event in dedup
    assert "evt-9" not in dedup
    assert 5 not in dedup
    assert not dedup.seen("evt-2")
    assert not dedup.seen("evt-3")  # evicts evt-1 (evt-2 was used more recently)
    assert len(dedup) == 2
    assert "evt-1" not in dedup
    dedup.clear()
    assert len(dedup) == 0
    with pytest.raises(ConfigurationError):
        CallbackDeduplicator(max_size=0)


def test_deduplicator_is_thread_safe() -> None:
    """Many threads delivering the same ids see each id exactly once."""
    dedup = CallbackDeduplicator()
    firsts: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for i in range(200):
            if dedup.first_delivery(f"id-{i}"):
                with lock:
                    firsts.append(f"id-{i}")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(firsts) == sorted(f"id-{i}" for i in range(200))


# --- segments ----------------------------------------------------------------------------


def test_segment_with_default_mapping() -> None:
    """SegmentRealTimeData reads into a Segment with the default field names."""
    segment = parse_callback(_envelope(), SECRET).segment()
    assert segment == Segment(
        app_id="app",
        room_id="room",
        task_id="task",
        user_id="alice",
        stream_type=0,
        sequence=0,
        start_time_ms=1714550400000,
        duration_ms=20000,
        bucket="bucket",
        object_key="pre_alice_1714550400000_0.wav",
        url=SEGMENT_DATA["Url"],
        identifier="pre",
        business_id="biz",
        event_id="evt-1",
    )
    assert segment.end_time_ms == 1714550420000
    assert not segment.is_mixed
    assert segment.raw == SEGMENT_DATA


def test_segment_of_other_event_types() -> None:
    """segment() on another event type is a CallbackError."""
    event = parse_callback(_envelope(EventType="RecordStarted"), SECRET)
    with pytest.raises(CallbackError, match="needs a SegmentRealTimeData"):
        event.segment()


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("RoomId", "RoomId"),
        ("TaskId", "TaskId"),
        ("UserId", "UserId"),
        ("StartTime", "StartTime"),
        ("Duration", "Duration"),
    ],
)
def test_segment_missing_required_field(missing: str, named: str) -> None:
    """A missing required field raises CallbackError naming it."""
    data = {k: v for k, v in SEGMENT_DATA.items() if k != missing}
    event = parse_callback(_envelope(EventData=json.dumps(data)), SECRET)
    with pytest.raises(CallbackError, match=f"no {named}"):
        event.segment()


def test_segment_needs_a_location() -> None:
    """Neither an object key nor a URL is an error; either one alone is enough."""
    base = {k: v for k, v in SEGMENT_DATA.items() if k not in ("ObjectKey", "Url")}
    with pytest.raises(CallbackError, match="neither ObjectKey/FileName/Key nor Url"):
        Segment.from_event_data(base)
    assert Segment.from_event_data({**base, "FileName": "f.wav"}).object_key == "f.wav"
    assert Segment.from_event_data({**base, "URL": "http://x/f.wav"}).url == "http://x/f.wav"


def test_segment_tolerates_strings_and_falls_back_to_envelope_app_id() -> None:
    """Numbers sent as strings are read; a missing AppId comes from the envelope."""
    data = {k: v for k, v in SEGMENT_DATA.items() if k not in ("AppId", "Sequence", "StreamType")}
    data.update(StartTime="1714550400000", Duration="20000.0", UserId="mixed")
    segment = parse_callback(_envelope(EventData=json.dumps(data)), SECRET).segment()
    assert (segment.app_id, segment.start_time_ms, segment.duration_ms) == (
        "app",
        1714550400000,
        20000,
    )
    assert (segment.sequence, segment.stream_type) == (None, 0)
    assert segment.is_mixed


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"StartTime": "soon"}, "StartTime must be a number"),
        ({"Duration": True}, "Duration must be a number"),
        ({"Duration": [1]}, "Duration must be a number"),
        ({"UserId": {"id": 1}}, "UserId must be a string"),
        ({"RoomId": False}, "RoomId must be a string"),
    ],
)
def test_segment_bad_types(patch: dict[str, Any], message: str) -> None:
    """Fields of the wrong type raise CallbackError naming them."""
    with pytest.raises(CallbackError, match=message):
        Segment.from_event_data({**SEGMENT_DATA, **patch})
    with pytest.raises(CallbackError, match="not a JSON object"):
        Segment.from_event_data([])  # type: ignore[arg-type]


def test_custom_mapping() -> None:
    """A SegmentFieldMapping renames fields and switches units without patching the library."""
    data = {
        "room": "r1",
        "task": "t1",
        "uid": "bob",
        "begin": 1714550400,
        "len": 19.5,
        "file": "a/b.wav",
        "n": 3,
    }
    mapping = attrs.evolve(
        SegmentFieldMapping(),
        room_id="room",
        task_id=("TaskId", "task"),
        user_id="uid",
        start_time="begin",
        start_time_unit="s",
        duration="len",
        duration_unit="s",
        object_key="file",
        sequence="n",
    )
    event = parse_callback(_envelope(EventData=json.dumps(data)), SECRET)
    segment = event.segment(mapping)
    assert (segment.room_id, segment.task_id, segment.user_id) == ("r1", "t1", "bob")
    assert (segment.start_time_ms, segment.duration_ms, segment.sequence) == (
        1714550400000,
        19500,
        3,
    )
    assert segment.object_key == "a/b.wav"
    assert segment.app_id == "app"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"room_id": ""},
        {"room_id": ()},
        {"room_id": ("a", "")},
        {"room_id": 5},
        {"duration_unit": "min"},
    ],
)
def test_bad_mapping(kwargs: dict[str, Any]) -> None:
    """A mapping with empty names or unknown units is a configuration error."""
    with pytest.raises(ConfigurationError):
        SegmentFieldMapping(**kwargs)
