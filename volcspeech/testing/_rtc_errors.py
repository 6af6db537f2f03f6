"""The emulated RTC answer: its envelope, and the one error that becomes an error envelope.

The documented envelope::

    {"ResponseMetadata": {"RequestId", "Action", "Version", "Service": "rtc",
                          "Region", "Error": {"Code", "CodeN", "Message"}},
     "Result": ...}
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from ._protocol import EmulatorResponse

__all__ = ["RtcApiError", "envelope", "error_answer"]


class RtcApiError(Exception):
    """A refused request: the HTTP status and the ``Error`` of the answer's envelope.

    Raised by the signature check (the gateway's codes), the schema check and
    the actions; the service turns it into the documented error envelope.

    Attributes:
        status: the HTTP status.
        code: ``Error.Code``, e.g. ``SignatureDoesNotMatch``.
        message: ``Error.Message``.
        code_n: ``Error.CodeN``, where the gateway sends one.
    """

    def __init__(self, status: int, code: str, message: str, code_n: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.code_n = code_n


def _request_id() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(9).upper()


def envelope(
    action: str, version: str, region: str, result: Any = None, error: Any = None
) -> dict[str, Any]:
    """An answer body: ``ResponseMetadata`` and either ``Result`` or ``Error``."""
    meta: dict[str, Any] = {
        "RequestId": _request_id(),
        "Action": action,
        "Version": version,
        "Service": "rtc",
        "Region": region,
    }
    if error is not None:
        meta["Error"] = error
        return {"ResponseMetadata": meta}
    return {"ResponseMetadata": meta, "Result": result}


def error_answer(action: str, version: str, region: str, refusal: RtcApiError) -> EmulatorResponse:
    """The answer to a refused request: its HTTP status and the error envelope."""
    error: dict[str, Any] = {"Code": refusal.code, "Message": refusal.message}
    if refusal.code_n is not None:
        error["CodeN"] = refusal.code_n
    payload = envelope(action, version, region, error=error)
    return EmulatorResponse.json(refusal.status, payload, code=refusal.code)
