"""The client-side rate limiter, driven by an injected clock."""

from __future__ import annotations

import threading

import pytest

from volcspeech.errors import ConfigurationError
from volcspeech.rtc import RateLimiter
from volcspeech.rtc._ratelimit import DEFAULT_RATE_LIMITS


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.lock = threading.Lock()

    def clock(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps.append(seconds)


def test_documented_defaults() -> None:
    """The defaults are the documented QPS (StopSegment's 60 is an assumption)."""
    assert dict(DEFAULT_RATE_LIMITS) == {
        "StartSegment": 60,
        "UpdateSegment": 150,
        "StopSegment": 60,
        "GetSegmentTask": 60,
    }
    assert RateLimiter().limits == dict(DEFAULT_RATE_LIMITS)


def test_sliding_window_allows_limit_per_second() -> None:
    """The first `limit` calls go at once; the next waits until the window slides."""
    t = FakeTime()
    limiter = RateLimiter({"StartSegment": 3}, clock=t.clock, sleep=t.sleep)
    assert [limiter.reserve("StartSegment") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.reserve("StartSegment") == 1.0
    assert limiter.reserve("StartSegment") == 1.0
    assert limiter.reserve("StartSegment") == 1.0
    assert limiter.reserve("StartSegment") == 2.0
    t.now = 5.0  # long after: the window is empty again
    assert limiter.reserve("StartSegment") == 0.0


def test_no_window_ever_holds_more_than_the_limit() -> None:
    """Over many reservations at odd times, any one-second window holds at most `limit` starts."""
    t = FakeTime()
    limiter = RateLimiter({"UpdateSegment": 5}, clock=t.clock, sleep=t.sleep)
    starts = []
    for i in range(60):
        t.now = i * 0.07
        starts.append(t.now + limiter.reserve("UpdateSegment"))
    starts.sort()
    for i, start in enumerate(starts):
        inside = [s for s in starts[i:] if s < start + 1.0]
        assert len(inside) <= 5


def test_acquire_sleeps_the_reserved_time() -> None:
    """acquire() sleeps exactly the wait reserve() computed, and reports it."""
    t = FakeTime()
    limiter = RateLimiter({"GetSegmentTask": 1}, clock=t.clock, sleep=t.sleep)
    assert limiter.acquire("GetSegmentTask") == 0.0
    assert limiter.acquire("GetSegmentTask") == 1.0
    assert t.sleeps == [1.0]


def test_actions_are_independent_and_can_be_unlimited() -> None:
    """Each action has its own window; 0 or None switches a limit off."""
    t = FakeTime()
    limiter = RateLimiter(
        {"StartSegment": 1, "StopSegment": 0, "UpdateSegment": None}, clock=t.clock, sleep=t.sleep
    )
    assert limiter.limits["StopSegment"] is None
    assert limiter.reserve("StartSegment") == 0.0
    assert limiter.reserve("GetSegmentTask") == 0.0
    assert all(limiter.reserve("StopSegment") == 0.0 for _ in range(1000))
    assert all(limiter.reserve("UpdateSegment") == 0.0 for _ in range(1000))
    assert limiter.reserve("SomethingElse") == 0.0
    assert "StartSegment" in repr(limiter)


def test_threads_share_the_window() -> None:
    """Threads sharing a limiter get distinct slots: never more than `limit` per second."""
    t = FakeTime()
    limiter = RateLimiter({"StartSegment": 10}, clock=t.clock, sleep=t.sleep)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            wait = limiter.reserve("StartSegment")
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == [float(w) for w in range(5) for _ in range(10)]


@pytest.mark.parametrize(
    "limits",
    [{"Start": 1}, {"StartSegment": -1}, {"StartSegment": 1.5}, {"StartSegment": True}],
)
def test_bad_limits(limits: dict[str, object]) -> None:
    """Unknown actions and limits that are not whole numbers >= 0 are refused."""
    with pytest.raises(ConfigurationError):
        RateLimiter(limits)  # type: ignore[arg-type]
