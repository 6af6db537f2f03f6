"""Volcengine OpenAPI V4 request signing (HMAC-SHA256), as a pure function.

The algorithm (vendor doc 6369/67269; ``volcenginesdkcore/signv4.py``):

* ``CanonicalRequest`` = method, path, canonical query, canonical headers,
  signed header names and the hex SHA-256 of the body, joined by ``\\n``;
* ``StringToSign`` = ``HMAC-SHA256``, ``X-Date``, the credential scope
  ``yyyymmdd/region/service/request`` and the hex SHA-256 of the canonical
  request, joined by ``\\n``;
* the signing key is derived by HMAC chaining the secret key with the date,
  region, service and ``"request"``.

Nothing here reads the clock or the environment: the time is an argument, so
the function is checked against the documented known-answer vector and the
vendor's own signer.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Union
from urllib.parse import quote

__all__ = [
    "ALGORITHM",
    "SignedRequest",
    "body_sha256",
    "canonical_query",
    "format_x_date",
    "sign",
    "signing_key",
]

ALGORITHM = "HMAC-SHA256"

# Headers the vendor signs besides every ``X-*`` header.
_SIGNED_PLAIN_HEADERS = frozenset({"content-type", "content-md5", "host"})

QueryLike = Union[Mapping[str, object], Iterable[tuple[str, object]]]


class SignedRequest(dict[str, str]):
    """The headers to add to a request: ``X-Date``, ``X-Content-Sha256``, ``Authorization``.

    Also ``X-Security-Token`` for temporary (STS) credentials. A plain ``dict``
    subclass whose ``repr`` hides the values that grant access.
    """

    def __repr__(self) -> str:
        shown = {
            k: ("***" if k.lower() in ("authorization", "x-security-token") else v)
            for k, v in self.items()
        }
        return f"SignedRequest({shown!r})"


def format_x_date(now: _dt.datetime) -> str:
    """Format a time as ``X-Date`` (UTC, ``YYYYMMDDTHHMMSSZ``).

    Args:
        now: an aware datetime (any zone) or a naive one taken as UTC.

    Returns:
        The ``X-Date`` string.
    """
    if now.tzinfo is not None:
        now = now.astimezone(_dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ")


def body_sha256(body: bytes) -> str:
    """Return the hex SHA-256 of a request body (``X-Content-Sha256``)."""
    return hashlib.sha256(body).hexdigest()


def _uri_encode(value: str) -> str:
    # RFC 3986 unreserved characters stay; everything else, including space
    # (as %20, never "+"), "/" and non-ASCII (as UTF-8 bytes), is escaped.
    return quote(value, safe="-_.~")


def canonical_query(query: QueryLike) -> str:
    """Build the canonical query string: RFC 3986 encoded pairs sorted by key, then value.

    Args:
        query: a mapping, or pairs (which may repeat a key). ``None`` values are
            sent as empty strings; lists in a mapping are repeated keys.

    Returns:
        ``k1=v1&k2=v2`` with keys and values percent-encoded.
    """
    pairs: list[tuple[str, str]] = []
    items = query.items() if isinstance(query, Mapping) else query
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            text = "" if v is None else str(v)
            pairs.append((_uri_encode(str(key)), _uri_encode(text)))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """Derive the V4 signing key for one day, region and service."""
    k_date = _hmac(secret_access_key.encode("utf-8"), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, "request")


def _canonical_host(value: str) -> str:
    # The vendor signs "host" without a default port.
    host, sep, port = value.rpartition(":")
    if sep and port in ("80", "443") and "]" not in port:
        return host
    return value


def sign(
    *,
    method: str,
    path: str = "/",
    query: QueryLike = (),
    headers: Mapping[str, str],
    body: bytes = b"",
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None = None,
    region: str,
    service: str,
    now: _dt.datetime,
) -> SignedRequest:
    """Sign one request with the V4 scheme.

    Args:
        method: the HTTP method, e.g. ``"POST"``.
        path: the request path; ``""`` is taken as ``"/"``.
        query: the query parameters (mapping or pairs).
        headers: the headers that will be sent (``Host`` and ``Content-Type``
            at least). ``Host``, ``Content-Type``, ``Content-Md5`` and every
            ``X-*`` header are signed.
        body: the exact body bytes that will be sent.
        access_key_id: the access key id.
        secret_access_key: the secret access key.
        session_token: the STS session token, for temporary credentials.
        region: the signing region, e.g. ``"cn-north-1"``.
        service: the signing service, e.g. ``"rtc"``.
        now: the signing time.

    Returns:
        The headers to add to the request.
    """
    x_date = format_x_date(now)
    date = x_date[:8]
    content_sha = body_sha256(body)
    added = SignedRequest()
    added["X-Date"] = x_date
    added["X-Content-Sha256"] = content_sha
    if session_token:
        added["X-Security-Token"] = session_token

    to_sign: dict[str, str] = {}
    for name, value in list(headers.items()) + list(added.items()):
        lower = name.lower()
        if lower in _SIGNED_PLAIN_HEADERS or lower.startswith("x-"):
            to_sign[lower] = _canonical_host(value) if lower == "host" else value
    signed_names = ";".join(sorted(to_sign))
    canonical_headers = "".join(f"{k}:{to_sign[k]}\n" for k in sorted(to_sign))

    canonical_request = "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(query),
            canonical_headers,
            signed_names,
            content_sha,
        ]
    )
    scope = f"{date}/{region}/{service}/request"
    string_to_sign = "\n".join(
        [ALGORITHM, x_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    signature = hmac.new(
        signing_key(secret_access_key, date, region, service),
        string_to_sign.encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()
    added["Authorization"] = (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, "
        f"SignedHeaders={signed_names}, Signature={signature}"
    )
    return added
