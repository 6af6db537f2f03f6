"""Models (resource ids), recognition tasks and their states.

The recorded-file APIs are chosen by the ``X-Api-Resource-Id`` header
(vendor doc 6561/1354868):

* flash (one request, one answer): ``volc.bigasr.auc_turbo``;
* standard (submit, then query), model 1.0: ``volc.bigasr.auc``;
* standard, model 2.0: ``volc.seedasr.auc``.

A :class:`RecognitionTask` is what :meth:`AsrClient.submit` returns: a plain
value (task id and resource id) that can be stored as JSON and resumed from
another process with a fresh client. :meth:`AsrClient.query` answers a
:class:`TaskState`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import APIError, ValidationError
from ._results import Transcript

__all__ = [
    "FLASH_RESOURCE_ID",
    "STANDARD_1_RESOURCE_ID",
    "STANDARD_2_RESOURCE_ID",
    "AsrModel",
    "RecognitionTask",
    "TaskState",
    "TaskStatus",
    "resolve_standard_model",
]

#: ``X-Api-Resource-Id`` of the flash API.
FLASH_RESOURCE_ID = "volc.bigasr.auc_turbo"
#: ``X-Api-Resource-Id`` of the standard API, model 1.0.
STANDARD_1_RESOURCE_ID = "volc.bigasr.auc"
#: ``X-Api-Resource-Id`` of the standard API, model 2.0.
STANDARD_2_RESOURCE_ID = "volc.seedasr.auc"

_TOKEN = re.compile(r"^[\x21-\x7e]{1,256}$")


class AsrModel(str, enum.Enum):
    """The recognition models by name; ``model=`` also takes a raw resource id.

    Attributes:
        FLASH: the flash API (``volc.bigasr.auc_turbo``).
        STANDARD_1: the standard API, model 1.0 (``volc.bigasr.auc``).
        STANDARD_2: the standard API, model 2.0 (``volc.seedasr.auc``).
    """

    FLASH = "flash"
    STANDARD_1 = "1.0"
    STANDARD_2 = "2.0"

    @property
    def resource_id(self) -> str:
        """The ``X-Api-Resource-Id`` of the model."""
        return _RESOURCE_IDS[self]


_RESOURCE_IDS = {
    AsrModel.FLASH: FLASH_RESOURCE_ID,
    AsrModel.STANDARD_1: STANDARD_1_RESOURCE_ID,
    AsrModel.STANDARD_2: STANDARD_2_RESOURCE_ID,
}


def resolve_standard_model(model: Any, field: str = "model") -> str:
    """The standard API's resource id for ``model``.

    Args:
        model: ``"1.0"``, ``"2.0"``, an :class:`AsrModel`, or a raw resource
            id such as ``"volc.seedasr.auc"`` (passed through).
        field: the argument's name, for the error.

    Returns:
        The resource id.

    Raises:
        ValidationError: the flash model, or not a header-safe string.
    """
    if isinstance(model, AsrModel):
        member: AsrModel | None = model
    else:
        member = next((m for m in AsrModel if m.value == model), None)
    if member is AsrModel.FLASH or model == FLASH_RESOURCE_ID:
        raise ValidationError(
            f"{field}={model!r} is the flash API's model; the standard API takes "
            "'1.0', '2.0' or a standard resource id (e.g. 'volc.seedasr.auc')",
            field=field,
        )
    if member is not None:
        return member.resource_id
    if not isinstance(model, str) or not _TOKEN.match(model):
        raise ValidationError(
            f"{field} must be '1.0', '2.0', an AsrModel or a resource id string, got {model!r}",
            field=field,
        )
    return model


@attrs.frozen
class RecognitionTask:
    """A submitted standard-API recognition: store it, resume it anywhere.

    Attributes:
        task_id: the task id (the ``X-Api-Request-Id`` of the submit).
        resource_id: the ``X-Api-Resource-Id`` it was submitted with.
        log_id: the submit answer's ``X-Tt-Logid``, if any.

    Example:
        >>> task = RecognitionTask("b8c1...", "volc.seedasr.auc")
        >>> RecognitionTask.from_dict(task.to_dict()) == task
        True
    """

    task_id: str = attrs.field()
    resource_id: str = attrs.field()
    log_id: str | None = attrs.field(default=None, eq=False)

    @task_id.validator
    @resource_id.validator
    def _check(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or not _TOKEN.match(value):
            raise ValidationError(
                f"RecognitionTask.{attribute.name} must be 1-256 printable ASCII characters "
                f"without spaces, got {value!r}",
                field=attribute.name,
            )

    def to_dict(self) -> dict[str, Any]:
        """The task as a JSON-ready dict (``task_id``, ``resource_id``, ``log_id``)."""
        out: dict[str, Any] = {"task_id": self.task_id, "resource_id": self.resource_id}
        if self.log_id is not None:
            out["log_id"] = self.log_id
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecognitionTask:
        """Read a task stored with :meth:`to_dict`.

        Raises:
            ValidationError: not a mapping, or ``task_id`` / ``resource_id``
                missing or malformed.
        """
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"a stored RecognitionTask is a mapping, got {type(data).__name__}"
            )
        for key in ("task_id", "resource_id"):
            if key not in data:
                raise ValidationError(f"a stored RecognitionTask needs {key!r}", field=key)
        log_id = data.get("log_id")
        return cls(
            data["task_id"], data["resource_id"], log_id if isinstance(log_id, str) else None
        )


class TaskStatus(str, enum.Enum):
    """Where a task is.

    Attributes:
        QUEUED: waiting for a worker (status 20000002).
        PROCESSING: being recognized (20000001).
        DONE: finished (20000000, or 20000003 for silent audio).
        FAILED: the service refused or failed it.
    """

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


@attrs.frozen
class TaskState:
    """The answer of :meth:`AsrClient.query`.

    Attributes:
        task: the task queried.
        status: queued, processing, done or failed.
        code: the answer's ``X-Api-Status-Code``.
        transcript: the result, when ``status`` is done.
        error: the typed error, when ``status`` is failed.
        log_id: the answer's ``X-Tt-Logid``.
    """

    task: RecognitionTask
    status: TaskStatus
    code: int | None = None
    transcript: Transcript | None = None
    error: APIError | None = None
    log_id: str | None = None

    @property
    def finished(self) -> bool:
        """Whether polling can stop (done or failed)."""
        return self.status in (TaskStatus.DONE, TaskStatus.FAILED)

    @property
    def ok(self) -> bool:
        """Whether the task is done with a transcript."""
        return self.status is TaskStatus.DONE

    def unwrap(self) -> Transcript:
        """The transcript; raises the task's error, or ``ValidationError`` if unfinished."""
        if self.error is not None:
            raise self.error
        if self.transcript is None:
            raise ValidationError(
                f"task {self.task.task_id} is {self.status.value}, not done yet: "
                "wait for it with AsrClient.wait(task)"
            )
        return self.transcript
