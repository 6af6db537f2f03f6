"""The shared HTTP layer: retries, backoff, Retry-After, deadlines, timeouts, translation."""

from __future__ import annotations

import json
import logging
import pickle
import random
import socket
from collections.abc import Iterator
from typing import Any, Callable

import attrs
import pytest
import requests

from volcspeech import HttpRequest, HttpResponse, _http, _retry, errors
from volcspeech._http import RedactingFilter, RequestsTransport, RetryPolicy, Timeout
from volcspeech._log import redact
from volcspeech._messages import DEFAULT_TIMEOUT, StreamBody
from volcspeech._retry import DEFAULT_RETRY, parse_retry_after
from volcspeech._transport import CallSettings, send
from volcspeech.testing import Emulator, EmulatorRequest, EmulatorResponse, Fault


class HttpClient:
    """The requests transport and the retry loop, wired the way a client wires them."""

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self.transport = RequestsTransport(session)
        self.session = self.transport.session
        self.settings = CallSettings(timeout=timeout, retry=retry, log_id_header="X-Tt-Logid")

    def _environment(self, url: str) -> dict[str, Any]:
        return self.transport._environment(url)

    def close(self) -> None:
        self.transport.close()

    def call(
        self,
        build: Callable[[], HttpRequest],
        read: Callable[[HttpResponse], Any],
        *,
        request_id: str | None = None,
        timeout: Timeout | None = None,
        can_replay: Callable[[], bool] = lambda: True,
    ) -> Any:
        settings = (
            self.settings if timeout is None else attrs.evolve(self.settings, timeout=timeout)
        )
        return send(
            self.transport,
            build,
            read,
            settings=settings,
            request_id=request_id,
            can_replay=can_replay,
        )


class EchoService:
    """A minimal service: answers 200 with the body size; faults as a JSON error."""

    name = "echo"

    def claims(self, request: EmulatorRequest) -> bool:
        return True

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        return EmulatorResponse.json(200, {"size": len(request.read_body(1 << 20))})

    def fault_response(self, request: EmulatorRequest, fault: Fault) -> EmulatorResponse:
        return EmulatorResponse.json(fault.http_status or 500, {"code": fault.code})


def handle(response: HttpResponse) -> Any:
    """Map statuses like a service client would."""
    if response.status >= 400:
        cls = errors.asr_error_class(None, response.status)
        raise cls(
            "failed",
            http_status=response.status,
            request_id="rid-1",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    return json.loads(response.body)


@pytest.fixture
def server() -> Iterator[Emulator]:
    with Emulator(services=[EchoService()]) as emulator:
        yield emulator


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(_retry, "sleep", recorded.append)
    return recorded


def post(server: Emulator, body: bytes = b"abc") -> Any:
    return lambda: HttpRequest("POST", server.url + "/echo", {"X-Test": "1"}, body=body)


def test_transient_failures_are_retried_then_succeed(server: Emulator, waits: list[float]) -> None:
    """503, a reset and a truncated body are each retried, and the call then succeeds."""
    server.inject(http_status=503)
    server.inject(drop=True)
    server.inject(truncate=True)
    client = HttpClient(retry=RetryPolicy(attempts=5, wait_initial=0.01))
    assert client.call(post(server), handle, request_id="r1") == {"size": 3}
    assert len(waits) == 3
    assert [r.status for r in server.requests] == [503, 0, 500, 200]


def test_backoff_grows_with_full_jitter(server: Emulator, waits: list[float]) -> None:
    """Waits stay under a doubling ceiling, vary (jitter) and grow on average."""
    random.seed(1234)
    policy = RetryPolicy(attempts=4, wait_initial=0.1, wait_max=10)
    client = HttpClient(retry=policy)
    runs = 40
    for _ in range(runs):
        server.inject(http_status=500, times=3)
        client.call(post(server), handle)
    per_retry = [waits[i::3] for i in range(3)]
    for n, values in enumerate(per_retry, start=1):
        assert all(0 <= w <= policy.backoff_ceiling(n) for w in values)
        assert len(set(values)) > 1
    means = [sum(v) / runs for v in per_retry]
    assert means[0] < means[1] < means[2]
    assert [policy.backoff_ceiling(n) for n in (1, 2, 3)] == [0.1, 0.2, 0.4]


def test_backoff_ceiling_is_capped() -> None:
    """The ceiling never exceeds wait_max however many retries."""
    assert RetryPolicy(wait_initial=1, wait_max=5).backoff_ceiling(30) == 5


def test_retry_after_is_honoured(server: Emulator, waits: list[float]) -> None:
    """A 429 with Retry-After waits at least that long before the retry."""
    server.inject(http_status=429, retry_after=2.5)
    client = HttpClient(retry=RetryPolicy(attempts=3, wait_initial=0.01))
    client.call(post(server), handle)
    assert waits == [2.5]


def test_retry_after_longer_than_budget_stops(server: Emulator, waits: list[float]) -> None:
    """A Retry-After beyond the total time budget ends the retries with the error."""
    server.inject(http_status=429, retry_after=30)
    client = HttpClient(retry=RetryPolicy(attempts=3, total_timeout=5))
    with pytest.raises(errors.RateLimitError) as info:
        client.call(post(server), handle)
    assert info.value.retry_after == 30
    assert waits == []


def test_non_retryable_errors_raise_at_once(server: Emulator, waits: list[float]) -> None:
    """A 400 is raised after one attempt, with its request id."""
    server.inject(http_status=400)
    client = HttpClient(retry=RetryPolicy(attempts=5))
    with pytest.raises(errors.InvalidRequestError) as info:
        client.call(post(server), handle)
    assert info.value.request_id == "rid-1"
    assert len(server.requests) == 1
    assert waits == []


def test_attempts_are_bounded(server: Emulator, waits: list[float]) -> None:
    """After the last attempt the last error is raised as a volcspeech error."""
    server.inject(http_status=503, times=10)
    client = HttpClient(retry=RetryPolicy(attempts=3))
    with pytest.raises(errors.ServerError) as info:
        client.call(post(server), handle)
    assert info.value.http_status == 503
    assert len(server.requests) == 3
    assert len(waits) == 2


def test_total_time_is_bounded(server: Emulator) -> None:
    """Slow failing attempts stop once the total time budget is spent."""
    _http.set_testing(False)
    try:
        server.inject(http_status=503, delay=0.2, times=20)
        client = HttpClient(
            retry=RetryPolicy(attempts=20, total_timeout=0.6, wait_initial=0.01, wait_max=0.02)
        )
        with pytest.raises(errors.ServerError):
            client.call(post(server), handle)
    finally:
        _http.set_testing(True)
    assert 2 <= len(server.requests) <= 4


def test_read_timeout_becomes_volcspeech_timeout(server: Emulator) -> None:
    """A slow answer raises volcspeech.errors.TimeoutError carrying the request id."""
    server.inject(delay=0.5, passthrough=True, times=2)
    client = HttpClient(retry=RetryPolicy(attempts=2), timeout=Timeout(connect=1, read=0.1))
    with pytest.raises(errors.TimeoutError) as info:
        client.call(post(server), handle, request_id="req-42")
    assert info.value.request_id == "req-42"
    assert "req-42" in str(info.value)
    assert isinstance(info.value, TimeoutError)  # also the builtin


def test_per_call_timeout_overrides_client(server: Emulator) -> None:
    """A per-call timeout applies to that call only."""
    server.inject(delay=0.3, passthrough=True)
    client = HttpClient(retry=RetryPolicy(attempts=1), timeout=Timeout(1, 5))
    with pytest.raises(errors.TimeoutError):
        client.call(post(server), handle, timeout=Timeout(1, 0.05))
    assert client.call(post(server), handle) == {"size": 3}


def test_connection_refused_is_transport_error(waits: list[float]) -> None:
    """A closed port gives a retryable TransportError, never a requests exception."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    client = HttpClient(retry=RetryPolicy(attempts=2))
    spec = HttpRequest("GET", f"http://127.0.0.1:{port}/")
    with pytest.raises(errors.TransportError) as info:
        client.call(lambda: spec, handle, request_id="rq")
    assert not isinstance(info.value, errors.TimeoutError)
    assert info.value.retryable
    assert len(waits) == 1


def test_invalid_url_is_configuration_error() -> None:
    """A malformed endpoint is a ConfigurationError, not retried."""
    client = HttpClient()
    with pytest.raises(errors.ConfigurationError):
        client.call(lambda: HttpRequest("GET", "not a url"), handle)


def test_not_replayable_body_is_not_retried(server: Emulator, waits: list[float]) -> None:
    """When the body cannot be produced again the error says why and is raised at once."""
    server.inject(http_status=503)
    client = HttpClient(retry=RetryPolicy(attempts=4))
    with pytest.raises(errors.ServerError) as info:
        client.call(post(server), handle, can_replay=lambda: False)
    assert "not retried" in str(info.value)
    assert "non-seekable" in info.value.message
    assert info.value.http_status == 503
    assert waits == []


def test_body_is_rebuilt_for_each_attempt(server: Emulator) -> None:
    """build() runs once per attempt, so a stream body is fresh every time."""
    server.inject(http_status=500, times=2)
    built: list[int] = []

    def build() -> HttpRequest:
        built.append(1)
        return HttpRequest(
            "POST", server.url + "/", body=StreamBody(4, lambda: iter([b"ab", b"cd"]))
        )

    client = HttpClient(retry=RetryPolicy(attempts=3))
    assert client.call(build, handle) == {"size": 4}
    assert len(built) == 3


def test_user_agent_and_timeouts_always_sent(server: Emulator) -> None:
    """Every request names volcspeech, Python and requests in User-Agent."""
    HttpClient().call(post(server), handle)
    agent = server.requests[0].headers["user-agent"]
    assert agent.startswith("volcspeech/")
    assert "python/" in agent
    assert "requests/" in agent


def test_injected_session_is_used_and_not_closed(server: Emulator) -> None:
    """A caller's session carries their settings and survives close()."""
    session = requests.Session()
    session.headers["X-From-Session"] = "yes"
    client = HttpClient(session=session)
    client.call(post(server), handle)
    client.close()
    assert server.requests[0].headers["x-from-session"] == "yes"
    assert session.get(server.url + "/").status_code == 200


def test_debug_log_lines_per_request_and_retry(
    server: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """One DEBUG line per request and one per retry decision, with the request id."""
    server.inject(http_status=503)
    with caplog.at_level(logging.DEBUG, logger="volcspeech"):
        HttpClient(retry=RetryPolicy(attempts=2)).call(post(server), handle, request_id="rid-9")
    lines = [r.getMessage() for r in caplog.records if r.name == "volcspeech"]
    assert sum("-> HTTP" in line for line in lines) == 2
    assert sum(line.startswith("retrying") for line in lines) == 1
    assert all("rid-9" in line for line in lines if "HTTP" in line or "retrying" in line)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        ("-1", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    """Retry-After in seconds parses; junk is ignored."""
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    """Retry-After as an HTTP date gives the seconds until then."""
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0


@pytest.mark.parametrize(
    "value",
    [0, -1, "3", True, None],
)
def test_timeout_validation(value: Any) -> None:
    """Timeouts must be positive numbers: anything else is a ConfigurationError."""
    with pytest.raises(errors.ConfigurationError, match="timeout"):
        Timeout(connect=value)


def test_timeout_coerce() -> None:
    """One number sets both timeouts; a pair sets them separately."""
    assert Timeout.coerce(5) == Timeout(5, 5)
    assert Timeout.coerce((1, 2)) == Timeout(1, 2)
    assert Timeout.coerce(None) == _http.DEFAULT_TIMEOUT
    with pytest.raises(errors.ConfigurationError):
        Timeout.coerce((1, 2, 3))  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigurationError):
        Timeout.coerce("5")  # type: ignore[arg-type]


def test_retry_policy_validation() -> None:
    """max_retries must be a non-negative integer; attempts at least one."""
    assert RetryPolicy.from_max_retries(0).attempts == 1
    assert RetryPolicy.from_max_retries(None) == RetryPolicy()
    for bad in (-1, 1.5, True):
        with pytest.raises(errors.ConfigurationError, match="max_retries"):
            RetryPolicy.from_max_retries(bad)  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigurationError, match="attempts"):
        RetryPolicy(attempts=0)


def test_redact_headers_and_fields() -> None:
    """Credential headers and secret JSON fields are replaced by ***."""
    text = (
        "X-Api-Access-Key: tok123\n 'Authorization': 'HMAC-SHA256 Credential=AK/x, Signature=ab' "
        '{"SecretKey": "s3cr3t", "AccessKey": "ak\\"q", "Bucket": "b"} X-Api-Key=key9'
    )
    out = redact(text)
    for secret in ("tok123", "Signature=ab", "s3cr3t", 'ak\\"q', "key9"):
        assert secret not in out
    assert '"Bucket": "b"' in out


def test_redacting_filter_rewrites_records() -> None:
    """The filter rewrites a record's message (with args) and keeps the record."""
    record = logging.LogRecord(
        "volcspeech", logging.DEBUG, __file__, 1, "headers %s", ({"X-Api-Key": "zzz"},), None
    )
    assert RedactingFilter().filter(record)
    assert "zzz" not in record.getMessage()
    broken = logging.LogRecord("x", logging.DEBUG, __file__, 1, "%d", ("not a number",), None)
    assert RedactingFilter().filter(broken)


def test_errors_pickle_round_trip() -> None:
    """Errors pickle with their fields, so they cross process pools."""
    err = errors.ServerBusyError("busy", code=55000031, http_status=503, log_id="L", request_id="R")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is errors.ServerBusyError
    assert (back.code, back.log_id, back.request_id, back.retryable) == (55000031, "L", "R", True)
    t = pickle.loads(pickle.dumps(errors.TimeoutError("slow", request_id="Q")))
    assert t.request_id == "Q"
    v = pickle.loads(pickle.dumps(errors.InvalidAudioError("bad", field="audio")))
    assert v.field == "audio"


def test_environment_proxies_are_read_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxy variables apply to volcspeech's own session, read once per host, NO_PROXY included."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "skip.example.com")
    client = HttpClient()
    env = client._environment("https://openspeech.bytedance.com/api/v3/x")
    assert env["proxies"]["https"] == "http://proxy.internal:3128"
    monkeypatch.setenv("HTTPS_PROXY", "http://changed:1")
    assert client._environment("https://openspeech.bytedance.com/other") is env  # cached
    assert "https" not in client._environment("https://skip.example.com/")["proxies"]
    assert client.session.trust_env is False


def test_proxy_is_really_used(server: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request to an unreachable host goes through the HTTP_PROXY from the environment."""
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = HttpClient(retry=RetryPolicy(attempts=1))
    spec = HttpRequest("POST", "http://asr.invalid/echo", body=b"abcd")
    assert client.call(lambda: spec, handle) == {"size": 4}
    assert server.requests[0].path.endswith("asr.invalid/echo")


def test_callers_session_keeps_its_own_environment_handling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A session passed in is left as it is: requests resolves its environment itself."""
    session = requests.Session()
    client = HttpClient(session=session)
    assert client._environment("https://x.example.com/") == {}
    assert session.trust_env is True


class LogIdService(EchoService):
    """Answers with an X-Tt-Logid header, like the ASR service."""

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        response = super().handle(request)
        response.headers.append(("X-Tt-Logid", "LOG-42"))
        return response


def test_truncated_answer_keeps_its_log_id(waits: list[float]) -> None:
    """A body cut short after the headers gives a TransportError carrying the server log id."""
    with Emulator(services=[LogIdService()]) as emu:
        emu.inject(truncate=True, passthrough=True, times=2)
        client = HttpClient(retry=RetryPolicy(attempts=2))
        with pytest.raises(errors.TransportError) as info:
            client.call(post(emu), handle, request_id="rq-7")
    assert info.value.log_id == "LOG-42"
    assert info.value.request_id == "rq-7"
    assert "log_id=LOG-42" in str(info.value)
    back = pickle.loads(pickle.dumps(info.value))
    assert (str(back), back.log_id) == (str(info.value), "LOG-42")


def test_client_retry_policy_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients take a whole RetryPolicy, or max_retries, but not both."""
    from volcspeech import AsrClient, RtcClient

    policy = RetryPolicy(attempts=7, total_timeout=12)
    asr = AsrClient(api_key="k", retry=policy)
    rtc = RtcClient("AK", "SK", retry=policy)
    assert asr.retry_policy is policy
    assert rtc.retry_policy is policy
    with pytest.raises(errors.ConfigurationError, match="not both"):
        AsrClient(api_key="k", retry=policy, max_retries=2)
    with pytest.raises(errors.ConfigurationError, match="RetryPolicy"):
        RtcClient("AK", "SK", retry=3)  # type: ignore[arg-type]
    monkeypatch.setenv("VOLCSPEECH_API_KEY", "k")  # a pickled client re-reads its keys
    restored = pickle.loads(pickle.dumps(AsrClient(retry=policy)))  # keys given: no pickle
    assert restored.retry_policy == policy
