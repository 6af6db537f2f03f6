"""RTC server callbacks: verify, parse, deduplicate, and read segment metadata.

The RTC service POSTs a JSON envelope whose fields are all strings
(vendor docs 6348/75124 and 6348/69820)::

    {"EventType": "SegmentRealTimeData", "EventData": "{...json...}",
     "EventTime": "2024-05-01T08:00:00.123456789Z", "EventId": "...",
     "AppId": "...", "Version": "2023-11-01", "Nonce": "1234", "Signature": "..."}

The signature: the values of ``EventType``, ``EventData``, ``EventTime``,
``EventId``, ``AppId``, ``Version``, ``Nonce`` and the callback secret from
the console, sorted lexically, concatenated without separators, hashed with
plain SHA-256 and written in lowercase hex. :func:`parse_callback` checks it in
constant time **before** it parses ``EventData`` or trusts any field.

``EventTime`` is RFC 3339 in UTC per vendor doc 75124 (its example has
nanoseconds: ``1970-07-01T00:00:00.000000000Z``); epoch milliseconds (or
seconds, for 10 or fewer digits) written as a string are accepted too.

The nonce field is ``Nonce`` in the Volcengine material; the BytePlus
edition of the same page spells it ``Noce``. Both are read (``Nonce`` first).

The fields of ``SegmentRealTimeData``'s ``EventData`` are not in the public
material; :class:`SegmentFieldMapping` holds the names volcspeech assumes and
can be replaced without patching the library.
"""

from __future__ import annotations

import collections
import datetime as _dt
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Mapping
from typing import Any, Union

import attrs

from ..errors import CallbackError, CallbackSignatureError, ConfigurationError, StaleCallbackError

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "SEGMENT_EVENT_TYPE",
    "SIGNED_FIELDS",
    "CallbackDeduplicator",
    "CallbackEvent",
    "Segment",
    "SegmentFieldMapping",
    "parse_callback",
    "parse_event_time",
    "sign_callback",
]

#: Bodies larger than this are refused before parsing (callbacks are small).
DEFAULT_MAX_BODY_SIZE = 1 << 20
#: The event type that announces one finished segment.
SEGMENT_EVENT_TYPE = "SegmentRealTimeData"
#: The envelope fields covered by the signature, besides the secret.
SIGNED_FIELDS = ("EventType", "EventData", "EventTime", "EventId", "AppId", "Version", "Nonce")
#: The BytePlus documentation's spelling of ``Nonce``.
_NONCE_ALIASES = ("Nonce", "Noce")

Body = Union[bytes, bytearray, memoryview, str, Mapping[str, Any]]


def _nonce_value(fields: Mapping[str, Any]) -> Any:
    for name in _NONCE_ALIASES:
        if name in fields:
            return fields[name]
    return None


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def sign_callback(fields: Mapping[str, Any], secret: str) -> str:
    """Compute a callback's ``Signature`` as the RTC service does.

    Args:
        fields: the envelope (or just its seven signed fields); the nonce may
            be named ``Nonce`` or ``Noce``. Other keys are ignored.
        secret: the callback secret key from the RTC console.

    Returns:
        The lowercase hex SHA-256 of the sorted, concatenated values.

    Raises:
        CallbackError: a signed field is missing, not a string, or not valid
            Unicode (a lone surrogate).
        ConfigurationError: ``secret`` is not a non-empty string of valid Unicode.
    """
    if not isinstance(secret, str) or not secret:
        raise ConfigurationError("the callback secret key must be a non-empty string")
    if not _is_utf8(secret):
        raise ConfigurationError("the callback secret key must be valid Unicode text")
    values = []
    for name in SIGNED_FIELDS:
        value = _nonce_value(fields) if name == "Nonce" else fields.get(name)
        if not isinstance(value, str):
            problem = (
                "is missing" if value is None else f"must be a string, not {type(value).__name__}"
            )
            raise CallbackError(f"callback field {name} {problem}")
        if not _is_utf8(value):
            # A lone surrogate (a JSON \ud800 escape) has no UTF-8 form to hash.
            raise CallbackError(f"callback field {name} is not valid Unicode text")
        values.append(value)
    values.append(secret)
    return hashlib.sha256("".join(sorted(values)).encode("utf-8")).hexdigest()


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ]\s*(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*"
    r"([Zz]|[+-]\d{2}:?\d{2})$"
)


def parse_event_time(value: str) -> _dt.datetime:
    """Parse an ``EventTime``: RFC 3339 (any fraction length) or epoch ms / s digits.

    Args:
        value: the ``EventTime`` string.

    Returns:
        An aware UTC datetime (fractions beyond microseconds are truncated).

    Raises:
        ValueError: the value is in neither form, or is outside the datetime range.
    """
    text = value.strip()
    try:
        return _parse_event_time(text)
    except (OverflowError, OSError):
        # Epoch digits or an offset past the year 1-9999 range (fromtimestamp
        # and astimezone raise these rather than ValueError).
        raise ValueError(f"EventTime out of range: {text[:40]!r}") from None


def _parse_event_time(text: str) -> _dt.datetime:
    if text.isdigit():
        number = int(text)
        seconds = number / 1000 if len(text) > 10 else float(number)
        return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)
    match = _RFC3339.match(text)
    if not match:
        raise ValueError(f"not an RFC 3339 time or epoch digits: {text[:40]!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if zone in ("Z", "z"):
        tz = _dt.timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = _dt.timezone(sign * _dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    parsed = _dt.datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz
    )
    return parsed.astimezone(_dt.timezone.utc)


# --- segments ------------------------------------------------------------------

FieldNames = Union[str, tuple[str, ...]]


def _names(value: FieldNames) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _check_names(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    ok = isinstance(value, str) and bool(value)
    if isinstance(value, tuple):
        ok = bool(value) and all(isinstance(v, str) and v for v in value)
    if not ok:
        raise ConfigurationError(
            f"SegmentFieldMapping.{attribute.name} must be a field name or a tuple of names"
        )


def _check_unit(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ("ms", "s"):
        raise ConfigurationError(
            f"SegmentFieldMapping.{attribute.name} must be 'ms' or 's', got {value!r}"
        )


@attrs.frozen(kw_only=True)
class SegmentFieldMapping:
    """Where each :class:`Segment` attribute is read from in ``SegmentRealTimeData``.

    The public documentation does not list these fields. The defaults are
    volcspeech's assumption, modelled on the vendor's own names: the
    ``StartSegment`` body (``AppId``, ``BusinessId``, ``RoomId``, ``TaskId``,
    ``UserId``, ``StreamType``, ``Identifier``, ``Bucket``) and the recording
    files of ``GetRecordTask`` (``ObjectKey``; ``StartTime`` in epoch
    milliseconds; ``Duration`` in milliseconds). The emulator sends exactly
    these. Each entry is a name or a tuple of names tried in order; replace
    what your account's callbacks use, e.g.::

        mapping = attrs.evolve(SegmentFieldMapping(), object_key=("FileName",),
                               duration_unit="s")
        segment = event.segment(mapping)

    Required: ``room_id``, ``task_id``, ``user_id``, ``start_time``,
    ``duration`` and at least one of ``object_key`` / ``url``. ``app_id`` falls
    back to the envelope's ``AppId``; the rest are optional.

    Attributes:
        app_id: default ``AppId``.
        business_id: default ``BusinessId``.
        room_id: default ``RoomId``.
        task_id: default ``TaskId``.
        user_id: default ``UserId`` (``mixed`` for the mixed stream).
        stream_type: default ``StreamType`` (0 normal, 1 screen; 0 when absent).
        identifier: default ``Identifier``.
        bucket: default ``Bucket``.
        object_key: default ``ObjectKey``, then ``FileName``, ``Key``.
        url: default ``Url``, then ``URL``, ``FileUrl``.
        start_time: default ``StartTime``.
        duration: default ``Duration``.
        sequence: default ``Sequence``, then ``Seq``, ``Index``.
        start_time_unit: ``"ms"`` (default) or ``"s"`` for epoch seconds.
        duration_unit: ``"ms"`` (default) or ``"s"``.
    """

    app_id: FieldNames = attrs.field(default="AppId", validator=_check_names)
    business_id: FieldNames = attrs.field(default="BusinessId", validator=_check_names)
    room_id: FieldNames = attrs.field(default="RoomId", validator=_check_names)
    task_id: FieldNames = attrs.field(default="TaskId", validator=_check_names)
    user_id: FieldNames = attrs.field(default="UserId", validator=_check_names)
    stream_type: FieldNames = attrs.field(default="StreamType", validator=_check_names)
    identifier: FieldNames = attrs.field(default="Identifier", validator=_check_names)
    bucket: FieldNames = attrs.field(default="Bucket", validator=_check_names)
    object_key: FieldNames = attrs.field(
        default=("ObjectKey", "FileName", "Key"), validator=_check_names
    )
    url: FieldNames = attrs.field(default=("Url", "URL", "FileUrl"), validator=_check_names)
    start_time: FieldNames = attrs.field(default="StartTime", validator=_check_names)
    duration: FieldNames = attrs.field(default="Duration", validator=_check_names)
    sequence: FieldNames = attrs.field(default=("Sequence", "Seq", "Index"), validator=_check_names)
    start_time_unit: str = attrs.field(default="ms", validator=_check_unit)
    duration_unit: str = attrs.field(default="ms", validator=_check_unit)


DEFAULT_MAPPING = SegmentFieldMapping()


@attrs.frozen(kw_only=True)
class Segment:
    """One finished segment of one stream, announced by a ``SegmentRealTimeData`` callback.

    Attributes:
        app_id: the RTC app id.
        room_id: the room.
        task_id: the segmentation task.
        user_id: the publishing user; ``mixed`` for the mixed stream.
        stream_type: 0 normal stream, 1 screen stream.
        sequence: the segment's sequence number, if sent.
        start_time_ms: segment start, epoch milliseconds.
        duration_ms: segment length, milliseconds.
        bucket: the bucket holding the file, if sent.
        object_key: the file's key in the bucket, if sent.
        url: a URL of the file, if sent.
        identifier: the task's file name prefix, if sent.
        business_id: the business tag, if sent.
        event_id: the callback's ``EventId`` (for deduplication).
        raw: the ``EventData`` dict.
    """

    app_id: str | None
    room_id: str
    task_id: str
    user_id: str
    stream_type: int = 0
    sequence: int | None = None
    start_time_ms: int
    duration_ms: int
    bucket: str | None = None
    object_key: str | None = None
    url: str | None = None
    identifier: str | None = None
    business_id: str | None = None
    event_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def end_time_ms(self) -> int:
        """Segment end, epoch milliseconds."""
        return self.start_time_ms + self.duration_ms

    @property
    def is_mixed(self) -> bool:
        """Whether this is the mixed stream (user id ``mixed``)."""
        return self.user_id == "mixed"

    @classmethod
    def from_event_data(
        cls,
        data: Mapping[str, Any],
        mapping: SegmentFieldMapping | None = None,
        *,
        app_id: str | None = None,
        event_id: str | None = None,
    ) -> Segment:
        """Read a segment from a ``SegmentRealTimeData`` ``EventData`` dict.

        Args:
            data: the parsed ``EventData``.
            mapping: field names to read; :class:`SegmentFieldMapping` defaults otherwise.
            app_id: the envelope's ``AppId``, used when ``data`` has none.
            event_id: the envelope's ``EventId``.

        Raises:
            CallbackError: a required field is missing or has the wrong type;
                the message names the field and the names tried.
        """
        m = mapping or DEFAULT_MAPPING
        if not isinstance(data, Mapping):
            raise CallbackError("SegmentRealTimeData EventData is not a JSON object")

        def pick(attr: str) -> tuple[Any, str]:
            names = _names(getattr(m, attr))
            for name in names:
                if data.get(name) is not None:
                    return data[name], name
            return None, "/".join(names)

        def text(attr: str, *, required: bool) -> str | None:
            value, name = pick(attr)
            if value is None:
                if required:
                    raise CallbackError(
                        f"SegmentRealTimeData EventData has no {name} (Segment.{attr}); "
                        "pass a SegmentFieldMapping naming your field"
                    )
                return None
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise CallbackError(
                    f"SegmentRealTimeData {name} must be a string, got {type(value).__name__}"
                )
            return str(value)

        def number(attr: str, *, required: bool, unit: str = "ms") -> int | None:
            value, name = pick(attr)
            if value is None:
                if required:
                    raise CallbackError(
                        f"SegmentRealTimeData EventData has no {name} (Segment.{attr}); "
                        "pass a SegmentFieldMapping naming your field"
                    )
                return None
            try:
                if isinstance(value, bool):
                    raise TypeError
                parsed = float(value) if isinstance(value, (str, float)) else int(value)
                # int() and round() refuse "inf" / "nan" with OverflowError / ValueError.
                return round(parsed * 1000) if unit == "s" else int(parsed)
            except (TypeError, ValueError, OverflowError):
                raise CallbackError(
                    f"SegmentRealTimeData {name} must be a number, got {type(value).__name__}"
                ) from None

        object_key = text("object_key", required=False)
        url = text("url", required=False)
        if object_key is None and url is None:
            raise CallbackError(
                "SegmentRealTimeData EventData has neither "
                f"{'/'.join(_names(m.object_key))} nor {'/'.join(_names(m.url))} "
                "(Segment.object_key / Segment.url); pass a SegmentFieldMapping naming your field"
            )
        start = number("start_time", required=True, unit=m.start_time_unit)
        duration = number("duration", required=True, unit=m.duration_unit)
        assert start is not None
        assert duration is not None
        room_id = text("room_id", required=True)
        task_id = text("task_id", required=True)
        user_id = text("user_id", required=True)
        assert room_id is not None
        assert task_id is not None
        assert user_id is not None
        return cls(
            app_id=text("app_id", required=False) or app_id,
            room_id=room_id,
            task_id=task_id,
            user_id=user_id,
            stream_type=number("stream_type", required=False) or 0,
            sequence=number("sequence", required=False),
            start_time_ms=start,
            duration_ms=duration,
            bucket=text("bucket", required=False),
            object_key=object_key,
            url=url,
            identifier=text("identifier", required=False),
            business_id=text("business_id", required=False),
            event_id=event_id,
            raw=dict(data),
        )


# --- events --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CallbackEvent:
    """A verified RTC callback.

    Attributes:
        event_type: ``EventType``, e.g. ``SegmentRealTimeData``.
        event_id: ``EventId``; the same event may be delivered more than once.
        event_time: ``EventTime`` parsed to an aware UTC datetime (``None`` if
            its format is unknown; the text stays in ``raw``).
        app_id: ``AppId``.
        version: ``Version``.
        nonce: ``Nonce``.
        data: ``EventData`` parsed from its JSON string (``{}`` when empty).
        raw: the whole envelope as received.
    """

    event_type: str
    event_id: str
    event_time: _dt.datetime | None
    app_id: str
    version: str
    nonce: str
    data: Mapping[str, Any]
    raw: Mapping[str, Any] = attrs.field(repr=False, eq=False)

    def segment(self, mapping: SegmentFieldMapping | None = None) -> Segment:
        """The segment a ``SegmentRealTimeData`` event announces.

        Args:
            mapping: where to read each field; :class:`SegmentFieldMapping` defaults otherwise.

        Raises:
            CallbackError: another event type, or a required field is missing.
        """
        if self.event_type != SEGMENT_EVENT_TYPE:
            raise CallbackError(
                f"segment() needs a {SEGMENT_EVENT_TYPE} event, got {self.event_type!r}"
            )
        return Segment.from_event_data(
            self.data, mapping, app_id=self.app_id, event_id=self.event_id
        )


def _load_envelope(body: Body, max_body_size: int) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        return body
    if isinstance(body, str):
        if not _is_utf8(body):  # a lone surrogate, e.g. from a surrogateescape decode
            raise CallbackError("callback body is not UTF-8 JSON")
        raw = body.encode("utf-8")
    elif isinstance(body, (bytes, bytearray, memoryview)):
        raw = bytes(body)
    else:
        raise CallbackError(
            f"callback body must be bytes, str or a dict, got {type(body).__name__}"
        )
    if len(raw) > max_body_size:
        raise CallbackError(
            f"callback body is {len(raw)} bytes; larger than the {max_body_size} byte limit"
        )
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: nested deeper than json can parse (the body is untrusted).
        raise CallbackError("callback body is not UTF-8 JSON") from None
    if not isinstance(parsed, dict):
        raise CallbackError(f"callback body must be a JSON object, got {type(parsed).__name__}")
    return parsed


def _to_epoch(now: float | _dt.datetime | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, _dt.datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=_dt.timezone.utc)
        return now.timestamp()
    return float(now)


def parse_callback(
    body: Body,
    secret_key: str,
    *,
    max_age: float | None = None,
    now: float | _dt.datetime | None = None,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
) -> CallbackEvent:
    """Verify and parse one RTC callback.

    Order of checks: body size, JSON envelope, every signed field a string,
    the signature (constant time), then ``EventData``, then the age. Nothing
    in the body is trusted before the signature matches.

    Args:
        body: the raw request body (bytes or str) or the already-parsed dict.
        secret_key: the callback secret key from the RTC console.
        max_age: refuse events whose ``EventTime`` is more than this many
            seconds away from ``now`` (in either direction); ``None``: no check.
        now: the current time (epoch seconds or a datetime), for tests.
        max_body_size: refuse larger bodies (1 MiB by default).

    Returns:
        The verified event.

    Raises:
        CallbackError: the body is too large, not a JSON object, misses a
            field, or its ``EventData`` is not JSON.
        CallbackSignatureError: the signature does not match.
        StaleCallbackError: ``EventTime`` is older (or newer) than ``max_age``.
        ConfigurationError: ``secret_key`` is empty or not valid Unicode.
    """
    if not isinstance(secret_key, str) or not secret_key:
        raise ConfigurationError("the callback secret key must be a non-empty string")
    envelope = _load_envelope(body, max_body_size)
    signature = envelope.get("Signature")
    if not isinstance(signature, str) or not signature:
        raise CallbackError("callback field Signature is missing or not a string")
    expected = sign_callback(envelope, secret_key)
    given = signature.strip().lower().encode("utf-8", "replace")
    if not hmac.compare_digest(expected.encode("ascii"), given):
        raise CallbackSignatureError(
            "callback signature does not match (wrong secret key, or the body was altered)"
        )

    event_data = envelope["EventData"]
    data: Any = {}
    if event_data.strip():
        try:
            data = json.loads(event_data)
        except (ValueError, RecursionError):
            raise CallbackError("callback EventData is not JSON") from None
        if not isinstance(data, dict):
            raise CallbackError(
                f"callback EventData must be a JSON object, got {type(data).__name__}"
            )

    event_time_text = envelope["EventTime"]
    try:
        event_time: _dt.datetime | None = parse_event_time(event_time_text)
    except ValueError:
        event_time = None
    if max_age is not None:
        if event_time is None:
            raise StaleCallbackError(
                f"callback EventTime {event_time_text[:40]!r} cannot be read, so its age is unknown"
            )
        age = _to_epoch(now) - event_time.timestamp()
        if abs(age) > max_age:
            when = "old" if age > 0 else "in the future"
            raise StaleCallbackError(
                f"callback is {abs(age):.0f} s {when}; more than max_age={max_age:g} s "
                f"(EventId {envelope['EventId']})"
            )
    return CallbackEvent(
        event_type=envelope["EventType"],
        event_id=envelope["EventId"],
        event_time=event_time,
        app_id=envelope["AppId"],
        version=envelope["Version"],
        nonce=_nonce_value(envelope),
        data=data,
        raw=dict(envelope),
    )


class CallbackDeduplicator:
    """Remembers recent ``EventId`` values so a re-delivered callback is handled once.

    Thread-safe; keeps the ``max_size`` most recently seen ids (LRU).

    Example::

        dedup = CallbackDeduplicator()
        event = parse_callback(body, secret)
        if dedup.first_delivery(event):
            handle(event)

    Args:
        max_size: how many ids to remember.
    """

    def __init__(self, max_size: int = 10000) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ConfigurationError(f"max_size must be a positive integer, got {max_size!r}")
        self.max_size = max_size
        self._ids: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(event: CallbackEvent | str) -> str:
        return event if isinstance(event, str) else event.event_id

    def seen(self, event: CallbackEvent | str) -> bool:
        """Record the event and return whether its id had been seen before.

        Args:
            event: a :class:`CallbackEvent` or an ``EventId``.
        """
        key = self._key(event)
        with self._lock:
            if key in self._ids:
                self._ids.move_to_end(key)
                return True
            self._ids[key] = None
            while len(self._ids) > self.max_size:
                self._ids.popitem(last=False)
            return False

    def first_delivery(self, event: CallbackEvent | str) -> bool:
        """Record the event and return whether this is its first delivery."""
        return not self.seen(event)

    def __contains__(self, event: object) -> bool:
        if not isinstance(event, (str, CallbackEvent)):
            return False
        with self._lock:
            return self._key(event) in self._ids

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def clear(self) -> None:
        """Forget every id."""
        with self._lock:
            self._ids.clear()
