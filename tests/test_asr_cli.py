"""The ``volcspeech asr recognize`` command."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import srt
import webvtt

from volcspeech import cli, errors
from volcspeech.asr import RecognitionOptions, _cli
from volcspeech.testing import Emulator

AUDIO = Path(__file__).parent / "fixtures" / "audio"
HELLO = str(AUDIO / "hello.wav")
TRUTH = {
    "utterances": [
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
}


@pytest.fixture
def truth(tmp_path: Path) -> str:
    """A ground-truth file for hello.wav."""
    path = tmp_path / "truth.json"
    path.write_text(json.dumps(TRUTH))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI; return (status, stdout, stderr)."""
    status = cli.main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_unregistered_audio_is_explained_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """With --emulator and no ground truth the text is empty and stderr says why and what to do."""
    status, out, err = run(capsys, "asr", "recognize", HELLO, "--emulator")
    assert (status, out) == (0, "\n")
    assert f"no ground truth for {HELLO}" in err
    assert "1 speech region(s) found by voice activity (0.14-0.86 s)" in err
    assert "its duration (1.00 s)" in err
    assert "--ground-truth FILE.json" in err
    assert "emulator.asr.register(" in err


def test_unregistered_audio_answers_its_speech_regions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The JSON and SRT answers carry the speech regions, marked as emulated."""
    status, out, _ = run(capsys, "asr", "recognize", HELLO, "--emulator", "-f", "json")
    assert status == 0
    answer = json.loads(out)
    assert answer["audio_info"] == {"duration": 1000}
    assert answer["result"]["additions"]["emulated"] is True
    assert [
        (u["start_time"], u["end_time"], u["text"]) for u in answer["result"]["utterances"]
    ] == [(140, 860, "[speech 0.14\u20130.86 s]")]
    status, out, _ = run(capsys, "asr", "recognize", HELLO, "--emulator", "-f", "srt")
    (cue,) = srt.parse(out)
    assert cue.content == "[speech 0.14\u20130.86 s]"


def test_compressed_unregistered_audio_has_no_regions(capsys: pytest.CaptureFixture[str]) -> None:
    """For MP3 the note gives the duration and says there are no speech regions."""
    status, out, err = run(capsys, "asr", "recognize", str(AUDIO / "hello.mp3"), "--emulator")
    assert (status, out) == (0, "\n")
    assert "does not decode MP3 or Ogg" in err
    assert "its duration (1." in err


def test_ground_truth_answers_without_a_note(
    capsys: pytest.CaptureFixture[str], truth: str
) -> None:
    """With ground truth the emulator answers it and prints no note."""
    status, out, err = run(capsys, "asr", "recognize", HELLO, "--emulator", "--ground-truth", truth)
    assert (status, out, err) == (0, "hello world\n", "")


def test_asr_package_cannot_open_an_emulator_by_itself() -> None:
    """Parsed without the volcspeech command's default, --emulator is a clear error."""
    import argparse

    parser = argparse.ArgumentParser()
    _cli.register(parser.add_subparsers())
    args = parser.parse_args(["asr", "recognize", HELLO, "--emulator"])
    with pytest.raises(errors.ConfigurationError, match="volcspeech command"):
        args.handler(args)


def test_ground_truth_text(capsys: pytest.CaptureFixture[str], truth: str) -> None:
    """--ground-truth makes the emulator answer that transcript."""
    status, out, _ = run(capsys, "asr", "recognize", HELLO, "--emulator", "--ground-truth", truth)
    assert (status, out) == (0, "hello world\n")


def test_ground_truth_as_a_whole_answer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A whole API answer ({'result': ...}) works as ground truth."""
    path = tmp_path / "answer.json"
    path.write_text(json.dumps({"result": {**TRUTH, "text": "Hello, world!"}}))
    status, out, _ = run(
        capsys, "asr", "recognize", HELLO, "--emulator", "--ground-truth", str(path)
    )
    assert (status, out) == (0, "Hello, world!\n")


def test_json_output_is_the_api_answer(capsys: pytest.CaptureFixture[str], truth: str) -> None:
    """--format json prints the API's JSON answer."""
    status, out, _ = run(
        capsys, "asr", "recognize", HELLO, "--emulator", "--ground-truth", truth, "-f", "json"
    )
    assert status == 0
    answer = json.loads(out)
    assert answer["audio_info"] == {"duration": 1000}
    assert answer["result"]["text"] == "hello world"


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitle_output_to_a_file(truth: str, tmp_path: Path, fmt: str) -> None:
    """--format srt/vtt with --output writes a valid subtitle file."""
    target = tmp_path / f"out.{fmt}"
    argv = ["asr", "recognize", HELLO, "--emulator", "--ground-truth", truth]
    assert cli.main([*argv, "--format", fmt, "--output", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    if fmt == "srt":
        assert [s.content for s in srt.parse(text)] == ["hello world"]
    else:
        assert [c.text for c in webvtt.from_string(text)] == ["hello world"]


def test_url_with_ground_truth(capsys: pytest.CaptureFixture[str], truth: str) -> None:
    """A URL argument is sent as audio.url; ground truth is registered for that URL."""
    status, out, _ = run(
        capsys,
        "asr",
        "recognize",
        "https://example.com/a.wav",
        "--emulator",
        "--ground-truth",
        truth,
    )
    assert (status, out) == (0, "hello world\n")


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """'-' reads the audio from stdin."""

    class Stdin:
        buffer = io.BytesIO(Path(HELLO).read_bytes())

    monkeypatch.setattr("sys.stdin", Stdin())
    assert run(capsys, "asr", "recognize", "-", "--emulator")[0] == 0


def test_cloud_mode_uses_environment_credentials(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    volcspeech_emulator: Emulator,
) -> None:
    """Without --emulator the client reads credentials from the environment."""
    volcspeech_emulator.asr.register(HELLO, text="from env")
    monkeypatch.setenv("VOLCSPEECH_APP_KEY", volcspeech_emulator.credentials.app_key)
    monkeypatch.setenv("VOLCSPEECH_ACCESS_KEY", volcspeech_emulator.credentials.access_key)
    argv = ["asr", "recognize", HELLO, "--endpoint", volcspeech_emulator.asr.endpoint]
    status, out, _ = run(capsys, *argv, "--request-id", "cli-1", "--timeout", "5")
    assert (status, out) == (0, "from env\n")
    assert volcspeech_emulator.asr.calls[-1].request_id == "cli-1"


def test_service_errors_print_code_message_and_log_id(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    volcspeech_emulator: Emulator,
) -> None:
    """A service error exits 1 and prints its code, message and log id, never a key."""
    monkeypatch.setenv("VOLCSPEECH_API_KEY", volcspeech_emulator.credentials.api_key)
    volcspeech_emulator.inject(service="asr", code=45000001, message="bad field")
    argv = ["asr", "recognize", HELLO, "--endpoint", volcspeech_emulator.asr.endpoint]
    status, out, err = run(capsys, *argv, "--max-retries", "0")
    assert status == 1
    assert out == ""
    assert "InvalidRequestError: code=45000001 message=bad field" in err
    assert "log_id=" in err
    assert volcspeech_emulator.credentials.api_key not in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([str(AUDIO / "hello.flac"), "--emulator"], "InvalidAudioError: audio format"),
        (["missing.wav", "--emulator"], "no such file"),
        ([HELLO, "--ground-truth", "x.json"], "--ground-truth needs --emulator"),
        ([HELLO, "--emulator", "--ground-truth", "missing.json"], "cannot read ground truth"),
        (["-", "--emulator", "--ground-truth", "x.json"], "not stdin"),
        ([HELLO, "--emulator", "--end-window-size", "10"], "end_window_size"),
        ([HELLO], "no speech credentials"),
    ],
)
def test_errors_exit_non_zero(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    """Bad input, options or setup exit 1 with a readable error."""
    status, _, err = run(capsys, "asr", "recognize", *argv)
    assert status == 1
    assert needle in err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[1, 2]", "must be a JSON object"),
        ('{"other": 1}', "must be a JSON object"),
        ("not json", "cannot read ground truth"),
        ('{"utterances": [{"text": 1}]}', "cannot register the ground truth"),
    ],
)
def test_bad_ground_truth_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, needle: str
) -> None:
    """Ground truth that is not the documented shape is a clear error."""
    path = tmp_path / "gt.json"
    path.write_text(content)
    argv = ["asr", "recognize", HELLO, "--emulator", "--ground-truth", str(path)]
    status, _, err = run(capsys, *argv)
    assert status == 1
    assert needle in err


def test_unwritable_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """An output path that cannot be written is an error, not a traceback."""
    status, _, err = run(capsys, "asr", "recognize", HELLO, "--emulator", "-o", str(tmp_path))
    assert status == 1
    assert "cannot write" in err


def test_hotwords_and_dialog_context_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    """--hotword and --dialog-context cannot be combined (usage error)."""
    with pytest.raises(SystemExit) as info:
        cli.main(["asr", "recognize", HELLO, "--hotword", "a", "--dialog-context", "b"])
    assert info.value.code == 2


def test_asr_without_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    """'volcspeech asr' alone prints its help and exits 2."""
    status, out, _ = run(capsys, "asr")
    assert status == 2
    assert "recognize" in out


def parse_options(*argv: str) -> RecognitionOptions:
    """The options the CLI builds for these flags."""
    args = cli.build_parser().parse_args(["asr", "recognize", HELLO, *argv])
    return _cli._options(args)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ((), {}),
        (
            ("--language", "en-US", "--enable-itn", "--no-enable-punc", "--rate", "8000"),
            {"language": "en-US", "enable_itn": True, "enable_punc": False, "rate": 8000},
        ),
        (("--audio-format", "wav", "--codec", "raw"), {"format": "wav", "codec": "raw"}),
        (
            ("--enable-speaker-info", "--ssd-version", "200", "--end-window-size", "800"),
            {"enable_speaker_info": True, "ssd_version": "200", "end_window_size": 800},
        ),
        (
            ("--hotword", "Doubao", "--hotword", "volcspeech"),
            {"context": '{"hotwords":[{"word":"Doubao"},{"word":"volcspeech"}]}'},
        ),
        (
            ("--dialog-context", "earlier turn"),
            {"context": '{"context_type":"dialog_ctx","context_data":[{"text":"earlier turn"}]}'},
        ),
        (
            ("--boosting-table-name", "t1", "--correct-table-name", "t2", "--model-version", "400"),
            {"boosting_table_name": "t1", "correct_table_name": "t2", "model_version": "400"},
        ),
        (
            ("--show-utterances", "--vad-segment", "--enable-ddc", "--no-enable-poi-fc"),
            {"show_utterances": True, "vad_segment": True, "enable_ddc": True},
        ),
    ],
)
def test_flags_map_to_options(argv: tuple[str, ...], expected: dict[str, Any]) -> None:
    """Each flag sets the matching RecognitionOptions field; unset flags send nothing."""
    options = parse_options(*argv)
    if "enable_poi_fc" not in expected and "--no-enable-poi-fc" in argv:
        expected = {**expected, "enable_poi_fc": False}
    assert options == RecognitionOptions(**expected)
