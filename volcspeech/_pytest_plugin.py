"""The pytest plugin, registered through the ``pytest11`` entry point.

Fixtures:

* ``volcspeech_emulator``: a started :class:`~volcspeech.testing.Emulator`,
  stopped after the test.
* ``volcspeech_emulator_factory`` (session scope): ``factory(**kwargs)`` starts
  an :class:`~volcspeech.testing.Emulator` built with those arguments; use it
  for a specially configured emulator or one shared by a module or class
  (``with factory() as emu: yield emu`` stops it when that fixture ends).
  Any it started that are still running stop when the session ends.
* ``volcspeech_no_retry_sleep``: retries decide and log as usual but do not sleep.

It lives outside ``volcspeech.testing`` and imports it only inside the
fixtures, so loading the plugin costs nothing for projects that do not use
them (and coverage tools see volcspeech's modules imported normally).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from volcspeech.testing import Emulator


class _EmulatorFactory:
    """Starts emulators; stops the ones still running when :meth:`close` is called."""

    def __init__(self) -> None:
        # Weak: an emulator a test dropped is collected (and stops) without waiting for us.
        self._started: weakref.WeakSet[Emulator] = weakref.WeakSet()

    def __call__(self, **kwargs: Any) -> Emulator:
        """A started emulator; ``kwargs`` are :class:`~volcspeech.testing.Emulator`'s."""
        from volcspeech.testing import Emulator

        emulator = Emulator(**kwargs).start()
        self._started.add(emulator)
        return emulator

    def close(self) -> None:
        """Stop every emulator this factory started that is still running."""
        for emulator in list(self._started):
            emulator.stop()


@pytest.fixture(scope="session")
def volcspeech_emulator_factory() -> Iterator[_EmulatorFactory]:
    """Starts emulators on 127.0.0.1 on demand: ``volcspeech_emulator_factory(**kwargs)``."""
    factory = _EmulatorFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def volcspeech_emulator(volcspeech_emulator_factory: _EmulatorFactory) -> Iterator[Emulator]:
    """A running emulator on 127.0.0.1; stopped when the test ends."""
    with volcspeech_emulator_factory() as emulator:
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
