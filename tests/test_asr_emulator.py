"""The emulated flash ASR route: checks, codes, ground truth, slices, URLs, faults."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import uuid
import wave
from pathlib import Path
from typing import Any

import pytest
import requests

from volcspeech.asr import RecognitionOptions
from volcspeech.testing import Emulator
from volcspeech.testing import _asr_body as body_parser
from volcspeech.testing import _asr_service as service
from volcspeech.testing._sample import load_sample_room

AUDIO = Path(__file__).parent / "fixtures" / "audio"
HELLO = (AUDIO / "hello.wav").read_bytes()


def wav(pcm: bytes, rate: int = 16000, channels: int = 1) -> bytes:
    """A 16-bit WAV around ``pcm``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def noise(ms: int, seed: int = 0, rate: int = 16000) -> bytes:
    """Deterministic non-silent PCM."""
    return hashlib.shake_256(f"n{seed}".encode()).digest(ms * rate // 1000 * 2)


def headers(emu: Emulator, **changes: str | None) -> dict[str, str]:
    """Valid old-console headers with changes (None removes one)."""
    base = {
        "X-Api-App-Key": emu.credentials.app_key,
        "X-Api-Access-Key": emu.credentials.access_key,
        "X-Api-Resource-Id": "volc.bigasr.auc_turbo",
        "X-Api-Request-Id": str(uuid.uuid4()),
        "X-Api-Sequence": "-1",
        "Content-Type": "application/json",
    }
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            base.pop(key)
        else:
            base[key] = value
    return base


def body(audio: bytes | None = HELLO, **request: Any) -> dict[str, Any]:
    """A request body with inline audio."""
    out: dict[str, Any] = {"user": {"uid": "u"}, "audio": {}, "request": {"model_name": "bigmodel"}}
    if audio is not None:
        out["audio"]["data"] = base64.b64encode(audio).decode()
    out["request"].update(request)
    return out


def post(emu: Emulator, payload: Any, **changes: str | None) -> requests.Response:
    """POST to the emulated flash route."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return requests.post(emu.asr.endpoint, data=data, headers=headers(emu, **changes), timeout=10)


def status(response: requests.Response) -> tuple[int, int]:
    """(HTTP status, X-Api-Status-Code)."""
    return response.status_code, int(response.headers["X-Api-Status-Code"])


# --- headers -------------------------------------------------------------------------


def test_a_valid_request_succeeds(volcspeech_emulator: Emulator) -> None:
    """A request as the doc describes gets 20000000 with message, log id and JSON."""
    response = post(volcspeech_emulator, body())
    assert status(response) == (200, 20000000)
    assert response.headers["X-Api-Message"] == "OK"
    assert len(response.headers["X-Tt-Logid"]) == 34
    assert response.json()["audio_info"] == {"duration": 1000}
    assert volcspeech_emulator.asr.calls[-1].log_id == response.headers["X-Tt-Logid"]


def test_log_ids_are_unique(volcspeech_emulator: Emulator) -> None:
    """Each answer has its own log id."""
    ids = {post(volcspeech_emulator, body()).headers["X-Tt-Logid"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("changes", "http", "message"),
    [
        ({"X_Api_App_Key": None, "X_Api_Access_Key": None}, 401, "missing"),
        ({"X_Api_Access_Key": None}, 401, "missing"),
        ({"X_Api_Access_Key": "wrong"}, 401, "invalid X-Api-App-Key"),
        ({"X_Api_App_Key": "other-app"}, 401, "invalid X-Api-App-Key"),
        ({"X_Api_Key": "wrong"}, 401, "invalid X-Api-Key"),
        ({"X_Api_Resource_Id": "volc.bigasr.auc"}, 403, "not granted"),
        ({"X_Api_Resource_Id": None}, 403, "not granted"),
    ],
)
def test_credentials_and_resource_are_checked(
    volcspeech_emulator: Emulator, changes: dict[str, str | None], http: int, message: str
) -> None:
    """Missing or wrong credentials / resource id: HTTP 401/403 with the undocumented 45000010."""
    response = post(volcspeech_emulator, body(), **changes)
    assert status(response) == (http, 45000010)
    assert message in response.headers["X-Api-Message"]


def test_new_console_api_key_is_accepted(volcspeech_emulator: Emulator) -> None:
    """X-Api-Key alone authenticates."""
    emu = volcspeech_emulator
    response = post(
        emu, body(), X_Api_App_Key=None, X_Api_Access_Key=None, X_Api_Key=emu.credentials.api_key
    )
    assert status(response) == (200, 20000000)


@pytest.mark.parametrize(
    "changes",
    [{"X_Api_Request_Id": None}, {"X_Api_Sequence": None}, {"X_Api_Sequence": "1"}],
)
def test_request_id_and_sequence_are_required(
    volcspeech_emulator: Emulator, changes: dict[str, str | None]
) -> None:
    """X-Api-Request-Id must be present and X-Api-Sequence must be -1."""
    assert status(post(volcspeech_emulator, body(), **changes)) == (400, 45000001)


def test_only_post_on_the_flash_path_is_claimed(volcspeech_emulator: Emulator) -> None:
    """Other methods on the path are not the ASR route."""
    response = requests.get(volcspeech_emulator.asr.endpoint, timeout=5)
    assert response.status_code == 404


# --- body ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"", "not valid JSON"),
        (b'{"audio": {"data": "AAAA"}, "request": {"model_name": "bigmodel"', "not valid JSON"),
        ({"request": {"model_name": "bigmodel"}, "audio": []}, "missing audio"),
        ({"audio": {"data": "AAAA"}}, "missing request.model_name"),
        ({"audio": {"data": "AAAA"}, "request": {}}, "missing request.model_name"),
        ({"audio": {}, "request": {"model_name": "bigmodel"}}, "exactly one"),
        (
            {"audio": {"url": "https://x/a.wav", "data": "AAAA"}, "request": {"model_name": "x"}},
            "exactly one",
        ),
        ({**body(), "user": "me"}, "user must be an object"),
        ({**body(), "user": {"uid": 5}}, "user must be an object"),
    ],
)
def test_bad_bodies_are_45000001(volcspeech_emulator: Emulator, payload: Any, message: str) -> None:
    """Unreadable or incomplete bodies are invalid requests."""
    response = post(volcspeech_emulator, payload)
    assert status(response) == (400, 45000001)
    assert message in response.headers["X-Api-Message"]


@pytest.mark.parametrize(
    ("where", "field", "value"),
    [
        ("audio", "format", "flac"),
        ("audio", "codec", "aac"),
        ("audio", "bits", 8),
        ("audio", "channel", 3),
        ("audio", "channel", True),
        ("audio", "rate", "16000"),
        ("audio", "rate", 0),
        ("audio", "language", 1),
        ("request", "model_name", "smallmodel"),
        ("request", "enable_itn", "yes"),
        ("request", "end_window_size", 100),
        ("request", "end_window_size", True),
        ("request", "model_version", 400),
        ("request", "sensitive_words_filter", "{"),
        ("request", "sensitive_words_filter", {"a": 1}),
        ("request", "corpus", "x"),
        ("corpus", "context", "plain text"),
        ("corpus", "boosting_table_name", 1),
    ],
)
def test_invalid_field_values_are_45000001(
    volcspeech_emulator: Emulator, where: str, field: str, value: Any
) -> None:
    """A documented field with a wrong type or value is an invalid request naming it."""
    payload = body()
    if where == "corpus":
        payload["request"]["corpus"] = {field: value}
    else:
        payload[where][field] = value
    response = post(volcspeech_emulator, payload)
    assert status(response) == (400, 45000001)
    assert field in response.headers["X-Api-Message"]


def test_unknown_request_fields_are_ignored(volcspeech_emulator: Emulator) -> None:
    """Fields the emulator does not know pass (like RecognitionOptions.extra)."""
    assert status(post(volcspeech_emulator, body(future_switch=True))) == (200, 20000000)


@pytest.mark.parametrize("data", ["AAA", "A===", "AA@A", "é"])
def test_bad_base64_is_45000001(volcspeech_emulator: Emulator, data: str) -> None:
    """audio.data that is not base64 is an invalid request."""
    payload = body(None)
    payload["audio"]["data"] = data
    response = post(volcspeech_emulator, payload)
    assert status(response) == (400, 45000001)
    assert "base64" in response.headers["X-Api-Message"]


def test_empty_audio_is_45000002(volcspeech_emulator: Emulator) -> None:
    """An empty audio.data is the documented empty-audio error."""
    assert status(post(volcspeech_emulator, body(b""))) == (400, 45000002)


@pytest.mark.parametrize(
    ("audio", "fields"),
    [
        ((AUDIO / "hello.flac").read_bytes(), {}),
        (b"just some bytes that are not audio", {}),
        (HELLO, {"format": "mp3"}),
        ((AUDIO / "hello.mp3").read_bytes(), {"format": "wav"}),
        ((AUDIO / "hello.ogg").read_bytes(), {"codec": "raw"}),
        (HELLO, {"codec": "opus"}),
        ((AUDIO / "hello.ogg").read_bytes().replace(b"OpusHead", b"\x01vorbis\x00"), {}),
        (b"ID3" + bytes(200), {}),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", {}),
    ],
)
def test_bad_formats_are_45000151(
    volcspeech_emulator: Emulator, audio: bytes, fields: dict[str, Any]
) -> None:
    """Not WAV/MP3/Ogg Opus, or a format/codec contradicting the data: 45000151."""
    payload = body(audio)
    payload["audio"].update(fields)
    response = post(volcspeech_emulator, payload)
    assert status(response) == (400, 45000151)
    assert "audio format error" in response.headers["X-Api-Message"]


def test_raw_pcm_is_accepted_with_declared_parameters(volcspeech_emulator: Emulator) -> None:
    """format=raw takes the data as PCM at the declared rate/bits/channel."""
    payload = body(noise(1000))
    payload["audio"].update({"format": "raw", "rate": 8000})
    response = post(volcspeech_emulator, payload)
    assert status(response) == (200, 20000000)
    assert response.json()["audio_info"]["duration"] == 2000


def test_audio_over_two_hours_is_refused(volcspeech_emulator: Emulator) -> None:
    """More than 2 h of audio is refused (code: the emulator's choice, 45000001)."""
    payload = body(noise(10, seed=3) * 1441)  # 14410 frames
    payload["audio"].update({"format": "raw", "rate": 2})
    response = post(volcspeech_emulator, payload)
    assert status(response) == (400, 45000001)
    assert "2 h" in response.headers["X-Api-Message"]


def test_audio_over_the_size_limit_is_refused(
    volcspeech_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoded audio beyond the limit is refused while the body is still read to its end."""
    monkeypatch.setattr(body_parser, "MAX_AUDIO_BYTES", 100_000)
    response = post(volcspeech_emulator, body(wav(noise(5000))))
    assert status(response) == (400, 45000001)
    assert "larger than 100 MB" in response.headers["X-Api-Message"]


def test_silent_wav_is_20000003(volcspeech_emulator: Emulator) -> None:
    """An all-zero WAV answers 20000003 with its duration and no text."""
    response = post(volcspeech_emulator, body((AUDIO / "silence.wav").read_bytes()))
    assert status(response) == (200, 20000003)
    assert response.json() == {
        "audio_info": {"duration": 1000},
        "result": {"additions": {"duration": "1000"}, "text": ""},
    }


# --- streamed parsing ----------------------------------------------------------------


def test_long_audio_string_is_streamed(volcspeech_emulator: Emulator) -> None:
    """A multi-megabyte audio.data is decoded as a stream (and matched by content)."""
    audio = wav(noise(200_000, seed=4))  # 6.4 MB of audio, 8.5 MB of base64
    volcspeech_emulator.asr.register(audio, text="long one")
    response = post(volcspeech_emulator, body(audio))
    assert status(response) == (200, 20000000)
    assert response.json()["result"]["text"] == "long one"
    assert volcspeech_emulator.asr.calls[-1].audio_size == len(audio)


def test_escaped_slashes_in_long_base64_are_accepted(volcspeech_emulator: Emulator) -> None:
    """JSON encoders that write '/' as '\\/' are understood, in short and long strings."""
    for ms in (100, 20_000):
        audio = wav(noise(ms, seed=5))
        volcspeech_emulator.asr.register(audio, text=f"slashes {ms}")
        text = json.dumps(body(audio)).replace("/", "\\/")
        assert "\\/" in text
        response = post(volcspeech_emulator, text.encode())
        assert status(response) == (200, 20000000)
        assert response.json()["result"]["text"] == f"slashes {ms}"


def test_other_escapes_in_long_base64_are_invalid(volcspeech_emulator: Emulator) -> None:
    """Escapes other than '\\/' inside a long audio.data are not base64."""
    encoded = base64.b64encode(wav(noise(20_000, seed=6))).decode()
    for broken in (encoded[:1000] + "\\n" + encoded[1000:], encoded + "\\n"):
        text = json.dumps(body(None) | {"audio": {"data": "X"}}).replace('"X"', f'"{broken}"')
        response = post(volcspeech_emulator, text.encode())
        assert status(response) == (400, 45000001)


def _pad_to_boundary(text: bytes, index: int) -> bytes:
    """Pad JSON with leading spaces so ``text[index]`` ends the first read."""
    return b"{" + b" " * (body_parser._READ_SIZE - 1 - index) + text[1:]


def test_escape_split_across_reads(volcspeech_emulator: Emulator) -> None:
    """A backslash ending one read, its escaped character starting the next, still parse."""
    emu = volcspeech_emulator
    short = body()
    short["user"]["uid"] = 'say "hi"'
    text = json.dumps(short).encode()
    assert status(post(emu, _pad_to_boundary(text, text.index(b"\\")))) == (200, 20000000)

    audio = wav(noise(20_000, seed=16))
    emu.asr.register(audio, text="split")
    text = json.dumps(body(audio)).replace("/", "\\/").encode()
    backslash = text.index(b"\\", text.index(b'"data"') + 70_000)
    response = post(emu, _pad_to_boundary(text, backslash))
    assert status(response) == (200, 20000000)
    assert response.json()["result"]["text"] == "split"


def test_long_string_elsewhere_is_refused(volcspeech_emulator: Emulator) -> None:
    """Only audio.data may be long; two long strings are refused too."""
    long_uid = body()
    long_uid["user"]["uid"] = "u" * 100_000
    response = post(volcspeech_emulator, long_uid)
    assert status(response) == (400, 45000001)
    assert "too long" in response.headers["X-Api-Message"]
    twice = body(wav(noise(20_000, seed=7)))
    twice["user"]["uid"] = "u" * 100_000
    response = post(volcspeech_emulator, twice)
    assert status(response) == (400, 45000001)
    assert "more than one long field" in response.headers["X-Api-Message"]


def test_huge_skeleton_is_refused(
    volcspeech_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body whose non-audio part is huge is refused."""
    monkeypatch.setattr(body_parser, "_SKELETON_LIMIT", 1000)
    payload = body()
    payload["request"]["numbers"] = list(range(1000))
    response = post(volcspeech_emulator, payload)
    assert status(response) == (400, 45000001)


def test_invalid_base64_in_long_string(volcspeech_emulator: Emulator) -> None:
    """Non-alphabet characters in a streamed audio.data are detected."""
    encoded = base64.b64encode(wav(noise(20_000, seed=8))).decode()
    payload = body(None)
    payload["audio"]["data"] = encoded[:50_000] + "!!!!" + encoded[50_004:]
    assert status(post(volcspeech_emulator, payload)) == (400, 45000001)
    payload["audio"]["data"] = encoded + "===="
    assert status(post(volcspeech_emulator, payload)) == (400, 45000001)


# --- ground truth --------------------------------------------------------------------

HELLO_TRUTH = [
    {
        "text": "hello world",
        "start_time": 139,
        "end_time": 861,
        "words": [
            {"text": "hello", "start_time": 139, "end_time": 480},
            {"text": "world", "start_time": 520, "end_time": 861, "confidence": 0.5},
        ],
        "additions": {"speaker": "2", "emotion": "calm"},
        "definite": True,
    }
]


def test_unregistered_audio_answers_its_speech_regions(volcspeech_emulator: Emulator) -> None:
    """Audio nobody registered succeeds with empty text, a note, and its speech regions."""
    result = post(volcspeech_emulator, body()).json()["result"]
    assert result == {
        "additions": {"duration": "1000", "emulator": "unregistered audio", "emulated": True},
        "text": "",
        "utterances": [
            {
                "end_time": 860,
                "start_time": 140,
                "text": "[speech 0.14\u20130.86 s]",
                "words": [],
                "additions": {"emulated": True},
            }
        ],
    }
    (call,) = volcspeech_emulator.asr.calls
    assert call.emulated
    assert call.speech_regions == ((140, 860),)


def test_speech_regions_of_unregistered_audio_follow_the_speech(
    volcspeech_emulator: Emulator,
) -> None:
    """Each region of the sample room's tracks lies within 20 ms of an utterance's span."""
    room = load_sample_room()
    with volcspeech_emulator.asr.client() as client:
        for track in room.tracks.values():
            transcript = client.recognize(track.wav)
            assert transcript.text == ""
            assert transcript.additions["emulated"] is True
            spans = [(u.start_time, u.end_time) for u in track.utterances]
            regions = [(u.start_time, u.end_time) for u in transcript.utterances]
            assert len(regions) == len(spans)
            for (start, end), (truth_start, truth_end) in zip(regions, spans):
                assert abs(start - truth_start) <= 20
                assert abs(end - truth_end) <= 20
            assert all(not u.words for u in transcript.utterances)


def test_registered_answers_carry_no_emulated_flag(volcspeech_emulator: Emulator) -> None:
    """Ground truth is answered as registered: no derived regions, no emulated flag."""
    volcspeech_emulator.asr.register(HELLO, utterances=HELLO_TRUTH)
    result = post(volcspeech_emulator, body()).json()["result"]
    assert "emulated" not in result["additions"]
    assert [u["text"] for u in result["utterances"]] == ["hello world"]
    call = volcspeech_emulator.asr.calls[-1]
    assert call.speech_regions is None
    assert not call.emulated


@pytest.mark.parametrize("name", ["hello.mp3", "hello.ogg"])
def test_compressed_unregistered_audio_has_its_duration_only(
    volcspeech_emulator: Emulator, name: str
) -> None:
    """MP3 and Ogg Opus are not decoded: the answer has the duration, no regions, the flag."""
    with volcspeech_emulator.asr.client() as client:
        transcript = client.recognize(AUDIO / name)
    assert transcript.duration_ms is not None
    assert transcript.duration_ms > 900
    assert (transcript.text, transcript.utterances) == ("", ())
    assert transcript.additions["emulated"] is True
    call = volcspeech_emulator.asr.calls[-1]
    assert call.emulated
    assert call.speech_regions is None


def test_speech_regions_of_other_sample_widths() -> None:
    """8-, 24- and 32-bit PCM and stereo give the same regions as 16-bit mono."""
    from volcspeech.testing._audio import speech_regions

    pcm = bytes(8000 * 2) + noise(600, seed=3) + bytes(8000 * 2)  # 0.5 s, 0.6 s, 0.5 s
    assert speech_regions(pcm, 16000, 1, 2) == [(500, 1100)]
    samples = [pcm[i : i + 2] for i in range(0, len(pcm), 2)]
    wide24 = b"".join(b"\x00" + s for s in samples)
    wide32 = b"".join(b"\x00\x00" + s for s in samples)
    eight = bytes((s[1] + 128) & 0xFF for s in samples)
    stereo = b"".join(s + s for s in samples)
    assert speech_regions(wide24, 16000, 1, 3) == [(500, 1100)]
    assert speech_regions(wide32, 16000, 1, 4) == [(500, 1100)]
    assert speech_regions(eight, 16000, 1, 1) == [(500, 1100)]
    assert speech_regions(stereo, 16000, 2, 2) == [(500, 1100)]
    assert speech_regions(b"", 16000, 1, 2) == []
    assert speech_regions(b"\x01", 16000, 1, 2) == []  # not even one whole sample
    assert speech_regions(bytes(32000), 16000, 1, 2) == []


def test_registered_audio_answers_its_ground_truth(volcspeech_emulator: Emulator) -> None:
    """A registered file gets its utterances in the documented shape."""
    reg = volcspeech_emulator.asr.register(AUDIO / "hello.wav", utterances=HELLO_TRUTH)
    assert reg.text == "hello world"
    assert reg.duration_ms == 1000
    result = post(volcspeech_emulator, body()).json()["result"]
    assert result["text"] == "hello world"
    assert result["utterances"] == [
        {
            "end_time": 861,
            "start_time": 139,
            "text": "hello world",
            "words": [
                {"confidence": 0, "text": "hello", "start_time": 139, "end_time": 480},
                {"text": "world", "start_time": 520, "end_time": 861, "confidence": 0.5},
            ],
            "additions": {"emotion": "calm"},
            "definite": True,
        }
    ]


def test_speaker_only_with_enable_speaker_info(volcspeech_emulator: Emulator) -> None:
    """additions.speaker is answered only when speaker separation is on."""
    volcspeech_emulator.asr.register(HELLO, utterances=HELLO_TRUTH)
    with volcspeech_emulator.asr.client() as client:
        plain = client.recognize(HELLO)
        separated = client.recognize(HELLO, options=RecognitionOptions(enable_speaker_info=True))
    assert plain.utterances[0].speaker is None
    assert separated.utterances[0].speaker == "2"
    assert separated.utterances[0].additions == {"speaker": "2", "emotion": "calm"}


def test_show_utterances_false_omits_them(volcspeech_emulator: Emulator) -> None:
    """show_utterances=false answers the text only."""
    volcspeech_emulator.asr.register(HELLO, utterances=HELLO_TRUTH)
    result = post(volcspeech_emulator, body(show_utterances=False)).json()["result"]
    assert "utterances" not in result
    assert result["text"] == "hello world"


def test_text_registration_and_reregistration(volcspeech_emulator: Emulator) -> None:
    """text= overrides the joined text; registering again replaces; unregister forgets."""
    emu = volcspeech_emulator
    first = emu.asr.register(HELLO, utterances=HELLO_TRUTH, text="Hello, world!")
    assert post(emu, body()).json()["result"]["text"] == "Hello, world!"
    second = emu.asr.register(HELLO, text="")
    result = post(emu, body()).json()["result"]
    assert result == {"additions": {"duration": "1000"}, "text": "", "utterances": []}
    emu.asr.unregister(first)  # stale: no effect
    assert "emulator" not in post(emu, body()).json()["result"]["additions"]
    emu.asr.unregister(second)
    assert post(emu, body()).json()["result"]["additions"]["emulator"] == "unregistered audio"


@pytest.mark.parametrize("name", ["hello.mp3", "hello.ogg"])
def test_mp3_and_ogg_registrations(volcspeech_emulator: Emulator, name: str) -> None:
    """Compressed files are matched by content; their duration comes from mutagen."""
    data = (AUDIO / name).read_bytes()
    volcspeech_emulator.asr.register(data, text=name)
    with volcspeech_emulator.asr.client() as client:
        transcript = client.recognize(data)
    assert transcript.text == name
    assert transcript.duration_ms == {"hello.mp3": 1080, "hello.ogg": 1000}[name]


@pytest.mark.parametrize(
    ("audio", "utterances"),
    [
        (AUDIO / "hello.flac", None),
        (HELLO, [{"text": 1, "start_time": 0, "end_time": 1, "words": []}]),
        (HELLO, [{"text": "a", "start_time": "0", "end_time": 1}]),
        (HELLO, [{"text": "a", "start_time": 0, "end_time": 1, "words": [{"text": None}]}]),
        (HELLO, [{"text": "a", "start_time": 0, "end_time": 1, "additions": []}]),
    ],
)
def test_bad_registrations_raise_value_error(
    volcspeech_emulator: Emulator, audio: Any, utterances: Any
) -> None:
    """Unsupported audio or malformed utterances are refused at registration."""
    with pytest.raises(ValueError):
        volcspeech_emulator.asr.register(audio, utterances=utterances)
    with pytest.raises(ValueError):
        volcspeech_emulator.asr.register(HELLO, text=5)  # type: ignore[arg-type]


# --- slices --------------------------------------------------------------------------


def _slice(pcm: bytes, start_ms: int, end_ms: int, rate: int = 16000) -> bytes:
    return wav(pcm[start_ms * rate // 1000 * 2 : end_ms * rate // 1000 * 2], rate)


def test_slices_of_the_sample_room_share_out_every_word(volcspeech_emulator: Emulator) -> None:
    """Cut into abutting slices, a recording's words each land in exactly one slice."""
    room = load_sample_room()
    track = room.tracks["alice"]
    volcspeech_emulator.asr.register(track.wav, utterances=track.utterances)
    bounds = [*range(0, room.duration_ms, 7000), room.duration_ms]
    seen: list[tuple[str, int, int]] = []
    with volcspeech_emulator.asr.client() as client:
        for start, end in zip(bounds, bounds[1:]):
            transcript = client.recognize(_slice(track.pcm, start, end))
            assert transcript.duration_ms == end - start
            for utterance in transcript.utterances:
                assert utterance.text == " ".join(w.text for w in utterance.words)
                assert utterance.start_time == utterance.words[0].start_time
                assert utterance.end_time == utterance.words[-1].end_time
                for word in utterance.words:
                    assert 0 <= word.start_time <= word.end_time <= end - start
                    seen.append((word.text, start, end))
    expected = [w.text for w in room.words("alice")]
    assert [text for text, _, _ in seen] == expected


def test_straddling_word_goes_to_the_slice_with_most_of_it(
    volcspeech_emulator: Emulator,
) -> None:
    """A word crossing a slice boundary belongs where more than half of it lies."""
    room = load_sample_room()
    track = room.tracks["alice"]
    volcspeech_emulator.asr.register(track.wav, utterances=track.utterances)
    word = next(w for w in room.words("alice") if w.start_time < 20000 < w.end_time)
    before, after = 20000 - word.start_time, word.end_time - 20000
    with volcspeech_emulator.asr.client() as client:
        first = client.recognize(_slice(track.pcm, 10000, 20000))
        second = client.recognize(_slice(track.pcm, 20000, 30000))
    holder, other = (first, second) if before > after else (second, first)
    assert word.text in [w.text for w in holder.words]
    assert word.text not in [w.text for w in other.words]
    relative = next(w for w in second.words if w.text == word.text) if holder is second else None
    if relative is not None:
        assert relative.start_time == 0  # clamped to the slice start


def test_exact_half_goes_to_the_earlier_slice(volcspeech_emulator: Emulator) -> None:
    """A word split exactly in half by a boundary belongs to the earlier slice only."""
    pcm = noise(2000, seed=9)
    utterances = [
        {
            "text": "one two three",
            "start_time": 100,
            "end_time": 1900,
            "words": [
                {"text": "one", "start_time": 100, "end_time": 500},
                {"text": "two", "start_time": 900, "end_time": 1100},
                {"text": "three", "start_time": 1500, "end_time": 1900},
            ],
        }
    ]
    volcspeech_emulator.asr.register(wav(pcm), utterances=utterances)
    with volcspeech_emulator.asr.client() as client:
        first = client.recognize(_slice(pcm, 0, 1000))
        second = client.recognize(_slice(pcm, 1000, 2000))
    assert [w.text for w in first.words] == ["one", "two"]
    assert first.text == "one two"
    assert (first.words[1].start_time, first.words[1].end_time) == (900, 1000)
    assert [w.text for w in second.words] == ["three"]
    assert (second.utterances[0].start_time, second.utterances[0].end_time) == (500, 900)


def test_utterances_without_words_are_sliced_as_a_whole(volcspeech_emulator: Emulator) -> None:
    """An utterance registered without words goes to the slice holding most of it."""
    pcm = noise(2000, seed=10)
    volcspeech_emulator.asr.register(
        wav(pcm), utterances=[{"text": "blob", "start_time": 200, "end_time": 900}]
    )
    with volcspeech_emulator.asr.client() as client:
        assert client.recognize(_slice(pcm, 0, 1000)).text == "blob"
        assert client.recognize(_slice(pcm, 1000, 2000)).text == ""


def test_non_matching_slices_are_unregistered(volcspeech_emulator: Emulator) -> None:
    """Different audio, rate, or a slice longer than the recording are not matched."""
    pcm = noise(1000, seed=11)
    volcspeech_emulator.asr.register(wav(pcm), text="x")
    with volcspeech_emulator.asr.client() as client:
        for audio in (
            wav(noise(500, seed=12)),
            wav(pcm[:8000], rate=8000),
            wav(pcm + pcm),
            wav(bytes(3000) + pcm[3000:7000]),
        ):
            transcript = client.recognize(audio)
            assert transcript.additions.get("emulator") == "unregistered audio"


def test_slice_found_despite_an_early_false_match(volcspeech_emulator: Emulator) -> None:
    """The probe may match elsewhere first; only a verified, frame-aligned match counts."""
    unit = noise(600, seed=13)
    pcm = unit + noise(200, seed=14) + unit + noise(200, seed=15)
    utterances = [
        {"text": "late", "start_time": 850, "end_time": 1350, "words": []},
    ]
    volcspeech_emulator.asr.register(wav(pcm), utterances=utterances)
    piece = pcm[800 * 32 : 1600 * 32]  # the second copy of unit and what follows it
    with volcspeech_emulator.asr.client() as client:
        assert client.recognize(wav(piece)).text == "late"


# --- URLs ----------------------------------------------------------------------------


def test_registered_urls(volcspeech_emulator: Emulator) -> None:
    """A URL serves registered audio or a registered transcript."""
    emu = volcspeech_emulator
    emu.asr.register(HELLO, utterances=HELLO_TRUTH)
    emu.asr.register_url("https://cdn.example.com/a.wav", HELLO)
    emu.asr.register_url("https://cdn.example.com/b.wav", utterances=HELLO_TRUTH, text="B")
    emu.asr.register_url("https://cdn.example.com/c.wav", HELLO, text="C")
    with emu.asr.client() as client:
        assert client.recognize("https://cdn.example.com/a.wav").text == "hello world"
        only_text = client.recognize("https://cdn.example.com/b.wav")
        assert (only_text.text, only_text.duration_ms) == ("B", 861)
        assert client.recognize("https://cdn.example.com/c.wav").text == "C"
    assert emu.asr.calls[-1].url == "https://cdn.example.com/c.wav"
    with pytest.raises(ValueError, match="needs audio"):
        emu.asr.register_url("https://x/y.wav")
    with pytest.raises(ValueError, match="cannot register"):
        emu.asr.register_url("https://x/y.wav", b"not audio")


def test_url_registration_can_be_removed(volcspeech_emulator: Emulator) -> None:
    """unregister forgets a URL; clear forgets everything."""
    emu = volcspeech_emulator
    reg = emu.asr.register_url("https://x/a.wav", text="a")
    emu.asr.unregister(reg)
    assert (
        status(
            post(emu, {"audio": {"url": "https://x/a.wav"}, "request": {"model_name": "bigmodel"}})
        )[1]
        == 45000001
    )
    emu.asr.register(HELLO, text="h")
    emu.asr.clear()
    assert emu.asr.calls == []
    assert post(emu, body()).json()["result"]["additions"]["emulator"] == "unregistered audio"


def test_storage_urls_are_fetched_in_process(volcspeech_emulator: Emulator) -> None:
    """A URL of the emulator's own storage route is read from its object store."""
    emu = volcspeech_emulator
    emu.asr.register(HELLO, text="from storage")
    emu.storage.put("segments", "room/alice 1.wav", HELLO)
    url = emu.storage.url("segments", "room/alice 1.wav")
    with emu.asr.client() as client:
        assert client.recognize(url).text == "from storage"
        localhost = url.replace("127.0.0.1", "localhost")
        assert client.recognize(localhost).text == "from storage"


@pytest.mark.parametrize(
    "url",
    [
        "https://nowhere.example.com/a.wav",
        "ftp://example.com/a.wav",
        "{base}/storage/segments/missing.wav",
        "{base}/storage/segments",
        "{base}/elsewhere/a.wav",
    ],
)
def test_unreachable_urls_are_45000001(volcspeech_emulator: Emulator, url: str) -> None:
    """Unknown, non-http and missing storage URLs are invalid requests."""
    payload = {
        "audio": {"url": url.format(base=volcspeech_emulator.url)},
        "request": {"model_name": "bigmodel"},
    }
    response = post(volcspeech_emulator, payload)
    assert status(response) == (400, 45000001)


def test_storage_without_get_is_unreachable(
    volcspeech_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the storage service offers no get(), storage URLs are unreachable, not a crash."""
    monkeypatch.setattr(volcspeech_emulator, "storage", object())
    url = f"{volcspeech_emulator.url}/storage/b/k.wav"
    response = post(
        volcspeech_emulator, {"audio": {"url": url}, "request": {"model_name": "bigmodel"}}
    )
    assert status(response) == (400, 45000001)

    class Failing:
        def get(self, bucket: str, key: str) -> bytes:
            raise KeyError(key)

    monkeypatch.setattr(volcspeech_emulator, "storage", Failing())
    response = post(
        volcspeech_emulator, {"audio": {"url": url}, "request": {"model_name": "bigmodel"}}
    )
    assert status(response) == (400, 45000001)


# --- faults and latency --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "http", "code"),
    [
        ({"code": 55000031}, 503, 55000031),
        ({"code": 55000456}, 500, 55000456),
        ({"code": 45000002}, 400, 45000002),
        ({"code": 20000003}, 200, 20000003),
        ({"code": 12345}, 500, 12345),
        ({"code": 55000031, "http_status": 200}, 200, 55000031),
        ({}, 500, 55000000),
    ],
)
def test_faults_render_as_asr_errors(
    volcspeech_emulator: Emulator, fault: dict[str, Any], http: int, code: int
) -> None:
    """Injected faults carry the ASR status headers and a log id."""
    volcspeech_emulator.inject(service="asr", message="injected", **fault)
    response = post(volcspeech_emulator, body())
    assert status(response) == (http, code)
    assert response.headers["X-Api-Message"] == "injected"
    assert response.headers["X-Tt-Logid"]


def test_gateway_fault_has_no_status_header(volcspeech_emulator: Emulator) -> None:
    """A fault with an HTTP status and no code looks like a gateway error."""
    volcspeech_emulator.inject(service="asr", http_status=502, retry_after=2)
    response = post(volcspeech_emulator, body())
    assert response.status_code == 502
    assert "X-Api-Status-Code" not in response.headers
    assert response.headers["Retry-After"] == "2"


def test_utf8_fault_messages(volcspeech_emulator: Emulator) -> None:
    """Non-ASCII fault messages reach the client intact."""
    volcspeech_emulator.inject(service="asr", code=45000001, message="请求参数无效")
    with volcspeech_emulator.asr.client() as client, pytest.raises(Exception) as info:
        client.recognize(HELLO)
    assert getattr(info.value, "message", None) == "请求参数无效"


def test_latency_is_added_to_every_answer(volcspeech_emulator: Emulator) -> None:
    """emulator.asr.latency delays answers, errors and faults included."""
    volcspeech_emulator.asr.latency = 0.3
    started = time.monotonic()
    post(volcspeech_emulator, body())
    post(volcspeech_emulator, body(b""))
    volcspeech_emulator.inject(service="asr", code=55000031)
    post(volcspeech_emulator, body())
    volcspeech_emulator.inject(service="asr", http_status=502)
    post(volcspeech_emulator, body())
    assert time.monotonic() - started >= 1.2


def test_client_helper_and_endpoint(volcspeech_emulator: Emulator) -> None:
    """emulator.asr.client() targets this emulator with its test credentials."""
    with volcspeech_emulator.asr.client(max_retries=0) as client:
        assert client.endpoint == volcspeech_emulator.url + service.FLASH_PATH
        assert client.recognize(HELLO).silent is False
