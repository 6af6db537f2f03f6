"""The pytest plugin, registered through the ``pytest11`` entry point.

Fixtures:

* ``volcspeech_emulator``: a started :class:`~volcspeech.testing.Emulator`,
  stopped after the test.
* ``volcspeech_no_retry_sleep``: retries decide and log as usual but do not sleep.

It lives outside ``volcspeech.testing`` and imports it only inside the
fixtures, so loading the plugin costs nothing for projects that do not use
them (and coverage tools see volcspeech's modules imported normally).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from volcspeech.testing import Emulator


@pytest.fixture
def volcspeech_emulator() -> Iterator[Emulator]:
    """A running emulator on 127.0.0.1; stopped when the test ends."""
    from volcspeech.testing import Emulator

    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def volcspeech_no_retry_sleep() -> Iterator[None]:
    """Skip the sleeps between retries for the duration of a test."""
    from volcspeech.testing import is_testing, set_testing

    before = is_testing()
    set_testing(True)
    try:
        yield
    finally:
        set_testing(before)
