"""Every error volcspeech raises.

Callers only ever see these: exceptions from ``requests`` and ``urllib3`` are
translated at one boundary (``volcspeech._http``).

The tree::

    VolcSpeechError
    ├── ConfigurationError          (also ValueError) missing/invalid client setup
    │   └── ClientClosedError       a call on a client after ``close()``
    ├── ValidationError             (also ValueError) a bad request value, before any traffic
    │   └── InvalidAudioError       audio that cannot be sent (format, size, duration, empty)
    ├── CallbackError               an RTC callback that must not be trusted
    │   ├── CallbackFormatError     not a well-formed envelope (size, JSON, fields)
    │   │   └── CallbackDuplicateKeyError  a JSON key given twice
    │   ├── CallbackSignatureError  the signature does not verify
    │   └── StaleCallbackError      ``EventTime`` outside ``max_age`` (600 s by default)
    ├── ExecutorError               an executor could not run an item (worker died, pickling)
    ├── TransportError              the request did not get an HTTP answer
    │   └── TimeoutError            (also builtins.TimeoutError) connect or read timeout
    └── APIError                    the service answered with an error
        ├── ProtocolError           an answer we cannot read (bad JSON, missing status)
        ├── AuthenticationError     credentials refused (ASR 401/403, RTC keys/signature)
        │   ├── SignatureError      RTC ``SignatureDoesNotMatch``
        │   ├── InvalidAccessKeyError RTC ``InvalidAccessKey``
        │   └── TimestampError      RTC ``InvalidTimestamp`` (check the clock)
        ├── PermissionDeniedError   RTC ``AccessDenied*``
        ├── InvalidRequestError     ASR 45000001, RTC ``InvalidParameter*``
        ├── EmptyAudioError         ASR 45000002
        ├── AudioFormatError        ASR 45000151
        ├── RateLimitError          HTTP 429, RTC ``FlowLimitExceeded*``   (retryable)
        ├── ServerBusyError         ASR 55000031                          (retryable)
        └── ServerError             ASR 550xxxx, HTTP 5xx, RTC ``InternalError*`` (retryable)

Every :class:`APIError` carries ``code``, ``message``, ``http_status``,
``request_id``, ``log_id`` (the ASR ``X-Tt-Logid``) and ``retryable``.

No error message, ``repr`` or pickle ever contains a credential: the
constructors take no credential arguments and messages are built from service
answers and field names only.
"""

from __future__ import annotations

import builtins
from typing import Any

__all__ = [
    "APIError",
    "AudioFormatError",
    "AuthenticationError",
    "CallbackDuplicateKeyError",
    "CallbackError",
    "CallbackFormatError",
    "CallbackSignatureError",
    "ClientClosedError",
    "ConfigurationError",
    "EmptyAudioError",
    "ExecutorError",
    "InvalidAccessKeyError",
    "InvalidAudioError",
    "InvalidRequestError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "ServerBusyError",
    "ServerError",
    "SignatureError",
    "StaleCallbackError",
    "TimeoutError",
    "TimestampError",
    "TransportError",
    "ValidationError",
    "VolcSpeechError",
    "asr_error_class",
    "rtc_error_class",
]


class VolcSpeechError(Exception):
    """Root of every error raised by volcspeech."""

    @property
    def retryable(self) -> bool:
        """Whether repeating the same request may succeed."""
        return False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: ``type``, ``message``, ``retryable`` and the ids it carries.

        An :class:`APIError` always has ``code``, ``http_status``, ``request_id``
        and ``log_id`` (``None`` when unknown). Never a credential, and never a
        response ``body`` (it may echo the request).
        """
        out: dict[str, Any] = {
            "type": type(self).__name__,
            "message": getattr(self, "message", None) or Exception.__str__(self),
            "retryable": self.retryable,
        }
        always = ("code", "http_status", "request_id", "log_id")
        for name in (*always, "retry_after", "field"):
            value = getattr(self, name, None)
            if value is not None or (name in always and isinstance(self, APIError)):
                out[name] = value
        return out


class ConfigurationError(VolcSpeechError, ValueError):
    """The client is missing or has invalid configuration (credentials, endpoint)."""


class ClientClosedError(ConfigurationError):
    """A call on a client after its :meth:`close` (or the end of its ``with`` block)."""


class ValidationError(VolcSpeechError, ValueError):
    """A request value is invalid; raised before any network traffic.

    Attributes:
        field: the dotted name of the offending field, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> Any:
        return (_rebuild_validation, (type(self), str(self), self.field))


def _rebuild_validation(
    cls: type[ValidationError], message: str, field: str | None
) -> ValidationError:
    return cls(message, field=field)


class InvalidAudioError(ValidationError):
    """Audio that cannot be sent: unsupported format, empty, too large or too long."""


class CallbackError(VolcSpeechError):
    """An RTC callback that failed parsing or verification; its content is untrusted."""


class CallbackFormatError(CallbackError):
    """Not a well-formed callback: too large, not UTF-8 JSON, a field missing or mistyped."""


class CallbackDuplicateKeyError(CallbackFormatError):
    """A JSON object of the callback (envelope or ``EventData``) has a key twice.

    Parsers disagree on which value counts (the first, the last), so such a
    body could mean one thing here and another downstream; it is refused.
    """


class CallbackSignatureError(CallbackError):
    """The callback's ``Signature`` does not match its content and the secret key."""


class StaleCallbackError(CallbackError):
    """The callback's ``EventTime`` is further from now than the accepted maximum age."""


class ExecutorError(VolcSpeechError):
    """An executor could not run one item of a batch: its worker died, or the task
    or its result could not be pickled. The original exception is the ``__cause__``."""


class TransportError(VolcSpeechError):
    """The request did not get a (whole) HTTP answer: DNS, connection refused or
    reset, TLS, or an answer cut short.

    Attributes:
        request_id: the request id volcspeech sent, when there was one.
        log_id: the server log id (``X-Tt-Logid``) when the answer's headers
            arrived before the connection broke.
    """

    @property
    def retryable(self) -> bool:
        """Transport failures are transient: worth another attempt unless built otherwise."""
        return self._retryable

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        log_id: str | None = None,
        retryable: bool = True,
    ) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.log_id = log_id
        self._retryable = retryable

    def __reduce__(self) -> Any:
        return (
            _rebuild_transport,
            (type(self), super().__str__(), self.request_id, self.log_id, self._retryable),
        )

    def __str__(self) -> str:
        base = super().__str__()
        ids = [
            f"{k}={v}" for k, v in (("request_id", self.request_id), ("log_id", self.log_id)) if v
        ]
        return f"{base} ({', '.join(ids)})" if ids else base


def _rebuild_transport(
    cls: type[TransportError],
    message: str,
    request_id: str | None,
    log_id: str | None = None,
    retryable: bool = True,
) -> TransportError:
    return cls(message, request_id=request_id, log_id=log_id, retryable=retryable)


class TimeoutError(TransportError, builtins.TimeoutError):
    """Connecting or reading took longer than the configured timeout."""


class APIError(VolcSpeechError):
    """The service answered with an error.

    Attributes:
        code: the service's code: an ``int`` for ASR (e.g. ``45000001``), a
            ``str`` for RTC (e.g. ``"InvalidParameter.AppId"``), or the HTTP
            status when the answer had no code.
        message: the service's message.
        http_status: the HTTP status code of the answer.
        request_id: ``X-Api-Request-Id`` (ASR) or ``ResponseMetadata.RequestId`` (RTC).
        log_id: the ASR server log id (``X-Tt-Logid``); quote it to support.
        code_n: the RTC numeric code (``CodeN``), when given.
        retry_after: seconds the server asked us to wait (``Retry-After``), if any.
        body: the parsed response body, when there was one.
    """

    #: The default for the class; instances may override through ``retryable=``.
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: Any = None,
        http_status: int | None = None,
        request_id: str | None = None,
        log_id: str | None = None,
        code_n: int | None = None,
        retry_after: float | None = None,
        body: Any = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.request_id = request_id
        self.log_id = log_id
        self.code_n = code_n
        self.retry_after = retry_after
        self.body = body
        self._retryable = retryable

    @property
    def retryable(self) -> bool:
        """The class default unless the error was built with ``retryable=``."""
        return self.default_retryable if self._retryable is None else self._retryable

    def __str__(self) -> str:
        parts = []
        if self.code is not None:
            parts.append(f"[{self.code}]")
        parts.append(self.message or "(no message)")
        ids = []
        if self.http_status is not None:
            ids.append(f"http_status={self.http_status}")
        if self.request_id:
            ids.append(f"request_id={self.request_id}")
        if self.log_id:
            ids.append(f"log_id={self.log_id}")
        if ids:
            parts.append("(" + ", ".join(ids) + ")")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"http_status={self.http_status!r}, request_id={self.request_id!r}, "
            f"log_id={self.log_id!r})"
        )

    def __reduce__(self) -> Any:
        kwargs = {
            "code": self.code,
            "http_status": self.http_status,
            "request_id": self.request_id,
            "log_id": self.log_id,
            "code_n": self.code_n,
            "retry_after": self.retry_after,
            "body": self.body,
            "retryable": self._retryable,
        }
        return (_rebuild_api, (type(self), self.message, kwargs))


def _rebuild_api(cls: type[APIError], message: str, kwargs: dict[str, Any]) -> APIError:
    return cls(message, **kwargs)


class ProtocolError(APIError):
    """The answer could not be read: not JSON, no status code, unexpected shape."""


class AuthenticationError(APIError):
    """The credentials were refused."""


class SignatureError(AuthenticationError):
    """RTC ``SignatureDoesNotMatch``: the secret key is wrong or the request was altered."""


class InvalidAccessKeyError(AuthenticationError):
    """RTC ``InvalidAccessKey``: the access key id is unknown."""


class TimestampError(AuthenticationError):
    """RTC ``InvalidTimestamp``: ``X-Date`` too far from the server clock."""


class PermissionDeniedError(APIError):
    """RTC ``AccessDenied*``: the credentials lack permission for the action."""


class InvalidRequestError(APIError):
    """The service rejected a request parameter (ASR 45000001, RTC ``InvalidParameter*``)."""


class EmptyAudioError(APIError):
    """ASR 45000002: the audio is empty."""


class AudioFormatError(APIError):
    """ASR 45000151: the audio format is not supported or does not match its data."""


class RateLimitError(APIError):
    """Too many requests (HTTP 429, RTC ``FlowLimitExceeded*``); retried with backoff."""

    default_retryable = True


class ServerBusyError(APIError):
    """ASR 55000031: the service is overloaded; retried with backoff."""

    default_retryable = True


class ServerError(APIError):
    """An internal service error (ASR 550xxxx, HTTP 5xx, RTC ``InternalError*``); retried."""

    default_retryable = True


_ASR_CODES: dict[int, type[APIError]] = {
    45000001: InvalidRequestError,
    45000002: EmptyAudioError,
    45000151: AudioFormatError,
    55000031: ServerBusyError,
}


def asr_error_class(code: int | None, http_status: int | None = None) -> type[APIError]:
    """Return the error class for an ASR ``X-Api-Status-Code`` (and HTTP status).

    Args:
        code: the ``X-Api-Status-Code`` value, or ``None`` when absent.
        http_status: the HTTP status of the answer.

    Returns:
        The most specific :class:`APIError` subclass.
    """
    # Refused credentials: the service answers 401/403 with an undocumented code.
    if http_status in (401, 403):
        return AuthenticationError
    if code is not None:
        if code in _ASR_CODES:
            return _ASR_CODES[code]
        # "550xxxx" in the vendor table: internal errors all start with 550.
        if str(code).startswith("550"):
            return ServerError
        if str(code).startswith("45"):
            return InvalidRequestError
    return _http_status_class(http_status)


_RTC_EXACT: dict[str, type[APIError]] = {
    "SignatureDoesNotMatch": SignatureError,
    "InvalidAccessKey": InvalidAccessKeyError,
    "InvalidTimestamp": TimestampError,
    "InvalidAuthorization": AuthenticationError,
    "MissingAuthenticationToken": AuthenticationError,
    "InvalidSecretToken": AuthenticationError,
    "InternalServiceTimeout": ServerError,
    "ServiceUnavailableTemp": ServerError,
}

_RTC_PREFIXES: tuple[tuple[str, type[APIError]], ...] = (
    ("InvalidParameter", InvalidRequestError),
    ("MissingParameter", InvalidRequestError),
    ("AccessDenied", PermissionDeniedError),
    ("FlowLimitExceeded", RateLimitError),
    ("InternalError", ServerError),
)


def rtc_error_class(code: str | None, http_status: int | None = None) -> type[APIError]:
    """Return the error class for an RTC ``ResponseMetadata.Error.Code``.

    Args:
        code: the error code string, e.g. ``"InvalidParameter.AppId"``.
        http_status: the HTTP status of the answer.

    Returns:
        The most specific :class:`APIError` subclass.
    """
    if code:
        if code in _RTC_EXACT:
            return _RTC_EXACT[code]
        for prefix, cls in _RTC_PREFIXES:
            if code.startswith(prefix):
                return cls
    return _http_status_class(http_status)


def _http_status_class(http_status: int | None) -> type[APIError]:
    if http_status in (401, 403):
        return AuthenticationError
    if http_status == 429:
        return RateLimitError
    if http_status is not None and http_status >= 500:
        return ServerError
    if http_status is not None and 400 <= http_status < 500:
        return InvalidRequestError
    return APIError
