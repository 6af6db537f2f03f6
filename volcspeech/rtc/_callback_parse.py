"""Parse one RTC callback: size, strict JSON, signature, ``EventData``, then the age.

The RTC service POSTs a JSON envelope whose fields are all strings
(vendor docs 6348/75124 and 6348/69820)::

    {"EventType": "SegmentRealTimeData", "EventData": "{...json...}",
     "EventTime": "2024-05-01T08:00:00.123456789Z", "EventId": "...",
     "AppId": "...", "Version": "2023-11-01", "Nonce": "1234", "Signature": "..."}

``EventTime`` is RFC 3339 in UTC per vendor doc 75124 (its example has
nanoseconds: ``1970-07-01T00:00:00.000000000Z``); epoch milliseconds (or
seconds, for 10 or fewer digits) written as a string are accepted too.

**Age.** A delivery the receiver does not answer with 200 within 5 s counts
as failed and is re-sent; the vendor material speaks of at most two re-sends
(three deliveries) and gives no schedule. A re-delivery carries the original,
signed ``EventTime``. :data:`DEFAULT_CALLBACK_MAX_AGE` (10 minutes) covers
three deliveries that each time out, generous back-off between them and
clock skew, and refuses a captured callback replayed later than that.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any, Union

from ..errors import (
    CallbackDuplicateKeyError,
    CallbackFormatError,
    ConfigurationError,
    StaleCallbackError,
)
from ._callback_events import CallbackEvent
from ._callback_sign import check_secret, is_utf8, nonce_value, verify_signature

__all__ = [
    "DEFAULT_CALLBACK_MAX_AGE",
    "DEFAULT_MAX_BODY_SIZE",
    "check_max_age",
    "parse_callback",
    "parse_event_time",
]

#: Bodies larger than this are refused before parsing (callbacks are small).
DEFAULT_MAX_BODY_SIZE = 1 << 20
#: Seconds an ``EventTime`` may lie from now, either way, by default (10 minutes):
#: covers the vendor's re-deliveries of a failed callback (5 s timeout, at most
#: two re-sends, schedule undocumented) plus clock skew.
DEFAULT_CALLBACK_MAX_AGE = 600.0

Body = Union[bytes, bytearray, memoryview, str, Mapping[str, Any]]

_SHOWN_KEY = 40


def check_max_age(value: object, name: str = "max_age") -> float | None:
    """Validate a callback age limit.

    Args:
        value: seconds (a finite number >= 0), or ``None`` to turn the check off.
        name: the argument's name, for the message.

    Returns:
        The limit as a float, or ``None``.

    Raises:
        ConfigurationError: NaN, infinite, negative or not a number.
            ``inf`` is refused rather than read as "off": pass ``None`` to say so.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(
            f"{name} must be a number of seconds >= 0, or None to turn the age check off; "
            f"got {type(value).__name__}"
        )
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(
            f"{name} must be a finite number of seconds >= 0, or None to turn the age check "
            f"off; got {value!r}"
        )
    return float(value)


def _check_now(now: object) -> float:
    if now is None:
        return time.time()
    if isinstance(now, _dt.datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=_dt.timezone.utc)
        return now.timestamp()
    if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
        raise ConfigurationError(
            "now must be a datetime or finite epoch seconds (or None for the current time), "
            f"got {type(now).__name__}"
        )
    return float(now)


def _check_body_size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"max_body_size must be an integer >= 1, got {value!r}")
    return value


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ]\s*(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*"
    r"([Zz]|[+-]\d{2}:?\d{2})$"
)


def parse_event_time(value: str) -> _dt.datetime:
    """Parse an ``EventTime``: RFC 3339 (any fraction length) or epoch ms / s digits.

    Args:
        value: the ``EventTime`` string.

    Returns:
        An aware UTC datetime (fractions beyond microseconds are truncated).

    Raises:
        ValueError: the value is in neither form, or is outside the datetime range.
    """
    text = value.strip()
    try:
        return _parse_event_time(text)
    except (OverflowError, OSError):
        # Epoch digits or an offset past the year 1-9999 range (fromtimestamp
        # and astimezone raise these rather than ValueError).
        raise ValueError(f"EventTime out of range: {text[:40]!r}") from None


def _parse_event_time(text: str) -> _dt.datetime:
    if text.isdigit():
        number = int(text)
        seconds = number / 1000 if len(text) > 10 else float(number)
        return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)
    match = _RFC3339.match(text)
    if not match:
        raise ValueError(f"not an RFC 3339 time or epoch digits: {text[:40]!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if zone in ("Z", "z"):
        tz = _dt.timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = _dt.timezone(sign * _dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    parsed = _dt.datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz
    )
    return parsed.astimezone(_dt.timezone.utc)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook``: a JSON object with a key given twice is refused."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _strict_json(text: str, what: str) -> Any:
    """``json.loads`` that refuses a key given twice in any object, at any depth."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        shown = exc.key if len(exc.key) <= _SHOWN_KEY else exc.key[: _SHOWN_KEY - 3] + "..."
        # A parser that keeps the first (or the last) value would read other content.
        raise CallbackDuplicateKeyError(
            f"{what} has the key {shown!r} more than once; refused, since parsers "
            "disagree on which value counts"
        ) from None
    except (ValueError, RecursionError):
        # RecursionError: nested deeper than json can parse (the body is untrusted).
        raise CallbackFormatError(f"{what} is not JSON") from None


def _load_envelope(body: Body, max_body_size: int) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        return body
    if isinstance(body, str):
        if not is_utf8(body):  # a lone surrogate, e.g. from a surrogateescape decode
            raise CallbackFormatError("callback body is not UTF-8 JSON")
        raw = body.encode("utf-8")
    elif isinstance(body, (bytes, bytearray, memoryview)):
        raw = bytes(body)
    else:
        raise CallbackFormatError(
            f"callback body must be bytes, str or a dict, got {type(body).__name__}"
        )
    if len(raw) > max_body_size:
        raise CallbackFormatError(
            f"callback body is {len(raw)} bytes; larger than the {max_body_size} byte limit"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CallbackFormatError("callback body is not UTF-8 JSON") from None
    try:
        parsed = _strict_json(text, "callback body")
    except CallbackDuplicateKeyError:
        raise
    except CallbackFormatError:
        raise CallbackFormatError("callback body is not UTF-8 JSON") from None
    if not isinstance(parsed, dict):
        raise CallbackFormatError(
            f"callback body must be a JSON object, got {type(parsed).__name__}"
        )
    return parsed


def parse_callback(
    body: Body,
    secret_key: str,
    *,
    max_age: float | None = DEFAULT_CALLBACK_MAX_AGE,
    now: float | _dt.datetime | None = None,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
) -> CallbackEvent:
    """Verify and parse one RTC callback.

    Order of checks: body size, JSON envelope (a key given twice at any depth
    is refused), every signed field a string, the signature (constant time),
    then ``EventData`` (again no key twice), then the age. Nothing in the body
    is trusted before the signature matches.

    Pass the raw body (bytes or str) where you can: duplicate keys can only be
    seen there; an already-parsed dict is taken as it is.

    Args:
        body: the raw request body (bytes or str) or the already-parsed dict.
        secret_key: the callback secret key from the RTC console.
        max_age: refuse events whose ``EventTime`` is more than this many
            seconds away from ``now`` (in either direction); by default
            :data:`DEFAULT_CALLBACK_MAX_AGE` (600 s). ``None`` turns the check
            off; NaN, infinity and negative values are refused.
        now: the current time (epoch seconds or a datetime), for tests.
        max_body_size: refuse larger bodies (1 MiB by default).

    Returns:
        The verified event.

    Raises:
        CallbackFormatError: the body is too large, not a JSON object, misses a
            field, or its ``EventData`` is not a JSON object.
        CallbackDuplicateKeyError: a JSON object in the body or in
            ``EventData`` has a key twice.
        CallbackSignatureError: the signature does not match.
        StaleCallbackError: ``EventTime`` is older (or newer) than ``max_age``,
            or cannot be read while an age limit is set.
        ConfigurationError: ``secret_key``, ``max_age``, ``now`` or
            ``max_body_size`` is invalid.
    """
    check_secret(secret_key)
    limit = check_max_age(max_age)
    current = _check_now(now)
    envelope = _load_envelope(body, _check_body_size(max_body_size))
    signature = verify_signature(envelope, secret_key)

    event_data = envelope["EventData"]
    data: Any = {}
    if event_data.strip():
        data = _strict_json(event_data, "callback EventData")
        if not isinstance(data, dict):
            raise CallbackFormatError(
                f"callback EventData must be a JSON object, got {type(data).__name__}"
            )

    event_time_text = envelope["EventTime"]
    try:
        event_time: _dt.datetime | None = parse_event_time(event_time_text)
    except ValueError:
        event_time = None
    if limit is not None:
        if event_time is None:
            raise StaleCallbackError(
                f"callback EventTime {event_time_text[:40]!r} cannot be read, so its age is unknown"
            )
        age = current - event_time.timestamp()
        if abs(age) > limit:
            when = "old" if age > 0 else "in the future"
            raise StaleCallbackError(
                f"callback is {abs(age):.0f} s {when}; more than max_age={limit:g} s "
                f"(EventId {envelope['EventId'][:80]})"
            )
    return CallbackEvent(
        event_type=envelope["EventType"],
        event_id=envelope["EventId"],
        event_time=event_time,
        app_id=envelope["AppId"],
        version=envelope["Version"],
        nonce=nonce_value(envelope),
        data=data,
        raw=dict(envelope),
        signature=signature,
    )
