"""Where the emulator keeps what must outlive a request: uploaded objects and standard-API tasks.

With ``Emulator(state_dir=...)`` it is that directory, kept after the
emulator stops, so a new emulator on the same directory knows the earlier
tasks and objects (a "restart"). Without it, a temporary directory is made on
first use and removed when the emulator closes (or is garbage-collected).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from typing import Any

__all__ = ["StateDir"]


class StateDir:
    """A directory for emulator state, given or temporary.

    Args:
        path: the directory to use (created if missing), or ``None`` for a
            temporary one.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._given = None if path is None else os.fspath(path)
        self._temp: str | None = None
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @property
    def persistent(self) -> bool:
        """Whether the directory was given (and outlives the emulator)."""
        return self._given is not None

    @property
    def path(self) -> str:
        """The directory (created on first use)."""
        if self._given is not None:
            os.makedirs(self._given, exist_ok=True)
            return self._given
        with self._lock:
            if self._temp is None:
                self._temp = tempfile.mkdtemp(prefix="volcspeech-emulator-")
                self._finalizer = weakref.finalize(
                    self, shutil.rmtree, self._temp, ignore_errors=True
                )
            return self._temp

    def sub(self, *parts: str) -> str:
        """A subdirectory (created)."""
        path = os.path.join(self.path, *parts)
        os.makedirs(path, exist_ok=True)
        return path

    def cleanup(self) -> None:
        """Remove a temporary directory (a given one stays)."""
        with self._lock:
            finalizer, self._finalizer, self._temp = self._finalizer, None, None
        if finalizer is not None:
            finalizer()
