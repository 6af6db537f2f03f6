"""The RTC segmentation OpenAPI client: signed requests, typed results, retries, rate limits."""

from __future__ import annotations

import datetime as _dt
import pickle
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import attrs

from .._base_client import BaseClient, TimeoutLike, check_base_url
from .._credential_sources import EnvCredentials
from .._messages import HttpRequest, HttpResponse
from .._retry import RetryPolicy
from .._transport import Transport
from ..credentials import (
    CredentialProvider,
    RefreshingProvider,
    StaticProvider,
    current_credentials,
    resolve_openapi_provider,
)
from ..errors import APIError, ConfigurationError, InvalidRequestError, ValidationError
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
from ._requests import StartSegmentRequest, StopSegmentRequest, UpdateSegmentRequest, check_task_key
from ._task import SegmentTask

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
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            raise ConfigurationError(
                "region must be a region name such as 'cn-north-1' (letters, digits, '-', '_'), "
                f"got {region!r}"[:160]
            )
        if endpoint is not None:
            check_base_url(endpoint, "endpoint", allow_userinfo=False)
        elif region in REGION_ENDPOINTS:
            endpoint = REGION_ENDPOINTS[region]
        else:
            raise ConfigurationError(
                f"unknown region {region!r} and no endpoint given; known regions: "
                f"{', '.join(sorted(REGION_ENDPOINTS))} (or pass endpoint=...)"
            )
        self.region = region
        self.endpoint = endpoint
        self._endpoint = RtcEndpoint.parse(endpoint, region)
        self._provider = resolve_openapi_provider(
            access_key_id, secret_access_key, session_token, credentials
        )
        # What a pickled copy uses: the given provider, or the environment
        # (re-read where it lands); None for literal keys.
        self._source: CredentialProvider | None = credentials
        if credentials is None and access_key_id is None and secret_access_key is None:
            self._source = EnvCredentials()
        if isinstance(rate_limits, RateLimiter):
            self._limiter = rate_limits
        elif rate_limits is None or isinstance(rate_limits, Mapping):
            self._limiter = RateLimiter(rate_limits)
        else:
            raise ConfigurationError(
                "rate_limits must be a mapping such as {'StartSegment': 30} or a RateLimiter, "
                f"got {type(rate_limits).__name__}"
            )
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
        tells so. When volcspeech itself re-sent the request after an attempt
        whose answer was lost (a read timeout, a reset, a 5xx), an "already
        started" answer means that attempt started the task:
        ``result.ok`` and ``result.confirmed_by_retry`` are then ``True``.

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

        When volcspeech itself re-sent the request after an attempt whose
        answer was lost (a read timeout, a reset, a 5xx), an answer that the
        task is not found or not running means that attempt stopped it: the
        result then has ``ok`` and ``confirmed_by_retry`` set instead of an
        :class:`~volcspeech.errors.InvalidRequestError`.

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
        write = _RetriedWrite(action)

        def build(endpoint: RtcEndpoint, credentials: OpenApiCredentials, now: Any) -> HttpRequest:
            write.sending()
            return builder(request, endpoint=endpoint, credentials=credentials, now=now)

        return self._run(action, build, write.read, timeout, deadline)

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
            credentials = current_credentials(self._provider)
            return build(self._endpoint, credentials, _dt.datetime.now(_dt.timezone.utc))

        return self._send(
            attempt,
            read,
            settings=settings,
            request_id=uuid.uuid4().hex,
            operation=f"rtc.{action}",
        )


_REGION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

#: A ``StopSegment`` answer for a task that is gone or no longer running (code or message).
_STOPPED = re.compile(
    r"(?i)not\s*found|not\s*exist|no such|not\s*running|"
    r"already\s*(?:stopped|ended|finished)|has\s*(?:been\s*)?(?:stopped|ended|finished)"
)


class _RetriedWrite:
    """What the attempts of one write call saw, to read a retry's answer right.

    A ``StartSegment`` or ``StopSegment`` may take effect on the service and
    still fail for the client (the answer is lost to a read timeout or a
    reset, or the gateway answers 5xx after the service acted). The retry
    then meets the effect of the first attempt: "already started", "no such
    task / not running". Those mean success for this call, and are reported
    as such (``confirmed_by_retry``).
    """

    def __init__(self, action: str) -> None:
        self.action = action
        self.attempts = 0
        self._answered = 0
        # An earlier attempt of this call may have reached the service.
        self._may_have_acted = False

    def sending(self) -> None:
        """Called as each attempt is built."""
        if self.attempts > self._answered:
            # The previous attempt raised before any answer: it may have arrived.
            self._may_have_acted = True
        self.attempts += 1

    def read(self, response: HttpResponse) -> SegmentResult:
        """Read one attempt's answer, counting earlier attempts' possible effects."""
        self._answered = self.attempts
        earlier = self._may_have_acted and self.attempts > 1
        if response.status >= 500:
            self._may_have_acted = True
        try:
            result = read_segment_result(self.action, response)
        except APIError as exc:
            if earlier and self.action == "StopSegment" and _gone(exc):
                return SegmentResult(
                    action=self.action,
                    result=None,
                    request_id=exc.request_id,
                    raw=exc.body if isinstance(exc.body, Mapping) else {},
                    attempts=self.attempts,
                    confirmed_by_retry=True,
                    note=(
                        f"attempt {self.attempts} was answered [{exc.code}] {exc.message}: an "
                        "earlier attempt of this call, whose answer was lost, stopped the task"
                    ),
                )
            raise
        if earlier and result.action == "StartSegment" and result.already_running:
            return attrs.evolve(
                result,
                attempts=self.attempts,
                confirmed_by_retry=True,
                note=(
                    f"attempt {self.attempts} was answered that the task is already running: "
                    "an earlier attempt of this call, whose answer was lost, started it"
                ),
            )
        return attrs.evolve(result, attempts=self.attempts)


def _gone(exc: APIError) -> bool:
    """Whether a ``StopSegment`` error says the task is gone or stopped."""
    return isinstance(exc, InvalidRequestError) and bool(
        _STOPPED.search(f"{exc.code} {exc.message}")
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
