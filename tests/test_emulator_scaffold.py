"""The emulator scaffold: loopback only, recording, faults, lifecycle, plugin fixture."""

from __future__ import annotations

import gc
import http.client
import socket
import subprocess
import sys
import threading
import time
from typing import Callable

import pytest
import requests

from volcspeech.testing import (
    Emulator,
    EmulatorRequest,
    EmulatorResponse,
    Fault,
    FaultQueue,
    TestCredentials,
)


class Hello:
    name = "hello"

    def claims(self, request: EmulatorRequest) -> bool:
        return request.path.startswith("/hello")

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        body = request.read_body(100)
        return EmulatorResponse.json(200, {"got": body.decode(), "q": request.query}, code="ok")

    def fault_response(self, request: EmulatorRequest, fault: Fault) -> EmulatorResponse:
        return EmulatorResponse.json(fault.http_status or 500, {"code": fault.code})


def test_listens_on_loopback_random_port() -> None:
    """Two emulators get different free ports on 127.0.0.1."""
    with Emulator(services=[]) as a, Emulator(services=[]) as b:
        assert a.url.startswith("http://127.0.0.1:")
        assert a.port != b.port


def test_refuses_non_loopback_hosts() -> None:
    """Binding anywhere but loopback is refused."""
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host="0.0.0.0", services=[])  # noqa: S104


def test_port_before_start_is_an_error() -> None:
    """Asking for the port of a stopped emulator is a clear error."""
    with pytest.raises(RuntimeError, match="not started"):
        _ = Emulator(services=[]).port


def test_records_requests_and_unknown_paths() -> None:
    """Requests are recorded with method, path, query, headers and body; unknown paths 404."""
    with Emulator(services=[Hello()]) as emu:
        r = requests.post(emu.url + "/hello?x=1", data=b"hi", headers={"X-A": "b"}, timeout=5)
        assert r.json() == {"got": "hi", "q": {"x": "1"}}
        assert requests.get(emu.url + "/nope", timeout=5).status_code == 404
        first, second = emu.requests
        assert (first.service, first.method, first.path, first.body, first.code) == (
            "hello",
            "POST",
            "/hello",
            b"hi",
            "ok",
        )
        assert first.headers["x-a"] == "b"
        assert second.service == "none"
        assert emu.requests_for("hello") == [first]
        assert "body_size=2" in repr(first)
        emu.reset()
        assert emu.requests == []


def test_fault_counts_down_and_matches_service() -> None:
    """A fault applies to its service only, for `times` requests."""
    with Emulator(services=[Hello()]) as emu:
        emu.inject(service="other", http_status=500)
        emu.inject(service="hello", http_status=503, code="busy", times=2)
        statuses = [requests.get(emu.url + "/hello", timeout=5).status_code for _ in range(3)]
        assert statuses == [503, 503, 200]
        assert emu.faults.pending() == 1
        assert emu.faults.injected == 2


def test_fault_retry_after_header() -> None:
    """retry_after adds a Retry-After header."""
    with Emulator(services=[Hello()]) as emu:
        emu.inject(http_status=429, retry_after=1.5)
        assert requests.get(emu.url + "/hello", timeout=5).headers["Retry-After"] == "1.5"


def test_fault_drop_resets_connection() -> None:
    """drop=True resets the connection without an answer."""
    with Emulator(services=[Hello()]) as emu:
        emu.inject(drop=True)
        with pytest.raises(requests.ConnectionError):
            requests.get(emu.url + "/hello", timeout=5)
        assert requests.get(emu.url + "/hello", timeout=5).status_code == 200


def test_fault_truncate_sends_partial_body() -> None:
    """truncate=True announces more bytes than it sends."""
    with Emulator(services=[Hello()]) as emu:
        emu.inject(truncate=True, passthrough=True)
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
        conn.request("GET", "/hello")
        response = conn.getresponse()
        with pytest.raises(http.client.IncompleteRead):
            response.read()


def test_fault_queue_is_thread_safe() -> None:
    """Concurrent takers consume exactly `times` injections."""
    queue = FaultQueue()
    queue.add(Fault(times=100))
    taken: list[Fault | None] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            fault = queue.take("any-service", None)
            with lock:
                taken.append(fault)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(f is not None for f in taken) == 100
    queue.clear()
    assert queue.pending() == 0


def test_chunked_request_bodies_are_decoded() -> None:
    """A chunked request body reaches the service whole."""
    with Emulator(services=[Hello()]) as emu:
        r = requests.post(emu.url + "/hello", data=iter([b"ab", b"", b"cd"]), timeout=5)
        assert r.json()["got"] == "abcd"


def test_service_bug_is_a_500() -> None:
    """An exception inside a service becomes a loud 500, not a hang."""

    class Broken(Hello):
        def handle(self, request: EmulatorRequest) -> EmulatorResponse:
            raise RuntimeError("bug")

    with Emulator(services=[Broken()]) as emu:
        r = requests.get(emu.url + "/hello", timeout=5)
        assert r.status_code == 500
        assert "emulator bug" in r.text


def test_stop_is_idempotent_and_restart_gets_new_port() -> None:
    """stop() twice is fine; start() after stop() serves again."""
    emu = Emulator(services=[Hello()])
    emu.start()
    emu.start()
    emu.stop()
    emu.stop()
    emu.start()
    try:
        assert requests.get(emu.url + "/hello", timeout=5).status_code == 200
    finally:
        emu.stop()


def test_plugin_fixture(volcspeech_emulator: Emulator) -> None:
    """The pytest plugin's fixture yields a running emulator with all services."""
    assert volcspeech_emulator.port > 0
    assert {s.name for s in volcspeech_emulator.app.services} == {"asr", "rtc", "storage", "tos"}


def test_plugin_no_sleep_fixture(volcspeech_no_retry_sleep: None) -> None:
    """The no-sleep fixture switches testing mode on."""
    from volcspeech.testing import is_testing

    assert is_testing()


def _emulator_threads() -> int:
    return sum(t.name == "volcspeech-emulator" and t.is_alive() for t in threading.enumerate())


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_repr_shows_the_url_and_state() -> None:
    """repr names the URL while running and says 'stopped' otherwise; close() stops it."""
    emu = Emulator(services=[])
    assert repr(emu) == "<Emulator stopped>"
    emu.start()
    assert repr(emu) == f"<Emulator {emu.url} running>"
    assert emu.running
    emu.close()
    assert repr(emu) == "<Emulator stopped>"
    assert not emu.running


def test_an_abandoned_emulator_stops_its_thread() -> None:
    """A started emulator nobody references stops its server and closes its socket on collection."""
    before = _emulator_threads()
    emu: Emulator | None = Emulator().start()
    assert emu is not None
    port = emu.port
    assert _emulator_threads() == before + 1
    emu = None
    gc.collect()
    deadline = time.monotonic() + 5
    while _emulator_threads() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _emulator_threads() == before
    assert _refused(port)


def test_notebook_cell_rerun_leaves_one_thread() -> None:
    """Running `emu = Emulator().start()` three times leaves one emulator thread, not three."""
    before = _emulator_threads()
    namespace: dict[str, object] = {"Emulator": Emulator}
    for _ in range(3):
        exec("emu = Emulator().start()\nclient = emu.asr.client()", namespace)  # noqa: S102
        gc.collect()
    assert _emulator_threads() == before + 1
    emu = namespace.pop("emu")
    assert isinstance(emu, Emulator)
    emu.close()
    assert _emulator_threads() == before


def test_a_client_keeps_its_emulator_running() -> None:
    """A client made by `emu.asr.client()` keeps the emulator serving after `emu` is dropped."""
    from volcspeech.testing import sample_audio

    before = _emulator_threads()
    emu: Emulator | None = Emulator().start()
    assert emu is not None
    asr = emu.asr.client()
    emu = None
    gc.collect()
    assert _emulator_threads() == before + 1
    assert asr.recognize(sample_audio("hello.wav")).text == ""  # served, no ground truth
    asr.close()
    del asr
    gc.collect()
    deadline = time.monotonic() + 5
    while _emulator_threads() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _emulator_threads() == before


def test_services_outliving_their_emulator_say_so() -> None:
    """A service kept after its emulator was collected raises a clear error, not AttributeError."""
    asr = Emulator().asr
    gc.collect()
    with pytest.raises(RuntimeError, match="keep a reference to the Emulator"):
        _ = asr.endpoint


def test_emulators_still_running_stop_at_exit() -> None:
    """An emulator left running when the interpreter exits is stopped and its socket closed."""
    # Finalizers run at exit in reverse order of creation: a probe created before
    # the emulator started looks after the emulator's own finalizer has run.
    code = (
        "import threading, weakref\n"
        "from volcspeech.testing import Emulator\n"
        "seen = {}\n"
        "def probe():\n"
        "    alive = seen['thread'].is_alive() or seen['server'].socket.fileno() != -1\n"
        "    print('open' if alive else 'closed')\n"
        "class Probe: pass\n"
        "anchor = Probe()\n"
        "weakref.finalize(anchor, probe)\n"
        "emu = Emulator().start()\n"
        "seen['server'] = emu._server\n"
        "seen['thread'] = next(t for t in threading.enumerate() "
        "if t.name == 'volcspeech-emulator')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "closed"


def test_plugin_factory_builds_configured_emulators(
    volcspeech_emulator_factory: Callable[..., Emulator],
) -> None:
    """The factory starts an emulator with the given arguments; the with block stops it."""
    credentials = TestCredentials(app_key="custom-app")
    with volcspeech_emulator_factory(credentials=credentials, services=[Hello()]) as emu:
        assert emu.running
        assert emu.credentials.app_key == "custom-app"
        assert requests.get(emu.url + "/hello", timeout=5).status_code == 200
    assert not emu.running


def test_plugin_factory_stops_what_is_left_when_closed() -> None:
    """Closing the factory (at the end of the session) stops every emulator still running."""
    from volcspeech._pytest_plugin import _EmulatorFactory

    factory = _EmulatorFactory()
    first, second = factory(services=[]), factory(services=[])
    second.stop()
    factory.close()
    assert not first.running
    assert not second.running
