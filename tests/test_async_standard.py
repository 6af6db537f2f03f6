"""The async client's standard API: constructor parity with AsrClient, submit/query/wait on
the emulator and on an async MockTransport, resume, routing (api="auto"), uploaders, batches."""

from __future__ import annotations

import inspect
import json
import pickle
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from volcspeech import HttpRequest, HttpResponse, _transport_async, errors
from volcspeech.asr import (
    AsrClient,
    AsyncAsrClient,
    PollSchedule,
    RecognitionOptions,
    RecognitionTask,
    TaskStatus,
    TosUploader,
    UploadSource,
)
from volcspeech.credentials import CallableCredentials, EnvCredentials, SpeechCredentials
from volcspeech.testing import Emulator, MockTransport

pytestmark = pytest.mark.anyio

HELLO = Path(__file__).parent / "fixtures" / "audio" / "hello.wav"
HELLO_TRUTH = [{"text": "hello world", "start_time": 139, "end_time": 861, "words": []}]


@pytest.fixture
def anyio_backend() -> str:
    """The async tests run on asyncio (the library's loop)."""
    return "asyncio"


class Clock:
    """A settable clock for the emulator's task timing."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def emu(volcspeech_emulator: Emulator) -> Emulator:
    """The emulator with hello.wav registered and a settable clock on the standard API."""
    volcspeech_emulator.asr.register(HELLO, utterances=HELLO_TRUTH)
    volcspeech_emulator.asr.standard.clock = Clock()
    return volcspeech_emulator


@pytest.fixture
def sleeps(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every async sleep, recorded instead of slept, each advancing the emulator's clock."""
    recorded: list[float] = []
    clock = emu.asr.standard.clock
    assert isinstance(clock, Clock)

    async def record(seconds: float) -> None:
        recorded.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(_transport_async, "sleep", record)
    return recorded


def async_asr(emu: Emulator, **kwargs: Any) -> AsyncAsrClient:
    """An async ASR client for the emulator with its test credentials."""
    creds = emu.credentials
    kwargs.setdefault("endpoint", emu.asr.endpoint)
    if not {"api_key", "app_key", "access_key", "credentials"} & kwargs.keys():
        kwargs.update(app_key=creds.app_key, access_key=creds.access_key)
    return AsyncAsrClient(**kwargs)


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[AsyncAsrClient]:
    """An async client of the emulator."""
    async with async_asr(emu) as c:
        yield c


def wav(data: bytes, rate: int = 16000) -> bytes:
    """A mono 16-bit WAV of ``data``."""
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def paths(emu: Emulator) -> list[str]:
    """The last path segment of every recorded request, in order."""
    return [r.path.rsplit("/", 1)[-1] for r in emu.requests]


# --- constructor parity ----------------------------------------------------------------------


def test_constructor_matches_the_sync_client() -> None:
    """AsyncAsrClient takes AsrClient's arguments (same kinds and defaults), except the
    documented differences: http_client= for session=, no allow_pickling_secrets=."""
    sync = inspect.signature(AsrClient.__init__).parameters
    asyn = inspect.signature(AsyncAsrClient.__init__).parameters
    assert set(sync) - set(asyn) == {"session", "allow_pickling_secrets"}
    assert set(asyn) - set(sync) == {"http_client"}
    for name in set(sync) & set(asyn):
        assert (asyn[name].kind, asyn[name].default) == (sync[name].kind, sync[name].default), name


def test_methods_match_the_sync_client() -> None:
    """Every standard-API method of AsrClient has an async twin taking the same arguments."""
    for name in ("submit", "query", "wait", "recognize"):
        sync = inspect.signature(getattr(AsrClient, name)).parameters
        asyn = inspect.signature(getattr(AsyncAsrClient, name)).parameters
        assert list(asyn) == list(sync), name
        assert inspect.iscoroutinefunction(getattr(AsyncAsrClient, name)), name
    sync_many = set(inspect.signature(AsrClient.recognize_many).parameters)
    async_many = set(inspect.signature(AsyncAsrClient.recognize_many).parameters)
    assert sync_many - async_many == {"max_workers", "executor"}
    assert async_many - sync_many == {"concurrency"}


async def test_model_and_inline_limit_are_checked_and_kept() -> None:
    """model= and standard_inline_bytes= are checked as on AsrClient and exposed."""
    async with AsyncAsrClient(api_key="k", model="1.0", standard_inline_bytes=0) as asr:
        assert asr.standard_resource_id == "volc.bigasr.auc"
        assert asr.standard_inline_bytes == 0
    with pytest.raises(errors.ConfigurationError, match="standard_inline_bytes"):
        AsyncAsrClient(api_key="k", standard_inline_bytes=-1)
    with pytest.raises(errors.ConfigurationError):
        AsyncAsrClient(api_key="k", model="not a model")


async def test_a_credential_source_is_read_at_the_first_request(emu: Emulator) -> None:
    """credentials=CallableCredentials(...) is not called at construction, then once, on use."""
    calls: list[int] = []
    creds = emu.credentials

    def fetch() -> SpeechCredentials:
        calls.append(1)
        return SpeechCredentials(app_key=creds.app_key, access_key=creds.access_key)

    async with async_asr(emu, credentials=CallableCredentials(fetch)) as asr:
        assert calls == []
        assert (await asr.recognize(HELLO)).text == "hello world"
        assert (await asr.recognize(HELLO)).text == "hello world"
    assert calls == [1]
    with pytest.raises(errors.ConfigurationError, match="not both"):
        AsyncAsrClient(api_key="k", credentials=EnvCredentials())


async def test_pickling_is_refused_with_a_configuration_error() -> None:
    """pickle.dumps of an async client raises ConfigurationError saying what to use instead."""
    async with AsyncAsrClient(api_key="sk-secret-value", credentials=None) as asr:
        with pytest.raises(errors.ConfigurationError, match="do not pickle") as info:
            pickle.dumps(asr)
    assert "AsrClient" in str(info.value)
    assert "sk-secret-value" not in str(info.value)


# --- submit / query / wait on the emulator ---------------------------------------------------


async def test_query_walks_queued_processing_done(emu: Emulator, client: AsyncAsrClient) -> None:
    """20000002 queued, 20000001 processing, then 20000000 done with the transcript."""
    std = emu.asr.standard
    std.queued_for, std.processing_for = 10.0, 20.0
    clock = std.clock
    assert isinstance(clock, Clock)
    task = await client.submit(HELLO, request_id="a-task")
    assert task == RecognitionTask("a-task", "volc.seedasr.auc")
    first = await client.query(task)
    assert (first.status, first.code, first.finished) == (TaskStatus.QUEUED, 20000002, False)
    clock.now += 15
    assert (await client.query(task)).status is TaskStatus.PROCESSING
    clock.now += 20
    done = await client.query(task)
    assert (done.status, done.code) == (TaskStatus.DONE, 20000000)
    assert done.unwrap().text == "hello world"
    assert paths(emu) == ["submit", "query", "query", "query"]


async def test_wait_follows_the_poll_schedule(
    emu: Emulator, client: AsyncAsrClient, sleeps: list[float]
) -> None:
    """wait() sleeps (asyncio, via the testing-aware sleep) on the schedule until done."""
    std = emu.asr.standard
    std.queued_for, std.processing_for = 3.0, 4.0
    task = await client.submit(HELLO)
    transcript = await client.wait(task, poll=PollSchedule(initial=1, factor=2, maximum=3))
    assert transcript.text == "hello world"
    assert sleeps == [1, 2, 3, 3]
    assert std.polls(task.task_id) == 5


async def test_silent_audio_is_done_and_silent(client: AsyncAsrClient) -> None:
    """20000003: a done task whose transcript is silent and empty."""
    state = await client.query(await client.submit(wav(b"\x00\x00" * 16000)))
    assert (state.status, state.code) == (TaskStatus.DONE, 20000003)
    assert state.unwrap().silent


@pytest.mark.parametrize(
    ("code", "error"),
    [(45000151, errors.AudioFormatError), (55000000, errors.ServerError)],
)
async def test_a_failed_task_has_the_typed_error(
    emu: Emulator, client: AsyncAsrClient, code: int, error: type[Exception]
) -> None:
    """A failed task: query gives a failed state with the typed error; wait raises it."""
    emu.asr.standard.fail_next(code, "failed")
    task = await client.submit(HELLO)
    state = await client.query(task)
    assert state.status is TaskStatus.FAILED
    assert isinstance(state.error, error)
    assert state.code == code
    with pytest.raises(error):
        await client.wait(task, poll=0.01, timeout=5)


async def test_wait_times_out_naming_the_task(
    emu: Emulator, client: AsyncAsrClient, sleeps: list[float]
) -> None:
    """A task still queued at the timeout raises TimeoutError naming it; no sleep passes it."""
    emu.asr.standard.queued_for = 1e9
    task = await client.submit(HELLO)
    with pytest.raises(errors.TimeoutError, match=task.task_id):
        await client.wait(task, timeout=0.2, poll=0.05)
    assert sleeps
    assert all(s <= 0.2 for s in sleeps)
    with pytest.raises(errors.ValidationError, match="timeout"):
        await client.wait(task, timeout=0)


async def test_a_task_resumes_from_a_fresh_client(emu: Emulator, sleeps: list[float]) -> None:
    """A task's to_dict() (or its id) resumes on a new async client, and on a sync one."""
    emu.asr.standard.processing_for = 5.0
    async with async_asr(emu, model="1.0") as first:
        task = await first.submit(HELLO)
    stored = json.loads(json.dumps(task.to_dict()))
    async with async_asr(emu, model="1.0") as second:
        assert (await second.wait(stored, poll=2)).text == "hello world"
        assert (await second.query(task.task_id)).ok
    with emu.asr.client() as sync:
        assert sync.wait(stored, poll=0.01).text == "hello world"
    queries = [r for r in emu.requests if r.path.endswith("query")]
    assert {r.headers["x-api-resource-id"] for r in queries} == {"volc.bigasr.auc"}


async def test_recognize_standard_submits_and_waits(emu: Emulator, client: AsyncAsrClient) -> None:
    """recognize(api='standard') is submit + wait; the standard-only options are taken."""
    options = RecognitionOptions(enable_gender_detection=True)
    transcript = await client.recognize(HELLO, api="standard", options=options, poll=0.01)
    assert transcript.text == "hello world"
    assert paths(emu)[:2] == ["submit", "query"]


# --- the async MockTransport: every query status code ------------------------------------------


def _answer(code: int, body: dict[str, Any] | None = None) -> HttpResponse:
    headers = {"X-Api-Status-Code": str(code), "X-Tt-Logid": "LOG", "X-Api-Message": "m"}
    return HttpResponse(200 if code < 40000000 else 400, headers, json.dumps(body or {}).encode())


async def test_every_query_code_through_an_async_handler(sleeps: list[float]) -> None:
    """Queued, processing, done, silent and a typed failure, read from an async handler."""
    answers = {
        "t-queued": _answer(20000002),
        "t-processing": _answer(20000001),
        "t-done": _answer(20000000, {"result": {"text": "hi", "utterances": []}}),
        "t-silent": _answer(20000003, {"result": {"text": "", "utterances": []}}),
        "t-bad": _answer(45000151),
    }

    async def handler(request: HttpRequest) -> HttpResponse:
        return answers[request.headers["X-Api-Request-Id"]]

    async with AsyncAsrClient(api_key="k", transport=MockTransport(handler)) as asr:
        states = {tid: await asr.query(tid) for tid in answers}
        with pytest.raises(errors.AudioFormatError):
            await asr.wait("t-bad")
        with pytest.raises(errors.TimeoutError, match="t-processing"):
            await asr.wait("t-processing", timeout=0.05, poll=0.01)
    assert states["t-queued"].status is TaskStatus.QUEUED
    assert states["t-processing"].status is TaskStatus.PROCESSING
    assert states["t-done"].unwrap().text == "hi"
    assert states["t-silent"].unwrap().silent
    assert isinstance(states["t-bad"].error, errors.AudioFormatError)
    assert states["t-bad"].log_id == "LOG"


async def test_query_refuses_what_is_not_a_task() -> None:
    """query() of a non-task is a ValidationError naming task, before any request."""
    transport = MockTransport(lambda r: _answer(20000000))
    async with AsyncAsrClient(api_key="k", transport=transport) as asr:
        with pytest.raises(errors.ValidationError) as info:
            await asr.query(42)  # type: ignore[arg-type]
    assert info.value.field == "task"
    assert transport.requests == []


# --- routing, options per API, uploaders -------------------------------------------------------


async def test_auto_sends_small_audio_to_flash(emu: Emulator, client: AsyncAsrClient) -> None:
    """api='auto' makes one flash request for audio inside flash's limits."""
    assert (await client.recognize(HELLO, api="auto")).text == "hello world"
    assert paths(emu) == ["flash"]


async def test_auto_beyond_the_flash_limit_uploads_and_goes_standard(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond flash's limit (patched to 0.5 s) api='auto' uploads via TosUploader and submits."""
    import volcspeech.asr._standard_routing as routing

    monkeypatch.setattr(routing, "MAX_DURATION_MS", 500)
    async with async_asr(emu, standard_inline_bytes=0) as asr:
        with pytest.raises(errors.ValidationError, match="uploader=") as info:
            await asr.recognize(HELLO, api="auto")
        assert info.value.field == "uploader"
        assert emu.requests == []
        with TosUploader(bucket=emu.tos.bucket, client=emu.tos.client()) as uploader:
            transcript = await asr.recognize(HELLO, api="auto", uploader=uploader, poll=0.01)
    assert transcript.text == "hello world"
    assert emu.tos.keys_stored() == 1
    body = json.loads(next(r for r in emu.requests if r.path.endswith("submit")).body)
    assert body["audio"]["url"].startswith(emu.url + "/")
    assert "data" not in body["audio"]


async def test_an_async_uploader_is_awaited_and_errors_are_wrapped(
    emu: Emulator, client: AsyncAsrClient
) -> None:
    """An uploader with async upload() is awaited; a bad URL or a foreign error is typed."""
    seen: list[int] = []

    class Async:
        async def upload(self, source: UploadSource) -> str:
            seen.append(source.size)
            return "http://127.0.0.1:9/hello.wav"

    class Broken:
        def upload(self, source: UploadSource) -> str:
            raise OSError("disk on fire")

    class NoUrl:
        def upload(self, source: UploadSource) -> Any:
            return None

    async with async_asr(emu, standard_inline_bytes=0) as asr:
        task = await asr.submit(HELLO, uploader=Async())
        assert seen == [HELLO.stat().st_size]
        assert task.task_id
        with pytest.raises(errors.TransportError, match="disk on fire"):
            await asr.submit(HELLO, uploader=Broken())
        with pytest.raises(errors.ValidationError, match="not an http"):
            await asr.submit(HELLO, uploader=NoUrl())
        with pytest.raises(errors.ValidationError, match="upload"):
            await asr.submit(HELLO, uploader=object())


async def test_options_are_refused_per_api(emu: Emulator, client: AsyncAsrClient) -> None:
    """A standard-only option is refused for flash; standard models are refused for flash,
    the flash model for submit; all before any request."""
    options = RecognitionOptions(enable_lid=True)
    with pytest.raises(errors.ValidationError, match="enable_lid"):
        await client.recognize(HELLO, options=options)
    with pytest.raises(errors.ValidationError, match="standard-API model"):
        await client.recognize(HELLO, model="2.0")
    with pytest.raises(errors.ValidationError):
        await client.submit(HELLO, model="flash")
    with pytest.raises(errors.ValidationError, match="twice"):
        await client.submit(
            HELLO, options=RecognitionOptions(callback="http://127.0.0.1:1/a"), callback_url="x"
        )
    with pytest.raises(errors.ValidationError, match="api must be one of"):
        await client.recognize(HELLO, api="fast")
    assert emu.requests == []
    # A standard-only option under auto goes standard.
    assert (await client.recognize(HELLO, options=options, api="auto", poll=0.01)).text
    assert paths(emu)[0] == "submit"


# --- batches -----------------------------------------------------------------------------------


async def test_recognize_many_standard_submits_all_then_polls(
    emu: Emulator, client: AsyncAsrClient, sleeps: list[float]
) -> None:
    """recognize_many(api='standard') submits every item before the tasks finish; a bad
    item is that item's error."""
    emu.asr.standard.processing_for = 3.0
    items = [HELLO, HELLO, b"not audio", HELLO]
    results = [r async for r in client.recognize_many(items, api="standard", concurrency=2)]
    assert sorted(r.index for r in results) == [0, 1, 2, 3]
    by_index = {r.index: r for r in results}
    assert isinstance(by_index[2].error, errors.InvalidAudioError)
    assert [by_index[i].unwrap().text for i in (0, 1, 3)] == ["hello world"] * 3
    kinds = paths(emu)
    assert kinds.count("submit") == 3
    assert kinds.index("query") > max(i for i, k in enumerate(kinds) if k == "submit")


async def test_recognize_many_auto_mixes_flash_and_standard(
    emu: Emulator, client: AsyncAsrClient
) -> None:
    """recognize_many(api='auto'): short audio by flash, standard-only options by standard."""
    flash = [r async for r in client.recognize_many([HELLO], api="auto")]
    assert flash[0].unwrap().text == "hello world"
    options = RecognitionOptions(enable_lid=True)
    std = [r async for r in client.recognize_many([HELLO], api="auto", options=options, poll=0.01)]
    assert std[0].unwrap().text == "hello world"
    assert paths(emu)[:2] == ["flash", "submit"]
    with pytest.raises(errors.ValidationError, match="api must be one of"):
        client.recognize_many([HELLO], api="fast")
