"""The emulator: both services and a small object store on one loopback port.

:class:`Emulator` owns the server thread and the services (``emu.asr``,
``emu.rtc``, ``emu.storage``); the WSGI application, recording and faults are
in :mod:`._wsgi`, the types services share in :mod:`._protocol`.

It listens on loopback only and never calls anything outside this process. A
started emulator that is garbage-collected (or still running at interpreter
exit) stops its server thread and closes its socket, so re-running a notebook
cell with ``emu = Emulator().start()`` leaves no thread behind.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from ._asr_service import AsrService
from ._protocol import EmulatorRequest, EmulatorResponse, Fault, Service, TestCredentials
from ._rtc_service import RtcService
from ._state import StateDir
from ._storage_service import StorageService
from ._tos_service import TosService
from ._wsgi import EmulatorApp, FaultQueue, RecordedRequest, Server, ServerRequestHandler

__all__ = [
    "Emulator",
    "EmulatorApp",
    "EmulatorRequest",
    "EmulatorResponse",
    "Fault",
    "FaultQueue",
    "RecordedRequest",
    "Service",
    "TestCredentials",
]

#: Seconds :meth:`Emulator.stop` waits for the server thread to end.
STOP_TIMEOUT = 5.0


def _shutdown(server: Server, thread: threading.Thread) -> None:
    """Stop a server and its thread; holds no reference to the :class:`Emulator`."""
    if threading.current_thread() is thread:  # pragma: no cover - a collection on that thread
        # shutdown() waits for serve_forever() to return: never from its own thread.
        threading.Thread(target=_shutdown, args=(server, thread), daemon=True).start()
        return
    server.shutdown()
    server.server_close()
    thread.join(timeout=STOP_TIMEOUT)


class Emulator:
    """Both services on ``http://127.0.0.1:<random port>``, for tests, docs and the demo.

    Use as a context manager (or call :meth:`start` / :meth:`close`)::

        with Emulator() as emu:
            asr = emu.asr.client()
            ...

    In a notebook, ``emu = Emulator().start()`` and ``emu.close()`` when done.
    An emulator nobody references any more stops its server thread when it is
    garbage-collected, and every running one stops at interpreter exit; so keep
    a reference to the emulator (not only to a client of it) while you use it.

    Args:
        host: the loopback address to listen on.
        port: the port; ``0`` picks a free one.
        credentials: the fake credentials it accepts.
        services: replace the default services (ASR, RTC, storage).
        state_dir: a directory for state that outlives a restart (standard-API
            tasks, uploaded objects): a new emulator on the same directory
            answers the earlier tasks. By default a temporary directory,
            removed by :meth:`close`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: TestCredentials | None = None,
        services: Sequence[Service] | None = None,
        state_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if not host.startswith("127.") and host not in ("localhost", "::1"):
            raise ValueError("the emulator listens on loopback addresses only")
        self.host = host
        self.credentials = credentials or TestCredentials()
        #: Where tasks and uploaded objects are kept.
        self.state = StateDir(state_dir)
        self.app = EmulatorApp(services if services is not None else self._default_services())
        self._requested_port = port
        self._server: Server | None = None
        self._stopper: weakref.finalize[Any, Any] | None = None

    def _default_services(self) -> list[Service]:
        # Each service keeps its own state and registration API, reachable as
        # ``emulator.asr``, ``emulator.rtc`` and ``emulator.storage``. They hold
        # the emulator weakly, so the server thread does not keep it alive.
        self.asr = AsrService(self)
        self.storage = StorageService(self)
        self.rtc = RtcService(self)
        self.tos = TosService(self, self.state)
        return [self.asr, self.asr.standard, self.rtc, self.storage, self.tos]

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> Emulator:
        """Start serving in a background thread; returns ``self`` (a no-op when running)."""
        if self._server is not None:
            return self
        server = Server((self.host, self._requested_port), ServerRequestHandler)
        server.set_app(self.app)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="volcspeech-emulator",
            daemon=True,
        )
        thread.start()
        self._server = server
        # Runs on stop(), when this object is collected, or at interpreter exit.
        self._stopper = weakref.finalize(self, _shutdown, server, thread)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (a no-op when not running)."""
        stopper, self._stopper, self._server = self._stopper, None, None
        if stopper is not None:
            stopper()

    def close(self) -> None:
        """:meth:`stop`, and remove a temporary state directory (a given ``state_dir`` stays)."""
        self.stop()
        self.state.cleanup()

    @property
    def running(self) -> bool:
        """Whether the server is running."""
        return self._server is not None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._server is None:
            return "<Emulator stopped>"
        return f"<Emulator {self.url} running>"

    # --- addresses -------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port it listens on (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:50123``."""
        return f"http://{self.host}:{self.port}"

    # --- faults and recording --------------------------------------------------

    def inject(self, **kwargs: Any) -> Fault:
        """Queue a :class:`Fault` built from keyword arguments; see its fields."""
        return self.app.faults.add(Fault(**kwargs))

    @property
    def faults(self) -> FaultQueue:
        """The fault queue."""
        return self.app.faults

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order."""
        return self.app.requests

    def requests_for(self, service: str, action: str | None = None) -> list[RecordedRequest]:
        """Recorded requests of one service (and RTC action)."""
        return [
            r
            for r in self.app.requests
            if r.service == service and (action is None or r.action == action)
        ]

    def reset(self) -> None:
        """Forget recorded requests and queued faults."""
        self.app.faults.clear()
        with self.app._log_lock:
            self.app.requests.clear()
