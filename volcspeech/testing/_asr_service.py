"""The emulated flash ASR API (``POST /api/v3/auc/bigmodel/recognize/flash``).

It checks a request the way the vendor documents it (headers, body, audio)
with its own code (not the client's), and answers from registered ground
truth::

    emu.asr.register("meeting.wav", utterances=[{"text": "hello", "start_time": 0,
        "end_time": 500, "words": [{"text": "hello", "start_time": 0, "end_time": 500}]}])

What it answers:

* 20000000 with the registered text and utterances for a registered file
  (matched by content); for a *slice* of a registered WAV (same rate, channels
  and sample width, PCM found inside the registered PCM at a frame-aligned
  offset) the words with more than half their duration inside the slice
  (exactly half: the slice holding the word's first half), with times relative
  to the slice, grouped into their original utterances;
* 20000000 for audio it has no ground truth for, with what it can derive
  from the audio and nothing more: empty text, ``audio_info.duration``,
  ``result.additions`` ``{"emulator": "unregistered audio", "emulated": true}``
  and, for WAV / raw PCM, one word-less utterance per speech region found by
  voice activity (:func:`._audio.speech_regions`), its text the region's times
  in seconds and its ``additions`` ``{"emulated": true}`` (see :class:`Derived`);
* 20000003 for an all-silent WAV (every sample exactly zero);
* 45000001 for a bad body (not JSON, missing/both ``audio.url`` and
  ``audio.data``, a field of the wrong type or value, bad base64, an
  unreachable URL, audio over 100 MiB or 2 h), 45000002 for empty audio,
  45000151 for audio that is not WAV / MP3 / Ogg Opus or does not match
  ``audio.format`` / ``codec``;
* HTTP 401 (bad or missing credentials) or 403 (another resource id) with code
  45000010 — **not documented by the vendor**; the emulator's choice.

The parts live in their own modules: the streaming body parser and field
checks (:mod:`._asr_body`), the audio analysis (:mod:`._audio`), the ground
truth and its slicing (:mod:`._asr_truth`), the status codes
(:mod:`._asr_refusal`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Union

import attrs

from .._log import get_logger
from ._asr_body import decode_data, parse_body, validate
from ._asr_refusal import AUTH_FAILED, EMPTY, INTERNAL, INVALID, OK, SILENT, Refusal, status_for
from ._asr_standard_service import StandardService
from ._asr_truth import (
    AsrRegistration,
    Recording,
    Truth,
    checked_int,
    field,
    find_slice,
    normalize_utterances,
    slice_truth,
)
from ._audio import NONZERO, AudioInfo, analyze, speech_regions
from ._protocol import (
    EmulatorHost,
    EmulatorRequest,
    EmulatorResponse,
    Fault,
    host_ref,
    keep_host_alive,
)

if TYPE_CHECKING:  # pragma: no cover
    import os

    from ..asr import AsrClient

__all__ = ["FLASH_PATH", "AsrCall", "AsrRegistration", "AsrService", "Derived"]

logger = get_logger("volcspeech.testing")

FLASH_PATH = "/api/v3/auc/bigmodel/recognize/flash"
RESOURCE_ID = "volc.bigasr.auc_turbo"
MAX_DURATION_MS = 2 * 60 * 60 * 1000


def _latin1(text: str) -> str:
    """Header values travel as bytes; UTF-8 messages go out as their bytes."""
    return text.encode("utf-8").decode("latin-1")


def _log_id() -> str:
    # Same shape as the vendor's sample: a timestamp then 20 hex digits.
    return time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()


@attrs.frozen
class AsrCall:
    """One recognition request the ASR service handled (faults excluded).

    Attributes:
        request_id: the ``X-Api-Request-Id`` header.
        code: the status code answered.
        log_id: the ``X-Tt-Logid`` answered.
        audio_sha256: the hex digest of the decoded audio (``None`` if none was read).
        audio_size: the decoded audio's length in bytes.
        url: ``audio.url``, if sent.
        audio: the ``audio`` object without ``data``.
        request: the ``request`` object.
        duration_ms: the audio's duration, once known.
        emulated: the answer was derived from the audio, for want of ground truth.
        speech_regions: with ``emulated``, the speech regions answered
            (``(start_ms, end_ms)`` pairs); ``None`` otherwise, and for MP3 /
            Ogg Opus, whose samples the emulator does not decode.
    """

    request_id: str | None
    code: int
    log_id: str
    audio_sha256: str | None = None
    audio_size: int = 0
    url: str | None = None
    audio: Mapping[str, Any] = attrs.field(factory=dict)
    request: Mapping[str, Any] = attrs.field(factory=dict)
    duration_ms: int | None = None
    emulated: bool = False
    speech_regions: tuple[tuple[int, int], ...] | None = None


@attrs.frozen
class Derived:
    """What the service answers for audio without ground truth: its speech regions.

    The text stays empty (the emulator cannot know the words); each speech
    region becomes an utterance whose text gives its times in seconds, e.g.
    ``[speech 0.42`` (en dash) ``1.80 s]``, with no words and
    ``additions.emulated`` true.
    """

    regions: tuple[tuple[int, int], ...] | None
    text: str = ""

    @classmethod
    def of(cls, audio: AudioInfo) -> Derived:
        """The speech regions of decoded PCM (none for MP3 / Ogg Opus)."""
        if audio.pcm is None:
            return cls(None)
        found = speech_regions(audio.pcm, audio.rate, audio.channels, audio.width)
        return cls(tuple(found))

    @property
    def utterances(self) -> tuple[dict[str, Any], ...]:
        """One word-less utterance per region, marked ``emulated``."""
        return tuple(
            {
                "text": f"[speech {start / 1000:.2f}\u2013{end / 1000:.2f} s]",
                "start_time": start,
                "end_time": end,
                "words": [],
                "additions": {"emulated": True},
            }
            for start, end in self.regions or ()
        )


# --- the service ------------------------------------------------------------------------


class AsrService:
    """The emulated flash ASR API; reachable as ``emulator.asr``.

    Attributes:
        latency: seconds added to every answer (for benchmarks); 0 by default.
        calls: every handled recognition request, in order.
    """

    name = "asr"

    def __init__(self, emulator: EmulatorHost) -> None:
        self._host = host_ref(emulator)
        self.latency = 0.0
        self.calls: list[AsrCall] = []
        self._lock = threading.Lock()
        self._next_id = 1
        self._by_sha: dict[str, AsrRegistration] = {}
        self._by_url: dict[str, tuple[AsrRegistration, bytes | None]] = {}
        self._recordings: dict[int, Recording] = {}
        #: The standard (submit/query) API on the same emulator.
        self.standard = StandardService(emulator, self)

    @property
    def emulator(self) -> EmulatorHost:
        """The emulator this service belongs to."""
        return self._host()

    # --- user API ------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The flash API URL of this emulator."""
        return self.emulator.url + FLASH_PATH

    def client(self, **kwargs: Any) -> AsrClient:
        """An :class:`~volcspeech.asr.AsrClient` for this emulator and its test credentials.

        Args:
            **kwargs: more :class:`~volcspeech.asr.AsrClient` arguments
                (``max_retries``, ``timeout``, ``api_key`` ...).
        """
        from ..asr import AsrClient

        credentials = self.emulator.credentials
        kwargs.setdefault("endpoint", self.endpoint)
        if not {"api_key", "app_key", "access_key"} & kwargs.keys():
            kwargs["app_key"] = credentials.app_key
            kwargs["access_key"] = credentials.access_key
        client = AsrClient(**kwargs)
        keep_host_alive(client, self.emulator)
        return client

    def _registration(
        self,
        *,
        sha256: str | None,
        url: str | None,
        utterances: Iterable[Any] | None,
        text: str | None,
        duration_ms: int | None,
    ) -> AsrRegistration:
        has_truth = utterances is not None or text is not None
        normalized = normalize_utterances(utterances or ())
        if text is None:
            text = " ".join(u["text"] for u in normalized)
        elif not isinstance(text, str):
            raise ValueError("text must be a str")
        with self._lock:
            reg_id, self._next_id = self._next_id, self._next_id + 1
        return AsrRegistration(
            id=reg_id,
            sha256=sha256,
            url=url,
            text=text,
            utterances=normalized,
            duration_ms=duration_ms,
            has_truth=has_truth,
        )

    @staticmethod
    def _read_audio(audio: Union[bytes, str, os.PathLike[str]]) -> bytes:
        if isinstance(audio, (bytes, bytearray, memoryview)):
            return bytes(audio)
        with open(audio, "rb") as f:
            return f.read()

    def register(
        self,
        audio: Union[bytes, str, os.PathLike[str]],
        *,
        utterances: Iterable[Any] | None = None,
        text: str | None = None,
    ) -> AsrRegistration:
        """Register the transcript of an audio file.

        Args:
            audio: the file's bytes or path (WAV, MP3 or Ogg Opus).
            utterances: utterances in the API's response shape: dicts (or
                objects with the same attributes, like the sample room's) with
                ``text``, ``start_time``, ``end_time`` (ms), ``words`` (each with
                ``text``, ``start_time``, ``end_time``) and optional
                ``additions`` (e.g. ``{"speaker": "1"}``).
            text: the whole text; the utterances' texts joined by spaces by default.

        Returns:
            The registration. Recognizing these bytes answers with it; a slice
            of a registered WAV gets the words inside its time window.

        Raises:
            ValueError: the audio is not WAV / MP3 / Ogg Opus, or an utterance is malformed.
        """
        data = self._read_audio(audio)
        try:
            info = analyze(data, {})
        except Refusal as exc:
            raise ValueError(f"cannot register this audio: {exc.message}") from None
        reg = self._registration(
            sha256=info.sha256,
            url=None,
            utterances=utterances,
            text=text,
            duration_ms=info.duration_ms,
        )
        with self._lock:
            old = self._by_sha.get(info.sha256)
            if old is not None:
                self._recordings.pop(old.id, None)
            self._by_sha[info.sha256] = reg
            if info.pcm is not None:
                self._recordings[reg.id] = Recording(
                    reg, info.rate, info.channels, info.width, bytes(info.pcm)
                )
        return reg

    def register_url(
        self,
        url: str,
        audio: Union[bytes, str, os.PathLike[str], None] = None,
        *,
        utterances: Iterable[Any] | None = None,
        text: str | None = None,
    ) -> AsrRegistration:
        """Make an ``audio.url`` reachable, with audio, a transcript or both.

        Args:
            url: the URL the request will carry.
            audio: the bytes (or a path) the URL serves; recognized like inline
                audio (including registered ground truth) when no transcript is given.
            utterances: the transcript's utterances, as for :meth:`register`.
            text: the whole text.

        Returns:
            The registration.

        Raises:
            ValueError: neither audio nor a transcript, or bad audio / utterances.
        """
        if audio is None and utterances is None and text is None:
            raise ValueError("register_url needs audio, utterances or text")
        data = None if audio is None else self._read_audio(audio)
        duration = None
        sha = None
        if data is not None:
            try:
                info = analyze(data, {})
            except Refusal as exc:
                raise ValueError(f"cannot register this audio: {exc.message}") from None
            duration, sha = info.duration_ms, info.sha256
        elif utterances is not None:
            duration = max(
                (checked_int(field(u, "end_time"), "end_time") for u in utterances), default=0
            )
            utterances = list(utterances)
        reg = self._registration(
            sha256=sha, url=url, utterances=utterances, text=text, duration_ms=duration
        )
        with self._lock:
            self._by_url[url] = (reg, data)
        return reg

    def unregister(self, registration: AsrRegistration) -> None:
        """Forget a registration."""
        with self._lock:
            if registration.url is not None:
                if self._by_url.get(registration.url, (None,))[0] == registration:
                    del self._by_url[registration.url]
            elif registration.sha256 and self._by_sha.get(registration.sha256) == registration:
                del self._by_sha[registration.sha256]
                self._recordings.pop(registration.id, None)

    def clear(self) -> None:
        """Forget every registration and recorded call."""
        with self._lock:
            self._by_sha.clear()
            self._by_url.clear()
            self._recordings.clear()
            self.calls.clear()
        self.standard.clear()

    # --- Service protocol ------------------------------------------------------

    def claims(self, request: EmulatorRequest) -> bool:
        """POST on the flash path."""
        return request.method == "POST" and request.path == FLASH_PATH

    def _answer(
        self, status: int, code: int, message: str, log_id: str, payload: Any = None
    ) -> EmulatorResponse:
        if self.latency > 0:
            time.sleep(self.latency)
        headers = [
            ("X-Api-Status-Code", str(code)),
            ("X-Api-Message", _latin1(message)),
            ("X-Tt-Logid", log_id),
        ]
        if payload is None:
            return EmulatorResponse(status, b"", headers, code)
        return EmulatorResponse.json(status, payload, headers, code)

    def fault_response(self, request: EmulatorRequest, fault: Fault) -> EmulatorResponse:
        """An injected fault as an ASR error answer.

        The HTTP status is the fault's, else 503 for 55000031, 500 for other
        550xxxx, 400 for 45xxxxxx. A fault with an HTTP status but no code
        answers without ``X-Api-Status-Code``, like a gateway would; one with
        neither is a 55000000 internal error.
        """
        code = fault.code
        if code is None and fault.http_status is None:
            code = INTERNAL
        status = fault.http_status or status_for(code)
        if code is None:
            if self.latency > 0:
                time.sleep(self.latency)
            body = json.dumps({"error": fault.message}).encode()
            return EmulatorResponse(status, body, [("X-Tt-Logid", _log_id())])
        return self._answer(status, int(code), fault.message, _log_id())

    def _check_headers(self, request: EmulatorRequest) -> None:
        creds = self.emulator.credentials
        api_key = request.header("X-Api-Key")
        app_key, access_key = request.header("X-Api-App-Key"), request.header("X-Api-Access-Key")
        if api_key is not None:
            if not secrets.compare_digest(api_key, creds.api_key):
                raise Refusal(AUTH_FAILED, "invalid X-Api-Key", 401)
        elif app_key is None or access_key is None:
            raise Refusal(AUTH_FAILED, "missing X-Api-Key or X-Api-App-Key + X-Api-Access-Key", 401)
        elif not (
            secrets.compare_digest(app_key, creds.app_key)
            and secrets.compare_digest(access_key, creds.access_key)
        ):
            raise Refusal(AUTH_FAILED, "invalid X-Api-App-Key or X-Api-Access-Key", 401)
        resource = request.header("X-Api-Resource-Id")
        if resource != RESOURCE_ID:
            raise Refusal(AUTH_FAILED, f"requested resource not granted: {resource}", 403)
        if not request.header("X-Api-Request-Id"):
            raise Refusal(INVALID, "invalid request: missing X-Api-Request-Id")
        if request.header("X-Api-Sequence") != "-1":
            raise Refusal(INVALID, "invalid request: X-Api-Sequence must be -1")

    def _fetch(self, url: str) -> tuple[bytes | None, AsrRegistration | None]:
        """The audio (and registration) behind an ``audio.url``."""
        with self._lock:
            entry = self._by_url.get(url)
        if entry is not None:
            return entry[1], entry[0]
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise Refusal(INVALID, "invalid request: audio url must be http(s)")
        own = {f"{self.emulator.host}:{self.emulator.port}", f"localhost:{self.emulator.port}"}
        path = urllib.parse.unquote(parts.path)
        if parts.netloc in own and path.startswith("/storage/"):
            bucket, _, key = path[len("/storage/") :].partition("/")
            get = getattr(getattr(self.emulator, "storage", None), "get", None)
            data = None
            if get is not None and bucket and key:
                try:
                    data = get(bucket, key)
                except Exception:
                    data = None
            if isinstance(data, (bytes, bytearray)):
                return bytes(data), None
        raise Refusal(INVALID, "invalid request: audio url not reachable")

    def _truth(self, audio: AudioInfo) -> Truth | None:
        with self._lock:
            reg = self._by_sha.get(audio.sha256)
            recordings = list(self._recordings.values())
        if reg is not None:
            return Truth.of(reg)
        if audio.pcm is None:
            return None
        for rec in recordings:
            offset = find_slice(rec, audio)
            if offset is not None:
                return slice_truth(rec, offset, len(audio.pcm) // (audio.channels * audio.width))
        return None

    @staticmethod
    def _render(
        truth: Truth | Derived, duration: int, request: Mapping[str, Any]
    ) -> dict[str, Any]:
        additions: dict[str, Any] = {"duration": str(duration)}
        if isinstance(truth, Derived):
            additions.update(emulator="unregistered audio", emulated=True)
        text, utterances = truth.text, truth.utterances
        speakers = request.get("enable_speaker_info") is True
        out_utterances: list[dict[str, Any]] = []
        for utt in utterances:
            extra = dict(utt.get("additions", {}))
            speaker = extra.pop("speaker", None)
            if speakers and speaker is not None:
                extra["speaker"] = speaker
            item: dict[str, Any] = {
                "end_time": utt["end_time"],
                "start_time": utt["start_time"],
                "text": utt["text"],
                "words": [
                    {"confidence": 0, **w} if "confidence" not in w else dict(w)
                    for w in utt["words"]
                ],
            }
            if extra:
                item["additions"] = extra
            if "definite" in utt:
                item["definite"] = utt["definite"]
            out_utterances.append(item)
        result: dict[str, Any] = {"additions": additions, "text": text}
        if request.get("show_utterances") is not False:
            result["utterances"] = out_utterances
        return {"audio_info": {"duration": duration}, "result": result}

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Check and answer one recognition request."""
        log_id = _log_id()
        call: dict[str, Any] = {"request_id": request.header("X-Api-Request-Id")}
        try:
            code, payload = self._recognize(request, call)
        except Refusal as refusal:
            self._record(call, refusal.code, log_id)
            return self._answer(refusal.http_status, refusal.code, refusal.message, log_id)
        self._record(call, code, log_id)
        return self._answer(200, code, "OK" if code == OK else "silent audio", log_id, payload)

    def _recognize(
        self, request: EmulatorRequest, call: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """(status code, body) of a request; fills ``call`` for the log as it learns."""
        self._check_headers(request)
        body, sink = parse_body(request.body)
        audio_fields, request_fields = validate(body)
        return self.recognize_fields(audio_fields, request_fields, sink, call)

    def recognize_fields(
        self,
        audio_fields: Mapping[str, Any],
        request_fields: Mapping[str, Any],
        sink: Any,
        call: dict[str, Any],
        *,
        data: bytes | None = None,
        max_duration_ms: int | None = MAX_DURATION_MS,
    ) -> tuple[int, dict[str, Any]]:
        """(status code, body) for checked ``audio``/``request`` fields (the standard API's hook).

        ``data``: audio bytes already fetched (then ``audio.url`` is not fetched again).
        """
        call["audio"] = {k: v for k, v in audio_fields.items() if k != "data"}
        call["request"] = dict(request_fields)
        registration: AsrRegistration | None = None
        if "url" in audio_fields:
            call["url"] = audio_fields["url"]
            if data is None:
                data, registration = self._fetch(audio_fields["url"])
        elif data is None:
            data = decode_data(audio_fields["data"], sink)
        if data is None:  # a URL registered with a transcript only
            assert registration is not None
            duration = registration.duration_ms or 0
            return OK, self._render(Truth.of(registration), duration, request_fields)
        call["audio_sha256"] = digest = hashlib.sha256(data).hexdigest()
        call["audio_size"] = len(data)
        if not data:
            raise Refusal(EMPTY, "empty audio")
        audio = analyze(data, audio_fields, digest)
        if max_duration_ms is not None and audio.duration_ms > max_duration_ms:
            raise Refusal(INVALID, "invalid request: audio longer than 2 h")
        call["duration_ms"] = duration = audio.duration_ms
        if audio.pcm is not None and NONZERO.search(audio.pcm) is None:
            result = {"additions": {"duration": str(duration)}, "text": ""}
            return SILENT, {"audio_info": {"duration": duration}, "result": result}
        if registration is not None and registration.has_truth:
            truth: Truth | None = Truth.of(registration)
        else:
            truth = self._truth(audio)
        if truth is None or not truth.registration.has_truth:
            derived = Derived.of(audio)
            call.update(emulated=True, speech_regions=derived.regions)
            logger.info(
                "emulator: no ground truth for audio %s (%d bytes): answering its duration "
                "(%d ms) and %s speech regions, marked emulated",
                audio.sha256[:12],
                audio.size,
                duration,
                len(derived.regions) if derived.regions is not None else "no",
            )
            return OK, self._render(derived, duration, request_fields)
        return OK, self._render(truth, duration, request_fields)

    def _record(self, call: dict[str, Any], code: int, log_id: str) -> None:
        with self._lock:
            self.calls.append(AsrCall(code=code, log_id=log_id, **call))
