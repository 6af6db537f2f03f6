"""volcspeech: a typed Python SDK for Volcengine speech recognition and RTC segmentation.

The public names are imported lazily, so ``import volcspeech`` stays cheap;
``from volcspeech import AsrClient`` loads only what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "APIError",
    "AsrClient",
    "AsyncAsrClient",
    "AsyncRtcClient",
    "AsyncSegmentTranscriber",
    "HttpRequest",
    "HttpResponse",
    "RedactingFilter",
    "RetryPolicy",
    "RtcClient",
    "SegmentTranscriber",
    "Timeout",
    "VolcSpeechError",
    "__version__",
]


# name -> module that defines it
_LAZY = {
    "APIError": "volcspeech.errors",
    "VolcSpeechError": "volcspeech.errors",
    "AsrClient": "volcspeech.asr",
    # The async names need httpx (``volcspeech[async]``); importing one without
    # it raises an ImportError that names the extra.
    "AsyncAsrClient": "volcspeech.asr",
    "AsyncRtcClient": "volcspeech.rtc",
    "AsyncSegmentTranscriber": "volcspeech.pipeline",
    "RtcClient": "volcspeech.rtc",
    "SegmentTranscriber": "volcspeech.pipeline",
    "RedactingFilter": "volcspeech._log",
    "HttpRequest": "volcspeech._messages",
    "HttpResponse": "volcspeech._messages",
    "RetryPolicy": "volcspeech._retry",
    "Timeout": "volcspeech._messages",
}

if TYPE_CHECKING:  # pragma: no cover
    __version__: str
    from ._log import RedactingFilter
    from ._messages import HttpRequest, HttpResponse, Timeout
    from ._retry import RetryPolicy
    from .asr import AsrClient, AsyncAsrClient
    from .errors import APIError, VolcSpeechError
    from .pipeline import AsyncSegmentTranscriber, SegmentTranscriber
    from .rtc import AsyncRtcClient, RtcClient


def __getattr__(name: str) -> Any:
    if name == "__version__":  # importlib.metadata is slow to import: read it on demand
        from ._version import version as _version

        version = _version()
        globals()["__version__"] = version
        return version
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'volcspeech' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
