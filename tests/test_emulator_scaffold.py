"""The emulator scaffold: loopback only, recording, faults, lifecycle, plugin fixture."""

from __future__ import annotations

import http.client
import threading

import pytest
import requests

from volcspeech.testing import Emulator, EmulatorRequest, EmulatorResponse, Fault, FaultQueue


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
    assert {s.name for s in volcspeech_emulator.app.services} == {"asr", "rtc", "storage"}


def test_plugin_no_sleep_fixture(volcspeech_no_retry_sleep: None) -> None:
    """The no-sleep fixture switches testing mode on."""
    from volcspeech.testing import is_testing

    assert is_testing()
