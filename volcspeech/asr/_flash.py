"""The flash recognition operation, without I/O: build its request, read its answer.

:func:`build_recognize` turns prepared audio and options into an
:class:`~volcspeech.HttpRequest` (the base64 audio streamed from its source,
with an exact length); :func:`read_recognize` turns an
:class:`~volcspeech.HttpResponse` into a :class:`Transcript` or raises the
typed error. Neither imports an HTTP library.

The status is in the ``X-Api-Status-Code`` header, the message in
``X-Api-Message`` and the server log id in ``X-Tt-Logid``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from .. import errors
from .._messages import HttpRequest, HttpResponse, StreamBody
from .._retry import parse_retry_after
from ._audio import PreparedAudio, StreamedBody
from ._options import RecognitionOptions
from ._results import STATUS_OK, STATUS_SILENT, Transcript

__all__ = [
    "FLASH_PATH",
    "LOG_ID_HEADER",
    "build_recognize",
    "read_recognize",
]

#: The flash API's path under the service's base URL.
FLASH_PATH = "/api/v3/auc/bigmodel/recognize/flash"
#: The answer header holding the server's log id (quote it to support).
LOG_ID_HEADER = "X-Tt-Logid"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def build_recognize(
    *,
    url: str,
    auth_headers: Mapping[str, str],
    resource_id: str,
    request_id: str,
    uid: str,
    audio: PreparedAudio,
    options: RecognitionOptions,
    encode_size: int | None = None,
) -> HttpRequest:
    """The flash recognition request.

    Args:
        url: the flash API URL.
        auth_headers: the credential headers (``X-Api-Key``, or the app key pair).
        resource_id: ``X-Api-Resource-Id``.
        request_id: ``X-Api-Request-Id``.
        uid: ``user.uid`` in the body.
        audio: the checked audio (inline source or URL fields).
        options: the recognition options.
        encode_size: raw audio bytes base64-encoded per body piece (see
            :class:`~volcspeech.asr._audio.StreamedBody`); a whole read block by default.

    Returns:
        The request; an inline source becomes a :class:`~volcspeech.StreamBody`
        that reads the audio from its start each time it is sent.
    """
    headers = {
        **auth_headers,
        "X-Api-Resource-Id": resource_id,
        "X-Api-Request-Id": request_id,
        "X-Api-Sequence": "-1",
        "Content-Type": "application/json",
    }
    user = {"uid": uid}
    request = options.to_request_dict()
    source = audio.source
    if source is None:
        body: bytes | StreamBody = _dumps({"user": user, "audio": audio.fields, "request": request})
    else:
        fields = _dumps(audio.fields)[1:-1]
        prefix = b'{"user":' + _dumps(user) + b',"audio":{' + fields + (b"," if fields else b"")
        prefix += b'"data":"'
        suffix = b'"},"request":' + _dumps(request) + b"}"
        stream = (
            StreamedBody(prefix, source, suffix)
            if encode_size is None
            else StreamedBody(prefix, source, suffix, encode_size=encode_size)
        )
        body = StreamBody(len(stream), lambda: stream, source.description)
    return HttpRequest("POST", url, headers=headers, body=body, request_id=request_id)


def _header_text(value: str | None) -> str | None:
    """Header values arrive decoded as latin-1; the service's messages are UTF-8."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _json_body(response: HttpResponse) -> Any:
    content = response.body
    if not content or not content.strip():
        return None
    try:
        return json.loads(content)
    except RecursionError:
        # Nested deeper than json can parse: as unreadable as malformed JSON.
        raise ValueError("the body's JSON is nested too deeply") from None


def read_recognize(response: HttpResponse, request_id: str) -> Transcript:
    """Turn the service's answer into a :class:`Transcript` or raise its error.

    Args:
        response: the HTTP answer.
        request_id: the ``X-Api-Request-Id`` sent.

    Returns:
        The transcript (``silent=True`` and empty for status 20000003).

    Raises:
        APIError: the typed error for the status code (``retryable`` for
            55000031 and 550xxxx), :class:`~volcspeech.errors.AuthenticationError`
            for HTTP 401/403, :class:`~volcspeech.errors.ProtocolError` for an
            answer without a readable status or body.
    """
    http_status = response.status
    headers = response.headers
    log_id = headers.get(LOG_ID_HEADER) or None
    message = _header_text(headers.get("X-Api-Message"))
    raw_code = headers.get("X-Api-Status-Code")
    ids: dict[str, Any] = {"http_status": http_status, "request_id": request_id, "log_id": log_id}

    code: int | None = None
    if raw_code is not None:
        try:
            code = int(raw_code.strip())
        except ValueError:
            raise errors.ProtocolError(
                f"unreadable X-Api-Status-Code header {raw_code[:40]!r}", **ids
            ) from None
    elif http_status < 400:
        raise errors.ProtocolError(
            f"the answer (HTTP {http_status}) has no X-Api-Status-Code header", **ids
        )

    if code in (STATUS_OK, STATUS_SILENT) and http_status < 400:
        silent = code == STATUS_SILENT
        try:
            body = _json_body(response)
        except ValueError:
            if silent:
                body = None
            else:
                raise errors.ProtocolError(
                    "the answer's body is not JSON", code=code, **ids
                ) from None
        if body is None:
            if not silent:
                raise errors.ProtocolError("the answer has an empty body", code=code, **ids)
            return Transcript(log_id=log_id, request_id=request_id, silent=True)
        try:
            transcript = Transcript.from_dict(
                body, log_id=log_id, request_id=request_id, silent=silent
            )
        except errors.ProtocolError as exc:
            exc.http_status = http_status  # from_dict does not know the answer's status
            raise
        if silent:
            # Whatever text came with it, a silent answer means "no speech".
            transcript = attrs.evolve(transcript, text="", utterances=())
        return transcript

    try:
        body = _json_body(response)
    except ValueError:
        body = None
    # 401/403 map to AuthenticationError whatever the (undocumented) code.
    cls = errors.asr_error_class(code, http_status)
    if not message:
        message = (
            f"unexpected status code {code}"
            if code is not None
            else f"HTTP {http_status} without X-Api-Status-Code"
        )
    error = cls(
        message,
        code=code if code is not None else http_status,
        body=body,
        retry_after=parse_retry_after(headers.get("Retry-After")),
        **ids,
    )
    raise error
