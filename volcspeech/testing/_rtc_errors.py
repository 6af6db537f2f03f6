"""The one error the emulated RTC gateway and service raise while checking a request."""

from __future__ import annotations

__all__ = ["RtcApiError"]


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
