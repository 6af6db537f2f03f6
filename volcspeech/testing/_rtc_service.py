"""The emulator's RTC side: the segmentation OpenAPI, rooms with real audio, and callbacks.

Requests to ``/?Action=...&Version=2023-11-01`` are checked the way the
gateway and the service do: a V4 signature verified by the emulator's own code
(:mod:`._rtc_auth`), ``X-Date`` within 15 minutes, the access key, the body
hash, the version, the method, then the body against the documented schema
(:mod:`._rtc_schema`). Answers use the documented envelope::

    {"ResponseMetadata": {"RequestId", "Action", "Version", "Service": "rtc",
                          "Region", "Error": {"Code", "CodeN", "Message"}},
     "Result": ...}

Tasks are kept per ``(AppId, RoomId, TaskId)``. When slicing starts
(``StartSegment`` with ``Handle`` true, or the first ``UpdateSegment`` that
sets ``Handle`` true) on a room registered with :meth:`RtcService.register_room`,
the whole recording is cut at once following ``Duration``,
``RedundantDuration``, ``Align``, ``Mixed`` and ``IgnoreSilence`` (see
:mod:`._segmenter`), each segment is stored as a WAV in the emulator's store
and a ``SegmentRealTimeData`` callback per segment is queued, signed by the
emulator's own signer (:mod:`._callback_signer`, not the SDK's). Room time 0
is the moment slicing started; ``StartTime`` in the callbacks is that moment's
epoch milliseconds plus the segment's offset. Later updates change the task's
reported settings only. Rooms and tasks are kept as in :mod:`._rtc_rooms`.

Segment files are named ``{Identifier}_{UserId}_{StartTime}_{Sequence}.wav``
(the documented parts: prefix, user, timestamp, sequence number; the order,
separators and extension are the emulator's), in the bucket of the task's
``TosConfig`` or ``CustomConfig``. ``Identifier`` defaults to a random UUID, as
documented.

The callback ``EventData`` (the public material does not list its fields)
uses the names of :class:`volcspeech.rtc.SegmentFieldMapping`: ``AppId``,
``BusinessId``, ``RoomId``, ``TaskId``, ``UserId``, ``StreamType``,
``Identifier``, ``Bucket``, ``ObjectKey``, ``Url``, ``StartTime`` (epoch ms),
``Duration`` (ms) and ``Sequence``.

Error codes besides the gateway's (see :mod:`._rtc_auth`) and the schema's
(see :mod:`._rtc_schema`), all invented by the emulator where the public
material names none: ``InvalidActionOrVersion`` (HTTP 404: unknown Action or
Version), ``InvalidParameter.Method`` (HTTP 405: POST actions called with GET
or the reverse), ``InvalidParameter.Body`` (HTTP 400: not a JSON object;
HTTP 413 above 1 MiB), ``InvalidParameter.TaskNotFound`` (HTTP 400: no such
task) and ``InvalidParameter.TaskNotRunning`` (HTTP 400: updating a stopped task).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable

from ._callback_sender import CallbackDelivery, CallbackSender
from ._callback_signer import segment_callback
from ._protocol import (
    EmulatorHost,
    EmulatorRequest,
    EmulatorResponse,
    Fault,
    host_ref,
    keep_host_alive,
)
from ._rtc_auth import verify_request
from ._rtc_errors import RtcApiError, envelope, error_answer
from ._rtc_rooms import (
    DEFAULT_DURATION,
    EmulatedSegment,
    Room,
    Task,
    build_room,
    now_ms,
)
from ._rtc_schema import check_start, check_stop, check_task_query, check_update
from ._segmenter import cut_segments
from ._storage_service import StorageService
from ._wav import mix, wav_bytes

if TYPE_CHECKING:  # pragma: no cover
    from ..rtc import RtcClient
    from ._sample import SampleRoom

__all__ = ["EmulatedSegment", "RtcService"]

VERSION = "2023-11-01"
#: The ``Result`` of a repeated ``StartSegment`` for a running task (vendor doc 6348/1188212).
ALREADY_STARTED = (
    "The task has been started. Please do not call the startup task interface repeatedly"
)
#: ``POST`` actions and the one ``GET`` action.
_ACTIONS = {
    "StartSegment": "POST",
    "UpdateSegment": "POST",
    "StopSegment": "POST",
    "GetSegmentTask": "GET",
}
MAX_BODY = 1 << 20


class RtcService:
    """The emulated RTC segmentation service (``emulator.rtc``).

    Attributes:
        redundant_unit: how ``RedundantDuration`` is read: ``"ms"`` (the
            documented unit, default) or ``"s"`` (as the doc's example reads).
        silence_threshold: the largest sample peak ``IgnoreSilence`` treats as silence.
        max_skew: seconds ``X-Date`` may be away from the clock (900).
    """

    name = "rtc"

    def __init__(self, emulator: EmulatorHost) -> None:
        self._host = host_ref(emulator)
        self.redundant_unit = "ms"
        self.silence_threshold = 0
        self.max_skew = 900.0
        self._lock = threading.RLock()
        self._rooms: dict[tuple[str, str], Room] = {}
        self._tasks: dict[tuple[str, str, str], Task] = {}
        self._segments: list[EmulatedSegment] = []
        self._sender = CallbackSender()
        self._own_storage: StorageService | None = None

    @property
    def emulator(self) -> EmulatorHost:
        """The emulator this service belongs to."""
        return self._host()

    # --- configuration -------------------------------------------------------------

    def client(self, **kwargs: Any) -> RtcClient:
        """An :class:`~volcspeech.rtc.RtcClient` for this emulator and its test credentials.

        Args:
            **kwargs: more :class:`~volcspeech.rtc.RtcClient` arguments
                (``max_retries``, ``timeout``, ``rate_limits`` ...).
        """
        from ..rtc import RtcClient

        credentials = self.emulator.credentials
        kwargs.setdefault("endpoint", self.emulator.url)
        if "credentials" not in kwargs and "access_key_id" not in kwargs:
            kwargs["access_key_id"] = credentials.access_key_id
            kwargs["secret_access_key"] = credentials.secret_access_key
        client = RtcClient(**kwargs)
        keep_host_alive(client, self.emulator)
        return client

    @property
    def callback_url(self) -> str | None:
        """Where ``SegmentRealTimeData`` callbacks are POSTed (loopback URLs only).

        ``None`` (the default) keeps them in :attr:`pending_callbacks`.

        Raises:
            ValueError: when set to a URL that is not on 127.0.0.1, localhost or ::1.
        """
        return self._sender.url

    @callback_url.setter
    def callback_url(self, value: str | None) -> None:
        self._sender.url = value

    @property
    def callback_timeout(self) -> float:
        """Seconds after which a delivery counts as failed (5, as documented)."""
        return self._sender.timeout

    @callback_timeout.setter
    def callback_timeout(self, value: float) -> None:
        self._sender.timeout = float(value)

    def callback_options(
        self, *, shuffle: bool = False, duplicate: float = 0.0, seed: int = 0, pace: float = 0.0
    ) -> None:
        """How callbacks queued from now on are delivered.

        Args:
            shuffle: deliver each task's callbacks in a random order.
            duplicate: the probability that a callback is delivered twice (same ``EventId``).
            seed: the random seed.
            pace: seconds between callbacks, to emulate live arrival (0 in tests).
        """
        self._sender.configure(shuffle=shuffle, duplicate=duplicate, seed=seed, pace=pace)

    @property
    def pending_callbacks(self) -> list[dict[str, Any]]:
        """Signed callback bodies kept while :attr:`callback_url` is ``None`` (a copy)."""
        return self._sender.pending

    def take_callbacks(self) -> list[dict[str, Any]]:
        """Return the kept callback bodies and forget them."""
        return self._sender.take_pending()

    @property
    def deliveries(self) -> list[CallbackDelivery]:
        """Every delivery attempt to :attr:`callback_url`, in order."""
        return self._sender.deliveries

    def wait_for_callbacks(self, timeout: float | None = 10.0) -> bool:
        """Wait until every queued callback was delivered (or given up after re-sends).

        Returns:
            ``False`` if ``timeout`` seconds passed first.
        """
        return self._sender.wait(timeout)

    @property
    def segments(self) -> list[EmulatedSegment]:
        """Every segment cut so far, in the order the callbacks were queued."""
        with self._lock:
            return list(self._segments)

    @property
    def storage(self) -> StorageService:
        """The store segments go to (``emulator.storage``)."""
        store = getattr(self.emulator, "storage", None)
        if isinstance(store, StorageService):
            return store
        if self._own_storage is None:
            self._own_storage = StorageService(self.emulator)
        return self._own_storage

    def reset(self) -> None:
        """Forget tasks, cut segments, kept callbacks and the delivery log (rooms stay)."""
        with self._lock:
            self._tasks.clear()
            self._segments.clear()
        self._sender.clear()

    # --- rooms -------------------------------------------------------------------------

    def register_room(
        self,
        app_id: str,
        room_id: str,
        tracks: Mapping[str, bytes],
        *,
        utterances: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        publish: Mapping[str, tuple[int, int]] | None = None,
    ) -> None:
        """Register a room's recordings for segmentation tasks to cut.

        Each track's ground truth is also registered with the ASR emulator
        (``emulator.asr.register``), so slices of it are recognized.

        Args:
            app_id: the RTC app id.
            room_id: the room id.
            tracks: per user a WAV file (mono 16-bit; all at one sample rate);
                room time 0 is the start of every track and of the task.
            utterances: per user the ground truth: dicts with ``text``,
                ``start_time``, ``end_time`` (ms) and optionally ``words``.
            publish: per user the ``(start_ms, end_ms)`` window they published
                in; their whole track by default. Audio outside it is not sent.

        Raises:
            ValueError: an unreadable track, mixed sample rates, a bad window.
        """
        room = build_room(tracks, utterances, publish)
        with self._lock:
            self._rooms[(app_id, room_id)] = room
        if utterances:
            for user_id, pcm in room.tracks.items():
                if user_id in utterances:
                    self._register_truth(wav_bytes(pcm, room.rate), room.utterances[user_id])

    def register_sample_room(self) -> SampleRoom:
        """Register the bundled two-speaker sample room (``demo-app`` / ``demo-room``).

        Each user publishes from about a second before their first word (from
        0 if that is earlier) to the end of the room.

        Returns:
            The :class:`~volcspeech.testing._sample.SampleRoom` with its ground truth.
        """
        from ._sample import load_sample_room

        room = load_sample_room()
        publish = {}
        utterances: dict[str, list[dict[str, Any]]] = {}
        for user_id, track in room.tracks.items():
            first = track.utterances[0].start_time if track.utterances else 0
            publish[user_id] = (max(0, first - 1000), room.duration_ms)
            utterances[user_id] = [
                {
                    "text": u.text,
                    "start_time": u.start_time,
                    "end_time": u.end_time,
                    "words": [
                        {"text": w.text, "start_time": w.start_time, "end_time": w.end_time}
                        for w in u.words
                    ],
                }
                for u in track.utterances
            ]
        self.register_room(
            room.app_id,
            room.room_id,
            {user_id: track.wav for user_id, track in room.tracks.items()},
            utterances=utterances,
            publish=publish,
        )
        return room

    def _register_truth(self, wav: bytes, utterances: list[dict[str, Any]]) -> None:
        asr = getattr(self.emulator, "asr", None)
        register: Callable[..., Any] | None = getattr(asr, "register", None)
        if callable(register):
            register(wav, utterances=utterances)

    # --- inspection --------------------------------------------------------------------

    def task(self, app_id: str, room_id: str, task_id: str) -> dict[str, Any] | None:
        """A task as ``GetSegmentTask`` would report it, or ``None``."""
        with self._lock:
            task = self._tasks.get((app_id, room_id, task_id))
            return None if task is None else task.view()

    # --- the Service protocol ------------------------------------------------------------

    def claims(self, request: EmulatorRequest) -> bool:
        """OpenAPI requests: path ``/`` with an ``Action`` query parameter."""
        return request.path == "/" and "Action" in request.query

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Authenticate, validate and answer one OpenAPI request."""
        action = request.query.get("Action", "")
        version = request.query.get("Version", "")
        region = "cn-north-1"
        try:
            try:
                body = request.read_body(MAX_BODY)
            except ValueError:
                raise RtcApiError(
                    413, "InvalidParameter.Body", f"the body is larger than {MAX_BODY} bytes"
                ) from None
            creds = self.emulator.credentials
            region = verify_request(
                method=request.method,
                path=request.path,
                query_pairs=request.query_pairs,
                headers=request.headers,
                body=body,
                access_key_id=creds.access_key_id,
                secret_access_key=creds.secret_access_key,
                service="rtc",
                max_skew=self.max_skew,
            )
            if action not in _ACTIONS or version != VERSION:
                raise RtcApiError(
                    404,
                    "InvalidActionOrVersion",
                    f"unknown Action {action!r} or Version {version!r} "
                    f"(this service has {', '.join(sorted(_ACTIONS))} in {VERSION})",
                )
            if request.method != _ACTIONS[action]:
                raise RtcApiError(
                    405, "InvalidParameter.Method", f"{action} takes {_ACTIONS[action]}"
                )
            result = self._dispatch(action, request, body)
        except RtcApiError as exc:
            return error_answer(action, version, region, exc)
        return EmulatorResponse.json(200, envelope(action, version, region, result))

    def fault_response(self, request: EmulatorRequest, fault: Fault) -> EmulatorResponse:
        """An injected fault in the RTC envelope.

        Without a status, ``FlowLimitExceeded*`` answers 429, ``InternalError*``
        (and no code) 500, any other code 400.
        """
        code = fault.code if isinstance(fault.code, str) else None
        code_n = fault.code if isinstance(fault.code, int) else None
        status = fault.http_status
        if status is None:
            if code and code.startswith("FlowLimitExceeded"):
                status = 429
            elif code is None or code.startswith("InternalError"):
                status = 500
            else:
                status = 400
        if code is None:
            code = "FlowLimitExceeded" if status == 429 else "InvalidParameter"
            if status >= 500:
                code = "InternalError"
        action, version = request.query.get("Action", ""), request.query.get("Version", "")
        refusal = RtcApiError(status, code, fault.message, code_n)
        return error_answer(action, version, "cn-north-1", refusal)

    # --- actions -----------------------------------------------------------------------

    def _dispatch(self, action: str, request: EmulatorRequest, body: bytes) -> Any:
        if action == "GetSegmentTask":
            key = check_task_query(request.query)
            with self._lock:
                task = self._tasks.get(key)
                if task is None:
                    raise RtcApiError(
                        400, "InvalidParameter.TaskNotFound", f"no segmentation task {key[2]!r}"
                    )
                return {"SegmentTask": task.view()}
        try:
            data = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            raise RtcApiError(400, "InvalidParameter.Body", "the body is not UTF-8 JSON") from None
        if not isinstance(data, dict):
            raise RtcApiError(400, "InvalidParameter.Body", "the body must be a JSON object")
        if action == "StartSegment":
            return self._start(dict(check_start(data)))
        if action == "UpdateSegment":
            return self._update(dict(check_update(data)))
        return self._stop(dict(check_stop(data)))

    def _start(self, body: dict[str, Any]) -> str:
        key = (body["AppId"], body["RoomId"], body["TaskId"])
        with self._lock:
            existing = self._tasks.get(key)
            if existing is not None and existing.status in (1, 2):
                return ALREADY_STARTED
            handle = body.get("Handle", True)
            task = Task(
                *key,
                body=body,
                start_ms=now_ms(),
                status=2 if handle else 1,
                duration=body.get("Duration", DEFAULT_DURATION),
                handle=handle,
                identifier=body.get("Identifier") or str(uuid.uuid4()),
            )
            self._tasks[key] = task
            if handle:
                self._slice(task)
        return "ok"

    def _update(self, body: dict[str, Any]) -> str:
        key = (body["AppId"], body["RoomId"], body["TaskId"])
        with self._lock:
            task = self._tasks.get(key)
            if task is None:
                raise RtcApiError(
                    400, "InvalidParameter.TaskNotFound", f"no segmentation task {key[2]!r}"
                )
            if task.status not in (1, 2):
                raise RtcApiError(
                    400, "InvalidParameter.TaskNotRunning", f"task {key[2]!r} has stopped"
                )
            if "Duration" in body:
                task.duration = body["Duration"]
            if "Identifier" in body:
                task.identifier = body["Identifier"]
            if "Handle" in body:
                task.handle = body["Handle"]
                if task.handle:
                    task.status = 2
                    if not task.sliced:
                        self._slice(task)
        return "ok"

    def _stop(self, body: dict[str, Any]) -> str:
        key = (body["AppId"], body["RoomId"], body["TaskId"])
        with self._lock:
            task = self._tasks.get(key)
            if task is None:
                raise RtcApiError(
                    400, "InvalidParameter.TaskNotFound", f"no segmentation task {key[2]!r}"
                )
            if task.status in (1, 2):
                task.status = 3
                task.end_ms = now_ms()
                task.stop_reason = "StopByAPI"
        return "ok"

    # --- slicing -----------------------------------------------------------------------

    def _mix(self, room: Room, users: list[str]) -> bytes:
        key = tuple(sorted(users))
        if key not in room.mixes:
            room.mixes[key] = mix([room.tracks[u] for u in key])
            # Each utterance keeps its speaker, as a diarizing recognizer would report it.
            merged = sorted(
                (
                    {**utt, "additions": {"speaker": u}}
                    for u in key
                    for utt in room.utterances.get(u, [])
                ),
                key=lambda utt: int(utt["start_time"]),
            )
            if merged:
                self._register_truth(wav_bytes(room.mixes[key], room.rate), merged)
        return room.mixes[key]

    def _slice(self, task: Task) -> None:
        task.sliced = True
        task.start_ms = now_ms()
        room = self._rooms.get((task.app_id, task.room_id))
        if room is None:
            return  # nobody publishes in an unregistered room: no segments
        control = task.body.get("Control") or {}
        redundant = int(control.get("RedundantDuration") or 0)
        if self.redundant_unit == "s":
            redundant *= 1000
        users = task.targets(room)
        cuts = cut_segments(
            {u: room.tracks[u] for u in users},
            room.publish,
            room_ms=room.room_ms,
            duration_ms=task.duration * 1000,
            redundant_ms=redundant,
            align=bool(control.get("Align")),
            mixed_pcm=self._mix(room, users) if control.get("Mixed") and users else None,
            ignore_silence=bool(control.get("IgnoreSilence")),
            sample_rate=room.rate,
            silence_threshold=self.silence_threshold,
        )
        bucket = task.bucket
        envelopes = []
        for cut in cuts:
            start_time = task.start_ms + cut.start_ms
            object_key = f"{task.identifier}_{cut.user_id}_{start_time}_{cut.sequence}.wav"
            self.storage.put(bucket, object_key, wav_bytes(cut.pcm, room.rate))
            data: dict[str, Any] = {
                "AppId": task.app_id,
                "RoomId": task.room_id,
                "TaskId": task.task_id,
                "UserId": cut.user_id,
                "StreamType": task.stream_type(cut.user_id),
                "Identifier": task.identifier,
                "Bucket": bucket,
                "ObjectKey": object_key,
                "Url": self.storage.url(bucket, object_key),
                "StartTime": start_time,
                "Duration": cut.duration_ms,
                "Sequence": cut.sequence,
            }
            if task.body.get("BusinessId"):
                data["BusinessId"] = task.body["BusinessId"]
            envelope = self._callback(task.app_id, data)
            envelopes.append(envelope)
            self._segments.append(
                EmulatedSegment(
                    app_id=task.app_id,
                    room_id=task.room_id,
                    task_id=task.task_id,
                    user_id=cut.user_id,
                    sequence=cut.sequence,
                    room_start_ms=cut.start_ms,
                    room_end_ms=cut.end_ms,
                    start_time=start_time,
                    bucket=bucket,
                    object_key=object_key,
                    event_id=envelope["EventId"],
                )
            )
        self._sender.submit(envelopes)

    def _callback(self, app_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        secret = self.emulator.credentials.callback_secret
        return dict(segment_callback(app_id, data, secret, now_ms=now_ms()))
