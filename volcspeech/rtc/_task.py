"""``SegmentTask``: a segmentation task as ``GetSegmentTask`` reports it, read tolerantly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, TypeVar

import attrs

from ..errors import ValidationError
from ._enums import SegmentTaskStatus
from ._storage import StorageConfig
from ._streams import SegmentControl, TargetStreams
from ._wire import WIRE_READ, ReadHook, wire, wire_fields

__all__ = ["SegmentTask"]

T = TypeVar("T")


def _lenient(parse: Callable[[object, str, bool], T]) -> ReadHook:
    """Parse a settings object of an answer; one the SDK cannot validate stays in ``raw``."""

    def read(value: object, path: str, strict: bool) -> T | None:
        try:
            return parse(value, path, False)
        except ValidationError:
            return None

    return read


def _opt_int(value: object, path: str = "", strict: bool = False) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _opt_str(value: object, path: str = "", strict: bool = False) -> str | None:
    return value if isinstance(value, str) and value else None


def _opt_bool(value: object, path: str, strict: bool) -> bool | None:
    return value if isinstance(value, bool) else None


def _task_status(value: object, path: str, strict: bool) -> SegmentTaskStatus:
    status_raw = _opt_int(value)
    try:
        return SegmentTaskStatus(status_raw if status_raw is not None else 0)
    except ValueError:
        return SegmentTaskStatus.UNKNOWN


@attrs.frozen(kw_only=True)
class SegmentTask:
    """A segmentation task as ``GetSegmentTask`` reports it (tasks of the last 72 hours).

    Settings the service reports but the SDK cannot validate are ``None``
    here; ``raw`` always has the complete ``SegmentTask`` object (including a
    custom store's keys, so it is kept out of ``repr``).

    Attributes:
        app_id: the app id asked about.
        room_id: the room asked about.
        task_id: the task asked about.
        status: a :class:`SegmentTaskStatus` (``Status``); unknown numbers read as ``UNKNOWN``.
        start_time: task start, epoch milliseconds (``StartTime``).
        end_time: task end, epoch milliseconds; 0 while running (``EndTime``).
        stop_reason: ``StopByAPI``, ``StartTaskFailed``, ``IdleTimeOut``,
            ``UserDisconnect``, ``UnknownStopReason``; ``None`` while running.
        duration: seconds per segment (``Duration``).
        handle: whether it is cutting (``Handle``).
        identifier: the file name prefix (``Identifier``).
        max_idle_time: seconds (``MaxIdleTime``).
        target_streams: the target streams (``TargetStreams``).
        storage_config: the destination (``StorageConfig``).
        control: the advanced settings (``Control``).
        request_id: ``ResponseMetadata.RequestId`` of the answer.
        raw: the ``SegmentTask`` object as received.
    """

    # Read tolerantly: each wire field's hook turns what the SDK cannot use into None.
    app_id: str | None = None
    room_id: str | None = None
    task_id: str | None = None
    status: SegmentTaskStatus = attrs.field(
        default=SegmentTaskStatus.UNKNOWN, metadata=wire("Status", read=_task_status)
    )
    start_time: int | None = attrs.field(default=None, metadata=wire("StartTime", read=_opt_int))
    end_time: int | None = attrs.field(default=None, metadata=wire("EndTime", read=_opt_int))
    stop_reason: str | None = attrs.field(default=None, metadata=wire("StopReason", read=_opt_str))
    duration: int | None = attrs.field(default=None, metadata=wire("Duration", read=_opt_int))
    handle: bool | None = attrs.field(default=None, metadata=wire("Handle", read=_opt_bool))
    identifier: str | None = attrs.field(default=None, metadata=wire("Identifier", read=_opt_str))
    max_idle_time: int | None = attrs.field(
        default=None, metadata=wire("MaxIdleTime", read=_opt_int)
    )
    target_streams: TargetStreams | None = attrs.field(
        default=None, metadata=wire("TargetStreams", read=_lenient(TargetStreams._read))
    )
    storage_config: StorageConfig | None = attrs.field(
        default=None, metadata=wire("StorageConfig", read=_lenient(StorageConfig._read))
    )
    control: SegmentControl | None = attrs.field(
        default=None, metadata=wire("Control", read=_lenient(SegmentControl._read))
    )
    request_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def running(self) -> bool:
        """Whether the task is running (``Status`` 2)."""
        return self.status == SegmentTaskStatus.RUNNING

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        app_id: str | None = None,
        room_id: str | None = None,
        task_id: str | None = None,
        request_id: str | None = None,
    ) -> SegmentTask:
        """Read ``Result.SegmentTask`` of a ``GetSegmentTask`` answer.

        Args:
            data: the ``SegmentTask`` object.
            app_id: the app id the query asked about (the answer does not repeat it).
            room_id: the room the query asked about.
            task_id: the task the query asked about.
            request_id: the answer's request id.

        Raises:
            ValidationError: ``data`` is not a JSON object.
        """
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"SegmentTask must be a JSON object, got {type(data).__name__}", field=None
            )
        kwargs: dict[str, Any] = {}
        for attribute, key in wire_fields(cls):
            value = data.get(key)
            if value is not None:
                kwargs[attribute.name] = attribute.metadata[WIRE_READ](value, attribute.name, False)
        return cls(
            app_id=app_id,
            room_id=room_id,
            task_id=task_id,
            request_id=request_id,
            raw=dict(data),
            **kwargs,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``SegmentTask`` object as received (a copy of ``raw``)."""
        return dict(self.raw)
