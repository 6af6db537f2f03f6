"""The async clients: same arguments, results and errors as the sync ones, on httpx or an
async MockTransport; lifecycle, the extra's import error, and ``recognize_many``."""

from __future__ import annotations

import asyncio
import json
import pickle
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from volcspeech import AsrClient, HttpRequest, HttpResponse, RtcClient, _transport_async, errors
from volcspeech.asr import AsyncAsrClient, BatchResult, RecognitionOptions
from volcspeech.rtc import AsyncRtcClient, RateLimiter, StartSegmentRequest, StorageConfig
from volcspeech.testing import Emulator, MockTransport

pytestmark = pytest.mark.anyio

HELLO = Path(__file__).parent / "fixtures" / "audio" / "hello.wav"
OK_HEADERS = {"X-Api-Status-Code": "20000000", "X-Tt-Logid": "LOG-1"}
OK_BODY = json.dumps({"result": {"text": "hello", "utterances": []}}).encode()


@pytest.fixture
def anyio_backend() -> str:
    """The async tests run on asyncio (the library's loop)."""
    return "asyncio"


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every backoff wait the async loop decides on (sleeping stays off)."""
    recorded: list[float] = []

    async def record(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(_transport_async, "sleep", record)
    return recorded


def async_asr(emu: Emulator, **kwargs: Any) -> AsyncAsrClient:
    """An async ASR client for the emulator with its test credentials."""
    creds = emu.credentials
    kwargs.setdefault("endpoint", emu.asr.endpoint)
    if not {"api_key", "app_key", "access_key"} & kwargs.keys():
        kwargs.update(app_key=creds.app_key, access_key=creds.access_key)
    return AsyncAsrClient(**kwargs)


def async_rtc(emu: Emulator, **kwargs: Any) -> AsyncRtcClient:
    """An async RTC client for the emulator with its test credentials."""
    creds = emu.credentials
    kwargs.setdefault("endpoint", emu.url)
    return AsyncRtcClient(creds.access_key_id, creds.secret_access_key, **kwargs)


def start_request(task_id: str = "t1") -> StartSegmentRequest:
    return StartSegmentRequest(
        app_id="app",
        room_id="room",
        task_id=task_id,
        storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
    )


# --- construction and lifecycle -------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_key": "k", "endpoint": "ftp://x"},
        {"api_key": "k", "timeout": -1},
        {"api_key": "k", "max_retries": -1},
        {"api_key": "k", "deadline": 0},
        {"api_key": "k", "max_answer_bytes": 0},
        {"api_key": "k", "resource_id": "has space"},
        {"app_key": "only-half"},
        {},
    ],
)
async def test_async_asr_refuses_what_the_sync_client_refuses(kwargs: dict[str, Any]) -> None:
    """Each bad argument raises the sync client's ConfigurationError, with the same message."""
    with pytest.raises(errors.ConfigurationError) as sync_error:
        AsrClient(**kwargs)
    with pytest.raises(errors.ConfigurationError) as async_error:
        AsyncAsrClient(**kwargs)
    assert str(async_error.value) == str(sync_error.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"region": "mars-1"},
        {"endpoint": "http://"},
        {"rate_limits": {"Nope": 1}},
        {"timeout": (1, 2, 3)},
    ],
)
async def test_async_rtc_refuses_what_the_sync_client_refuses(kwargs: dict[str, Any]) -> None:
    """Each bad argument raises the sync client's ConfigurationError, with the same message."""
    with pytest.raises(errors.ConfigurationError) as sync_error:
        RtcClient("AK", "SK", **kwargs)
    with pytest.raises(errors.ConfigurationError) as async_error:
        AsyncRtcClient("AK", "SK", **kwargs)
    assert str(async_error.value) == str(sync_error.value)


async def test_transport_and_http_client_are_exclusive() -> None:
    """Passing both a transport and an http_client is refused; a non-httpx client too."""
    transport = MockTransport(lambda r: HttpResponse(200))
    async with httpx.AsyncClient() as http_client:
        with pytest.raises(errors.ConfigurationError, match="not both"):
            AsyncAsrClient(api_key="k", transport=transport, http_client=http_client)
    with pytest.raises(errors.ConfigurationError, match=r"httpx\.AsyncClient"):
        AsyncAsrClient(api_key="k", http_client=object())
    with pytest.raises(errors.ConfigurationError, match="callable"):
        AsyncRtcClient("AK", "SK", transport=42)  # type: ignore[arg-type]


async def test_a_sync_client_refuses_an_async_transport() -> None:
    """A sync client given an async transport says to use the async client."""

    async def handler(request: HttpRequest) -> HttpResponse:
        return HttpResponse(200)

    for transport in (MockTransport(handler), handler):
        with pytest.raises(errors.ConfigurationError, match="AsyncAsrClient"):
            AsrClient(api_key="k", transport=transport)
    with pytest.raises(errors.ConfigurationError, match="AsyncRtcClient"):
        RtcClient("AK", "SK", transport=handler)


async def test_aclose_closes_our_http_client_but_not_the_callers(
    volcspeech_emulator: Emulator,
) -> None:
    """aclose() closes volcspeech's own httpx client, never one the caller passed; a closed
    client raises ClientClosedError."""
    volcspeech_emulator.asr.register(HELLO, text="hello world")
    async with async_asr(volcspeech_emulator) as asr:
        own = asr.http_client
        assert (await asr.recognize(HELLO)).text == "hello world"
    assert own.is_closed
    assert asr.closed
    with pytest.raises(errors.ClientClosedError, match="AsyncAsrClient is closed"):
        await asr.recognize(HELLO)

    async with httpx.AsyncClient() as mine:
        async with async_asr(volcspeech_emulator, http_client=mine) as asr:
            assert asr.http_client is mine
            assert (await asr.recognize(HELLO)).text == "hello world"
        assert not mine.is_closed
        async with async_rtc(volcspeech_emulator, http_client=mine) as rtc:
            assert (await rtc.start_segment(start_request())).ok
        assert not mine.is_closed


async def test_repr_names_the_async_class_and_no_secret() -> None:
    """The repr says AsyncAsrClient / AsyncRtcClient and shows no key."""
    asr = AsyncAsrClient(api_key="sk-very-secret-value")
    rtc = AsyncRtcClient("AK", "sk-very-secret-value")
    try:
        assert repr(asr).startswith("AsyncAsrClient(")
        assert repr(rtc).startswith("AsyncRtcClient(")
        assert "sk-very-secret-value" not in repr(asr) + repr(rtc)
        with pytest.raises(TypeError, match="cannot be pickled"):
            asr.__reduce__()
        for client in (asr, rtc):  # a volcspeech error too, saying what to pickle instead
            with pytest.raises(errors.ConfigurationError, match="credentials="):
                pickle.dumps(client)
    finally:
        await asr.aclose()
        await rtc.aclose()


def test_importing_volcspeech_does_not_load_httpx() -> None:
    """``import volcspeech.asr`` / ``.rtc`` load no httpx; the async names import it on use."""
    code = (
        "import sys, volcspeech, volcspeech.asr, volcspeech.rtc\n"
        "assert 'httpx' not in sys.modules\n"
        "from volcspeech.asr import AsyncAsrClient\n"
        "assert 'httpx' in sys.modules and AsyncAsrClient.__module__ == 'volcspeech.asr'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


@pytest.mark.parametrize(
    ("name", "blocked"),
    [
        (client, blocked)
        for client in ("volcspeech.asr:AsyncAsrClient", "volcspeech.rtc:AsyncRtcClient")
        for blocked in ("httpx", "httpx anyio")
    ]
    + [
        ("volcspeech:AsyncAsrClient", "httpx anyio"),
        # The transcriber runs any async client: it needs anyio, not httpx.
        ("volcspeech.pipeline:AsyncSegmentTranscriber", "httpx anyio"),
    ],
)
def test_without_httpx_the_import_error_names_the_extra(name: str, blocked: str) -> None:
    """Without httpx (or without httpx and anyio, as after a plain `pip install volcspeech`),
    importing an async name raises ImportError naming volcspeech[async]."""
    module, attr = name.split(":")
    code = (
        "import sys\n"
        f"BLOCKED = {blocked.split()!r}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ImportError('No module named ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"import {module}\n"
        "try:\n"
        f"    from {module} import {attr}\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert "volcspeech[async]" in out.stdout


# --- MockTransport with an async handler -------------------------------------------------------


async def test_async_mock_transport_runs_retries_and_readers(waits: list[float]) -> None:
    """An async handler's busy answer is retried with the shared decision, then read as a
    Transcript; the same request id goes on every attempt."""
    answers = [
        HttpResponse(503, {"X-Api-Status-Code": "55000031"}),
        HttpResponse(200, OK_HEADERS, OK_BODY),
    ]

    async def handler(request: HttpRequest) -> HttpResponse:
        await asyncio.sleep(0)
        return answers.pop(0)

    transport = MockTransport(handler)
    assert transport.is_async
    async with AsyncAsrClient(api_key="k", transport=transport) as asr:
        transcript = await asr.recognize(HELLO, request_id="rid-1")
    assert transcript.text == "hello"
    assert transcript.log_id == "LOG-1"
    assert transcript.request_id == "rid-1"
    assert [r.headers["X-Api-Request-Id"] for r in transport.requests] == ["rid-1", "rid-1"]
    assert len(waits) == 1
    assert transport.requests[0].read_body() == transport.requests[1].read_body()


async def test_async_client_raises_typed_errors_with_ids() -> None:
    """A permanent answer is raised at once as the sync client's typed error, with ids."""

    async def handler(request: HttpRequest) -> HttpResponse:
        return HttpResponse(400, {"X-Api-Status-Code": "45000001", "X-Tt-Logid": "LOG-2"})

    transport = MockTransport(handler)
    async with AsyncAsrClient(api_key="k", transport=transport) as asr:
        with pytest.raises(errors.InvalidRequestError) as info:
            await asr.recognize(HELLO, request_id="rid-2")
    assert info.value.request_id == "rid-2"
    assert info.value.log_id == "LOG-2"
    assert len(transport.requests) == 1


async def test_bad_input_is_refused_before_any_request() -> None:
    """Bad audio, options or request ids raise the sync client's errors, and nothing is sent."""
    transport = MockTransport(lambda r: HttpResponse(500))
    async with AsyncAsrClient(api_key="k", transport=transport) as asr:
        with pytest.raises(errors.InvalidAudioError):
            await asr.recognize(b"not audio at all")
        with pytest.raises(errors.ValidationError, match="options"):
            await asr.recognize(HELLO, options={"a": 1})  # type: ignore[arg-type]
        with pytest.raises(errors.ValidationError, match="request_id"):
            await asr.recognize(HELLO, request_id="has space")
        with pytest.raises(errors.InvalidAudioError):
            await asr.recognize("/no/such/file.wav")
    async with AsyncRtcClient("AK", "SK", transport=transport) as rtc:
        with pytest.raises(errors.ValidationError, match="start_segment"):
            await rtc.start_segment({"AppId": "x"})  # type: ignore[arg-type]
        with pytest.raises(errors.ValidationError):
            await rtc.get_segment_task("app", "bad room!", "t1")
    assert transport.requests == []


async def test_a_foreign_exception_of_a_transport_becomes_a_transport_error() -> None:
    """A handler raising a non-volcspeech exception gives a TransportError, not retried."""

    async def handler(request: HttpRequest) -> HttpResponse:
        raise RuntimeError("boom")

    transport = MockTransport(handler)
    async with AsyncAsrClient(api_key="k", transport=transport) as asr:
        with pytest.raises(errors.TransportError, match="RuntimeError: boom"):
            await asr.recognize(HELLO)
    assert len(transport.requests) == 1


async def test_rtc_attempts_wait_for_the_rate_limit_without_blocking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An RTC action over its QPS waits its slot with asyncio.sleep (the loop stays free)."""
    body = json.dumps(
        {"ResponseMetadata": {"RequestId": "R", "Action": "StartSegment"}, "Result": "ok"}
    ).encode()
    transport = MockTransport(lambda r: HttpResponse(200, {}, body))
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    limiter = RateLimiter({"StartSegment": 1}, sleep=lambda s: pytest.fail("blocking sleep"))
    async with AsyncRtcClient("AK", "SK", transport=transport, rate_limits=limiter) as rtc:
        for n in range(3):
            assert (await rtc.start_segment(start_request(f"t{n}"))).ok
    # One request per second: the second waits about 1 s, the third about 2 s (not slept).
    assert len(slept) == 2
    assert 0.9 < slept[0] <= 1.0
    assert 1.9 < slept[1] <= 2.0
    assert rtc.rate_limiter is limiter


async def test_rtc_signs_every_attempt_afresh(waits: list[float]) -> None:
    """A retried RTC attempt carries its own V4 signature header."""
    ok = json.dumps(
        {"ResponseMetadata": {"RequestId": "R", "Action": "StartSegment"}, "Result": "ok"}
    ).encode()
    busy = json.dumps(
        {"ResponseMetadata": {"RequestId": "R", "Error": {"Code": "InternalError"}}}
    ).encode()
    answers = [HttpResponse(500, {}, busy), HttpResponse(200, {}, ok)]

    async def handler(request: HttpRequest) -> HttpResponse:
        return answers.pop(0)

    transport = MockTransport(handler)
    async with AsyncRtcClient("AK", "SK", transport=transport) as rtc:
        assert (await rtc.start_segment(start_request())).ok
    assert len(transport.requests) == 2
    assert all("Authorization" in r.headers for r in transport.requests)
    assert len(waits) == 1


# --- against the emulator ----------------------------------------------------------------------


async def test_recognize_and_rtc_actions_against_the_emulator(
    volcspeech_emulator: Emulator,
) -> None:
    """The async clients recognize inline and URL audio and run every RTC action on the emulator."""
    emu = volcspeech_emulator
    emu.asr.register(HELLO, text="hello world")
    url = f"{emu.url}/media/hello.wav"
    emu.asr.register_url(url, HELLO, text="hello world")
    async with async_asr(emu) as asr:
        inline, by_url, from_bytes = await asyncio.gather(
            asr.recognize(HELLO), asr.recognize(url), asr.recognize(HELLO.read_bytes())
        )
        with HELLO.open("rb") as file:
            from_file = await asr.recognize(file)
    for transcript in (inline, by_url, from_bytes, from_file):
        assert transcript.text == "hello world"
        assert transcript.log_id
    async with async_rtc(emu) as rtc:
        started = await rtc.start_segment(start_request())
        task = await rtc.get_segment_task("app", "room", "t1")
        again = await rtc.start_segment(start_request())
        from volcspeech.rtc import StopSegmentRequest, UpdateSegmentRequest

        updated = await rtc.update_segment(
            UpdateSegmentRequest(app_id="app", room_id="room", task_id="t1", duration=30)
        )
        stopped = await rtc.stop_segment(
            StopSegmentRequest(app_id="app", room_id="room", task_id="t1")
        )
    assert started.ok
    assert again.already_running
    assert updated.ok
    assert stopped.ok
    assert task.task_id == "t1"
    assert int(task.status) == 2


# --- recognize_many ------------------------------------------------------------------------------


async def test_recognize_many_yields_every_item_once_with_its_index(
    volcspeech_emulator: Emulator,
) -> None:
    """Every item comes back once, with its index; a failing one carries its error and the
    batch goes on."""
    emu = volcspeech_emulator
    emu.asr.register(HELLO, text="hello world")
    items: list[Any] = [HELLO] * 7 + [b"junk"] + [str(HELLO)] * 4
    async with async_asr(emu) as asr:
        results = [r async for r in asr.recognize_many(items, concurrency=3)]
    assert sorted(r.index for r in results) == list(range(len(items)))
    by_index = {r.index: r for r in results}
    assert isinstance(by_index[7].error, errors.InvalidAudioError)
    assert by_index[7].input == b"junk"
    assert all(r.ok and r.unwrap().text == "hello world" for i, r in by_index.items() if i != 7)


async def test_recognize_many_yields_as_completed_and_bounds_concurrency() -> None:
    """A fast item is not held back by a slow earlier one, and at most ``concurrency`` run."""
    in_flight = 0
    peak = 0
    release = asyncio.Event()

    async def handler(request: HttpRequest) -> HttpResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            if request.headers["X-Api-Request-Id"] and b'"uid":"slow"' in request.read_body():
                await release.wait()
            await asyncio.sleep(0.001)
            return HttpResponse(200, OK_HEADERS, OK_BODY)
        finally:
            in_flight -= 1

    transport = MockTransport(handler)
    order: list[int] = []
    slow_client = AsyncAsrClient(api_key="k", transport=transport, uid="slow")
    async with slow_client, AsyncAsrClient(api_key="k", transport=transport) as asr:

        async def slow_first() -> BatchResult:
            return BatchResult(0, None, transcript=await slow_client.recognize(HELLO))

        slow = asyncio.ensure_future(slow_first())
        async for result in asr.recognize_many([HELLO] * 10, concurrency=4):
            order.append(result.index)
        release.set()
        assert (await slow).ok
    assert sorted(order) == list(range(10))
    assert peak <= 4 + 1  # four of the batch and the one slow call


async def test_recognize_many_takes_an_async_iterable() -> None:
    """Items may come from an async generator, read lazily."""
    transport = MockTransport(lambda r: HttpResponse(200, OK_HEADERS, OK_BODY))
    pulled = 0

    async def items() -> AsyncIterator[Path]:
        nonlocal pulled
        for _ in range(5):
            pulled += 1
            yield HELLO

    async with AsyncAsrClient(api_key="k", transport=transport) as asr:
        results = [r async for r in asr.recognize_many(items(), concurrency=2)]
    assert pulled == 5
    assert sorted(r.index for r in results) == [0, 1, 2, 3, 4]


async def test_recognize_many_validates_its_arguments_at_the_call() -> None:
    """Bad concurrency, options or items raise ValidationError before anything is sent."""
    transport = MockTransport(lambda r: HttpResponse(500))
    async with AsyncAsrClient(api_key="k", transport=transport) as asr:
        for bad in (0, -1, 1.5, True, "4"):
            with pytest.raises(errors.ValidationError, match="concurrency"):
                asr.recognize_many([HELLO], concurrency=bad)  # type: ignore[arg-type]
        with pytest.raises(errors.ValidationError, match="options"):
            asr.recognize_many([HELLO], options="x")  # type: ignore[arg-type]
        with pytest.raises(errors.ValidationError, match="items"):
            asr.recognize_many(42)  # type: ignore[arg-type]
        with pytest.raises(errors.ValidationError, match="items"):
            asr.recognize_many(str(HELLO))
    with pytest.raises(errors.ClientClosedError):
        asr.recognize_many([HELLO])
    assert transport.requests == []


async def test_leaving_recognize_many_early_cancels_the_rest() -> None:
    """Breaking out of the loop cancels the recognitions in flight; no task is left behind."""
    started = 0
    cancelled = 0

    async def handler(request: HttpRequest) -> HttpResponse:
        nonlocal started, cancelled
        started += 1
        if started == 5:  # the first answer comes once all five are in flight
            return HttpResponse(200, OK_HEADERS, OK_BODY)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return HttpResponse(200, OK_HEADERS, OK_BODY)

    transport = MockTransport(handler)
    before = asyncio.all_tasks()
    async with AsyncAsrClient(api_key="k", transport=transport) as asr:
        batch = asr.recognize_many([HELLO] * 50, concurrency=5)
        async for result in batch:
            assert result.ok
            break
        await batch.aclose()  # type: ignore[attr-defined]
    assert started == 5
    assert cancelled == 4
    assert asyncio.all_tasks() <= before


async def test_recognize_many_uses_the_given_options() -> None:
    """The batch's options go into every request."""
    transport = MockTransport(lambda r: HttpResponse(200, OK_HEADERS, OK_BODY))
    options = RecognitionOptions(enable_punc=True)
    async with AsyncAsrClient(api_key="k", transport=transport) as asr:
        results = [r async for r in asr.recognize_many([HELLO, HELLO], options=options)]
    assert all(r.ok for r in results)
    bodies = [json.loads(r.read_body()) for r in transport.requests]
    assert all(b["request"]["enable_punc"] is True for b in bodies)


def test_the_async_client_is_usable_from_plain_threads() -> None:
    """Each thread may run its own loop with its own client (nothing is global)."""
    transport = MockTransport(lambda r: HttpResponse(200, OK_HEADERS, OK_BODY))
    texts: list[str] = []

    def work() -> None:
        async def one() -> str:
            async with AsyncAsrClient(api_key="k", transport=transport) as asr:
                return (await asr.recognize(HELLO)).text

        texts.append(asyncio.run(one()))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert texts == ["hello"] * 3


async def test_a_refreshing_credential_provider_is_asked_off_the_loop() -> None:
    """A provider that may read files or the network is called in a worker thread, each attempt."""
    from volcspeech.credentials import OpenApiCredentials

    loop_thread = threading.get_ident()
    asked_in: list[int] = []

    class Provider:
        def get_credentials(self) -> OpenApiCredentials:
            asked_in.append(threading.get_ident())
            return OpenApiCredentials("AK", "sts-session-token-value-not-a-key")

    ok = json.dumps(
        {"ResponseMetadata": {"RequestId": "R", "Action": "StartSegment"}, "Result": "ok"}
    ).encode()
    transport = MockTransport(lambda r: HttpResponse(200, {}, ok))
    async with AsyncRtcClient(credentials=Provider(), transport=transport) as rtc:
        assert (await rtc.start_segment(start_request())).ok
    assert len(asked_in) == 1
    assert loop_thread not in asked_in


async def test_recognize_takes_a_flash_model_and_refuses_bad_api_and_models() -> None:
    """model= picks the flash resource id as on the sync client; an unknown api= and
    standard models with the flash API are refused before any request (api='standard' /
    'auto' are tested in test_async_standard.py)."""
    from volcspeech.asr._models import FLASH_RESOURCE_ID

    transport = MockTransport(lambda r: HttpResponse(200, OK_HEADERS, OK_BODY))
    async with AsyncAsrClient(api_key="k", transport=transport, resource_id="custom.res") as asr:
        await asr.recognize(HELLO)
        await asr.recognize(HELLO, model="flash")
        with pytest.raises(errors.ValidationError, match="api must be one of"):
            await asr.recognize(HELLO, api="fast")
        with pytest.raises(errors.ValidationError, match="standard-API model"):
            await asr.recognize(HELLO, model="2.0")
    sent = [r.headers["X-Api-Resource-Id"] for r in transport.requests]
    assert sent == ["custom.res", FLASH_RESOURCE_ID]


async def test_async_rtc_checks_each_provider_answer_before_sending() -> None:
    """A provider answering None or a key with a newline is a ConfigurationError, nothing sent."""
    from volcspeech.credentials import OpenApiCredentials
    from volcspeech.rtc import StopSegmentRequest

    class Provider:
        def __init__(self, answer: Any) -> None:
            self.answer = answer

        def get_credentials(self) -> Any:
            return self.answer

    bad_answers = [None, OpenApiCredentials("AKLTtest", "secret-with-newline\n")]
    for answer in bad_answers:
        transport = MockTransport(lambda r: HttpResponse(200))
        async with AsyncRtcClient(credentials=Provider(answer), transport=transport) as rtc:
            with pytest.raises(errors.ConfigurationError) as caught:
                await rtc.stop_segment(StopSegmentRequest(app_id="a", room_id="r", task_id="t"))
        assert "secret-with-newline" not in str(caught.value)
        assert transport.requests == []
