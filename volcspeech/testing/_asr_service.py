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
* 20000000 with empty text and ``result.additions.emulator ==
  "unregistered audio"`` for audio it does not know;
* 20000003 for an all-silent WAV (every sample exactly zero);
* 45000001 for a bad body (not JSON, missing/both ``audio.url`` and
  ``audio.data``, a field of the wrong type or value, bad base64, an
  unreachable URL, audio over 100 MiB or 2 h), 45000002 for empty audio,
  45000151 for audio that is not WAV / MP3 / Ogg Opus or does not match
  ``audio.format`` / ``codec``;
* HTTP 401 (bad or missing credentials) or 403 (another resource id) with code
  45000010 — **not documented by the vendor**; the emulator's choice.

The body is parsed as a stream: everything but the long ``audio.data`` string
is kept as a small JSON "skeleton" and parsed with :mod:`json`; the base64 of
the audio is validated and decoded block by block into a buffer of at most
100 MiB of audio. The whole body is never held as one ``str`` or ``bytes``.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import json
import re
import secrets
import struct
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Union

import attrs

from ._protocol import EmulatorHost, EmulatorRequest, EmulatorResponse, Fault, host_ref

if TYPE_CHECKING:  # pragma: no cover
    import os

    from ..asr import AsrClient

__all__ = ["FLASH_PATH", "AsrCall", "AsrRegistration", "AsrService"]

FLASH_PATH = "/api/v3/auc/bigmodel/recognize/flash"
RESOURCE_ID = "volc.bigasr.auc_turbo"

OK = 20000000
SILENT = 20000003
INVALID = 45000001
EMPTY = 45000002
BAD_FORMAT = 45000151
BUSY = 55000031
INTERNAL = 55000000
#: Refused credentials or resource. NOT documented by the vendor: the
#: emulator's choice, with HTTP 401/403 (which is what clients should rely on).
AUTH_FAILED = 45000010

MAX_AUDIO_BYTES = 100 * 1024 * 1024
MAX_DURATION_MS = 2 * 60 * 60 * 1000
#: A string longer than this is decoded as a stream instead of kept in the skeleton.
_SPILL_AT = 64 * 1024
#: Largest JSON skeleton (the body without its long audio string).
_SKELETON_LIMIT = 8 * 1024 * 1024
_READ_SIZE = 1 << 20
_DECODE_BLOCK = 4 << 20
_NONZERO = re.compile(rb"[^\x00]")
_PLACEHOLDER = "\x00volcspeech-emulator:long-string\x00"
_PLACEHOLDER_JSON = b"\\u0000volcspeech-emulator:long-string\\u0000"
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#: Length of the first non-silent probe used to find a slice in a recording.
_PROBE_MS = 500


class _Refusal(Exception):
    def __init__(self, code: int, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status or _http_status(code)


def _http_status(code: Union[int, str, None]) -> int:
    text = str(code)
    if text == str(BUSY):
        return 503
    if text.startswith("550"):
        return 500
    if text.startswith("45"):
        return 400
    if text.startswith("2"):
        return 200
    return 500


def _latin1(text: str) -> str:
    """Header values travel as bytes; UTF-8 messages go out as their bytes."""
    return text.encode("utf-8").decode("latin-1")


def _log_id() -> str:
    # Same shape as the vendor's sample: a timestamp then 20 hex digits.
    return time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()


# --- ground truth ---------------------------------------------------------------------


@attrs.frozen
class AsrRegistration:
    """Registered ground truth, as returned by :meth:`AsrService.register`.

    Attributes:
        id: a number unique within the emulator.
        sha256: the hex digest of the registered audio (``None`` for a URL without audio).
        url: the registered URL, for :meth:`AsrService.register_url`.
        text: the text answered for the whole audio.
        utterances: the utterances, as dicts in the API's response shape.
        duration_ms: the audio's duration.
    """

    id: int
    sha256: str | None
    url: str | None
    text: str
    utterances: tuple[dict[str, Any], ...] = attrs.field(repr=False)
    duration_ms: int | None
    has_truth: bool = attrs.field(default=True, repr=False)


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
    """

    request_id: str | None
    code: int
    log_id: str
    audio_sha256: str | None = None
    audio_size: int = 0
    url: str | None = None
    audio: Mapping[str, Any] = attrs.field(factory=dict)
    request: Mapping[str, Any] = attrs.field(factory=dict)


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where} must be an int (milliseconds), got {value!r}")
    return value


def _normalize_word(raw: Any, where: str) -> dict[str, Any]:
    text = _get(raw, "text")
    if not isinstance(text, str):
        raise ValueError(f"{where}.text must be a str")
    word: dict[str, Any] = {
        "text": text,
        "start_time": _int(_get(raw, "start_time"), f"{where}.start_time"),
        "end_time": _int(_get(raw, "end_time"), f"{where}.end_time"),
    }
    for key in ("confidence", "blank_duration"):
        if _get(raw, key) is not None:
            word[key] = _get(raw, key)
    return word


def _normalize_utterances(utterances: Iterable[Any]) -> tuple[dict[str, Any], ...]:
    out = []
    for i, raw in enumerate(utterances):
        where = f"utterances[{i}]"
        text = _get(raw, "text")
        if not isinstance(text, str):
            raise ValueError(f"{where}.text must be a str")
        words = [
            _normalize_word(w, f"{where}.words[{j}]")
            for j, w in enumerate(_get(raw, "words") or ())
        ]
        utterance: dict[str, Any] = {
            "text": text,
            "start_time": _int(_get(raw, "start_time"), f"{where}.start_time"),
            "end_time": _int(_get(raw, "end_time"), f"{where}.end_time"),
            "words": words,
        }
        additions = _get(raw, "additions")
        if additions is not None:
            if not isinstance(additions, Mapping):
                raise ValueError(f"{where}.additions must be a mapping")
            utterance["additions"] = dict(additions)
        if _get(raw, "definite") is not None:
            utterance["definite"] = bool(_get(raw, "definite"))
        out.append(utterance)
    return tuple(out)


# --- audio analysis (the emulator's own; independent of the client's) -----------------


@attrs.frozen
class _Audio:
    format: str
    codec: str | None
    duration_ms: int
    sha256: str
    size: int
    pcm: Any = attrs.field(default=None, repr=False)  # memoryview of the samples (WAV/raw)
    rate: int = 0
    channels: int = 0
    width: int = 0


def _wav(data: memoryview) -> tuple[int, int, int, memoryview]:
    """(rate, channels, sample width, samples) of a RIFF/WAVE file."""
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        chunk_id = bytes(data[pos : pos + 4])
        (size,) = struct.unpack_from("<I", data, pos + 4)
        start = pos + 8
        if chunk_id == b"fmt " and size >= 16 and start + 16 <= len(data):
            _, channels, rate, _, align, _ = struct.unpack_from("<HHIIHH", data, start)
            fmt = (rate, channels, align)
        elif chunk_id == b"data" and fmt is not None:
            rate, channels, align = fmt
            if not (rate and channels and align):
                break
            if align < channels:  # not even one byte per sample: no sample width
                raise _Refusal(BAD_FORMAT, "audio format error: WAV block align below channels")
            end = len(data) if size in (0, 0xFFFFFFFF) else min(len(data), start + size)
            return rate, channels, align // channels, data[start:end]
        pos = start + size + (size & 1)
    raise _Refusal(BAD_FORMAT, "audio format error: WAV without fmt/data chunks")


def _mutagen_info(data: memoryview, kind: str) -> tuple[int, int, int]:
    """(duration ms, rate, channels) of MP3 / Ogg Opus bytes, via mutagen."""
    try:
        parser: Any
        if kind == "mp3":
            from mutagen.mp3 import MP3 as parser
        else:
            from mutagen.oggopus import OggOpus as parser
        info = parser(io.BytesIO(data)).info
    except Exception:
        what = "MP3" if kind == "mp3" else "Ogg Opus"
        raise _Refusal(BAD_FORMAT, f"audio format error: not a readable {what} stream") from None
    rate = int(getattr(info, "sample_rate", 0) or 48000)
    return round(info.length * 1000), rate, int(info.channels)


def _analyze(
    raw: Union[bytes, bytearray], fields: Mapping[str, Any], digest: str | None = None
) -> _Audio:
    data = memoryview(raw)
    digest = digest or hashlib.sha256(data).hexdigest()
    declared = fields.get("format")
    if declared == "raw":
        rate = fields.get("rate") or 16000
        width = (fields.get("bits") or 16) // 8
        channels = fields.get("channel") or 1
        frames = len(data) // (width * channels)
        duration = frames * 1000 // rate
        return _Audio("raw", None, duration, digest, len(data), data, rate, channels, width)
    head = bytes(data[:12])
    pcm = None
    rate = channels = width = 0
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        kind, codec = "wav", None
        rate, channels, width, pcm = _wav(data)
        duration = (len(pcm) // (channels * width)) * 1000 // rate
    elif head[:4] == b"OggS":
        kind, codec = "ogg", "opus"
        duration, rate, channels = _mutagen_info(data, "ogg")
    elif head[:3] == b"ID3" or (head[:1] == b"\xff" and len(head) > 1 and head[1] & 0xE0 == 0xE0):
        kind, codec = "mp3", None
        duration, rate, channels = _mutagen_info(data, "mp3")
    else:
        raise _Refusal(BAD_FORMAT, "audio format error: only WAV, MP3 and Ogg Opus are supported")
    if declared is not None and declared != kind:
        raise _Refusal(BAD_FORMAT, f"audio format error: format {declared} does not match data")
    given_codec = fields.get("codec")
    if given_codec is not None and given_codec != (codec or "raw"):
        raise _Refusal(BAD_FORMAT, f"audio format error: codec {given_codec} does not match data")
    return _Audio(kind, codec, duration, digest, len(data), pcm, rate, channels, width)


@attrs.frozen
class _Truth:
    registration: AsrRegistration
    text: str
    utterances: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, registration: AsrRegistration) -> _Truth:
        """The whole registered transcript."""
        return cls(registration, registration.text, registration.utterances)


@attrs.frozen
class _Recording:
    """A registered WAV whose slices can be recognized."""

    registration: AsrRegistration
    rate: int
    channels: int
    width: int
    pcm: bytes = attrs.field(repr=False)


def _inside(start: int, end: int, w0: int, w1: int) -> bool:
    """Whether a span (scaled times) belongs to the window [w0, w1).

    More than half of it inside; exactly half goes to the window holding its
    first half, so of two abutting windows exactly one gets it.
    """
    if end <= start:
        return w0 <= start < w1
    overlap = min(end, w1) - max(start, w0)
    return 2 * overlap > end - start or (2 * overlap == end - start and start >= w0)


def _slice_truth(rec: _Recording, offset_frames: int, frames: int) -> _Truth:
    rate = rec.rate
    w0, w1 = offset_frames * 1000, (offset_frames + frames) * 1000  # ms * rate
    length_ms = frames * 1000 // rate

    def rel(ms: int) -> int:
        return min(length_ms, max(0, round((ms * rate - w0) / rate)))

    utterances = []
    for utt in rec.registration.utterances:
        if utt["words"]:
            words = [
                dict(w, start_time=rel(w["start_time"]), end_time=rel(w["end_time"]))
                for w in utt["words"]
                if _inside(w["start_time"] * rate, w["end_time"] * rate, w0, w1)
            ]
            if not words:
                continue
            text = " ".join(w["text"] for w in words)
            if len(words) == len(utt["words"]):
                text = utt["text"]
            start, end = words[0]["start_time"], words[-1]["end_time"]
        elif _inside(utt["start_time"] * rate, utt["end_time"] * rate, w0, w1):
            words, text = [], utt["text"]
            start, end = rel(utt["start_time"]), rel(utt["end_time"])
        else:
            continue
        utterances.append(dict(utt, text=text, start_time=start, end_time=end, words=words))
    text = " ".join(u["text"] for u in utterances)
    return _Truth(rec.registration, text, tuple(utterances))


def _find_slice(rec: _Recording, audio: _Audio) -> int | None:
    """The frame offset of ``audio``'s samples inside ``rec``, if they are a slice of it."""
    if (audio.rate, audio.channels, audio.width) != (rec.rate, rec.channels, rec.width):
        return None
    pcm = audio.pcm
    frame = rec.channels * rec.width
    if len(pcm) == 0 or len(pcm) > len(rec.pcm) or len(pcm) % frame:
        return None
    first = _NONZERO.search(pcm)
    if first is None:
        return None
    probe_start = first.start() // frame * frame
    probe_len = max(frame, rec.rate * _PROBE_MS // 1000 * frame)
    probe = bytes(pcm[probe_start : probe_start + probe_len])
    haystack = memoryview(rec.pcm)
    found = rec.pcm.find(probe)
    while found >= 0:
        offset = found - probe_start
        if offset >= 0 and offset % frame == 0 and haystack[offset : offset + len(pcm)] == pcm:
            return offset // frame
        found = rec.pcm.find(probe, found + 1)
    return None


# --- the streamed body ------------------------------------------------------------------


class _Base64Sink:
    """Validates and decodes base64 text fed in pieces; keeps at most ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.out = bytearray()
        self.invalid = False
        self.too_large = False
        self._pending = bytearray()
        self._limit = limit

    def feed(self, text: Union[bytes, bytearray]) -> None:
        if self.invalid or self.too_large:
            return
        self._pending += text
        if len(self._pending) >= _DECODE_BLOCK + 4:
            self._decode(final=False)

    def _decode(self, final: bool) -> None:
        if final:
            block = bytes(self._pending)
            self._pending.clear()
            stripped = block.rstrip(b"=")
            if len(block) % 4 or len(block) - len(stripped) > 2:
                self.invalid = True
                return
        else:
            # Keep the last characters back: only the final block may be padded.
            cut = (len(self._pending) - 4) // 4 * 4
            block = bytes(self._pending[:cut])
            del self._pending[:cut]
            stripped = block
        if stripped.translate(None, _B64_ALPHABET):
            self.invalid = True
            return
        decoded = binascii.a2b_base64(block)
        if len(self.out) + len(decoded) > self._limit:
            self.too_large = True
            self.out = bytearray()
            return
        self.out += decoded

    def finish(self) -> None:
        if not (self.invalid or self.too_large):
            self._decode(final=True)


def _next_special(chunk: bytes, pos: int) -> int:
    """Index of the next ``"`` or ``\\`` from ``pos`` (-1 if none); memchr, not a regex."""
    quote = chunk.find(b'"', pos)
    backslash = chunk.find(b"\\", pos, len(chunk) if quote < 0 else quote)
    return quote if backslash < 0 else backslash


def _parse_body(stream: Any) -> tuple[Any, _Base64Sink | None]:
    """Parse a JSON body, streaming its one long string (``audio.data``) into a decoder.

    Returns:
        The JSON with the long string replaced by a placeholder, and its decoder.
    """
    skeleton = bytearray()
    sink: _Base64Sink | None = None
    in_string = spilling = escape_pending = False
    string_start = 0

    def escaped(char: bytes) -> None:
        if spilling:
            assert sink is not None
            if char == b"/":
                sink.feed(b"/")
            else:
                sink.invalid = True
        else:
            skeleton.extend(b"\\" + char)

    while True:
        chunk = stream.read(_READ_SIZE)
        if not chunk:
            break
        pos, n = 0, len(chunk)
        while pos < n:
            if not in_string:
                quote = chunk.find(b'"', pos)
                end = n if quote < 0 else quote + 1
                skeleton += chunk[pos:end]
                if len(skeleton) > _SKELETON_LIMIT:
                    raise _Refusal(INVALID, "invalid request: body too large")
                pos = end
                if quote >= 0:
                    in_string, spilling, string_start = True, False, len(skeleton)
                continue
            if escape_pending:
                escaped(chunk[pos : pos + 1])
                escape_pending, pos = False, pos + 1
                continue
            special = _next_special(chunk, pos)
            end = n if special < 0 else special
            if spilling:
                assert sink is not None
                sink.feed(chunk[pos:end])
            else:
                skeleton += chunk[pos:end]
                if len(skeleton) - string_start > _SPILL_AT:
                    if sink is not None:
                        raise _Refusal(INVALID, "invalid request: more than one long field")
                    sink = _Base64Sink(MAX_AUDIO_BYTES)
                    content = bytes(skeleton[string_start:]).replace(b"\\/", b"/")
                    del skeleton[string_start:]
                    skeleton += _PLACEHOLDER_JSON
                    if b"\\" in content:
                        sink.invalid = True
                    sink.feed(content)
                    spilling = True
            pos = end
            if special < 0:
                continue
            if chunk[end] == 0x22:  # the closing quote
                skeleton += b'"'
                in_string, pos = False, end + 1
            elif end + 1 < n:
                escaped(chunk[end + 1 : end + 2])
                pos = end + 2
            else:
                escape_pending, pos = True, n
    try:
        body = json.loads(skeleton.decode("utf-8"))
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
        raise _Refusal(INVALID, "invalid request: body is not valid JSON") from None
    if sink is not None:
        sink.finish()
    return body, sink


def _decode_data(data: str, sink: _Base64Sink | None) -> bytes:
    """The audio of ``audio.data``: already streamed into ``sink``, or short and inline."""
    if sink is None:
        sink = _Base64Sink(MAX_AUDIO_BYTES)
        try:
            sink.feed(data.encode("ascii"))
        except UnicodeEncodeError:
            sink.invalid = True
        sink.finish()
    elif data != _PLACEHOLDER:
        raise _Refusal(INVALID, "invalid request: a field other than audio.data is too long")
    if sink.invalid:
        raise _Refusal(INVALID, "invalid request: audio.data is not valid base64")
    if sink.too_large:
        raise _Refusal(INVALID, "invalid request: audio larger than 100 MB")
    return bytes(sink.out)


# --- request validation -------------------------------------------------------------

_AUDIO_FIELDS: dict[str, Any] = {
    "url": str,
    "data": str,
    "format": ("raw", "wav", "mp3", "ogg"),
    "codec": ("raw", "opus"),
    "rate": int,
    "bits": (16,),
    "channel": (1, 2),
    "language": str,
}
_REQUEST_FIELDS: dict[str, Any] = {
    "model_name": ("bigmodel",),
    "model_version": str,
    "ssd_version": str,
    "enable_itn": bool,
    "enable_punc": bool,
    "enable_ddc": bool,
    "enable_speaker_info": bool,
    "enable_channel_split": bool,
    "show_utterances": bool,
    "vad_segment": bool,
    "end_window_size": range(300, 5001),
    "sensitive_words_filter": "json",
    "enable_poi_fc": bool,
    "enable_music_fc": bool,
    "corpus": dict,
}
_CORPUS_FIELDS: dict[str, Any] = {
    "boosting_table_name": str,
    "correct_table_name": str,
    "context": "json",
}


def _check_fields(obj: Mapping[str, Any], schema: Mapping[str, Any], where: str) -> None:
    for key, rule in schema.items():
        if key not in obj:
            continue
        value = obj[key]
        bad = f"invalid request: {where}.{key} has an invalid value"
        if rule == "json":
            try:
                ok = isinstance(value, str) and isinstance(json.loads(value), dict)
            except (ValueError, RecursionError):
                ok = False
        elif isinstance(rule, type):
            ok = isinstance(value, rule) and (rule is bool or not isinstance(value, bool))
        else:
            ok = not isinstance(value, bool) and value in rule
        if not ok:
            raise _Refusal(INVALID, bad)


def _validate(body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(body, dict):
        raise _Refusal(INVALID, "invalid request: body must be a JSON object")
    user = body.get("user", {})
    if not isinstance(user, dict) or not isinstance(user.get("uid", ""), str):
        raise _Refusal(INVALID, "invalid request: user must be an object with a string uid")
    audio, request = body.get("audio"), body.get("request")
    if not isinstance(audio, dict):
        raise _Refusal(INVALID, "invalid request: missing audio")
    if not isinstance(request, dict) or "model_name" not in request:
        raise _Refusal(INVALID, "invalid request: missing request.model_name")
    if ("url" in audio) == ("data" in audio):
        raise _Refusal(INVALID, "invalid request: give exactly one of audio.url and audio.data")
    _check_fields(audio, _AUDIO_FIELDS, "audio")
    _check_fields(request, _REQUEST_FIELDS, "request")
    _check_fields(request.get("corpus", {}), _CORPUS_FIELDS, "request.corpus")
    if "rate" in audio and audio["rate"] <= 0:
        raise _Refusal(INVALID, "invalid request: audio.rate has an invalid value")
    return audio, request


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
        self._recordings: dict[int, _Recording] = {}

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
        return AsrClient(**kwargs)

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
        normalized = _normalize_utterances(utterances or ())
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
            info = _analyze(data, {})
        except _Refusal as exc:
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
                self._recordings[reg.id] = _Recording(
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
                info = _analyze(data, {})
            except _Refusal as exc:
                raise ValueError(f"cannot register this audio: {exc.message}") from None
            duration, sha = info.duration_ms, info.sha256
        elif utterances is not None:
            duration = max((_int(_get(u, "end_time"), "end_time") for u in utterances), default=0)
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
        status = fault.http_status or _http_status(code)
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
                raise _Refusal(AUTH_FAILED, "invalid X-Api-Key", 401)
        elif app_key is None or access_key is None:
            raise _Refusal(
                AUTH_FAILED, "missing X-Api-Key or X-Api-App-Key + X-Api-Access-Key", 401
            )
        elif not (
            secrets.compare_digest(app_key, creds.app_key)
            and secrets.compare_digest(access_key, creds.access_key)
        ):
            raise _Refusal(AUTH_FAILED, "invalid X-Api-App-Key or X-Api-Access-Key", 401)
        resource = request.header("X-Api-Resource-Id")
        if resource != RESOURCE_ID:
            raise _Refusal(AUTH_FAILED, f"requested resource not granted: {resource}", 403)
        if not request.header("X-Api-Request-Id"):
            raise _Refusal(INVALID, "invalid request: missing X-Api-Request-Id")
        if request.header("X-Api-Sequence") != "-1":
            raise _Refusal(INVALID, "invalid request: X-Api-Sequence must be -1")

    def _fetch(self, url: str) -> tuple[bytes | None, AsrRegistration | None]:
        """The audio (and registration) behind an ``audio.url``."""
        with self._lock:
            entry = self._by_url.get(url)
        if entry is not None:
            return entry[1], entry[0]
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise _Refusal(INVALID, "invalid request: audio url must be http(s)")
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
        raise _Refusal(INVALID, "invalid request: audio url not reachable")

    def _truth(self, audio: _Audio) -> _Truth | None:
        with self._lock:
            reg = self._by_sha.get(audio.sha256)
            recordings = list(self._recordings.values())
        if reg is not None:
            return _Truth.of(reg)
        if audio.pcm is None:
            return None
        for rec in recordings:
            offset = _find_slice(rec, audio)
            if offset is not None:
                return _slice_truth(rec, offset, len(audio.pcm) // (audio.channels * audio.width))
        return None

    @staticmethod
    def _render(truth: _Truth | None, duration: int, request: Mapping[str, Any]) -> dict[str, Any]:
        additions: dict[str, Any] = {"duration": str(duration)}
        utterances: tuple[dict[str, Any], ...] = ()
        if truth is None or not truth.registration.has_truth:
            additions["emulator"] = "unregistered audio"
            text = ""
        else:
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
        except _Refusal as refusal:
            self._record(call, refusal.code, log_id)
            return self._answer(refusal.http_status, refusal.code, refusal.message, log_id)
        self._record(call, code, log_id)
        return self._answer(200, code, "OK" if code == OK else "silent audio", log_id, payload)

    def _recognize(
        self, request: EmulatorRequest, call: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """(status code, body) of a request; fills ``call`` for the log as it learns."""
        self._check_headers(request)
        body, sink = _parse_body(request.body)
        audio_fields, request_fields = _validate(body)
        call["audio"] = {k: v for k, v in audio_fields.items() if k != "data"}
        call["request"] = dict(request_fields)
        registration: AsrRegistration | None = None
        if "url" in audio_fields:
            call["url"] = audio_fields["url"]
            data, registration = self._fetch(audio_fields["url"])
        else:
            data = _decode_data(audio_fields["data"], sink)
        if data is None:  # a URL registered with a transcript only
            assert registration is not None
            duration = registration.duration_ms or 0
            return OK, self._render(_Truth.of(registration), duration, request_fields)
        call["audio_sha256"] = digest = hashlib.sha256(data).hexdigest()
        call["audio_size"] = len(data)
        if not data:
            raise _Refusal(EMPTY, "empty audio")
        audio = _analyze(data, audio_fields, digest)
        if audio.duration_ms > MAX_DURATION_MS:
            raise _Refusal(INVALID, "invalid request: audio longer than 2 h")
        duration = audio.duration_ms
        if audio.pcm is not None and _NONZERO.search(audio.pcm) is None:
            result = {"additions": {"duration": str(duration)}, "text": ""}
            return SILENT, {"audio_info": {"duration": duration}, "result": result}
        if registration is not None and registration.has_truth:
            truth: _Truth | None = _Truth.of(registration)
        else:
            truth = self._truth(audio)
        return OK, self._render(truth, duration, request_fields)

    def _record(self, call: dict[str, Any], code: int, log_id: str) -> None:
        with self._lock:
            self.calls.append(AsrCall(code=code, log_id=log_id, **call))
