"""Retried RTC writes report what happened: an attempt whose answer was lost may have
taken effect, and the retry's "already started" / "no such task" then confirms it.

The server here is a real ``http.server`` on 127.0.0.1 that acts on a request and then
loses the answer (a 500, a stall past the read timeout, or a dropped connection).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from volcspeech import RtcClient, Timeout, errors
from volcspeech.rtc import (
    StartSegmentRequest,
    StopSegmentRequest,
    StorageConfig,
    UpdateSegmentRequest,
)

ALREADY = "The task has been started. Please do not call the startup task interface repeatedly"


class _Service:
    """Tasks and the fault the first attempt of each action meets after acting."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.fault: dict[str, str] = {}  # action -> "500" | "stall" | "drop" | "429"
        self.seen: list[str] = []
        self.lock = threading.Lock()


class _Handler(http.server.BaseHTTPRequestHandler):
    service: _Service

    def do_POST(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        action = query["Action"][0]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        task = body["TaskId"]
        svc = self.service
        with svc.lock:
            svc.seen.append(action)
            fault = svc.fault.pop(action, None)
            if fault == "429":
                return self._answer(429, error="FlowLimitExceeded")
            if action == "StartSegment":
                result = ALREADY if task in svc.running else "ok"
                svc.running.add(task)
            elif action == "StopSegment":
                if task not in svc.running:
                    return self._answer(400, error="InvalidParameter.TaskNotFound")
                svc.running.discard(task)
                result = "ok"
            else:
                result = "ok"
        # The service acted; now the answer is lost.
        if fault == "500":
            return self._answer(500, error="InternalError")
        if fault == "stall":
            time.sleep(1.0)
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return None
        return self._answer(200, result=result)

    def _answer(self, status: int, *, result: Any = None, error: str | None = None) -> None:
        meta: dict[str, Any] = {"RequestId": f"req-{len(self.service.seen)}"}
        if error:
            meta["Error"] = {"Code": error, "Message": f"{error} from the test server"}
        payload = json.dumps({"ResponseMetadata": meta, "Result": result}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up on a stalled answer
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def rtc() -> Iterator[tuple[RtcClient, _Service]]:
    """A client of a local service whose answers can be lost after it acted."""
    service = _Service()
    handler = type("Handler", (_Handler,), {"service": service})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    client = RtcClient(
        "AKLTtest",
        "test-secret-key",
        endpoint=f"http://127.0.0.1:{server.server_address[1]}",
        timeout=Timeout(connect=2, read=0.3),
        max_retries=2,
    )
    try:
        yield client, service
    finally:
        client.close()
        server.shutdown()
        server.server_close()


START = StartSegmentRequest(
    app_id="app",
    room_id="room",
    task_id="t1",
    storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
)
STOP = StopSegmentRequest(app_id="app", room_id="room", task_id="t1")


@pytest.mark.parametrize("fault", ["500", "stall", "drop"])
def test_retried_start_confirmed_by_already_started(
    rtc: tuple[RtcClient, _Service], fault: str
) -> None:
    """StartSegment acted on, answer lost, retried: "already started" is this call's success."""
    client, service = rtc
    service.fault["StartSegment"] = fault
    result = client.start_segment(START)
    assert service.seen == ["StartSegment", "StartSegment"]
    assert result.ok
    assert result.confirmed_by_retry
    assert not result.already_running
    assert result.attempts == 2
    assert result.result == ALREADY  # the service's words are kept
    assert result.note is not None
    assert "earlier attempt" in result.note


@pytest.mark.parametrize("fault", ["500", "stall", "drop"])
def test_retried_stop_confirmed_by_task_not_found(
    rtc: tuple[RtcClient, _Service], fault: str
) -> None:
    """StopSegment acted on, answer lost, retried: "task not found" is this call's success."""
    client, service = rtc
    client.start_segment(START)
    service.fault["StopSegment"] = fault
    result = client.stop_segment(STOP)
    assert service.seen == ["StartSegment", "StopSegment", "StopSegment"]
    assert result.ok
    assert result.confirmed_by_retry
    assert result.attempts == 2
    assert result.result is None
    assert result.request_id == "req-3"
    assert result.note is not None
    assert "InvalidParameter.TaskNotFound" in result.note


def test_a_task_started_before_the_call_is_still_already_running(
    rtc: tuple[RtcClient, _Service],
) -> None:
    """Without a lost answer in this call, "already started" keeps meaning already running."""
    client, _ = rtc
    client.start_segment(START)
    again = client.start_segment(START)
    assert again.already_running
    assert not again.ok
    assert not again.confirmed_by_retry
    assert again.attempts == 1
    assert again.note is None


def test_a_rate_limited_first_attempt_confirms_nothing(rtc: tuple[RtcClient, _Service]) -> None:
    """A 429 means the service did not act: the retry's "already started" is not this call's."""
    client, service = rtc
    client.start_segment(START)
    service.fault["StartSegment"] = "429"
    again = client.start_segment(START)
    assert again.attempts == 2
    assert again.already_running
    assert not again.confirmed_by_retry
    assert not again.ok


def test_stopping_an_unknown_task_still_fails(rtc: tuple[RtcClient, _Service]) -> None:
    """With no earlier attempt in the call, "task not found" is the caller's error."""
    client, _ = rtc
    with pytest.raises(errors.InvalidRequestError, match="TaskNotFound"):
        client.stop_segment(STOP)


def test_retried_update_reports_its_attempts(rtc: tuple[RtcClient, _Service]) -> None:
    """An UpdateSegment retried after a lost answer succeeds and says it took two attempts."""
    client, service = rtc
    client.start_segment(START)
    service.fault["UpdateSegment"] = "500"
    result = client.update_segment(
        UpdateSegmentRequest(app_id="app", room_id="room", task_id="t1", duration=30)
    )
    assert result.ok
    assert result.attempts == 2
    assert not result.confirmed_by_retry


# --- the async client reads retried writes the same way ------------------------------


@pytest.fixture
def async_rtc() -> Iterator[tuple[str, _Service]]:
    """The endpoint of a local service whose answers can be lost after it acted."""
    service = _Service()
    handler = type("Handler", (_Handler,), {"service": service})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", service
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("fault", ["500", "stall", "drop"])
def test_async_retried_writes_are_confirmed_like_sync(
    async_rtc: tuple[str, _Service], fault: str
) -> None:
    """AsyncRtcClient reports a start and a stop whose answers were lost as confirmed."""
    pytest.importorskip("httpx")
    import asyncio

    from volcspeech.rtc import AsyncRtcClient

    endpoint, service = async_rtc

    async def run() -> tuple[Any, Any]:
        async with AsyncRtcClient(
            "AKLTtest",
            "test-secret-key",
            endpoint=endpoint,
            timeout=Timeout(connect=2, read=0.3),
            max_retries=2,
        ) as client:
            service.fault["StartSegment"] = fault
            started = await client.start_segment(START)
            service.fault["StopSegment"] = fault
            stopped = await client.stop_segment(STOP)
            return started, stopped

    started, stopped = asyncio.run(run())
    assert service.seen == ["StartSegment"] * 2 + ["StopSegment"] * 2
    assert started.ok
    assert started.confirmed_by_retry
    assert not started.already_running
    assert (started.attempts, stopped.attempts) == (2, 2)
    assert stopped.ok
    assert stopped.confirmed_by_retry
    assert stopped.note is not None
    assert "InvalidParameter.TaskNotFound" in stopped.note
