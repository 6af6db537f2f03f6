"""AsrClient against the emulator: inputs, headers, body, retries, warnings, threads, secrets."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import pickle
import re
import threading
import warnings
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from volcspeech import errors
from volcspeech.asr import AsrClient, LargeInlineAudioWarning, RecognitionOptions
from volcspeech.testing import Emulator

AUDIO = Path(__file__).parent / "fixtures" / "audio"
HELLO = (AUDIO / "hello.wav").read_bytes()
HELLO_SHA = hashlib.sha256(HELLO).hexdigest()
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
HELLO_TRUTH = [
    {
        "text": "hello world",
        "start_time": 139,
        "end_time": 861,
        "words": [
            {"text": "hello", "start_time": 139, "end_time": 480},
            {"text": "world", "start_time": 520, "end_time": 861},
        ],
        "additions": {"speaker": "1"},
    }
]


def noise_wav(seconds: float, seed: int = 0, rate: int = 16000) -> bytes:
    """A mono 16-bit WAV of deterministic noise (distinct per seed)."""
    frames = int(seconds * rate)
    pcm = hashlib.shake_256(f"noise-{seed}".encode()).digest(frames * 2)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


@pytest.fixture
def emu(volcspeech_emulator: Emulator) -> Emulator:
    """The emulator with hello.wav registered."""
    volcspeech_emulator.asr.register(HELLO, utterances=HELLO_TRUTH)
    return volcspeech_emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[AsrClient]:
    """An old-console client of the emulator."""
    with emu.asr.client() as c:
        yield c


def asr_requests(emu: Emulator) -> list[Any]:
    """Recorded ASR requests."""
    return emu.requests_for("asr")


# --- inputs ------------------------------------------------------------------------


def _pipe(data: bytes) -> Any:
    read_fd, write_fd = os.pipe()

    def write() -> None:
        with os.fdopen(write_fd, "wb") as w:
            w.write(data)

    threading.Thread(target=write, daemon=True).start()
    return os.fdopen(read_fd, "rb")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: str(AUDIO / "hello.wav"), id="str-path"),
        pytest.param(lambda: AUDIO / "hello.wav", id="pathlike"),
        pytest.param(lambda: HELLO, id="bytes"),
        pytest.param(lambda: bytearray(HELLO), id="bytearray"),
        pytest.param(lambda: memoryview(HELLO), id="memoryview"),
        pytest.param(lambda: io.BytesIO(HELLO), id="seekable-file"),
        pytest.param(lambda: open(AUDIO / "hello.wav", "rb"), id="open-file"),  # noqa: SIM115
        pytest.param(lambda: _pipe(HELLO), id="non-seekable-stream"),
    ],
)
def test_every_inline_input_kind(emu: Emulator, client: AsrClient, make: Any) -> None:
    """Every inline input kind sends the same audio and gets the registered transcript."""
    audio = make()
    try:
        transcript = client.recognize(audio)
    finally:
        if hasattr(audio, "close"):
            audio.close()
    assert transcript.text == "hello world"
    assert [w.text for w in transcript.words] == ["hello", "world"]
    assert transcript.duration_ms == 1000
    assert emu.asr.calls[-1].audio_sha256 == HELLO_SHA
    assert emu.asr.calls[-1].audio == {"format": "wav"}


def test_url_input_is_sent_as_audio_url(emu: Emulator, client: AsrClient) -> None:
    """An http(s) URL is sent as audio.url (no data) and answered by the emulator."""
    url = "https://example.com/meeting.wav"
    emu.asr.register_url(url, HELLO)
    transcript = client.recognize(url, options=RecognitionOptions(language="en-US"))
    assert transcript.text == "hello world"
    body = json.loads(asr_requests(emu)[-1].body)
    assert body["audio"] == {"language": "en-US", "url": url}


def test_unknown_url_is_an_invalid_request(client: AsrClient) -> None:
    """A URL the service cannot fetch comes back as InvalidRequestError (45000001)."""
    with pytest.raises(errors.InvalidRequestError, match="not reachable") as info:
        client.recognize("https://example.com/missing.wav")
    assert info.value.code == 45000001


def test_bad_input_raises_before_any_traffic(emu: Emulator, client: AsrClient) -> None:
    """Invalid audio is refused locally: the service sees nothing."""
    for audio in (b"", "missing.wav", "ftp://example.com/a.wav", AUDIO / "hello.flac"):
        with pytest.raises(errors.InvalidAudioError):
            client.recognize(audio)
    assert asr_requests(emu) == []


def test_silent_audio(client: AsrClient) -> None:
    """All-silent audio is a normal, empty, silent transcript."""
    transcript = client.recognize(AUDIO / "silence.wav")
    assert transcript.silent is True
    assert transcript.text == ""
    assert transcript.duration_ms == 1000
    assert transcript.log_id


# --- headers and body --------------------------------------------------------------


def test_old_console_headers_are_exact(emu: Emulator, client: AsrClient) -> None:
    """The documented headers are sent exactly, with Content-Length and not chunked."""
    client.recognize(HELLO)
    headers = asr_requests(emu)[-1].headers
    creds = emu.credentials
    assert headers["x-api-app-key"] == creds.app_key
    assert headers["x-api-access-key"] == creds.access_key
    assert "x-api-key" not in headers
    assert headers["x-api-resource-id"] == "volc.bigasr.auc_turbo"
    assert UUID4.match(headers["x-api-request-id"])
    assert headers["x-api-sequence"] == "-1"
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == asr_requests(emu)[-1].body_size
    assert "transfer-encoding" not in headers
    assert headers["user-agent"].startswith("volcspeech/")


def test_new_console_api_key_header(emu: Emulator) -> None:
    """With an API key only X-Api-Key authenticates; uid falls back to 'volcspeech'."""
    with emu.asr.client(api_key=emu.credentials.api_key) as client:
        assert client.recognize(HELLO).text == "hello world"
    recorded = asr_requests(emu)[-1]
    assert recorded.headers["x-api-key"] == emu.credentials.api_key
    assert "x-api-app-key" not in recorded.headers
    assert "x-api-access-key" not in recorded.headers
    assert json.loads(recorded.body)["user"] == {"uid": "volcspeech"}


def test_credentials_from_environment(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without arguments the client reads VOLCSPEECH_API_KEY."""
    monkeypatch.setenv("VOLCSPEECH_API_KEY", emu.credentials.api_key)
    with AsrClient(endpoint=emu.asr.endpoint) as client:
        assert client.recognize(HELLO).text == "hello world"


def test_wrong_credentials_are_authentication_errors(emu: Emulator) -> None:
    """Refused credentials raise AuthenticationError, never retried."""
    client = emu.asr.client(app_key="someone", access_key="wrong")
    with client, pytest.raises(errors.AuthenticationError) as info:
        client.recognize(HELLO)
    assert info.value.http_status == 401
    assert len(asr_requests(emu)) == 1


def test_request_body_shape(emu: Emulator) -> None:
    """The body is {user, audio, request} with the options where the API expects them."""
    options = RecognitionOptions(enable_itn=True, language="en-US", extra={"later": 1})
    with emu.asr.client(uid="user-42") as client:
        client.recognize(HELLO, options=options, request_id="my-request-1")
    recorded = asr_requests(emu)[-1]
    body = json.loads(recorded.body)
    assert list(body) == ["user", "audio", "request"]
    assert body["user"] == {"uid": "user-42"}
    assert base64.b64decode(body["audio"].pop("data")) == HELLO
    assert body["audio"] == {"language": "en-US", "format": "wav"}
    assert body["request"] == {"model_name": "bigmodel", "enable_itn": True, "later": 1}
    assert recorded.headers["x-api-request-id"] == "my-request-1"
    assert emu.asr.calls[-1].request_id == "my-request-1"


def test_default_uid_is_the_app_key(emu: Emulator, client: AsrClient) -> None:
    """With the old-console pair, user.uid is the APP ID."""
    client.recognize(HELLO)
    assert json.loads(asr_requests(emu)[-1].body)["user"] == {"uid": emu.credentials.app_key}


def test_each_call_gets_a_fresh_request_id(emu: Emulator, client: AsrClient) -> None:
    """Request ids differ between calls and are echoed on the transcript."""
    first, second = client.recognize(HELLO), client.recognize(HELLO)
    assert first.request_id != second.request_id
    ids = [r.headers["x-api-request-id"] for r in asr_requests(emu)]
    assert ids == [first.request_id, second.request_id]


@pytest.mark.parametrize("request_id", ["", "has space", "line\nbreak", "x" * 300, 5, "é"])
def test_bad_request_ids_are_refused(client: AsrClient, request_id: Any) -> None:
    """Request ids must be header-safe tokens."""
    with pytest.raises(errors.ValidationError, match="request_id"):
        client.recognize(HELLO, request_id=request_id)


def test_options_must_be_recognition_options(client: AsrClient) -> None:
    """A dict is not accepted as options."""
    with pytest.raises(errors.ValidationError, match="RecognitionOptions"):
        client.recognize(HELLO, options={"enable_itn": True})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"endpoint": "ftp://example.com/flash"}, "http:// or https://"),
        ({"endpoint": "example.com/flash"}, "http:// or https://"),
        ({"endpoint": "https://"}, "http:// or https://"),
        ({"endpoint": 5}, "string URL"),
        ({"resource_id": ""}, "resource_id"),
        ({"resource_id": "a b"}, "resource_id"),
        ({"uid": ""}, "uid"),
        ({"timeout": -1}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_bad_configuration(kwargs: dict[str, Any], needle: str) -> None:
    """Bad endpoints and settings raise ConfigurationError at construction."""
    with pytest.raises(errors.ConfigurationError, match=needle):
        AsrClient("app", "token", **kwargs)


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials anywhere is a ConfigurationError naming the variables."""
    with pytest.raises(errors.ConfigurationError, match="VOLCSPEECH_API_KEY"):
        AsrClient()


def test_custom_resource_id_is_sent(emu: Emulator) -> None:
    """resource_id becomes X-Api-Resource-Id (the emulator refuses others with 403)."""
    client = emu.asr.client(resource_id="volc.bigasr.auc")
    with client, pytest.raises(errors.AuthenticationError) as info:
        client.recognize(HELLO)
    assert info.value.http_status == 403
    assert asr_requests(emu)[-1].headers["x-api-resource-id"] == "volc.bigasr.auc"


# --- retries -----------------------------------------------------------------------


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda path: str(path), id="path"),
        pytest.param(lambda path: path.read_bytes(), id="bytes"),
        pytest.param(lambda path: open(path, "rb"), id="seekable-file"),  # noqa: SIM115
        pytest.param(lambda path: _pipe(path.read_bytes()), id="non-seekable-stream"),
    ],
)
def test_busy_then_success_replays_the_whole_body(emu: Emulator, tmp_path: Path, make: Any) -> None:
    """After a 55000031 the body is rebuilt from its source and re-sent complete."""
    path = tmp_path / "big.wav"
    data = noise_wav(8.0, seed=1)  # 256 KB: several reads, a spilled base64 string
    path.write_bytes(data)
    emu.asr.register(data, text="noise")
    emu.inject(service="asr", code=55000031, message="server busy")
    audio = make(path)
    with emu.asr.client(max_retries=2) as client:
        transcript = client.recognize(audio)
    if hasattr(audio, "close"):
        audio.close()
    assert transcript.text == "noise"
    attempts = asr_requests(emu)
    assert [r.code for r in attempts] == [55000031, 20000000]
    assert attempts[0].body_size == attempts[1].body_size
    assert attempts[0].body == attempts[1].body  # the first MiB, byte for byte
    assert emu.asr.calls[-1].audio_sha256 == _sha(data)


def test_server_errors_are_retried_then_raised(emu: Emulator) -> None:
    """550xxxx is retried up to max_retries, then raised with its ids."""
    emu.inject(service="asr", code=55000123, message="internal", times=3)
    with emu.asr.client(max_retries=2) as client, pytest.raises(errors.ServerError) as info:
        client.recognize(HELLO, request_id="r-1")
    assert len(asr_requests(emu)) == 3
    error = info.value
    assert (error.code, error.http_status, error.request_id) == (55000123, 500, "r-1")
    assert error.log_id
    assert error.retryable


def test_invalid_requests_are_not_retried(emu: Emulator) -> None:
    """45000001 is final: one attempt."""
    emu.inject(service="asr", code=45000001, message="bad field")
    client = emu.asr.client(max_retries=3)
    with client, pytest.raises(errors.InvalidRequestError, match="bad field"):
        client.recognize(HELLO)
    assert len(asr_requests(emu)) == 1


def test_retry_after_is_honoured(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    """A Retry-After on a busy answer sets the wait before the retry."""
    emu.inject(service="asr", code=55000031, retry_after=7)
    with caplog.at_level(logging.DEBUG, logger="volcspeech"), emu.asr.client() as client:
        assert client.recognize(HELLO).text == "hello world"
    assert any("retrying asr.recognize in 7.00s" in r.getMessage() for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]


def test_retry_after_is_on_the_error(emu: Emulator) -> None:
    """When retries are off, the error carries the server's Retry-After."""
    emu.inject(service="asr", code=55000031, retry_after=3)
    with emu.asr.client(max_retries=0) as client, pytest.raises(errors.ServerBusyError) as info:
        client.recognize(HELLO)
    assert info.value.retry_after == 3.0


def test_connection_reset_is_retried(emu: Emulator, client: AsrClient) -> None:
    """A dropped connection is a transient failure: the retry succeeds."""
    emu.inject(service="asr", drop=True)
    assert client.recognize(HELLO).text == "hello world"


def test_read_timeout(emu: Emulator) -> None:
    """A slow answer beyond the read timeout raises volcspeech's TimeoutError."""
    emu.inject(service="asr", delay=1.0, passthrough=True)
    with emu.asr.client(max_retries=0) as client, pytest.raises(errors.TimeoutError) as info:
        client.recognize(HELLO, timeout=0.2, request_id="slow-1")
    assert info.value.request_id == "slow-1"


# --- big inline audio --------------------------------------------------------------


def test_large_inline_audio_warns_once_per_client(emu: Emulator) -> None:
    """Inline audio over 20 MiB warns (once per client) to send a URL instead."""
    big = noise_wav(660.0, seed=2)  # 21.1 MB
    emu.asr.register(big, text="long")
    with emu.asr.client() as client, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert client.recognize(big).text == "long"
        assert client.recognize(big).text == "long"
    large = [w for w in caught if issubclass(w.category, LargeInlineAudioWarning)]
    assert len(large) == 1
    assert "URL" in str(large[0].message)
    assert large[0].filename == __file__
    assert emu.asr.calls[-1].audio_sha256 == _sha(big)
    assert emu.asr.calls[-1].audio_size == len(big)


# --- sharing, lifecycle, secrets ---------------------------------------------------


def test_client_is_shared_across_threads(emu: Emulator, client: AsrClient) -> None:
    """Many threads using one client each get their own audio's transcript."""
    files = {i: noise_wav(0.5, seed=100 + i) for i in range(12)}
    for i, data in files.items():
        emu.asr.register(data, text=f"file {i}")

    def run(i: int) -> str:
        return client.recognize(files[i]).text

    with ThreadPoolExecutor(max_workers=8) as pool:
        texts = list(pool.map(run, list(files) * 3))
    assert texts == [f"file {i}" for i in list(files) * 3]


def test_context_manager_closes_its_session_only(emu: Emulator) -> None:
    """close() closes the session volcspeech made, never one passed in."""
    closed: list[bool] = []

    class Session(requests.Session):
        def close(self) -> None:
            closed.append(True)
            super().close()

    session = Session()
    with emu.asr.client(session=session) as client:
        assert client.recognize(HELLO).text == "hello world"
    assert closed == []
    session.close()


def test_secrets_never_show(
    emu: Emulator, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys appear in no repr, str, log line, error or pickle."""
    secret = emu.credentials.access_key
    emu.inject(service="asr", code=55000031, times=1)
    emu.inject(service="asr", code=45000001, message="bad", times=1)
    with caplog.at_level(logging.DEBUG), emu.asr.client() as client:
        with pytest.raises(errors.APIError) as info:
            client.recognize(HELLO)
        with pytest.raises(errors.ConfigurationError) as refused:  # literal keys never pickle
            pickle.dumps(client)
        texts = [repr(client), str(client), str(info.value), repr(info.value)]
        texts += [str(refused.value), repr(refused.value)]
        texts += [r.getMessage() for r in caplog.records]
        pickled = pickle.dumps(info.value) + pickle.dumps(refused.value)
    for text in texts:
        assert secret not in text
    assert secret.encode() not in pickled
    assert "app_key+access_key" in repr(client)
    api = AsrClient(api_key="sk-very-secret", endpoint=emu.asr.endpoint)
    assert "sk-very-secret" not in repr(api)
    with pytest.raises(errors.ConfigurationError) as refused_api:
        pickle.dumps(api)
    assert "sk-very-secret" not in str(refused_api.value)


def test_pickled_client_reads_credentials_where_it_lands(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unpickled client has the settings but takes credentials from its environment."""
    monkeypatch.setenv("VOLCSPEECH_API_KEY", emu.credentials.api_key)
    with AsrClient(endpoint=emu.asr.endpoint, max_retries=1, timeout=5) as client:
        data = pickle.dumps(client)  # no key given: pickles as the environment
    monkeypatch.delenv("VOLCSPEECH_API_KEY")
    clone = pickle.loads(data)  # unpickling reads no credential...
    with pytest.raises(errors.ConfigurationError, match="VOLCSPEECH_API_KEY"):
        clone.recognize(HELLO)  # ...the first request does
    monkeypatch.setenv("VOLCSPEECH_API_KEY", emu.credentials.api_key)
    assert clone.endpoint == emu.asr.endpoint
    assert clone.retry_policy.attempts == 2
    assert clone.recognize(HELLO).text == "hello world"
    clone.close()
