"""Batch results and errors as JSON data (``BatchResult.to_dict`` / ``from_dict``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .. import errors
from ._results import Transcript, _field, _Malformed

__all__ = ["batch_result_fields", "batch_result_to_dict", "error_from_dict", "error_to_dict"]


def batch_result_to_dict(
    index: int, input: Any, transcript: Transcript | None, error: BaseException | None
) -> dict[str, Any]:
    """The fields of a ``BatchResult`` as a JSON-ready dict (see ``BatchResult.to_dict``)."""
    return {
        "index": index,
        # A path or URL as a string; bytes and file objects are not data to keep.
        "input": str(input) if isinstance(input, (str, os.PathLike)) else None,
        "transcript": None if transcript is None else transcript.to_dict(),
        "error": None if error is None else error_to_dict(error),
    }


def batch_result_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """``BatchResult`` keyword arguments from :func:`batch_result_to_dict`'s dict.

    Raises:
        ProtocolError: the dict does not have that shape; the message names the field.
    """
    if not isinstance(data, Mapping):
        raise errors.ProtocolError("malformed batch result: not a JSON object")
    try:
        index = _field(data, "index", "batch_result", int, None)
        if index is None:
            raise _Malformed("batch_result.index is missing")
        shown = _field(data, "input", "batch_result", str, None)
        transcript = _field(data, "transcript", "batch_result", Mapping, None)
        error = _field(data, "error", "batch_result", Mapping, None)
    except _Malformed as exc:
        raise errors.ProtocolError(f"malformed batch result: {exc}") from None
    return {
        "index": index,
        "input": shown,
        "transcript": None if transcript is None else Transcript.from_dict(transcript),
        "error": None if error is None else error_from_dict(error),
    }


def error_to_dict(error: BaseException) -> dict[str, Any]:
    """A volcspeech error's ``to_dict()``; for any other exception its type and message."""
    if isinstance(error, errors.VolcSpeechError):
        return error.to_dict()
    return {"type": type(error).__name__, "message": str(error), "retryable": False}


def error_from_dict(data: Mapping[str, Any]) -> errors.VolcSpeechError:
    """Rebuild an error from :func:`error_to_dict`'s dict, as its volcspeech class.

    A ``type`` that is not a volcspeech error (e.g. ``OSError``) comes back as a
    :class:`~volcspeech.errors.VolcSpeechError` whose message names that type.
    """
    name = str(data.get("type", ""))
    message = str(data.get("message", ""))
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, errors.VolcSpeechError)):
        return errors.VolcSpeechError(f"{name}: {message}" if name else message)
    ids = {"request_id": data.get("request_id"), "log_id": data.get("log_id")}
    if issubclass(cls, errors.APIError):
        return cls(
            message,
            code=data.get("code"),
            http_status=data.get("http_status"),
            retry_after=data.get("retry_after"),
            retryable=data.get("retryable"),
            **ids,
        )
    if issubclass(cls, errors.TransportError):
        return cls(message, request_id=ids["request_id"], log_id=ids["log_id"])
    if issubclass(cls, errors.ValidationError):
        return cls(message, field=data.get("field"))
    return cls(message)
