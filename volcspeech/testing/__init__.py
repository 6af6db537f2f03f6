"""Test against volcspeech without the cloud: a local emulator of both services.

``Emulator`` serves the flash ASR API, the RTC segmentation OpenAPI and a
small object store on ``127.0.0.1`` at a random port. It checks requests the
way the services do, answers from registered ground truth, records every
request and injects faults. A pytest plugin (installed with volcspeech) gives
the fixtures ``volcspeech_emulator`` and ``volcspeech_no_retry_sleep``.
"""

from __future__ import annotations

from .._http import is_testing, set_testing
from ._emulator import (
    Emulator,
    EmulatorApp,
    EmulatorRequest,
    EmulatorResponse,
    Fault,
    FaultQueue,
    RecordedRequest,
    Service,
    TestCredentials,
)

__all__ = [
    "Emulator",
    "EmulatorApp",
    "EmulatorRequest",
    "EmulatorResponse",
    "Fault",
    "FaultQueue",
    "RecordedRequest",
    "Service",
    "TestCredentials",
    "is_testing",
    "set_testing",
]
