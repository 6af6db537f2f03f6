"""The RTC segmentation models, re-exported from their modules (the import path of old).

Every model is an ``attrs`` frozen class with snake_case fields, validated on
construction by attrs validators (a :class:`~volcspeech.errors.ValidationError`
names the field and the allowed values, never a secret), serialized by
``to_dict()`` to the exact PascalCase body the service expects (unset fields
omitted) and read back by ``from_dict()``. The code lives in:

* ``_wire``: the wire-name metadata and the generic ``to_dict`` / ``from_dict``;
* ``_enums`` and ``_validators``: the enums, the id rule, ranges and validators;
* ``_storage``: ``StorageConfig`` and its four configs;
* ``_streams`` and ``_requests``: the request bodies and their parts;
* ``_task``: ``SegmentTask``, the answer of ``GetSegmentTask``.
"""

from __future__ import annotations

from ._enums import (
    DURATION_RANGE,
    ID_PATTERN,
    MAX_IDLE_TIME_RANGE,
    MAX_STREAMS,
    S3Region,
    SegmentTaskStatus,
    StorageType,
    StreamType,
    TosRegion,
    Vendor,
)
from ._requests import (
    RedundantDurationUnitWarning,
    StartSegmentRequest,
    StopSegmentRequest,
    UpdateSegmentRequest,
    check_task_key,
)
from ._storage import CustomConfig, StorageConfig, TosConfig, VeImageXConfig, VodConfig
from ._streams import SegmentControl, Stream, TargetStreams
from ._task import SegmentTask

__all__ = [
    "CustomConfig",
    "DURATION_RANGE",
    "ID_PATTERN",
    "MAX_IDLE_TIME_RANGE",
    "MAX_STREAMS",
    "RedundantDurationUnitWarning",
    "S3Region",
    "SegmentControl",
    "SegmentTask",
    "SegmentTaskStatus",
    "StartSegmentRequest",
    "StopSegmentRequest",
    "StorageConfig",
    "StorageType",
    "Stream",
    "StreamType",
    "TargetStreams",
    "TosConfig",
    "TosRegion",
    "UpdateSegmentRequest",
    "VeImageXConfig",
    "Vendor",
    "VodConfig",
    "check_task_key",
]
