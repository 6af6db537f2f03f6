"""Test against volcspeech without the cloud: a local emulator of both services.

``Emulator`` serves the flash ASR API, the RTC segmentation OpenAPI and a
small object store on ``127.0.0.1`` at a random port. It checks requests the
way the services do, answers from registered ground truth, records every
request and injects faults. Audio without registered ground truth is answered
with what the emulator can derive from it (its duration and speech regions),
marked ``"emulated": true``. A pytest plugin (installed with volcspeech) gives
the fixtures ``volcspeech_emulator``, ``volcspeech_emulator_factory`` and
``volcspeech_no_retry_sleep``.
"""

from __future__ import annotations

from .._http import is_testing, set_testing
from ._asr_service import AsrCall, AsrRegistration, AsrService
from ._asr_standard_service import StandardService, StandardTask
from ._callback_sender import CallbackDelivery
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
from ._mock_transport import MockTransport
from ._rtc_service import EmulatedSegment, RtcService
from ._sample import (
    SampleRoom,
    SampleTrack,
    SampleUtterance,
    SampleWord,
    load_sample_room,
)
from ._sample_audio import SAMPLE_AUDIO, sample_audio
from ._storage_service import StorageService
from ._tos_service import TosService

__all__ = [
    "AsrCall",
    "AsrRegistration",
    "AsrService",
    "CallbackDelivery",
    "EmulatedSegment",
    "Emulator",
    "EmulatorApp",
    "EmulatorRequest",
    "EmulatorResponse",
    "Fault",
    "FaultQueue",
    "MockTransport",
    "RecordedRequest",
    "RtcService",
    "SAMPLE_AUDIO",
    "SampleRoom",
    "SampleTrack",
    "SampleUtterance",
    "SampleWord",
    "Service",
    "StandardService",
    "StandardTask",
    "StorageService",
    "TestCredentials",
    "TosService",
    "is_testing",
    "load_sample_room",
    "sample_audio",
    "set_testing",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
