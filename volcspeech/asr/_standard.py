"""The standard (submit/query) recorded-file API, without I/O: build its requests, read its answers.

Vendor doc 6561/1354868 (大模型录音文件识别标准版):

* submit: ``POST {base}/api/v3/auc/bigmodel/submit`` with the same headers and
  body as flash (``X-Api-Sequence: -1``); the ``X-Api-Request-Id`` **is the
  task id**; the answer has an empty body and ``X-Api-Status-Code`` 20000000;
* query: ``POST {base}/api/v3/auc/bigmodel/query`` with body ``{}`` and the
  same ``X-Api-Request-Id``; ``X-Api-Status-Code`` 20000000 with the
  flash-shaped result, 20000001 processing, 20000002 queued, 20000003 silent
  audio, 45xxxxxx / 55xxxxxx errors as in flash.

``callback`` and ``callback_data`` are body fields beside ``user``/``audio``/
``request`` (the vendor's field table puts them at level 1).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .. import errors
from .._messages import HttpRequest, HttpResponse, StreamBody
from ._audio import PreparedAudio, StreamedBody
from ._flash import LOG_ID_HEADER, _header_text, read_recognize
from ._models import RecognitionTask, TaskState, TaskStatus
from ._options import RecognitionOptions
from ._results import STATUS_OK, STATUS_SILENT

__all__ = [
    "QUERY_PATH",
    "STATUS_PROCESSING",
    "STATUS_QUEUED",
    "SUBMIT_PATH",
    "build_query",
    "build_submit",
    "read_query",
    "read_submit",
    "standard_request_dict",
]

#: The standard API's submit path under the service's base URL.
SUBMIT_PATH = "/api/v3/auc/bigmodel/submit"
#: The standard API's query path.
QUERY_PATH = "/api/v3/auc/bigmodel/query"
#: ``X-Api-Status-Code`` of a task being recognized.
STATUS_PROCESSING = 20000001
#: ``X-Api-Status-Code`` of a task waiting in the queue.
STATUS_QUEUED = 20000002


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _headers(
    auth_headers: Mapping[str, str], resource_id: str, task_id: str, *, sequence: bool
) -> dict[str, str]:
    headers = {
        **auth_headers,
        "X-Api-Resource-Id": resource_id,
        "X-Api-Request-Id": task_id,
        "Content-Type": "application/json",
    }
    if sequence:
        headers["X-Api-Sequence"] = "-1"
    return headers


def standard_request_dict(options: RecognitionOptions) -> dict[str, Any]:
    """The ``request`` object for the standard API.

    ``show_utterances`` is sent as ``true`` when unset: the standard API
    returns utterances only when asked, the flash API always does, and a
    :class:`~volcspeech.asr.Transcript` should look the same from both. Set
    ``show_utterances=False`` to get the text only.
    """
    request = options.to_request_dict()
    request.setdefault("show_utterances", True)
    return request


def build_submit(
    *,
    url: str,
    auth_headers: Mapping[str, str],
    resource_id: str,
    task_id: str,
    uid: str,
    audio: PreparedAudio,
    options: RecognitionOptions,
) -> HttpRequest:
    """The submit request of a standard-API task.

    Args:
        url: the submit URL.
        auth_headers: the credential headers.
        resource_id: ``X-Api-Resource-Id`` (the model).
        task_id: ``X-Api-Request-Id``, the task id.
        uid: ``user.uid``.
        audio: a URL (``audio.url``) or an inline source (``audio.data``, streamed).
        options: the options; ``callback``/``callback_data`` go beside ``request``.

    Returns:
        The request.
    """
    headers = _headers(auth_headers, resource_id, task_id, sequence=True)
    user = {"uid": uid}
    tail = _dumps(options.to_top_level_dict())[1:-1]
    request = standard_request_dict(options)
    source = audio.source
    if source is None:
        body: bytes | StreamBody = _dumps(
            {"user": user, "audio": audio.fields, "request": request, **options.to_top_level_dict()}
        )
    else:
        fields = _dumps(audio.fields)[1:-1]
        prefix = b'{"user":' + _dumps(user) + b',"audio":{' + fields + (b"," if fields else b"")
        prefix += b'"data":"'
        suffix = b'"},"request":' + _dumps(request) + (b"," + tail if tail else b"") + b"}"
        stream = StreamedBody(prefix, source, suffix)
        body = StreamBody(len(stream), lambda: stream, source.description)
    return HttpRequest("POST", url, headers=headers, body=body, request_id=task_id)


def build_query(*, url: str, auth_headers: Mapping[str, str], task: RecognitionTask) -> HttpRequest:
    """The query request of a task: body ``{}``, the task id as ``X-Api-Request-Id``."""
    headers = _headers(auth_headers, task.resource_id, task.task_id, sequence=False)
    return HttpRequest("POST", url, headers=headers, body=b"{}", request_id=task.task_id)


def _code(response: HttpResponse, task_id: str) -> int | None:
    raw = response.headers.get("X-Api-Status-Code")
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise errors.ProtocolError(
            f"unreadable X-Api-Status-Code header {raw[:40]!r}",
            http_status=response.status,
            request_id=task_id,
            log_id=response.headers.get(LOG_ID_HEADER) or None,
        ) from None


def read_submit(response: HttpResponse, task: RecognitionTask) -> RecognitionTask:
    """Read the submit answer: the task (with the answer's log id), or raise its error.

    Raises:
        APIError: the typed error of the status code, as for flash.
    """
    code = _code(response, task.task_id)
    if code == STATUS_OK and response.status < 400:
        log_id = response.headers.get(LOG_ID_HEADER) or None
        return RecognitionTask(task.task_id, task.resource_id, log_id)
    if code in (STATUS_SILENT, STATUS_PROCESSING, STATUS_QUEUED) and response.status < 400:
        message = _header_text(response.headers.get("X-Api-Message")) or ""
        raise errors.ProtocolError(
            f"the submit answer has status {code}, not 20000000 {message}".rstrip(),
            code=code,
            http_status=response.status,
            request_id=task.task_id,
            log_id=response.headers.get(LOG_ID_HEADER) or None,
        )
    # Everything else is an error: the flash reader raises it typed.
    read_recognize(response, task.task_id)
    raise errors.ProtocolError(  # pragma: no cover - read_recognize raised for non-20000000
        "unreadable submit answer", request_id=task.task_id
    )


def read_query(response: HttpResponse, task: RecognitionTask) -> TaskState:
    """Read a query answer into a :class:`TaskState`.

    Returns:
        Queued (20000002), processing (20000001) or done (20000000 with the
        transcript; 20000003 with a silent one).

    Raises:
        APIError: for an error status, typed as for flash; the client turns
            the non-retryable ones (and retryable ones after its retries) into
            a failed state, except authentication and protocol errors.
    """
    code = _code(response, task.task_id)
    log_id = response.headers.get(LOG_ID_HEADER) or None
    if response.status < 400 and code in (STATUS_PROCESSING, STATUS_QUEUED):
        status = TaskStatus.PROCESSING if code == STATUS_PROCESSING else TaskStatus.QUEUED
        return TaskState(task, status, code=code, log_id=log_id)
    transcript = read_recognize(response, task.task_id)
    return TaskState(task, TaskStatus.DONE, code=code, transcript=transcript, log_id=log_id)
