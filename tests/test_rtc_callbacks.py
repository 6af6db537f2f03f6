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
    CallbackDuplicateKeyError,
    CallbackError,
    CallbackFormatError,
    CallbackSignatureError,
    ConfigurationError,
    StaleCallbackError,
)
from volcspeech.rtc import (
    DEFAULT_CALLBACK_MAX_AGE,
    DEFAULT_DEDUP_MAX_AGE,
    DEFAULT_DEDUP_MAX_ENTRIES,
    CallbackDeduplicator,
    CallbackEvent,
    Segment,
    SegmentFieldMapping,
    parse_callback,
    sign_callback,
)
from volcspeech.rtc._callback_parse import parse_event_time

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
    assert parse_callback(envelope, SECRET, now=EVENT_EPOCH).event_id == "evt-1"


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
            parse_callback(_body(envelope), SECRET, now=EVENT_EPOCH)


def test_tampered_malformed_event_data_fails_on_signature_not_json() -> None:
    """Nothing is parsed before verification: forged, malformed EventData is a signature error."""
    envelope = _envelope()
    envelope["EventData"] = "{not json"
    with pytest.raises(CallbackSignatureError):
        parse_callback(_body(envelope), SECRET, now=EVENT_EPOCH)


def test_wrong_secret() -> None:
    """A callback signed with another secret is refused, without revealing either."""
    envelope = _envelope(secret="another-secret")
    with pytest.raises(CallbackSignatureError) as info:
        parse_callback(_body(envelope), SECRET, now=EVENT_EPOCH)
    assert SECRET not in str(info.value)
    assert "another-secret" not in str(info.value)


def test_signed_malformed_event_data_is_a_callback_error() -> None:
    """Correctly signed but unparseable EventData is a CallbackError (after verification)."""
    with pytest.raises(CallbackError, match="EventData is not JSON") as info:
        parse_callback(_envelope(EventData="{not json"), SECRET, now=EVENT_EPOCH)
    assert not isinstance(info.value, CallbackSignatureError)
    with pytest.raises(CallbackError, match="must be a JSON object"):
        parse_callback(_envelope(EventData="[1, 2]"), SECRET, now=EVENT_EPOCH)
    assert parse_callback(_envelope(EventData=""), SECRET, now=EVENT_EPOCH).data == {}


def test_oversized_body_is_refused_before_parsing() -> None:
    """A body over the limit is refused without being parsed."""
    huge = b"{" + b" " * (1 << 20) + b"}"
    with pytest.raises(CallbackError, match="byte limit"):
        parse_callback(huge, SECRET, now=EVENT_EPOCH)
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
        parse_callback(body, SECRET, now=EVENT_EPOCH)
    assert not isinstance(info.value, CallbackSignatureError)


@pytest.mark.parametrize(
    "field", ["EventType", "EventData", "EventTime", "EventId", "AppId", "Version", "Nonce"]
)
def test_missing_or_non_string_fields(field: str) -> None:
    """Every signed field must be present and a string."""
    envelope = _envelope()
    del envelope[field]
    with pytest.raises(CallbackError, match=f"{field} is missing"):
        parse_callback(envelope, SECRET, now=EVENT_EPOCH)
    envelope = _envelope()
    envelope[field] = 5
    with pytest.raises(CallbackError, match=f"{field} must be a string"):
        parse_callback(envelope, SECRET, now=EVENT_EPOCH)


def test_noce_spelling_is_accepted() -> None:
    """The BytePlus spelling Noce is read when Nonce is absent."""
    fields = _envelope()
    fields["Noce"] = fields.pop("Nonce")
    fields["Signature"] = sign_callback(fields, SECRET)
    assert parse_callback(fields, SECRET, now=EVENT_EPOCH).nonce == "4821"


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
    assert parse_callback(body, SECRET, max_age=None).event_id == "evt-1"


def test_stale_check_runs_after_signature() -> None:
    """A forged old event is a signature error, not a stale one."""
    envelope = _envelope()
    envelope["EventId"] = "forged"
    with pytest.raises(CallbackSignatureError):
        parse_callback(envelope, SECRET, max_age=1, now=EVENT_EPOCH + 10**6)


def test_unreadable_event_time() -> None:
    """An EventTime in an unknown format reads as None, and fails a max_age check."""
    envelope = _envelope(EventTime="yesterday")
    assert parse_callback(envelope, SECRET, max_age=None).event_time is None
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
    event = parse_callback(_envelope(), SECRET, now=EVENT_EPOCH)
    assert dedup.first_delivery(event)
    assert not dedup.first_delivery(parse_callback(_envelope(), SECRET, now=EVENT_EPOCH))
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


# --- replays: default age, duplicate keys, strict arguments ------------------------------


def test_old_callbacks_are_refused_by_default() -> None:
    """Without max_age, a correctly signed callback from 2001 is refused as stale."""
    envelope = _envelope(EventTime="2001-01-01T00:00:00Z")
    with pytest.raises(StaleCallbackError, match="old"):
        parse_callback(_body(envelope), SECRET)
    with pytest.raises(StaleCallbackError, match=r"max_age=600 s"):
        parse_callback(_body(_envelope()), SECRET, now=EVENT_EPOCH + DEFAULT_CALLBACK_MAX_AGE + 1)
    within = EVENT_EPOCH + DEFAULT_CALLBACK_MAX_AGE - 1
    assert parse_callback(_body(_envelope()), SECRET, now=within).event_id == "evt-1"
    assert parse_callback(_body(envelope), SECRET, max_age=None).event_id == "evt-1"


def test_default_age_covers_the_documented_redeliveries() -> None:
    """The default covers three deliveries that each time out (5 s) with minutes between them."""
    assert DEFAULT_CALLBACK_MAX_AGE >= 3 * 5 + 2 * 120
    assert DEFAULT_CALLBACK_MAX_AGE == 600


@pytest.mark.parametrize(
    "max_age", [float("nan"), -1, -0.5, float("inf"), float("-inf"), "60", True, [60]]
)
def test_bad_max_age_is_refused(max_age: Any) -> None:
    """NaN, negative, infinite and non-numeric max_age are refused, naming the argument."""
    with pytest.raises(ConfigurationError, match="max_age") as info:
        parse_callback(_body(_envelope()), SECRET, max_age=max_age, now=EVENT_EPOCH)
    assert "None to turn the age check off" in str(info.value)


@pytest.mark.parametrize("now", [float("nan"), float("inf"), "now", True])
def test_bad_now_is_refused(now: Any) -> None:
    """A NaN or non-numeric now cannot silently switch the age check off."""
    with pytest.raises(ConfigurationError, match="now"):
        parse_callback(_body(_envelope()), SECRET, now=now)


@pytest.mark.parametrize("size", [0, -1, 1.5, None, True])
def test_bad_max_body_size_is_refused(size: Any) -> None:
    """max_body_size must be a positive integer."""
    with pytest.raises(ConfigurationError, match="max_body_size"):
        parse_callback(_body(_envelope()), SECRET, now=EVENT_EPOCH, max_body_size=size)


def test_duplicate_keys_in_the_envelope_are_refused() -> None:
    """A body with a key twice is refused before anything else, at any depth."""
    envelope = _envelope()
    text = _body(envelope).decode()
    twice = text[:-1] + ', "EventData": "{}"}'
    with pytest.raises(CallbackDuplicateKeyError, match="EventData") as info:
        parse_callback(twice, SECRET, now=EVENT_EPOCH)
    assert isinstance(info.value, CallbackFormatError)
    nested = text[:-1] + ', "Extra": {"a": 1, "a": 2}}'
    with pytest.raises(CallbackDuplicateKeyError, match="'a'"):
        parse_callback(nested.encode(), SECRET, now=EVENT_EPOCH)
    json.loads(nested)  # the standard parser would have kept the last value silently


def test_duplicate_keys_in_event_data_are_refused() -> None:
    """A signed EventData with a key twice is refused, not read first- or last-key-wins."""
    data = json.dumps(SEGMENT_DATA)[:-1] + ', "UserId": "mallory"}'
    envelope = _envelope(EventData=data)
    with pytest.raises(CallbackDuplicateKeyError, match=r"EventData.*UserId"):
        parse_callback(_body(envelope), SECRET, now=EVENT_EPOCH)
    inner = json.dumps({**SEGMENT_DATA, "Extra": {"k": 1}})[:-2] + ', "k": 2}}'
    with pytest.raises(CallbackDuplicateKeyError, match="'k'"):
        parse_callback(_envelope(EventData=inner), SECRET, now=EVENT_EPOCH)


def test_format_errors_have_their_own_class() -> None:
    """Malformed bodies are CallbackFormatError; a bad signature and a stale time are not."""
    with pytest.raises(CallbackFormatError):
        parse_callback(b"{not json", SECRET)
    with pytest.raises(CallbackFormatError):
        parse_callback(_envelope(EventData="[1]"), SECRET, now=EVENT_EPOCH)
    with pytest.raises(CallbackSignatureError) as info:
        parse_callback(_envelope(secret="other"), SECRET)
    assert not isinstance(info.value, CallbackFormatError)


# --- a re-split envelope that still verifies -------------------------------------------


def _resplit_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    """Two envelopes whose EventId/Nonce split differently but whose signatures match."""
    original = _envelope(EventId="0002abc", Nonce="0001")
    variant = _envelope(EventId="002abc", Nonce="00010")
    return original, variant


def test_resplit_envelopes_verify_alike() -> None:
    """The vendor's separator-less join lets a different EventId/Nonce split verify."""
    original, variant = _resplit_pair()
    assert original["Signature"] == variant["Signature"]
    first = parse_callback(_body(original), SECRET, now=EVENT_EPOCH)
    second = parse_callback(_body(variant), SECRET, now=EVENT_EPOCH)
    assert first.event_id != second.event_id
    assert first.content_key == second.content_key == f"sig:{original['Signature']}"


def test_deduplicator_treats_a_resplit_as_the_same_delivery() -> None:
    """A re-split envelope with a new EventId is recognised as a replay of the first."""
    original, variant = _resplit_pair()
    dedup = CallbackDeduplicator()
    assert dedup.first_delivery(parse_callback(_body(original), SECRET, now=EVENT_EPOCH))
    assert not dedup.first_delivery(parse_callback(_body(variant), SECRET, now=EVENT_EPOCH))
    assert "002abc" in dedup  # the variant's EventId is remembered too
    assert len(dedup) == 1


def test_deduplicator_still_dedups_on_event_id() -> None:
    """A re-delivery with the same EventId but a new Nonce is a duplicate."""
    dedup = CallbackDeduplicator()
    assert dedup.first_delivery(parse_callback(_envelope(), SECRET, now=EVENT_EPOCH))
    again = parse_callback(_envelope(Nonce="9999"), SECRET, now=EVENT_EPOCH)
    assert not dedup.first_delivery(again)


def test_content_key_of_hand_built_events() -> None:
    """An event built without a signature still has a content key from its signed values."""
    event = parse_callback(_envelope(), SECRET, now=EVENT_EPOCH)
    built = attrs.evolve(event, signature=None)
    assert built.content_key.startswith("sha:")
    assert built.content_key != event.content_key
    other = attrs.evolve(built, raw={**built.raw, "Nonce": "1"})
    assert other.content_key != built.content_key


# --- a bounded deduplicator -------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_deduplicator_defaults_are_bounded() -> None:
    """By default it keeps at most 10,000 deliveries for 20 minutes (twice the age limit)."""
    dedup = CallbackDeduplicator()
    assert dedup.max_entries == DEFAULT_DEDUP_MAX_ENTRIES == 10_000
    assert dedup.max_age == DEFAULT_DEDUP_MAX_AGE == 2 * DEFAULT_CALLBACK_MAX_AGE
    assert dedup.max_size == dedup.max_entries


def test_deduplicator_forgets_after_max_age() -> None:
    """An entry is forgotten max_age seconds after it was last seen."""
    clock = _Clock()
    dedup = CallbackDeduplicator(max_age=60, clock=clock)
    assert dedup.first_delivery("a")
    clock.now += 59
    assert not dedup.first_delivery("a")  # seen again: kept for another 60 s
    clock.now += 59
    assert "a" in dedup
    clock.now += 2
    assert "a" not in dedup
    assert len(dedup) == 0
    assert dedup.first_delivery("a")


def test_deduplicator_is_bounded_by_count() -> None:
    """Past max_entries the least recently seen delivery is dropped; memory stays bounded."""
    dedup = CallbackDeduplicator(max_entries=100, max_age=None)
    for i in range(10_000):
        dedup.seen(f"id-{i}")
    assert len(dedup) == 100
    assert len(dedup._index) == 100
    assert "id-9999" in dedup
    assert "id-0" not in dedup


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_entries": 0},
        {"max_entries": 1.5},
        {"max_entries": True},
        {"max_age": 0},
        {"max_age": -1},
        {"max_age": float("nan")},
        {"max_age": float("inf")},
        {"max_age": "60"},
        {"clock": 5},
    ],
)
def test_deduplicator_refuses_bad_limits(kwargs: dict[str, Any]) -> None:
    """Every limit is validated, naming the argument."""
    with pytest.raises(ConfigurationError, match=next(iter(kwargs))):
        CallbackDeduplicator(**kwargs)


# --- segments ----------------------------------------------------------------------------


def test_segment_with_default_mapping() -> None:
    """SegmentRealTimeData reads into a Segment with the default field names."""
    segment = parse_callback(_envelope(), SECRET, now=EVENT_EPOCH).segment()
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
    event = parse_callback(_envelope(EventType="RecordStarted"), SECRET, now=EVENT_EPOCH)
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
    event = parse_callback(_envelope(EventData=json.dumps(data)), SECRET, now=EVENT_EPOCH)
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
    segment = parse_callback(
        _envelope(EventData=json.dumps(data)), SECRET, now=EVENT_EPOCH
    ).segment()
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
    event = parse_callback(_envelope(EventData=json.dumps(data)), SECRET, now=EVENT_EPOCH)
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
