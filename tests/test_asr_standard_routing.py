"""Routing by size and duration (api="auto"); uploaders (the emulator's TOS route, S3 on moto)."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from volcspeech import errors
from volcspeech.asr import AsrClient, S3Uploader, TosUploader, UploadSource
from volcspeech.testing import Emulator

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "tests" / "fixtures" / "audio" / "hello.wav"
HELLO_TRUTH = [{"text": "hello world", "start_time": 139, "end_time": 861, "words": []}]
MIB = 1024 * 1024


def wav_header(data_bytes: int, rate: int = 16000) -> bytes:
    """A 44-byte mono 16-bit WAV header for ``data_bytes`` of PCM."""
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def write_long_wav(path: Path, seconds: int, rate: int = 16000) -> str:
    """Write a mono 16-bit WAV of ``seconds``: a tone burst each minute, silence between.

    It is written in 1 MiB blocks (never held whole); returns its SHA-256.
    """
    data_bytes = seconds * rate * 2
    digest = hashlib.sha256()
    burst = (b"\x00\x10\x00\xf0" * (rate // 4))[: rate // 2 * 2]  # half a second of a square wave
    minute = rate * 2 * 60
    with open(path, "wb") as f:
        head = wav_header(data_bytes, rate)
        f.write(head)
        digest.update(head)
        written = 0
        block = bytearray(MIB)
        while written < data_bytes:
            n = min(MIB, data_bytes - written)
            chunk = bytearray(n)
            start = written % minute
            if start < len(burst):
                end = min(n, len(burst) - start)
                chunk[:end] = burst[start : start + end]
            f.write(chunk)
            digest.update(chunk)
            written += n
        del block
    return digest.hexdigest()


@pytest.fixture
def emu(volcspeech_emulator: Emulator) -> Emulator:
    """The emulator with hello.wav registered."""
    volcspeech_emulator.asr.register(HELLO, utterances=HELLO_TRUTH)
    return volcspeech_emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[AsrClient]:
    """A client of the emulator."""
    with emu.asr.client() as c:
        yield c


def paths(emu: Emulator) -> list[str]:
    """The last path segment of every recorded request, in order."""
    return [r.path.rsplit("/", 1)[-1] for r in emu.requests]


# --- routing -------------------------------------------------------------------------------


def test_ten_minutes_go_to_flash(emu: Emulator, client: AsrClient, tmp_path: Path) -> None:
    """A 10-minute WAV is inside flash's limits: api='auto' makes one flash request."""
    path = tmp_path / "ten.wav"
    write_long_wav(path, 10 * 60)
    emu.asr.register(path, text="ten minutes")
    transcript = client.recognize(path, api="auto")
    assert transcript.text == "ten minutes"
    assert transcript.duration_ms == 600_000
    assert paths(emu) == ["flash"]


def test_longer_than_two_hours_goes_standard(
    emu: Emulator, client: AsrClient, tmp_path: Path
) -> None:
    """A small file over 2 h (1 kHz) goes to the standard API, inline, under api='auto'."""
    path = tmp_path / "long-but-small.wav"
    seconds = 2 * 3600 + 60
    with open(path, "wb") as f:
        f.write(wav_header(seconds * 1000 * 2, rate=1000))
        f.truncate(44 + seconds * 1000 * 2)  # zeros: digital silence
    transcript = client.recognize(path, api="auto", poll=0.01)
    assert transcript.silent
    assert paths(emu)[:2] == ["submit", "query"]
    with pytest.raises(errors.InvalidAudioError, match="at most 2 h"):
        client.recognize(path)  # flash, as before


def test_beyond_the_inline_limit_without_uploader_names_the_option(
    emu: Emulator, client: AsrClient, tmp_path: Path
) -> None:
    """Local audio over 100 MiB without uploader= is refused before traffic, naming uploader=."""
    path = tmp_path / "big.wav"
    size = 101 * MIB
    with open(path, "wb") as f:
        f.write(wav_header(size))
        f.truncate(44 + size)  # sparse: no disk used
    for api in ("auto", "standard"):
        with pytest.raises(errors.ValidationError, match="uploader=") as info:
            client.recognize(path, api=api)
        assert info.value.field == "uploader"
    with pytest.raises(errors.ValidationError, match="uploader="):
        client.submit(path)
    assert emu.requests == []


def test_urls_go_to_flash_under_auto(emu: Emulator, client: AsrClient) -> None:
    """A URL's size is unknown (never fetched): api='auto' sends it to flash."""
    url = "https://media.example.com/hello.wav"
    emu.asr.register_url(url, HELLO)
    assert client.recognize(url, api="auto").text == "hello world"
    assert paths(emu) == ["flash"]


def test_auto_reads_a_file_object_once_more_for_flash(emu: Emulator, client: AsrClient) -> None:
    """A file object inspected for routing is read again from its start by flash."""
    with open(HELLO, "rb") as f:
        f.read(10)
        f.seek(0)
        assert client.recognize(f, api="auto").text == "hello world"


def test_inline_to_standard_can_be_switched_off(emu: Emulator) -> None:
    """standard_inline_bytes=0 makes every local file need an uploader (the uncertain part)."""
    with (
        emu.asr.client(standard_inline_bytes=0) as strict,
        pytest.raises(errors.ValidationError, match="standard_inline_bytes"),
    ):
        strict.submit(HELLO)
    with pytest.raises(errors.ConfigurationError):
        emu.asr.client(standard_inline_bytes=-1)


# --- uploaders: errors -------------------------------------------------------------------


class FakeUploader:
    """An uploader that returns what it is told to, or raises."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.sources: list[UploadSource] = []

    def upload(self, source: UploadSource) -> Any:
        self.sources.append(source)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_an_uploader_returning_no_url_is_refused(emu: Emulator, client: AsrClient) -> None:
    """An uploader must return an http(s) URL; nothing is submitted otherwise."""
    for bad in (None, "ftp://host/a.wav", b"https://x"):
        with pytest.raises(errors.ValidationError, match="not an http") as info:
            client.submit(HELLO, uploader=FakeUploader(bad))
        assert info.value.field == "uploader"
    assert emu.requests == []


def test_an_uploader_error_is_wrapped_once(client: AsrClient) -> None:
    """A foreign exception from an uploader becomes a TransportError with the cause kept."""
    boom = RuntimeError("disk on fire")
    with pytest.raises(errors.TransportError, match="disk on fire") as info:
        client.submit(HELLO, uploader=FakeUploader(boom))
    assert info.value.__cause__ is boom
    assert not info.value.retryable


def test_an_object_without_upload_is_refused(emu: Emulator, client: AsrClient) -> None:
    """uploader= needs an upload method, checked before any traffic."""
    with pytest.raises(errors.ValidationError, match="upload"):
        client.recognize(HELLO, api="standard", uploader=object())
    assert emu.requests == []


def test_the_uploader_sees_name_size_and_bytes(emu: Emulator, client: AsrClient) -> None:
    """The upload source names the file, its size, type and streams its bytes."""
    url = "https://media.example.com/h.wav"
    emu.asr.register_url(url, HELLO)
    fake = FakeUploader(url)
    assert client.recognize(HELLO, api="standard", uploader=fake, poll=0.01).text == "hello world"
    (source,) = fake.sources
    assert (source.name, source.size, source.content_type) == (
        "hello.wav",
        HELLO.stat().st_size,
        "audio/wav",
    )
    assert b"".join(bytes(c) for c in source.chunks()) == HELLO.read_bytes()


def test_tos_uploader_needs_a_client_or_keys(client: AsrClient) -> None:
    """Without a client or the key pair, endpoint and region: a ConfigurationError; an SDK
    refusal to sign is one too, with the SDK's reason."""
    import tos

    sdk = tos.TosClientV2("AKLTx", "s3cr3t", "http://127.0.0.1:9", "cn-beijing")
    with pytest.raises(errors.ConfigurationError, match="invalid bucket name"):
        client.submit(HELLO, uploader=TosUploader(bucket="b", client=sdk))
    with pytest.raises(errors.ConfigurationError, match="client="):
        TosUploader(bucket="b")
    with pytest.raises(errors.ConfigurationError, match="bucket"):
        TosUploader(bucket="", client=object())


# --- the TOS uploader against the emulator's TOS route --------------------------------------


def test_tos_uploader_streams_to_the_emulator(emu: Emulator, client: AsrClient) -> None:
    """TosUploader: presigned PUT to the emulator's TOS route, presigned GET for the service."""
    with TosUploader(bucket=emu.tos.bucket, client=emu.tos.client()) as uploader:
        transcript = client.recognize(HELLO, api="standard", uploader=uploader, poll=0.01)
    assert transcript.text == "hello world"
    assert emu.tos.keys_stored() == 1
    puts = [r for r in emu.requests if r.service == "tos"]
    assert [r.method for r in puts] == ["PUT"]
    assert puts[0].body_size == HELLO.stat().st_size
    body = json.loads(next(r for r in emu.requests if r.path.endswith("submit")).body)
    assert body["audio"]["url"].startswith(emu.url + "/volcspeech/")
    assert "X-Tos-Signature=" in body["audio"]["url"]


def test_tos_refusal_is_typed_and_keeps_the_signature_out(emu: Emulator, client: AsrClient) -> None:
    """A presigned URL for an unknown key id is refused (403) as AuthenticationError."""
    import tos

    stranger = tos.TosClientV2(
        "AKLTstranger", "s3cr3t", emu.url, "cn-beijing", is_custom_domain=True
    )
    with (
        TosUploader(bucket="some-bucket", client=stranger) as uploader,
        pytest.raises(errors.AuthenticationError, match="AccessDenied") as info,
    ):
        client.submit(HELLO, uploader=uploader)
    assert "Signature" not in str(info.value)
    assert not [r for r in emu.requests if r.path.endswith("submit")]


# --- the S3 uploader against moto ------------------------------------------------------------


@pytest.fixture
def moto_s3() -> Iterator[dict[str, Any]]:
    """A moto S3 server on 127.0.0.1 and boto3 client arguments for it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield {
            "endpoint_url": f"http://{host}:{port}",
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
    finally:
        server.stop()


def test_s3_uploader_against_moto(
    emu: Emulator, client: AsrClient, moto_s3: dict[str, Any]
) -> None:
    """S3Uploader puts the file on a local S3 by presigned PUT; the service fetches the GET URL."""
    import boto3

    s3 = boto3.client("s3", **moto_s3)
    s3.create_bucket(Bucket="audio")
    with S3Uploader(bucket="audio", client_kwargs=moto_s3, prefix="in/") as uploader:
        transcript = client.recognize(HELLO, api="standard", uploader=uploader, poll=0.01)
    assert transcript.text == "hello world"
    (listed,) = s3.list_objects_v2(Bucket="audio")["Contents"]
    assert listed["Key"].startswith("in/")
    assert listed["Key"].endswith("/hello.wav")
    assert s3.get_object(Bucket="audio", Key=listed["Key"])["Body"].read() == HELLO.read_bytes()


def test_s3_uploader_to_a_missing_bucket_fails_typed(
    client: AsrClient, moto_s3: dict[str, Any]
) -> None:
    """A PUT the store refuses (no such bucket) is an APIError naming bucket and key."""
    with (
        S3Uploader(bucket="nope", client_kwargs=moto_s3) as uploader,
        pytest.raises(errors.APIError, match="nope/volcspeech/") as info,
    ):
        client.submit(HELLO, uploader=uploader)
    assert info.value.http_status == 404
    assert "Signature" not in str(info.value)


# --- done means: 3 hours in constant memory --------------------------------------------------

_CHILD = r"""
import json, os, resource, sys
from volcspeech.asr import AsrClient, TosUploader
import tos

def peak_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def reset_peak():
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False

args = json.loads(sys.argv[1])
uploader = TosUploader(bucket="emulator-bucket", client=tos.TosClientV2(
    args["ak"], args["sk"], args["url"], "cn-beijing", is_custom_domain=True, max_retry_count=0))
client = AsrClient(base_url=args["url"])
reset = reset_peak()
before = peak_mib()
transcript = client.recognize(args["path"], api="auto", uploader=uploader, poll=0.2)
print(json.dumps({"before": before, "after": peak_mib(), "reset": reset, "text": transcript.text,
                  "duration_ms": transcript.duration_ms, "utterances": len(transcript.utterances)}))
"""


@pytest.mark.slow
def test_three_hours_through_auto_in_constant_memory(emu: Emulator, tmp_path: Path) -> None:
    """A 3-hour 16 kHz WAV (~345 MB) goes up by the TOS uploader and comes back as one
    transcript, the client process's peak RSS growing by far less than the file."""
    path = tmp_path / "three-hours.wav"
    write_long_wav(path, 3 * 3600)
    size = path.stat().st_size
    assert size > 345_000_000
    truth = [
        {"text": f"minute {m}", "start_time": m * 60_000, "end_time": m * 60_000 + 500}
        for m in range(180)
    ]
    emu.asr.standard.register(path, utterances=truth)
    creds = emu.credentials
    env = dict(os.environ, VOLCSPEECH_APP_KEY=creds.app_key, VOLCSPEECH_ACCESS_KEY=creds.access_key)
    env["PYTHONPATH"] = str(ROOT)
    args = {
        "url": emu.url,
        "path": str(path),
        "ak": creds.access_key_id,
        "sk": creds.secret_access_key,
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["duration_ms"] == 3 * 3600 * 1000
    assert out["utterances"] == 180
    assert out["text"].startswith("minute 0 minute 1")
    grown = out["after"] - out["before"]
    assert grown < 48, f"peak RSS grew by {grown:.1f} MiB for a {size / MIB:.0f} MiB file"
    assert [r.method for r in emu.requests if r.service == "tos"] == ["PUT"]
    assert next(r for r in emu.requests if r.service == "tos").body_size == size
    print(
        f"3 h WAV {size / MIB:.0f} MiB: client peak RSS {out['before']:.1f} -> "
        f"{out['after']:.1f} MiB (peak reset: {out['reset']})"
    )


# --- the emulator's streamed path for large files, on small ones -----------------------------


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files over 1 kB take the emulator's streamed (large-file) path."""
    import volcspeech.testing._asr_standard_service as service

    monkeypatch.setattr(service, "IN_MEMORY_LIMIT", 1000)


@pytest.mark.usefixtures("small_limit")
@pytest.mark.parametrize(
    ("name", "expected"),
    [("hello.wav", "hello world"), ("hello.mp3", ""), ("silence.wav", None)],
)
def test_streamed_analysis_of_uploaded_files(
    emu: Emulator, client: AsrClient, name: str, expected: str | None
) -> None:
    """Uploaded files are analysed as streams: registered truth by digest, MP3 durations,
    silence; unregistered audio answers its duration, marked emulated."""
    from volcspeech.testing import sample_audio

    with TosUploader(bucket=emu.tos.bucket, client=emu.tos.client()) as uploader:
        transcript = client.recognize(
            sample_audio(name), api="standard", uploader=uploader, poll=0.01
        )
    if expected is None:
        assert transcript.silent
    else:
        assert transcript.text == expected
        assert (transcript.duration_ms or 0) > 900
    if name == "hello.mp3":
        assert transcript.additions.get("emulated") is True


@pytest.mark.usefixtures("small_limit")
def test_streamed_analysis_refuses_other_formats(emu: Emulator, client: AsrClient) -> None:
    """A file that is not WAV / MP3 / Ogg fails its task with 45000151 on the streamed path."""
    from volcspeech.asr import TaskStatus

    with TosUploader(bucket=emu.tos.bucket, client=emu.tos.client()) as uploader:
        put = uploader.presign_put("junk.bin", "application/octet-stream")
        import requests

        assert requests.put(put, data=b"\x01" * 5000, timeout=5).status_code == 200
        url = uploader.presign_get("junk.bin")
    state = client.query(client.submit(url))
    assert state.status is TaskStatus.FAILED
    assert isinstance(state.error, errors.AudioFormatError)


def test_tos_route_refuses_expired_and_missing(emu: Emulator) -> None:
    """An expired presigned URL is 403 ExpiredToken; a missing key is 404 NoSuchKey."""
    import requests

    creds = emu.credentials
    base = (
        f"{emu.url}/k.wav?X-Tos-Algorithm=TOS4-HMAC-SHA256"
        f"&X-Tos-Credential={creds.access_key_id}%2F20200101%2Fcn-beijing%2Ftos%2Frequest"
        "&X-Tos-SignedHeaders=host&X-Tos-Signature=00"
    )
    old = requests.put(base + "&X-Tos-Date=20200101T000000Z&X-Tos-Expires=60", data=b"x", timeout=5)
    assert old.status_code == 403
    assert b"ExpiredToken" in old.content
    with TosUploader(bucket=emu.tos.bucket, client=emu.tos.client()) as uploader:
        missing = requests.get(uploader.presign_get("nothing-here.wav"), timeout=5)
    assert missing.status_code == 404
    assert b"NoSuchKey" in missing.content


def test_an_unreachable_store_keeps_the_presigned_query_out(client: AsrClient) -> None:
    """A PUT that gets no answer is a TransportError without the URL's query (STS token)."""
    uploader = S3Uploader(
        bucket="audio",
        client_kwargs={
            "endpoint_url": "http://127.0.0.1:9",
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
            "aws_session_token": "SESSION-TOKEN-XYZ",
        },
    )
    with uploader, pytest.raises(errors.TransportError) as info:
        client.submit(HELLO, uploader=uploader)
    assert "SESSION-TOKEN-XYZ" not in str(info.value)
    assert "SESSION-TOKEN-XYZ" not in repr(info.value.args)


def test_routing_reads_audio_like_the_flash_path() -> None:
    """A file object whose read fails is an InvalidAudioError on the standard/auto path too."""
    import io

    from volcspeech.asr._standard_routing import inspect_audio

    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return True

        def seek(self, offset: int, whence: int = 0) -> int:
            return 0

        def tell(self) -> int:
            return 0

        def readinto(self, buffer: Any) -> int:
            raise RuntimeError("disk on fire")

    with pytest.raises(errors.InvalidAudioError):
        inspect_audio(io.BufferedReader(Broken()), {})
