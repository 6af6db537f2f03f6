"""The emulator's own checks of segmentation request bodies (independent of the SDK models).

Error codes: the public material names the families (``InvalidParameter.*``,
``MissingParameter``) but not the per-field codes, so the emulator invents
them from the field's path, list positions dropped:

* ``MissingParameter.<Path>`` for a required field that is absent, e.g.
  ``MissingParameter.StorageConfig.TosConfig.Bucket``;
* ``InvalidParameter.<Path>`` for a wrong type, range or pattern, e.g.
  ``InvalidParameter.Duration`` or ``InvalidParameter.TargetStreams.StreamList.UserId``;
* ``InvalidParameter.<Path>`` also for a field the documentation does not
  have. The real service may ignore unknown fields; the emulator refuses
  them so a misplaced field (such as ``Control`` nested in ``StorageConfig``,
  as in the vendor's example) shows up in tests.

All of these answer HTTP 400.

Where the vendor's Go SDK says an out-of-range ``Duration`` or
``MaxIdleTime`` "is adjusted to the default", the emulator refuses it
instead, so a client bug is not hidden.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._rtc_errors import RtcApiError

__all__ = [
    "SchemaError",
    "check_start",
    "check_stop",
    "check_task_query",
    "check_update",
]

_ID = re.compile(r"[a-zA-Z0-9_@\-.]{1,128}")
_ID_TEXT = r"[a-zA-Z0-9_@\-\.]{1,128}"


class SchemaError(RtcApiError):
    """A body that does not match the documented schema (always HTTP 400)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(400, code, message)


def _code_path(path: str) -> str:
    return re.sub(r"\[\d+\]", "", path)


def _invalid(path: str, problem: str) -> SchemaError:
    return SchemaError(f"InvalidParameter.{_code_path(path)}", f"{path} {problem}")


def _missing(path: str) -> SchemaError:
    return SchemaError(f"MissingParameter.{_code_path(path)}", f"{path} is required")


class _Obj:
    def __init__(self, data: object, path: str, allowed: tuple[str, ...]) -> None:
        if not isinstance(data, Mapping):
            raise _invalid(path or "body", "must be a JSON object")
        for key in data:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                raise _invalid(where, f"is not a field of {path or 'the body'}")
        self.data = data
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, required: bool = False) -> Any:
        value = self.data.get(key)
        if value is None and required:
            raise _missing(self.at(key))
        return value

    def id(self, key: str, required: bool = False) -> str | None:
        value = self.get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or not _ID.fullmatch(value):
            raise _invalid(self.at(key), f"must match {_ID_TEXT}")
        return value

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise _invalid(self.at(key), "must be a non-empty string")
        return value

    def integer(
        self, key: str, lo: int, hi: int | None = None, choices: tuple[int, ...] = ()
    ) -> int | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid(self.at(key), "must be an integer")
        if choices and value not in choices:
            raise _invalid(self.at(key), f"must be one of {', '.join(map(str, choices))}")
        if value < lo or (hi is not None and value > hi):
            limit = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
            raise _invalid(self.at(key), f"must be {limit}")
        return value

    def boolean(self, key: str) -> bool | None:
        value = self.get(key)
        if value is not None and not isinstance(value, bool):
            raise _invalid(self.at(key), "must be true or false")
        return value

    def child(self, key: str, allowed: tuple[str, ...], required: bool = False) -> _Obj | None:
        value = self.get(key, required)
        if value is None:
            return None
        return _Obj(value, self.at(key), allowed)


def _check_storage(body: _Obj) -> None:
    storage = body.child(
        "StorageConfig",
        ("Type", "TosConfig", "VodConfig", "CustomConfig", "VeImageXConfig"),
        required=True,
    )
    assert storage is not None
    kind = storage.integer("Type", 0, 3)
    kind = 0 if kind is None else kind
    if kind not in (0, 2):
        raise _invalid(
            storage.at("Type"),
            "must be 0 (TOS) or 2 (third-party S3-compatible store) for segmentation",
        )
    wanted = "TosConfig" if kind == 0 else "CustomConfig"
    for other in ("TosConfig", "VodConfig", "CustomConfig", "VeImageXConfig"):
        if other != wanted and storage.get(other) is not None:
            raise _invalid(storage.at(other), f"does not go with Type {kind}; set {wanted}")
    if kind == 0:
        tos = storage.child("TosConfig", ("AccountId", "Region", "Bucket"), required=True)
        assert tos is not None
        tos.text("AccountId", required=True)
        tos.integer("Region", 0)
        tos.text("Bucket", required=True)
    else:
        custom = storage.child(
            "CustomConfig",
            ("Vendor", "Region", "Bucket", "AccessKey", "SecretKey"),
            required=True,
        )
        assert custom is not None
        custom.integer("Vendor", 0, 4)
        custom.integer("Region", 0)
        custom.text("Bucket", required=True)
        custom.text("AccessKey", required=True)
        custom.text("SecretKey", required=True)


def _check_streams(body: _Obj) -> None:
    targets = body.child("TargetStreams", ("StreamList",))
    if targets is None:
        return
    streams = targets.get("StreamList")
    if streams is None:
        return
    path = targets.at("StreamList")
    if not isinstance(streams, list):
        raise _invalid(path, "must be a list")
    if len(streams) > 17:
        raise _invalid(path, "has more than 17 streams")
    seen: set[int] = set()
    for i, item in enumerate(streams):
        stream = _Obj(item, f"{path}[{i}]", ("Index", "UserId", "StreamType"))
        stream.id("UserId", required=True)
        stream.integer("StreamType", 0, 1)
        index = stream.integer("Index", 0)
        if index is not None:
            if index in seen:
                raise _invalid(stream.at("Index"), f"{index} is used twice")
            seen.add(index)


def check_start(data: object) -> Mapping[str, Any]:
    """Validate a ``StartSegment`` body.

    Raises:
        SchemaError: the first problem found.
    """
    body = _Obj(
        data,
        "",
        (
            "AppId",
            "BusinessId",
            "RoomId",
            "TaskId",
            "MaxIdleTime",
            "TargetStreams",
            "Duration",
            "StorageConfig",
            "Control",
            "Identifier",
            "Handle",
        ),
    )
    body.id("AppId", required=True)
    body.id("BusinessId")
    body.id("RoomId", required=True)
    body.id("TaskId", required=True)
    body.integer("MaxIdleTime", 1, 86400)
    _check_streams(body)
    body.integer("Duration", 1, 600)
    _check_storage(body)
    control = body.child("Control", ("Align", "Mixed", "IgnoreSilence", "RedundantDuration"))
    if control is not None:
        control.boolean("Align")
        control.boolean("Mixed")
        control.boolean("IgnoreSilence")
        control.integer("RedundantDuration", 0)
    body.id("Identifier")
    body.boolean("Handle")
    return body.data


def check_update(data: object) -> Mapping[str, Any]:
    """Validate an ``UpdateSegment`` body.

    Raises:
        SchemaError: the first problem found.
    """
    body = _Obj(
        data, "", ("AppId", "BusinessId", "RoomId", "TaskId", "Duration", "Handle", "Identifier")
    )
    body.id("AppId", required=True)
    body.id("BusinessId")
    body.id("RoomId", required=True)
    body.id("TaskId", required=True)
    body.integer("Duration", 1, 600)
    body.boolean("Handle")
    body.id("Identifier")
    return body.data


def check_stop(data: object) -> Mapping[str, Any]:
    """Validate a ``StopSegment`` body.

    Raises:
        SchemaError: the first problem found.
    """
    body = _Obj(data, "", ("AppId", "BusinessId", "RoomId", "TaskId"))
    body.id("AppId", required=True)
    body.id("BusinessId")
    body.id("RoomId", required=True)
    body.id("TaskId", required=True)
    return body.data


def check_task_query(query: Mapping[str, str]) -> tuple[str, str, str]:
    """Validate the ``GetSegmentTask`` query; return ``(AppId, RoomId, TaskId)``.

    Raises:
        SchemaError: a missing or malformed id.
    """
    values = []
    for key in ("AppId", "RoomId", "TaskId"):
        value = query.get(key)
        if not value:
            raise _missing(key)
        if not _ID.fullmatch(value):
            raise _invalid(key, f"must match {_ID_TEXT}")
        values.append(value)
    return values[0], values[1], values[2]
