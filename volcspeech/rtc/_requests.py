"""The bodies of ``StartSegment``, ``UpdateSegment`` and ``StopSegment`` (version 2023-11-01).

Sources: vendor doc 6348/1188212 (``StartSegment``) and the vendor Go SDK
``service/rtc/v20231101/model.go`` (``UpdateSegment``, ``StopSegment``).

Two places where the vendor material disagrees with itself:

* ``Control``: the StartSegment request *example* nests it inside
  ``StorageConfig``; the parameter table and the Go SDK put it at the top level
  of the body. ``to_dict()`` puts it at the top level; ``from_dict()`` also
  accepts the nested form.
* ``RedundantDuration``: the table says milliseconds, but its worked example
  (``Duration`` 20, ``RedundantDuration`` 3 → files ``[0-20]``, ``[17-40]``,
  ``[37-60]``) reads like seconds, and the request example sends 2.
  volcspeech documents it as milliseconds, as the table does, and sends the
  number exactly as given; a value from 1 to 99 is almost surely meant as
  seconds, so building the request warns
  (:class:`RedundantDurationUnitWarning`) with both readings.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Union

import attrs

from ..errors import ValidationError
from ._enums import DURATION_RANGE, MAX_IDLE_TIME_RANGE, StorageType
from ._storage import StorageConfig
from ._streams import SegmentControl, Stream, TargetStreams
from ._validators import a_bool, an_id, an_int, check_id, fail, field_of
from ._wire import WIRE, WireModel, where, wire, wire_of

__all__ = [
    "REDUNDANT_DURATION_WARN_BELOW",
    "RedundantDurationUnitWarning",
    "StartSegmentRequest",
    "StopSegmentRequest",
    "UpdateSegmentRequest",
    "check_task_key",
]

#: A ``RedundantDuration`` from 1 to this minus one (milliseconds) draws
#: :class:`RedundantDurationUnitWarning`: almost surely meant as seconds.
REDUNDANT_DURATION_WARN_BELOW = 100


class RedundantDurationUnitWarning(UserWarning):
    """``Control.RedundantDuration`` is under 100: probably seconds where milliseconds are meant.

    The vendor's parameter table gives the unit as milliseconds, its worked
    example reads as seconds. The value is sent as given; the message states
    both readings. Silence it with
    ``warnings.filterwarnings("ignore", category=RedundantDurationUnitWarning)``
    once you have checked the unit your account uses.
    """


_SEGMENT_STORAGE = (StorageType.TOS, StorageType.CUSTOM)

TargetStreamsLike = Union[TargetStreams, Sequence[Stream], None]


def _target_streams(value: TargetStreamsLike) -> TargetStreams | None:
    if value is None or isinstance(value, TargetStreams):
        return value
    if isinstance(value, (list, tuple)):
        return TargetStreams(tuple(value))
    owner, name, wire_name = where(StartSegmentRequest, "target_streams")
    raise ValidationError(
        f"{owner}.{name} ({wire_name}) must be a TargetStreams or a list "
        f"of Stream, got {type(value).__name__}",
        field=name,
    )


def _segment_storage(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validator of ``StartSegmentRequest.storage_config``: TOS or a custom store."""
    place = field_of(instance, attribute)
    if value is None:
        fail(*place, "is required: a StorageConfig")
    if not isinstance(value, StorageConfig):
        fail(*place, f"must be a StorageConfig, got {type(value).__name__}")
    kind = value.effective_type
    if kind not in _SEGMENT_STORAGE:
        owner, name, storage_wire = place
        type_wire = wire_of(StorageConfig, "type")
        raise ValidationError(
            f"{owner}.{name}.type ({storage_wire}.{type_wire}) must be 0 (TOS) or "
            f"2 (CUSTOM) for segmentation, got {int(kind)} ({kind.name})",
            field=f"{name}.type",
        )


def _control(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validator of ``StartSegmentRequest.control``; warns about a likely unit mix-up."""
    if value is None:
        return
    if not isinstance(value, SegmentControl):
        kind = type(value).__name__
        fail(*field_of(instance, attribute), f"must be a SegmentControl, got {kind}")
    overlap = value.redundant_duration
    if overlap is not None and 0 < overlap < REDUNDANT_DURATION_WARN_BELOW:
        owner, name, control_wire = field_of(instance, attribute)
        warnings.warn(
            f"{owner}.{name}.redundant_duration ({control_wire}.RedundantDuration) is "
            f"{overlap}: read as milliseconds (the parameter table's unit) that is "
            f"{overlap / 1000:g} s of overlap; if you meant {overlap} seconds (as the "
            f"table's worked example reads), pass {overlap * 1000}. It is sent as given.",
            RedundantDurationUnitWarning,
            stacklevel=3,
        )


_APP_ID = wire("AppId")
_BUSINESS_ID = wire("BusinessId")
_ROOM_ID = wire("RoomId")
_TASK_ID = wire("TaskId")
_REQUIRED_ID = an_id(required=True)
_OPTIONAL_ID = an_id(required=False)
_DURATION = an_int(*DURATION_RANGE)


@attrs.frozen(kw_only=True)
class StartSegmentRequest(WireModel):
    """The ``StartSegment`` body: start segmenting the audio of a room.

    Attributes:
        app_id: the RTC app id (``AppId``).
        room_id: the room (``RoomId``).
        task_id: your id for the task, unique per app and room (``TaskId``).
        storage_config: where the files go; TOS or an S3-compatible store (``StorageConfig``).
        business_id: a business tag for console statistics (``BusinessId``).
        max_idle_time: seconds, 1-86400, after every target stream stopped
            publishing before the task stops (``MaxIdleTime``; default 180).
        target_streams: the streams to segment (``TargetStreams``); a list of
            :class:`Stream` is accepted too. Unset: every stream in the room.
        duration: seconds per segment, 1-600 (``Duration``; default 20).
        control: advanced settings (``Control``).
        identifier: the file name prefix (``Identifier``; default a random UUID).
        handle: start cutting at once (``Handle``; default true); false
            creates the task without cutting (a hot start).

    Warns:
        RedundantDurationUnitWarning: ``control.redundant_duration`` is 1 to 99.
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = (
        "app_id",
        "business_id",
        "room_id",
        "task_id",
        "max_idle_time",
        "target_streams",
        "duration",
        "storage_config",
        "control",
        "identifier",
        "handle",
    )

    app_id: str = attrs.field(validator=_REQUIRED_ID, metadata=_APP_ID)
    room_id: str = attrs.field(validator=_REQUIRED_ID, metadata=_ROOM_ID)
    task_id: str = attrs.field(validator=_REQUIRED_ID, metadata=_TASK_ID)
    storage_config: StorageConfig = attrs.field(
        validator=_segment_storage, metadata=wire("StorageConfig", read=StorageConfig._read)
    )
    business_id: str | None = attrs.field(
        default=None, validator=_OPTIONAL_ID, metadata=_BUSINESS_ID
    )
    max_idle_time: int | None = attrs.field(
        default=None, validator=an_int(*MAX_IDLE_TIME_RANGE), metadata=wire("MaxIdleTime")
    )
    target_streams: TargetStreams | None = attrs.field(
        default=None,
        converter=_target_streams,
        metadata=wire("TargetStreams", read=TargetStreams._read),
    )
    duration: int | None = attrs.field(default=None, validator=_DURATION, metadata=wire("Duration"))
    control: SegmentControl | None = attrs.field(
        default=None, validator=_control, metadata=wire("Control", read=SegmentControl._read)
    )
    identifier: str | None = attrs.field(
        default=None, validator=_OPTIONAL_ID, metadata=wire("Identifier")
    )
    handle: bool | None = attrs.field(default=None, validator=a_bool, metadata=wire("Handle"))

    def to_dict(self) -> dict[str, Any]:
        """The exact PascalCase body, unset fields omitted, ``Control`` at the top level."""
        return super().to_dict()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StartSegmentRequest:
        """Read a ``StartSegment`` body.

        Also accepts the vendor example's form with ``Control`` nested inside
        ``StorageConfig`` (moved to the top level; silently, since the doc
        itself shows it).

        Raises:
            ValidationError: a missing, unknown or invalid field, named by its path.
        """
        if isinstance(data, Mapping):
            storage_wire = wire_of(cls, "storage_config")
            control_wire = wire_of(cls, "control")
            storage = data.get(storage_wire)
            control = data.get(control_wire)
            if isinstance(storage, Mapping) and control_wire in storage:
                nested = storage[control_wire]
                if control is not None and control != nested:
                    raise ValidationError(
                        f"{control_wire} is given both at the top level and inside "
                        f"{storage_wire}, with different values; keep the top-level one",
                        field="control",
                    )
                data = dict(data)
                data[storage_wire] = {k: v for k, v in storage.items() if k != control_wire}
                data[control_wire] = nested
            elif storage is None:
                raise ValidationError(
                    f"StartSegmentRequest.storage_config ({storage_wire}) is required",
                    field="storage_config",
                )
        return cls._read(data, "", True)


@attrs.frozen(kw_only=True)
class UpdateSegmentRequest(WireModel):
    """The ``UpdateSegment`` body: change a running task.

    Changing ``duration`` restarts the timer: the current segment ends at once
    and a new one begins (Go SDK documentation).

    Attributes:
        app_id: the RTC app id (``AppId``).
        room_id: the room (``RoomId``).
        task_id: the task to update (``TaskId``).
        business_id: the business tag (``BusinessId``).
        duration: seconds per segment, 1-600 (``Duration``).
        handle: cut (true) or pause cutting (false) (``Handle``).
        identifier: the file name prefix (``Identifier``).
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = (
        "app_id",
        "business_id",
        "room_id",
        "task_id",
        "duration",
        "handle",
        "identifier",
    )

    app_id: str = attrs.field(validator=_REQUIRED_ID, metadata=_APP_ID)
    room_id: str = attrs.field(validator=_REQUIRED_ID, metadata=_ROOM_ID)
    task_id: str = attrs.field(validator=_REQUIRED_ID, metadata=_TASK_ID)
    business_id: str | None = attrs.field(
        default=None, validator=_OPTIONAL_ID, metadata=_BUSINESS_ID
    )
    duration: int | None = attrs.field(default=None, validator=_DURATION, metadata=wire("Duration"))
    handle: bool | None = attrs.field(default=None, validator=a_bool, metadata=wire("Handle"))
    identifier: str | None = attrs.field(
        default=None, validator=_OPTIONAL_ID, metadata=wire("Identifier")
    )

    def to_dict(self) -> dict[str, Any]:
        """The exact PascalCase body, unset fields omitted."""
        return super().to_dict()


@attrs.frozen(kw_only=True)
class StopSegmentRequest(WireModel):
    """The ``StopSegment`` body: stop a task.

    Attributes:
        app_id: the RTC app id (``AppId``).
        room_id: the room (``RoomId``).
        task_id: the task to stop (``TaskId``).
        business_id: the business tag (``BusinessId``).
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = ("app_id", "business_id", "room_id", "task_id")

    app_id: str = attrs.field(validator=_REQUIRED_ID, metadata=_APP_ID)
    room_id: str = attrs.field(validator=_REQUIRED_ID, metadata=_ROOM_ID)
    task_id: str = attrs.field(validator=_REQUIRED_ID, metadata=_TASK_ID)
    business_id: str | None = attrs.field(
        default=None, validator=_OPTIONAL_ID, metadata=_BUSINESS_ID
    )

    def to_dict(self) -> dict[str, Any]:
        """The exact PascalCase body, unset fields omitted."""
        return super().to_dict()


def check_task_key(owner: str, app_id: object, room_id: object, task_id: object) -> None:
    """Validate the ``AppId`` / ``RoomId`` / ``TaskId`` triple of a query.

    Raises:
        ValidationError: naming the bad argument.
    """
    check_id(owner, "app_id", _APP_ID[WIRE], app_id, required=True)
    check_id(owner, "room_id", _ROOM_ID[WIRE], room_id, required=True)
    check_id(owner, "task_id", _TASK_ID[WIRE], task_id, required=True)
