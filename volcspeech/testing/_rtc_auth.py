"""The emulator's check of Volcengine V4 signatures, written apart from the SDK's signer.

It deliberately shares no code with ``volcspeech._signing``: a bug in the
signer must not be mirrored here and go unnoticed. It follows the vendor
description (doc 6369/67269) and the gateway's behaviour:

* ``Authorization: HMAC-SHA256 Credential=AK/yyyymmdd/region/service/request,
  SignedHeaders=..., Signature=...``;
* ``X-Date`` within ``max_skew`` seconds (15 minutes) of the emulator's clock;
* ``X-Content-Sha256`` equal to the hash of the body actually received;
* the canonical request rebuilt from what arrived: method, path, the decoded
  and re-encoded sorted query, the signed headers (``host`` without a default
  port), the signed header names and the body hash.

Failures carry the gateway's codes: ``MissingAuthenticationToken`` and
``InvalidAuthorization`` (no CodeN; HTTP 401), ``InvalidAccessKey`` (100009,
HTTP 401), ``InvalidTimestamp`` (100006, HTTP 401) and
``SignatureDoesNotMatch`` (100010, HTTP 403). The HTTP statuses are the
emulator's choice; the public material gives only the codes.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping

from ._rtc_errors import RtcApiError

__all__ = ["verify_request"]

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_X_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _mismatch(message: str) -> RtcApiError:
    return RtcApiError(403, "SignatureDoesNotMatch", message, 100010)


def _percent(text: str) -> str:
    out = []
    for byte in text.encode("utf-8"):
        out.append(chr(byte) if byte in _UNRESERVED else f"%{byte:02X}")
    return "".join(out)


def _query_string(pairs: Iterable[tuple[str, str]]) -> str:
    encoded = sorted((_percent(k), _percent(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _host(value: str) -> str:
    for port in (":80", ":443"):
        if value.endswith(port) and not value.endswith("]" + port[1:]):
            return value[: -len(port)]
    return value


def _mac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _parse_authorization(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != "HMAC-SHA256":
        raise RtcApiError(401, "InvalidAuthorization", "Authorization must use HMAC-SHA256")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            raise RtcApiError(401, "InvalidAuthorization", "malformed Authorization header")
        parts[key] = val
    if not {"Credential", "SignedHeaders", "Signature"} <= parts.keys():
        raise RtcApiError(
            401,
            "InvalidAuthorization",
            "Authorization needs Credential, SignedHeaders and Signature",
        )
    return parts


def verify_request(
    *,
    method: str,
    path: str,
    query_pairs: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    access_key_id: str,
    secret_access_key: str,
    service: str,
    now: float | None = None,
    max_skew: float = 900.0,
) -> str:
    """Check a request's V4 signature; return the region of its credential scope.

    Args:
        method: the HTTP method.
        path: the request path.
        query_pairs: the decoded query parameters.
        headers: the request headers, lower-case names.
        body: the body bytes received.
        access_key_id: the only access key accepted.
        secret_access_key: its secret.
        service: the service the scope must name.
        now: the current epoch time (for tests).
        max_skew: the largest accepted distance between ``X-Date`` and ``now``.

    Raises:
        RtcApiError: with the gateway's code.
    """
    authorization = headers.get("authorization")
    if not authorization:
        raise RtcApiError(401, "MissingAuthenticationToken", "the request is not signed")
    parts = _parse_authorization(authorization)
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "request":
        raise RtcApiError(401, "InvalidAuthorization", "malformed Credential scope")
    key_id, date, region, scope_service, _ = scope
    if key_id != access_key_id:
        raise RtcApiError(401, "InvalidAccessKey", "the access key id is not valid", 100009)

    x_date = headers.get("x-date", "")
    match = _X_DATE.match(x_date)
    if not match:
        raise RtcApiError(
            401, "InvalidTimestamp", "X-Date is missing or not YYYYMMDDTHHMMSSZ", 100006
        )
    signed_at = calendar.timegm((*(int(g) for g in match.groups()), 0, 0, 0))
    current = time.time() if now is None else now
    if abs(current - signed_at) > max_skew:
        raise RtcApiError(
            401,
            "InvalidTimestamp",
            f"X-Date is {abs(current - signed_at):.0f} s away from the server time "
            f"(at most {max_skew:.0f} s allowed)",
            100006,
        )
    if date != x_date[:8]:
        raise _mismatch("the credential scope date is not the date of X-Date")
    if scope_service != service:
        raise _mismatch(f"the credential scope names service {scope_service!r}, not {service!r}")

    body_hash = hashlib.sha256(body).hexdigest()
    claimed = headers.get("x-content-sha256")
    if claimed is not None and claimed != body_hash:
        raise _mismatch("X-Content-Sha256 does not match the body received")

    names = [n for n in parts["SignedHeaders"].split(";") if n]
    if "host" not in names or "x-date" not in names:
        raise _mismatch("SignedHeaders must include host and x-date")
    canonical_headers = ""
    for name in sorted(names):
        value = headers.get(name)
        if value is None:
            raise _mismatch(f"signed header {name} is not in the request")
        canonical_headers += f"{name}:{_host(value) if name == 'host' else value}\n"

    canonical_request = "\n".join(
        [
            method.upper(),
            path or "/",
            _query_string(query_pairs),
            canonical_headers,
            ";".join(sorted(names)),
            body_hash,
        ]
    )
    string_to_sign = "\n".join(
        [
            "HMAC-SHA256",
            x_date,
            f"{date}/{region}/{scope_service}/request",
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ]
    )
    key = secret_access_key.encode("utf-8")
    for part in (date, region, scope_service, "request"):
        key = _mac(key, part)
    expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    given = parts["Signature"]
    if not _HEX64.match(given) or not hmac.compare_digest(expected, given):
        raise _mismatch("the signature does not match (check the secret key and the clock)")
    return region
