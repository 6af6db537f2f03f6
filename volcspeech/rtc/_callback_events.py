"""The models of a verified RTC callback: ``CallbackEvent`` and the ``Segment`` it announces.

The fields of ``SegmentRealTimeData``'s ``EventData`` are not in the public
material; :class:`SegmentFieldMapping` holds the names volcspeech assumes and
can be replaced without patching the library.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Mapping
from typing import Any, Union

import attrs

from ..errors import CallbackError, ConfigurationError
from ._callback_sign import SIGNED_FIELDS, nonce_value

__all__ = ["SEGMENT_EVENT_TYPE", "CallbackEvent", "Segment", "SegmentFieldMapping"]

#: The event type that announces one finished segment.
SEGMENT_EVENT_TYPE = "SegmentRealTimeData"

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
        signature: the verified ``Signature`` (lowercase hex); ``None`` for an
            event built by hand.
    """

    event_type: str
    event_id: str
    event_time: _dt.datetime | None
    app_id: str
    version: str
    nonce: str
    data: Mapping[str, Any]
    raw: Mapping[str, Any] = attrs.field(repr=False, eq=False)
    signature: str | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def content_key(self) -> str:
        """What the signature binds, as one key: equal for every envelope that verifies alike.

        The vendor joins the signed values without separators, so an envelope
        whose ``EventId`` / ``Nonce`` (or other values) are split differently
        can verify with the same signature. This key is the verified
        signature (``sig:<hex>``); for an event built by hand, a SHA-256 of
        the sorted, concatenated signed values (``sha:<hex>``).
        """
        if self.signature:
            return f"sig:{self.signature}"
        values = [
            nonce_value(self.raw) if name == "Nonce" else self.raw.get(name)
            for name in SIGNED_FIELDS
        ]
        if not all(isinstance(v, str) for v in values):
            values = [
                self.event_type,
                str(self.raw.get("EventData", "")),
                str(self.raw.get("EventTime", "")),
                self.event_id,
                self.app_id,
                self.version,
                self.nonce,
            ]
        joined = "".join(sorted(str(v) for v in values))
        return "sha:" + hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()

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
