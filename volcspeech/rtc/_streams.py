"""The parts of a ``StartSegment`` body: ``Stream``, ``TargetStreams`` and ``SegmentControl``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from ..errors import ValidationError
from ._enums import MAX_STREAMS, StreamType
from ._validators import a_bool, an_id, an_int, as_member, fail, field_of, member_of
from ._wire import Reader, WireModel, build, where, wire

__all__ = ["SegmentControl", "Stream", "TargetStreams"]


def _stream_type(value: Any) -> Any:
    return as_member(StreamType, value)


@attrs.frozen
class Stream(WireModel):
    """One stream to segment.

    Attributes:
        user_id: the user who publishes it (``UserId``).
        stream_type: a :class:`StreamType`, 0 normal or 1 screen (``StreamType``; default 0).
        index: the stream's index, unique within the list, >= 0 (``Index``).
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = ("index", "user_id", "stream_type")

    user_id: str = attrs.field(validator=an_id(required=True), metadata=wire("UserId"))
    stream_type: StreamType | int | None = attrs.field(
        default=None,
        kw_only=True,
        converter=_stream_type,
        validator=member_of(StreamType),
        metadata=wire("StreamType"),
    )
    index: int | None = attrs.field(
        default=None, kw_only=True, validator=an_int(0), metadata=wire("Index")
    )


def _stream_tuple(value: Iterable[Stream]) -> tuple[Stream, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        owner, name, wire_name = where(TargetStreams, "stream_list")
        raise ValidationError(f"{owner}.{name} ({wire_name}) must be a list of Stream", field=name)
    return tuple(value)


def _streams(instance: Any, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
    """Validator of ``TargetStreams.stream_list``: at most 17 Streams, each Index once."""
    place = field_of(instance, attribute)
    if len(value) > MAX_STREAMS:
        fail(*place, f"has {len(value)} streams; at most {MAX_STREAMS} are allowed")
    seen: set[int] = set()
    for i, stream in enumerate(value):
        if not isinstance(stream, Stream):
            fail(*place, f"item {i} must be a Stream, got {type(stream).__name__}")
        if stream.index is not None:
            if stream.index in seen:
                fail(*place, f"has Index {stream.index} twice; each Index must be unique")
            seen.add(stream.index)


@attrs.frozen
class TargetStreams(WireModel):
    """The streams to segment; empty (or no ``TargetStreams``) means every stream in the room.

    Attributes:
        stream_list: at most 17 :class:`Stream` with unique ``index`` (``StreamList``).
    """

    stream_list: tuple[Stream, ...] = attrs.field(
        default=(), converter=_stream_tuple, validator=_streams, metadata=wire("StreamList")
    )

    @property
    def user_ids(self) -> list[str]:
        """The distinct user ids, in order."""
        return list(dict.fromkeys(s.user_id for s in self.stream_list))

    @classmethod
    def _read(cls, data: object, path: str, strict: bool) -> TargetStreams:
        # Not the generic reader: unknown keys are refused before the list is read.
        owner, name, wire_name = where(cls, "stream_list")
        r = Reader(owner, data, path, strict=strict)
        raw = r.get(wire_name)
        r.finish((wire_name,))
        list_path = r.field_path(name)
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise ValidationError(
                f"{list_path} ({wire_name}) must be a list, got {type(raw).__name__}",
                field=list_path,
            )
        streams = [Stream._read(item, f"{list_path}[{i}]", strict) for i, item in enumerate(raw)]
        return build(owner, path, lambda: cls(streams))


@attrs.frozen(kw_only=True)
class SegmentControl(WireModel):
    """Advanced segmentation settings (``Control``, top level of the body).

    Attributes:
        align: align every user's segments to a common grid, padding with
            silence (``Align``; default false).
        mixed: also segment a mix of the target streams, under user id
            ``mixed`` (``Mixed``; default false).
        ignore_silence: produce no segment for silent periods (``IgnoreSilence``;
            default false).
        redundant_duration: overlap added before each segment but the first, in
            **milliseconds** per the parameter table (``RedundantDuration``).
            The table's worked example reads like seconds; the value is sent
            exactly as given, so check the unit your account uses. A
            :class:`StartSegmentRequest` warns
            (:class:`RedundantDurationUnitWarning`) about a value from 1 to 99.
    """

    align: bool | None = attrs.field(default=None, validator=a_bool, metadata=wire("Align"))
    mixed: bool | None = attrs.field(default=None, validator=a_bool, metadata=wire("Mixed"))
    ignore_silence: bool | None = attrs.field(
        default=None, validator=a_bool, metadata=wire("IgnoreSilence")
    )
    redundant_duration: int | None = attrs.field(
        default=None, validator=an_int(0), metadata=wire("RedundantDuration")
    )
