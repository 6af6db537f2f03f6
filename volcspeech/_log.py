"""Logging for volcspeech: every ``volcspeech.*`` logger redacts credentials.

A filter on a logger only sees records created by that very logger, not those
of its children, so each volcspeech logger gets its own
:class:`RedactingFilter` through :func:`get_logger`. Cheap to import (no
``requests``).
"""

from __future__ import annotations

import logging
import re

__all__ = ["REDACTED", "RedactingFilter", "get_logger", "redact"]

_SECRET_HEADERS = ("X-Api-Access-Key", "X-Api-Key", "Authorization", "X-Security-Token")
_SECRET_FIELDS = (
    "SecretKey",
    "AccessKey",
    "SecretAccessKey",
    "SessionToken",
    "secret_access_key",
    "access_key",
    "api_key",
    "session_token",
    "secret_key",
    "Signature",
)
_HEADER_RE = re.compile(
    r"(?i)(?P<k>['\"]?(?:" + "|".join(map(re.escape, _SECRET_HEADERS)) + r")['\"]?\s*[:=]\s*)"
    r"(?P<q>['\"]?)(?P<v>[^'\"\r\n}]+)"
)
_SIGNATURE_RE = re.compile(r"(?i)(Signature=)[0-9a-f]+")
_FIELD_RE = re.compile(
    r"(?P<k>['\"](?:" + "|".join(map(re.escape, _SECRET_FIELDS)) + r")['\"]\s*:\s*)"
    r"(?P<q>['\"])(?P<v>(?:[^'\"\\]|\\.)*)"
)
REDACTED = "***"


def redact(text: str) -> str:
    """Replace credential header values and secret JSON fields in ``text`` with ``***``."""
    text = _HEADER_RE.sub(lambda m: m.group("k") + m.group("q") + REDACTED, text)
    text = _SIGNATURE_RE.sub(r"\g<1>" + REDACTED, text)
    return _FIELD_RE.sub(lambda m: m.group("k") + m.group("q") + REDACTED, text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts credentials from a record's final message.

    Installed on the ``volcspeech`` logger; add it to your own handlers to
    cover ``urllib3``'s or your app's lines too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record: leave it to logging's own handling
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def get_logger(name: str) -> logging.Logger:
    """Return the named logger with a :class:`RedactingFilter` attached (once)."""
    log = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in log.filters):
        log.addFilter(RedactingFilter())
    return log
