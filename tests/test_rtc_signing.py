"""RtcClient's signatures against the vendor's SignerV4, and the emulator's own verification."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from volcenginesdkcore import signv4 as vendor_signv4

from volcspeech._signing import canonical_query, sign
from volcspeech.credentials import OpenApiCredentials
from volcspeech.errors import (
    AuthenticationError,
    InvalidAccessKeyError,
    SignatureError,
    TimestampError,
)
from volcspeech.rtc import RtcClient, StartSegmentRequest, StorageConfig
from volcspeech.testing import Emulator, RecordedRequest
from volcspeech.testing._rtc_auth import verify_request
from volcspeech.testing._rtc_errors import RtcApiError

KA_AK = "AKLTMjI2ODVlYzI3ZGY1NGU4ZjhjYWRjMTlmNTM5OTZkYzE"
KA_SK = "TnpCak5XWXpZV1U0WkRaaE5ERmxaR0ZpTmpjeVkyUXlZek0wTWpJMU1qWQ=="
KA_SIGNATURE = "28eeabbbd726b87002e0fe58ad8c1c768e619b06e2646f35b6ad7ed029a6d8a7"


@pytest.fixture
def emu(volcspeech_emulator: Emulator) -> Emulator:
    """A running emulator (the plugin's)."""
    return volcspeech_emulator


@pytest.fixture(scope="module")
def shared(volcspeech_emulator_factory: Callable[[], Emulator]) -> Iterator[Emulator]:
    """One emulator for the tests whose requests are all refused."""
    with volcspeech_emulator_factory() as emulator:
        yield emulator


def _request(task_id: str = "t1") -> StartSegmentRequest:
    return StartSegmentRequest(
        app_id="app",
        room_id="room",
        task_id=task_id,
        storage_config=StorageConfig.s3_compatible(
            bucket="b", access_key="AK/ä+ =", secret_key="SK&?"
        ),
        identifier="prefix",
    )


def _vendor_authorization(
    recorded: RecordedRequest,
    *,
    ak: str,
    sk: str,
    token: str | None,
    region: str,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """Sign what the emulator received with volcenginesdkcore's SignerV4, clock pinned."""
    signed_at = dt.datetime.strptime(recorded.headers["x-date"], "%Y%m%dT%H%M%SZ")

    class _Fixed(dt.datetime):
        @classmethod
        def utcnow(cls) -> Any:
            return signed_at

    monkeypatch.setattr(vendor_signv4, "datetime", types.SimpleNamespace(datetime=_Fixed))
    headers = {"Host": recorded.headers["host"]}
    if recorded.method != "GET":  # (the WSGI server reports text/plain for a GET without one)
        headers["Content-Type"] = recorded.headers["content-type"]
    vendor_signv4.SignerV4.sign(
        "/",
        recorded.method,
        headers,
        recorded.body.decode("utf-8"),
        None,
        dict(recorded.query),
        ak,
        sk,
        region,
        "rtc",
        token,
    )
    if token:
        assert headers["X-Security-Token"] == recorded.headers["x-security-token"]
    assert headers["X-Content-Sha256"] == recorded.headers["x-content-sha256"]
    return headers["Authorization"]


@pytest.mark.parametrize("token", [None, "sts-session-token"])
def test_client_signatures_match_vendor_signer(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, token: str | None
) -> None:
    """POST and GET requests carry the Authorization the vendor's SignerV4 computes."""
    creds = emu.credentials
    with emu.rtc.client(session_token=token) as client:
        client.start_segment(_request())
        client.get_segment_task("app", "room", "t1")
    recorded = emu.requests_for("rtc")
    assert [r.method for r in recorded] == ["POST", "GET"]
    for request in recorded:
        assert request.status == 200
        expected = _vendor_authorization(
            request,
            ak=creds.access_key_id,
            sk=creds.secret_access_key,
            token=token,
            region="cn-north-1",
            monkeypatch=monkeypatch,
        )
        assert request.headers["authorization"] == expected
        assert request.headers["host"] == f"127.0.0.1:{emu.port}"
    post = recorded[0]
    assert post.query == {"Action": "StartSegment", "Version": "2023-11-01"}
    assert post.headers["content-type"] == "application/json"
    assert json.loads(post.body) == _request().to_dict()
    assert recorded[1].query == {
        "Action": "GetSegmentTask",
        "Version": "2023-11-01",
        "AppId": "app",
        "RoomId": "room",
        "TaskId": "t1",
    }
    assert recorded[1].body == b""


def test_every_attempt_is_signed_afresh(emu: Emulator) -> None:
    """A retried request asks the credential provider again and is signed again."""
    calls: list[int] = []
    creds = emu.credentials

    class Counting:
        def get_credentials(self) -> OpenApiCredentials:
            calls.append(1)
            return OpenApiCredentials(creds.access_key_id, creds.secret_access_key)

    emu.inject(service="rtc", code="InternalError.Busy", times=2)
    with emu.rtc.client(credentials=Counting()) as client:
        client.start_segment(_request())
    assert len(calls) == 3
    assert [r.status for r in emu.requests_for("rtc")] == [500, 500, 200]


def test_region_is_signed_and_echoed(emu: Emulator) -> None:
    """A client for ap-singapore-1 signs with that region; the answer names it."""
    with emu.rtc.client(region="ap-singapore-1") as client:
        result = client.start_segment(_request())
    assert result.raw["ResponseMetadata"]["Region"] == "ap-singapore-1"
    assert "/ap-singapore-1/rtc/request" in emu.requests_for("rtc")[0].headers["authorization"]


def test_emulator_verifier_accepts_documented_vector() -> None:
    """The emulator's independent verifier accepts the vendor's known-answer vector."""
    body_hash = hashlib.sha256(b"").hexdigest()
    headers = {
        "host": "iam.volcengineapi.com",
        "content-type": "application/x-www-form-urlencoded; charset=utf-8",
        "x-date": "20201230T081805Z",
        "x-content-sha256": body_hash,
        "authorization": f"HMAC-SHA256 Credential={KA_AK}/20201230/cn-north-1/iam/request, "
        f"SignedHeaders=content-type;host;x-content-sha256;x-date, Signature={KA_SIGNATURE}",
    }
    pairs = [("Action", "ListUsers"), ("Limit", "10"), ("Offset", "0"), ("Version", "2018-01-01")]
    now = dt.datetime(2020, 12, 30, 8, 18, 5, tzinfo=dt.timezone.utc).timestamp()
    kwargs: dict[str, Any] = {
        "method": "GET",
        "path": "/",
        "headers": headers,
        "body": b"",
        "access_key_id": KA_AK,
        "secret_access_key": KA_SK,
        "service": "iam",
        "now": now,
    }
    assert verify_request(query_pairs=pairs, **kwargs) == "cn-north-1"
    with pytest.raises(RtcApiError) as info:
        verify_request(query_pairs=[*pairs[:3], ("Version", "2018-01-02")], **kwargs)
    assert (info.value.code, info.value.code_n, info.value.status) == (
        "SignatureDoesNotMatch",
        100010,
        403,
    )


# --- raw requests the client would never send -------------------------------------------------


def _send(
    emu: Emulator,
    *,
    body: bytes,
    sent_body: bytes | None = None,
    query: dict[str, str] | None = None,
    sent_query: dict[str, str] | None = None,
    now: dt.datetime | None = None,
    ak: str | None = None,
    sk: str | None = None,
    service: str = "rtc",
    method: str = "POST",
    drop: tuple[str, ...] = (),
    extra: dict[str, str] | None = None,
) -> requests.Response:
    """Sign one request with volcspeech's signer, then alter what is sent as asked."""
    creds = emu.credentials
    query = query or {"Action": "StartSegment", "Version": "2023-11-01"}
    headers = {"Host": f"127.0.0.1:{emu.port}", "Content-Type": "application/json"}
    signed = sign(
        method=method,
        query=query,
        headers=headers,
        body=body,
        access_key_id=ak or creds.access_key_id,
        secret_access_key=sk or creds.secret_access_key,
        region="cn-north-1",
        service=service,
        now=now or dt.datetime.now(dt.timezone.utc),
    )
    all_headers = {**headers, **signed, **(extra or {})}
    for name in drop:
        all_headers.pop(name, None)
    url = f"{emu.url}/?{canonical_query(sent_query or query)}"
    return requests.request(
        method,
        url,
        data=sent_body if sent_body is not None else body,
        headers=all_headers,
        timeout=10,
    )


BODY = json.dumps(_request().to_dict()).encode()


def _error(response: requests.Response) -> tuple[int, str, int | None]:
    error = response.json()["ResponseMetadata"]["Error"]
    return response.status_code, error["Code"], error.get("CodeN")


def test_emulator_accepts_a_correct_raw_request(emu: Emulator) -> None:
    """The raw helper's untampered request succeeds (so the rejections below are meaningful)."""
    response = _send(emu, body=BODY)
    assert response.status_code == 200
    assert response.json()["Result"] == "ok"


def test_emulator_rejects_tampered_body(shared: Emulator) -> None:
    """A body changed after signing fails the body hash check."""
    tampered = BODY.replace(b'"room"', b'"ROOM"')
    assert _error(_send(shared, body=BODY, sent_body=tampered)) == (
        403,
        "SignatureDoesNotMatch",
        100010,
    )


def test_emulator_rejects_tampered_body_with_fixed_hash(shared: Emulator) -> None:
    """Recomputing X-Content-Sha256 for a tampered body does not save it: the signature fails."""
    tampered = BODY.replace(b'"room"', b'"ROOM"')
    response = _send(
        shared,
        body=BODY,
        sent_body=tampered,
        extra={"X-Content-Sha256": hashlib.sha256(tampered).hexdigest()},
    )
    assert _error(response) == (403, "SignatureDoesNotMatch", 100010)
    assert "signature does not match" in response.json()["ResponseMetadata"]["Error"]["Message"]


def test_emulator_rejects_tampered_query(shared: Emulator) -> None:
    """A query changed after signing fails the signature."""
    signed = {
        "Action": "GetSegmentTask",
        "Version": "2023-11-01",
        "AppId": "a",
        "RoomId": "r",
        "TaskId": "t1",
    }
    response = _send(
        shared, body=b"", method="GET", query=signed, sent_query={**signed, "TaskId": "t2"}
    )
    assert _error(response) == (403, "SignatureDoesNotMatch", 100010)


@pytest.mark.parametrize("minutes", [-20, 20])
def test_emulator_rejects_stale_or_future_dates(shared: Emulator, minutes: int) -> None:
    """X-Date more than 15 minutes off answers InvalidTimestamp (100006)."""
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    assert _error(_send(shared, body=BODY, now=when)) == (401, "InvalidTimestamp", 100006)


def test_emulator_accepts_small_clock_skew(emu: Emulator) -> None:
    """Ten minutes of skew is inside the 15-minute window."""
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
    assert _send(emu, body=BODY, now=when).status_code == 200


def test_emulator_rejects_wrong_keys(shared: Emulator) -> None:
    """An unknown access key answers InvalidAccessKey; a wrong secret SignatureDoesNotMatch."""
    assert _error(_send(shared, body=BODY, ak="AKLTsomeoneelse")) == (
        401,
        "InvalidAccessKey",
        100009,
    )
    assert _error(_send(shared, body=BODY, sk="wrong-secret")) == (
        403,
        "SignatureDoesNotMatch",
        100010,
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"drop": ("Authorization",)}, "MissingAuthenticationToken"),
        ({"extra": {"Authorization": "Basic abc"}}, "InvalidAuthorization"),
        ({"extra": {"Authorization": "HMAC-SHA256 Credential=x"}}, "InvalidAuthorization"),
        ({"extra": {"Authorization": "HMAC-SHA256 nonsense"}}, "InvalidAuthorization"),
        (
            {
                "extra": {
                    "Authorization": "HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=x"
                }
            },
            "InvalidAuthorization",
        ),
        ({"drop": ("X-Date",)}, "InvalidTimestamp"),
        ({"service": "iam"}, "SignatureDoesNotMatch"),
    ],
)
def test_emulator_rejects_malformed_authentication(
    shared: Emulator, kwargs: dict[str, Any], code: str
) -> None:
    """Missing or malformed authentication gets the gateway's code."""
    response = _send(shared, body=BODY, **kwargs)
    assert response.status_code in (401, 403)
    assert _error(response)[1] == code


def test_emulator_requires_host_and_date_signed(emu: Emulator) -> None:
    """SignedHeaders without host, or naming a header that was not sent, fail."""
    good = _send(emu, body=BODY)
    assert good.status_code == 200
    creds = emu.credentials
    now = dt.datetime.now(dt.timezone.utc)
    query = {"Action": "StartSegment", "Version": "2023-11-01"}
    signed = sign(
        method="POST",
        query=query,
        headers={"Content-Type": "application/json"},
        body=BODY,
        access_key_id=creds.access_key_id,
        secret_access_key=creds.secret_access_key,
        region="cn-north-1",
        service="rtc",
        now=now,
    )
    response = requests.post(
        f"{emu.url}/?{canonical_query(query)}",
        data=BODY,
        headers={"Content-Type": "application/json", **signed},
        timeout=10,
    )
    assert _error(response)[1] == "SignatureDoesNotMatch"
    assert "host and x-date" in response.json()["ResponseMetadata"]["Error"]["Message"]
    signed2 = sign(
        method="POST",
        query=query,
        headers={
            "Host": f"127.0.0.1:{emu.port}",
            "Content-Type": "application/json",
            "X-Extra": "1",
        },
        body=BODY,
        access_key_id=creds.access_key_id,
        secret_access_key=creds.secret_access_key,
        region="cn-north-1",
        service="rtc",
        now=now,
    )
    response = requests.post(
        f"{emu.url}/?{canonical_query(query)}",
        data=BODY,
        headers={"Host": f"127.0.0.1:{emu.port}", "Content-Type": "application/json", **signed2},
        timeout=10,
    )
    assert (
        "x-extra is not in the request" in response.json()["ResponseMetadata"]["Error"]["Message"]
    )


def test_client_maps_authentication_errors(emu: Emulator) -> None:
    """Typed errors carry code, CodeN and request id; authentication errors are not retried."""
    creds = emu.credentials
    client = RtcClient("AKLTwrong", creds.secret_access_key, endpoint=emu.url)
    with client, pytest.raises(InvalidAccessKeyError) as info:
        client.start_segment(_request())
    assert (info.value.code, info.value.code_n, info.value.http_status) == (
        "InvalidAccessKey",
        100009,
        401,
    )
    assert info.value.request_id
    client = RtcClient(creds.access_key_id, "wrong", endpoint=emu.url)
    with client, pytest.raises(SignatureError) as sig:
        client.start_segment(_request())
    assert sig.value.code_n == 100010
    assert "wrong" not in str(sig.value)
    assert isinstance(sig.value, AuthenticationError)
    emu.rtc.max_skew = -1.0  # every date is now "stale"
    with emu.rtc.client() as client, pytest.raises(TimestampError):
        client.start_segment(_request())
    assert len(emu.requests_for("rtc")) == 3
