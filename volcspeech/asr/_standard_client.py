"""The standard-API half of :class:`~volcspeech.asr.AsrClient`: submit, query, wait, routing.

A mixin, so the client stays one object with one transport, one set of
credentials and one retry policy: each operation is a pure builder and reader
(:mod:`._standard`) handed to ``BaseClient._send``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, Union

from .. import errors
from .._base_client import TimeoutLike
from .._messages import HttpRequest
from .._transport import CallSettings
from ..credentials import SpeechCredentials
from ._audio import ALLOWED_URL_SCHEMES, AudioInput, PreparedAudio
from ._models import (
    FLASH_RESOURCE_ID,
    AsrModel,
    RecognitionTask,
    TaskState,
    TaskStatus,
    resolve_standard_model,
)
from ._options import RecognitionOptions
from ._results import Transcript
from ._standard import QUERY_PATH, SUBMIT_PATH, build_query, build_submit, read_query, read_submit
from ._standard_poll import DEFAULT_WAIT_TIMEOUT, PollLike, PollSchedule, Waiter
from ._standard_routing import goes_flash, inspect_audio
from ._uploaders import UploadSource

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from .._messages import HttpResponse

__all__ = [
    "StandardOperations",
    "TaskLike",
    "failed_state",
    "flash_resource_id",
    "resolve_client_model",
    "uploaded_audio",
    "uploader_error",
]

_T = TypeVar("_T")
_HEADER_SAFE = re.compile(r"^[\x21-\x7e]{1,256}$")

#: What :meth:`AsrClient.query` and :meth:`AsrClient.wait` accept as a task.
TaskLike = Union[RecognitionTask, Mapping[str, Any], str]


def resolve_client_model(model: Any) -> str | None:
    """The standard resource id of a client's ``model=`` (``None`` for the flash model)."""
    if model is AsrModel.FLASH or model == AsrModel.FLASH.value or model == FLASH_RESOURCE_ID:
        return None
    return resolve_standard_model(model)


def flash_resource_id(model: Any, default: str) -> str:
    """The flash resource id of a per-call ``model=`` (``default`` for ``None``).

    Raises:
        ValidationError: a standard model (``"1.0"``, ``"2.0"``) with the flash API.
    """
    if model is None or model is AsrModel.FLASH or model == AsrModel.FLASH.value:
        return default if model is None else FLASH_RESOURCE_ID
    if isinstance(model, AsrModel) or model in (m.value for m in AsrModel):
        raise errors.ValidationError(
            f"model={model!r} is a standard-API model; recognize with api='standard' or "
            "api='auto', or use AsrClient.submit",
            field="model",
        )
    if not isinstance(model, str) or not _HEADER_SAFE.match(model):
        raise errors.ValidationError(
            f"model must be 'flash', '1.0', '2.0' or a resource id, got {model!r}", field="model"
        )
    return model


def _check_options(options: Any) -> RecognitionOptions:
    if options is None:
        return RecognitionOptions()
    if not isinstance(options, RecognitionOptions):
        raise errors.ValidationError(
            f"options must be RecognitionOptions, got {type(options).__name__}", field="options"
        )
    return options


def _with_callback(
    options: RecognitionOptions, callback_url: str | None, callback_data: str | None
) -> RecognitionOptions:
    """``options`` with the submit arguments ``callback_url`` / ``callback_data`` set."""
    import attrs

    changes: dict[str, Any] = {}
    for name, value in (("callback", callback_url), ("callback_data", callback_data)):
        if value is None:
            continue
        current = getattr(options, name)
        if current is not None and current != value:
            raise errors.ValidationError(
                f"{name} is given twice with different values (options.{name} and the "
                "submit argument); give it once",
                field=name,
            )
        changes[name] = value
    return attrs.evolve(options, **changes) if changes else options


def _check_uploader(uploader: Any) -> None:
    if uploader is not None and not callable(getattr(uploader, "upload", None)):
        raise errors.ValidationError(
            f"uploader must have an upload(source) -> url method, got {type(uploader).__name__}",
            field="uploader",
        )


def uploader_error(exc: Exception, upload: UploadSource) -> errors.TransportError:
    """The error raised for a user's uploader failing with a non-volcspeech exception."""
    return errors.TransportError(
        f"the uploader failed on {upload.description}: {type(exc).__name__}: {str(exc)[:200]}",
        retryable=False,
    )


def uploaded_audio(prepared: PreparedAudio, url: Any) -> PreparedAudio:
    """The audio as the uploader's URL (``audio.url``), once the URL is checked.

    Raises:
        ValidationError: the uploader returned no ``http(s)://`` URL.
    """
    if not isinstance(url, str) or not url.lower().startswith(
        tuple(s + "://" for s in ALLOWED_URL_SCHEMES)
    ):
        raise errors.ValidationError(
            f"the uploader returned {type(url).__name__} {str(url)[:60]!r}, not an http(s):// URL",
            field="uploader",
        )
    fields = {k: v for k, v in prepared.fields.items() if k not in ("data", "url")}
    fields["url"] = url
    return PreparedAudio(fields=fields, info=prepared.info)


def failed_state(task: RecognitionTask, exc: errors.APIError) -> TaskState:
    """The failed state of a query the service answered with an error (typed in ``error``)."""
    return TaskState(task, TaskStatus.FAILED, code=_int(exc.code), error=exc, log_id=exc.log_id)


def _as_task(task: Any, default_resource: str) -> RecognitionTask:
    if isinstance(task, RecognitionTask):
        return task
    if isinstance(task, Mapping):
        return RecognitionTask.from_dict(task)
    if isinstance(task, str):
        return RecognitionTask(task, default_resource)
    raise errors.ValidationError(
        "task must be a RecognitionTask, its to_dict() or a task id string, got "
        f"{type(task).__name__}",
        field="task",
    )


class StandardOperations:
    """Submit, query, wait and the routing of :meth:`AsrClient.recognize` (a mixin)."""

    if TYPE_CHECKING:  # provided by AsrClient / BaseClient

        @property
        def _credentials(self) -> SpeechCredentials: ...
        @property
        def uid(self) -> str: ...

        standard_resource_id: str
        standard_inline_bytes: int

        def _check_open(self) -> None: ...
        def _url(self, path: str) -> str: ...
        def _settings(
            self, timeout: TimeoutLike = None, deadline: float | None = None
        ) -> CallSettings: ...
        def _send(
            self,
            build: Callable[[], HttpRequest],
            read: Callable[[HttpResponse], _T],
            *,
            settings: CallSettings,
            request_id: str | None,
            operation: str,
            can_replay: Callable[[], bool] = ...,
        ) -> _T: ...

        recognize: Callable[..., Transcript]

    # --- submit --------------------------------------------------------------------

    def submit(
        self,
        audio: AudioInput,
        *,
        options: RecognitionOptions | None = None,
        request_id: str | None = None,
        callback_url: str | None = None,
        callback_data: str | None = None,
        model: Union[str, AsrModel, None] = None,
        uploader: Any = None,
        timeout: TimeoutLike = None,
        deadline: float | None = None,
    ) -> RecognitionTask:
        """Submit a standard-API (submit/query) recognition task.

        Args:
            audio: as for :meth:`recognize`. An ``http(s)://`` URL is sent as
                ``audio.url``; local audio goes through ``uploader`` when one is
                given, else inline up to ``standard_inline_bytes`` (the client's
                setting; the vendor documents URLs, inline is *uncertain*).
            options: recognition options; the standard-only fields are accepted.
            request_id: the task id (``X-Api-Request-Id``); a fresh UUID4 by default.
            callback_url: a URL the service calls when the task ends (``callback``).
            callback_data: a string handed back with the callback.
            model: ``"1.0"``, ``"2.0"``, an :class:`AsrModel` or a resource id;
                the client's ``model`` by default.
            uploader: an object with ``upload(source) -> url`` (e.g.
                :class:`~volcspeech.asr.TosUploader`).
            timeout: per-attempt timeouts of the submit.
            deadline: total seconds of the submit call.

        Returns:
            The task: store ``task.to_dict()`` to resume it anywhere.

        Raises:
            ValidationError: bad options, model, request id or uploader, or
                local audio beyond the inline limit without an uploader.
            InvalidAudioError: the audio cannot be read or is not WAV / MP3 / Ogg Opus.
            APIError: the service refused the task (after retries for transient errors).
            TransportError: no answer.
        """
        self._check_open()
        options, resource_id, task_id = self._submit_args(
            options, callback_url, callback_data, model, uploader, request_id
        )
        settings = self._settings(timeout, deadline)
        prepared = inspect_audio(audio, options.to_audio_dict())
        return self._submit_prepared(prepared, options, task_id, resource_id, uploader, settings)

    def _submit_args(
        self,
        options: RecognitionOptions | None,
        callback_url: str | None,
        callback_data: str | None,
        model: Any,
        uploader: Any,
        request_id: str | None,
    ) -> tuple[RecognitionOptions, str, str]:
        """A submit's checked options, resource id and task id (shared with the async client).

        Raises:
            ValidationError: bad options, callback, model, uploader or request id.
        """
        options = _with_callback(_check_options(options), callback_url, callback_data)
        options.check_api("standard")
        _check_uploader(uploader)
        resource_id = self.standard_resource_id if model is None else resolve_standard_model(model)
        return options, resource_id, self._task_id(request_id)

    def _task_id(self, request_id: str | None) -> str:
        if request_id is None:
            return str(uuid.uuid4())
        if not isinstance(request_id, str) or not _HEADER_SAFE.match(request_id):
            raise errors.ValidationError(
                "request_id must be 1-256 printable ASCII characters without spaces",
                field="request_id",
            )
        return request_id

    def _submit_prepared(
        self,
        prepared: PreparedAudio,
        options: RecognitionOptions,
        task_id: str,
        resource_id: str,
        uploader: Any,
        settings: CallSettings,
    ) -> RecognitionTask:
        try:
            prepared = self._standard_audio(prepared, uploader)
            request, task = self._submit_request(prepared, options, task_id, resource_id)
            result: RecognitionTask = self._send(
                lambda: request,
                lambda response: read_submit(response, task),
                settings=settings,
                request_id=task_id,
                operation="asr.submit",
            )
            return result
        finally:
            if prepared.source is not None:
                prepared.source.close()

    def _submit_request(
        self, prepared: PreparedAudio, options: RecognitionOptions, task_id: str, resource_id: str
    ) -> tuple[HttpRequest, RecognitionTask]:
        """The submit request of ready audio and its task (shared with the async client)."""
        request = build_submit(
            url=self._url(SUBMIT_PATH),
            auth_headers=self._credentials.headers(),
            resource_id=resource_id,
            task_id=task_id,
            uid=self.uid,
            audio=prepared,
            options=options,
        )
        return request, RecognitionTask(task_id, resource_id)

    def _standard_audio(self, prepared: PreparedAudio, uploader: Any) -> PreparedAudio:
        """URL audio as it is; local audio uploaded, inline, or refused with the option to pass."""
        upload = self._upload_source(prepared, uploader)
        if upload is None:
            return prepared
        try:
            url = uploader.upload(upload)
        except errors.VolcSpeechError:
            raise
        except Exception as exc:  # a user's uploader: its own errors, wrapped once
            raise uploader_error(exc, upload) from exc
        return uploaded_audio(prepared, url)

    def _upload_source(self, prepared: PreparedAudio, uploader: Any) -> UploadSource | None:
        """What to hand the uploader, or ``None`` when the audio goes as it is (URL, inline).

        Raises:
            ValidationError: local audio beyond ``standard_inline_bytes`` without an uploader.
        """
        source = prepared.source
        if source is None:
            return None
        if uploader is None:
            if source.size <= self.standard_inline_bytes:
                return None
            raise errors.ValidationError(
                f"{source.description} is {source.size} bytes: beyond "
                f"{self.standard_inline_bytes} bytes (the client's standard_inline_bytes) local "
                "audio must reach the standard API as a URL; pass uploader= (e.g. "
                "volcspeech.asr.TosUploader(...) or S3Uploader(...), or any object with "
                "upload(source) -> url), or upload it yourself and pass its http(s) URL",
                field="uploader",
            )
        return UploadSource(source, prepared.fields.get("format"))

    # --- query and wait ------------------------------------------------------------------

    def query(self, task: TaskLike, *, timeout: TimeoutLike = None) -> TaskState:
        """Ask once where a task is.

        Args:
            task: a :class:`RecognitionTask`, its ``to_dict()``, or a task id
                (then with the client's ``model``).
            timeout: per-attempt timeouts.

        Returns:
            Queued, processing, done (with the transcript) or failed (with the
            typed error, e.g. ``AudioFormatError`` for 45000151); transient
            errors are retried first.

        Raises:
            AuthenticationError: credentials refused.
            ProtocolError: an unreadable answer.
            TransportError: no answer (after retries).
        """
        self._check_open()
        resolved, request = self._query_request(task)
        try:
            state: TaskState = self._send(
                lambda: request,
                lambda response: read_query(response, resolved),
                settings=self._settings(timeout),
                request_id=resolved.task_id,
                operation="asr.query",
            )
        except (errors.AuthenticationError, errors.ProtocolError):
            raise
        except errors.APIError as exc:
            return failed_state(resolved, exc)
        return state

    def _query_request(self, task: TaskLike) -> tuple[RecognitionTask, HttpRequest]:
        """The task and its query request (shared with the async client).

        Raises:
            ValidationError: ``task`` is not a task, its dict or a task id.
        """
        resolved = _as_task(task, self.standard_resource_id)
        request = build_query(
            url=self._url(QUERY_PATH), auth_headers=self._credentials.headers(), task=resolved
        )
        return resolved, request

    def wait(
        self,
        task: TaskLike,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll: PollLike = None,
    ) -> Transcript:
        """Poll a task until it is done, backing off between queries.

        Args:
            task: as for :meth:`query`.
            timeout: seconds to wait in all (3 h by default); no sleep runs past it.
            poll: a :class:`PollSchedule`, or seconds between queries (fixed);
                by default 1 s growing 1.5x per query up to 30 s.

        Returns:
            The transcript (``silent=True`` for silent audio).

        Raises:
            TimeoutError: the task did not finish within ``timeout`` (it goes on:
                call ``wait`` again later, from anywhere).
            APIError: the task failed (its typed error).
        """
        resolved, waiter = self._waiter(task, timeout, poll)
        self._check_open()
        while True:
            state = self.query(resolved)
            if state.finished:
                return state.unwrap()
            time.sleep(waiter.next_wait(state))

    def _waiter(
        self, task: TaskLike, timeout: float, poll: PollLike
    ) -> tuple[RecognitionTask, Waiter]:
        """A wait's task and its schedule, checked (shared with the async client).

        Raises:
            ValidationError: a bad ``task``, ``timeout`` or ``poll``.
        """
        schedule = PollSchedule.coerce(poll)
        resolved = _as_task(task, self.standard_resource_id)
        return resolved, Waiter(resolved, timeout, schedule)

    # --- routing -------------------------------------------------------------------------

    def _recognize_routed(
        self,
        audio: AudioInput,
        *,
        api: str,
        options: RecognitionOptions | None,
        request_id: str | None,
        timeout: TimeoutLike,
        deadline: float | None,
        uploader: Any,
        model: Any,
        poll: PollLike,
    ) -> Transcript:
        """``recognize(api="standard" | "auto")``: flash within its limits (auto), else standard."""
        self._check_open()
        route = self._route_args(api, options, uploader, model, poll)
        checked, flash_model, resource_id, schedule = route
        prepared = inspect_audio(audio, checked.to_audio_dict())
        if goes_flash(api, prepared, checked):
            try:
                return self.recognize(
                    _again(audio, prepared),
                    options=options,
                    request_id=request_id,
                    timeout=timeout,
                    deadline=deadline,
                    model=flash_model,
                )
            finally:
                if prepared.source is not None:
                    prepared.source.close()
        checked.check_api("standard")
        task_id = self._task_id(request_id)
        task = self._submit_prepared(
            prepared, checked, task_id, resource_id, uploader, self._settings(timeout)
        )
        return self.wait(task, timeout=deadline or DEFAULT_WAIT_TIMEOUT, poll=schedule)

    def _route_args(
        self, api: str, options: Any, uploader: Any, model: Any, poll: PollLike
    ) -> tuple[RecognitionOptions, Any, str, PollSchedule]:
        """A routed recognition's checked options, flash model, standard resource id and
        schedule (shared with the async client).

        Raises:
            ValidationError: bad options, uploader, model or poll.
        """
        checked = _check_options(options)
        _check_uploader(uploader)
        schedule = PollSchedule.coerce(poll)
        flash_model = _flash_part(model)
        if model is None or (api == "auto" and flash_model is not None):
            resource_id = self.standard_resource_id
        else:
            resource_id = resolve_standard_model(model)
        return checked, flash_model, resource_id, schedule


def _again(audio: Any, prepared: PreparedAudio) -> Any:
    """The input to read once more: a file object back at its start (or its spooled copy)."""
    source = prepared.source
    fileobj = getattr(source, "fileobj", None)
    if source is None or fileobj is None or not hasattr(audio, "read"):
        return audio
    fileobj.seek(getattr(source, "start", 0))
    return fileobj


def _flash_part(model: Any) -> Any:
    """With ``api="auto"``, a standard model names the standard side only: flash keeps its own."""
    if model is None or model is AsrModel.FLASH or model == AsrModel.FLASH.value:
        return model
    if model == FLASH_RESOURCE_ID:
        return model
    return None


def _int(code: Any) -> int | None:
    return code if isinstance(code, int) and not isinstance(code, bool) else None
