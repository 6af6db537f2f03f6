"""The RTC segmentation actions, without I/O: signed request builders and answer readers.

Each builder takes the validated request model, the endpoint, the
credentials and the signing time, and returns a V4-signed
:class:`~volcspeech.HttpRequest`; each reader takes an
:class:`~volcspeech.HttpResponse` and returns the typed result or raises the
typed error read from the ``ResponseMetadata`` envelope. Nothing here imports
an HTTP library or reads the clock.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from .._messages import HttpRequest, HttpResponse
from .._retry import parse_retry_after
from .._signing import canonical_query, sign
from ..credentials import OpenApiCredentials
from ..errors import ConfigurationError, ProtocolError, rtc_error_class
from ._models import SegmentTask, StartSegmentRequest, StopSegmentRequest, UpdateSegmentRequest

__all__ = [
    "ALREADY_STARTED_MARK",
    "API_VERSION",
    "SERVICE",
    "RtcEndpoint",
    "SegmentResult",
    "build_action",
    "build_get_segment_task",
    "build_start_segment",
    "build_stop_segment",
    "build_update_segment",
    "read_envelope",
    "read_segment_result",
    "read_segment_task",
]

#: The OpenAPI version of the segmentation actions.
API_VERSION = "2023-11-01"
#: The signing service name.
SERVICE = "rtc"
#: The ``Result`` text of a repeated ``StartSegment`` for a running task (vendor doc 6348/1188212).
ALREADY_STARTED_MARK = "has been started"

_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@attrs.frozen
class SegmentResult:
    """The answer to ``StartSegment``, ``UpdateSegment`` or ``StopSegment``.

    Attributes:
        action: the action that was called.
        result: ``Result`` as received: ``"ok"``, or a message such as the one a
            repeated ``StartSegment`` for a running task gets (``None`` when
            the answer was an error that :attr:`confirmed_by_retry` reads as success).
        request_id: ``ResponseMetadata.RequestId``; quote it to support.
        raw: the whole response body.
        attempts: how many times volcspeech sent the request in this call.
        confirmed_by_retry: volcspeech re-sent the request after an attempt
            that may have reached the service (no answer, or a 5xx), and the
            answer to the retry shows that the earlier attempt took effect: a
            ``StartSegment`` answered "already started", or a ``StopSegment``
            answered "task not found / not running". :attr:`ok` is then ``True``.
        note: why the call counts as a success when ``result`` alone says
            otherwise (set with ``confirmed_by_retry``), else ``None``.
    """

    action: str
    result: Any
    request_id: str | None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    attempts: int = 1
    confirmed_by_retry: bool = False
    note: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the action took effect: ``Result`` is ``"ok"``, or a retry confirmed it."""
        return bool(self.result == "ok") or self.confirmed_by_retry

    @property
    def already_running(self) -> bool:
        """Whether the task was already running before this call (a repeated ``StartSegment``).

        ``False`` when :attr:`confirmed_by_retry` is set: the service's "already
        started" then answers this call's own earlier attempt.
        """
        return (
            not self.confirmed_by_retry
            and isinstance(self.result, str)
            and ALREADY_STARTED_MARK in self.result
        )


@attrs.frozen
class RtcEndpoint:
    """Where and how to sign: the base URL split once, and the signing region.

    Attributes:
        base: ``scheme://host[:port]``.
        host: the ``Host`` header (signed).
        path: the path every action is sent to (``/`` or a gateway prefix).
        region: the signing region.
    """

    base: str
    host: str
    path: str
    region: str

    @classmethod
    def parse(cls, endpoint: str, region: str) -> RtcEndpoint:
        """Split an endpoint URL, refusing user info, a query or a fragment.

        Raises:
            ConfigurationError: a malformed endpoint.
        """
        if not isinstance(endpoint, str) or not endpoint:
            raise ConfigurationError("endpoint must be a URL such as https://rtc.volcengineapi.com")
        try:
            parts = urlsplit(endpoint)
            hostname = parts.hostname
        except ValueError:
            raise ConfigurationError("endpoint is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not hostname:
            raise ConfigurationError(
                f"endpoint must be an http(s) URL with a host, got {endpoint[:100]!r}"
            )
        if parts.username is not None or parts.password is not None:
            raise ConfigurationError("endpoint must not contain a user name or password")
        if parts.query or parts.fragment:
            raise ConfigurationError("endpoint must not contain a query or fragment")
        netloc = parts.netloc.rpartition("@")[2]
        return cls(f"{parts.scheme}://{netloc}", netloc, parts.path or "/", region)


def build_action(
    action: str,
    method: str,
    body: Mapping[str, Any] | None,
    query: Mapping[str, str],
    *,
    endpoint: RtcEndpoint,
    credentials: OpenApiCredentials,
    now: _dt.datetime,
) -> HttpRequest:
    """A signed request for any action of the segmentation API.

    Args:
        action: e.g. ``"StartSegment"``.
        method: ``"POST"`` (JSON body) or ``"GET"`` (query only).
        body: the JSON body, for POST.
        query: query parameters besides ``Action`` and ``Version``.
        endpoint: where to send it.
        credentials: the keys to sign with.
        now: the signing time.
    """
    payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    params = {"Action": action, "Version": API_VERSION, **query}
    headers = {"Host": endpoint.host}
    if method != "GET":
        headers["Content-Type"] = "application/json"
    signed = sign(
        method=method,
        path=endpoint.path,
        query=params,
        headers=headers,
        body=payload,
        access_key_id=credentials.access_key_id,
        secret_access_key=credentials.secret_access_key,
        session_token=credentials.session_token,
        region=endpoint.region,
        service=SERVICE,
        now=now,
    )
    url = f"{endpoint.base}{endpoint.path}?{canonical_query(params)}"
    return HttpRequest(method, url, headers={**headers, **signed}, body=payload)


def build_start_segment(
    request: StartSegmentRequest,
    *,
    endpoint: RtcEndpoint,
    credentials: OpenApiCredentials,
    now: _dt.datetime,
) -> HttpRequest:
    """The signed ``StartSegment`` request."""
    return build_action(
        "StartSegment",
        "POST",
        request.to_dict(),
        {},
        endpoint=endpoint,
        credentials=credentials,
        now=now,
    )


def build_update_segment(
    request: UpdateSegmentRequest,
    *,
    endpoint: RtcEndpoint,
    credentials: OpenApiCredentials,
    now: _dt.datetime,
) -> HttpRequest:
    """The signed ``UpdateSegment`` request."""
    return build_action(
        "UpdateSegment",
        "POST",
        request.to_dict(),
        {},
        endpoint=endpoint,
        credentials=credentials,
        now=now,
    )


def build_stop_segment(
    request: StopSegmentRequest,
    *,
    endpoint: RtcEndpoint,
    credentials: OpenApiCredentials,
    now: _dt.datetime,
) -> HttpRequest:
    """The signed ``StopSegment`` request."""
    return build_action(
        "StopSegment",
        "POST",
        request.to_dict(),
        {},
        endpoint=endpoint,
        credentials=credentials,
        now=now,
    )


def build_get_segment_task(
    app_id: str,
    room_id: str,
    task_id: str,
    *,
    endpoint: RtcEndpoint,
    credentials: OpenApiCredentials,
    now: _dt.datetime,
) -> HttpRequest:
    """The signed ``GetSegmentTask`` request (a GET with the ids in the query)."""
    query = {"AppId": app_id, "RoomId": room_id, "TaskId": task_id}
    return build_action(
        "GetSegmentTask",
        "GET",
        None,
        query,
        endpoint=endpoint,
        credentials=credentials,
        now=now,
    )


def read_envelope(action: str, response: HttpResponse) -> tuple[Any, str | None, dict[str, Any]]:
    """Read the ``ResponseMetadata`` envelope: ``(Result, RequestId, body)`` or the mapped error.

    Raises:
        APIError: the class for ``ResponseMetadata.Error.Code`` (or for the
            HTTP status when there is none); ``ProtocolError`` for an answer
            that is not an envelope (retryable when the status is 429 or 5xx).
    """
    status = response.status
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    transient = status in _RETRYABLE_STATUS
    try:
        body = json.loads(response.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
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
    return body.get("Result"), request_id, body


def read_segment_result(action: str, response: HttpResponse) -> SegmentResult:
    """Read the answer of ``StartSegment``, ``UpdateSegment`` or ``StopSegment``."""
    result, request_id, raw = read_envelope(action, response)
    return SegmentResult(action=action, result=result, request_id=request_id, raw=raw)


def read_segment_task(
    response: HttpResponse, *, app_id: str, room_id: str, task_id: str
) -> SegmentTask:
    """Read the answer of ``GetSegmentTask``.

    Raises:
        ProtocolError: the answer has no ``Result.SegmentTask`` object.
        APIError: as :func:`read_envelope`.
    """
    result, request_id, raw = read_envelope("GetSegmentTask", response)
    task = result.get("SegmentTask") if isinstance(result, Mapping) else None
    if not isinstance(task, Mapping):
        raise ProtocolError(
            "GetSegmentTask answered without a Result.SegmentTask object",
            http_status=response.status,
            request_id=request_id,
            body=raw,
        )
    return SegmentTask.from_dict(
        task, app_id=app_id, room_id=room_id, task_id=task_id, request_id=request_id
    )
