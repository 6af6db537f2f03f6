"""The emulated flash ASR API's request body: a streaming JSON parser and the field checks.

The body is parsed as a stream: everything but the long ``audio.data`` string
is kept as a small JSON "skeleton" and parsed with :mod:`json`; the base64 of
the audio is validated and decoded block by block into a buffer of at most
100 MiB of audio. The whole body is never held as one ``str`` or ``bytes``.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from typing import Any, Union

from ._asr_refusal import INVALID, Refusal

__all__ = ["MAX_AUDIO_BYTES", "Base64Sink", "decode_data", "parse_body", "validate"]

MAX_AUDIO_BYTES = 100 * 1024 * 1024
#: A string longer than this is decoded as a stream instead of kept in the skeleton.
_SPILL_AT = 64 * 1024
#: Largest JSON skeleton (the body without its long audio string).
_SKELETON_LIMIT = 8 * 1024 * 1024
_READ_SIZE = 1 << 20
_DECODE_BLOCK = 4 << 20
_PLACEHOLDER = "\x00volcspeech-emulator:long-string\x00"
_PLACEHOLDER_JSON = b"\\u0000volcspeech-emulator:long-string\\u0000"
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class Base64Sink:
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


def parse_body(stream: Any) -> tuple[Any, Base64Sink | None]:
    """Parse a JSON body, streaming its one long string (``audio.data``) into a decoder.

    Returns:
        The JSON with the long string replaced by a placeholder, and its decoder.
    """
    skeleton = bytearray()
    sink: Base64Sink | None = None
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
                    raise Refusal(INVALID, "invalid request: body too large")
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
                        raise Refusal(INVALID, "invalid request: more than one long field")
                    sink = Base64Sink(MAX_AUDIO_BYTES)
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
        raise Refusal(INVALID, "invalid request: body is not valid JSON") from None
    if sink is not None:
        sink.finish()
    return body, sink


def decode_data(data: str, sink: Base64Sink | None) -> bytes:
    """The audio of ``audio.data``: already streamed into ``sink``, or short and inline."""
    if sink is None:
        sink = Base64Sink(MAX_AUDIO_BYTES)
        try:
            sink.feed(data.encode("ascii"))
        except UnicodeEncodeError:
            sink.invalid = True
        sink.finish()
    elif data != _PLACEHOLDER:
        raise Refusal(INVALID, "invalid request: a field other than audio.data is too long")
    if sink.invalid:
        raise Refusal(INVALID, "invalid request: audio.data is not valid base64")
    if sink.too_large:
        raise Refusal(INVALID, "invalid request: audio larger than 100 MB")
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
            raise Refusal(INVALID, bad)


def validate(body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(body, dict):
        raise Refusal(INVALID, "invalid request: body must be a JSON object")
    user = body.get("user", {})
    if not isinstance(user, dict) or not isinstance(user.get("uid", ""), str):
        raise Refusal(INVALID, "invalid request: user must be an object with a string uid")
    audio, request = body.get("audio"), body.get("request")
    if not isinstance(audio, dict):
        raise Refusal(INVALID, "invalid request: missing audio")
    if not isinstance(request, dict) or "model_name" not in request:
        raise Refusal(INVALID, "invalid request: missing request.model_name")
    if ("url" in audio) == ("data" in audio):
        raise Refusal(INVALID, "invalid request: give exactly one of audio.url and audio.data")
    _check_fields(audio, _AUDIO_FIELDS, "audio")
    _check_fields(request, _REQUEST_FIELDS, "request")
    _check_fields(request.get("corpus", {}), _CORPUS_FIELDS, "request.corpus")
    if "rate" in audio and audio["rate"] <= 0:
        raise Refusal(INVALID, "invalid request: audio.rate has an invalid value")
    return audio, request
