"""The RTC segmentation OpenAPI client: signed requests, typed results, retries, rate limits."""

from __future__ import annotations

import datetime as _dt
import pickle
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .._base_client import BaseClient, TimeoutLike
from .._messages import HttpRequest, HttpResponse
from .._retry import RetryPolicy
from .._transport import Transport
from ..credentials import (
    CredentialProvider,
    EnvCredentials,
    RefreshingProvider,
    StaticProvider,
    resolve_openapi_provider,
)
from ..errors import ConfigurationError, ValidationError
from ._models import (
    SegmentTask,
    StartSegmentRequest,
    StopSegmentRequest,
    UpdateSegmentRequest,
    check_task_key,
)
from ._operations import (
    ALREADY_STARTED_MARK,
    API_VERSION,
    RtcEndpoint,
    SegmentResult,
    build_get_segment_task,
    build_start_segment,
    build_stop_segment,
    build_update_segment,
    read_segment_result,
    read_segment_task,
)
from ._ratelimit import RateLimiter

if TYPE_CHECKING:  # pragma: no cover
    from .._http import Session
    from ..credentials import OpenApiCredentials

__all__ = ["ALREADY_STARTED_MARK", "API_VERSION", "REGION_ENDPOINTS", "RtcClient", "SegmentResult"]

T = TypeVar("T")

#: Known regions and their endpoints (vendor doc 6369/67269 and the RTC endpoint list).
REGION_ENDPOINTS: Mapping[str, str] = {
    "cn-north-1": "https://rtc.volcengineapi.com",
    "ap-singapore-1": "https://open-ap-singapore-1.volcengineapi.com",
}


class RtcClient(BaseClient):
    """Client of the RTC audio segmentation OpenAPI (``StartSegment`` and its siblings).

    Every attempt is signed afresh (V4, service ``rtc``) with credentials from
    the provider; transient failures (``FlowLimitExceeded*``,
    ``InternalError*``, HTTP 429 and 5xx, connection errors) are retried with
    backoff; a client-side limiter keeps each action under its documented QPS.
    A client is safe to share between threads; the rate limits are per client.
    Use it as a context manager or call :meth:`close`; a closed client raises
    :class:`~volcspeech.errors.ClientClosedError`.

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
        deadline: seconds one call may take in all (every attempt and wait);
            600 by default.
        max_answer_bytes: the largest answer read (after decompression); 32 MiB
            by default.
        transport: any callable ``HttpRequest -> HttpResponse`` that makes one
            attempt (e.g. ``volcspeech.testing.MockTransport``), instead of
            ``requests``; not with ``session``.
        allow_pickling_secrets: let a client given a literal key pair pickle
            with it (unsafe; see ``docs/scaling.md``).

    A client pickles (for process pools and Dask) as its settings and its
    credential source: the environment when no keys were given, or a
    picklable ``credentials=`` provider such as
    :class:`~volcspeech.credentials.EnvCredentials` or
    :class:`~volcspeech.credentials.ProfileCredentials`. One given literal
    keys, a ``session`` or a ``transport`` refuses to pickle with a
    :class:`~volcspeech.errors.ConfigurationError`.

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
        retry: RetryPolicy | None = None,
        session: Session | None = None,
        rate_limits: Mapping[str, int | None] | RateLimiter | None = None,
        deadline: float | None = None,
        max_answer_bytes: int | None = None,
        transport: Transport | None = None,
        allow_pickling_secrets: bool = False,
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
        self._endpoint = RtcEndpoint.parse(endpoint, region)
        self._provider = resolve_openapi_provider(
            access_key_id, secret_access_key, session_token, credentials
        )
        # What a pickled copy uses: the given provider, or the environment
        # (re-read where it lands); None for literal keys.
        self._source: CredentialProvider | None = credentials
        if credentials is None and not (access_key_id or secret_access_key):
            self._source = EnvCredentials()
        super().__init__(
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            deadline=deadline,
            max_answer_bytes=max_answer_bytes,
            session=session,
            transport=transport,
            allow_pickling_secrets=allow_pickling_secrets,
        )
        if isinstance(rate_limits, RateLimiter):
            self._limiter = rate_limits
        else:
            self._limiter = RateLimiter(rate_limits)

    def __repr__(self) -> str:
        return (
            f"RtcClient(region={self.region!r}, endpoint={self.endpoint!r}, "
            f"credentials={type(self._provider).__name__})"
        )

    def _pickle_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "region": self.region,
            "endpoint": self.endpoint,
            "rate_limits": self._limiter.limits,
        }
        source = self._source
        if source is None:
            if not self._allow_pickling_secrets:
                raise ConfigurationError(
                    "this RtcClient was given a literal key pair, which never travels in a "
                    "pickle. For process pools and Dask, set VOLCENGINE_ACCESS_KEY + "
                    "VOLCENGINE_SECRET_KEY in the workers' environment and build the client "
                    "without keys (credentials=volcspeech.credentials.EnvCredentials() where "
                    "this process has none), or pass credentials=ProfileCredentials(profile) "
                    "or CallableCredentials(a module-level function). "
                    "allow_pickling_secrets=True sends the keys inside the pickle (unsafe)."
                )
            creds = self._provider.get_credentials()
            config.update(access_key_id=creds.access_key_id, session_token=creds.session_token)
            config["secret_access_key"] = creds.secret_access_key
            return config
        if isinstance(source, (StaticProvider, RefreshingProvider)):
            raise ConfigurationError(
                f"this RtcClient's credentials={type(source).__name__}(...) holds keys or a "
                "live vendor provider and does not pickle; pass a credential source "
                "instead: EnvCredentials(), ProfileCredentials(profile) or "
                "CallableCredentials(a module-level function)"
            )
        try:
            pickle.dumps(source)
        except Exception as exc:
            raise ConfigurationError(
                f"this RtcClient's credentials provider {type(source).__name__} does not "
                f"pickle ({type(exc).__name__}); pass EnvCredentials(), "
                "ProfileCredentials(profile) or CallableCredentials(a module-level function)"
            ) from None
        config["credentials"] = source
        return config

    @property
    def rate_limiter(self) -> RateLimiter:
        """The limiter shared by every thread using this client."""
        return self._limiter

    # --- actions -------------------------------------------------------------------

    def start_segment(
        self,
        request: StartSegmentRequest,
        *,
        timeout: TimeoutLike = None,
        deadline: float | None = None,
    ) -> SegmentResult:
        """Start segmenting a room's audio (``StartSegment``).

        Calling it again for a running task succeeds; ``result.already_running``
        tells so.

        Args:
            request: the validated request.
            timeout: this call's per-attempt timeouts.
            deadline: this call's total time limit in seconds (the client's by default).

        Returns:
            The result with the service's request id.

        Raises:
            ValidationError: ``request`` is not a :class:`StartSegmentRequest` (before any traffic).
            APIError: the service refused it (a subclass per error code).
            TransportError: no answer after the retries.
        """
        _expect(request, StartSegmentRequest, "start_segment")
        return self._call("StartSegment", build_start_segment, request, timeout, deadline)

    def update_segment(
        self,
        request: UpdateSegmentRequest,
        *,
        timeout: TimeoutLike = None,
        deadline: float | None = None,
    ) -> SegmentResult:
        """Change a running task's duration, handle or identifier (``UpdateSegment``).

        Args:
            request: the validated request.
            timeout: this call's per-attempt timeouts.
            deadline: this call's total time limit in seconds (the client's by default).

        Raises:
            ValidationError: ``request`` is not an :class:`UpdateSegmentRequest`.
            APIError: the service refused it.
            TransportError: no answer after the retries.
        """
        _expect(request, UpdateSegmentRequest, "update_segment")
        return self._call("UpdateSegment", build_update_segment, request, timeout, deadline)

    def stop_segment(
        self,
        request: StopSegmentRequest,
        *,
        timeout: TimeoutLike = None,
        deadline: float | None = None,
    ) -> SegmentResult:
        """Stop a task (``StopSegment``).

        Args:
            request: the validated request.
            timeout: this call's per-attempt timeouts.
            deadline: this call's total time limit in seconds (the client's by default).

        Raises:
            ValidationError: ``request`` is not a :class:`StopSegmentRequest`.
            APIError: the service refused it.
            TransportError: no answer after the retries.
        """
        _expect(request, StopSegmentRequest, "stop_segment")
        return self._call("StopSegment", build_stop_segment, request, timeout, deadline)

    def get_segment_task(
        self,
        app_id: str,
        room_id: str,
        task_id: str,
        *,
        timeout: TimeoutLike = None,
        deadline: float | None = None,
    ) -> SegmentTask:
        """Look up a task of the last 72 hours (``GetSegmentTask``, a GET with a query).

        Args:
            app_id: the RTC app id.
            room_id: the room.
            task_id: the task.
            timeout: this call's per-attempt timeouts.
            deadline: this call's total time limit in seconds (the client's by default).

        Returns:
            The task, with the answer's ``request_id``.

        Raises:
            ValidationError: a malformed id (before any traffic).
            ProtocolError: the answer has no ``Result.SegmentTask``.
            APIError: the service refused it.
            TransportError: no answer after the retries.
        """
        check_task_key("get_segment_task", app_id, room_id, task_id)
        ids = {"app_id": app_id, "room_id": room_id, "task_id": task_id}

        def build(endpoint: RtcEndpoint, credentials: OpenApiCredentials, now: Any) -> HttpRequest:
            return build_get_segment_task(
                app_id, room_id, task_id, endpoint=endpoint, credentials=credentials, now=now
            )

        return self._run(
            "GetSegmentTask", build, lambda r: read_segment_task(r, **ids), timeout, deadline
        )

    # --- plumbing ------------------------------------------------------------------

    def _call(
        self,
        action: str,
        builder: Callable[..., HttpRequest],
        request: Any,
        timeout: TimeoutLike,
        deadline: float | None,
    ) -> SegmentResult:
        def build(endpoint: RtcEndpoint, credentials: OpenApiCredentials, now: Any) -> HttpRequest:
            return builder(request, endpoint=endpoint, credentials=credentials, now=now)

        return self._run(action, build, lambda r: read_segment_result(action, r), timeout, deadline)

    def _run(
        self,
        action: str,
        build: Callable[[RtcEndpoint, OpenApiCredentials, Any], HttpRequest],
        read: Callable[[HttpResponse], T],
        timeout: TimeoutLike,
        deadline: float | None,
    ) -> T:
        settings = self._settings(timeout, deadline)

        def attempt() -> HttpRequest:
            # Each attempt counts against the QPS and carries a fresh signature.
            self._limiter.acquire(action)
            credentials = self._provider.get_credentials()
            return build(self._endpoint, credentials, _dt.datetime.now(_dt.timezone.utc))

        return self._send(
            attempt,
            read,
            settings=settings,
            request_id=uuid.uuid4().hex,
            operation=f"rtc.{action}",
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
