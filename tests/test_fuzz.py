"""Fuzzing with hypothesis: parsers of untrusted input raise only volcspeech errors.

Targets: the ASR answer reader, RTC callback parsing and signature checks,
audio sniffing (the client's and the emulator's), the RTC models'
``from_dict`` and ``RecognitionOptions``, and subtitles (which must always
parse back with ``srt`` and ``webvtt-py``). Each property test counts the
examples it ran; the module prints the totals when it finishes.
"""

from __future__ import annotations

import base64
import collections
import copy
import datetime as dt
import io
import json
import string
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Callable, TypeVar, cast

import attrs
import pytest
import requests
import srt
import webvtt
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from volcspeech import HttpResponse, errors
from volcspeech._subtitles import Cue, cues_from_utterances, format_srt, format_vtt, split_cue
from volcspeech.asr import RecognitionOptions, Transcript, Utterance, Word
from volcspeech.asr._audio import MAX_DURATION_MS, PreparedAudio, prepare_audio, sniff
from volcspeech.asr._flash import read_recognize as read_answer
from volcspeech.asr._options import SensitiveWordsFilter, dialog_context, hotwords_context
from volcspeech.pipeline import Gap, RoomTranscript, RoomUtterance, RoomWord
from volcspeech.rtc import (
    CallbackEvent,
    CustomConfig,
    Segment,
    SegmentControl,
    SegmentFieldMapping,
    SegmentTask,
    StartSegmentRequest,
    StopSegmentRequest,
    StorageConfig,
    Stream,
    TargetStreams,
    TosConfig,
    UpdateSegmentRequest,
    VeImageXConfig,
    VodConfig,
    parse_callback,
    sign_callback,
)
from volcspeech.rtc._callbacks import SEGMENT_EVENT_TYPE, SIGNED_FIELDS, parse_event_time
from volcspeech.rtc._models import StorageType, Vendor
from volcspeech.testing import Emulator

F = TypeVar("F", bound=Callable[..., Any])

# --- bookkeeping -----------------------------------------------------------------------

#: Examples run per fuzz target (hypothesis' generated ones plus explicit @example cases).
FUZZ_CASES: collections.Counter[str] = collections.Counter()
#: What the examples ended in, per target: the result's or the error's type name.
OUTCOMES: collections.Counter[tuple[str, str]] = collections.Counter()


def _count(target: str) -> None:
    FUZZ_CASES[target] += 1


def _outcome(target: str, result: object) -> None:
    OUTCOMES[target, result if isinstance(result, str) else type(result).__name__] += 1


@pytest.fixture(scope="module", autouse=True)
def _report_fuzz_cases(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how many fuzz cases each target ran once the module is done."""
    FUZZ_CASES.clear()
    OUTCOMES.clear()
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not FUZZ_CASES:
        return
    with capture.global_and_fixture_disabled():
        reporter.ensure_newline()
        reporter.write_line(f"fuzz cases run: {sum(FUZZ_CASES.values())}")
        for target, runs in sorted(FUZZ_CASES.items()):
            ends = sorted((n, what) for (t, what), n in OUTCOMES.items() if t == target)
            detail = ", ".join(f"{what} {n}" for n, what in reversed(ends))
            reporter.write_line(f"  {target}: {runs}" + (f" ({detail})" if detail else ""))


def fuzz(max_examples: int) -> Callable[[F], F]:
    """Hypothesis settings for this module (no deadline, no database); a fuzz target is slow."""
    apply = settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )
    return lambda test: pytest.mark.slow(apply(test))


# --- shared strategies ------------------------------------------------------------------

#: Text that may hold lone surrogates (JSON can carry them as ``\ud800`` escapes).
WILD_TEXT = st.text(
    st.characters(exclude_categories=()) | st.sampled_from(["\ud800", "\udfff", "\x00", "\n"]),
    max_size=20,
)
#: Ordinary (UTF-8 encodable) text.
PLAIN_TEXT = st.text(max_size=20)
JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | WILD_TEXT
#: Anything ``json.loads`` can return (NaN and infinities included, as Python's json reads them).
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(PLAIN_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)
#: Values that trip number and string coercions.
ODD_VALUES = st.sampled_from(
    [
        "450",
        "450.0",
        " 12 ",
        "-7",
        "²",
        "١٢",
        "--1",
        "1e3",
        "",
        " ",
        "inf",
        "-inf",
        "nan",
        "NaN",
        "1e400",
        10**400,
        -(10**400),
        2**63,
        -1,
        0,
        1e308,
        -0.0,
        float("inf"),
        float("-inf"),
        float("nan"),
        True,
        False,
        [],
        {},
        [1],
        {"a": 1},
    ]
)
#: Digit strings longer than int() converts (built lazily: they would bloat strategy reprs).
LONG_DIGITS = st.integers(4301, 5000).map(lambda n: "9" * n)
ANY_VALUE = JSON_VALUES | ODD_VALUES | LONG_DIGITS
#: A JSON text nested deeper than the interpreter's recursion limit.
DEEP_JSON = "[" * 100_000


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


T = TypeVar("T")
E = TypeVar("E", bound=Exception)


def _attempt(call: Callable[[], T], *expected: type[E]) -> T | E:
    """``call()``'s result, or the exception it raised if that is one of ``expected``."""
    try:
        return call()
    except expected as exc:
        return exc


# --- mutation of valid documents -------------------------------------------------------

RETYPES: tuple[Callable[[Any], Any], ...] = (
    str,
    lambda v: [v],
    lambda v: {"value": v},
    lambda v: None,
    _dumps,
)


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair of a JSON document, depth first."""
    out: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in list(node):
                out.append((node, key))
                walk(node[key])
        elif isinstance(node, list):
            for index in range(len(node)):
                out.append((node, index))
                walk(node[index])

    walk(doc)
    return out


@st.composite
def mutated(draw: st.DrawFn, base: Any, values: st.SearchStrategy[Any] = ANY_VALUE) -> Any:
    """``base`` with 1-4 fields deleted, replaced by odd values, or retyped."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(doc)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        how = draw(st.sampled_from(("delete", "replace", "retype", "add")))
        if how == "delete":
            del container[key]
        elif how == "replace":
            # Copies: later mutations must not touch values shared by sampled_from.
            container[key] = copy.deepcopy(draw(values))
        elif how == "retype":
            container[key] = draw(st.sampled_from(RETYPES))(container[key])
        elif isinstance(container, dict):
            container[draw(PLAIN_TEXT)] = copy.deepcopy(draw(values))
        else:
            container.append(copy.deepcopy(draw(values)))
    return doc


# =========================================================================================
# 1. ASR answers
# =========================================================================================

#: The response body of the vendor's flash API page.
SEED_SAMPLE: dict[str, Any] = {
    "audio_info": {"duration": 2499},
    "result": {
        "additions": {"duration": "2499"},
        "text": "关闭透传。",
        "utterances": [
            {
                "end_time": 1530,
                "start_time": 450,
                "text": "关闭透传。",
                "words": [
                    {"confidence": 0, "end_time": 770, "start_time": 450, "text": "关"},
                    {"confidence": 0, "end_time": 970, "start_time": 770, "text": "闭"},
                    {"confidence": 0, "end_time": 1210, "start_time": 1130, "text": "透"},
                    {"confidence": 0, "end_time": 1530, "start_time": 1490, "text": "传"},
                ],
            }
        ],
    },
}

LATIN1_TEXT = st.text(st.characters(max_codepoint=0xFF), max_size=40)
HEADER_TEXT = st.none() | LATIN1_TEXT | PLAIN_TEXT
STATUS_HEADERS = st.one_of(
    st.sampled_from(["20000000", "20000003"]),
    st.none(),
    st.sampled_from(
        [
            "45000001",
            "45000002",
            "45000151",
            "55000031",
            "55000000",
            "55001234",
            "",
            " ",
            "2e7",
            "0x10",
            "+20000000",
            " 20000000 ",
            "20_000_000",
            "٢٠٠٠٠٠٠٠",
        ]
    ),
    LONG_DIGITS,
    st.integers().map(str),
    LATIN1_TEXT,
)
HTTP_STATUSES = st.sampled_from([200, 200, 204, 301, 400, 401, 403, 429, 500, 503]) | st.integers(
    100, 599
)
RETRY_AFTER = (
    st.none()
    | LATIN1_TEXT
    | st.sampled_from(
        [
            "0",
            "1.5",
            "-3",
            "nan",
            "inf",
            "1e400",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Mon, 01 Jan 0001 00:00:00 +2359",
            "Fri, 31 Dec 9999 23:59:59 -2359",
        ]
    )
)
ANSWER_DOCS = st.one_of(
    mutated(SEED_SAMPLE),
    JSON_VALUES,
    st.just(SEED_SAMPLE),
    st.fixed_dictionaries({}, optional={"result": ANY_VALUE, "audio_info": ANY_VALUE}),
)
ANSWER_BODIES = st.one_of(
    ANSWER_DOCS.map(lambda doc: _dumps(doc).encode()),
    st.binary(max_size=200),
    st.sampled_from([b"", b"  \n", b"null", b"{}", b"[]", b"\xff\xfe{}"]),
)


def _answer(status: int, headers: dict[str, str | None], body: bytes) -> HttpResponse:
    """An ``HttpResponse`` as a transport would hand it to the reader."""
    return HttpResponse(
        status,
        headers={name: value for name, value in headers.items() if value is not None},
        body=body,
    )


@fuzz(800)
@given(
    status=HTTP_STATUSES,
    code=STATUS_HEADERS,
    message=HEADER_TEXT,
    log_id=HEADER_TEXT,
    retry_after=RETRY_AFTER,
    body=ANSWER_BODIES,
)
@example(200, "20000000", "OK", "log", None, DEEP_JSON.encode())
def test_asr_answers_give_a_transcript_or_an_api_error(
    status: int,
    code: str | None,
    message: str | None,
    log_id: str | None,
    retry_after: str | None,
    body: bytes,
) -> None:
    """Any status, headers and body make read_answer return a Transcript or raise an APIError."""
    _count("asr: read_answer")
    headers = {
        "X-Api-Status-Code": code,
        "X-Api-Message": message,
        "X-Tt-Logid": log_id,
        "Retry-After": retry_after,
    }
    transcript = _attempt(
        lambda: read_answer(_answer(status, headers, body), "req-1"), errors.APIError
    )
    _outcome("asr: read_answer", transcript)
    if isinstance(transcript, errors.APIError):
        assert transcript.http_status == status
        assert str(transcript)
        assert repr(transcript)
        return
    assert isinstance(transcript, Transcript)
    assert transcript.request_id == "req-1"
    assert all(isinstance(u.start_time, int) for u in transcript.utterances)
    transcript.to_srt()
    transcript.to_vtt()


@fuzz(600)
@given(body=ANSWER_DOCS, silent=st.booleans())
@example({"result": {"utterances": [{"start_time": "²"}]}}, False)
@example({"result": {"utterances": [{"words": [{"confidence": 10**400}]}]}}, False)
def test_transcript_from_dict_gives_a_transcript_or_a_protocol_error(
    body: Any, silent: bool
) -> None:
    """Transcript.from_dict on any JSON value returns a Transcript or raises ProtocolError."""
    _count("asr: Transcript.from_dict")
    transcript = _attempt(
        lambda: Transcript.from_dict(body, log_id="log", silent=silent), errors.ProtocolError
    )
    _outcome("asr: Transcript.from_dict", transcript)
    if isinstance(transcript, errors.ProtocolError):
        return
    assert isinstance(transcript.text, str)
    for utterance in transcript.utterances:
        assert isinstance(utterance, Utterance)
        assert isinstance(utterance.end_time, int)
        assert all(isinstance(w, Word) for w in utterance.words)
        assert all(isinstance(w.start_time, int) for w in utterance.words)
        assert utterance.confidence is None or isinstance(utterance.confidence, float)


@pytest.mark.parametrize("digits", ["²", "--1", "9" * 5000, "١٢"])
def test_regression_odd_digit_strings_in_times(digits: str) -> None:
    """A time given as a digit-like string int() refuses is a ProtocolError, not a ValueError."""
    body = {"result": {"utterances": [{"start_time": digits, "text": "x"}]}}
    transcript = _attempt(lambda: Transcript.from_dict(body), errors.ProtocolError)
    if isinstance(transcript, Transcript):
        assert transcript.utterances[0].start_time == int(digits)
    else:
        assert "start_time" in str(transcript)


def test_regression_huge_confidence() -> None:
    """A confidence too large for a float is a ProtocolError, not an OverflowError."""
    body = json.loads(
        '{"result": {"utterances": [{"words": [{"confidence": 1%s}]}]}}' % ("0" * 400)
    )
    with pytest.raises(errors.ProtocolError, match="confidence"):
        Transcript.from_dict(body)


def test_regression_malformed_result_error_has_http_status() -> None:
    """A success answer whose body has no 'result' is a ProtocolError carrying the HTTP status."""
    response = _answer(200, {"X-Api-Status-Code": "20000000", "X-Tt-Logid": "log"}, b"{}")
    with pytest.raises(errors.ProtocolError, match="no 'result'") as info:
        read_answer(response, "req-1")
    assert (info.value.http_status, info.value.log_id, info.value.request_id) == (
        200,
        "log",
        "req-1",
    )


def test_regression_deeply_nested_answer() -> None:
    """A success answer whose body nests deeper than the recursion limit is a ProtocolError."""
    response = _answer(200, {"X-Api-Status-Code": "20000000"}, DEEP_JSON.encode())
    with pytest.raises(errors.ProtocolError, match="not JSON"):
        read_answer(response, "req-1")
    error_answer = _answer(400, {"X-Api-Status-Code": "45000001"}, DEEP_JSON.encode())
    with pytest.raises(errors.InvalidRequestError):
        read_answer(error_answer, "req-1")


# =========================================================================================
# 2. RTC callbacks
# =========================================================================================

SECRET = "fuzz-callback-secret"
NOW = dt.datetime(2024, 5, 1, 8, 0, 0, tzinfo=dt.timezone.utc)

FIELD_VALUES = WILD_TEXT | JSON_VALUES
ENVELOPE_KEYS = (*SIGNED_FIELDS, "Noce", "Signature")
ENVELOPES = st.builds(
    lambda fields, extra: {**extra, **fields},
    st.fixed_dictionaries({}, optional=dict.fromkeys(ENVELOPE_KEYS, FIELD_VALUES)),
    st.dictionaries(PLAIN_TEXT, JSON_VALUES, max_size=3),
)
CALLBACK_BODIES = st.one_of(
    ENVELOPES,
    ENVELOPES.map(lambda e: _dumps(e).encode()),
    ENVELOPES.map(lambda e: json.dumps(e, ensure_ascii=False)),
    st.binary(max_size=200),
    WILD_TEXT,
    JSON_VALUES,
    JSON_VALUES.map(_dumps),
    st.sampled_from([b"", "null", 7, None, b"\xff"]),
)
MAX_AGES = st.none() | st.floats(min_value=0, max_value=1e12)
NOWS = st.just(NOW) | st.floats(min_value=-1e12, max_value=1e12) | st.datetimes()

#: ``EventTime`` values: valid RFC 3339, epoch digits, near-misses and junk.
EVENT_TIMES = st.one_of(
    st.datetimes(timezones=st.just(dt.timezone.utc)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    ),
    st.integers(0, 10**40).map(str),
    st.builds(
        "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}{}".format,
        st.integers(0, 9999),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
        st.sampled_from(["", ".5", ".123456789"]),
        st.sampled_from(["Z", "z", "+00:00", "-23:59", "+99:99", "+2400", "-0000", "+08:00"]),
    ),
    PLAIN_TEXT,
)
SEGMENT_KEYS = (
    "AppId",
    "BusinessId",
    "RoomId",
    "TaskId",
    "UserId",
    "StreamType",
    "Identifier",
    "Bucket",
    "ObjectKey",
    "FileName",
    "Key",
    "Url",
    "URL",
    "FileUrl",
    "StartTime",
    "Duration",
    "Sequence",
    "Seq",
    "Index",
)
SEGMENT_VALUES = st.one_of(ANY_VALUE, st.integers(), st.floats(), PLAIN_TEXT)
_ANY_SEGMENT_DATA = st.fixed_dictionaries({}, optional=dict.fromkeys(SEGMENT_KEYS, SEGMENT_VALUES))
_TEXTISH = PLAIN_TEXT | st.integers() | SEGMENT_VALUES
_NUMBERISH = st.one_of(
    st.integers(),
    st.floats(),
    st.integers().map(str),
    st.floats().map(str),
    SEGMENT_VALUES,
)
#: EventData objects: any subset of the known keys, or the required ones (often
#: well typed) overlaid with any subset.
SEGMENT_DATA = _ANY_SEGMENT_DATA | st.builds(
    lambda required, extra: {**required, **extra},
    st.fixed_dictionaries(
        {
            "RoomId": _TEXTISH,
            "TaskId": _TEXTISH,
            "UserId": _TEXTISH,
            "StartTime": _NUMBERISH,
            "Duration": _NUMBERISH,
            "ObjectKey": _TEXTISH,
        }
    ),
    _ANY_SEGMENT_DATA,
)
EVENT_DATA = st.one_of(
    SEGMENT_DATA.map(_dumps),
    JSON_VALUES.map(_dumps),
    PLAIN_TEXT,
    st.sampled_from(["", " ", "{}", "[]", "null"]),
)
EVENT_TYPES = st.just(SEGMENT_EVENT_TYPE) | PLAIN_TEXT
_DEFAULT_MAPPING = SegmentFieldMapping()
MAPPINGS = st.sampled_from(
    [
        _DEFAULT_MAPPING,
        attrs.evolve(_DEFAULT_MAPPING, start_time_unit="s"),
        attrs.evolve(_DEFAULT_MAPPING, duration_unit="s"),
        attrs.evolve(_DEFAULT_MAPPING, start_time_unit="s", duration_unit="s"),
        attrs.evolve(_DEFAULT_MAPPING, object_key=("Key", "ObjectKey"), stream_type=("Index",)),
    ]
)


@st.composite
def signed_envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """A correctly signed envelope with arbitrary (UTF-8 encodable) field values."""
    # No parameters: hypothesis would render the strategies' (large) reprs.
    fields: dict[str, Any] = {
        "EventType": draw(EVENT_TYPES),
        "EventData": draw(EVENT_DATA),
        "EventTime": draw(EVENT_TIMES),
        "EventId": draw(PLAIN_TEXT),
        "AppId": draw(PLAIN_TEXT),
        "Version": draw(st.just("2023-11-01") | PLAIN_TEXT),
        draw(st.sampled_from(["Nonce", "Noce"])): draw(PLAIN_TEXT),
    }
    signature = sign_callback(fields, SECRET)
    fields["Signature"] = draw(st.sampled_from([signature, signature.upper(), f" {signature}\n"]))
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=8), JSON_VALUES, max_size=2))
    return {**{k: v for k, v in extra.items() if k not in ENVELOPE_KEYS}, **fields}


def _signed(event_data: str = "{}", secret: str = SECRET, **fields: str) -> dict[str, Any]:
    """A correctly signed SegmentRealTimeData envelope; ``fields`` override the defaults."""
    envelope = {
        "EventType": SEGMENT_EVENT_TYPE,
        "EventData": event_data,
        "EventTime": "2024-05-01T08:00:00.123456789Z",
        "EventId": "evt-1",
        "AppId": "app",
        "Version": "2023-11-01",
        "Nonce": "4821",
        **fields,
    }
    envelope["Signature"] = sign_callback(envelope, secret)
    return envelope


def _check_segment_or_error(
    target: str, event: CallbackEvent, mapping: SegmentFieldMapping, label: str = ""
) -> None:
    segment = _attempt(lambda: event.segment(mapping), errors.CallbackError)
    _outcome(target, label + type(segment).__name__)
    if not isinstance(segment, errors.CallbackError):
        _check_segment(segment)


def _check_segment(segment: Segment) -> None:
    assert isinstance(segment, Segment)
    for name in ("room_id", "task_id", "user_id"):
        assert isinstance(getattr(segment, name), str)
    assert isinstance(segment.start_time_ms, int)
    assert isinstance(segment.duration_ms, int)
    assert isinstance(segment.stream_type, int)
    assert segment.object_key is not None or segment.url is not None


@fuzz(1000)
@given(body=CALLBACK_BODIES, max_age=MAX_AGES)
@example(DEEP_JSON, None)
@example(DEEP_JSON.encode(), 60.0)
@example(
    '{"EventType":"\\ud800","EventData":"","EventTime":"","EventId":"","AppId":"",'
    '"Version":"","Nonce":"","Signature":"x"}',
    None,
)
def test_unsigned_callbacks_raise_callback_errors(body: Any, max_age: float | None) -> None:
    """Bytes, text, JSON values and malformed envelopes all raise a CallbackError."""
    _count("rtc: parse_callback (unsigned)")
    with pytest.raises(errors.CallbackError) as info:
        parse_callback(body, SECRET, max_age=max_age, now=NOW)
    _outcome("rtc: parse_callback (unsigned)", info.value)


@fuzz(600)
@given(
    envelope=signed_envelopes(),
    as_bytes=st.booleans(),
    max_age=MAX_AGES,
    now=NOWS,
    mapping=MAPPINGS,
)
def test_signed_callbacks_parse_or_raise_callback_errors(
    envelope: dict[str, Any],
    as_bytes: bool,
    max_age: float | None,
    now: Any,
    mapping: SegmentFieldMapping,
) -> None:
    """A correctly signed envelope verifies; bad content is a CallbackError, never another."""
    _count("rtc: parse_callback (signed)")
    body: Any = _dumps(envelope).encode() if as_bytes else envelope
    event = _attempt(
        lambda: parse_callback(body, SECRET, max_age=max_age, now=now), errors.CallbackError
    )
    _outcome("rtc: parse_callback (signed)", event)
    assert not isinstance(event, errors.CallbackSignatureError), "a signed callback failed"
    if isinstance(event, errors.CallbackError):
        return
    assert isinstance(event, CallbackEvent)
    assert isinstance(event.data, dict)
    assert event.event_type == envelope["EventType"]
    assert event.event_time is None or event.event_time.tzinfo is not None
    if event.event_type == SEGMENT_EVENT_TYPE:
        _check_segment_or_error("rtc: parse_callback (signed)", event, mapping, "segment() ")


@fuzz(600)
@given(data=SEGMENT_DATA, mapping=MAPPINGS)
@example({"ObjectKey": "k", "StartTime": "inf", "Duration": 1, "RoomId": "r", "TaskId": "t",
          "UserId": "u"}, _DEFAULT_MAPPING)  # fmt: skip
def test_segment_of_signed_events_with_arbitrary_event_data(
    data: dict[str, Any], mapping: SegmentFieldMapping
) -> None:
    """CallbackEvent.segment() on any EventData object gives a Segment or a CallbackError."""
    _count("rtc: CallbackEvent.segment (arbitrary)")
    event = parse_callback(_signed(_dumps(data)), SECRET, now=NOW)
    _check_segment_or_error("rtc: CallbackEvent.segment (arbitrary)", event, mapping)


@pytest.fixture(scope="module")
def emu(volcspeech_emulator_factory: Callable[[], Emulator]) -> Iterator[Emulator]:
    """One emulator for the module (from the plugin's factory), with the sample room."""
    with volcspeech_emulator_factory() as emulator:
        emulator.rtc.register_sample_room()
        yield emulator


@pytest.fixture(scope="module")
def emulator_callbacks(emu: Emulator) -> list[dict[str, Any]]:
    """The SegmentRealTimeData envelopes the emulator sends for the sample room."""
    request = StartSegmentRequest(
        app_id="demo-app",
        room_id="demo-room",
        task_id="fuzz-task",
        storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
        duration=20,
    )
    with emu.rtc.client() as client:
        client.start_segment(request)
    callbacks = emu.rtc.take_callbacks()
    assert callbacks
    return callbacks


@fuzz(500)
@given(data=st.data(), mapping=MAPPINGS)
def test_segment_of_mutated_emulator_callbacks(
    emu: Emulator,
    emulator_callbacks: list[dict[str, Any]],
    data: st.DataObject,
    mapping: SegmentFieldMapping,
) -> None:
    """Emulator-sent SegmentRealTimeData with mangled fields gives a Segment or a CallbackError."""
    _count("rtc: CallbackEvent.segment (mutated emulator)")
    secret = emu.credentials.callback_secret
    original = data.draw(st.sampled_from(emulator_callbacks))
    event_data = data.draw(mutated(json.loads(original["EventData"]), SEGMENT_VALUES))
    fields = {k: v for k, v in original.items() if k != "Signature"}
    fields["EventData"] = _dumps(event_data)
    fields["Signature"] = sign_callback(fields, secret)
    event = parse_callback(_dumps(fields).encode(), secret)
    _check_segment_or_error("rtc: CallbackEvent.segment (mutated emulator)", event, mapping)


def test_emulator_callbacks_give_segments(
    emu: Emulator, emulator_callbacks: list[dict[str, Any]]
) -> None:
    """Unmodified emulator callbacks verify and give segments (the mutation base is valid)."""
    secret = emu.credentials.callback_secret
    for envelope in emulator_callbacks:
        _check_segment(parse_callback(_dumps(envelope).encode(), secret, max_age=3600).segment())


@fuzz(600)
@given(
    envelope=signed_envelopes(),
    data=st.data(),
    as_bytes=st.booleans(),
)
def test_single_character_change_fails_verification(
    envelope: dict[str, Any], data: st.DataObject, as_bytes: bool
) -> None:
    """Replacing, inserting or deleting one character of a signed field breaks the signature."""
    _count("rtc: signature tampering")
    names = [n for n in ENVELOPE_KEYS if n in envelope]
    name = data.draw(st.sampled_from(names))
    value: str = envelope[name]
    if name == "Signature":
        # Case and surrounding whitespace are not significant in the hex digest.
        position = data.draw(st.integers(0, len(value) - 1))
        old = value[position]
        new = data.draw(
            st.characters(codec="utf-8").filter(
                lambda c: c.lower() != old.lower() and not (old.isspace() and c.isspace())
            )
        )
        tampered = value[:position] + new + value[position + 1 :]
    else:
        ops = ["insert"] + (["replace", "delete"] if value else [])
        how = data.draw(st.sampled_from(ops))
        position = data.draw(st.integers(0, max(0, len(value) - (how != "insert"))))
        if how == "insert":
            tampered = value[:position] + data.draw(st.characters(codec="utf-8"))
            tampered += value[position:]
        elif how == "delete":
            tampered = value[:position] + value[position + 1 :]
        else:
            old = value[position]
            new = data.draw(st.characters(codec="utf-8").filter(lambda c: c != old))
            tampered = value[:position] + new + value[position + 1 :]
    changed = {**envelope, name: tampered}
    body: Any = _dumps(changed).encode() if as_bytes else changed
    with pytest.raises(errors.CallbackSignatureError):
        parse_callback(body, SECRET)


@pytest.mark.parametrize(
    "body",
    [DEEP_JSON, DEEP_JSON.encode(), "{" * 100_000, '{"a":' * 50_000],
    ids=["str", "bytes", "objects", "values"],
)
def test_regression_deeply_nested_callback_body(body: Any) -> None:
    """A callback body nested deeper than the recursion limit is a CallbackError."""
    with pytest.raises(errors.CallbackError, match="not UTF-8 JSON"):
        parse_callback(body, SECRET)


def test_regression_deeply_nested_event_data() -> None:
    """Signed EventData nested deeper than the recursion limit is a CallbackError."""
    envelope = _signed(DEEP_JSON)
    with pytest.raises(errors.CallbackError, match="EventData is not JSON"):
        parse_callback(envelope, SECRET)


@pytest.mark.parametrize("field", [*SIGNED_FIELDS, "Signature"])
def test_regression_lone_surrogates_in_callback_fields(field: str) -> None:
    """A field holding a lone surrogate (a JSON ``\\ud800`` escape) is a CallbackError."""
    envelope = _signed()
    body = _dumps({**envelope, field: "\ud800" + envelope.get(field, "")})
    assert "\\ud800" in body
    with pytest.raises(errors.CallbackError):
        parse_callback(body, SECRET)
    with pytest.raises(errors.CallbackError):
        parse_callback(json.loads(body), SECRET)


@pytest.mark.parametrize("body", ["\ud800", '{"EventType": "\udcff"}'])
def test_regression_lone_surrogate_in_a_str_body(body: str) -> None:
    """A str body holding a raw lone surrogate is a CallbackError, not a UnicodeEncodeError."""
    with pytest.raises(errors.CallbackError, match="not UTF-8 JSON"):
        parse_callback(body, SECRET)


def test_regression_lone_surrogate_secret() -> None:
    """A secret key that is not valid Unicode is a ConfigurationError."""
    envelope = _signed()
    with pytest.raises(errors.ConfigurationError):
        parse_callback(envelope, "secret\ud800")
    with pytest.raises(errors.ConfigurationError):
        sign_callback(envelope, "secret\ud800")


@pytest.mark.parametrize(
    "event_time",
    [
        "9" * 30,
        "1" + "0" * 400,
        "99999999999999999",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "2024-01-01T00:00:00+99:99",
        "2024-13-01T00:00:00Z",
    ],
)
def test_regression_out_of_range_event_times(event_time: str) -> None:
    """An EventTime outside the datetime range reads as unknown, not as an OverflowError."""
    with pytest.raises(ValueError, match=r"."):
        parse_event_time(event_time)
    fields = _signed(EventTime=event_time)
    assert parse_callback(fields, SECRET, max_age=None).event_time is None
    with pytest.raises(errors.StaleCallbackError, match="cannot be read"):
        parse_callback(fields, SECRET, max_age=60)


@pytest.mark.parametrize(
    ("start", "duration", "unit"),
    [
        ("inf", 1, "ms"),
        ("nan", 1, "ms"),
        ("1e400", 1, "ms"),
        ("-inf", 1, "ms"),
        (1, 1e306, "s"),
        (1, "1e306", "s"),
    ],
)
def test_regression_non_finite_segment_numbers(start: Any, duration: Any, unit: str) -> None:
    """A StartTime or Duration that is not a finite number is a CallbackError."""
    data = {"ObjectKey": "k", "RoomId": "r", "TaskId": "t", "UserId": "u"}
    data.update(StartTime=start, Duration=duration)
    mapping = attrs.evolve(_DEFAULT_MAPPING, duration_unit=unit)
    with pytest.raises(errors.CallbackError, match="must be a number"):
        Segment.from_event_data(data, mapping)


# =========================================================================================
# 3. Audio sniffing
# =========================================================================================

AUDIO_DIR = Path(__file__).parent / "fixtures" / "audio"
FIXTURE_AUDIO: dict[str, bytes] = {
    path.name: path.read_bytes()
    for path in sorted(AUDIO_DIR.iterdir())
    if path.suffix in (".wav", ".mp3", ".ogg", ".flac")
}
AUDIO_NAMES = sorted(FIXTURE_AUDIO)
#: The samples of hello_8k.wav (a strategy takes them lazily: reprs stay small).
HELLO_PCM = FIXTURE_AUDIO["hello_8k.wav"][44:]
HEADER_INTS = st.sampled_from([0, 1, 2, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]) | st.integers(
    0, 0xFFFFFFFF
)


@st.composite
def corrupted_audio(draw: st.DrawFn) -> bytes:
    """A fixture file with bytes flipped, cut, spliced, inserted or header ints overwritten."""
    data = bytearray(FIXTURE_AUDIO[draw(st.sampled_from(AUDIO_NAMES))])
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        how = draw(st.sampled_from(("flip", "cut", "splice", "int", "insert")))
        # Most of the structure lives in the first bytes: aim there half of the time.
        position = draw(st.integers(0, min(len(data) - 1, 96)) | st.integers(0, len(data) - 1))
        if how == "flip":
            data[position] ^= draw(st.integers(1, 255))
        elif how == "cut":
            del data[position:]
        elif how == "splice":
            other = FIXTURE_AUDIO[draw(st.sampled_from(AUDIO_NAMES))]
            data[:position] = other[:position]
        elif how == "int":
            width = draw(st.sampled_from((2, 4)))
            value = draw(HEADER_INTS) & ((1 << (8 * width)) - 1)
            data[position : position + width] = value.to_bytes(width, "little")
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


@st.composite
def handmade_wavs(draw: st.DrawFn) -> bytes:
    """A RIFF/WAVE file with arbitrary ``fmt `` values, chunk sizes and chunk order."""
    small = st.integers(0, 8) | st.integers(0, 0xFFFF)
    fmt = struct.pack(
        "<HHIIHH",
        draw(st.sampled_from([1, 3, 0xFFFE]) | st.integers(0, 0xFFFF)),
        draw(small),
        draw(st.sampled_from([0, 1, 8000, 16000, 48000, 0xFFFFFFFF]) | st.integers(0, 2**32 - 1)),
        draw(st.integers(0, 2**32 - 1)),
        draw(small),
        draw(st.sampled_from([0, 8, 16, 24, 32]) | st.integers(0, 0xFFFF)),
    )
    fmt += draw(st.binary(max_size=8))
    pcm = draw(st.binary(max_size=3000) | st.builds(lambda: HELLO_PCM[:4000]))
    chunks = [
        (b"fmt ", draw(st.just(len(fmt)) | HEADER_INTS), fmt),
        (b"data", draw(st.just(len(pcm)) | HEADER_INTS), pcm),
    ]
    if draw(st.booleans()):
        junk = draw(st.binary(max_size=30))
        chunks.append((b"LIST", draw(st.just(len(junk)) | HEADER_INTS), junk))
    ordered = draw(st.permutations(chunks))
    body = b"WAVE" + b"".join(cid + struct.pack("<I", size) + raw for cid, size, raw in ordered)
    riff_size = draw(st.just(len(body)) | HEADER_INTS)
    return b"RIFF" + struct.pack("<I", riff_size) + body


@st.composite
def handmade_mp3_ogg(draw: st.DrawFn) -> bytes:
    """ID3 tags, MPEG frame syncs and Ogg pages with random headers and payloads."""
    kind = draw(st.sampled_from(("id3", "sync", "ogg")))
    tail = draw(st.binary(max_size=600))
    if kind == "id3":
        size = bytes(draw(st.lists(st.integers(0, 127), min_size=4, max_size=4)))
        return b"ID3" + draw(st.binary(min_size=3, max_size=3)) + size + tail
    if kind == "sync":
        frames = draw(
            st.lists(
                st.binary(min_size=3, max_size=3).map(lambda h: b"\xff" + h)
                | st.binary(max_size=8),
                max_size=6,
            )
        )
        return b"".join(frames) + tail
    head = draw(st.binary(min_size=22, max_size=22)) + bytes([draw(st.integers(0, 255))])
    packet = draw(st.sampled_from([b"OpusHead", b"\x01vorbis", b"\x7fFLAC", b""]))
    return b"OggS" + head + packet + tail


AUDIO_BYTES = st.one_of(
    corrupted_audio(), handmade_wavs(), handmade_mp3_ogg(), st.binary(max_size=300)
)
AUDIO_OPTIONS = st.builds(
    RecognitionOptions,
    format=st.none() | st.sampled_from(["wav", "mp3", "ogg", "raw"]),
    codec=st.none() | st.sampled_from(["raw", "opus"]),
    rate=st.none() | st.sampled_from([8000, 16000]) | st.integers(1, 2**40),
    bits=st.none() | st.just(16),
    channel=st.none() | st.sampled_from([1, 2]),
)


class _Pipe(io.RawIOBase):
    """A readable, non-seekable binary stream (like a pipe)."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


def _audio_input(data: bytes, kind: str) -> Any:
    if kind == "bytearray":
        return bytearray(data)
    if kind == "memoryview":
        return memoryview(data)
    if kind == "file":
        return io.BytesIO(data)
    if kind == "file at an offset":
        stream = io.BytesIO(b"junk" + data)
        stream.seek(4)
        return stream
    if kind == "pipe":
        return _Pipe(data)
    return data


AUDIO_KINDS = st.sampled_from(
    ["bytes", "bytearray", "memoryview", "file", "file at an offset", "pipe"]
)


@fuzz(1000)
@given(data=AUDIO_BYTES, kind=AUDIO_KINDS, options=st.none() | AUDIO_OPTIONS)
def test_audio_sniffing_raises_only_invalid_audio(
    data: bytes, kind: str, options: RecognitionOptions | None
) -> None:
    """Mangled or random audio, as bytes or file objects, is accepted or an InvalidAudioError."""
    _count("asr: sniff / prepare_audio")
    try:
        info = sniff(io.BytesIO(data), len(data))
    except errors.InvalidAudioError:
        pass
    else:
        assert info.format in ("wav", "mp3", "ogg")
        assert info.size == len(data)
    fields = options.to_audio_dict() if options is not None else {}
    prepared = _attempt(
        lambda: prepare_audio(_audio_input(data, kind), fields), errors.InvalidAudioError
    )
    if isinstance(prepared, errors.InvalidAudioError):
        _outcome("asr: sniff / prepare_audio", prepared)
        return
    assert isinstance(prepared, PreparedAudio)
    assert prepared.info is not None
    assert prepared.source is not None
    _outcome("asr: sniff / prepare_audio", f"accepted {prepared.info.format}")
    try:
        assert prepared.info.format in ("wav", "mp3", "ogg", "raw")
        assert prepared.fields["format"] == prepared.info.format
        assert prepared.info.size == len(data)
        duration = prepared.info.duration_ms
        assert duration is None or 0 <= duration <= MAX_DURATION_MS
        sent = b"".join(bytes(chunk) for chunk in prepared.source.iter_chunks(4096))
        assert sent == data
    finally:
        prepared.source.close()


@st.composite
def sendable_wavs(draw: st.DrawFn) -> bytes:
    """WAVs whose header the client accepts (fmt before data, non-zero rate, channels,
    block align), with odd values everywhere else."""
    channels = draw(st.integers(1, 8))
    fmt = struct.pack(
        "<HHIIHH",
        draw(st.sampled_from([1, 3]) | st.integers(0, 0xFFFF)),
        channels,
        draw(st.sampled_from([8000, 16000]) | st.integers(1, 200_000)),
        draw(st.integers(0, 2**32 - 1)),
        draw(st.integers(1, 2 * channels) | st.integers(1, 0xFFFF)),
        draw(st.sampled_from([8, 16]) | st.integers(0, 0xFFFF)),
    )
    pcm = draw(st.binary(max_size=2000) | st.builds(lambda: HELLO_PCM))
    size = draw(st.just(len(pcm)) | st.sampled_from([0, 0xFFFFFFFF]) | st.integers(0, 4000))
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", size) + pcm
    return b"RIFF" + struct.pack("<I", len(body)) + body


@st.composite
def damaged_payloads(draw: st.DrawFn) -> bytes:
    """A fixture with its header intact and its payload cut or flipped."""
    data = bytearray(FIXTURE_AUDIO[draw(st.sampled_from(AUDIO_NAMES))])
    for _ in range(draw(st.integers(1, 3))):
        if len(data) <= 64:
            break
        position = draw(st.integers(64, len(data) - 1))
        if draw(st.booleans()):
            del data[position:]
        else:
            data[position] ^= draw(st.integers(1, 255))
    return bytes(data)


#: Audio and options that mostly pass the client's checks, so the emulator sees them.
SENDABLE = st.one_of(
    st.tuples(sendable_wavs() | damaged_payloads(), st.none() | AUDIO_OPTIONS),
    st.tuples(
        st.binary(min_size=1, max_size=3000),
        st.builds(
            RecognitionOptions,
            format=st.just("raw"),
            rate=st.none() | st.integers(1, 2**40),
            channel=st.none() | st.sampled_from([1, 2]),
            codec=st.none() | st.just("raw"),
        ),
    ),
    st.tuples(AUDIO_BYTES, st.none() | AUDIO_OPTIONS),
)


@fuzz(250)
@given(sent=SENDABLE)
@example(
    (
        b"RIFF\x2c\x01\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00\x80\x3e\x00\x00"
        b"\x80\x3e\x00\x00\x01\x00\x10\x00data\x08\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08",
        None,
    )
)
def test_emulator_answers_mangled_audio_with_an_error_status(
    emu: Emulator, sent: tuple[bytes, RecognitionOptions | None]
) -> None:
    """Audio the client sends is answered by the emulator with a status, never a 500 crash."""
    _count("emulator: ASR audio")
    data, options = sent
    emu.reset()
    with emu.asr.client(max_retries=0) as client:
        outcome = _attempt(lambda: client.recognize(data, options=options), errors.VolcSpeechError)
    _outcome("emulator: ASR audio", outcome)
    if isinstance(outcome, errors.InvalidAudioError):
        assert not emu.requests  # refused before any traffic
        return
    if isinstance(outcome, errors.VolcSpeechError):
        assert isinstance(outcome, errors.APIError)
        assert not isinstance(outcome, errors.ServerError), outcome
    else:
        assert isinstance(outcome, Transcript)
    assert [r.status for r in emu.requests if r.status >= 500] == []


FLASH_PATH = "/api/v3/auc/bigmodel/recognize/flash"


def _tiny_wav(pcm: bytes, rate: int = 8000) -> bytes:
    """A mono 16-bit PCM WAV of ``pcm``."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    return b"RIFF" + struct.pack("<I", len(body)) + body


VALID_ASR_BODY: dict[str, Any] = {
    "user": {"uid": "fuzz"},
    "audio": {"format": "wav", "data": base64.b64encode(_tiny_wav(HELLO_PCM[:1600])).decode()},
    "request": {"model_name": "bigmodel", "enable_itn": True, "corpus": {"context": "{}"}},
}


#: A body whose corpus context (kept in the JSON skeleton) nests too deeply to parse.
DEEP_CONTEXT_BODY = _dumps(
    {
        **VALID_ASR_BODY,
        "request": {"model_name": "bigmodel", "corpus": {"context": "[" * 60_000}},
    }
).encode()


@fuzz(200)
@given(
    body=st.one_of(
        mutated(VALID_ASR_BODY).map(lambda d: _dumps(d).encode()),
        JSON_VALUES.map(lambda d: _dumps(d).encode()),
        st.binary(max_size=200),
        st.sampled_from([b'"\\', b'{"a":"\\u', b"{", b"\xff"]),
    )
)
@example(DEEP_JSON.encode())
@example(DEEP_CONTEXT_BODY)
@example(b'{"audio":' * 50_000)
def test_emulator_answers_arbitrary_asr_bodies_with_an_error_status(
    emu: Emulator, body: bytes
) -> None:
    """Any request body posted to the emulated flash API gets a non-5xx answer."""
    _count("emulator: ASR request bodies")
    answer = _assert_flash_answers(emu, body)
    _outcome("emulator: ASR request bodies", f"HTTP {answer.status_code}")


def _assert_flash_answers(emu: Emulator, body: bytes) -> requests.Response:
    credentials = emu.credentials
    headers = {
        "X-Api-App-Key": credentials.app_key,
        "X-Api-Access-Key": credentials.access_key,
        "X-Api-Resource-Id": "volc.bigasr.auc_turbo",
        "X-Api-Request-Id": "fuzz-request",
        "X-Api-Sequence": "-1",
        "Content-Type": "application/json",
    }
    answer = requests.post(emu.url + FLASH_PATH, data=body, headers=headers, timeout=30)
    assert answer.status_code < 500, answer.text[:300]
    assert answer.headers.get("X-Api-Status-Code")
    return answer


# =========================================================================================
# 4. RTC models and recognition options
# =========================================================================================

IDS = st.from_regex(r"[a-zA-Z0-9_@\-\.]{1,128}", fullmatch=True)
NONBLANK = st.text(min_size=1, max_size=20).filter(lambda s: bool(s.strip()))
OPT_BOOL = st.none() | st.booleans()
REGIONS = st.none() | st.integers(0, 30) | st.integers(0, 2**63)

TOS = st.builds(TosConfig, account_id=NONBLANK, bucket=NONBLANK, region=REGIONS)
VOD = st.builds(
    VodConfig,
    account_id=NONBLANK,
    space=NONBLANK,
    region=REGIONS,
    storage_class=st.none() | st.integers(1, 3),
    auto_set_file_extension=OPT_BOOL,
)
CUSTOM = st.builds(
    CustomConfig,
    bucket=NONBLANK,
    access_key=NONBLANK,
    secret_key=NONBLANK,
    vendor=st.none() | st.sampled_from(list(Vendor)) | st.integers(0, 4),
    region=REGIONS,
)
VEIMAGEX = st.builds(VeImageXConfig, account_id=NONBLANK, service_id=NONBLANK, region=REGIONS)
SEGMENT_STORAGE = st.one_of(
    st.builds(
        lambda kind, config: StorageConfig(type=kind, tos_config=config),
        st.sampled_from([None, 0, StorageType.TOS]),
        TOS,
    ),
    st.builds(lambda c: StorageConfig(type=StorageType.CUSTOM, custom_config=c), CUSTOM),
)
STORAGE = st.one_of(
    SEGMENT_STORAGE,
    st.builds(lambda c: StorageConfig(type=StorageType.VOD, vod_config=c), VOD),
    st.builds(lambda c: StorageConfig(type=StorageType.VEIMAGEX, veimagex_config=c), VEIMAGEX),
)
STREAM = st.builds(
    Stream,
    IDS,
    stream_type=st.none() | st.sampled_from([0, 1]),
    index=st.none() | st.integers(0, 20) | st.integers(0, 2**40),
)


def _unique_indexes(streams: list[Stream]) -> TargetStreams:
    seen: set[int] = set()
    out = []
    for stream in streams:
        if stream.index is not None and stream.index in seen:
            stream = attrs.evolve(stream, index=None)
        if stream.index is not None:
            seen.add(stream.index)
        out.append(stream)
    return TargetStreams(tuple(out))


TARGETS = st.lists(STREAM, max_size=17).map(_unique_indexes)
CONTROL = st.builds(
    SegmentControl,
    align=OPT_BOOL,
    mixed=OPT_BOOL,
    ignore_silence=OPT_BOOL,
    redundant_duration=st.none() | st.integers(0, 10**9),
)
START = st.builds(
    StartSegmentRequest,
    app_id=IDS,
    room_id=IDS,
    task_id=IDS,
    storage_config=SEGMENT_STORAGE,
    business_id=st.none() | IDS,
    max_idle_time=st.none() | st.integers(1, 86400),
    target_streams=st.none() | TARGETS,
    duration=st.none() | st.integers(1, 600),
    control=st.none() | CONTROL,
    identifier=st.none() | IDS,
    handle=OPT_BOOL,
)
UPDATE = st.builds(
    UpdateSegmentRequest,
    app_id=IDS,
    room_id=IDS,
    task_id=IDS,
    business_id=st.none() | IDS,
    duration=st.none() | st.integers(1, 600),
    handle=OPT_BOOL,
    identifier=st.none() | IDS,
)
STOP = st.builds(
    StopSegmentRequest, app_id=IDS, room_id=IDS, task_id=IDS, business_id=st.none() | IDS
)

#: Valid instances of every model with ``from_dict``/``to_dict``.
VALID_MODELS: dict[type, st.SearchStrategy[Any]] = {
    TosConfig: TOS,
    VodConfig: VOD,
    CustomConfig: CUSTOM,
    VeImageXConfig: VEIMAGEX,
    StorageConfig: STORAGE,
    Stream: STREAM,
    TargetStreams: TARGETS,
    SegmentControl: CONTROL,
    StartSegmentRequest: START,
    UpdateSegmentRequest: UPDATE,
    StopSegmentRequest: STOP,
}
#: The wire keys each model reads.
MODEL_KEYS: dict[type, tuple[str, ...]] = {
    TosConfig: ("AccountId", "Region", "Bucket"),
    VodConfig: ("AccountId", "Region", "Space", "StorageClass", "AutoSetFileExtension"),
    CustomConfig: ("Vendor", "Region", "Bucket", "AccessKey", "SecretKey"),
    VeImageXConfig: ("AccountId", "Region", "ServiceId"),
    StorageConfig: ("Type", "TosConfig", "VodConfig", "CustomConfig", "VeImageXConfig"),
    Stream: ("Index", "UserId", "StreamType"),
    TargetStreams: ("StreamList",),
    SegmentControl: ("Align", "Mixed", "IgnoreSilence", "RedundantDuration"),
    StartSegmentRequest: (
        "AppId",
        "BusinessId",
        "RoomId",
        "TaskId",
        "MaxIdleTime",
        "TargetStreams",
        "Duration",
        "StorageConfig",
        "Control",
        "Identifier",
        "Handle",
    ),
    UpdateSegmentRequest: (
        "AppId",
        "BusinessId",
        "RoomId",
        "TaskId",
        "Duration",
        "Handle",
        "Identifier",
    ),
    StopSegmentRequest: ("AppId", "BusinessId", "RoomId", "TaskId"),
    SegmentTask: (
        "Status",
        "StartTime",
        "EndTime",
        "StopReason",
        "Duration",
        "Handle",
        "Identifier",
        "MaxIdleTime",
        "TargetStreams",
        "StorageConfig",
        "Control",
    ),
}
MODEL_VALUES = st.one_of(ANY_VALUE, IDS, st.integers(-5, 700), st.lists(ANY_VALUE, max_size=3))


def _shaped(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with (some of) the model's own keys, holding arbitrary values."""
    return st.fixed_dictionaries({}, optional=dict.fromkeys(MODEL_KEYS[cls], MODEL_VALUES))


def _task_dict(request: StartSegmentRequest) -> dict[str, Any]:
    return {**request.to_dict(), "Status": 2, "StartTime": 1714550400000, "EndTime": 0}


def _model_payloads(cls: type) -> st.SearchStrategy[Any]:
    valid = (
        START.map(_task_dict)
        if cls is SegmentTask
        else VALID_MODELS[cls].map(lambda m: m.to_dict())
    )
    return st.one_of(
        JSON_VALUES,
        _shaped(cls),
        valid.flatmap(lambda doc: mutated(doc, MODEL_VALUES)),
    )


MODEL_CLASSES = list(MODEL_KEYS)


@fuzz(800)
@given(cls=st.sampled_from(MODEL_CLASSES), data=st.data())
def test_model_from_dict_gives_the_model_or_a_validation_error(
    cls: type, data: st.DataObject
) -> None:
    """Every model's from_dict on arbitrary JSON returns the model or raises ValidationError."""
    _count("rtc: models from_dict")
    payload = data.draw(_model_payloads(cls), label="payload")
    model = _attempt(lambda: cls.from_dict(payload), errors.ValidationError)  # type: ignore[attr-defined]
    _outcome("rtc: models from_dict", model)
    if isinstance(model, errors.ValidationError):
        assert str(model)
        return
    assert isinstance(model, cls)
    if cls is not SegmentTask:
        # Whatever from_dict accepts, to_dict writes back to the same model.
        assert cls.from_dict(model.to_dict()) == model  # type: ignore[attr-defined]


@fuzz(600)
@given(model=st.one_of(list(VALID_MODELS.values())))
def test_valid_models_round_trip(model: Any) -> None:
    """A valid model survives to_dict, JSON and from_dict unchanged."""
    _count("rtc: models round trip")
    cls = type(model)
    assert cls.from_dict(model.to_dict()) == model
    assert cls.from_dict(json.loads(json.dumps(model.to_dict()))) == model


OPTION_NAMES = [a.name for a in attrs.fields(RecognitionOptions)]
OPTION_VALUES = st.one_of(
    ANY_VALUE,
    st.sampled_from(
        [
            "wav",
            "raw",
            "opus",
            "bigmodel",
            16,
            16.0,
            1,
            1.0,
            2,
            300,
            5000,
            16000,
            '{"hotwords":[{"word":"x"}]}',
            "[]",
            b"bytes",
            object(),
        ]
    ),
    st.builds(SensitiveWordsFilter, filter_with_signed=st.lists(NONBLANK, max_size=2)),
    st.dictionaries(st.text(max_size=8) | st.integers(), ANY_VALUE, max_size=3),
)


_BOOL_OPTIONS = [n for n in OPTION_NAMES if n.startswith(("enable_", "show_", "vad_"))]
#: A valid value for every field (ssd_version also needs enable_speaker_info=True).
VALID_OPTION_VALUES: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(_BOOL_OPTIONS, st.booleans()),
    "format": st.sampled_from(["raw", "wav", "mp3", "ogg"]),
    "codec": st.sampled_from(["raw", "opus"]),
    "rate": st.integers(1, 10**6),
    "bits": st.just(16),
    "channel": st.sampled_from([1, 2]),
    "language": PLAIN_TEXT,
    "model_name": NONBLANK,
    "model_version": PLAIN_TEXT,
    "ssd_version": PLAIN_TEXT,
    "end_window_size": st.integers(300, 5000),
    "sensitive_words_filter": st.builds(SensitiveWordsFilter, system_reserved_filter=OPT_BOOL),
    "boosting_table_name": PLAIN_TEXT,
    "correct_table_name": PLAIN_TEXT,
    "context": st.lists(NONBLANK, min_size=1, max_size=3).map(hotwords_context),
    "extra": st.dictionaries(st.sampled_from(["x_custom", "beta"]), JSON_VALUES, max_size=2),
    "callback": st.sampled_from(["https://example.com/cb", "http://127.0.0.1:8080/done?x=1"]),
    "callback_data": PLAIN_TEXT,
}
assert set(VALID_OPTION_VALUES) == set(OPTION_NAMES)
VALID_OPTIONS = st.fixed_dictionaries({}, optional=VALID_OPTION_VALUES)


@fuzz(500)
@given(
    kwargs=st.one_of(
        st.fixed_dictionaries({}, optional=dict.fromkeys(OPTION_NAMES, OPTION_VALUES)),
        # Valid options with one or two fields set to arbitrary values.
        st.builds(
            lambda valid, odd: {**valid, **odd},
            VALID_OPTIONS,
            st.dictionaries(st.sampled_from(OPTION_NAMES), OPTION_VALUES, max_size=2),
        ),
    )
)
@example({"context": DEEP_JSON})
@example({"channel": 1.0})
def test_recognition_options_are_valid_or_a_validation_error(kwargs: dict[str, Any]) -> None:
    """RecognitionOptions with arbitrary field values is built (and serializes) or is refused."""
    _count("asr: RecognitionOptions")
    options = _attempt(lambda: RecognitionOptions(**kwargs), errors.ValidationError)
    _outcome("asr: RecognitionOptions", options)
    if isinstance(options, errors.ValidationError):
        assert options.field in (*OPTION_NAMES, None)
        return
    audio, request = options.to_audio_dict(), options.to_request_dict()
    json.dumps({"audio": audio, "request": request})
    for name in ("rate", "bits", "channel", "end_window_size"):
        value = getattr(options, name)
        assert value is None or type(value) is int, f"{name}={value!r} is not an int"


@fuzz(300)
@given(
    words=st.one_of(st.lists(ANY_VALUE, max_size=4), ANY_VALUE),
    flags=OPT_BOOL | ANY_VALUE,
)
def test_option_helpers_build_or_raise_validation_errors(words: Any, flags: Any) -> None:
    """hotwords_context, dialog_context and SensitiveWordsFilter take any input or refuse it."""
    _count("asr: option helpers")
    for build in (
        lambda: hotwords_context(words),
        lambda: dialog_context(words),
        lambda: SensitiveWordsFilter(system_reserved_filter=flags, filter_with_empty=words),
    ):
        built = _attempt(build, errors.ValidationError)
        assert built is not None


def test_regression_deeply_nested_context() -> None:
    """JSON options (context, filter, extra) nested too deeply are a ValidationError."""
    with pytest.raises(errors.ValidationError, match="context"):
        RecognitionOptions(context=DEEP_JSON)
    with pytest.raises(errors.ValidationError, match="sensitive_words_filter"):
        RecognitionOptions(sensitive_words_filter=DEEP_JSON)
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(errors.ValidationError, match="extra"):
        RecognitionOptions(extra={"custom": nested})


@pytest.mark.parametrize(("field", "value"), [("channel", 1.0), ("bits", 16.0), ("channel", 2.0)])
def test_regression_integral_floats_for_int_choices(field: str, value: float) -> None:
    """bits and channel refuse floats (16.0 would be sent as JSON 16.0)."""
    with pytest.raises(errors.ValidationError, match=field):
        RecognitionOptions(**cast(dict[str, Any], {field: value}))


def test_regression_wav_with_block_align_below_channels(emu: Emulator) -> None:
    """A WAV whose block align is smaller than its channel count is answered 45000151, not 500."""
    fmt = struct.pack("<HHIIHH", 1, 2, 16000, 16000, 1, 16)
    pcm = b"\x01\x02" * 100
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    wav = b"RIFF" + struct.pack("<I", len(body)) + body
    emu.reset()
    with emu.asr.client(max_retries=0) as client, pytest.raises(errors.AudioFormatError):
        client.recognize(wav)
    assert [r.status for r in emu.requests] == [400]


def test_regression_deeply_nested_asr_request_body(emu: Emulator) -> None:
    """A body or corpus context nested too deeply to parse is answered 45000001, not 500."""
    for body in (DEEP_JSON.encode(), DEEP_CONTEXT_BODY):
        answer = _assert_flash_answers(emu, body)
        assert answer.headers["X-Api-Status-Code"] == "45000001"


# =========================================================================================
# 5. Subtitles
# =========================================================================================

SUB_PIECES = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=12),
    st.sampled_from(
        [
            "-->",
            "--->",
            "-- >",
            "- >",
            "<",
            ">",
            "&",
            "&amp;",
            "<v Bob>",
            "<b>",
            "\n",
            "\n\n",
            "\r\n",
            " ",
            "\t",
            "\u3000",
            "\u2028",
            "\x85",
            "\x0b",
            "NOTE",
            "WEBVTT",
            "1",
            "42",
            "1:2:3",
            "00:00:01,000 --> 00:00:02,000",
            "00:00:01.000",
            "。",
            "\uff0c",
            "\uff01",
            "«",
        ]
    ),
    st.text(string.ascii_letters + string.digits, min_size=30, max_size=80),
)
SUB_TEXT = st.lists(SUB_PIECES, max_size=6).map("".join)
WORD_TEXT = st.lists(SUB_PIECES, max_size=2).map("".join)
SPEAKERS = st.none() | SUB_TEXT | st.sampled_from(["alice", "Maria", "mixed", "1"])
#: Millisecond times: small, typical and huge (beyond 100 hours).
TIMES = st.integers(0, 5000) | st.integers(0, 10**7) | st.integers(0, 10**13)
SIGNED_TIMES = TIMES | st.integers(-(10**6), 0)
LIMITS = st.fixed_dictionaries(
    {},
    optional={
        "max_line_chars": st.integers(1, 80),
        "max_lines": st.integers(1, 4),
        "max_cue_ms": st.integers(1, 20000),
    },
)


def _ms(delta: dt.timedelta) -> int:
    return delta // dt.timedelta(milliseconds=1)


def _vtt_ms(stamp: Any) -> int:
    seconds = (stamp.hours * 60 + stamp.minutes) * 60 + stamp.seconds
    return int(seconds * 1000 + stamp.milliseconds)


def assert_subtitles_parse(cues: Sequence[Cue], srt_text: str, vtt_text: str) -> None:
    """Both files parse back, one entry per cue, with the cues' times and non-empty texts."""
    for cue in cues:
        assert 0 <= cue.start_ms < cue.end_ms
        assert cue.text.strip(), cue
    parsed = list(srt.parse(srt_text))
    assert len(parsed) == len(cues)
    for index, (entry, cue) in enumerate(zip(parsed, cues), start=1):
        assert entry.index == index
        assert _ms(entry.start) == cue.start_ms
        assert _ms(entry.end) == cue.end_ms
        assert entry.end > entry.start
        assert entry.content.strip()
        assert "-->" not in entry.content
    captions = webvtt.from_buffer(io.StringIO(vtt_text)).captions
    assert len(captions) == len(cues)
    for caption, cue in zip(captions, cues):
        assert _vtt_ms(caption.start_time) == cue.start_ms
        assert _vtt_ms(caption.end_time) == cue.end_ms
        assert caption.text.strip()


@st.composite
def cues(draw: st.DrawFn) -> Cue:
    start = draw(TIMES)
    return Cue(start, start + draw(st.integers(1, 10**6)), draw(SUB_TEXT), draw(SPEAKERS))


WORD_TUPLES = st.lists(st.tuples(WORD_TEXT, SIGNED_TIMES, SIGNED_TIMES), max_size=10)


@fuzz(600)
@given(cue=cues(), words=WORD_TUPLES, limits=LIMITS, speakers=st.booleans())
@example(Cue(0, 1000, "a ---> b", None), [], {}, True)
def test_split_cue_output_always_parses(
    cue: Cue,
    words: list[tuple[str, int, int]],
    limits: dict[str, Any],
    speakers: bool,
) -> None:
    """split_cue on any text, words and limits gives cues whose SRT and WebVTT parse back."""
    _count("subtitles: split_cue")
    out = split_cue(cue, words, **limits)
    if not cue.text.strip() and not any(w[0].strip() for w in words):
        assert out == []
    assert_subtitles_parse(
        out, format_srt(out, speakers=speakers), format_vtt(out, speakers=speakers)
    )


@st.composite
def utterances(draw: st.DrawFn) -> Utterance:
    start, end = draw(SIGNED_TIMES), draw(SIGNED_TIMES)
    words = tuple(
        Word(text, a, b)
        for text, a, b in draw(st.lists(st.tuples(WORD_TEXT, TIMES, TIMES), max_size=6))
    )
    additions = draw(st.none() | st.builds(lambda s: {"speaker": s}, SPEAKERS | st.integers()))
    return Utterance(draw(SUB_TEXT), start, end, words, additions=additions)


@fuzz(400)
@given(
    items=st.lists(utterances(), max_size=4),
    limits=LIMITS,
    speakers=st.booleans(),
)
def test_cues_from_utterances_always_parse(
    items: list[Utterance], limits: dict[str, Any], speakers: bool
) -> None:
    """cues_from_utterances on random utterances gives subtitles that parse back."""
    _count("subtitles: cues_from_utterances")
    out = cues_from_utterances(items, speakers=speakers, **limits)
    loose = cues_from_utterances([], words=[w for u in items for w in u.words], **limits)
    for produced in (out, loose):
        assert_subtitles_parse(produced, format_srt(produced), format_vtt(produced))


@fuzz(300)
@given(
    items=st.lists(utterances(), max_size=4),
    text=SUB_TEXT,
    duration=st.none() | SIGNED_TIMES,
    limits=LIMITS,
    speakers=st.booleans(),
)
def test_transcript_subtitles_always_parse(
    items: list[Utterance],
    text: str,
    duration: int | None,
    limits: dict[str, Any],
    speakers: bool,
) -> None:
    """Transcript.to_srt() / to_vtt() of random transcripts parse back, one entry per cue."""
    _count("subtitles: Transcript")
    for transcript in (
        Transcript(text=text, utterances=tuple(items), duration_ms=duration),
        Transcript(text=text, duration_ms=duration),
    ):
        rules = {**limits, "speakers": speakers}
        assert_subtitles_parse(
            transcript.cues(**rules), transcript.to_srt(**rules), transcript.to_vtt(**rules)
        )


ROOM_WORDS = st.lists(
    st.builds(RoomWord, WORD_TEXT, SIGNED_TIMES, SIGNED_TIMES, st.none() | st.floats()), max_size=6
)
ROOM_UTTERANCES = st.lists(
    st.builds(
        RoomUtterance,
        user_id=SUB_TEXT | st.sampled_from(["alice", "mixed"]),
        start_time=SIGNED_TIMES,
        end_time=SIGNED_TIMES,
        text=SUB_TEXT,
        words=ROOM_WORDS.map(tuple),
    ),
    max_size=5,
)
GAPS = st.lists(
    st.builds(
        Gap,
        user_id=st.sampled_from(["alice", "mixed", "bob -->"]),
        start_time=SIGNED_TIMES,
        end_time=SIGNED_TIMES,
        sequence=st.none() | st.integers(0, 100),
        reason=PLAIN_TEXT,
        error_type=st.just("ServerError"),
    ),
    max_size=3,
)


@fuzz(250)
@given(
    users=ROOM_UTTERANCES,
    mixed=ROOM_UTTERANCES,
    gaps=GAPS,
    stream=st.sampled_from(["users", "mixed"]),
    speaker_labels=st.booleans(),
    mark_gaps=st.booleans(),
)
def test_room_transcript_subtitles_always_parse(
    users: list[RoomUtterance],
    mixed: list[RoomUtterance],
    gaps: list[Gap],
    stream: str,
    speaker_labels: bool,
    mark_gaps: bool,
) -> None:
    """RoomTranscript.to_srt() / to_vtt() of random rooms parse back, one entry per cue."""
    _count("subtitles: RoomTranscript")
    room = RoomTranscript(
        app_id="app",
        room_id="room",
        origin_ms=0,
        utterances=tuple(users),
        mixed=tuple(mixed),
        gaps=tuple(gaps),
    )
    options: dict[str, Any] = {
        "stream": stream,
        "speaker_labels": speaker_labels,
        "mark_gaps": mark_gaps,
    }
    expected = room._cues(stream, speaker_labels, mark_gaps)
    assert_subtitles_parse(expected, room.to_srt(**options), room.to_vtt(**options))


@fuzz(300)
@given(start=st.integers() | ANY_VALUE, end=st.integers() | ANY_VALUE, text=SUB_TEXT)
def test_cue_construction_is_valid_or_a_validation_error(start: Any, end: Any, text: str) -> None:
    """Cue() with arbitrary times is a valid cue (end after start) or a ValidationError."""
    _count("subtitles: Cue")
    try:
        cue = Cue(start, end, text)
    except errors.ValidationError:
        return
    assert isinstance(cue.start_ms, int)
    assert isinstance(cue.end_ms, int)
    assert 0 <= cue.start_ms < cue.end_ms


def test_regression_arrow_left_in_srt_text() -> None:
    """Neither a text with '--->' nor a speaker named 'bob -->' leaves a '-->' in SRT cue text."""
    out = format_srt([Cue(0, 1000, "a ---> b ----> c"), Cue(1000, 2000, "x", "bob -->")])
    assert out.count("-->") == 2  # the two timing lines
    assert [p.content for p in srt.parse(out)] == ["a -> b -> c", "bob ->: x"]


def test_regression_number_line_before_a_time_like_line() -> None:
    """A number-only line followed by a time-like line stays in its SRT cue, not a new one."""
    cues = [Cue(0, 1000, "a\n42\n1:2:3 go\n7\n8.9.10"), Cue(1000, 2000, "b")]
    parsed = list(srt.parse(format_srt(cues)))
    assert [p.content for p in parsed] == ["a\n42 1:2:3 go\n7 8.9.10", "b"]
    wrapped = split_cue(Cue(0, 1000, "0" * 31 + ":0:0"), max_line_chars=5, max_lines=10)
    assert wrapped[0].text.splitlines()[-2:] == ["00000", "0:0:0"]
    assert len(list(srt.parse(format_srt(wrapped)))) == len(wrapped) == 1


def test_regression_room_subtitles_before_the_origin() -> None:
    """Room utterances and gaps before the origin give cues at 0, not a ValidationError."""
    room = RoomTranscript(
        app_id="app",
        room_id="room",
        origin_ms=1000,
        utterances=(RoomUtterance("alice", -500, -100, "early words"),),
        gaps=(Gap("alice", -300, 200, 0, "failed", "ServerError"),),
    )
    cues = room._cues("users", True, True)
    assert [(c.start_ms, c.end_ms) for c in cues] == [(0, 1), (0, 200)]
    assert_subtitles_parse(cues, room.to_srt(), room.to_vtt())
