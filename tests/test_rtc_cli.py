"""`volcspeech rtc ...` against the emulator, and the public names of volcspeech.rtc."""

from __future__ import annotations

import inspect
import io
import json
from pathlib import Path

import pytest

import volcspeech
import volcspeech.rtc
from volcspeech import cli
from volcspeech.testing import Emulator

SECRET = "cli-store-secret"


@pytest.fixture
def emu(volcspeech_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The plugin's running emulator, its test credentials in the environment."""
    credentials = volcspeech_emulator.credentials
    monkeypatch.setenv("VOLCENGINE_ACCESS_KEY", credentials.access_key_id)
    monkeypatch.setenv("VOLCENGINE_SECRET_KEY", credentials.secret_access_key)
    return volcspeech_emulator


def _write(tmp_path: Path, name: str, body: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(body), encoding="utf-8")
    return str(path)


START = {
    "AppId": "app",
    "RoomId": "room",
    "TaskId": "task",
    "StorageConfig": {
        "Type": 2,
        "CustomConfig": {"Bucket": "b", "AccessKey": "AK", "SecretKey": SECRET},
    },
}
KEY = {"AppId": "app", "RoomId": "room", "TaskId": "task"}


def test_start_update_get_stop(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The four commands print the result as JSON; the store's keys are masked."""
    url = ["--endpoint", emu.url]
    assert (
        cli.main(["rtc", "start-segment", "--request", _write(tmp_path, "s.json", START), *url])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["Result"] == "ok"
    assert out["RequestId"]
    update = _write(tmp_path, "u.json", {**KEY, "Duration": 30})
    assert cli.main(["rtc", "update-segment", "--request", update, *url]) == 0
    assert json.loads(capsys.readouterr().out)["Result"] == "ok"
    get = ["rtc", "get-task", "--app-id", "app", "--room-id", "room", "--task-id", "task", *url]
    assert cli.main(get) == 0
    text = capsys.readouterr().out
    assert SECRET not in text
    task = json.loads(text)["SegmentTask"]
    assert task["Duration"] == 30
    assert task["StorageConfig"]["CustomConfig"]["SecretKey"] == "***"
    assert (
        cli.main(["rtc", "stop-segment", "--request", _write(tmp_path, "x.json", KEY), *url]) == 0
    )
    assert json.loads(capsys.readouterr().out)["Result"] == "ok"


def test_request_from_stdin(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--request - reads the body from standard input."""
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(START)))
    assert cli.main(["rtc", "start-segment", "--request", "-", "--endpoint", emu.url]) == 0
    assert json.loads(capsys.readouterr().out)["Result"] == "ok"


def test_errors_are_reported_with_request_id(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A service error prints its code and request id and exits 1."""
    get = ["rtc", "get-task", "--app-id", "app", "--room-id", "room", "--task-id", "none"]
    assert cli.main([*get, "--endpoint", emu.url]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "code=InvalidParameter.TaskNotFound" in err
    assert "request_id=" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read --request"),
        ("{nope", "is not JSON"),
        (json.dumps({**START, "Duration": 0}), "duration"),
    ],
)
def test_bad_request_files(
    emu: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    message: str,
) -> None:
    """Missing, malformed or invalid request files are reported without a traceback."""
    path = tmp_path / "req.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert cli.main(["rtc", "start-segment", "--request", str(path), "--endpoint", emu.url]) == 1
    assert message in capsys.readouterr().err
    assert emu.requests_for("rtc") == []


def test_bad_region_and_bare_command(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown region is a configuration error; `volcspeech rtc` alone prints its help."""
    get = ["rtc", "get-task", "--app-id", "a", "--room-id", "r", "--task-id", "t"]
    assert cli.main([*get, "--region", "mars-1"]) == 1
    assert "known regions" in capsys.readouterr().err
    assert cli.main(["rtc"]) == 2
    assert "start-segment" in capsys.readouterr().out


def test_public_names() -> None:
    """__all__ is sorted, complete, and the classes say volcspeech.rtc in their reprs."""
    names = volcspeech.rtc.__all__
    assert names == sorted(names)
    public = {
        name
        for name, value in vars(volcspeech.rtc).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value) or name.isupper())
    }
    assert public == set(names)
    for name in names:
        value = getattr(volcspeech.rtc, name)
        if name.isupper():  # a constant (DEFAULT_CALLBACK_MAX_AGE ...): a plain number
            assert isinstance(value, (int, float)), name
            continue
        assert value.__module__ == "volcspeech.rtc", name
        assert value.__doc__, name
    assert volcspeech.RtcClient is volcspeech.rtc.RtcClient
    required = {
        "RtcClient", "StartSegmentRequest", "UpdateSegmentRequest", "StopSegmentRequest",
        "StorageConfig", "TosConfig", "CustomConfig", "VodConfig", "VeImageXConfig",
        "SegmentControl", "TargetStreams", "Stream", "SegmentTask", "SegmentTaskStatus",
        "StorageType", "Vendor", "TosRegion", "S3Region", "CallbackEvent", "Segment",
        "SegmentFieldMapping", "CallbackDeduplicator", "parse_callback", "sign_callback",
        "SegmentResult",
    }  # fmt: skip
    assert required <= set(names)
