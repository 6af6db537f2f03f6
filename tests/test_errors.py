"""The error tree: classes, code mapping, retryability, messages."""

from __future__ import annotations

import builtins

import pytest

from volcspeech import errors as e


def test_every_error_derives_from_the_root() -> None:
    """Every public error class is a VolcSpeechError."""
    for name in e.__all__:
        obj = getattr(e, name)
        if isinstance(obj, type):
            assert issubclass(obj, e.VolcSpeechError), name


def test_input_errors_are_value_errors() -> None:
    """Configuration and validation errors are also ValueError; timeouts also TimeoutError."""
    assert issubclass(e.ConfigurationError, ValueError)
    assert issubclass(e.ValidationError, ValueError)
    assert issubclass(e.InvalidAudioError, e.ValidationError)
    assert issubclass(e.TimeoutError, builtins.TimeoutError)
    assert issubclass(e.TimeoutError, e.TransportError)


@pytest.mark.parametrize(
    ("code", "http", "cls"),
    [
        (45000001, 400, e.InvalidRequestError),
        (45000002, 400, e.EmptyAudioError),
        (45000151, 400, e.AudioFormatError),
        (55000031, 503, e.ServerBusyError),
        (55000000, 500, e.ServerError),
        (5500123, 500, e.ServerError),  # the doc's "550xxxx" (seven digits)
        (45009999, 400, e.InvalidRequestError),
        (None, 401, e.AuthenticationError),
        (45000010, 401, e.AuthenticationError),  # undocumented auth code, HTTP status decides
        (45000001, 403, e.AuthenticationError),
        (None, 403, e.AuthenticationError),
        (None, 429, e.RateLimitError),
        (None, 502, e.ServerError),
        (None, 404, e.InvalidRequestError),
        (None, None, e.APIError),
        (12345, 200, e.APIError),
    ],
)
def test_asr_code_mapping(code: int | None, http: int | None, cls: type[e.APIError]) -> None:
    """Each documented ASR code maps to its class; unknown ones fall back on HTTP status."""
    assert e.asr_error_class(code, http) is cls


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("InvalidParameter.AppId", e.InvalidRequestError),
        ("MissingParameter", e.InvalidRequestError),
        ("AccessDenied", e.PermissionDeniedError),
        ("AccessDenied.Task", e.PermissionDeniedError),
        ("FlowLimitExceeded.QPS", e.RateLimitError),
        ("InternalError", e.ServerError),
        ("InternalError.Timeout", e.ServerError),
        ("InternalServiceTimeout", e.ServerError),
        ("SignatureDoesNotMatch", e.SignatureError),
        ("InvalidAccessKey", e.InvalidAccessKeyError),
        ("InvalidTimestamp", e.TimestampError),
        ("SomethingNew", e.APIError),
    ],
)
def test_rtc_code_mapping(code: str, cls: type[e.APIError]) -> None:
    """Each RTC code family maps to its class."""
    assert e.rtc_error_class(code, 200) is cls


def test_retryable_classes() -> None:
    """Busy, rate-limit, server and transport errors retry; client errors do not."""
    assert e.ServerBusyError("x").retryable
    assert e.ServerError("x").retryable
    assert e.RateLimitError("x").retryable
    assert e.TransportError("x").retryable
    assert not e.InvalidRequestError("x").retryable
    assert not e.AuthenticationError("x").retryable
    assert not e.ValidationError("x").retryable
    assert not e.ServerError("x", retryable=False).retryable
    assert e.APIError("x", retryable=True).retryable


def test_api_error_message_and_repr() -> None:
    """str shows code, message and ids; repr names the class and fields."""
    err = e.ServerBusyError("busy", code=55000031, http_status=503, request_id="R", log_id="L")
    assert str(err) == "[55000031] busy (http_status=503, request_id=R, log_id=L)"
    assert repr(err).startswith("ServerBusyError(code=55000031")
    assert str(e.APIError("")) == "(no message)"


def test_validation_error_field() -> None:
    """ValidationError keeps the offending field name."""
    err = e.ValidationError("bad", field="request.end_window_size")
    assert err.field == "request.end_window_size"
