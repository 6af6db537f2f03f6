"""The emulated standard (submit/query) ASR API: ``emu.asr.standard``.

``POST /api/v3/auc/bigmodel/submit`` checks the headers (as flash, with the
standard resource ids ``volc.bigasr.auc`` / ``volc.seedasr.auc``) and the body
(the flash fields plus ``enable_lid``, ``enable_emotion_detection``,
``enable_gender_detection``, ``show_volume``, ``show_speech_rate`` and the
top-level ``callback`` / ``callback_data``), recognizes the audio at once
(the flash service's ground truth, slices and derived answers; a file over
100 MiB is analysed as a stream, see :mod:`._asr_standard_audio`) and answers
20000000 with an empty body. A task id (``X-Api-Request-Id``) already used is
refused with 45000001 ("duplicate request", as the vendor's table says).

``POST /api/v3/auc/bigmodel/query`` (body ``{}``) answers by the task's age on
:attr:`StandardService.clock`: 20000002 (queued) for ``queued_for`` seconds,
then 20000001 (processing) for ``processing_for`` seconds, then the result
(20000000 with the flash-shaped body, 20000003 for silence) or the task's
error (45000002 empty audio, 45000151 bad format, 45000001 an unreachable URL,
or one from :meth:`StandardService.fail_next`). An unknown task id answers
45000001 "task not found" (the emulator's choice; undocumented). Every query
is counted per task (:meth:`StandardService.poll_times`).

Tasks are kept in memory and written to the emulator's state directory, so
``Emulator(state_dir=d)`` started again on ``d`` answers the earlier tasks.

Standard-only result fields (emulated values unless the registered
utterance's ``additions`` give them): ``emotion`` ("neutral"), ``gender``
("female"), ``volume`` ("-20.00" dB), ``speech_rate`` (words per second of
the utterance) and ``lid_lang`` ("speech_en" for ``language`` en-*, else
"speech_mand") in each utterance's ``additions``, only when requested.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Union

import attrs

from ._asr_body import parse_body, validate
from ._asr_refusal import INVALID, OK, SILENT, Refusal, status_for
from ._asr_standard_audio import IN_MEMORY_LIMIT, analyze_file, fetch_to_file, file_sha256
from ._asr_truth import AsrRegistration, Truth
from ._protocol import EmulatorHost, EmulatorRequest, EmulatorResponse, Fault, host_ref

if TYPE_CHECKING:  # pragma: no cover
    from ._state import StateDir

__all__ = ["QUERY_PATH", "SUBMIT_PATH", "StandardService", "StandardTask"]

SUBMIT_PATH = "/api/v3/auc/bigmodel/submit"
QUERY_PATH = "/api/v3/auc/bigmodel/query"
RESOURCE_IDS = ("volc.bigasr.auc", "volc.seedasr.auc")
PROCESSING = 20000001
QUEUED = 20000002

_BOOL_FIELDS = (
    "enable_lid",
    "enable_emotion_detection",
    "enable_gender_detection",
    "show_volume",
    "show_speech_rate",
)
_EXTRA_KEYS = {
    "enable_lid": "lid_lang",
    "enable_emotion_detection": "emotion",
    "enable_gender_detection": "gender",
    "show_volume": "volume",
    "show_speech_rate": "speech_rate",
}


@attrs.define
class StandardTask:
    """One submitted task, as the emulator keeps it.

    Attributes:
        task_id: the ``X-Api-Request-Id`` of the submit.
        resource_id: the resource id it was submitted with.
        submitted: the service clock's time of the submit.
        queued_for: seconds it answers "queued".
        processing_for: seconds it then answers "processing".
        code: the final status code.
        message: the final message.
        payload: the final body (``None`` for an error).
        request: the ``request`` object sent.
        audio: the ``audio`` object sent, without ``data``.
        callback: the ``callback`` URL sent, if any (recorded, not called).
        callback_data: the ``callback_data`` sent, if any.
    """

    task_id: str
    resource_id: str
    submitted: float
    queued_for: float
    processing_for: float
    code: int
    message: str
    payload: Union[dict[str, Any], None] = attrs.field(default=None, repr=False)
    request: dict[str, Any] = attrs.field(factory=dict, repr=False)
    audio: dict[str, Any] = attrs.field(factory=dict, repr=False)
    callback: str | None = None
    callback_data: str | None = None

    def state(self, now: float) -> tuple[int, str, Union[dict[str, Any], None]]:
        """(code, message, body) answered at ``now``."""
        age = now - self.submitted
        if age < self.queued_for:
            return QUEUED, "task queued", {}
        if age < self.queued_for + self.processing_for:
            return PROCESSING, "task processing", {}
        return self.code, self.message, self.payload

    def to_json(self) -> str:
        return json.dumps(attrs.asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> StandardTask:
        return cls(**json.loads(text))


def _log_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + os.urandom(10).hex().upper()


class StandardService:
    """The emulated standard API; reachable as ``emulator.asr.standard``.

    Attributes:
        queued_for: seconds a new task answers "queued" (0 by default).
        processing_for: seconds it then answers "processing" (0 by default).
        clock: the service's clock (``time.time``); replace it to step time in tests.
        resource_ids: the resource ids it grants.
        latency: seconds added to every answer.
    """

    name = "asr"

    def __init__(self, emulator: EmulatorHost, flash: Any) -> None:
        # ``flash`` is the AsrService (not imported: the flash module imports this one).
        self._host = host_ref(emulator)
        self._flash = flash
        self.queued_for = 0.0
        self.processing_for = 0.0
        self.clock: Callable[[], float] = time.time
        self.resource_ids: tuple[str, ...] = RESOURCE_IDS
        self.latency = 0.0
        self._lock = threading.Lock()
        self._tasks: dict[str, StandardTask] = {}
        self._polls: dict[str, list[float]] = {}
        self._failures: list[tuple[int, str]] = []
        self._by_sha: dict[str, AsrRegistration] = {}

    @property
    def emulator(self) -> EmulatorHost:
        """The emulator this service belongs to."""
        return self._host()

    @property
    def _state(self) -> StateDir:
        state: StateDir = self.emulator.state  # type: ignore[attr-defined]
        return state

    # --- user API ----------------------------------------------------------------------

    def register(
        self,
        audio: Union[bytes, str, os.PathLike[str]],
        *,
        utterances: Any = None,
        text: str | None = None,
    ) -> AsrRegistration:
        """Register ground truth for audio of any length (a path is hashed as a stream).

        Small audio is registered with the flash service too (slices work);
        a file over 100 MiB is matched by its SHA-256 only.
        """
        if isinstance(audio, (bytes, bytearray)) or os.path.getsize(audio) <= IN_MEMORY_LIMIT:
            small: AsrRegistration = self._flash.register(audio, utterances=utterances, text=text)
            return small
        path = os.fspath(audio)
        found = analyze_file(path, {})
        reg: AsrRegistration = self._flash._registration(
            sha256=file_sha256(path) if not found.sha256 else found.sha256,
            url=None,
            utterances=utterances,
            text=text,
            duration_ms=found.duration_ms,
        )
        with self._lock:
            self._by_sha[found.sha256] = reg
        return reg

    def fail_next(self, code: int, message: str = "injected task failure", times: int = 1) -> None:
        """Make the next ``times`` submitted tasks end with ``code`` (answered on query)."""
        with self._lock:
            self._failures.extend([(int(code), message)] * times)

    def task(self, task_id: str) -> StandardTask | None:
        """A task by id (from memory or the state directory)."""
        with self._lock:
            found = self._tasks.get(task_id)
        if found is not None:
            return found
        path = self._task_path(task_id)
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as f:
            loaded = StandardTask.from_json(f.read())
        with self._lock:
            return self._tasks.setdefault(task_id, loaded)

    def poll_times(self, task_id: str) -> list[float]:
        """The clock times of every query of a task, in order."""
        with self._lock:
            return list(self._polls.get(task_id, ()))

    def polls(self, task_id: str) -> int:
        """How many times a task was queried."""
        return len(self.poll_times(task_id))

    def clear(self) -> None:
        """Forget tasks in memory, poll counts, pending failures and large registrations."""
        with self._lock:
            self._tasks.clear()
            self._polls.clear()
            self._failures.clear()
            self._by_sha.clear()

    @property
    def tasks(self) -> list[StandardTask]:
        """The tasks submitted to this emulator (not those only on disk)."""
        with self._lock:
            return list(self._tasks.values())

    # --- the Service protocol ------------------------------------------------------------

    def claims(self, request: EmulatorRequest) -> bool:
        """POST on the submit or query path."""
        return request.method == "POST" and request.path in (SUBMIT_PATH, QUERY_PATH)

    def fault_response(self, request: EmulatorRequest, fault: Fault) -> EmulatorResponse:
        """An injected fault, answered like the flash API's."""
        answer: EmulatorResponse = self._flash.fault_response(request, fault)
        return answer

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Answer a submit or a query."""
        log_id = _log_id()
        try:
            if request.path == SUBMIT_PATH:
                self._submit(request)
                return self._answer(200, OK, "OK", log_id, None)
            code, message, payload = self._query(request)
        except Refusal as refusal:
            return self._answer(refusal.http_status, refusal.code, refusal.message, log_id, None)
        return self._answer(status_for(code), code, message, log_id, payload)

    def _answer(
        self, status: int, code: int, message: str, log_id: str, payload: Any
    ) -> EmulatorResponse:
        if self.latency > 0:
            time.sleep(self.latency)
        headers = [
            ("X-Api-Status-Code", str(code)),
            ("X-Api-Message", message.encode("utf-8").decode("latin-1")),
            ("X-Tt-Logid", log_id),
        ]
        if payload is None:
            return EmulatorResponse(status, b"", headers, code)
        return EmulatorResponse.json(status, payload, headers, code)

    # --- submit ------------------------------------------------------------------------

    def _check_headers(self, request: EmulatorRequest, *, submit: bool) -> tuple[str, str]:
        # Credentials as flash (its own check), then the standard resource ids.
        try:
            self._flash._check_headers(request)
        except Refusal as refusal:
            if "resource not granted" not in refusal.message and "X-Api-Sequence" not in (
                refusal.message
            ):
                raise
        resource = request.header("X-Api-Resource-Id") or ""
        if resource not in self.resource_ids:
            raise Refusal(45000010, f"requested resource not granted: {resource}", 403)
        task_id = request.header("X-Api-Request-Id")
        if not task_id:
            raise Refusal(INVALID, "invalid request: missing X-Api-Request-Id")
        if submit and request.header("X-Api-Sequence") != "-1":
            raise Refusal(INVALID, "invalid request: X-Api-Sequence must be -1")
        return task_id, resource

    def _submit(self, request: EmulatorRequest) -> None:
        task_id, resource = self._check_headers(request, submit=True)
        body, sink = parse_body(request.body)
        audio_fields, request_fields = validate(body)
        for name in _BOOL_FIELDS:
            if name in request_fields and not isinstance(request_fields[name], bool):
                raise Refusal(INVALID, f"invalid request: request.{name} has an invalid value")
        callback, callback_data = body.get("callback"), body.get("callback_data")
        for name, value in (("callback", callback), ("callback_data", callback_data)):
            if value is not None and not isinstance(value, str):
                raise Refusal(INVALID, f"invalid request: {name} has an invalid value")
        with self._lock:
            duplicate = task_id in self._tasks
            if not duplicate:
                self._tasks[task_id] = None  # type: ignore[assignment] # reserved
        if duplicate or os.path.exists(self._task_path(task_id)):
            if not duplicate:
                with self._lock:
                    self._tasks.pop(task_id, None)
            raise Refusal(INVALID, "invalid request: duplicate request (task id already used)")
        try:
            try:
                code, payload = self._recognize(audio_fields, request_fields, sink, task_id)
                message = "OK" if code == OK else "silent audio"
            except Refusal as refusal:
                code, message, payload = refusal.code, refusal.message, None
            with self._lock:
                failure = self._failures.pop(0) if self._failures else None
            if failure is not None:
                (code, message), payload = failure, None
            if payload is not None:
                _decorate(payload, request_fields, audio_fields)
            task = StandardTask(
                task_id=task_id,
                resource_id=resource,
                submitted=self.clock(),
                queued_for=float(self.queued_for),
                processing_for=float(self.processing_for),
                code=code,
                message=message,
                payload=payload,
                request=dict(request_fields),
                audio={k: v for k, v in audio_fields.items() if k != "data"},
                callback=callback,
                callback_data=callback_data,
            )
            self._save(task)
        except BaseException:
            with self._lock:
                self._tasks.pop(task_id, None)
            raise
        with self._lock:
            self._tasks[task_id] = task

    def _recognize(
        self,
        audio_fields: Mapping[str, Any],
        request_fields: Mapping[str, Any],
        sink: Any,
        task_id: str,
    ) -> tuple[int, dict[str, Any]]:
        call: dict[str, Any] = {"request_id": task_id}
        flash = self._flash
        url = audio_fields.get("url")
        found: tuple[int, dict[str, Any]]
        if url is None or self._flash_serves(url):
            found = flash.recognize_fields(
                audio_fields, request_fields, sink, call, max_duration_ms=None
            )
            return found
        tos = getattr(self.emulator, "tos", None)
        key = tos.key_of(url) if tos is not None else None
        owned = key is None
        if key is not None:
            path = tos.object_path(key)  # type: ignore[union-attr]
            if not os.path.exists(path):
                raise Refusal(INVALID, "invalid request: audio url not reachable (HTTP 404)")
        else:
            path = fetch_to_file(url, self._state.sub("fetched"))
        try:
            if os.path.getsize(path) <= IN_MEMORY_LIMIT:
                with open(path, "rb") as f:
                    data = f.read()
                found = flash.recognize_fields(
                    audio_fields, request_fields, sink, call, data=data, max_duration_ms=None
                )
                return found
            return self._large(path, audio_fields, request_fields)
        finally:
            if owned:
                os.remove(path)

    def _flash_serves(self, url: str) -> bool:
        """URLs the flash service resolves itself: registered ones and its own ``/storage/``."""
        with self._flash._lock:
            if url in self._flash._by_url:
                return True
        parts = urllib.parse.urlsplit(url)
        own = {f"{self.emulator.host}:{self.emulator.port}", f"localhost:{self.emulator.port}"}
        return parts.netloc in own and parts.path.startswith("/storage/")

    def _large(
        self, path: str, audio_fields: Mapping[str, Any], request_fields: Mapping[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        found = analyze_file(path, dict(audio_fields))
        duration = found.duration_ms
        if found.silent:
            result: dict[str, Any] = {"additions": {"duration": str(duration)}, "text": ""}
            return SILENT, {"audio_info": {"duration": duration}, "result": result}
        with self._lock:
            reg = self._by_sha.get(found.sha256)
        if reg is None:
            with self._flash._lock:
                reg = self._flash._by_sha.get(found.sha256)
        if reg is not None and reg.has_truth:
            rendered: dict[str, Any] = self._flash._render(Truth.of(reg), duration, request_fields)
            return OK, rendered
        # No ground truth: the duration only, marked emulated like the flash service's answers.
        additions = {"duration": str(duration), "emulator": "unregistered audio", "emulated": True}
        result = {"additions": additions, "text": ""}
        if request_fields.get("show_utterances") is not False:
            result["utterances"] = []
        return OK, {"audio_info": {"duration": duration}, "result": result}

    # --- query ---------------------------------------------------------------------------

    def _query(self, request: EmulatorRequest) -> tuple[int, str, Union[dict[str, Any], None]]:
        task_id, resource = self._check_headers(request, submit=False)
        try:
            body = json.loads(request.read_body(1 << 16) or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Refusal(INVALID, "invalid request: the query body must be a JSON object ({})")
        now = self.clock()
        with self._lock:
            self._polls.setdefault(task_id, []).append(now)
        task = self.task(task_id)
        if task is None or task.resource_id != resource:
            raise Refusal(INVALID, "invalid request: task not found")
        return task.state(now)

    # --- persistence ---------------------------------------------------------------------

    def _task_path(self, task_id: str) -> str:
        name = hashlib.sha256(task_id.encode("utf-8")).hexdigest()[:40] + ".json"
        return os.path.join(self._state.sub("asr-standard-tasks"), name)

    def _save(self, task: StandardTask) -> None:
        path = self._task_path(task.task_id)
        partial = f"{path}.{threading.get_ident()}.part"
        with open(partial, "w", encoding="utf-8") as f:
            f.write(task.to_json())
        os.replace(partial, path)


def _decorate(
    payload: dict[str, Any], request_fields: Mapping[str, Any], audio_fields: Mapping[str, Any]
) -> None:
    """Add (or drop) the standard-only utterance fields the request asked for."""
    result = payload.get("result")
    if not isinstance(result, dict):
        return
    language = str(audio_fields.get("language") or "")
    defaults = {
        "lid_lang": "speech_en" if language.startswith("en") else "speech_mand",
        "emotion": "neutral",
        "gender": "female",
        "volume": "-20.00",
    }
    for utterance in result.get("utterances") or ():
        additions = dict(utterance.get("additions") or {})
        for flag, key in _EXTRA_KEYS.items():
            if request_fields.get(flag) is not True:
                additions.pop(key, None)
            elif key == "speech_rate":
                seconds = max(1, utterance["end_time"] - utterance["start_time"]) / 1000
                tokens = len(utterance.get("words") or ()) or len(utterance["text"].split())
                additions.setdefault(key, f"{tokens / seconds:.2f}")
            else:
                additions.setdefault(key, defaults[key])
        if additions:
            utterance["additions"] = additions
        else:
            utterance.pop("additions", None)
