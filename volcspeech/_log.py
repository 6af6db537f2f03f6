"""Logging for volcspeech: every ``volcspeech.*`` logger redacts credentials.

A filter on a logger only sees records created by that very logger, not those
of its children, so each volcspeech logger gets its own
:class:`RedactingFilter` through :func:`get_logger`. Cheap to import (no
``requests``).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import re
import threading

__all__ = [
    "REDACTED",
    "RedactingFilter",
    "get_logger",
    "redact",
    "redact_exception",
    "remember_secret",
]

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
# A value after its name: a quoted string (``'...'``, ``"..."``, ``b'...'``, with
# backslash escapes, as reprs and JSON write them) up to its closing quote, or an
# unquoted run up to the end of the line.
_QUOTED = r"(?P<p>[bBuUrR]{0,2})(?P<q>['\"])(?P<v>(?:\\.|(?!(?P=q))[^\\\r\n])*)"
_HEADER_RE = re.compile(
    r"(?i)(?P<k>\b[bB]?['\"]?(?:"
    + "|".join(map(re.escape, _SECRET_HEADERS))
    + r")['\"]?\s*(?:[:=,]|=>)\s*)"
    + r"(?:"
    + _QUOTED
    + r"|(?P<u>[^'\"\r\n}]+))"
)
_SIGNATURE_RE = re.compile(r"(?i)(Signature=)[0-9a-f]+")
_FIELD_RE = re.compile(
    r"(?P<k>(?:[bB]?['\"](?:"
    + "|".join(map(re.escape, _SECRET_FIELDS))
    + r")['\"]\s*[:,]|\b(?:"
    + "|".join(map(re.escape, _SECRET_FIELDS))
    + r")\s*=)\s*)"
    + _QUOTED
)
# What ``requests``/``http.client`` say about a header value they refuse: the
# value follows, quoted, without the header's name.
_HEADER_VALUE_RE = re.compile(r"(?i)(?P<k>header (?:value|part)\W{0,3})" + _QUOTED)
REDACTED = "***"
# Every pattern above needs one of these words: a line without any skips the regexes.
_TRIGGERS = tuple(
    {name.lower() for name in (*_SECRET_HEADERS, *_SECRET_FIELDS)} | {"header value", "header part"}
)


def _keep_key(match: re.Match[str]) -> str:
    quote = match.groupdict().get("q")
    if quote:
        return match.group("k") + (match.group("p") or "") + quote + REDACTED
    return match.group("k") + REDACTED


#: Secrets shorter than this are not masked by value (they would mask ordinary words).
MIN_REMEMBERED = 8
#: How many secret values are remembered (the newest; refreshed tokens replace old ones).
MAX_REMEMBERED = 64
_remembered: collections.OrderedDict[str, None] = collections.OrderedDict()
_remembered_lock = threading.Lock()


def remember_secret(value: str) -> None:
    """Mask ``value`` wherever it appears in text passed to :func:`redact` from now on.

    The credential resolvers call this for every key they accept, so a
    secret echoed back by a server, or quoted by a library in a message, is
    still masked in volcspeech's log lines and errors, and in the CLI's.
    """
    if not isinstance(value, str) or len(value) < MIN_REMEMBERED:
        return
    with _remembered_lock:
        _remembered[value] = None
        _remembered.move_to_end(value)
        while len(_remembered) > MAX_REMEMBERED:
            _remembered.popitem(last=False)


def _mask_remembered(text: str) -> str:
    with _remembered_lock:
        values = list(_remembered)
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def redact(text: str) -> str:
    """Replace credential values in ``text`` with ``***``.

    Covers credential headers (``X-Api-Key: ...``, ``'X-Api-Key': b'...'``,
    ``('X-Api-Key', '...')``), secret fields of JSON bodies and reprs
    (``"SecretKey": "..."``, ``secret_access_key='...'``), V4 signatures and
    the quoted value of a header an HTTP library refused. Quoted values are
    redacted up to their closing quote, escapes included (``'SEKRET\\n'``).
    Any value given to :func:`remember_secret` is masked wherever it appears.
    """
    lowered = text.lower()
    if any(trigger in lowered for trigger in _TRIGGERS):
        text = _HEADER_RE.sub(_keep_key, text)
        text = _SIGNATURE_RE.sub(r"\g<1>" + REDACTED, text)
        text = _FIELD_RE.sub(_keep_key, text)
        text = _HEADER_VALUE_RE.sub(_keep_key, text)
    return _mask_remembered(text)


def _redact_value(value: object, depth: int = 0) -> object:
    if isinstance(value, str):
        return redact(value)
    if depth > 32:
        return value
    if isinstance(value, dict):
        return {k: _redact_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v, depth + 1) for v in value)
    return value


def redact_exception(exc: BaseException) -> None:
    """Redact, in place, the message, ``args`` and ``body`` of an error about to be raised.

    A server may quote the credential it was sent in its error message or
    body; the error (its ``str``, ``repr`` and pickle) must still not hold it.
    """
    exc.args = tuple(_redact_value(a) for a in exc.args)
    for name in ("message", "body"):
        value = getattr(exc, name, None)
        if value is not None:
            with contextlib.suppress(AttributeError):  # a read-only attribute: left as is
                setattr(exc, name, _redact_value(value))


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
