"""Reading answers: the documented sample, status codes, malformed answers, transcripts."""

from __future__ import annotations

import http.server
import json
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from volcspeech import errors
from volcspeech.asr import AsrClient, Transcript, Utterance, Word

AUDIO = Path(__file__).parent / "fixtures" / "audio"

#: The response body of the vendor's flash API page, verbatim.
SEED_SAMPLE = """
{
  "audio_info": {
    "duration": 2499
  },
  "result": {
    "additions": {
      "duration": "2499"
    },
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
          {"confidence": 0, "end_time": 1530, "start_time": 1490, "text": "传"}
        ]
      }
    ]
  }
}
"""
SEED_LOG_ID = "202506191943547B30C313640AF5B35A86"


class CannedServer:
    """A 127.0.0.1 HTTP server answering each POST with the next canned answer."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.bodies: list[bytes] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                outer.bodies.append(self.rfile.read(length))
                status, headers, body = outer.answers.pop(0)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/flash"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()

    def answer(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        """Queue one answer."""
        self.answers.append((status, headers, body))

    def close(self) -> None:
        """Stop the server."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canned() -> Iterator[CannedServer]:
    """A canned-answer server."""
    server = CannedServer()
    yield server
    server.close()


@pytest.fixture
def client(canned: CannedServer) -> Iterator[AsrClient]:
    """A client of the canned server without retries."""
    with AsrClient("app", "secret-token", endpoint=canned.url, max_retries=0) as c:
        yield c


def ok_headers(code: str = "20000000", **more: str) -> dict[str, str]:
    """Status headers of an answer."""
    return {"X-Api-Status-Code": code, "X-Api-Message": "OK", "X-Tt-Logid": SEED_LOG_ID, **more}


def test_seed_sample_is_parsed_exactly(canned: CannedServer, client: AsrClient) -> None:
    """The vendor's documented answer becomes exactly this Transcript."""
    canned.answer(200, ok_headers(), SEED_SAMPLE.encode("utf-8"))
    transcript = client.recognize(AUDIO / "hello.wav", request_id="req-1")
    words = (
        Word("关", 450, 770, confidence=0.0),
        Word("闭", 770, 970, confidence=0.0),
        Word("透", 1130, 1210, confidence=0.0),
        Word("传", 1490, 1530, confidence=0.0),
    )
    assert transcript == Transcript(
        text="关闭透传。",
        utterances=(Utterance("关闭透传。", 450, 1530, words=words),),
        duration_ms=2499,
        log_id=SEED_LOG_ID,
        request_id="req-1",
        silent=False,
        additions={"duration": "2499"},
        raw=json.loads(SEED_SAMPLE),
    )
    assert transcript.words == words
    assert transcript.utterances[0].speaker is None
    assert transcript.utterances[0].duration_ms == 1080
    assert transcript.to_srt() == "1\n00:00:00,450 --> 00:00:01,530\n关闭透传。\n"


def test_from_dict_reads_stored_results() -> None:
    """Transcript.from_dict reads a stored raw body; the raw dict round-trips."""
    raw = json.loads(SEED_SAMPLE)
    transcript = Transcript.from_dict(raw, log_id="L")
    assert Transcript.from_dict(transcript.raw, log_id="L") == transcript
    assert json.loads(json.dumps(transcript.raw)) == raw
    assert pickle.loads(pickle.dumps(transcript)) == transcript


def test_optional_fields_are_read() -> None:
    """definite, additions, blank_duration and string durations are read."""
    raw = {
        "result": {
            "additions": {"duration": "1200"},
            "text": "a b",
            "utterances": [
                {
                    "text": "a b",
                    "start_time": 0,
                    "end_time": 1000.0,
                    "definite": True,
                    "additions": {"speaker": 2, "channel_id": 1},
                    "words": [
                        {"text": "a", "start_time": 0, "end_time": 400, "blank_duration": 0},
                        {"text": "b", "start_time": "500", "end_time": 1000, "confidence": 0.9},
                    ],
                }
            ],
        }
    }
    transcript = Transcript.from_dict(raw)
    utterance = transcript.utterances[0]
    assert transcript.duration_ms == 1200
    assert utterance.definite is True
    assert utterance.end_time == 1000
    assert utterance.speaker == "2"
    assert utterance.channel_id == 1
    assert utterance.words[0].blank_duration == 0
    assert utterance.words[1].start_time == 500
    assert utterance.words[1].confidence == 0.9
    assert hash(utterance) == hash(Transcript.from_dict(raw).utterances[0])


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ([], "not a JSON object"),
        ({"audio_info": {}}, "no 'result'"),
        ({"result": []}, "body.result is not a Mapping"),
        ({"result": {"text": 5}}, "result.text is not a str"),
        ({"result": {"utterances": {}}}, "result.utterances is not a list"),
        ({"result": {"utterances": [1]}}, r"result.utterances\[0\] is not an object"),
        (
            {"result": {"utterances": [{"start_time": "soon"}]}},
            r"utterances\[0\].start_time is not an integer",
        ),
        (
            {"result": {"utterances": [{"words": [{"end_time": True}]}]}},
            r"words\[0\].end_time is not an integer",
        ),
        (
            {"result": {"utterances": [{"words": [{"confidence": "high"}]}]}},
            "confidence is not a number",
        ),
        ({"result": {}, "audio_info": {"duration": 1.5}}, "duration is not an integer"),
    ],
)
def test_malformed_results_are_protocol_errors(raw: Any, needle: str) -> None:
    """A body of the wrong shape raises ProtocolError naming the field and the log id."""
    with pytest.raises(errors.ProtocolError, match=needle) as info:
        Transcript.from_dict(raw, log_id="LOG")
    assert info.value.log_id == "LOG"


@pytest.mark.parametrize(
    ("code", "status", "cls", "retryable"),
    [
        (45000001, 400, errors.InvalidRequestError, False),
        (45000002, 400, errors.EmptyAudioError, False),
        (45000151, 400, errors.AudioFormatError, False),
        (55000031, 503, errors.ServerBusyError, True),
        (55000000, 500, errors.ServerError, True),
        (55012345, 500, errors.ServerError, True),
        (45009999, 400, errors.InvalidRequestError, False),
        (45000010, 401, errors.AuthenticationError, False),
        (45000030, 403, errors.AuthenticationError, False),
        (20000001, 200, errors.APIError, False),
        (12345678, 200, errors.APIError, False),
    ],
)
def test_status_codes_map_to_typed_errors(
    canned: CannedServer,
    client: AsrClient,
    code: int,
    status: int,
    cls: type[errors.APIError],
    retryable: bool,
) -> None:
    """Each documented (and unknown) code becomes its typed APIError with every id."""
    canned.answer(status, {**ok_headers(str(code)), "X-Api-Message": "nope"}, b'{"x": 1}')
    with pytest.raises(errors.APIError) as info:
        client.recognize(AUDIO / "hello.wav", request_id="rid-7")
    error = info.value
    assert type(error) is cls
    assert (error.code, error.message, error.http_status) == (code, "nope", status)
    assert (error.request_id, error.log_id) == ("rid-7", SEED_LOG_ID)
    assert error.retryable is retryable
    assert error.body == {"x": 1}
    assert f"log_id={SEED_LOG_ID}" in str(error)


def test_silent_audio_is_an_empty_transcript(canned: CannedServer, client: AsrClient) -> None:
    """20000003 is a normal answer: an empty transcript marked silent, with its duration."""
    body = {"audio_info": {"duration": 1000}, "result": {"text": "ignored", "utterances": [{}]}}
    canned.answer(200, ok_headers("20000003"), json.dumps(body).encode())
    transcript = client.recognize(AUDIO / "hello.wav")
    assert transcript.silent is True
    assert (transcript.text, transcript.utterances, transcript.duration_ms) == ("", (), 1000)
    assert transcript.log_id == SEED_LOG_ID
    assert transcript.to_srt() == ""


@pytest.mark.parametrize("body", [b"", b"not json", b"  "])
def test_silent_answer_without_json_body(
    canned: CannedServer, client: AsrClient, body: bytes
) -> None:
    """A silent answer needs no body."""
    canned.answer(200, ok_headers("20000003"), body)
    transcript = client.recognize(AUDIO / "hello.wav")
    assert transcript.silent
    assert transcript.text == ""
    assert transcript.raw == {}


@pytest.mark.parametrize(
    ("status", "headers", "body", "needle"),
    [
        (200, {"X-Tt-Logid": "L1"}, b"{}", "no X-Api-Status-Code"),
        (200, {"X-Api-Status-Code": "OK", "X-Tt-Logid": "L1"}, b"{}", "unreadable"),
        (200, {"X-Api-Status-Code": "20000000", "X-Tt-Logid": "L1"}, b"<html>", "not JSON"),
        (200, {"X-Api-Status-Code": "20000000", "X-Tt-Logid": "L1"}, b"", "empty body"),
        (200, {"X-Api-Status-Code": "20000000", "X-Tt-Logid": "L1"}, b"[]", "not a JSON"),
    ],
)
def test_malformed_answers_are_protocol_errors(
    canned: CannedServer,
    client: AsrClient,
    status: int,
    headers: dict[str, str],
    body: bytes,
    needle: str,
) -> None:
    """Missing or unreadable status headers and bodies raise ProtocolError with the log id."""
    canned.answer(status, headers, body)
    with pytest.raises(errors.ProtocolError, match=needle) as info:
        client.recognize(AUDIO / "hello.wav")
    assert info.value.log_id == "L1"
    assert info.value.retryable is False


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, errors.AuthenticationError),
        (403, errors.AuthenticationError),
        (429, errors.RateLimitError),
        (502, errors.ServerError),
        (404, errors.InvalidRequestError),
    ],
)
def test_http_errors_without_status_header(
    canned: CannedServer, client: AsrClient, status: int, cls: type[errors.APIError]
) -> None:
    """A gateway answer without X-Api-Status-Code maps by HTTP status; code is the status."""
    canned.answer(status, {}, b"<html>bad gateway</html>")
    with pytest.raises(errors.APIError) as info:
        client.recognize(AUDIO / "hello.wav")
    assert type(info.value) is cls
    assert info.value.code == status
    assert "without X-Api-Status-Code" in info.value.message
    assert info.value.body is None


def test_gateway_errors_are_retried(canned: CannedServer) -> None:
    """A 502 without a status code is retried like any 5xx."""
    canned.answer(502, {}, b"")
    canned.answer(200, ok_headers(), SEED_SAMPLE.encode())
    with AsrClient("app", "tok", endpoint=canned.url, max_retries=1) as client:
        assert client.recognize(AUDIO / "hello.wav").text == "关闭透传。"
    assert len(canned.bodies) == 2
    assert canned.bodies[0] == canned.bodies[1]


def test_utf8_messages_are_decoded(canned: CannedServer, client: AsrClient) -> None:
    """An X-Api-Message in UTF-8 (sent as raw bytes) is read back as text."""
    message = "请求参数无效"
    raw = message.encode("utf-8").decode("latin-1")
    canned.answer(400, {"X-Api-Status-Code": "45000001", "X-Api-Message": raw}, b"")
    with pytest.raises(errors.InvalidRequestError) as info:
        client.recognize(AUDIO / "hello.wav")
    assert info.value.message == message


def test_latin1_messages_stay_readable(canned: CannedServer, client: AsrClient) -> None:
    """A message that is not UTF-8 is kept as received."""
    canned.answer(400, {"X-Api-Status-Code": "45000001", "X-Api-Message": "caf\xe9"}, b"")
    with pytest.raises(errors.InvalidRequestError) as info:
        client.recognize(AUDIO / "hello.wav")
    assert info.value.message == "caf\xe9"


def test_errors_without_message_say_what_happened(canned: CannedServer, client: AsrClient) -> None:
    """An error code without X-Api-Message gets a message naming the code."""
    canned.answer(200, {"X-Api-Status-Code": "20000009"}, b"")
    with pytest.raises(errors.APIError, match="unexpected status code 20000009"):
        client.recognize(AUDIO / "hello.wav")


def test_transcript_text_only_subtitles() -> None:
    """A transcript with text but no utterances spreads its cues over the duration."""
    transcript = Transcript(text="hello there", duration_ms=2000)
    assert transcript.cues()[0].start_ms == 0
    assert transcript.cues()[0].end_ms == 2000
    assert Transcript(text="hello").cues() == []
    assert transcript.to_vtt().startswith("WEBVTT")
