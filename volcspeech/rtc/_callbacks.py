"""RTC server callbacks: verify, parse, deduplicate, and read segment metadata.

The code lives in:

* ``_callback_sign``: the signed fields and the signature (constant-time check);
* ``_callback_parse``: :func:`parse_callback` (size, strict JSON without
  duplicate keys, signature, ``EventData``, age) and :func:`parse_event_time`;
* ``_callback_events``: :class:`CallbackEvent`, :class:`Segment`,
  :class:`SegmentFieldMapping`;
* ``_callback_dedup``: :class:`CallbackDeduplicator`, bounded by count and age.

The nonce field is ``Nonce`` in the Volcengine material; the BytePlus
edition of the same page spells it ``Noce``. Both are read (``Nonce`` first).
"""

from __future__ import annotations

from ._callback_dedup import DEFAULT_DEDUP_MAX_AGE, DEFAULT_DEDUP_MAX_ENTRIES, CallbackDeduplicator
from ._callback_events import (
    SEGMENT_EVENT_TYPE,
    CallbackEvent,
    Segment,
    SegmentFieldMapping,
)
from ._callback_parse import (
    DEFAULT_CALLBACK_MAX_AGE,
    DEFAULT_MAX_BODY_SIZE,
    check_max_age,
    parse_callback,
    parse_event_time,
)
from ._callback_sign import SIGNED_FIELDS, sign_callback

__all__ = [
    "CallbackDeduplicator",
    "CallbackEvent",
    "DEFAULT_CALLBACK_MAX_AGE",
    "DEFAULT_DEDUP_MAX_AGE",
    "DEFAULT_DEDUP_MAX_ENTRIES",
    "DEFAULT_MAX_BODY_SIZE",
    "SEGMENT_EVENT_TYPE",
    "SIGNED_FIELDS",
    "Segment",
    "SegmentFieldMapping",
    "check_max_age",
    "parse_callback",
    "parse_event_time",
    "sign_callback",
]
