"""RTC audio segmentation: the signed OpenAPI client, its request models and the callbacks.

* :class:`RtcClient` calls ``StartSegment``, ``UpdateSegment``, ``StopSegment``
  and ``GetSegmentTask`` (version 2023-11-01), signed with the Volcengine V4
  scheme, retried when safe and kept under the documented QPS.
* The request models (:class:`StartSegmentRequest` and friends) validate on
  construction and serialize to the exact PascalCase body.
* :func:`parse_callback` verifies and parses the callbacks the service POSTs,
  and :meth:`CallbackEvent.segment` reads the ``SegmentRealTimeData`` that
  announces each finished segment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._callback_dedup import DEFAULT_DEDUP_MAX_AGE, DEFAULT_DEDUP_MAX_ENTRIES, CallbackDeduplicator
from ._callback_events import CallbackEvent, Segment, SegmentFieldMapping
from ._callback_parse import DEFAULT_CALLBACK_MAX_AGE, parse_callback
from ._callback_sign import sign_callback
from ._client import RtcClient, SegmentResult
from ._enums import S3Region, SegmentTaskStatus, StorageType, StreamType, TosRegion, Vendor
from ._ratelimit import RateLimiter
from ._requests import (
    RedundantDurationUnitWarning,
    StartSegmentRequest,
    StopSegmentRequest,
    UpdateSegmentRequest,
)
from ._storage import CustomConfig, StorageConfig, TosConfig, VeImageXConfig, VodConfig
from ._streams import SegmentControl, Stream, TargetStreams
from ._task import SegmentTask

__all__ = [
    "AsyncRtcClient",
    "CallbackDeduplicator",
    "CallbackEvent",
    "CustomConfig",
    "DEFAULT_CALLBACK_MAX_AGE",
    "DEFAULT_DEDUP_MAX_AGE",
    "DEFAULT_DEDUP_MAX_ENTRIES",
    "RateLimiter",
    "RedundantDurationUnitWarning",
    "RtcClient",
    "S3Region",
    "Segment",
    "SegmentControl",
    "SegmentFieldMapping",
    "SegmentResult",
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
    "parse_callback",
    "sign_callback",
]

# Reprs and the API reference say ``volcspeech.rtc.X``, not the private module.
for _name in __all__:
    _obj = globals().get(_name)  # the async client is imported lazily, below
    if _obj is not None and not _name.isupper():
        _obj.__module__ = __name__
del _name, _obj


if _TYPE_CHECKING:  # pragma: no cover
    from ._async_client import AsyncRtcClient


def __getattr__(attr: str) -> _Any:
    # The async client needs httpx (the ``volcspeech[async]`` extra): imported on
    # first use, so ``import volcspeech.rtc`` neither needs nor loads it.
    if attr == "AsyncRtcClient":
        from ._async_client import AsyncRtcClient

        AsyncRtcClient.__module__ = __name__
        globals()[attr] = AsyncRtcClient
        return AsyncRtcClient
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
