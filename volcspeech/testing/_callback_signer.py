"""The emulator's own signer of RTC callbacks, written apart from the SDK's verifier.

It shares no code with ``volcspeech.rtc`` (``sign_callback`` /
``parse_callback``): the tests check the library's verifier against these
signatures, so a mistake on either side shows. The algorithm, from the vendor's
callback documentation (doc 6348/69820; reference/volcengine-api.md §3):

1. take the values of ``EventType``, ``EventData``, ``EventTime``,
   ``EventId``, ``AppId``, ``Version`` and ``Nonce``, and the callback secret
   key from the console;
2. sort the eight strings lexically;
3. concatenate them with no separator;
4. hash with SHA-256 (a plain hash, not an HMAC) and write it in lowercase hex.

The strings are sorted as UTF-8 bytes, as the vendor's Go code does with
``sort.Strings``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CALLBACK_VERSION",
    "SEGMENT_EVENT_TYPE",
    "SIGNED_FIELDS",
    "callback_signature",
    "segment_callback",
]

#: The ``EventType`` of a finished segment (vendor doc 6348/75125).
SEGMENT_EVENT_TYPE = "SegmentRealTimeData"
#: The callback ``Version`` of ``SegmentRealTimeData`` (its doc anchor names 2023-11-01).
CALLBACK_VERSION = "2023-11-01"
#: The envelope fields whose values are signed, with the secret key.
SIGNED_FIELDS = ("EventType", "EventData", "EventTime", "EventId", "AppId", "Version", "Nonce")


def callback_signature(envelope: Mapping[str, str], secret: str) -> str:
    """The ``Signature`` of a callback envelope.

    Args:
        envelope: the callback body; the seven signed fields must be strings.
        secret: the callback secret key.

    Returns:
        The lowercase hex SHA-256 of the sorted, concatenated eight strings.

    Raises:
        KeyError: a signed field is missing.
    """
    pieces = [envelope[name].encode("utf-8") for name in SIGNED_FIELDS]
    pieces.append(secret.encode("utf-8"))
    digest = hashlib.sha256()
    for piece in sorted(pieces):
        digest.update(piece)
    return digest.hexdigest()


def _rfc3339(epoch_ms: int) -> str:
    moment = _dt.datetime.fromtimestamp(epoch_ms / 1000, _dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(epoch_ms % 1000) * 1_000_000:09d}Z"


def segment_callback(
    app_id: str, data: Mapping[str, Any], secret: str, *, now_ms: int
) -> dict[str, str]:
    """A signed ``SegmentRealTimeData`` envelope announcing one segment.

    Args:
        app_id: the RTC app.
        data: the ``EventData`` object (sent as a compact JSON string).
        secret: the callback secret key.
        now_ms: the ``EventTime``, as epoch milliseconds.
    """
    envelope = {
        "EventType": SEGMENT_EVENT_TYPE,
        "EventData": json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        "EventTime": _rfc3339(now_ms),
        "EventId": uuid.uuid4().hex,
        "AppId": app_id,
        "Version": CALLBACK_VERSION,
        "Nonce": f"{secrets.randbelow(10000):04d}",
    }
    envelope["Signature"] = callback_signature(envelope, secret)
    return envelope
