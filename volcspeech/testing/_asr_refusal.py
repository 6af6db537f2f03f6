"""The emulated flash ASR API's status codes, and the refusal every check raises.

Codes from the vendor's table (reference/volcengine-api.md §1), except
:data:`AUTH_FAILED`, which the vendor does not document.
"""

from __future__ import annotations

from typing import Union

__all__ = [
    "AUTH_FAILED",
    "BAD_FORMAT",
    "BUSY",
    "EMPTY",
    "INTERNAL",
    "INVALID",
    "OK",
    "SILENT",
    "Refusal",
    "status_for",
]

OK = 20000000
SILENT = 20000003
INVALID = 45000001
EMPTY = 45000002
BAD_FORMAT = 45000151
BUSY = 55000031
INTERNAL = 55000000
#: Refused credentials or resource. NOT documented by the vendor: the
#: emulator's choice, with HTTP 401/403 (which is what clients should rely on).
AUTH_FAILED = 45000010


class Refusal(Exception):
    """A request the service refuses: a status code, its message and the HTTP status."""

    def __init__(self, code: int, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status or status_for(code)


def status_for(code: Union[int, str, None]) -> int:
    """The HTTP status the service answers with a status code."""
    text = str(code)
    if text == str(BUSY):
        return 503
    if text.startswith("550"):
        return 500
    if text.startswith("45"):
        return 400
    if text.startswith("2"):
        return 200
    return 500
