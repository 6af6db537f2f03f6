"""The emulated standard API's audio: fetching ``audio.url`` to a file, and large files.

The standard API takes recordings of any length by URL, so the emulator never
holds a large one in memory: a URL is fetched to a file (or read where the
emulator's own TOS route stored it), and a file over :data:`IN_MEMORY_LIMIT`
is analysed as a stream — its SHA-256 (to find registered ground truth), its
format and duration from the header, and whether any sample is non-zero.
Only loopback URLs are fetched: the emulator never sends traffic outside
127.0.0.0/8.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
import struct
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import attrs

from ._asr_refusal import BAD_FORMAT, INVALID, Refusal
from ._audio import NONZERO

__all__ = ["IN_MEMORY_LIMIT", "LargeAudio", "analyze_file", "fetch_to_file", "is_loopback"]

#: Files up to this size are read into memory and answered like flash audio.
IN_MEMORY_LIMIT = 100 * 1024 * 1024
_BLOCK = 1 << 20
_HEAD = 64 * 1024
#: Seconds a loopback fetch may wait for the server.
FETCH_TIMEOUT = 30.0


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is ``localhost`` or an address in 127.0.0.0/8 (or ``::1``)."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch_to_file(url: str, directory: str) -> str:
    """GET a loopback URL into a new file under ``directory`` (streamed); its path.

    Raises:
        Refusal: 45000001 for a URL off loopback or an answer that is not 200.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not is_loopback(parts.hostname):
        raise Refusal(
            INVALID,
            "invalid request: audio url not reachable (the emulator fetches loopback URLs only)",
        )
    handle, path = tempfile.mkstemp(dir=directory, suffix=".audio")
    try:
        with os.fdopen(handle, "wb") as out:
            # A local opener without proxies: loopback traffic only, never an environment proxy.
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(url, timeout=FETCH_TIMEOUT) as answer:
                shutil.copyfileobj(answer, out, _BLOCK)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        os.remove(path)
        status = getattr(exc, "code", None)
        detail = f"HTTP {status}" if status else type(exc).__name__
        raise Refusal(INVALID, f"invalid request: audio url not reachable ({detail})") from None
    return path


@attrs.frozen
class LargeAudio:
    """What a streamed pass over a file found."""

    sha256: str
    size: int
    format: str
    codec: str | None
    duration_ms: int
    silent: bool


def _wav_header(head: bytes, size: int) -> tuple[int, int, int]:
    """(data offset, data size, bytes per second... as (offset, size, duration_ms))."""
    pos, fmt = 12, None
    while pos + 8 <= len(head):
        chunk_id = head[pos : pos + 4]
        (chunk_size,) = struct.unpack_from("<I", head, pos + 4)
        start = pos + 8
        if chunk_id == b"fmt " and start + 16 <= len(head):
            _, channels, rate, _, align, _ = struct.unpack_from("<HHIIHH", head, start)
            fmt = (rate, channels, align)
        elif chunk_id == b"data" and fmt is not None:
            rate, channels, align = fmt
            if not (rate and channels and align):
                break
            available = max(0, size - start)
            data = available if chunk_size in (0, 0xFFFFFFFF) else min(chunk_size, available)
            return start, data, (data // align) * 1000 // rate
        pos = start + chunk_size + (chunk_size & 1)
    raise Refusal(BAD_FORMAT, "audio format error: WAV without fmt/data chunks in its head")


def analyze_file(path: str, fields: dict[str, Any]) -> LargeAudio:
    """Stream over a file: digest, format, duration and silence (WAV), never holding it whole.

    Raises:
        Refusal: 45000002 for an empty file, 45000151 for a format that is not
            WAV / MP3 / Ogg Opus or does not match ``audio.format``.
    """
    size = os.path.getsize(path)
    if size == 0:
        raise Refusal(45000002, "empty audio")
    with open(path, "rb") as f:
        head = f.read(_HEAD)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        kind, codec = "wav", None
        data_start, data_size, duration = _wav_header(head, size)
    elif head[:4] == b"OggS" or head[:3] == b"ID3" or head[:1] == b"\xff":
        kind = "ogg" if head[:4] == b"OggS" else "mp3"
        codec = "opus" if kind == "ogg" else None
        duration = _mutagen_ms(path, kind)
        data_start = data_size = 0
    else:
        raise Refusal(BAD_FORMAT, "audio format error: only WAV, MP3 and Ogg Opus are supported")
    declared = fields.get("format")
    if declared is not None and declared != kind:
        raise Refusal(BAD_FORMAT, f"audio format error: format {declared} does not match data")
    digest = hashlib.sha256()
    nonzero = False
    with open(path, "rb") as f:
        offset = 0
        while True:
            block = f.read(_BLOCK)
            if not block:
                break
            digest.update(block)
            if kind == "wav" and not nonzero:
                lo = max(0, data_start - offset)
                hi = min(len(block), data_start + data_size - offset)
                nonzero = lo < hi and NONZERO.search(block, lo, hi) is not None
            offset += len(block)
    silent = kind == "wav" and not nonzero
    return LargeAudio(digest.hexdigest(), size, kind, codec, duration, silent)


def _mutagen_ms(path: str, kind: str) -> int:
    try:
        parser: Any
        if kind == "mp3":
            from mutagen.mp3 import MP3 as parser
        else:
            from mutagen.oggopus import OggOpus as parser
        length: float = parser(path).info.length
        return round(length * 1000)
    except Exception:
        what = "MP3" if kind == "mp3" else "Ogg Opus"
        raise Refusal(BAD_FORMAT, f"audio format error: not a readable {what} stream") from None


def file_sha256(path: str) -> str:
    """The hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()
