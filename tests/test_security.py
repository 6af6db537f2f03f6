"""Security: no secret in logs, reprs, exceptions, pickles or CLI output; callbacks
cannot be forged; audio URLs are http(s) only."""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import KNOWN_SECRETS, LEAKS

from volcspeech import AsrClient, RtcClient, errors
from volcspeech._log import get_logger
from volcspeech.credentials import OpenApiCredentials, SpeechCredentials, StaticProvider
from volcspeech.pipeline import SegmentTranscriber, base_url_resolver
from volcspeech.rtc import (
    CallbackDeduplicator,
    CustomConfig,
    StartSegmentRequest,
    StorageConfig,
    parse_callback,
    sign_callback,
)
from volcspeech.testing import Emulator

API_SECRET = "sk-very-secret-value"
STORE_SECRET = "super-secret-store-key"
HELLO = str(Path(__file__).parent / "fixtures" / "audio" / "hello.wav")


def assert_clean(*texts: Any) -> None:
    """None of the texts (or reprs of objects) contains a known secret."""
    for item in texts:
        text = item if isinstance(item, (str, bytes)) else repr(item)
        blob = text.decode("latin-1") if isinstance(text, bytes) else text
        for secret in KNOWN_SECRETS:
            assert secret not in blob, f"secret leaked in {blob[:200]!r}"


def assert_error_clean(exc: BaseException) -> None:
    """An exception's str, repr, args, cause chain and pickle hold no secret."""
    assert_clean(str(exc), repr(exc), repr(exc.args))
    with contextlib.suppress(TypeError):  # an unpicklable error cannot leak through pickle
        assert_clean(pickle.dumps(exc))
    if exc.__cause__ is not None:
        assert_error_clean(exc.__cause__)


def test_leak_detector_catches_a_leak() -> None:
    """The suite-wide detector really sees a secret logged by any logger."""
    before = len(LEAKS.leaks)
    logging.getLogger("leak-selftest").debug("oops %s", API_SECRET)
    assert len(LEAKS.leaks) == before + 1
    del LEAKS.leaks[before:]


def test_child_loggers_redact(caplog: pytest.LogCaptureFixture) -> None:
    """Every volcspeech.* logger redacts credential headers and secret fields."""
    with caplog.at_level(logging.DEBUG):
        get_logger("volcspeech.pipeline").debug("headers %s", {"X-Api-Key": API_SECRET})
        get_logger("volcspeech.testing").debug('{"SecretKey": "%s"}', STORE_SECRET)
    text = caplog.text
    assert API_SECRET not in text
    assert STORE_SECRET not in text
    assert text.count("***") == 2


def test_full_flows_at_debug_log_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    """ASR, RTC and the pipeline at DEBUG, with retries and faults, log no secret."""
    with caplog.at_level(logging.DEBUG), Emulator() as emu:
        emu.inject(service="asr", code=55000031, http_status=503)
        emu.inject(service="rtc", code="InternalError", http_status=500)
        with emu.asr.client() as asr, emu.rtc.client() as rtc:
            asr.recognize(HELLO)
            room = emu.rtc.register_sample_room()
            rtc.start_segment(
                StartSegmentRequest(
                    app_id=room.app_id,
                    room_id=room.room_id,
                    task_id="sec-1",
                    storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
                )
            )
            emu.rtc.wait_for_callbacks()
            with SegmentTranscriber(
                asr,
                resolve_audio=base_url_resolver(emu.url + "/storage"),
                callback_secret=emu.credentials.callback_secret,
            ) as t:
                for body in emu.rtc.take_callbacks():
                    t.submit(body)
                t.finish(timeout=30)
    assert len(caplog.records) > 20
    assert_clean(caplog.text)


def test_client_and_model_reprs_hide_secrets() -> None:
    """Clients, credentials, storage configs, requests and the emulator never show secrets."""
    with Emulator() as emu:
        asr = AsrClient(api_key=API_SECRET, endpoint=emu.asr.endpoint)
        asr_pair = AsrClient("appid", API_SECRET, endpoint=emu.asr.endpoint)
        rtc = RtcClient(
            "AKLTid", API_SECRET, session_token="sts-session-token-value", endpoint=emu.url
        )
        storage = StorageConfig.s3_compatible(
            bucket="bkt", access_key="AKIAstore", secret_key=STORE_SECRET
        )
        request = StartSegmentRequest(app_id="a", room_id="r", task_id="t", storage_config=storage)
        objects = [
            asr,
            asr_pair,
            rtc,
            storage,
            request,
            storage.custom_config,
            SpeechCredentials(api_key=API_SECRET),
            OpenApiCredentials("AKLTid", API_SECRET, "sts-session-token-value"),
            StaticProvider(OpenApiCredentials("AKLTid", API_SECRET)),
            emu,
            emu.credentials,
        ]
        for obj in objects:
            assert_clean(repr(obj), str(obj))
        assert STORE_SECRET in json.dumps(request.to_dict())  # the body itself must carry it
        asr.close()
        asr_pair.close()
        rtc.close()


def test_exceptions_hold_no_secret() -> None:
    """Auth failures, signature failures, transport errors and validation errors hold no secret."""
    caught: list[BaseException] = []
    with Emulator() as emu:
        with AsrClient(api_key=API_SECRET, endpoint=emu.asr.endpoint, max_retries=0) as bad:
            with pytest.raises(errors.AuthenticationError) as info:
                bad.recognize(HELLO)
            caught.append(info.value)
        with RtcClient(
            emu.credentials.access_key_id, API_SECRET, endpoint=emu.url, max_retries=0
        ) as wrong:
            with pytest.raises(errors.SignatureError) as sig:
                wrong.get_segment_task("a", "r", "t")
            caught.append(sig.value)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with (
        AsrClient(
            api_key=API_SECRET, endpoint=f"http://127.0.0.1:{port}/flash", max_retries=0
        ) as closed,
        pytest.raises(errors.TransportError) as transport,
    ):
        closed.recognize(HELLO)
    caught.append(transport.value)
    with pytest.raises(errors.ValidationError) as invalid:
        CustomConfig(vendor=99, bucket="b", access_key="AKIA", secret_key=STORE_SECRET)
    caught.append(invalid.value)
    with pytest.raises(errors.ValidationError) as invalid_id:
        StorageConfig.s3_compatible(bucket="", access_key="AKIA", secret_key=STORE_SECRET)
    caught.append(invalid_id.value)
    body = {
        "EventType": "x",
        "EventData": "{}",
        "EventTime": "1",
        "EventId": "e",
        "AppId": "a",
        "Version": "v",
        "Nonce": "n",
    }
    body["Signature"] = sign_callback(body, "another-secret")
    with pytest.raises(errors.CallbackSignatureError) as cb:
        parse_callback(body, Emulator().credentials.callback_secret)
    caught.append(cb.value)
    for exc in caught:
        assert_error_clean(exc)


def test_configuration_errors_hold_no_secret() -> None:
    """Half-given credentials produce messages without the half that was given."""
    with pytest.raises(errors.ConfigurationError) as info:
        AsrClient(access_key=API_SECRET)
    assert_error_clean(info.value)
    with pytest.raises(errors.ConfigurationError) as info2:
        RtcClient(secret_access_key=API_SECRET)
    assert_error_clean(info2.value)


def run_cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Any:
    import os

    full_env = {**os.environ, "VOLCENGINE_ECS_METADATA_DISABLED": "true", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "volcspeech", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_cli_output_holds_no_secret(tmp_path: Path) -> None:
    """The CLI at -vv, on success and on failure, prints no secret."""
    ok = run_cli("-vv", "asr", "recognize", HELLO, "--emulator", "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert_clean(ok.stdout, ok.stderr)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    failed = run_cli(
        "-vv",
        "asr",
        "recognize",
        HELLO,
        "--endpoint",
        f"http://127.0.0.1:{port}/flash",
        "--max-retries",
        "0",
        env={"VOLCSPEECH_API_KEY": API_SECRET},
    )
    assert failed.returncode != 0
    assert "TransportError" in failed.stderr
    assert_clean(failed.stdout, failed.stderr)
    request = {
        "AppId": "a",
        "RoomId": "r",
        "TaskId": "t",
        "StorageConfig": {
            "Type": 2,
            "CustomConfig": {
                "Vendor": 0,
                "Bucket": "bkt",
                "AccessKey": "AKIAstore",
                "SecretKey": STORE_SECRET,
            },
        },
    }
    path = tmp_path / "req.json"
    path.write_text(json.dumps(request))
    rtc = run_cli(
        "-vv",
        "rtc",
        "start-segment",
        "--request",
        str(path),
        "--endpoint",
        f"http://127.0.0.1:{port}",
        env={"VOLCENGINE_ACCESS_KEY": "AKLTid", "VOLCENGINE_SECRET_KEY": API_SECRET},
    )
    assert rtc.returncode != 0
    assert_clean(rtc.stdout, rtc.stderr)


def _other_last_char(signature: str) -> str:
    """The signature with its last hex digit replaced by a different one."""
    return signature[:-1] + ("1" if signature[-1] == "0" else "0")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("Signature"),
        lambda b: b.update(Signature=""),
        lambda b: b.update(Signature=_other_last_char(b["Signature"])),
        lambda b: b.update(Signature=["not", "a", "string"]),
        lambda b: b.update(EventData=b["EventData"].replace("demo-room", "demo-roon")),
        lambda b: b.update(Nonce=b["Nonce"] + "x"),
        lambda b: b.update(EventTime=b["EventTime"] + "0"),
        lambda b: b.update(AppId="other-app"),
    ],
    ids=["missing", "empty", "one-digit", "wrong-type", "data", "nonce", "time", "app"],
)
def test_callback_verification_cannot_be_bypassed(mutate: Any) -> None:
    """Any change to a signed callback, or a missing/odd signature, is refused."""
    with Emulator() as emu, emu.rtc.client() as rtc:
        room = emu.rtc.register_sample_room()
        rtc.start_segment(
            StartSegmentRequest(
                app_id=room.app_id,
                room_id=room.room_id,
                task_id="sig-1",
                storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
            )
        )
        emu.rtc.wait_for_callbacks()
        body = emu.rtc.take_callbacks()[0]
        secret = emu.credentials.callback_secret
    parse_callback(dict(body), secret)  # the original verifies
    forged = dict(body)
    mutate(forged)
    assert forged != body  # the mutation changed something, whatever the signature was
    with pytest.raises(errors.CallbackError):
        parse_callback(forged, secret)
    with pytest.raises(errors.CallbackSignatureError):
        parse_callback(dict(body), secret + "x")
    with pytest.raises(errors.ConfigurationError):
        parse_callback(dict(body), "")


def test_one_digit_mutation_changes_a_signature_ending_in_zero() -> None:
    """The one-digit forgery changes the signature even when its last digit already is 0."""
    secret = "callback-secret"
    fields = {
        "EventType": "SegmentRealTimeData",
        "EventData": "{}",
        "EventTime": "2024-05-01T08:00:00Z",
        "EventId": "e",
        "AppId": "a",
        "Version": "2023-11-01",
    }
    # Deterministic: the first nonce whose signature ends in "0" (about 1 in 16).
    nonce = next(
        str(n) for n in range(1000) if sign_callback({**fields, "Nonce": str(n)}, secret)[-1] == "0"
    )
    envelope = {**fields, "Nonce": nonce}
    envelope["Signature"] = sign_callback(envelope, secret)
    forged = {**envelope, "Signature": _other_last_char(envelope["Signature"])}
    assert forged["Signature"] != envelope["Signature"]
    with pytest.raises(errors.CallbackSignatureError):
        parse_callback(forged, secret, max_age=None)


def _post(port: int, body: bytes) -> int:
    """POST a body to the local receiver and return the status."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            b"POST /rtc/callback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            + f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_receiver_refuses_replays_resplits_and_duplicate_keys() -> None:
    """A receiver on defaults takes a fresh callback once; replays, re-splits and
    duplicate-key bodies sent over a real socket are not handled."""
    import http.server
    import threading
    import time

    secret = "callback-secret"
    handled: list[str] = []
    refused: list[str] = []
    dedup = CallbackDeduplicator()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                event = parse_callback(body, secret)  # defaults only
            except errors.CallbackError as exc:
                refused.append(type(exc).__name__)
                status = 403
            else:
                if dedup.first_delivery(event):
                    handled.append(event.event_id)
                status = 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    def signed(event_time: str, event_id: str, nonce: str) -> dict[str, Any]:
        fields = {
            "EventType": "SegmentRealTimeData",
            "EventData": '{"RoomId":"r"}',
            "EventTime": event_time,
            "EventId": event_id,
            "AppId": "a",
            "Version": "2023-11-01",
            "Nonce": nonce,
        }
        return {**fields, "Signature": sign_callback(fields, secret)}

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    fresh = signed(now, "0002abc", "0001")
    resplit = signed(now, "002abc", "00010")  # same signed concatenation
    assert resplit["Signature"] == fresh["Signature"]
    old = signed("2001-09-09T01:46:40Z", "evt-old", "1")
    twice = json.dumps(fresh)[:-1] + ', "EventData": "{}"}'

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        port = server.server_address[1]
        assert _post(port, json.dumps(fresh).encode()) == 200
        assert _post(port, json.dumps(fresh).encode()) == 200  # a re-delivery: acknowledged
        assert _post(port, json.dumps(resplit).encode()) == 200  # verifies, but is a replay
        assert _post(port, json.dumps(old).encode()) == 403
        assert _post(port, twice.encode()) == 403
    finally:
        server.shutdown()
        server.server_close()
    assert handled == ["0002abc"]
    assert refused == ["StaleCallbackError", "CallbackDuplicateKeyError"]


def test_transcriber_refuses_an_old_callback_by_default() -> None:
    """A raw, correctly signed callback from 2001 is refused by a transcriber on defaults."""
    with Emulator() as emu, emu.asr.client() as asr:
        secret = emu.credentials.callback_secret
        fields = {
            "EventType": "SegmentRealTimeData",
            "EventData": '{"RoomId":"r","TaskId":"t","UserId":"u","Url":"http://127.0.0.1:1/a.wav",'
            '"StartTime":1000000000000,"Duration":20000}',
            "EventTime": "2001-09-09T01:46:40Z",
            "EventId": "evt-2001",
            "AppId": "a",
            "Version": "2023-11-01",
            "Nonce": "1",
        }
        body = json.dumps({**fields, "Signature": sign_callback(fields, secret)})
        transcriber = SegmentTranscriber(
            asr, resolve_audio=base_url_resolver("http://127.0.0.1:1/"), callback_secret=secret
        )
        with transcriber, pytest.raises(errors.StaleCallbackError):
            transcriber.submit(body)
        assert emu.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.wav",
        "s3://bucket/a.wav",
        "gopher://x/a",
        "data:audio/wav;base64,UklGRg==",
        "javascript:alert(1)",
        "//example.com/a.wav",
        "http:///no-host.wav",
    ],
)
def test_non_http_audio_urls_are_refused_before_traffic(url: str) -> None:
    """Audio URLs other than http(s) with a host are refused before any request is sent."""
    with Emulator() as emu, emu.asr.client() as asr:
        with pytest.raises(errors.InvalidAudioError):
            asr.recognize(url)
        assert emu.requests == []


# --- malformed credentials, echoed keys and the CLI's error line ------------------------

import http.server  # noqa: E402
import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402

from conftest import MALFORMED_SECRETS, assert_no_known_secret, secret_forms  # noqa: E402

from volcspeech._log import redact  # noqa: E402
from volcspeech.cli import main as cli_main  # noqa: E402

_NONEMPTY_MALFORMED = [v for v in MALFORMED_SECRETS if v]


@pytest.mark.parametrize("bad", _NONEMPTY_MALFORMED, ids=repr)
def test_redaction_covers_quoted_and_bytes_reprs(bad: str) -> None:
    """A malformed key inside a dict, bytes, tuple, attrs or JSON repr, or in the message
    an HTTP library writes about a header it refused, is redacted with its escapes."""
    raw = bad.encode("utf-8")
    renderings = [
        repr({"X-Api-Key": bad, "X-Api-Resource-Id": "volc.bigasr.auc_turbo"}),
        repr({b"X-Api-Access-Key": raw}),
        repr([("X-Api-Key", bad)]),
        repr((b"Authorization", raw)),
        json.dumps({"SecretKey": bad, "Bucket": "b"}),
        json.dumps({"X-Security-Token": bad}, ensure_ascii=False),
        f"OpenApiCredentials(access_key_id='AK', secret_access_key={bad!r})",
        f"Invalid leading whitespace, reserved character(s), or return character(s) in "
        f"header value: {bad!r}",
        f"Header part ({raw!r}) from ('X-Api-Key', {raw!r}) must be of type str or bytes",
        f"X-Api-Key: {bad}".splitlines()[0] if bad.strip() == bad.split("\n")[0] else "",
    ]
    for text in renderings:
        cleaned = redact(text)
        assert not secret_forms(cleaned), (text, cleaned)


class _EchoHandler(http.server.BaseHTTPRequestHandler):
    """Answers 401 with a message quoting the key it was sent (a hostile or careless server)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("X-Api-Key") or self.headers.get("X-Api-Access-Key") or ""
        body = json.dumps({"error": f"key {key} refused"}).encode()
        self.send_response(401)
        self.send_header("X-Api-Status-Code", "45000010")
        self.send_header("X-Api-Message", f"invalid key {key}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[str]:
    """A local server that echoes the credential it receives in its error answer."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/flash"
    finally:
        server.shutdown()
        server.server_close()


def test_a_key_echoed_by_the_server_is_masked(
    echo_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A server quoting the key back in its message: the error, its pickle and the DEBUG
    log show *** instead (volcspeech remembers the keys it was given)."""
    with (
        caplog.at_level(logging.DEBUG),
        AsrClient(api_key=API_SECRET, endpoint=echo_server) as c,
        pytest.raises(errors.AuthenticationError) as info,
    ):
        c.recognize(HELLO)
    assert "invalid key" in str(info.value)
    assert_error_clean(info.value)
    assert_clean(caplog.text)


def test_cli_error_line_masks_an_echoed_key(
    echo_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without -v the CLI's error line shows the server's message with the key masked."""
    monkeypatch.setenv("VOLCSPEECH_API_KEY", API_SECRET)
    status = cli_main(["asr", "recognize", HELLO, "--endpoint", echo_server, "--max-retries", "0"])
    out, err = capsys.readouterr()
    assert status == 1
    assert err.startswith("error: AuthenticationError")
    assert "invalid key ***" in err
    assert_no_known_secret(out, err)


@pytest.mark.parametrize("bad", [v for v in _NONEMPTY_MALFORMED if "\x00" not in v], ids=repr)
@pytest.mark.parametrize(
    ("variable", "argv"),
    [
        ("VOLCSPEECH_API_KEY", ["asr", "recognize", HELLO, "--endpoint", "http://127.0.0.1:9/x"]),
        (
            "VOLCENGINE_SECRET_KEY",
            [
                "rtc",
                "get-task",
                "--app-id",
                "a",
                "--room-id",
                "r",
                "--task-id",
                "t",
                "--endpoint",
                "http://127.0.0.1:9",
            ],
        ),
    ],
)
def test_cli_error_line_never_shows_a_malformed_key(
    variable: str,
    argv: list[str],
    bad: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A malformed key in the environment: the CLI (without -v) names the variable in its
    error line and shows no part of the key."""
    monkeypatch.setenv(variable, bad)
    monkeypatch.setenv("VOLCENGINE_ACCESS_KEY", "AKLTid")
    status = cli_main(argv)
    out, err = capsys.readouterr()
    assert status == 1
    assert err.startswith(f"error: ConfigurationError: ${variable} "), err
    assert_no_known_secret(out, err)


def test_cli_subprocess_with_a_newline_in_the_key_prints_no_key() -> None:
    """The real command, a key with a trailing newline, no -v: one error line, no key."""
    result = run_cli(
        "asr",
        "recognize",
        HELLO,
        "--endpoint",
        "http://127.0.0.1:9/flash",
        env={"VOLCSPEECH_API_KEY": "sk-malformed-core\n"},
    )
    assert result.returncode == 1
    assert "$VOLCSPEECH_API_KEY starts or ends with whitespace" in result.stderr
    assert_no_known_secret(result.stdout, result.stderr)
