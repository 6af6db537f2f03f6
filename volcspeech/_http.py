"""The HTTP layer every client shares.

* one ``requests.Session`` per client (injectable), pooled for threads;
* connect and read timeouts always set;
* a retry policy on tenacity, which never shows in a public signature: full
  jitter exponential backoff that honours ``Retry-After``, bounded by attempts
  *and* total time, one DEBUG line per decision;
* the one place where ``requests``/``urllib3`` exceptions become volcspeech
  errors;
* a logging filter that redacts credentials.
"""

from __future__ import annotations

import email.utils
import platform
import random
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, Callable, TypeVar, Union

import attrs
import requests
import requests.adapters
import tenacity as _t

from . import errors
from ._log import RedactingFilter, get_logger, redact

__all__ = [
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "HttpClient",
    "RedactingFilter",
    "RequestSpec",
    "RetryPolicy",
    "Timeout",
    "is_testing",
    "parse_retry_after",
    "set_testing",
    "user_agent",
]

logger = get_logger("volcspeech")

T = TypeVar("T")

#: Seconds to wait for a TCP/TLS connection.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Seconds to wait between bytes of the answer (recognition of long audio is slow).
DEFAULT_READ_TIMEOUT = 120.0
#: Total attempts: the first one plus retries.
DEFAULT_ATTEMPTS = 4
#: No retry starts when its wait would end more than this many seconds after the
#: first attempt began (an attempt already running may still take its read timeout).
DEFAULT_TOTAL_TIMEOUT = 300.0
#: First backoff ceiling (seconds); doubles per attempt up to ``DEFAULT_WAIT_MAX``.
DEFAULT_WAIT_INITIAL = 0.5
DEFAULT_WAIT_MAX = 10.0
#: Longest ``Retry-After`` we wait for; a longer one is capped to this (and a wait
#: past the total time budget ends the retries instead).
MAX_RETRY_AFTER = 60.0
#: Connections kept per host; enough for a thread pool sharing one client.
DEFAULT_POOL_MAXSIZE = 32


@attrs.frozen
class Timeout:
    """Connect and read timeouts in seconds; neither may be ``None``."""

    connect: float = attrs.field(default=DEFAULT_CONNECT_TIMEOUT)
    read: float = attrs.field(default=DEFAULT_READ_TIMEOUT)

    @connect.validator
    @read.validator
    def _positive(self, attribute: attrs.Attribute[float], value: float) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise errors.ConfigurationError(
                f"timeout.{attribute.name} must be a positive number of seconds, got {value!r}"
            )

    @classmethod
    def coerce(cls, value: Union[Timeout, float, tuple[float, float], None]) -> Timeout:
        """Accept a :class:`Timeout`, one number (both) or a ``(connect, read)`` pair."""
        if value is None:
            return DEFAULT_TIMEOUT
        if isinstance(value, Timeout):
            return value
        if isinstance(value, tuple):
            if len(value) != 2:
                raise errors.ConfigurationError("timeout pair must be (connect, read)")
            return cls(value[0], value[1])
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise errors.ConfigurationError(f"timeout must be a number or a pair, got {value!r}")
        return cls(float(value), float(value))


DEFAULT_TIMEOUT = Timeout()


@attrs.frozen
class RetryPolicy:
    """When and how long to retry.

    Attributes:
        attempts: total attempts including the first (``max_retries + 1``).
        total_timeout: no retry starts after this many seconds since the first attempt.
        wait_initial: the first backoff ceiling in seconds.
        wait_max: the largest backoff ceiling in seconds.
    """

    attempts: int = attrs.field(default=DEFAULT_ATTEMPTS)
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT
    wait_initial: float = DEFAULT_WAIT_INITIAL
    wait_max: float = DEFAULT_WAIT_MAX

    @attempts.validator
    def _check_attempts(self, _: Any, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise errors.ConfigurationError(f"attempts must be an integer >= 1, got {value!r}")

    @classmethod
    def from_max_retries(cls, max_retries: int | None, **kwargs: Any) -> RetryPolicy:
        """Build a policy from a client's ``max_retries`` (retries after the first attempt)."""
        if max_retries is None:
            return cls(**kwargs)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise errors.ConfigurationError(
                f"max_retries must be an integer >= 0, got {max_retries!r}"
            )
        return cls(attempts=max_retries + 1, **kwargs)

    @classmethod
    def resolve(cls, max_retries: int | None, retry: RetryPolicy | None) -> RetryPolicy:
        """The policy of a client given ``max_retries=`` and/or ``retry=``.

        Raises:
            ConfigurationError: both given, or ``retry`` is not a ``RetryPolicy``.
        """
        if retry is None:
            return cls.from_max_retries(max_retries)
        if not isinstance(retry, RetryPolicy):
            raise errors.ConfigurationError(
                f"retry must be a volcspeech.RetryPolicy, got {type(retry).__name__}"
            )
        if max_retries is not None:
            raise errors.ConfigurationError("pass max_retries or retry, not both")
        return retry

    def backoff_ceiling(self, retry_number: int) -> float:
        """The upper bound of the jittered wait before retry ``retry_number`` (1-based)."""
        return float(min(self.wait_max, self.wait_initial * (2 ** (retry_number - 1))))


DEFAULT_RETRY = RetryPolicy()

_testing = threading.Event()


def set_testing(enabled: bool = True) -> None:
    """Switch off the sleeping between retries (for test suites).

    Retry decisions and computed waits are still made and logged; only the
    ``time.sleep`` is skipped. ``volcspeech.testing`` re-exports this.
    """
    if enabled:
        _testing.set()
    else:
        _testing.clear()


def is_testing() -> bool:
    """Whether :func:`set_testing` switched sleeping off."""
    return _testing.is_set()


def _sleep(seconds: float) -> None:
    if not _testing.is_set() and seconds > 0:
        time.sleep(seconds)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date) into seconds, or ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = parsed.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def user_agent() -> str:
    """``volcspeech/<v> python/<v> requests/<v>``."""
    from . import __version__

    return (
        f"volcspeech/{__version__} python/{platform.python_version()} "
        f"requests/{requests.__version__}"
    )


# --- requests ------------------------------------------------------------------

Body = Union[bytes, Iterable[bytes], None]


@attrs.frozen
class RequestSpec:
    """One attempt's request, built afresh for every attempt (fresh signature, fresh stream)."""

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict)
    params: Mapping[str, str] | None = None
    body: Body = attrs.field(default=None, repr=False)


def _new_session(pool_maxsize: int) -> requests.Session:
    session = requests.Session()
    # Retries are ours (they rebuild streams and signatures); urllib3 must not retry.
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    # requests re-reads proxy and CA-bundle variables on every request (about a
    # fifth of a small request's CPU). For our own session they are read once
    # per host instead (``HttpClient._environment``); a caller's session keeps
    # its own settings untouched.
    session.trust_env = False
    return session


def _translate(
    exc: requests.RequestException, request_id: str | None, log_id: str | None = None
) -> errors.VolcSpeechError:
    """The one boundary where ``requests``/``urllib3`` errors become volcspeech errors."""
    name = type(exc).__name__
    if isinstance(exc, (requests.ConnectTimeout, requests.ReadTimeout, requests.Timeout)):
        return errors.TimeoutError(
            f"{name}: the request timed out", request_id=request_id, log_id=log_id
        )
    if isinstance(
        exc,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ),
    ):
        return errors.ConfigurationError(f"invalid endpoint URL ({name})")
    if isinstance(exc, requests.exceptions.SSLError):
        return errors.TransportError(f"TLS error: {name}", request_id=request_id, log_id=log_id)
    detail = str(exc.__context__ or exc)
    # urllib3 messages are about sockets and hosts, never credentials; keep them
    # short and pass them through the redactor anyway.
    detail = redact(detail)[:300]
    return errors.TransportError(f"{name}: {detail}", request_id=request_id, log_id=log_id)


class _NotRetried(Exception):
    """Carries an exception out of tenacity when a retry is impossible."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


def _with_reason(exc: errors.VolcSpeechError, reason: str) -> errors.VolcSpeechError:
    """A copy of ``exc`` whose message ends with ``reason`` (same class and fields)."""
    reduced: Any = exc.__reduce__()
    rebuild, args = reduced[0], reduced[1]
    new = rebuild(args[0], args[1] + reason, *args[2:])
    assert isinstance(new, errors.VolcSpeechError)
    return new


class HttpClient:
    """Sends requests with timeouts, retries and error translation.

    Args:
        session: a ``requests.Session`` to use (proxies, adapters); a pooled one by default.
        timeout: default timeouts of each attempt.
        retry: the retry policy.
        pool_maxsize: connections kept per host when volcspeech makes the session.
    """

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        pool_maxsize: int = DEFAULT_POOL_MAXSIZE,
    ) -> None:
        self.session = session if session is not None else _new_session(pool_maxsize)
        self._owns_session = session is None
        self.timeout = timeout
        self.retry = retry
        self._user_agent = user_agent()
        self._env_cache: dict[str, dict[str, Any]] = {}
        self._env_lock = threading.Lock()

    def _environment(self, url: str) -> dict[str, Any]:
        """Proxies, ``verify`` and ``cert`` from the environment for a URL, read once per host."""
        if not self._owns_session:
            return {}
        parts = urllib.parse.urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        cached = self._env_cache.get(key)
        if cached is None:
            with self._env_lock:
                probe = requests.Session()
                try:
                    found = probe.merge_environment_settings(key + "/", {}, None, None, None)
                finally:
                    probe.close()
                cached = {k: v for k, v in found.items() if k != "stream"}
                self._env_cache[key] = cached
        return cached

    def close(self) -> None:
        """Close the session if volcspeech created it."""
        if self._owns_session:
            self.session.close()

    def _should_retry(self, exc: BaseException) -> bool:
        if isinstance(exc, _NotRetried):
            return False
        if not isinstance(exc, errors.VolcSpeechError):
            logger.debug("not retrying: unexpected %s", type(exc).__name__)
            return False
        if not exc.retryable:
            logger.debug("not retrying: %s is not retryable", type(exc).__name__)
            return False
        return True

    def _wait(self, state: _t.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        ceiling = self.retry.backoff_ceiling(state.attempt_number)
        wait = random.uniform(0, ceiling)  # full jitter
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            wait = max(wait, min(float(retry_after), MAX_RETRY_AFTER))
        return wait

    def call(
        self,
        build: Callable[[], RequestSpec],
        handle: Callable[[requests.Response], T],
        *,
        request_id: str | None = None,
        timeout: Timeout | None = None,
        can_replay: Callable[[], bool] = lambda: True,
        operation: str = "request",
    ) -> T:
        """Run ``build`` → send → ``handle`` with retries.

        Args:
            build: makes the request for one attempt; called again for each retry.
            handle: reads the answer; returns the result or raises an
                :class:`~volcspeech.errors.APIError` whose ``retryable`` decides.
            request_id: our request id, for logs and transport errors.
            timeout: this call's timeouts (the client's by default).
            can_replay: whether the body can be produced again for a retry.
            operation: a short name for log lines.

        Returns:
            What ``handle`` returns.

        Raises:
            VolcSpeechError: the last error; never a ``requests`` or ``tenacity`` one.
        """
        per_attempt = timeout or self.timeout
        policy = self.retry
        started = time.monotonic()

        def attempt() -> T:
            spec = build()
            headers = {"User-Agent": self._user_agent, **spec.headers}
            t0 = time.monotonic()
            response: requests.Response | None = None
            try:
                response = self.session.request(
                    spec.method,
                    spec.url,
                    params=spec.params,
                    data=spec.body,
                    headers=headers,
                    timeout=(per_attempt.connect, per_attempt.read),
                    allow_redirects=False,
                    # The body is read by ``handle``: a body that breaks off
                    # then still has its headers (and log id) at hand.
                    stream=True,
                    **self._environment(spec.url),
                )
                try:
                    result = handle(response)
                finally:
                    logger.debug(
                        "%s %s -> HTTP %s in %.3fs request_id=%s log_id=%s",
                        operation,
                        spec.method,
                        response.status_code,
                        time.monotonic() - t0,
                        request_id,
                        response.headers.get("X-Tt-Logid"),
                    )
                    response.close()
            except requests.RequestException as exc:
                # Headers may have arrived before the body broke off: keep the log id.
                log_id = response.headers.get("X-Tt-Logid") if response is not None else None
                err = _translate(exc, request_id, log_id)
                logger.debug("%s failed after %.3fs: %s", operation, time.monotonic() - t0, err)
                raise err from None
            return result

        def before_sleep(state: _t.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.debug(
                "retrying %s in %.2fs (attempt %d of %d, %.1fs elapsed) request_id=%s after %s: %s",
                operation,
                state.upcoming_sleep,
                state.attempt_number + 1,
                policy.attempts,
                time.monotonic() - started,
                request_id,
                type(exc).__name__,
                exc,
            )

        def retry_predicate(exc: BaseException) -> bool:
            if not self._should_retry(exc):
                return False
            if not can_replay():
                assert isinstance(exc, errors.VolcSpeechError)
                logger.debug("not retrying %s: the request body cannot be replayed", operation)
                raise _NotRetried(
                    _with_reason(
                        exc,
                        " (not retried: the audio came from a non-seekable stream that cannot "
                        "be sent again; pass a path, bytes or a seekable file to get retries)",
                    )
                )
            return True

        retrying = _t.Retrying(
            stop=(
                _t.stop_after_attempt(policy.attempts) | _t.stop_before_delay(policy.total_timeout)
            ),
            wait=self._wait,
            retry=_t.retry_if_exception(retry_predicate),
            sleep=_sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _NotRetried as wrapped:
            raise wrapped.error from None
        except errors.VolcSpeechError as exc:
            if exc.retryable and self._should_retry(exc):
                logger.debug(
                    "giving up %s after %.1fs request_id=%s: %s",
                    operation,
                    time.monotonic() - started,
                    request_id,
                    exc,
                )
            raise
