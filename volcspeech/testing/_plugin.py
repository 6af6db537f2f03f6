"""The pytest plugin, registered through the ``pytest11`` entry point.

Fixtures:

* ``volcspeech_emulator``: a started :class:`~volcspeech.testing.Emulator`,
  stopped after the test.
* ``volcspeech_no_retry_sleep``: retries decide and log as usual but do not sleep.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .._http import is_testing, set_testing
from ._emulator import Emulator


@pytest.fixture
def volcspeech_emulator() -> Iterator[Emulator]:
    """A running emulator on 127.0.0.1; stopped when the test ends."""
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def volcspeech_no_retry_sleep() -> Iterator[None]:
    """Skip the sleeps between retries for the duration of a test."""
    before = is_testing()
    set_testing(True)
    try:
        yield
    finally:
        set_testing(before)
