"""When to ask again: the polling schedule of standard-API tasks.

A task is polled first after ``initial`` seconds, then at intervals growing by
``factor`` up to ``maximum``; a wait never sleeps past its deadline. The
schedule is a plain value so :meth:`AsrClient.wait` and
:meth:`AsrClient.recognize_many` share it.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Union

import attrs

from .. import errors
from ..errors import ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from ._models import RecognitionTask, TaskState

__all__ = [
    "DEFAULT_POLL",
    "DEFAULT_WAIT_TIMEOUT",
    "PollLike",
    "PollSchedule",
    "Waiter",
]

#: Seconds :meth:`AsrClient.wait` waits for a task by default (3 hours).
DEFAULT_WAIT_TIMEOUT = 3 * 60 * 60.0


def _positive(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValidationError(
            f"PollSchedule.{attribute.name} must be a positive number of seconds, got {value!r}",
            field=f"poll.{attribute.name}",
        )


@attrs.frozen
class PollSchedule:
    """How often a task is queried while it runs.

    Attributes:
        initial: seconds before the first query after submitting, and the
            first interval (1 s by default).
        factor: each interval is the previous one times this (>= 1; 1.5 by default).
        maximum: the longest interval (30 s by default).
    """

    initial: float = attrs.field(default=1.0, validator=_positive)
    factor: float = attrs.field(default=1.5, validator=_positive)
    maximum: float = attrs.field(default=30.0, validator=_positive)

    @factor.validator
    def _at_least_one(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value < 1:
            raise ValidationError(
                f"PollSchedule.factor must be >= 1, got {value!r}", field="poll.factor"
            )

    def interval(self, polls: int) -> float:
        """The wait before query number ``polls + 1`` (``polls`` made so far)."""
        return float(min(self.maximum, self.initial * self.factor ** min(polls, 64)))

    @classmethod
    def coerce(cls, value: PollLike) -> PollSchedule:
        """Accept a :class:`PollSchedule`, a number (a fixed interval) or ``None`` (the default).

        Raises:
            ValidationError: anything else, or a non-positive interval.
        """
        if value is None:
            return DEFAULT_POLL
        if isinstance(value, PollSchedule):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(
                f"poll must be a number of seconds or a PollSchedule, got {value!r}", field="poll"
            )
        return cls(initial=value, factor=1.0, maximum=max(float(value), 1e-9))


PollLike = Union[PollSchedule, float, None]

#: The default schedule: 1 s, then 1.5 times longer each time, at most 30 s.
DEFAULT_POLL = PollSchedule()


class Waiter:
    """The clock of one wait for a task: how long to sleep before the next query, and
    when to give up. Pure (no I/O, no sleeping), so the sync and async ``wait`` share it.

    Args:
        task: the task waited for (named in the timeout error).
        timeout: seconds to wait in all.
        schedule: the polling schedule.

    Raises:
        ValidationError: ``timeout`` is not a positive number.
    """

    def __init__(self, task: RecognitionTask, timeout: float, schedule: PollSchedule) -> None:
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not timeout > 0
            or timeout != timeout
        ):
            raise ValidationError(
                f"timeout must be a positive number of seconds, got {timeout!r}", field="timeout"
            )
        self.task = task
        self.timeout = float(timeout)
        self.schedule = schedule
        self.deadline = time.monotonic() + timeout
        self.polls = 0

    def next_wait(self, state: TaskState) -> float:
        """Seconds to sleep after the answer ``state`` of an unfinished task (never past the end).

        Raises:
            TimeoutError: the time is up (the task goes on on the service).
        """
        self.polls += 1
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise errors.TimeoutError(
                f"task {self.task.task_id} is still {state.status.value} after "
                f"{self.timeout:g}s (it goes on: call wait(task) again later)",
                request_id=self.task.task_id,
                log_id=state.log_id,
            )
        return min(self.schedule.interval(self.polls - 1), remaining)
