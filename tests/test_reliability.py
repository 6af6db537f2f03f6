"""Reliability against the emulator: every fault retried or raised as documented, shared
clients under 32 threads, and soaks of the batch helper and the pipeline under random faults.

Every injected fault carries its kind in ``Fault.message``; the module tallies them by kind
from the emulator's request log and prints the total at the end of the run.
"""

from __future__ import annotations

import collections
import concurrent.futures
import io
import random
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Callable

import attrs
import pytest

from volcspeech import _http, _retry, errors
from volcspeech.asr import AsrClient, BatchResult, Transcript
from volcspeech.pipeline import SegmentTranscriber, base_url_resolver
from volcspeech.rtc import RtcClient, SegmentControl, StartSegmentRequest, StorageConfig
from volcspeech.testing import Emulator, set_testing
from volcspeech.testing._emulator import RecordedRequest
from volcspeech.testing._sample import SampleRoom, load_sample_room
from volcspeech.testing._wav import wav_bytes

AUDIO = Path(__file__).parent / "fixtures" / "audio"
HELLO = AUDIO / "hello.wav"
HELLO_TEXT = "hello world"

#: Retries of the clients in the fault matrix (so three attempts).
RETRIES = 2
#: The read timeout of clients that meet slow answers, and how late those answers come.
READ_TIMEOUT = 0.2
SLOW_DELAY = 0.5
#: The same for the soaks, where eight workers share two cores: far apart, never flaky.
SOAK_READ_TIMEOUT = 1.0
SOAK_SLOW_DELAY = 1.3
RETRY_AFTER = 3.0
#: An upper bound proving a call is bounded (sleeping is off), never a speed target.
BOUND = 10.0

#: Faults injected in this module, by kind and by service (filled by the ``emu`` fixture).
FAULTS: collections.Counter[str] = collections.Counter()
FAULTS_BY_SERVICE: collections.Counter[str] = collections.Counter()


@attrs.frozen
class Kind:
    """A fault kind: how to inject it and the error a caller sees when it is the last one."""

    spec: Mapping[str, Any]
    error: type[errors.VolcSpeechError]
    retryable: bool = True
    slow: bool = False


ASR_TRANSIENT = {
    "busy": Kind({"code": 55000031, "http_status": 503}, errors.ServerBusyError),
    "busy-on-200": Kind({"code": 55000031, "http_status": 200}, errors.ServerBusyError),
    "5xx-code": Kind({"code": 55000000}, errors.ServerError),
    "5xx-plain": Kind({"http_status": 500}, errors.ServerError),
    "retry-after": Kind({"http_status": 429, "retry_after": RETRY_AFTER}, errors.RateLimitError),
    "reset": Kind({"drop": True}, errors.TransportError),
    "slow": Kind({"delay": SLOW_DELAY, "passthrough": True}, errors.TimeoutError, slow=True),
    "truncated": Kind({"truncate": True, "passthrough": True}, errors.TransportError),
}
ASR_PERMANENT = {
    "45000001": Kind({"code": 45000001}, errors.InvalidRequestError, retryable=False),
    "45000002": Kind({"code": 45000002}, errors.EmptyAudioError, retryable=False),
    "45000151": Kind({"code": 45000151}, errors.AudioFormatError, retryable=False),
    "http-401": Kind({"http_status": 401}, errors.AuthenticationError, retryable=False),
    "http-403": Kind({"http_status": 403}, errors.AuthenticationError, retryable=False),
}
RTC_TRANSIENT = {
    "busy": Kind({"code": "FlowLimitExceeded.QPS"}, errors.RateLimitError),
    "5xx": Kind({"code": "InternalError"}, errors.ServerError),
    "retry-after": Kind({"http_status": 429, "retry_after": RETRY_AFTER}, errors.RateLimitError),
    "reset": Kind({"drop": True}, errors.TransportError),
    "slow": Kind({"delay": SLOW_DELAY, "passthrough": True}, errors.TimeoutError, slow=True),
    "truncated": Kind({"truncate": True, "passthrough": True}, errors.TransportError),
}
RTC_PERMANENT = {
    "InvalidParameter.AppId": Kind(
        {"code": "InvalidParameter.AppId"}, errors.InvalidRequestError, retryable=False
    ),
    "SignatureDoesNotMatch": Kind(
        {"code": "SignatureDoesNotMatch", "http_status": 401}, errors.SignatureError, False
    ),
    "AccessDenied": Kind(
        {"code": "AccessDenied", "http_status": 403}, errors.PermissionDeniedError, False
    ),
}
ASR_KINDS = {**ASR_TRANSIENT, **ASR_PERMANENT}


def inject(emu: Emulator, service: str, kind: str, *, times: int = 1, **extra: Any) -> None:
    """Queue a fault of ``kind``, tagged with its kind so it can be told apart in the log."""
    table = ASR_KINDS if service == "asr" else {**RTC_TRANSIENT, **RTC_PERMANENT}
    spec = dict(table[kind].spec)
    spec.update(extra)
    emu.inject(service=service, times=times, message=kind, **spec)


def settle(emu: Emulator, timeout: float = 10.0) -> list[RecordedRequest]:
    """Wait until every injected fault's request is in the log (slow ones log after their
    delay) and return the log."""
    deadline = time.monotonic() + timeout
    while True:
        log = list(emu.requests)
        faulted = sum(1 for r in log if r.fault is not None)
        if faulted >= emu.faults.injected or time.monotonic() > deadline:
            assert faulted == emu.faults.injected
            return log
        time.sleep(0.02)


def request_id_of(record: RecordedRequest) -> str | None:
    """The ``X-Api-Request-Id`` an ASR request carried."""
    return record.headers.get("x-api-request-id")


def by_request_id(log: list[RecordedRequest]) -> dict[str | None, list[RecordedRequest]]:
    """ASR requests grouped by their request id."""
    out: dict[str | None, list[RecordedRequest]] = collections.defaultdict(list)
    for r in log:
        if r.service == "asr":
            out[request_id_of(r)].append(r)
    return out


class _FaultReport:
    """A plugin that prints the faults this module injected in pytest's terminal summary."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        total = sum(FAULTS.values())
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(FAULTS.items()))
        services = ", ".join(f"{k}={v}" for k, v in sorted(FAULTS_BY_SERVICE.items()))
        terminalreporter.write_line(
            f"test_reliability: {total} faults injected [{services}] ({kinds})"
        )


@pytest.fixture(scope="module", autouse=True)
def _report_faults(pytestconfig: pytest.Config) -> None:
    """Report the module's fault tally at the end of the run."""
    name = "volcspeech-reliability-faults"
    if not pytestconfig.pluginmanager.has_plugin(name):
        pytestconfig.pluginmanager.register(_FaultReport(), name)


@pytest.fixture
def emu(volcspeech_emulator: Emulator) -> Iterator[Emulator]:
    """The plugin's emulator, knowing hello.wav inline and by URL; faults tallied at the end."""
    emulator = volcspeech_emulator
    emulator.asr.register(HELLO, text=HELLO_TEXT)
    emulator.asr.register_url(hello_url(emulator), HELLO, text=HELLO_TEXT)
    yield emulator
    for record in settle(emulator):
        if record.fault is not None:
            FAULTS[record.fault.message] += 1
            FAULTS_BY_SERVICE[record.service] += 1


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every backoff wait the HTTP layer decides on (sleeping stays off)."""
    recorded: list[float] = []
    monkeypatch.setattr(_retry, "sleep", recorded.append)
    return recorded


def hello_url(emu: Emulator) -> str:
    return f"{emu.url}/media/hello.wav"


def start_request(task_id: str, app_id: str = "app", room_id: str = "room") -> StartSegmentRequest:
    return StartSegmentRequest(
        app_id=app_id,
        room_id=room_id,
        task_id=task_id,
        storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
    )


def timed(call: Callable[[], Any]) -> tuple[Any, BaseException | None, float]:
    """Run ``call``; return its result or error and the seconds it took."""
    t0 = time.monotonic()
    try:
        result, error = call(), None
    except errors.VolcSpeechError as exc:
        result, error = None, exc
    return result, error, time.monotonic() - t0


def check_waits(recorded: list[float], retries: int, kind: str) -> None:
    """One wait per retry: at least Retry-After when given, else within the backoff ceiling."""
    assert len(recorded) == retries
    for n, wait in enumerate(recorded, start=1):
        if kind == "retry-after":
            assert wait >= RETRY_AFTER
        else:
            assert 0 <= wait <= _http.DEFAULT_RETRY.backoff_ceiling(n)


# --- the fault matrix: ASR ----------------------------------------------------------------


def _slow_last(kinds: Any) -> list[Any]:
    """The fault kinds, the read-timeout one (about 1 s a case) marked slow."""
    return [pytest.param(k, marks=pytest.mark.slow) if k == "slow" else k for k in sorted(kinds)]


@pytest.mark.parametrize("outcome", ["recovered", "raised"])
@pytest.mark.parametrize("kind", _slow_last(ASR_TRANSIENT))
@pytest.mark.parametrize("audio", ["file", "url"])
def test_asr_transient_fault(
    emu: Emulator, waits: list[float], audio: str, kind: str, outcome: str
) -> None:
    """A transient ASR fault is retried until it recovers, or raised as its typed error with
    the request and log ids once more faults come than attempts."""
    spec = ASR_TRANSIENT[kind]
    timeout = (1, READ_TIMEOUT) if spec.slow else None
    client = emu.asr.client(max_retries=RETRIES, timeout=timeout)
    faults = RETRIES if outcome == "recovered" else RETRIES + 2
    inject(emu, "asr", kind, times=faults)
    source = str(HELLO) if audio == "file" else hello_url(emu)

    result, error, elapsed = timed(lambda: client.recognize(source, request_id="rid-matrix"))

    assert elapsed < BOUND
    log = settle(emu)
    assert all(request_id_of(r) == "rid-matrix" for r in log)
    if outcome == "recovered":
        assert error is None
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
    client.close()


@pytest.mark.parametrize("kind", sorted(ASR_PERMANENT))
@pytest.mark.parametrize("audio", ["file", "url"])
def test_asr_permanent_fault_raised_at_once(
    emu: Emulator, waits: list[float], audio: str, kind: str
) -> None:
    """A non-retryable ASR answer is raised after one request, typed, with request and log ids."""
    spec = ASR_PERMANENT[kind]
    client = emu.asr.client(max_retries=5)
    inject(emu, "asr", kind, times=3)
    source = str(HELLO) if audio == "file" else hello_url(emu)

    _, error, elapsed = timed(lambda: client.recognize(source, request_id="rid-permanent"))

    assert elapsed < BOUND
    assert type(error) is spec.error
    assert isinstance(error, errors.APIError)
    assert error.retryable is spec.retryable
    assert error.request_id == "rid-permanent"
    assert error.log_id
    assert len(settle(emu)) == 1
    assert emu.faults.pending() == 2
    assert waits == []
    client.close()


# --- the fault matrix: RTC ----------------------------------------------------------------


def rtc_call(client: RtcClient, action: str, task_id: str) -> Callable[[], Any]:
    if action == "StartSegment":
        return lambda: client.start_segment(start_request(task_id))
    return lambda: client.get_segment_task("app", "room", task_id)


@pytest.mark.parametrize("outcome", ["recovered", "raised"])
@pytest.mark.parametrize("kind", _slow_last(RTC_TRANSIENT))
@pytest.mark.parametrize("action", ["StartSegment", "GetSegmentTask"])
def test_rtc_transient_fault(
    emu: Emulator, waits: list[float], action: str, kind: str, outcome: str
) -> None:
    """A transient RTC fault is retried (re-signed) until it recovers, or raised as its typed
    error with a request id once more faults come than attempts."""
    spec = RTC_TRANSIENT[kind]
    timeout = (1, READ_TIMEOUT) if spec.slow else None
    client = emu.rtc.client(max_retries=RETRIES, timeout=timeout)
    if action == "GetSegmentTask":
        client.start_segment(start_request("t1"))
    before = len(emu.requests)
    faults = RETRIES if outcome == "recovered" else RETRIES + 2
    inject(emu, "rtc", kind, times=faults, action=action)

    result, error, elapsed = timed(rtc_call(client, action, "t1"))

    assert elapsed < BOUND
    log = settle(emu)[before:]
    assert all(r.action == action for r in log)
    if outcome == "recovered":
        assert error is None, error
        assert len(log) == faults + 1
        assert sum(r.fault is None for r in log) == 1
        if action == "StartSegment":
            # A passthrough fault let the service start the task; the retry then says so.
            assert result.ok or (result.already_running and spec.spec.get("passthrough"))
            assert result.request_id
        else:
            assert result.task_id == "t1"
            assert int(result.status) == 2
            assert result.request_id
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
    # The task exists unless every StartSegment attempt was refused before reaching it.
    applied = action == "GetSegmentTask" or outcome == "recovered" or spec.spec.get("passthrough")
    assert (emu.rtc.task("app", "room", "t1") is not None) == bool(applied)
    client.close()


@pytest.mark.parametrize("kind", sorted(RTC_PERMANENT))
@pytest.mark.parametrize("action", ["StartSegment", "GetSegmentTask"])
def test_rtc_permanent_fault_raised_at_once(
    emu: Emulator, waits: list[float], action: str, kind: str
) -> None:
    """A non-retryable RTC error is raised after one request, typed, with its request id."""
    spec = RTC_PERMANENT[kind]
    client = emu.rtc.client(max_retries=5)
    if action == "GetSegmentTask":
        client.start_segment(start_request("t1"))
    before = len(emu.requests)
    inject(emu, "rtc", kind, times=3, action=action)

    _, error, elapsed = timed(rtc_call(client, action, "t1"))

    assert elapsed < BOUND
    assert type(error) is spec.error
    assert isinstance(error, errors.APIError)
    assert error.retryable is spec.retryable
    assert error.code == kind
    assert error.request_id
    assert len(settle(emu)) - before == 1
    assert emu.faults.pending() == 2
    assert waits == []
    client.close()


def client_for(emu: Emulator, service: str, **kwargs: Any) -> tuple[Any, Callable[[], Any]]:
    """A client of ``service`` and a call that makes one request of it."""
    if service == "asr":
        asr = emu.asr.client(**kwargs)
        return asr, lambda: asr.recognize(HELLO)
    rtc = emu.rtc.client(**kwargs)
    return rtc, lambda: rtc.start_segment(start_request("t1"))


@pytest.mark.parametrize("service", ["asr", "rtc"])
def test_max_retries_zero_means_one_attempt(
    emu: Emulator, waits: list[float], service: str
) -> None:
    """With ``max_retries=0`` a transient fault is raised after exactly one request."""
    _, call = client_for(emu, service, max_retries=0)
    inject(emu, service, "busy", times=2)
    _, error, elapsed = timed(call)
    assert elapsed < BOUND
    assert type(error) is (errors.ServerBusyError if service == "asr" else errors.RateLimitError)
    assert len(settle(emu)) == 1
    assert emu.faults.pending() == 1
    assert waits == []
    emu.faults.clear()


@pytest.mark.parametrize("service", ["asr", "rtc"])
def test_total_time_budget_stops_retries(emu: Emulator, service: str) -> None:
    """With real sleeping, the total-time budget ends the retries long before the attempts
    run out, and the last error is raised."""
    client, call = client_for(emu, service)
    client._retry = _http.RetryPolicy(
        attempts=100, total_timeout=0.6, wait_initial=0.05, wait_max=0.1
    )
    inject(emu, service, "busy", times=1000)
    set_testing(False)
    try:
        _, error, elapsed = timed(call)
    finally:
        set_testing(True)
    assert isinstance(error, (errors.ServerBusyError, errors.RateLimitError))
    sent = len(settle(emu))
    assert 2 <= sent < 100
    # No retry starts once a wait (at most 0.1 s) would pass the budget: the waits were real.
    assert 0.45 <= elapsed < 5
    emu.faults.clear()


@pytest.mark.parametrize("service", ["asr", "rtc"])
def test_retry_after_beyond_budget_is_not_slept(emu: Emulator, service: str) -> None:
    """With real sleeping, a Retry-After longer than the time left ends the retries at once
    instead of sleeping past the budget."""
    client, call = client_for(emu, service)
    client._retry = _http.RetryPolicy(attempts=5, total_timeout=2.0)
    inject(emu, service, "retry-after", times=5, retry_after=30)
    set_testing(False)
    try:
        _, error, elapsed = timed(call)
    finally:
        set_testing(True)
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == 30
    assert len(settle(emu)) == 1
    assert elapsed < 2.0
    emu.faults.clear()


def test_file_object_is_replayed_from_its_position(emu: Emulator, waits: list[float]) -> None:
    """A file object positioned mid-stream is sent again from that position on every retry."""
    data = HELLO.read_bytes()
    client = emu.asr.client(max_retries=3)
    for kind in ("reset", "truncated", "busy"):
        inject(emu, "asr", kind)
    stream = io.BytesIO(b"not audio, skipped" + data)
    stream.seek(len(b"not audio, skipped"))
    assert client.recognize(stream).text == HELLO_TEXT
    sizes = {r.body_size for r in settle(emu) if not (r.fault and r.fault.drop)}
    assert len(sizes) == 1
    assert len(emu.requests) == 4
    assert len(waits) == 3
    client.close()


# --- concurrency ---------------------------------------------------------------------------


@attrs.frozen
class Clip:
    """A registered audio file and the text the emulator answers for it."""

    name: str
    data: bytes
    path: Path
    text: str


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Clip]:
    """Every utterance of the sample room cut as its own WAV, plus the hello fixtures."""
    room: SampleRoom = load_sample_room()
    folder = tmp_path_factory.mktemp("clips")
    out = []
    for user_id, track in room.tracks.items():
        pcm, rate = track.pcm, track.sample_rate
        for n, utt in enumerate(track.utterances):
            a = max(0, (utt.start_time - 40) * rate // 1000) * 2
            b = min(len(pcm), (utt.end_time + 40) * rate // 1000 * 2)
            name = f"{user_id}-{n}"
            data = wav_bytes(pcm[a:b], rate)
            path = folder / f"{name}.wav"
            path.write_bytes(data)
            out.append(Clip(name, data, path, utt.text))
    for name, text in (("hello.mp3", "hello in mp3"), ("hello.ogg", "hello in opus")):
        path = AUDIO / name
        out.append(Clip(name, path.read_bytes(), path, text))
    assert len({c.text for c in out}) == len(out)
    return out


def register(emu: Emulator, clips: list[Clip]) -> None:
    for clip in clips:
        emu.asr.register(clip.data, text=clip.text)


MIDRUN_ASR = ["busy", "5xx-code", "5xx-plain", "retry-after", "reset", "truncated"]
MIDRUN_RTC = ["busy", "5xx", "retry-after", "reset", "truncated"]


@pytest.mark.parametrize("faults", [0, 12])
def test_asr_client_shared_by_32_threads(emu: Emulator, clips: list[Clip], faults: int) -> None:
    """One AsrClient serves 32 threads recognizing bytes, paths and open files; every result
    matches its input, also when faults are injected mid-run."""
    register(emu, clips)
    per_thread = 6
    # More retries than faults: a call can meet every fault and still recover.
    client = emu.asr.client(max_retries=faults)
    rng = random.Random(32)
    plan = [rng.choice(MIDRUN_ASR) if i < faults else None for i in range(32)]

    def work(thread: int) -> list[tuple[str, str, str]]:
        out = []
        for i in range(per_thread):
            kind = plan[thread]
            if i == 2 and kind is not None:
                inject(emu, "asr", kind)
            clip = clips[(thread * per_thread + i) % len(clips)]
            rid = f"rid-{thread}-{i}"
            form = (thread + i) % 3
            if form == 0:
                transcript = client.recognize(clip.data, request_id=rid)
            elif form == 1:
                transcript = client.recognize(clip.path, request_id=rid)
            else:
                with clip.path.open("rb") as f:
                    transcript = client.recognize(f, request_id=rid)
            out.append((rid, clip.text, transcript.text))
            assert transcript.request_id == rid
        return out

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        results = [r for chunk in pool.map(work, range(32)) for r in chunk]
    assert time.monotonic() - t0 < 30

    assert len(results) == 32 * per_thread
    assert all(expected == got for _, expected, got in results)
    log = settle(emu)
    assert emu.faults.injected == faults
    groups = by_request_id(log)
    assert set(groups) == {rid for rid, _, _ in results}
    for records in groups.values():
        assert sum(r.fault is None for r in records) == 1
        assert all(r.status == 200 for r in records if r.fault is None)
    assert len(log) == len(results) + faults
    client.close()


@pytest.mark.parametrize("faults", [0, 10])
def test_rtc_client_shared_by_32_threads(emu: Emulator, faults: int) -> None:
    """One RtcClient serves 32 threads starting and reading distinct tasks; all succeed, also
    with faults injected mid-run."""
    per_thread = 3
    client = emu.rtc.client(
        max_retries=faults, rate_limits={"StartSegment": 1000, "GetSegmentTask": 1000}
    )
    rng = random.Random(33)
    plan = [rng.choice(MIDRUN_RTC) if i < faults else None for i in range(32)]

    def work(thread: int) -> list[str]:
        done = []
        for i in range(per_thread):
            task_id = f"task-{thread}-{i}"
            kind = plan[thread]
            if i == 1 and kind is not None:
                inject(emu, "rtc", kind)
            started = client.start_segment(start_request(task_id))
            assert started.ok or started.already_running
            task = client.get_segment_task("app", "room", task_id)
            assert task.task_id == task_id
            assert int(task.status) == 2
            done.append(task_id)
        return done

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        done = [t for chunk in pool.map(work, range(32)) for t in chunk]

    assert len(done) == len(set(done)) == 32 * per_thread
    assert all(emu.rtc.task("app", "room", t) is not None for t in done)
    log = settle(emu)
    assert emu.faults.injected == faults
    answered = [r for r in log if r.fault is None]
    assert sorted(r.action or "" for r in answered) == sorted(
        ["GetSegmentTask"] * len(done) + ["StartSegment"] * len(done)
    )
    assert len(log) == 2 * len(done) + faults
    client.close()


def test_rate_limiter_holds_32_threads_to_the_limit(emu: Emulator) -> None:
    """32 threads sharing one RtcClient stay under its StartSegment limit: 50 starts at 25 per
    second take at least one second (and stay bounded)."""
    client = emu.rtc.client(rate_limits={"StartSegment": 25})
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda n: client.start_segment(start_request(f"r{n}")), range(50)))
    elapsed = time.monotonic() - t0
    assert all(r.ok for r in results)
    assert 1.0 <= elapsed < BOUND
    client.close()


# --- soak ----------------------------------------------------------------------------------


@attrs.frozen
class Item:
    """One input of the soak and what must come of it."""

    value: Any
    text: str | None = None
    error: type[errors.VolcSpeechError] | None = None
    #: Whether the input reaches the service at all.
    sent: bool = True


def inject_soak_fault(emu: Emulator, kind: str) -> None:
    """Queue one ASR fault of ``kind``, slow ones slow enough for the soaks' read timeout."""
    if kind == "slow":
        inject(emu, "asr", kind, delay=SOAK_SLOW_DELAY)
    else:
        inject(emu, "asr", kind)


def soak_items(emu: Emulator, clips: list[Clip], count: int, rng: random.Random) -> list[Item]:
    """A mix of bytes, paths and URLs of registered audio, silence, and invalid inputs."""
    for n, clip in enumerate(clips):
        emu.asr.register_url(f"{emu.url}/media/clip-{n}.wav", clip.data, text=clip.text)
    pool: list[Item] = []
    for n, clip in enumerate(clips):
        pool.append(Item(clip.data, clip.text))
        pool.append(Item(str(clip.path), clip.text))
        pool.append(Item(f"{emu.url}/media/clip-{n}.wav", clip.text))
    pool += [
        Item(hello_url(emu), HELLO_TEXT),
        Item(AUDIO / "silence.wav", ""),
        Item(AUDIO / "hello_8k.wav", ""),  # a known rate but unregistered: no text
        Item(b"", error=errors.InvalidAudioError, sent=False),
        Item(AUDIO / "hello.flac", error=errors.InvalidAudioError, sent=False),
        Item("/no/such/file.wav", error=errors.InvalidAudioError, sent=False),
        Item("ftp://127.0.0.1/x.wav", error=errors.InvalidAudioError, sent=False),
        Item(f"{emu.url}/media/missing.wav", error=errors.InvalidRequestError),
    ]
    return [rng.choice(pool) for _ in range(count)]


@pytest.mark.slow
def test_recognize_many_soak(emu: Emulator, clips: list[Clip]) -> None:
    """300 mixed inputs through recognize_many while random faults of every kind come and go:
    each item ends as its result or as a reported error, in order, none lost or duplicated, and
    every request is accounted for."""
    register(emu, clips)
    rng = random.Random(2024)
    items = soak_items(emu, clips, 300, rng)
    kinds = sorted(ASR_TRANSIENT) + sorted(ASR_PERMANENT)
    client = emu.asr.client(timeout=(1, SOAK_READ_TIMEOUT))
    attempts = _http.DEFAULT_ATTEMPTS

    def fault() -> None:
        inject_soak_fault(emu, rng.choice(kinds))

    for _ in range(6):
        fault()
    results: list[BatchResult] = []
    t0 = time.monotonic()
    for result in client.recognize_many([i.value for i in items], max_workers=8):
        results.append(result)
        if rng.random() < 0.35:
            fault()
    assert time.monotonic() - t0 < 40
    emu.faults.clear()

    assert [r.index for r in results] == list(range(len(items)))
    assert all(r.input is i.value for r, i in zip(results, items))
    groups = by_request_id(settle(emu))
    seen: set[str] = set()
    for result, item in zip(results, items):
        if not item.sent:
            assert type(result.error) is item.error
            continue
        rid = result.unwrap().request_id if result.ok else getattr(result.error, "request_id", None)
        assert isinstance(rid, str)
        assert rid not in seen
        seen.add(rid)
        records = groups[rid]
        assert 1 <= len(records) <= attempts
        answered = [r for r in records if r.fault is None]
        if result.ok:
            assert item.text is not None
            assert result.unwrap().text == item.text
            assert len(answered) == 1
            assert answered[0].status == 200
            continue
        error = result.error
        assert isinstance(error, (errors.APIError, errors.TransportError))
        if answered:  # the service's own refusal, after any faults
            assert len(answered) == 1
            assert item.error is not None
            assert type(error) is item.error
        elif error.retryable:  # every attempt met a transient fault
            assert len(records) == attempts
            kinds_met = {r.fault.message for r in records if r.fault is not None}
            assert any(type(error) is ASR_TRANSIENT[k].error for k in kinds_met)
        else:  # a permanent fault ended it at once
            last = [r for r in records if r.fault and r.fault.message in ASR_PERMANENT]
            assert len(last) == 1
            assert type(error) is ASR_PERMANENT[last[0].fault.message].error  # type: ignore[union-attr]
    assert set(groups) == seen
    assert emu.faults.injected >= 50
    assert sum(r.ok for r in results) > len(results) // 2
    client.close()


def run_room(emu: Emulator) -> tuple[SampleRoom, list[dict[str, Any]]]:
    """Segment the sample room in 20 s pieces; return it and its callback bodies."""
    room = emu.rtc.register_sample_room()
    with emu.rtc.client() as rtc:
        rtc.start_segment(
            StartSegmentRequest(
                app_id=room.app_id,
                room_id=room.room_id,
                task_id="soak",
                storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
                duration=20,
                control=SegmentControl(align=True),
            )
        )
    assert emu.rtc.wait_for_callbacks(timeout=30)
    return room, emu.rtc.take_callbacks()


class TaggingAsrClient(AsrClient):
    """An AsrClient whose request ids name the segment file, so every request (even one
    whose connection was reset before its body was read) can be traced to its segment."""

    def recognize(self, audio: Any, **kwargs: Any) -> Transcript:
        kwargs["request_id"] = f"{str(audio).rsplit('/', 1)[1]}#{uuid.uuid4().hex[:8]}"
        return super().recognize(audio, **kwargs)


def is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["light", "heavy", "random-1", "random-2", "random-3"])
def test_transcriber_soak(emu: Emulator, mode: str) -> None:
    """SegmentTranscriber on the sample room under random ASR faults gives the ground truth, or
    lists a gap for exactly each segment whose every attempt failed, dropping nothing else."""
    room, bodies = run_room(emu)
    segments = emu.rtc.segments
    before = len(emu.requests)
    client_attempts, segment_attempts = 2, 2
    per_segment = client_attempts * segment_attempts
    rng = random.Random(f"transcriber-{mode}")
    transient = sorted(ASR_TRANSIENT)
    if mode == "light":  # fewer faults than any segment's attempts: nothing can fail
        count, kinds = per_segment - 1, transient
    elif mode == "heavy":  # one more than all segments can absorb: some fail, not all
        count, kinds = len(segments) * (per_segment - 1) + 1, transient
    else:
        count, kinds = (
            rng.randint(0, len(segments) * per_segment),
            transient + sorted(ASR_PERMANENT),
        )
    for _ in range(count):
        inject_soak_fault(emu, rng.choice(kinds))
    asr = TaggingAsrClient(
        emu.credentials.app_key,
        emu.credentials.access_key,
        endpoint=emu.asr.endpoint,
        max_retries=client_attempts - 1,
        timeout=(1, SOAK_READ_TIMEOUT),
    )
    with SegmentTranscriber(
        asr,
        resolve_audio=base_url_resolver(emu.url + "/storage"),
        callback_secret=emu.credentials.callback_secret,
        segment_attempts=segment_attempts,
    ) as transcriber:
        assert all(transcriber.submit(body) for body in bodies)
        (final,) = transcriber.finish(timeout=60)
    emu.faults.clear()

    log = [r for r in settle(emu)[before:] if r.service == "asr"]
    by_key: dict[str, list[RecordedRequest]] = collections.defaultdict(list)
    for r in log:
        by_key[(request_id_of(r) or "").partition("#")[0]].append(r)
    failed: dict[tuple[str, int | None], set[str]] = {}
    for s in segments:
        records = by_key[s.object_key]
        assert 1 <= len(records) <= per_segment
        faults = [r.fault for r in records if r.fault is not None]
        if len(faults) == len(records):
            # The gap's error is one these faults cause.
            failed[(s.user_id, s.sequence)] = {ASR_KINDS[f.message].error.__name__ for f in faults}
        else:
            assert sum(r.fault is None for r in records) == 1
    assert sum(len(v) for v in by_key.values()) == len(log)
    assert final.pending == 0
    assert {(g.user_id, g.sequence) for g in final.gaps} == set(failed)
    assert final.segments == len(segments) - len(failed)
    assert all(g.error_type in failed[(g.user_id, g.sequence)] for g in final.gaps)
    if mode == "light":
        assert final.complete
    if mode == "heavy":
        assert 0 < len(failed) < len(segments)
    if not failed:
        assert final.complete
        assert [(u.user_id, u.text) for u in final.utterances] == [
            (u.user_id, u.text) for u in room.utterances()
        ]
        return
    task_origin = segments[0].start_time - segments[0].room_start_ms
    for user in room.tracks:
        windows = [
            (s.room_start_ms, s.room_end_ms)
            for s in segments
            if s.user_id == user and (user, s.sequence) in failed
        ]
        truth = room.words(user)
        got = [w for u in final.for_user(user) for w in u.words]
        shift = final.origin_ms - task_origin
        centers = [(w.start_time + w.end_time) / 2 + shift for w in got]
        assert not any(lo < c < hi for c in centers for lo, hi in windows)
        required = [
            w.text
            for w in truth
            if not any(w.start_time < hi and w.end_time > lo for lo, hi in windows)
        ]
        texts = [w.text for w in got]
        assert is_subsequence(texts, [w.text for w in truth])
        assert is_subsequence(required, texts)
    assert not final.complete
