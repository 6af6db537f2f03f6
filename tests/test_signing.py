"""The V4 signer against the documented vector and the vendor's own signer."""

from __future__ import annotations

import datetime as dt
import types
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from volcenginesdkcore import signv4 as vendor_signv4

from volcspeech._signing import canonical_query, format_x_date, sign

KA_AK = "AKLTMjI2ODVlYzI3ZGY1NGU4ZjhjYWRjMTlmNTM5OTZkYzE"
KA_SK = "TnpCak5XWXpZV1U0WkRaaE5ERmxaR0ZpTmpjeVkyUXlZek0wTWpJMU1qWQ=="
KA_SIGNATURE = "28eeabbbd726b87002e0fe58ad8c1c768e619b06e2646f35b6ad7ed029a6d8a7"
KA_QUERY = {"Action": "ListUsers", "Limit": "10", "Offset": "0", "Version": "2018-01-01"}
KA_HEADERS = {
    "Host": "iam.volcengineapi.com",
    "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
}
KA_TIME = dt.datetime(2020, 12, 30, 8, 18, 5)


def _vendor_sign(
    *,
    method: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: str,
    ak: str,
    sk: str,
    token: str | None,
    region: str,
    service: str,
    now: dt.datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """Run volcenginesdkcore's SignerV4 with its clock pinned to ``now``."""

    class _FixedDatetime(dt.datetime):
        @classmethod
        def utcnow(cls) -> Any:
            return now

    monkeypatch.setattr(vendor_signv4, "datetime", types.SimpleNamespace(datetime=_FixedDatetime))
    out = dict(headers)
    vendor_signv4.SignerV4.sign("/", method, out, body, None, query, ak, sk, region, service, token)
    return out


def test_known_answer_vector() -> None:
    """The documented vector (vendor doc 6369/67270) gives the documented signature."""
    added = sign(
        method="GET",
        query=KA_QUERY,
        headers=KA_HEADERS,
        access_key_id=KA_AK,
        secret_access_key=KA_SK,
        region="cn-north-1",
        service="iam",
        now=KA_TIME,
    )
    assert added["X-Date"] == "20201230T081805Z"
    assert added["Authorization"] == (
        f"HMAC-SHA256 Credential={KA_AK}/20201230/cn-north-1/iam/request, "
        f"SignedHeaders=content-type;host;x-content-sha256;x-date, Signature={KA_SIGNATURE}"
    )


def test_known_answer_vector_matches_vendor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vendor's signer agrees with the documented vector too, so the comparison is sound."""
    vendor = _vendor_sign(
        method="GET",
        query=KA_QUERY,
        headers=KA_HEADERS,
        body="",
        ak=KA_AK,
        sk=KA_SK,
        token=None,
        region="cn-north-1",
        service="iam",
        now=KA_TIME,
        monkeypatch=monkeypatch,
    )
    assert vendor["Authorization"].endswith(f"Signature={KA_SIGNATURE}")


def test_aware_time_is_converted_to_utc() -> None:
    """An aware datetime in another zone signs as the same UTC instant."""
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert format_x_date(dt.datetime(2020, 12, 30, 16, 18, 5, tzinfo=shanghai)) == (
        "20201230T081805Z"
    )


def test_session_token_is_signed() -> None:
    """Temporary credentials add X-Security-Token and sign it."""
    added = sign(
        method="POST",
        headers={"Host": "rtc.volcengineapi.com", "Content-Type": "application/json"},
        body=b"{}",
        access_key_id="AK",
        secret_access_key="SK",
        session_token="TOKEN",
        region="cn-north-1",
        service="rtc",
        now=KA_TIME,
    )
    assert added["X-Security-Token"] == "TOKEN"
    assert "x-security-token" in added["Authorization"].split("SignedHeaders=")[1]
    assert "TOKEN" not in repr(added)


def test_canonical_query_encoding() -> None:
    """Spaces become %20, reserved and non-ASCII characters are escaped, pairs are sorted."""
    assert canonical_query({"b": "x y", "a": "é/+", "c": None}) == "a=%C3%A9%2F%2B&b=x%20y&c="


def test_canonical_query_repeated_keys() -> None:
    """Repeated keys (pairs or lists) are all signed, sorted by key then value."""
    assert canonical_query([("k", "2"), ("k", "1"), ("a", "")]) == "a=&k=1&k=2"
    assert canonical_query({"k": ["2", "1"]}) == "k=1&k=2"


def test_default_ports_are_dropped_from_host() -> None:
    """Host with :443 signs like the bare host, as the vendor does; other ports stay."""
    kwargs: dict[str, Any] = dict(
        method="GET",
        access_key_id="AK",
        secret_access_key="SK",
        region="cn-north-1",
        service="rtc",
        now=KA_TIME,
    )
    bare = sign(headers={"Host": "rtc.volcengineapi.com"}, **kwargs)
    with_port = sign(headers={"Host": "rtc.volcengineapi.com:443"}, **kwargs)
    other = sign(headers={"Host": "127.0.0.1:8080"}, **kwargs)
    assert bare["Authorization"] == with_port["Authorization"]
    assert other["Authorization"] != bare["Authorization"]


# Text that exercises RFC 3986 escaping: reserved, unicode, spaces, empties.
_query_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)
_header_value = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20
)
_header_name = st.from_regex(r"X-[A-Za-z][A-Za-z0-9]{0,10}", fullmatch=True).filter(
    lambda n: n.lower() not in ("x-date", "x-content-sha256", "x-security-token")
)


@pytest.mark.slow
@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    query=st.dictionaries(_query_text, _query_text, max_size=6),
    extra_headers=st.dictionaries(_header_name, _header_value, max_size=4),
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded; charset=utf-8", "text/plain"]
    ),
    host=st.sampled_from(["rtc.volcengineapi.com", "127.0.0.1:8123", "rtc.volcengineapi.com:443"]),
    body=st.text(max_size=200),
    token=st.one_of(st.none(), st.text(alphabet="abcdefXYZ0123456789", min_size=1, max_size=30)),
    region=st.sampled_from(["cn-north-1", "ap-singapore-1", "cn-beijing"]),
    service=st.sampled_from(["rtc", "iam", "sts"]),
    now=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)),
    sk=st.text(alphabet="ABCDEFabcdef0123456789=+/", min_size=1, max_size=60),
)
def test_matches_vendor_signer(
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    query: dict[str, str],
    extra_headers: dict[str, str],
    content_type: str,
    host: str,
    body: str,
    token: str | None,
    region: str,
    service: str,
    now: dt.datetime,
    sk: str,
) -> None:
    """Random requests sign exactly as volcenginesdkcore.signv4.SignerV4 signs them."""
    now = now.replace(microsecond=0)
    headers = {"Host": host, "Content-Type": content_type, **extra_headers}
    ours = sign(
        method=method,
        query=query,
        headers=headers,
        body=body.encode("utf-8"),
        access_key_id="AKLTtest",
        secret_access_key=sk,
        session_token=token,
        region=region,
        service=service,
        now=now,
    )
    vendor = _vendor_sign(
        method=method,
        query=query,
        headers=headers,
        body=body,
        ak="AKLTtest",
        sk=sk,
        token=token,
        region=region,
        service=service,
        now=now,
        monkeypatch=monkeypatch,
    )
    assert ours["Authorization"] == vendor["Authorization"]
    assert ours["X-Date"] == vendor["X-Date"]
    assert ours["X-Content-Sha256"] == vendor["X-Content-Sha256"]
