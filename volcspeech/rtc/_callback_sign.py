"""The RTC callback signature: which fields are signed, and how.

The signature: the values of ``EventType``, ``EventData``, ``EventTime``,
``EventId``, ``AppId``, ``Version``, ``Nonce`` and the callback secret from
the console, sorted lexically, concatenated without separators, hashed with
plain SHA-256 and written in lowercase hex (vendor docs 6348/75124 and
6348/69820).

Because the values are joined without separators, the signature binds the
*concatenation*, not each field: moving characters between, say, ``EventId``
and ``Nonce`` can give an envelope that still verifies. Deduplication
therefore keys on the verified signature as well as on ``EventId``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from ..errors import CallbackFormatError, CallbackSignatureError, ConfigurationError

__all__ = ["SIGNED_FIELDS", "sign_callback"]

#: The envelope fields covered by the signature, besides the secret.
SIGNED_FIELDS = ("EventType", "EventData", "EventTime", "EventId", "AppId", "Version", "Nonce")
#: The BytePlus documentation's spelling of ``Nonce``.
NONCE_ALIASES = ("Nonce", "Noce")


def nonce_value(fields: Mapping[str, Any]) -> Any:
    """The nonce of an envelope, under either spelling (``Nonce`` first)."""
    for name in NONCE_ALIASES:
        if name in fields:
            return fields[name]
    return None


def is_utf8(text: str) -> bool:
    """Whether ``text`` has a UTF-8 form (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_secret(secret: object) -> str:
    """The callback secret, checked: a non-empty string of valid Unicode.

    Raises:
        ConfigurationError: naming the rule, never quoting the value.
    """
    if not isinstance(secret, str) or not secret:
        raise ConfigurationError("the callback secret key must be a non-empty string")
    if not is_utf8(secret):
        raise ConfigurationError("the callback secret key must be valid Unicode text")
    return secret


def sign_callback(fields: Mapping[str, Any], secret: str) -> str:
    """Compute a callback's ``Signature`` as the RTC service does.

    Args:
        fields: the envelope (or just its seven signed fields); the nonce may
            be named ``Nonce`` or ``Noce``. Other keys are ignored.
        secret: the callback secret key from the RTC console.

    Returns:
        The lowercase hex SHA-256 of the sorted, concatenated values.

    Raises:
        CallbackFormatError: a signed field is missing, not a string, or not
            valid Unicode (a lone surrogate).
        ConfigurationError: ``secret`` is not a non-empty string of valid Unicode.
    """
    check_secret(secret)
    values = []
    for name in SIGNED_FIELDS:
        value = nonce_value(fields) if name == "Nonce" else fields.get(name)
        if not isinstance(value, str):
            problem = (
                "is missing" if value is None else f"must be a string, not {type(value).__name__}"
            )
            raise CallbackFormatError(f"callback field {name} {problem}")
        if not is_utf8(value):
            # A lone surrogate (a JSON \ud800 escape) has no UTF-8 form to hash.
            raise CallbackFormatError(f"callback field {name} is not valid Unicode text")
        values.append(value)
    values.append(secret)
    return hashlib.sha256("".join(sorted(values)).encode("utf-8")).hexdigest()


def verify_signature(envelope: Mapping[str, Any], secret: str) -> str:
    """Check an envelope's ``Signature`` in constant time.

    Returns:
        The verified signature, lowercase hex.

    Raises:
        CallbackFormatError: ``Signature`` or a signed field is missing or not a string.
        CallbackSignatureError: the signature does not match.
    """
    signature = envelope.get("Signature")
    if not isinstance(signature, str) or not signature:
        raise CallbackFormatError("callback field Signature is missing or not a string")
    expected = sign_callback(envelope, secret)
    given = signature.strip().lower().encode("utf-8", "replace")
    if not hmac.compare_digest(expected.encode("ascii"), given):
        raise CallbackSignatureError(
            "callback signature does not match (wrong secret key, or the body was altered)"
        )
    return expected
