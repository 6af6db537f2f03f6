"""Results as data: to_dict/from_dict through JSON, short reprs, notebook HTML, errors."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volcspeech import errors
from volcspeech.asr import BatchResult, Transcript, Utterance, Word
from volcspeech.testing import Emulator, sample_audio

# --- strategies: results whose extras are JSON values ---------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=5,
)
JSON_OBJECTS = st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=3)
TIMES = st.integers(-(10**12), 10**12)
FLOATS = st.none() | st.floats(allow_nan=False, allow_infinity=False)

WORDS = st.builds(
    Word,
    text=st.text(max_size=12),
    start_time=TIMES,
    end_time=TIMES,
    confidence=FLOATS,
    blank_duration=st.none() | TIMES,
    additions=JSON_OBJECTS,
)
UTTERANCES = st.builds(
    Utterance,
    text=st.text(max_size=40),
    start_time=TIMES,
    end_time=TIMES,
    words=st.lists(WORDS, max_size=3).map(tuple),
    definite=st.none() | st.booleans(),
    confidence=FLOATS,
    additions=JSON_OBJECTS,
)
TRANSCRIPTS = st.builds(
    Transcript,
    text=st.text(max_size=60),
    utterances=st.lists(UTTERANCES, max_size=3).map(tuple),
    duration_ms=st.none() | TIMES,
    log_id=st.none() | st.text(max_size=34),
    request_id=st.none() | st.text(max_size=36),
    silent=st.booleans(),
    additions=JSON_OBJECTS,
    raw=JSON_OBJECTS,
)


def through_json(data: dict[str, Any]) -> Any:
    """What a dict becomes after a trip through a JSON file."""
    return json.loads(json.dumps(data))


@settings(max_examples=60, deadline=None)
@given(TRANSCRIPTS)
def test_transcript_round_trips_through_json(transcript: Transcript) -> None:
    """Transcript.from_dict(json.loads(json.dumps(t.to_dict()))) equals t."""
    assert Transcript.from_dict(through_json(transcript.to_dict())) == transcript


@settings(max_examples=50, deadline=None)
@given(UTTERANCES, WORDS)
def test_utterance_and_word_round_trip_through_json(utterance: Utterance, word: Word) -> None:
    """Utterance and Word read back their own to_dict after a trip through JSON."""
    assert Utterance.from_dict(through_json(utterance.to_dict())) == utterance
    assert Word.from_dict(through_json(word.to_dict())) == word


def test_to_dict_uses_the_service_shape_for_utterances() -> None:
    """Utterances and words come out in the service's JSON shape, unset fields left out."""
    word = Word("hello", 139, 480)
    utterance = Utterance("hello", 139, 480, words=(word,), additions={"speaker": "1"})
    assert utterance.to_dict() == {
        "text": "hello",
        "start_time": 139,
        "end_time": 480,
        "words": [{"text": "hello", "start_time": 139, "end_time": 480}],
        "additions": {"speaker": "1"},
    }
    assert Transcript(text="hello", utterances=(utterance,)).to_dict()["raw"] == {}


def test_from_dict_still_reads_a_service_body() -> None:
    """A body with ``result`` is read as the service's answer, not as to_dict's form."""
    body = {"result": {"text": "hi", "utterances": []}, "audio_info": {"duration": 5}}
    transcript = Transcript.from_dict(body, log_id="L")
    assert (transcript.text, transcript.duration_ms, transcript.log_id) == ("hi", 5, "L")
    assert transcript.raw == body


def test_from_dict_keyword_ids_replace_the_stored_ones() -> None:
    """Ids passed to from_dict win over the ones in a to_dict."""
    stored = Transcript(text="x", log_id="old", request_id="old-req").to_dict()
    again = Transcript.from_dict(stored, log_id="new", request_id="new-req")
    assert (again.log_id, again.request_id, again.text) == ("new", "new-req", "x")


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"utterances": "nope"}, "transcript.utterances"),
        ({"utterances": [], "duration_ms": "long"}, "transcript.duration_ms"),
        ({"utterances": [{"text": 5}]}, "transcript.utterances[0].text"),
        ({"utterances": [], "raw": []}, "transcript.raw"),
    ],
)
def test_malformed_stored_transcripts_are_protocol_errors(data: Any, needle: str) -> None:
    """A bad field in a stored to_dict raises ProtocolError naming it."""
    with pytest.raises(errors.ProtocolError, match=needle.replace("[", r"\[")):
        Transcript.from_dict(data)


@pytest.mark.parametrize("cls", [Word, Utterance])
def test_word_and_utterance_from_dict_refuse_bad_input(cls: Any) -> None:
    """Word/Utterance.from_dict raise ProtocolError for a non-object or a bad field."""
    with pytest.raises(errors.ProtocolError, match="not a JSON object"):
        cls.from_dict(["text"])
    with pytest.raises(errors.ProtocolError, match="start_time"):
        cls.from_dict({"text": "a", "start_time": "soon"})


# --- repr and notebook HTML ----------------------------------------------------------------


def long_transcript(n: int = 500) -> Transcript:
    """A transcript of n one-word utterances by two speakers."""
    utterances = tuple(
        Utterance(
            f"word{i}",
            i * 1000,
            i * 1000 + 900,
            words=(Word(f"word{i}", i * 1000, i * 1000 + 900),),
            additions={"speaker": str(i % 2)},
        )
        for i in range(n)
    )
    return Transcript(
        text=" ".join(u.text for u in utterances),
        utterances=utterances,
        duration_ms=n * 1000,
        log_id="LOG1",
        request_id="REQ1",
        raw={"result": {"text": "x" * 10_000}},
    )


def test_repr_is_short_with_counts_and_ids() -> None:
    """repr shows a text preview, the counts and the ids, not every word or the raw body."""
    text = repr(long_transcript())
    assert len(text) < 250
    for part in ("utterances=500", "words=500", "duration_ms=500000", "LOG1", "REQ1", "..."):
        assert part in text
    assert "xxxxxxxxxx" not in text
    assert repr(Word("a", 1, 2)) == "Word(text='a', start_time=1, end_time=2)"
    assert repr(long_transcript(1).utterances[0]) == (
        "Utterance(text='word0', start_time=0, end_time=900, words=1, speaker='0')"
    )


def test_html_is_a_compact_escaped_table() -> None:
    """_repr_html_ is a table of times, speakers and escaped text, capped in length."""
    risky = Utterance(
        "<script>alert(1)</script> & co", 61_500, 62_000, additions={"speaker": "<b>"}
    )
    page = Transcript(text=risky.text, utterances=(risky,), log_id="<id>")._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "&lt;b&gt;" in page
    assert "&lt;id&gt;" in page
    assert "1:01.500" in page
    assert ">speaker</th>" in page
    big = long_transcript(500)._repr_html_()
    assert big.count("<tr>") == 201  # the header and 200 utterances
    assert "300 more utterances" in big


def test_html_without_utterances_or_speakers() -> None:
    """A text-only transcript shows its text; no speaker column when nobody is named."""
    page = Transcript(text="just <text>", silent=False)._repr_html_()
    assert "just &lt;text&gt;" in page
    assert "<table" not in page
    plain = Transcript(utterances=(Utterance("a", 0, 1),))._repr_html_()
    assert "speaker" not in plain
    assert "silent" in Transcript(silent=True)._repr_html_()


# --- errors and batch results --------------------------------------------------------------


def test_api_error_to_dict_has_the_ids_and_no_body() -> None:
    """APIError.to_dict has code, message, http_status, ids and retryable, and never the body."""
    error = errors.ServerBusyError(
        "busy",
        code=55000031,
        http_status=503,
        request_id="r",
        log_id="l",
        retry_after=2.0,
        body={"echo": "sk-very-secret-value"},
    )
    data = through_json(error.to_dict())
    assert data == {
        "type": "ServerBusyError",
        "code": 55000031,
        "message": "busy",
        "http_status": 503,
        "request_id": "r",
        "log_id": "l",
        "retry_after": 2.0,
        "retryable": True,
    }
    bare = errors.ProtocolError("bad").to_dict()
    assert (bare["code"], bare["log_id"], bare["retryable"]) == (None, None, False)


def test_other_errors_to_dict() -> None:
    """Validation and transport errors give their type, message and fields."""
    assert errors.ValidationError("bad", field="x").to_dict() == {
        "type": "ValidationError",
        "message": "bad",
        "retryable": False,
        "field": "x",
    }
    assert errors.TransportError("reset", request_id="r").to_dict() == {
        "type": "TransportError",
        "message": "reset",
        "retryable": True,
        "request_id": "r",
    }


def test_batch_results_round_trip_through_json() -> None:
    """BatchResult.from_dict(to_dict()) gives back the transcript, and the error as its class."""
    with Emulator() as emu, emu.asr.client(max_retries=0) as asr:
        emu.asr.register(sample_audio("hello.wav"), text="hello world")
        emu.inject(service="asr", code=55000031, message="busy", times=1)
        items = ["missing.wav", sample_audio("hello.wav"), sample_audio("hello.wav")]
        results = list(asr.recognize_many(items, max_workers=1))
    assert [type(r.error).__name__ for r in results] == [
        "InvalidAudioError",
        "ServerBusyError",
        "NoneType",
    ]
    for result in results:
        again = BatchResult.from_dict(through_json(result.to_dict()))
        assert again.index == result.index
        assert again.input == str(result.input)
        assert again.transcript == result.transcript
        if result.error is None:
            assert again.error is None
        else:
            assert type(again.error) is type(result.error)
            assert again.error.to_dict() == result.error.to_dict()
            pickle.dumps(again.error)


def test_batch_result_with_bytes_input_and_foreign_error() -> None:
    """Bytes inputs are not kept; a non-volcspeech error comes back as VolcSpeechError."""
    result = BatchResult(index=3, input=b"RIFF", error=OSError("disk on fire"))
    data = through_json(result.to_dict())
    assert data["input"] is None
    again = BatchResult.from_dict(data)
    assert type(again.error) is errors.VolcSpeechError
    assert str(again.error) == "OSError: disk on fire"


@pytest.mark.parametrize(
    ("data", "needle"),
    [([], "not a JSON object"), ({}, "index"), ({"index": 0, "error": "boom"}, "error")],
)
def test_malformed_batch_results_are_protocol_errors(data: Any, needle: str) -> None:
    """BatchResult.from_dict raises ProtocolError naming what is wrong."""
    with pytest.raises(errors.ProtocolError, match=needle):
        BatchResult.from_dict(data)


ERROR_CLASSES = sorted(
    name
    for name in errors.__all__
    if isinstance(getattr(errors, name), type)
    and issubclass(getattr(errors, name), errors.VolcSpeechError)
)


@pytest.mark.parametrize("name", ERROR_CLASSES)
def test_every_error_class_round_trips_in_a_batch_result(name: str) -> None:
    """Each volcspeech error class comes back from a BatchResult dict as itself, same fields."""
    error = getattr(errors, name)("went wrong")
    again = BatchResult.from_dict(through_json(BatchResult(0, "a.wav", error=error).to_dict()))
    assert type(again.error) is type(error)
    assert again.error.to_dict() == error.to_dict()
    assert again.error.to_dict()["message"] == "went wrong"
