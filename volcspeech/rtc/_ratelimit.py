"""A client-side rate limiter that keeps each RTC action under its documented QPS.

A sliding window per action: at most ``limit`` requests start in any window
of one second. A caller that would exceed it reserves the next free slot
under a lock and sleeps outside the lock until then, so threads sharing one
client queue up fairly instead of all waking at once. The clock and the sleep
are injectable, so tests need no real time.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Mapping
from typing import Callable

from ..errors import ConfigurationError

__all__ = ["DEFAULT_RATE_LIMITS", "RateLimiter"]

#: Documented request rates (per second) of the segmentation actions.
#: ``StopSegment``'s limit is not documented; 60 (like StartSegment) is an assumption.
DEFAULT_RATE_LIMITS: Mapping[str, int] = {
    "StartSegment": 60,
    "UpdateSegment": 150,
    "StopSegment": 60,
    "GetSegmentTask": 60,
}

#: The window the limits are counted over, in seconds.
WINDOW = 1.0


class RateLimiter:
    """Per-action sliding-window limiter, safe to share between threads.

    Args:
        limits: requests per second per action; ``0`` or ``None`` switches an
            action's limit off. Actions not named keep their default from
            :data:`DEFAULT_RATE_LIMITS`.
        clock: a monotonic clock in seconds (``time.monotonic`` by default).
        sleep: the function that waits (``time.sleep`` by default).

    Raises:
        ConfigurationError: an unknown action name or a limit that is not a
            non-negative integer.
    """

    def __init__(
        self,
        limits: Mapping[str, int | None] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        merged: dict[str, int | None] = dict(DEFAULT_RATE_LIMITS)
        for action, limit in (limits or {}).items():
            if action not in DEFAULT_RATE_LIMITS:
                raise ConfigurationError(
                    f"rate_limits: unknown action {action!r}; "
                    f"known: {', '.join(sorted(DEFAULT_RATE_LIMITS))}"
                )
            if limit is not None and (
                isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
            ):
                raise ConfigurationError(
                    f"rate_limits[{action!r}] must be a whole number of requests per second "
                    f"(0 or None: no limit), got {limit!r}"
                )
            merged[action] = limit or None
        self._limits = merged
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: dict[str, collections.deque[float]] = {
            action: collections.deque() for action in merged
        }

    @property
    def limits(self) -> dict[str, int | None]:
        """The effective limit of each action (``None``: unlimited)."""
        return dict(self._limits)

    def reserve(self, action: str) -> float:
        """Reserve the next free slot for ``action`` without waiting.

        Returns:
            Seconds the caller must wait before sending (0 when it may send now).
        """
        limit = self._limits.get(action)
        if not limit:
            return 0.0
        with self._lock:
            now = self._clock()
            slots = self._slots[action]
            while slots and slots[0] <= now - WINDOW:
                slots.popleft()
            slot = now if len(slots) < limit else slots[0] + WINDOW
            if slots:
                slot = max(slot, slots[-1])
            slots.append(slot)
            while len(slots) > limit:
                slots.popleft()
        return max(0.0, slot - now)

    def acquire(self, action: str) -> float:
        """Wait until ``action`` may send under its limit.

        Returns:
            The seconds waited.
        """
        wait = self.reserve(action)
        if wait > 0:
            self._sleep(wait)
        return wait

    def __repr__(self) -> str:
        return f"RateLimiter({self._limits!r})"
