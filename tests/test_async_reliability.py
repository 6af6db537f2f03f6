"""The reliability fault matrix of ``test_reliability.py``, run through the async clients.

The same faults (busy, 5xx, Retry-After, reset, slow, truncated; permanent codes) are
injected in the emulator with the same specs; each is recovered or raised with the same
typed error and ids as with the sync clients, with one wait per retry from the shared
decision.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from typing import Any, Callable

import pytest
from test_reliability import (
    ASR_PERMANENT,
    ASR_TRANSIENT,
    BOUND,
    HELLO,
    HELLO_TEXT,
    READ_TIMEOUT,
    RETRIES,
    RETRY_AFTER,
    RTC_PERMANENT,
    RTC_TRANSIENT,
    check_waits,
    hello_url,
    inject,
    request_id_of,
    settle,
    start_request,
)

from volcspeech import _transport_async, errors
from volcspeech.asr import AsyncAsrClient, Transcript
from volcspeech.rtc import AsyncRtcClient
from volcspeech.testing import Emulator

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """The async tests run on asyncio (the library's loop)."""
    return "asyncio"


@pytest.fixture
def emu(volcspeech_emulator: Emulator) -> Iterator[Emulator]:
    """The plugin's emulator, knowing hello.wav inline and by URL; every fault logged by the end."""
    volcspeech_emulator.asr.register(HELLO, text=HELLO_TEXT)
    volcspeech_emulator.asr.register_url(hello_url(volcspeech_emulator), HELLO, text=HELLO_TEXT)
    yield volcspeech_emulator
    settle(volcspeech_emulator)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every backoff wait the async loop decides on (sleeping stays off)."""
    recorded: list[float] = []

    async def record(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(_transport_async, "sleep", record)
    return recorded


def async_asr(emu: Emulator, **kwargs: Any) -> AsyncAsrClient:
    creds = emu.credentials
    return AsyncAsrClient(
        app_key=creds.app_key, access_key=creds.access_key, endpoint=emu.asr.endpoint, **kwargs
    )


def async_rtc(emu: Emulator, **kwargs: Any) -> AsyncRtcClient:
    creds = emu.credentials
    return AsyncRtcClient(creds.access_key_id, creds.secret_access_key, endpoint=emu.url, **kwargs)


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[Any, BaseException | None, float]:
    """Await ``call()``; return its result or error and the seconds it took."""
    import time

    t0 = time.monotonic()
    try:
        result, error = await call(), None
    except errors.VolcSpeechError as exc:
        result, error = None, exc
    return result, error, time.monotonic() - t0


def _slow_last(kinds: Any) -> list[Any]:
    """The fault kinds, the read-timeout one (about 1 s a case) marked slow."""
    return [pytest.param(k, marks=pytest.mark.slow) if k == "slow" else k for k in sorted(kinds)]


@pytest.mark.parametrize("outcome", ["recovered", "raised"])
@pytest.mark.parametrize("kind", _slow_last(ASR_TRANSIENT))
@pytest.mark.parametrize("audio", ["file", "url"])
async def test_async_asr_transient_fault(
    emu: Emulator, waits: list[float], audio: str, kind: str, outcome: str
) -> None:
    """A transient ASR fault is retried until it recovers, or raised as its typed error with
    the request and log ids once more faults come than attempts."""
    spec = ASR_TRANSIENT[kind]
    timeout = (1, READ_TIMEOUT) if spec.slow else None
    faults = RETRIES if outcome == "recovered" else RETRIES + 2
    inject(emu, "asr", kind, times=faults)
    source = str(HELLO) if audio == "file" else hello_url(emu)

    async with async_asr(emu, max_retries=RETRIES, timeout=timeout) as client:
        result, error, elapsed = await timed(
            lambda: client.recognize(source, request_id="rid-matrix")
        )

    assert elapsed < BOUND
    log = settle(emu)
    assert all(request_id_of(r) == "rid-matrix" for r in log)
    if outcome == "recovered":
        assert error is None, error
        assert isinstance(result, Transcript)
        assert result.text == HELLO_TEXT
        assert result.request_id == "rid-matrix"
        assert result.log_id
        assert len(log) == faults + 1
        assert sum(r.fault is None for r in log) == 1
        check_waits(waits, faults, kind)
    else:
        assert type(error) is spec.error
        assert isinstance(error, errors.VolcSpeechError)
        assert error.retryable is spec.retryable
        assert error.request_id == "rid-matrix"  # type: ignore[attr-defined]
        if isinstance(error, errors.APIError):
            assert error.log_id
            assert error.http_status == log[-1].status
        if kind == "retry-after":
            assert isinstance(error, errors.APIError)
            assert error.retry_after == RETRY_AFTER
        assert len(log) == RETRIES + 1
        assert all(r.fault is not None for r in log)
        assert emu.faults.pending() == faults - (RETRIES + 1)
        check_waits(waits, RETRIES, kind)


@pytest.mark.parametrize("kind", sorted(ASR_PERMANENT))
@pytest.mark.parametrize("audio", ["file", "url"])
async def test_async_asr_permanent_fault_raised_at_once(
    emu: Emulator, waits: list[float], audio: str, kind: str
) -> None:
    """A non-retryable ASR answer is raised after one request, typed, with request and log ids."""
    spec = ASR_PERMANENT[kind]
    inject(emu, "asr", kind, times=3)
    source = str(HELLO) if audio == "file" else hello_url(emu)

    async with async_asr(emu, max_retries=5) as client:
        _, error, elapsed = await timed(
            lambda: client.recognize(source, request_id="rid-permanent")
        )

    assert elapsed < BOUND
    assert type(error) is spec.error
    assert isinstance(error, errors.APIError)
    assert error.retryable is spec.retryable
    assert error.request_id == "rid-permanent"
    assert error.log_id
    assert len(settle(emu)) == 1
    assert emu.faults.pending() == 2
    assert waits == []


def rtc_call(client: AsyncRtcClient, action: str, task_id: str) -> Callable[[], Awaitable[Any]]:
    if action == "StartSegment":
        return lambda: client.start_segment(start_request(task_id))
    return lambda: client.get_segment_task("app", "room", task_id)


@pytest.mark.parametrize("outcome", ["recovered", "raised"])
@pytest.mark.parametrize("kind", _slow_last(RTC_TRANSIENT))
@pytest.mark.parametrize("action", ["StartSegment", "GetSegmentTask"])
async def test_async_rtc_transient_fault(
    emu: Emulator, waits: list[float], action: str, kind: str, outcome: str
) -> None:
    """A transient RTC fault is retried (re-signed) until it recovers, or raised as its typed
    error with a request id once more faults come than attempts."""
    spec = RTC_TRANSIENT[kind]
    timeout = (1, READ_TIMEOUT) if spec.slow else None
    async with async_rtc(emu, max_retries=RETRIES, timeout=timeout) as client:
        if action == "GetSegmentTask":
            await client.start_segment(start_request("t1"))
        before = len(emu.requests)
        faults = RETRIES if outcome == "recovered" else RETRIES + 2
        inject(emu, "rtc", kind, times=faults, action=action)

        result, error, elapsed = await timed(rtc_call(client, action, "t1"))

    assert elapsed < BOUND
    log = settle(emu)[before:]
    assert all(r.action == action for r in log)
    if outcome == "recovered":
        assert error is None, error
        assert len(log) == faults + 1
        assert sum(r.fault is None for r in log) == 1
        if action == "StartSegment":
            assert result.ok or (result.already_running and spec.spec.get("passthrough"))
            assert result.request_id
        else:
            assert result.task_id == "t1"
            assert int(result.status) == 2
        check_waits(waits, faults, kind)
    else:
        assert type(error) is spec.error
        assert isinstance(error, errors.VolcSpeechError)
        assert error.retryable is spec.retryable
        assert error.request_id  # type: ignore[attr-defined]
        if kind == "retry-after":
            assert isinstance(error, errors.APIError)
            assert error.retry_after == RETRY_AFTER
        assert len(log) == RETRIES + 1
        assert all(r.fault is not None for r in log)
        assert emu.faults.pending() == faults - (RETRIES + 1)
        check_waits(waits, RETRIES, kind)
    applied = action == "GetSegmentTask" or outcome == "recovered" or spec.spec.get("passthrough")
    assert (emu.rtc.task("app", "room", "t1") is not None) == bool(applied)


@pytest.mark.parametrize("kind", sorted(RTC_PERMANENT))
@pytest.mark.parametrize("action", ["StartSegment", "GetSegmentTask"])
async def test_async_rtc_permanent_fault_raised_at_once(
    emu: Emulator, waits: list[float], action: str, kind: str
) -> None:
    """A non-retryable RTC error is raised after one request, typed, with its request id."""
    spec = RTC_PERMANENT[kind]
    async with async_rtc(emu, max_retries=5) as client:
        if action == "GetSegmentTask":
            await client.start_segment(start_request("t1"))
        before = len(emu.requests)
        inject(emu, "rtc", kind, times=3, action=action)

        _, error, elapsed = await timed(rtc_call(client, action, "t1"))

    assert elapsed < BOUND
    assert type(error) is spec.error
    assert isinstance(error, errors.APIError)
    assert error.retryable is spec.retryable
    assert error.code == kind
    assert error.request_id
    assert len(settle(emu)) - before == 1
    assert emu.faults.pending() == 2
    assert waits == []


@pytest.mark.parametrize("service", ["asr", "rtc"])
async def test_async_max_retries_zero_means_one_attempt(
    emu: Emulator, waits: list[float], service: str
) -> None:
    """With ``max_retries=0`` a transient fault is raised after exactly one request."""
    inject(emu, service, "busy", times=2)
    if service == "asr":
        async with async_asr(emu, max_retries=0) as asr:
            _, error, _ = await timed(lambda: asr.recognize(HELLO))
        assert type(error) is errors.ServerBusyError
    else:
        async with async_rtc(emu, max_retries=0) as rtc:
            _, error, _ = await timed(lambda: rtc.start_segment(start_request("t1")))
        assert type(error) is errors.RateLimitError
    assert len(settle(emu)) == 1
    assert emu.faults.pending() == 1
    assert waits == []
    emu.faults.clear()
