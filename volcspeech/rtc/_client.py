"""The RTC segmentation OpenAPI client: signed requests, typed results, retries, rate limits."""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from collections.abc import Mapping
from typing import Any, Union
from urllib.parse import urlsplit

import attrs
import requests

from .. import _http
from .._signing import canonical_query, sign
from ..credentials import CredentialProvider, resolve_openapi_provider
from ..errors import ConfigurationError, ProtocolError, ValidationError, rtc_error_class
from ._models import (
    SegmentTask,
    StartSegmentRequest,
    StopSegmentRequest,
    UpdateSegmentRequest,
    check_task_key,
)
from ._ratelimit import RateLimiter

__all__ = ["API_VERSION", "REGION_ENDPOINTS", "RtcClient", "SegmentResult"]

#: The OpenAPI version of the segmentation actions.
API_VERSION = "2023-11-01"
#: The signing service name.
SERVICE = "rtc"
#: Known regions and their endpoints (vendor doc 6369/67269 and the RTC endpoint list).
REGION_ENDPOINTS: Mapping[str, str] = {
    "cn-north-1": "https://rtc.volcengineapi.com",
    "ap-singapore-1": "https://open-ap-singapore-1.volcengineapi.com",
}
#: The ``Result`` text of a repeated ``StartSegment`` for a running task (vendor doc 6348/1188212).
ALREADY_STARTED_MARK = "has been started"

_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})

TimeoutLike = Union[_http.Timeout, float, tuple[float, float], None]


@attrs.frozen
class SegmentResult:
    """The answer to ``StartSegment``, ``UpdateSegment`` or ``StopSegment``.

    Attributes:
        action: the action that was called.
        result: ``Result`` as received: ``"ok"``, or a message such as the one a
            repeated ``StartSegment`` for a running task gets.
        request_id: ``ResponseMetadata.RequestId``; quote it to support.
        raw: the whole response body.
    """

    action: str
    result: Any
    request_id: str | None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """Whether ``Result`` is exactly ``"ok"``."""
        return bool(self.result == "ok")

    @property
    def already_running(self) -> bool:
        """Whether the service said the task was already started (a repeated ``StartSegment``)."""
        return isinstance(self.result, str) and ALREADY_STARTED_MARK in self.result


def _endpoint_parts(endpoint: str) -> tuple[str, str, str]:
    """Split an endpoint URL into (scheme://netloc, Host header, path), validating it."""
    if not isinstance(endpoint, str) or not endpoint:
        raise ConfigurationError("endpoint must be a URL such as https://rtc.volcengineapi.com")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"endpoint must be an http(s) URL with a host, got {endpoint[:100]!r}"
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError("endpoint must not contain a user name or password")
    if parts.query or parts.fragment:
        raise ConfigurationError("endpoint must not contain a query or fragment")
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}", netloc, parts.path or "/"


class RtcClient:
    """Client of the RTC audio segmentation OpenAPI (``StartSegment`` and its siblings).

    Every attempt is signed afresh (V4, service ``rtc``) with credentials from
    the provider; transient failures (``FlowLimitExceeded*``,
    ``InternalError*``, HTTP 429 and 5xx, connection errors) are retried with
    backoff; a client-side limiter keeps each action under its documented QPS.
    A client is safe to share between threads; the rate limits are per client.

    Args:
        access_key_id: the OpenAPI access key id (else ``$VOLCENGINE_ACCESS_KEY``).
        secret_access_key: its secret (else ``$VOLCENGINE_SECRET_KEY``).
        session_token: an STS session token, for temporary credentials.
        credentials: any :class:`~volcspeech.credentials.CredentialProvider`
            instead of a key pair (e.g. ``volcspeech.credentials.from_cli_config()``).
        region: the signing region; ``cn-north-1`` or ``ap-singapore-1`` pick
            their endpoint, another region needs ``endpoint``.
        endpoint: the base URL, e.g. ``http://127.0.0.1:8080`` for the emulator.
        timeout: per-attempt timeouts: a :class:`~volcspeech.Timeout`, one
            number, or a ``(connect, read)`` pair.
        max_retries: retries after the first attempt (default 3).
        retry: a whole :class:`~volcspeech.RetryPolicy` (attempts, total time
            budget, backoff) instead of ``max_retries``.
        session: a ``requests.Session`` to send with (proxies, adapters).
        rate_limits: requests per second per action, e.g. ``{"StartSegment": 30}``
            (0 or ``None`` switches one off), or a ready
            :class:`~volcspeech.rtc.RateLimiter`. Defaults: 60
            StartSegment, 150 UpdateSegment, 60 GetSegmentTask, 60 StopSegment
            (the last is not documented; 60 is an assumption).

    Raises:
        ConfigurationError: no credentials, an unknown region without
            ``endpoint``, a malformed endpoint, bad timeouts or limits.
    """

    def __init__(
        self,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        *,
        session_token: str | None = None,
        credentials: CredentialProvider | None = None,
        region: str = "cn-north-1",
        endpoint: str | None = None,
        timeout: TimeoutLike = None,
        max_retries: int | None = None,
        retry: _http.RetryPolicy | None = None,
        session: requests.Session | None = None,
        rate_limits: Mapping[str, int | None] | RateLimiter | None = None,
    ) -> None:
        if not isinstance(region, str) or not region:
            raise ConfigurationError("region must be a non-empty string such as 'cn-north-1'")
        if endpoint is None:
            if region not in REGION_ENDPOINTS:
                raise ConfigurationError(
                    f"unknown region {region!r} and no endpoint given; known regions: "
                    f"{', '.join(sorted(REGION_ENDPOINTS))} (or pass endpoint=...)"
                )
            endpoint = REGION_ENDPOINTS[region]
        self.region = region
        self.endpoint = endpoint
        self._base, self._host, self._path = _endpoint_parts(endpoint)
        self._provider = resolve_openapi_provider(
            access_key_id, secret_access_key, session_token, credentials
        )
        self._http = _http.HttpClient(
            session=session,
            timeout=_http.Timeout.coerce(timeout),
            retry=_http.RetryPolicy.resolve(max_retries, retry),
        )
        if isinstance(rate_limits, RateLimiter):
            self._limiter = rate_limits
        else:
            self._limiter = RateLimiter(rate_limits)

    # --- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP session if the client created it."""
        self._http.close()

    def __enter__(self) -> RtcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"RtcClient(region={self.region!r}, endpoint={self.endpoint!r}, "
            f"credentials={type(self._provider).__name__})"
        )

    @property
    def rate_limiter(self) -> RateLimiter:
        """The limiter shared by every thread using this client."""
        return self._limiter

    # --- actions -------------------------------------------------------------------

    def start_segment(
        self, request: StartSegmentRequest, *, timeout: TimeoutLike = None
    ) -> SegmentResult:
        """Start segmenting a room's audio (``StartSegment``).

        Calling it again for a running task succeeds; ``result.already_running``
        tells so.

        Args:
            request: the validated request.
            timeout: this call's per-attempt timeouts.

        Returns:
            The result with the service's request id.

        Raises:
            ValidationError: ``request`` is not a :class:`StartSegmentRequest` (before any traffic).
            APIError: the service refused it (a subclass per error code).
            TransportError: no answer after the retries.
        """
        _expect(request, StartSegmentRequest, "start_segment")
        return self._post("StartSegment", request.to_dict(), timeout)

    def update_segment(
        self, request: UpdateSegmentRequest, *, timeout: TimeoutLike = None
    ) -> SegmentResult:
        """Change a running task's duration, handle or identifier (``UpdateSegment``).

        Args:
            request: the validated request.
            timeout: this call's per-attempt timeouts.

        Raises:
            ValidationError: ``request`` is not an :class:`UpdateSegmentRequest`.
            APIError: the service refused it.
            TransportError: no answer after the retries.
        """
        _expect(request, UpdateSegmentRequest, "update_segment")
        return self._post("UpdateSegment", request.to_dict(), timeout)

    def stop_segment(
        self, request: StopSegmentRequest, *, timeout: TimeoutLike = None
    ) -> SegmentResult:
        """Stop a task (``StopSegment``).

        Args:
            request: the validated request.
            timeout: this call's per-attempt timeouts.

        Raises:
            ValidationError: ``request`` is not a :class:`StopSegmentRequest`.
            APIError: the service refused it.
            TransportError: no answer after the retries.
        """
        _expect(request, StopSegmentRequest, "stop_segment")
        return self._post("StopSegment", request.to_dict(), timeout)

    def get_segment_task(
        self, app_id: str, room_id: str, task_id: str, *, timeout: TimeoutLike = None
    ) -> SegmentTask:
        """Look up a task of the last 72 hours (``GetSegmentTask``, a GET with a query).

        Args:
            app_id: the RTC app id.
            room_id: the room.
            task_id: the task.
            timeout: this call's per-attempt timeouts.

        Returns:
            The task, with the answer's ``request_id``.

        Raises:
            ValidationError: a malformed id (before any traffic).
            ProtocolError: the answer has no ``Result.SegmentTask``.
            APIError: the service refused it.
            TransportError: no answer after the retries.
        """
        check_task_key("get_segment_task", app_id, room_id, task_id)
        query = {"AppId": app_id, "RoomId": room_id, "TaskId": task_id}
        result, request_id, raw, status = self._call("GetSegmentTask", "GET", None, query, timeout)
        task = result.get("SegmentTask") if isinstance(result, Mapping) else None
        if not isinstance(task, Mapping):
            raise ProtocolError(
                "GetSegmentTask answered without a Result.SegmentTask object",
                http_status=status,
                request_id=request_id,
                body=raw,
            )
        return SegmentTask.from_dict(
            task, app_id=app_id, room_id=room_id, task_id=task_id, request_id=request_id
        )

    # --- plumbing ------------------------------------------------------------------

    def _post(self, action: str, body: dict[str, Any], timeout: TimeoutLike) -> SegmentResult:
        result, request_id, raw, _ = self._call(action, "POST", body, {}, timeout)
        return SegmentResult(action=action, result=result, request_id=request_id, raw=raw)

    def _call(
        self,
        action: str,
        method: str,
        body: dict[str, Any] | None,
        query: Mapping[str, str],
        timeout: TimeoutLike,
    ) -> tuple[Any, str | None, dict[str, Any], int]:
        payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        params = {"Action": action, "Version": API_VERSION, **query}
        url = f"{self._base}{self._path}?{canonical_query(params)}"
        call_id = uuid.uuid4().hex

        def build() -> _http.RequestSpec:
            # Each attempt counts against the QPS and carries a fresh signature.
            self._limiter.acquire(action)
            creds = self._provider.get_credentials()
            headers = {"Host": self._host}
            if method != "GET":
                headers["Content-Type"] = "application/json"
            signed = sign(
                method=method,
                path=self._path,
                query=params,
                headers=headers,
                body=payload,
                access_key_id=creds.access_key_id,
                secret_access_key=creds.secret_access_key,
                session_token=creds.session_token,
                region=self.region,
                service=SERVICE,
                now=_dt.datetime.now(_dt.timezone.utc),
            )
            return _http.RequestSpec(
                method=method, url=url, headers={**headers, **signed}, body=payload or None
            )

        def handle(response: requests.Response) -> tuple[Any, str | None, dict[str, Any], int]:
            return _read_answer(action, response)

        per_call = None if timeout is None else _http.Timeout.coerce(timeout)
        return self._http.call(
            build, handle, request_id=call_id, timeout=per_call, operation=f"rtc.{action}"
        )


def _expect(request: object, cls: type, method: str) -> None:
    if not isinstance(request, cls):
        raise ValidationError(
            f"{method}() takes a {cls.__name__}, got {type(request).__name__}"
            + (
                f"; build one with {cls.__name__}.from_dict()"
                if isinstance(request, Mapping)
                else ""
            ),
            field="request",
        )


def _read_answer(
    action: str, response: requests.Response
) -> tuple[Any, str | None, dict[str, Any], int]:
    """Turn one HTTP answer into (Result, RequestId, body, status) or raise the mapped error."""
    status = response.status_code
    retry_after = _http.parse_retry_after(response.headers.get("Retry-After"))
    transient = status in _RETRYABLE_STATUS
    try:
        body = json.loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(
            f"{action}: the answer is not JSON (HTTP {status}, "
            f"Content-Type {response.headers.get('Content-Type')!r})",
            code=status,
            http_status=status,
            retry_after=retry_after,
            retryable=transient,
        ) from None
    meta = body.get("ResponseMetadata") if isinstance(body, dict) else None
    if not isinstance(meta, dict):
        raise ProtocolError(
            f"{action}: the answer has no ResponseMetadata object (HTTP {status})",
            code=status,
            http_status=status,
            retry_after=retry_after,
            body=body,
            retryable=transient,
        )
    request_id = meta.get("RequestId") if isinstance(meta.get("RequestId"), str) else None
    error = meta.get("Error")
    if error is not None:
        if not isinstance(error, dict) or not isinstance(error.get("Code"), str):
            raise ProtocolError(
                f"{action}: ResponseMetadata.Error has no Code (HTTP {status})",
                code=status,
                http_status=status,
                request_id=request_id,
                retry_after=retry_after,
                body=body,
                retryable=transient,
            )
        code = error["Code"]
        code_n = error.get("CodeN")
        message = error.get("Message")
        cls = rtc_error_class(code, status)
        raise cls(
            message if isinstance(message, str) and message else f"{action} failed",
            code=code,
            code_n=code_n if isinstance(code_n, int) and not isinstance(code_n, bool) else None,
            http_status=status,
            request_id=request_id,
            retry_after=retry_after,
            body=body,
        )
    if status != 200:
        cls = rtc_error_class(None, status)
        raise cls(
            f"{action}: HTTP {status} without an error code",
            code=status,
            http_status=status,
            request_id=request_id,
            retry_after=retry_after,
            body=body,
        )
    return body.get("Result"), request_id, body, status
