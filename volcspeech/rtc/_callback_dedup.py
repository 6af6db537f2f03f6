"""``CallbackDeduplicator``: handle each callback once, in bounded memory."""

from __future__ import annotations

import collections
import itertools
import math
import threading
import time
from typing import Callable

from ..errors import ConfigurationError
from ._callback_events import CallbackEvent
from ._callback_parse import DEFAULT_CALLBACK_MAX_AGE

__all__ = ["DEFAULT_DEDUP_MAX_AGE", "DEFAULT_DEDUP_MAX_ENTRIES", "CallbackDeduplicator"]

#: How many deliveries a :class:`CallbackDeduplicator` remembers by default.
DEFAULT_DEDUP_MAX_ENTRIES = 10_000
#: How long (seconds) it remembers one by default: twice the callback age limit
#: (20 minutes), since an event passes :func:`parse_callback`'s age check from
#: ``max_age`` before its ``EventTime`` to ``max_age`` after it.
DEFAULT_DEDUP_MAX_AGE = 2 * DEFAULT_CALLBACK_MAX_AGE


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def _max_age(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(
            f"max_age must be a finite number of seconds > 0, or None to keep entries "
            f"until max_entries pushes them out; got {type(value).__name__}"
        )
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(
            f"max_age must be a finite number of seconds > 0, or None to keep entries "
            f"until max_entries pushes them out; got {value!r}"
        )
    return float(value)


class CallbackDeduplicator:
    """Remembers recent deliveries so a re-delivered or replayed callback is handled once.

    A delivery is known by its ``EventId`` **and** by what its signature
    verified (:attr:`CallbackEvent.content_key`): the vendor joins the signed
    values without separators, so an envelope with ``EventId`` / ``Nonce``
    split differently can still verify; it counts as the same delivery here.

    Memory is bounded: at most ``max_entries`` deliveries, each forgotten
    ``max_age`` seconds after it was last seen (and the least recently seen
    first when the count is reached). Thread-safe. One instance dedups within
    one process only: several workers need a shared store (see the security
    docs).

    Example::

        dedup = CallbackDeduplicator()
        event = parse_callback(body, secret)
        if dedup.first_delivery(event):
            handle(event)

    Args:
        max_entries: how many deliveries to remember (10,000 by default).
        max_age: seconds to remember one (:data:`DEFAULT_DEDUP_MAX_AGE`,
            1,200 s by default, twice the callback age limit so that every
            replay that can still pass the age check is caught); ``None``:
            only ``max_entries`` bounds it.
        max_size: the former name of ``max_entries``.
        clock: a monotonic clock, for tests.

    Raises:
        ConfigurationError: a limit is not a positive number.
    """

    def __init__(
        self,
        max_entries: int = DEFAULT_DEDUP_MAX_ENTRIES,
        *,
        max_age: float | None = DEFAULT_DEDUP_MAX_AGE,
        max_size: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_size is not None:
            max_entries = _positive_int("max_size", max_size)
        self.max_entries = _positive_int("max_entries", max_entries)
        self.max_age = _max_age(max_age)
        if not callable(clock):
            raise ConfigurationError("clock must be callable (() -> seconds)")
        self._clock = clock
        # entry number -> (last seen, its keys), oldest first; key -> entry number.
        self._entries: collections.OrderedDict[int, tuple[float, tuple[str, ...]]] = (
            collections.OrderedDict()
        )
        self._index: dict[str, int] = {}
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    @property
    def max_size(self) -> int:
        """The former name of :attr:`max_entries`."""
        return self.max_entries

    @staticmethod
    def _keys(event: CallbackEvent | str) -> tuple[str, ...]:
        if isinstance(event, str):
            return (f"id:{event}",)
        return (f"id:{event.event_id}", event.content_key)

    def _expire(self, now: float) -> None:
        """Drop entries past ``max_age``, then the oldest beyond ``max_entries``."""
        while self._entries:
            number, (seen_at, keys) = next(iter(self._entries.items()))
            too_old = self.max_age is not None and now - seen_at > self.max_age
            if not too_old and len(self._entries) <= self.max_entries:
                break
            del self._entries[number]
            for key in keys:
                if self._index.get(key) == number:
                    del self._index[key]

    def seen(self, event: CallbackEvent | str) -> bool:
        """Record the delivery and return whether it had been seen before.

        Args:
            event: a :class:`CallbackEvent`, or an ``EventId``.
        """
        keys = self._keys(event)
        with self._lock:
            now = self._clock()
            self._expire(now)
            known = next((self._index[k] for k in keys if k in self._index), None)
            if known is not None:
                _, old_keys = self._entries.pop(known)
                merged = old_keys + tuple(k for k in keys if k not in old_keys)
                self._entries[known] = (now, merged)
                for key in merged:
                    self._index[key] = known
                return True
            number = next(self._numbers)
            self._entries[number] = (now, keys)
            for key in keys:
                self._index[key] = number
            self._expire(now)
            return False

    def first_delivery(self, event: CallbackEvent | str) -> bool:
        """Record the delivery and return whether this is its first."""
        return not self.seen(event)

    def __contains__(self, event: object) -> bool:
        if not isinstance(event, (str, CallbackEvent)):
            return False
        keys = self._keys(event)
        with self._lock:
            self._expire(self._clock())
            return any(k in self._index for k in keys)

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._entries)

    def clear(self) -> None:
        """Forget every delivery."""
        with self._lock:
            self._entries.clear()
            self._index.clear()
