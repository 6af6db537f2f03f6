"""Suite-wide settings: no cloud, no metadata service, no sleeping between retries."""

from __future__ import annotations

import logging
import os
import threading
import traceback
from collections.abc import Iterator

import pytest

# The vendor's ECS metadata credential provider calls a link-local address;
# it must never run in tests (volcspeech never runs it implicitly either).
os.environ["VOLCENGINE_ECS_METADATA_DISABLED"] = "true"
# Likewise boto3's instance-metadata credential provider (used by the S3 resolver tests).
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import volcspeech.testing

_CREDENTIAL_ENV = (
    "VOLCSPEECH_API_KEY",
    "VOLCSPEECH_APP_KEY",
    "VOLCSPEECH_ACCESS_KEY",
    "VOLCENGINE_ACCESS_KEY",
    "VOLCENGINE_SECRET_KEY",
    "VOLCENGINE_SESSION_TOKEN",
    "VOLC_ACCESSKEY",
    "VOLC_SECRETKEY",
)


@pytest.fixture(autouse=True)
def _no_retry_sleep() -> Iterator[None]:
    """Retries decide and log as usual, without sleeping."""
    before = volcspeech.testing.is_testing()
    volcspeech.testing.set_testing(True)
    yield
    volcspeech.testing.set_testing(before)


@pytest.fixture(autouse=True)
def _clean_credential_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials from the developer's shell never leak into a test."""
    for name in _CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)


# --- leak detection over the whole test run ------------------------------------------
#
# Every log record of every logger, at DEBUG, in every test, is checked for the
# secrets the suite uses: the emulator's fake credentials and the secret
# constants the tests pass to clients. A test whose run logs one fails.

_EMULATOR = volcspeech.testing.TestCredentials()
KNOWN_SECRETS = frozenset(
    {
        _EMULATOR.access_key,
        _EMULATOR.api_key,
        _EMULATOR.secret_access_key,
        _EMULATOR.callback_secret,
        "sk-very-secret-value",
        "sts-session-token-value",
        "tos-secret",
        "super-secret-store-key",
        # The core of every malformed key the hardening tests pass (with a
        # newline, spaces, control or non-ASCII characters around it): found
        # however a message escapes or quotes the rest.
        "sk-malformed-core",
    }
)

#: The malformed credentials the leak checks use: each (but the empty one) holds
#: ``MALFORMED_CORE`` whole, so a leak of it is found however it is escaped.
MALFORMED_CORE = "sk-malformed-core"
MALFORMED_SECRETS = (
    MALFORMED_CORE + "\n",
    MALFORMED_CORE + "\r\n",
    " " + MALFORMED_CORE,
    MALFORMED_CORE + "\t",
    MALFORMED_CORE + "\x00tail",
    MALFORMED_CORE + "\x7ftail",
    MALFORMED_CORE + "\u00e9tail",
    MALFORMED_CORE + "\u4e2dtail",
    MALFORMED_CORE + " tail",
    "",
)


def assert_no_known_secret(*texts: str | bytes) -> None:
    """Fail when any text holds a known secret, raw or escaped as in a repr."""
    for text in texts:
        blob = text.decode("latin-1") if isinstance(text, bytes) else text
        found = secret_forms(blob)
        assert not found, f"secret {found[0][:6]}... in {blob[:300]!r}"


def secret_forms(text: str) -> list[str]:
    """The known secrets found in ``text``, also as they appear escaped in a repr."""
    found = []
    for secret in KNOWN_SECRETS:
        if secret in text or repr(secret)[1:-1] in text:
            found.append(secret)
    return found


class LeakDetector(logging.Handler):
    """Collects log lines (with tracebacks) that contain a known secret."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines = 0
        self.leaks: list[str] = []
        self._mutex = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is not a leak
            return
        if record.exc_info:
            text += "".join(traceback.format_exception(*record.exc_info))
        with self._mutex:
            self.lines += 1
            if secret_forms(text):
                self.leaks.append(f"{record.name}: {text[:300]}")


LEAKS = LeakDetector()
_root = logging.getLogger()
_root.addHandler(LEAKS)
_root.setLevel(logging.DEBUG)


@pytest.fixture(autouse=True)
def _no_secret_in_logs() -> Iterator[None]:
    """No log line written during a test contains a known secret."""
    before = len(LEAKS.leaks)
    yield
    leaked = LEAKS.leaks[before:]
    assert not leaked, f"secret in log output: {leaked[:3]}"


# --- keeping the default run fast ------------------------------------------------------
#
# Tests over SLOW_SECONDS belong under @pytest.mark.slow (left out of the default run,
# run by `pytest -m slow`); the summary names the unmarked ones that took longer.

SLOW_SECONDS = 2.0
_LONG_UNMARKED: list[tuple[float, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Note each test not marked slow whose call took longer than SLOW_SECONDS."""
    if report.when == "call" and report.duration > SLOW_SECONDS and "slow" not in report.keywords:
        _LONG_UNMARKED.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report how many log lines were checked for secrets, and long unmarked tests."""
    terminalreporter.write_line(
        f"volcspeech leak check: {LEAKS.lines} log lines at DEBUG scanned, "
        f"{len(LEAKS.leaks)} containing a secret"
    )
    for duration, nodeid in sorted(_LONG_UNMARKED, reverse=True):
        terminalreporter.write_line(
            f"slow test not marked @pytest.mark.slow: {nodeid} took {duration:.1f} s"
        )
