"""The retry policy and the one decision "retry after N seconds, or raise".

:func:`decide_retry` is pure apart from the jitter: it reads the failure (a
volcspeech error, already typed by the service's reader or by the transport),
the attempt number, the time spent and the policy, and returns a
:class:`RetryDecision`. It never sleeps, so the sync loop
(``volcspeech._transport.send``) sleeps with ``time.sleep`` and an async
transport can call the same function and ``await asyncio.sleep``.

No HTTP library is imported here.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from typing import Any, Callable

import attrs

from . import errors

__all__ = [
    "DEFAULT_ATTEMPTS",
    "DEFAULT_DEADLINE",
    "DEFAULT_RETRY",
    "DEFAULT_TOTAL_TIMEOUT",
    "DEFAULT_WAIT_INITIAL",
    "DEFAULT_WAIT_MAX",
    "MAX_RETRY_AFTER",
    "RetryDecision",
    "RetryPolicy",
    "decide_retry",
    "is_testing",
    "parse_retry_after",
    "set_testing",
    "sleep",
]

#: Total attempts: the first one plus retries.
DEFAULT_ATTEMPTS = 4
#: No retry starts when its wait would end more than this many seconds after the
#: first attempt began (an attempt already running may still take its read timeout,
#: but never past the deadline).
DEFAULT_TOTAL_TIMEOUT = 300.0
#: The hard limit of one call, across all its attempts and waits: connect, upload,
#: headers and body included. A trickling server cannot extend it.
DEFAULT_DEADLINE = 600.0
#: First backoff ceiling (seconds); doubles per attempt up to ``DEFAULT_WAIT_MAX``.
DEFAULT_WAIT_INITIAL = 0.5
DEFAULT_WAIT_MAX = 10.0
#: Longest ``Retry-After`` we wait for; a longer one is capped to this (and a wait
#: past the total time budget ends the retries instead).
MAX_RETRY_AFTER = 60.0


def _check_seconds(name: str, value: Any, *, zero_ok: bool = False) -> None:
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (value >= 0 if zero_ok else value > 0)
        and value != float("inf")
    )
    if not ok:
        raise errors.ConfigurationError(
            f"{name} must be a finite number of seconds {'>= 0' if zero_ok else '> 0'}, "
            f"got {value!r}"
        )


@attrs.frozen
class RetryPolicy:
    """When and how long to retry.

    Attributes:
        attempts: total attempts including the first (``max_retries + 1``).
        total_timeout: no retry starts after this many seconds since the first attempt.
        wait_initial: the first backoff ceiling in seconds.
        wait_max: the largest backoff ceiling in seconds.
    """

    attempts: int = attrs.field(default=DEFAULT_ATTEMPTS)
    total_timeout: float = attrs.field(default=DEFAULT_TOTAL_TIMEOUT)
    wait_initial: float = attrs.field(default=DEFAULT_WAIT_INITIAL)
    wait_max: float = attrs.field(default=DEFAULT_WAIT_MAX)

    @attempts.validator
    def _check_attempts(self, _: Any, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise errors.ConfigurationError(f"attempts must be an integer >= 1, got {value!r}")

    @total_timeout.validator
    @wait_initial.validator
    @wait_max.validator
    def _check_waits(self, attribute: attrs.Attribute[float], value: float) -> None:
        _check_seconds(attribute.name, value, zero_ok=attribute.name != "total_timeout")

    def __attrs_post_init__(self) -> None:
        if self.wait_initial > self.wait_max:
            raise errors.ConfigurationError(
                f"wait_initial ({self.wait_initial!r}) must not be larger than wait_max "
                f"({self.wait_max!r})"
            )

    @classmethod
    def from_max_retries(cls, max_retries: int | None, **kwargs: Any) -> RetryPolicy:
        """Build a policy from a client's ``max_retries`` (retries after the first attempt)."""
        if max_retries is None:
            return cls(**kwargs)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise errors.ConfigurationError(
                f"max_retries must be an integer >= 0, got {max_retries!r}"
            )
        return cls(attempts=max_retries + 1, **kwargs)

    @classmethod
    def resolve(cls, max_retries: int | None, retry: RetryPolicy | None) -> RetryPolicy:
        """The policy of a client given ``max_retries=`` and/or ``retry=``.

        Raises:
            ConfigurationError: both given, or ``retry`` is not a ``RetryPolicy``.
        """
        if retry is None:
            return cls.from_max_retries(max_retries)
        if not isinstance(retry, RetryPolicy):
            raise errors.ConfigurationError(
                f"retry must be a volcspeech.RetryPolicy, got {type(retry).__name__}"
            )
        if max_retries is not None:
            raise errors.ConfigurationError("pass max_retries or retry, not both")
        return retry

    def backoff_ceiling(self, retry_number: int) -> float:
        """The upper bound of the jittered wait before retry ``retry_number`` (1-based)."""
        return float(min(self.wait_max, self.wait_initial * (2 ** (retry_number - 1))))


DEFAULT_RETRY = RetryPolicy()


@attrs.frozen
class RetryDecision:
    """What to do after a failed attempt.

    Attributes:
        wait: seconds to wait before the next attempt, or ``None`` to raise.
        reason: why, in a few words (for the DEBUG line).
        exhausted: the error was worth retrying but the attempts, the time
            budget or the deadline ran out (the loop logs "giving up").
    """

    wait: float | None
    reason: str
    exhausted: bool = False

    @property
    def retry(self) -> bool:
        """Whether another attempt follows."""
        return self.wait is not None


def decide_retry(
    error: BaseException,
    *,
    attempt: int,
    elapsed: float,
    policy: RetryPolicy,
    remaining: float | None = None,
    uniform: Callable[[float, float], float] = random.uniform,
) -> RetryDecision:
    """Decide whether attempt ``attempt`` (1-based) that failed with ``error`` is retried.

    Args:
        error: what the attempt raised: a typed error from the service's
            reader (its ``retryable`` decides) or a transport error.
        attempt: the number of the attempt that failed, from 1.
        elapsed: seconds since the first attempt began.
        policy: the retry policy.
        remaining: seconds left before the call's deadline, if it has one.
        uniform: the jitter source (``random.uniform``; tests pass their own).

    Returns:
        The decision: a wait in seconds (full jitter, at least ``Retry-After``
        up to :data:`MAX_RETRY_AFTER`), or ``None`` with the reason to raise.
    """
    if not isinstance(error, errors.VolcSpeechError):
        return RetryDecision(None, f"unexpected {type(error).__name__}")
    if not error.retryable:
        return RetryDecision(None, f"{type(error).__name__} is not retryable")
    if attempt >= policy.attempts:
        return RetryDecision(None, f"all {policy.attempts} attempts made", exhausted=True)
    wait = uniform(0, policy.backoff_ceiling(attempt))  # full jitter
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        wait = max(wait, min(float(retry_after), MAX_RETRY_AFTER))
    if elapsed + wait >= policy.total_timeout:
        return RetryDecision(
            None,
            f"a wait of {wait:.2f}s would pass the {policy.total_timeout:g}s retry budget",
            exhausted=True,
        )
    if remaining is not None and wait >= remaining:
        return RetryDecision(
            None, f"a wait of {wait:.2f}s would pass the call's deadline", exhausted=True
        )
    return RetryDecision(wait, "retryable")


_testing = threading.Event()


def set_testing(enabled: bool = True) -> None:
    """Switch off the sleeping between retries (for test suites).

    Retry decisions and computed waits are still made and logged; only the
    ``time.sleep`` is skipped. ``volcspeech.testing`` re-exports this.
    """
    if enabled:
        _testing.set()
    else:
        _testing.clear()


def is_testing() -> bool:
    """Whether :func:`set_testing` switched sleeping off."""
    return _testing.is_set()


def sleep(seconds: float) -> None:
    """``time.sleep`` unless :func:`set_testing` switched sleeping off."""
    if not _testing.is_set() and seconds > 0:
        time.sleep(seconds)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date) into seconds, or ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = parsed.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
