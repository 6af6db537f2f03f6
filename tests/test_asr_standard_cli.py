"""``volcspeech asr recognize --api``, ``asr submit``, ``asr query`` and ``asr wait``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from volcspeech import cli
from volcspeech.testing import Emulator

HELLO = str(Path(__file__).parent / "fixtures" / "audio" / "hello.wav")
TRUTH = [{"text": "hello world", "start_time": 139, "end_time": 861, "words": []}]


@pytest.fixture
def emu(volcspeech_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The emulator with hello.wav registered, its credentials in the environment."""
    volcspeech_emulator.asr.register(HELLO, utterances=TRUTH)
    monkeypatch.setenv("VOLCSPEECH_API_KEY", volcspeech_emulator.credentials.api_key)
    return volcspeech_emulator


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI; return (status, stdout, stderr)."""
    status = cli.main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize("api", ["standard", "auto", "flash"])
def test_recognize_with_each_api(
    emu: Emulator, capsys: pytest.CaptureFixture[str], api: str
) -> None:
    """--api picks the API; the text is the same."""
    status, out, _ = run(
        capsys,
        "asr",
        "recognize",
        HELLO,
        "--api",
        api,
        "--endpoint",
        emu.asr.endpoint,
        "--poll",
        "0.01",
    )
    assert (status, out) == (0, "hello world\n")
    used = {r.path.rsplit("/", 1)[-1] for r in emu.requests}
    assert used == ({"submit", "query"} if api == "standard" else {"flash"})


def test_standard_only_flag_with_flash_is_a_clear_error(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """--enable-lid with the flash API exits 1 naming the field; with --api standard it works."""
    status, _, err = run(
        capsys, "asr", "recognize", HELLO, "--enable-lid", "--endpoint", emu.asr.endpoint
    )
    assert status == 1
    assert "enable_lid" in err
    assert "flash API does not take" in err
    status, out, _ = run(
        capsys, "asr", "recognize", HELLO, "--enable-lid", "--api", "standard",
        "--endpoint", emu.asr.endpoint, "--poll", "0.01",
    )  # fmt: skip
    assert (status, out) == (0, "hello world\n")


def test_submit_query_wait_across_invocations(
    emu: Emulator,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """submit prints the task; query and wait resume it from the JSON, a file or stdin."""
    emu.asr.standard.processing_for = 0.2
    status, out, _ = run(
        capsys, "asr", "submit", HELLO, "--model", "1.0", "--endpoint", emu.asr.endpoint,
        "--callback-url", "https://example.com/cb",
    )  # fmt: skip
    assert status == 0
    task = json.loads(out)
    assert task["resource_id"] == "volc.bigasr.auc"
    status, out, _ = run(capsys, "asr", "query", json.dumps(task), "--endpoint", emu.asr.endpoint)
    assert status == 0
    assert json.loads(out)["status"] == "processing"
    stored = tmp_path / "task.json"
    stored.write_text(json.dumps(task))
    status, out, _ = run(
        capsys,
        "asr",
        "wait",
        str(stored),
        "--endpoint",
        emu.asr.endpoint,
        "--poll",
        "0.05",
        "-f",
        "json",
    )
    assert status == 0
    assert json.loads(out)["result"]["text"] == "hello world"
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(task)))
    status, out, _ = run(capsys, "asr", "query", "-", "--endpoint", emu.asr.endpoint)
    assert (status, json.loads(out)["text"]) == (0, "hello world")


def test_query_of_a_failed_task_exits_1(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """A failed task prints its error in the JSON and exits 1; a bare id uses --model."""
    emu.asr.standard.fail_next(45000151, "audio format error")
    status, out, _ = run(capsys, "asr", "submit", HELLO, "--endpoint", emu.asr.endpoint)
    task_id = json.loads(out)["task_id"]
    status, out, _ = run(
        capsys, "asr", "query", task_id, "--endpoint", emu.asr.endpoint, "--model", "2.0"
    )
    assert status == 1
    assert json.loads(out)["status"] == "failed"
    assert "45000151" in json.loads(out)["error"]


def test_bad_upload_spec_is_refused(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """--upload takes tos://BUCKET or s3://BUCKET."""
    status, _, err = run(
        capsys, "asr", "submit", HELLO, "--upload", "ftp://x", "--endpoint", emu.asr.endpoint
    )
    assert status == 1
    assert "tos://BUCKET" in err
