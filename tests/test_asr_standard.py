"""The standard (submit/query) API: submit, query per status code, wait, resume, models, options."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from volcspeech import HttpResponse, errors
from volcspeech.asr import (
    AsrClient,
    AsrModel,
    PollSchedule,
    RecognitionOptions,
    RecognitionTask,
    TaskState,
    TaskStatus,
    Transcript,
)
from volcspeech.asr._standard import read_query, read_submit
from volcspeech.testing import Emulator, MockTransport

AUDIO = Path(__file__).parent / "fixtures" / "audio"
HELLO = AUDIO / "hello.wav"
HELLO_TRUTH = [
    {
        "text": "hello world",
        "start_time": 139,
        "end_time": 861,
        "words": [
            {"text": "hello", "start_time": 139, "end_time": 480},
            {"text": "world", "start_time": 520, "end_time": 861},
        ],
    }
]


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
def client(emu: Emulator) -> Iterator[AsrClient]:
    """A client of the emulator."""
    with emu.asr.client() as c:
        yield c


def std_requests(emu: Emulator, path: str) -> list[Any]:
    """Recorded requests to a standard-API path (submit or query)."""
    return [r for r in emu.requests if r.path.endswith(path)]


# --- submit ------------------------------------------------------------------------------


def test_submit_sends_the_task_id_model_and_sequence(emu: Emulator, client: AsrClient) -> None:
    """Submit's X-Api-Request-Id is the task id, with the 2.0 resource id and sequence -1."""
    task = client.submit(HELLO, request_id="task-1")
    assert task == RecognitionTask("task-1", "volc.seedasr.auc")
    (sent,) = std_requests(emu, "/submit")
    assert sent.headers["x-api-request-id"] == "task-1"
    assert sent.headers["x-api-resource-id"] == "volc.seedasr.auc"
    assert sent.headers["x-api-sequence"] == "-1"
    body = json.loads(sent.body)
    assert body["request"]["show_utterances"] is True
    assert task.log_id
    assert len(task.log_id) > 14


def test_query_sends_an_empty_object_with_the_same_id(emu: Emulator, client: AsrClient) -> None:
    """Query posts {} with the task id and resource id, without X-Api-Sequence."""
    task = client.submit(HELLO, model="1.0")
    client.query(task)
    (sent,) = std_requests(emu, "/query")
    assert sent.body == b"{}"
    assert sent.headers["x-api-request-id"] == task.task_id
    assert sent.headers["x-api-resource-id"] == "volc.bigasr.auc"
    assert "x-api-sequence" not in sent.headers


def test_callback_fields_travel_beside_request(emu: Emulator, client: AsrClient) -> None:
    """callback_url / callback_data are top-level body fields, recorded by the emulator."""
    task = client.submit(HELLO, callback_url="https://example.com/cb", callback_data="tag-7")
    body = json.loads(std_requests(emu, "/submit")[0].body)
    assert body["callback"] == "https://example.com/cb"
    assert body["callback_data"] == "tag-7"
    assert "callback" not in body["request"]
    kept = emu.asr.standard.task(task.task_id)
    assert kept is not None
    assert kept.callback_data == "tag-7"


def test_callback_given_twice_differently_is_refused(client: AsrClient) -> None:
    """The same callback in options and as an argument must agree."""
    options = RecognitionOptions(callback="https://a.example/cb")
    with pytest.raises(errors.ValidationError, match="given twice") as info:
        client.submit(HELLO, options=options, callback_url="https://b.example/cb")
    assert info.value.field == "callback"


def test_a_reused_task_id_is_refused(client: AsrClient) -> None:
    """The emulator refuses a task id it has seen (45000001, duplicate request)."""
    client.submit(HELLO, request_id="same-id")
    with pytest.raises(errors.InvalidRequestError, match="duplicate"):
        client.submit(HELLO, request_id="same-id")


# --- query: every status code --------------------------------------------------------------


def test_query_walks_queued_processing_done(emu: Emulator, client: AsrClient) -> None:
    """20000002 queued, 20000001 processing, then 20000000 done with the transcript."""
    std = emu.asr.standard
    std.queued_for, std.processing_for = 10.0, 20.0
    task = client.submit(HELLO)
    clock = std.clock
    assert isinstance(clock, Clock)
    first = client.query(task)
    assert (first.status, first.code, first.finished) == (TaskStatus.QUEUED, 20000002, False)
    clock.now += 15
    assert (client.query(task).status, client.query(task).code) == (
        TaskStatus.PROCESSING,
        20000001,
    )
    clock.now += 20
    done = client.query(task)
    assert done.status is TaskStatus.DONE
    assert done.code == 20000000
    assert done.ok
    assert done.transcript is not None
    assert done.transcript.text == "hello world"
    assert done.unwrap().request_id == task.task_id
    assert std.polls(task.task_id) == 4


def test_query_of_silent_audio_is_done_and_silent(client: AsrClient, tmp_path: Path) -> None:
    """20000003: a done task whose transcript is silent and empty."""
    silent = tmp_path / "silent.wav"
    silent.write_bytes(_wav(b"\x00\x00" * 16000))
    state = client.query(client.submit(silent))
    assert state.status is TaskStatus.DONE
    assert state.code == 20000003
    assert state.unwrap().silent
    assert state.unwrap().text == ""


@pytest.mark.parametrize(
    ("setup", "error", "code"),
    [
        ("empty", errors.EmptyAudioError, 45000002),
        ("bad_format", errors.AudioFormatError, 45000151),
        ("unreachable", errors.InvalidRequestError, 45000001),
        ("server", errors.ServerError, 55000000),
    ],
)
def test_query_of_a_failed_task_has_the_typed_error(
    emu: Emulator, client: AsrClient, setup: str, error: type[Exception], code: int
) -> None:
    """A task that failed answers its code on query: a failed state with the typed error."""
    audio: Any = HELLO
    if setup == "empty":
        emu.asr.standard.fail_next(45000002, "empty audio")
    elif setup == "bad_format":
        emu.asr.standard.fail_next(45000151, "audio format error")
    elif setup == "unreachable":
        audio = "http://127.0.0.1:9/not-there.wav"
    else:
        emu.asr.standard.fail_next(55000000, "internal error")
    task = client.submit(audio)
    state = client.query(task)
    assert state.status is TaskStatus.FAILED
    assert state.finished
    assert not state.ok
    assert isinstance(state.error, error)
    assert state.code == code
    assert state.error.request_id == task.task_id
    with pytest.raises(error):
        state.unwrap()
    with pytest.raises(error):
        client.wait(task, poll=0.01, timeout=5)


def test_query_retries_a_busy_answer(emu: Emulator, client: AsrClient) -> None:
    """55000031 on a query is retried like any busy answer, then the state is read."""
    task = client.submit(HELLO)
    emu.inject(service="asr", code=55000031, times=2)
    assert client.query(task).status is TaskStatus.DONE
    assert len(std_requests(emu, "/query")) == 3


def test_query_of_an_unknown_task_fails(client: AsrClient) -> None:
    """An unknown task id is a failed state (the emulator answers 45000001)."""
    state = client.query(RecognitionTask("never-submitted", "volc.seedasr.auc"))
    assert state.status is TaskStatus.FAILED
    assert isinstance(state.error, errors.InvalidRequestError)


def test_query_with_refused_credentials_raises(emu: Emulator) -> None:
    """Authentication errors are raised, not turned into a failed state."""
    with emu.asr.client(api_key="wrong-key") as bad, pytest.raises(errors.AuthenticationError):
        bad.query(RecognitionTask("t", "volc.seedasr.auc"))


def _answer(code: int | None, body: Any = None, status: int = 200) -> HttpResponse:
    headers = {"X-Tt-Logid": "LOG"}
    if code is not None:
        headers["X-Api-Status-Code"] = str(code)
    raw = b"" if body is None else json.dumps(body).encode()
    return HttpResponse(status, headers, raw)


TASK = RecognitionTask("t-1", "volc.seedasr.auc")
RESULT = {"audio_info": {"duration": 900}, "result": {"text": "hi", "utterances": []}}


@pytest.mark.parametrize(
    ("response", "status", "code"),
    [
        (_answer(20000000, RESULT), TaskStatus.DONE, 20000000),
        (_answer(20000001, {}), TaskStatus.PROCESSING, 20000001),
        (_answer(20000002, {}), TaskStatus.QUEUED, 20000002),
        (_answer(20000003), TaskStatus.DONE, 20000003),
    ],
)
def test_read_query_per_success_code(response: HttpResponse, status: TaskStatus, code: int) -> None:
    """The pure reader maps each success-family code to its state."""
    state = read_query(response, TASK)
    assert (state.status, state.code, state.log_id) == (status, code, "LOG")
    if status is TaskStatus.DONE:
        assert isinstance(state.transcript, Transcript)
        assert state.transcript.silent is (code == 20000003)


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        (45000001, 400, errors.InvalidRequestError),
        (45000002, 400, errors.EmptyAudioError),
        (45000151, 400, errors.AudioFormatError),
        (55000031, 503, errors.ServerBusyError),
        (55000002, 500, errors.ServerError),
        (None, 200, errors.ProtocolError),
    ],
)
def test_read_query_raises_typed_errors(
    code: int | None, status: int, error: type[Exception]
) -> None:
    """Error codes raise the same typed errors as flash; a missing status is a ProtocolError."""
    with pytest.raises(error):
        read_query(_answer(code, status=status), TASK)


def test_read_submit_wants_20000000() -> None:
    """Submit is accepted on 20000000 only; the log id rides on the returned task."""
    assert read_submit(_answer(20000000), TASK).log_id == "LOG"
    with pytest.raises(errors.ProtocolError):
        read_submit(_answer(20000001), TASK)
    with pytest.raises(errors.InvalidRequestError):
        read_submit(_answer(45000001, status=400), TASK)


def test_query_turns_exhausted_retries_into_a_failed_state() -> None:
    """A query that stays busy through the retries reports a failed state with that error."""
    transport = MockTransport(lambda request: _answer(55000031, status=503))
    with AsrClient(api_key="k", transport=transport, max_retries=2) as client:
        state = client.query(TASK)
    assert state.status is TaskStatus.FAILED
    assert isinstance(state.error, errors.ServerBusyError)
    assert state.error.retryable
    assert len(transport.requests) == 3


# --- wait ------------------------------------------------------------------------------


def test_wait_polls_with_backoff_until_done(volcspeech_emulator: Emulator) -> None:
    """wait() polls on a growing schedule and returns the transcript."""
    emu = volcspeech_emulator
    emu.asr.register(HELLO, utterances=HELLO_TRUTH)
    emu.asr.standard.processing_for = 0.3
    with emu.asr.client() as client:
        task = client.submit(HELLO)
        transcript = client.wait(task, poll=PollSchedule(initial=0.05, factor=2, maximum=0.2))
    assert transcript.text == "hello world"
    times = emu.asr.standard.poll_times(task.task_id)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert 2 <= len(times) <= 6
    assert all(g >= 0.045 for g in gaps)
    assert gaps == sorted(gaps) or max(gaps) <= 0.25


def test_wait_honours_its_timeout(emu: Emulator, client: AsrClient) -> None:
    """A task still queued at the timeout raises TimeoutError naming it, without oversleeping."""
    emu.asr.standard.queued_for = 1e9
    task = client.submit(HELLO)
    started = time.monotonic()
    with pytest.raises(errors.TimeoutError, match=task.task_id):
        client.wait(task, timeout=0.3, poll=10)
    assert time.monotonic() - started < 2


def test_poll_schedule_backs_off_and_caps() -> None:
    """Intervals grow by the factor up to the maximum; bad values are refused."""
    schedule = PollSchedule(initial=1, factor=2, maximum=5)
    assert [schedule.interval(n) for n in range(5)] == [1, 2, 4, 5, 5]
    assert PollSchedule.coerce(0.5).interval(10) == 0.5
    with pytest.raises(errors.ValidationError):
        PollSchedule(initial=0)
    with pytest.raises(errors.ValidationError):
        PollSchedule(factor=0.5)
    with pytest.raises(errors.ValidationError):
        PollSchedule.coerce("1")  # type: ignore[arg-type]


# --- tasks are values: resume anywhere -------------------------------------------------


def test_task_round_trips_through_json() -> None:
    """to_dict / from_dict round-trip through JSON; malformed ones are refused."""
    task = RecognitionTask("abc", "volc.bigasr.auc", log_id="L")
    again = RecognitionTask.from_dict(json.loads(json.dumps(task.to_dict())))
    assert again == task
    assert again.log_id == "L"
    with pytest.raises(errors.ValidationError, match="task_id"):
        RecognitionTask.from_dict({"resource_id": "x"})
    with pytest.raises(errors.ValidationError):
        RecognitionTask("has space", "volc.bigasr.auc")
    with pytest.raises(errors.ValidationError):
        RecognitionTask.from_dict(["task"])  # type: ignore[arg-type]


def test_a_fresh_client_resumes_a_stored_task(emu: Emulator) -> None:
    """A task stored as JSON is finished by another client (another process would do the same)."""
    with emu.asr.client() as first:
        stored = json.dumps(first.submit(HELLO, model=AsrModel.STANDARD_1).to_dict())
    with emu.asr.client() as second:
        transcript = second.wait(json.loads(stored), poll=0.01)
        by_id = second.query(json.loads(stored)["task_id"])
    assert transcript.text == "hello world"
    assert by_id.status is TaskStatus.FAILED  # the client's default model is 2.0: not that task


def test_tasks_survive_an_emulator_restart(tmp_path: Path) -> None:
    """With a state dir, a new emulator answers tasks submitted to the old one."""
    with Emulator(state_dir=tmp_path) as first:
        first.asr.register(HELLO, utterances=HELLO_TRUTH)
        with first.asr.client() as client:
            task = client.submit(HELLO)
    with Emulator(state_dir=tmp_path) as second, second.asr.client() as client:
        assert client.wait(task.to_dict(), poll=0.01).text == "hello world"
        with pytest.raises(errors.InvalidRequestError, match="duplicate"):
            client.submit(HELLO, request_id=task.task_id)


def test_task_state_unwrap_before_done_explains() -> None:
    """unwrap() on a running task says to wait for it."""
    state = TaskState(TASK, TaskStatus.PROCESSING, code=20000001)
    with pytest.raises(errors.ValidationError, match="wait"):
        state.unwrap()


# --- models ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "resource"),
    [
        ("1.0", "volc.bigasr.auc"),
        ("2.0", "volc.seedasr.auc"),
        (AsrModel.STANDARD_1, "volc.bigasr.auc"),
        ("volc.seedasr.auc", "volc.seedasr.auc"),
    ],
)
def test_models_map_to_resource_ids(emu: Emulator, model: Any, resource: str) -> None:
    """model= on the client and per call picks the standard resource id."""
    with emu.asr.client(model=model) as client:
        assert client.standard_resource_id == resource
        assert client.submit(HELLO).resource_id == resource
    assert AsrModel.FLASH.resource_id == "volc.bigasr.auc_turbo"


def test_model_choices_are_checked(emu: Emulator, client: AsrClient) -> None:
    """The flash model is refused for submit, standard models for flash, junk everywhere."""
    with pytest.raises(errors.ValidationError, match="flash"):
        client.submit(HELLO, model="flash")
    with pytest.raises(errors.ValidationError, match="standard-API model"):
        client.recognize(HELLO, model="2.0")
    with pytest.raises(errors.ValidationError, match="model"):
        client.submit(HELLO, model="bad model")
    with pytest.raises(errors.ConfigurationError):
        emu.asr.client(model=3)
    assert client.recognize(HELLO, model="flash").text == "hello world"


# --- options per API ---------------------------------------------------------------------


STANDARD_ONLY = {
    "enable_lid": True,
    "enable_emotion_detection": True,
    "enable_gender_detection": True,
    "show_volume": True,
    "show_speech_rate": True,
    "callback": "https://example.com/cb",
    "callback_data": "x",
}


@pytest.mark.parametrize("name", sorted(STANDARD_ONLY))
def test_flash_refuses_standard_only_options(emu: Emulator, client: AsrClient, name: str) -> None:
    """Each standard-only field is refused for flash before any traffic, and taken by standard."""
    options = RecognitionOptions(**{name: STANDARD_ONLY[name]})
    with pytest.raises(errors.ValidationError, match=f"{name}.*flash API does not take") as info:
        client.recognize(HELLO, options=options)
    assert info.value.field == name
    assert emu.requests == []
    assert client.recognize(HELLO, options=options, api="standard", poll=0.01).text


def test_auto_with_standard_only_options_goes_standard(emu: Emulator, client: AsrClient) -> None:
    """api='auto' sends short audio to flash, unless a standard-only option is set."""
    client.recognize(HELLO, api="auto")
    assert [r.path.rsplit("/", 1)[-1] for r in emu.requests] == ["flash"]
    emu.reset()
    client.recognize(HELLO, api="auto", options=RecognitionOptions(show_volume=True), poll=0.01)
    assert [r.path.rsplit("/", 1)[-1] for r in emu.requests][:2] == ["submit", "query"]


def test_api_choice_is_checked(client: AsrClient) -> None:
    """api= names one of flash, standard, auto."""
    with pytest.raises(errors.ValidationError, match="api must be one of") as info:
        client.recognize(HELLO, api="fast")
    assert info.value.field == "api"


def test_standard_results_expose_the_extra_fields(client: AsrClient) -> None:
    """Emotion, gender, volume, speech rate and language are typed on utterances."""
    options = RecognitionOptions(**{k: v for k, v in STANDARD_ONLY.items() if k[0] != "c"})
    transcript = client.recognize(HELLO, options=options, api="standard", poll=0.01)
    (utterance,) = transcript.utterances
    assert utterance.emotion == "neutral"
    assert utterance.gender == "female"
    assert utterance.volume == -20.0
    assert utterance.speech_rate == pytest.approx(2 / 0.722, abs=0.01)
    assert utterance.language == "speech_mand" == transcript.language
    assert utterance.additions["volume"] == "-20.00"  # raw stays raw


def test_extra_fields_are_none_when_absent_or_unreadable() -> None:
    """Missing or non-numeric values read as None; the raw additions keep them."""
    transcript = Transcript.from_dict(
        {
            "result": {
                "text": "x",
                "utterances": [
                    {"text": "x", "start_time": 0, "end_time": 1, "additions": {"volume": "loud"}}
                ],
            }
        }
    )
    (utterance,) = transcript.utterances
    assert utterance.volume is None
    assert utterance.emotion is None
    assert utterance.additions == {"volume": "loud"}
    assert transcript.language is None


def _wav(pcm: bytes, rate: int = 16000) -> bytes:
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()
