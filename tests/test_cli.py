"""The command line skeleton: version, help, error formatting."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from volcspeech import __version__, cli
from volcspeech.errors import ServerBusyError, ValidationError


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the package version and exits 0."""
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"volcspeech {__version__}"


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """--help describes the command."""
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "volcspeech" in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a subcommand the help is printed and the exit status is 2."""
    assert cli.main([]) == cli.EXIT_USAGE
    assert "usage:" in capsys.readouterr().out


def test_module_entry_point() -> None:
    """python -m volcspeech runs the same command."""
    out = subprocess.run(
        [sys.executable, "-m", "volcspeech", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == f"volcspeech {__version__}"


def _parser_with(handler: object) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.add_argument("command", nargs="?")
    parser.set_defaults(handler=handler)
    return parser


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            ServerBusyError("busy", code=55000031, http_status=503, log_id="LOG1", request_id="R1"),
            "code=55000031 message=busy http_status=503 request_id=R1 log_id=LOG1",
        ),
        (ValidationError("bad field"), "ValidationError: bad field"),
    ],
)
def test_errors_print_code_message_ids(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    exc: Exception,
    expected: str,
) -> None:
    """A VolcSpeechError prints its code, message and ids on stderr and exits 1."""

    def handler(args: argparse.Namespace) -> int:
        raise exc

    monkeypatch.setattr(cli, "build_parser", lambda: _parser_with(handler))
    assert cli.main(["-vv", "x"]) == cli.EXIT_ERROR
    assert expected in capsys.readouterr().err


def test_keyboard_interrupt_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C ends with status 130 and a short message, no traceback."""

    def handler(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", lambda: _parser_with(handler))
    assert cli.main(["x"]) == 130
    assert "interrupted" in capsys.readouterr().err
