"""Audio inputs of the flash API: what the caller passed, checked and streamed.

Every input becomes an :class:`AudioSource` (or a URL) before any traffic:

* a path (``str`` or ``os.PathLike``) is opened for each attempt;
* ``bytes`` / ``bytearray`` / ``memoryview`` are used in place (never copied);
* a seekable binary file object is read from its current position to its end
  and seeked back to that position for each attempt;
* a non-seekable binary stream (a pipe, a socket file, ``sys.stdin.buffer``)
  is first spooled into a :class:`tempfile.SpooledTemporaryFile` (memory up to
  :data:`SPOOL_MEMORY_BYTES`, a temporary file beyond that): its length must be
  known for ``Content-Length`` and the base64 length cannot be known without
  reading it, and once spooled it can be sent again on a retry like a file;
* an ``http(s)://`` string is sent as ``audio.url`` and never fetched.

The format is detected from the bytes (never the file name): WAV (``RIFF`` /
``WAVE``), MP3 (MPEG audio Layer III, with or without an ID3v2 tag) and Ogg
Opus. Only the head of the audio is read for this (:data:`SNIFF_BYTES`), plus
the chunk headers of a WAV and what ``mutagen`` needs for an MP3/Ogg duration
(its headers, and the last Ogg page).

The request body is produced chunk by chunk by :class:`StreamedBody`: the
JSON before the audio, the base64 of :data:`CHUNK_BYTES` of raw audio at a
time, the JSON after it. Neither the file, its base64 nor the JSON is ever
held whole in memory.
"""

from __future__ import annotations

import binascii
import io
import os
import re
import stat as stat_module
import struct
import tempfile
import urllib.parse
from collections.abc import Iterator
from typing import IO, Any, Union

import attrs

from ..errors import InvalidAudioError

__all__ = [
    "ALLOWED_URL_SCHEMES",
    "CHUNK_BYTES",
    "LARGE_INLINE_BYTES",
    "MAX_AUDIO_BYTES",
    "MAX_DURATION_MS",
    "SNIFF_BYTES",
    "SPOOL_MEMORY_BYTES",
    "AudioInfo",
    "AudioInput",
    "AudioSource",
    "LargeInlineAudioWarning",
    "PreparedAudio",
    "StreamedBody",
    "base64_length",
    "prepare_audio",
    "sniff",
]

#: The largest audio the flash API takes: "100MB", read as 100 MiB (104 857 600 bytes).
MAX_AUDIO_BYTES = 100 * 1024 * 1024
#: The longest audio the flash API takes: 2 hours.
MAX_DURATION_MS = 2 * 60 * 60 * 1000
#: Inline uploads above this size (20 MiB) trigger :class:`LargeInlineAudioWarning`.
LARGE_INLINE_BYTES = 20 * 1024 * 1024
#: Bytes read from the start of the audio to detect its format.
SNIFF_BYTES = 64 * 1024
#: Raw audio bytes encoded per body chunk: a multiple of 3, so the base64 of
#: consecutive chunks concatenates without padding; 3 MiB keeps the per-chunk
#: overhead negligible while the memory stays small (3 MiB in, 4 MiB out).
CHUNK_BYTES = 3 * 1024 * 1024
#: A non-seekable stream is spooled in memory up to this size, then to a temporary file.
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
#: URL schemes accepted for ``audio.url``.
ALLOWED_URL_SCHEMES = ("http", "https")

#: Defaults assumed only to estimate the duration of ``format="raw"`` PCM (never sent).
_RAW_DEFAULT_RATE = 16000
_RAW_DEFAULT_BITS = 16
_RAW_DEFAULT_CHANNELS = 1

AudioInput = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]

_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_MIB = 1024 * 1024


class LargeInlineAudioWarning(UserWarning):
    """Inline (base64) audio above 20 MiB: the vendor advises sending a URL instead.

    Emitted at most once per :class:`~volcspeech.asr.AsrClient`. Silence it with
    ``warnings.filterwarnings("ignore", category=LargeInlineAudioWarning)``.
    """


@attrs.frozen
class AudioInfo:
    """What the bytes of an audio input say about it.

    Attributes:
        format: ``"wav"``, ``"mp3"``, ``"ogg"`` or ``"raw"`` (the ``audio.format`` value).
        codec: ``"opus"`` for Ogg Opus, else ``None`` (the service default).
        size: the audio's length in bytes.
        duration_ms: the duration in milliseconds: exact for WAV, from
            ``mutagen`` for MP3/Ogg (``None`` when it cannot tell).
        sample_rate: samples per second, when the header says.
        channels: the channel count, when the header says.
        bits: bits per sample (WAV / raw only).
    """

    format: str
    codec: str | None
    size: int
    duration_ms: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bits: int | None = None


# --- readers ---------------------------------------------------------------------


class _Reader(io.RawIOBase):
    """A read-only, seekable reader of ``size`` bytes; subclasses fill ``readinto``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos


class _Window(_Reader):
    """A view of ``size`` bytes of the file ``raw``, starting at ``start``."""

    def __init__(self, raw: Any, start: int, size: int, *, owns: bool = False) -> None:
        super().__init__(size)
        self._raw = raw
        self._start = start
        self._owns = owns
        self._readinto = getattr(raw, "readinto", None)

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        self._raw.seek(self._start + self._pos)
        view = memoryview(buffer).cast("B")[:want]
        if self._readinto is not None:
            got = self._readinto(view) or 0
        else:
            data = self._raw.read(want)
            got = len(data)
            view[:got] = data
        self._pos += got
        return int(got)

    def close(self) -> None:
        if self._owns and not self.closed:
            self._raw.close()
        super().close()


class _MemoryReader(_Reader):
    """A reader over a byte buffer that does not copy it."""

    def __init__(self, view: memoryview) -> None:
        super().__init__(len(view))
        self._view = view

    def readinto(self, buffer: Any) -> int:
        chunk = self._view[self._pos : self._pos + len(buffer)]
        n = len(chunk)
        memoryview(buffer).cast("B")[:n] = chunk
        self._pos += n
        return n


# --- sources -----------------------------------------------------------------------


class AudioSource:
    """Inline audio that can be read from its start once per attempt.

    Attributes:
        size: the audio's length in bytes.
        description: how error messages name the input (a path or a kind, never content).
    """

    def __init__(self, size: int, description: str) -> None:
        self.size = size
        self.description = description

    def open(self) -> io.RawIOBase:
        """Return a fresh seekable reader of exactly the audio bytes, at position 0."""
        raise NotImplementedError

    def iter_chunks(self, chunk_size: int = CHUNK_BYTES) -> Iterator[Union[bytes, memoryview]]:
        """Yield the audio in blocks of ``chunk_size`` bytes (the last one may be shorter).

        Each block is only valid until the next one is requested: file sources
        reuse one buffer.

        Raises:
            InvalidAudioError: reading failed, or the source changed size.
        """
        buffer = bytearray(min(chunk_size, self.size))
        view = memoryview(buffer)
        left = self.size
        try:
            with self.open() as reader:
                while left > 0:
                    want = min(chunk_size, left)
                    filled = 0
                    while filled < want:
                        got = reader.readinto(view[filled:want])
                        if not got:
                            raise InvalidAudioError(
                                f"{self.description} ended after {self.size - left + filled} "
                                f"of {self.size} bytes while uploading (did it change?)"
                            )
                        filled += got
                    left -= filled
                    yield view[:filled]
        except OSError as exc:
            raise InvalidAudioError(
                f"could not read {self.description}: {type(exc).__name__}: {exc.strerror or exc}"
            ) from None

    def close(self) -> None:
        """Release what the source owns (a spooled copy); the caller's objects stay open."""


class _PathSource(AudioSource):
    def __init__(self, path: str, size: int) -> None:
        super().__init__(size, f"audio file {path!r}")
        self.path = path

    def open(self) -> io.RawIOBase:
        return _Window(open_regular_file(self.path, self.description), 0, self.size, owns=True)


class _BytesSource(AudioSource):
    def __init__(self, view: memoryview) -> None:
        super().__init__(len(view), "audio bytes")
        self.view = view

    def open(self) -> io.RawIOBase:
        return _MemoryReader(self.view)

    def iter_chunks(self, chunk_size: int = CHUNK_BYTES) -> Iterator[Union[bytes, memoryview]]:
        # Slices of the caller's buffer: no copy at all.
        for start in range(0, self.size, chunk_size):
            yield self.view[start : start + chunk_size]


class _FileSource(AudioSource):
    """A seekable file object, from ``start`` for ``size`` bytes."""

    def __init__(self, fileobj: Any, start: int, size: int, description: str) -> None:
        super().__init__(size, description)
        self.fileobj = fileobj
        self.start = start

    def open(self) -> io.RawIOBase:
        return _Window(self.fileobj, self.start, self.size)


class _SpooledSource(_FileSource):
    """A non-seekable stream copied into a spooled temporary file that this source owns."""

    def close(self) -> None:
        self.fileobj.close()


def _file_description(fileobj: Any) -> str:
    name = getattr(fileobj, "name", None)
    if isinstance(name, str):
        return f"audio file object {name!r}"
    return f"audio file object ({type(fileobj).__name__})"


def _is_seekable(fileobj: Any) -> bool:
    try:
        seekable = getattr(fileobj, "seekable", None)
        if seekable is not None and not seekable():
            return False
        fileobj.tell()
    except (OSError, AttributeError, ValueError):
        return False
    return True


def _spool(stream: Any, description: str) -> _SpooledSource:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115
    size = 0
    try:
        while True:
            data = stream.read(CHUNK_BYTES)
            if not data:
                break
            size += len(data)
            if size > MAX_AUDIO_BYTES:
                raise InvalidAudioError(
                    f"{description} is larger than {_limit_text()}; "
                    "the flash API accepts at most that much audio"
                )
            spool.write(data)
    except OSError as exc:
        spool.close()
        raise InvalidAudioError(
            f"could not read {description}: {type(exc).__name__}: {exc.strerror or exc}"
        ) from None
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return _SpooledSource(spool, 0, size, description + ", spooled")


def _source_from_file(fileobj: Any) -> AudioSource:
    description = _file_description(fileobj)
    if getattr(fileobj, "closed", False):
        raise InvalidAudioError(f"{description} is closed")
    if isinstance(fileobj, io.TextIOBase):
        raise InvalidAudioError(f"{description} is open in text mode; open it with 'rb'")
    try:
        probe = fileobj.read(0)
    except OSError as exc:
        raise InvalidAudioError(f"could not read {description}: {exc}") from None
    if isinstance(probe, str):
        raise InvalidAudioError(f"{description} is open in text mode; open it with 'rb'")
    if not _is_seekable(fileobj):
        return _spool(fileobj, description)
    try:
        start = fileobj.tell()
        end = fileobj.seek(0, io.SEEK_END)
        if end is None:  # some file-likes return None from seek()
            end = fileobj.tell()
        fileobj.seek(start)
    except OSError as exc:
        raise InvalidAudioError(f"could not read {description}: {exc}") from None
    return _FileSource(fileobj, start, max(0, end - start), description)


#: ``os.open`` flags: never block on a FIFO or a device put where the file was.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def open_regular_file(path: str, description: str) -> io.FileIO:
    """Open ``path`` for reading if it is a regular file, without ever blocking.

    The file is opened non-blocking and checked with ``fstat`` on the open
    descriptor, so a FIFO or a device swapped in for the file (between two
    attempts, say) is refused instead of blocking ``open()`` forever.

    Raises:
        InvalidAudioError: it cannot be opened or is not a regular file.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InvalidAudioError(f"could not open {description}: {reason}") from None
    try:
        if not stat_module.S_ISREG(os.fstat(fd).st_mode):
            raise InvalidAudioError(f"{description} is no longer a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def _source_from_path(path: str) -> AudioSource:
    if "\x00" in path:
        raise InvalidAudioError("audio path contains a NUL character", field="audio")
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise InvalidAudioError(
            f"no such file: {path!r} (a string is read as a local path unless it is an "
            f"{' or '.join(s + '://' for s in ALLOWED_URL_SCHEMES)} URL)"
        ) from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InvalidAudioError(f"could not open audio file {path!r}: {reason}") from None
    if not stat_module.S_ISREG(stat.st_mode):
        raise InvalidAudioError(f"audio path {path!r} is not a regular file")
    return _PathSource(path, stat.st_size)


def _check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_URL_SCHEMES:
        raise InvalidAudioError(
            f"unsupported audio URL scheme {scheme!r}; allowed: {', '.join(ALLOWED_URL_SCHEMES)}"
        )
    if not parts.netloc:
        raise InvalidAudioError("audio URL has no host")
    if any(c.isspace() for c in url):
        raise InvalidAudioError("audio URL contains whitespace; percent-encode it")
    return url


# --- format detection ---------------------------------------------------------------

_MP3_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
#: How far after an ID3 tag we look for the first MPEG frame (encoders pad with zeros).
_MP3_SYNC_SEARCH = 8192
_WAV_MAX_CHUNKS = 64
#: What the recognition docs allow in a WAV: 16-bit samples, 1 or 2 channels.
WAV_BITS = (16,)
WAV_CHANNELS = (1, 2)


def _read_at(reader: Any, offset: int, size: int) -> bytes:
    reader.seek(offset)
    data = reader.read(size)
    return bytes(data or b"")


def _limit_text() -> str:
    return f"100 MiB ({MAX_AUDIO_BYTES} bytes)"


def _format_ms(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _sniff_wav(reader: Any, head: bytes, size: int) -> AudioInfo:
    offset = 12
    fmt: tuple[int, ...] | None = None
    for _ in range(_WAV_MAX_CHUNKS):
        header = head[offset : offset + 8]
        if len(header) < 8:
            header = _read_at(reader, offset, 8)
        if len(header) < 8:
            break
        chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
        body = offset + 8
        if chunk_id == b"fmt ":
            raw = head[body : body + 16]
            if len(raw) < 16:
                raw = _read_at(reader, body, 16)
            if len(raw) < 16 or chunk_size < 16:
                raise InvalidAudioError("WAV audio has a truncated 'fmt ' chunk")
            fmt = struct.unpack("<HHIIHH", raw)
        elif chunk_id == b"data":
            if fmt is None:
                raise InvalidAudioError("WAV audio has its 'data' chunk before its 'fmt ' chunk")
            # Streamed WAVs write 0 or 0xFFFFFFFF here; the data then runs to the end.
            available = max(0, size - body)
            data_size = available if chunk_size in (0, 0xFFFFFFFF) else min(chunk_size, available)
            _, channels, rate, _, block_align, bits = fmt
            if rate <= 0 or block_align <= 0 or channels <= 0:
                raise InvalidAudioError(
                    f"WAV audio has an invalid 'fmt ' chunk (rate {rate}, channels {channels}, "
                    f"block align {block_align})"
                )
            if bits not in WAV_BITS or channels not in WAV_CHANNELS:
                raise InvalidAudioError(
                    f"WAV audio is {bits}-bit with {channels} channel(s) (its 'fmt ' chunk); "
                    "the flash API takes 16-bit samples and 1 or 2 channels: convert it first, "
                    "e.g. ffmpeg -i in.wav -ac 1 -sample_fmt s16 out.wav"
                )
            frames = data_size // block_align
            return AudioInfo(
                format="wav",
                codec=None,
                size=size,
                duration_ms=frames * 1000 // rate,
                sample_rate=rate,
                channels=channels,
                bits=bits,
            )
        offset = body + chunk_size + (chunk_size & 1)
    raise InvalidAudioError("WAV audio without a 'data' chunk (or 'fmt ' chunk)")


def _mp3_frame(header: bytes) -> tuple[int, int, int] | None:
    """Parse an MPEG Layer III frame header: (frame length or 0 if free, rate, channels)."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 3
    layer = (header[1] >> 1) & 3
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate_index == 15 or rate_index == 3:
        return None
    rate = _MP3_RATES[version][rate_index]
    bitrate = _MP3_BITRATES[1 if version == 3 else 2][bitrate_index] * 1000
    padding = (header[2] >> 1) & 1
    coefficient = 144 if version == 3 else 72
    length = coefficient * bitrate // rate + padding if bitrate else 0
    channels = 1 if header[3] >> 6 == 3 else 2
    return length, rate, channels


def _id3_size(head: bytes) -> int:
    flags = head[5]
    b = head[6:10]
    size = (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]
    return 10 + size + (10 if flags & 0x10 else 0)


def _sniff_mp3(reader: Any, head: bytes, size: int) -> AudioInfo | None:
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        tag_end = _id3_size(head)
        window = head[tag_end : tag_end + _MP3_SYNC_SEARCH]
        if len(window) < 4:
            window = _read_at(reader, tag_end, _MP3_SYNC_SEARCH)
        sync = next((i for i in range(len(window) - 3) if _mp3_frame(window[i : i + 4])), None)
        if sync is None:
            return None
        start = tag_end + sync
    first = _mp3_frame(_read_at(reader, start, 4) if start + 4 > len(head) else head[start:])
    if first is None:
        return None
    length, rate, channels = first
    following = start + length
    # One sync pattern can be chance: require the next frame too, unless the
    # first frame ends the file (or has a free bitrate we cannot follow).
    if length and following < size:
        if following + 4 <= len(head):
            nxt = head[following : following + 4]
        else:
            nxt = _read_at(reader, following, 4)
        if len(nxt) == 4 and _mp3_frame(nxt) is None:
            return None
    return AudioInfo(
        format="mp3",
        codec=None,
        size=size,
        duration_ms=_mutagen_duration(reader, "mp3"),
        sample_rate=rate,
        channels=channels,
    )


def _sniff_ogg(reader: Any, head: bytes, size: int) -> AudioInfo:
    segments = head[26] if len(head) > 26 else 0
    packet = head[27 + segments : 27 + segments + 19]
    if packet.startswith(b"OpusHead") and len(packet) >= 16:
        channels = packet[9]
        rate = struct.unpack("<I", packet[12:16])[0]
        return AudioInfo(
            format="ogg",
            codec="opus",
            size=size,
            duration_ms=_mutagen_duration(reader, "ogg"),
            sample_rate=rate or None,
            channels=channels,
        )
    for magic, name in ((b"\x01vorbis", "Ogg Vorbis"), (b"\x7fFLAC", "Ogg FLAC")):
        if packet.startswith(magic):
            raise InvalidAudioError(
                f"audio is {name}; the flash API accepts WAV, MP3 and Ogg *Opus* only"
            )
    raise InvalidAudioError(
        "audio is an Ogg stream without Opus; the flash API accepts WAV, MP3 and Ogg Opus"
    )


def _mutagen_duration(reader: Any, kind: str) -> int | None:
    """Best-effort duration from the headers via mutagen (``None`` if it cannot tell)."""
    try:
        parser: Any
        if kind == "mp3":
            from mutagen.mp3 import MP3 as parser
        else:
            from mutagen.oggopus import OggOpus as parser
        reader.seek(0)
        length = parser(reader).info.length
    except Exception:  # mutagen raises many types on odd files; the duration is optional
        return None
    if not isinstance(length, (int, float)) or length != length or length < 0:
        return None
    return round(length * 1000)


_KNOWN_OTHER = (
    (b"fLaC", 0, "FLAC"),
    (b"ftyp", 4, "MP4/M4A"),
    (b"#!AMR", 0, "AMR"),
    (b"\x1a\x45\xdf\xa3", 0, "Matroska/WebM"),
    (b"FORM", 0, "AIFF"),
    (b"RIFF", 0, "a RIFF file that is not WAVE"),
)


def _describe_unknown(head: bytes) -> str:
    for magic, offset, name in _KNOWN_OTHER:
        if head[offset : offset + len(magic)] == magic:
            return name
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "AAC (ADTS)"
    if _mp3_frame(head[:4]) is not None:
        return "an MPEG frame header not followed by another frame"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "MPEG audio that is not Layer III"
    return f"unrecognized data starting with 0x{head[:8].hex()}"


def sniff(reader: Any, size: int) -> AudioInfo:
    """Detect the format of audio from its bytes.

    Args:
        reader: a seekable binary reader of the audio, from its first byte.
        size: the audio's length in bytes.

    Returns:
        The detected format, with duration and parameters when the headers give them.

    Raises:
        InvalidAudioError: the bytes are not WAV, MP3 or Ogg Opus; the message
            names what was found.
    """
    reader.seek(0)
    head = bytes(reader.read(SNIFF_BYTES) or b"")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _sniff_wav(reader, head, size)
    if head[:4] == b"OggS":
        return _sniff_ogg(reader, head, size)
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF):
        info = _sniff_mp3(reader, head, size)
        if info is not None:
            return info
    raise InvalidAudioError(
        f"audio format not supported: found {_describe_unknown(head)}; "
        "the flash API accepts WAV, MP3 and Ogg Opus"
    )


# --- preparation ---------------------------------------------------------------------


@attrs.frozen
class PreparedAudio:
    """Checked audio, ready to be put in a request.

    Attributes:
        fields: the ``audio`` JSON object without ``data`` (``url``, ``format``, ...).
        source: the inline audio, or ``None`` for a URL.
        info: what the bytes said (``None`` for a URL).
    """

    fields: dict[str, Any]
    source: AudioSource | None = None
    info: AudioInfo | None = None


def _source_from_input(audio: Any) -> AudioSource | str:
    """A source for inline audio, or the URL string."""
    if isinstance(audio, str):
        if _URL_LIKE.match(audio):
            return _check_url(audio)
        return _source_from_path(audio)
    if isinstance(audio, os.PathLike):
        path = os.fspath(audio)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return _source_from_path(path)
    if isinstance(audio, (bytes, bytearray, memoryview)):
        view = memoryview(audio)
        if not view.c_contiguous:
            view = memoryview(view.tobytes())
        return _BytesSource(view.cast("B") if view.format != "B" or view.ndim != 1 else view)
    if hasattr(audio, "read"):
        return _source_from_file(audio)
    raise InvalidAudioError(
        f"unsupported audio input of type {type(audio).__name__}: pass a path, bytes, "
        "a binary file object or an http(s):// URL string"
    )


def _raw_info(size: int, fields: dict[str, Any]) -> AudioInfo:
    rate = fields.get("rate") or _RAW_DEFAULT_RATE
    bits = fields.get("bits") or _RAW_DEFAULT_BITS
    channels = fields.get("channel") or _RAW_DEFAULT_CHANNELS
    frame = channels * bits // 8
    return AudioInfo(
        format="raw",
        codec=fields.get("codec"),
        size=size,
        duration_ms=(size // frame) * 1000 // rate,
        sample_rate=rate,
        channels=channels,
        bits=bits,
    )


def _check_limits(info: AudioInfo, description: str) -> None:
    if info.size > MAX_AUDIO_BYTES:
        raise InvalidAudioError(
            f"{description} is {info.size} bytes ({info.size / _MIB:.1f} MiB); the flash API "
            f"accepts at most {_limit_text()}"
        )
    if info.duration_ms is not None and info.duration_ms > MAX_DURATION_MS:
        raise InvalidAudioError(
            f"{description} is {_format_ms(info.duration_ms)} long ({info.duration_ms} ms, "
            f"{info.format}); the flash API accepts at most 2 h: use the standard "
            "recorded-file API for longer audio"
        )


def _merge_format(fields: dict[str, Any], info: AudioInfo, description: str) -> None:
    given_format = fields.get("format")
    if given_format is not None and given_format != info.format:
        raise InvalidAudioError(
            f"options say format={given_format!r} but {description} is {info.format.upper()} "
            "(detected from its bytes); leave format unset to have it filled in"
        )
    given_codec = fields.get("codec")
    if given_codec is not None and info.codec is not None and given_codec != info.codec:
        raise InvalidAudioError(
            f"options say codec={given_codec!r} but {description} is {info.codec}"
        )
    if given_codec == "opus" and info.codec is None:
        raise InvalidAudioError(
            f"options say codec='opus' but {description} is {info.format.upper()}, not Opus"
        )
    fields.setdefault("format", info.format)
    if info.codec is not None:
        fields.setdefault("codec", info.codec)


def prepare_audio(audio: Any, audio_fields: dict[str, Any]) -> PreparedAudio:
    """Check an audio input and fill ``audio.format``/``codec`` from its bytes.

    Args:
        audio: a path, bytes-like object, binary file object or http(s) URL string.
        audio_fields: the ``audio`` options the caller set (``format``, ``codec``,
            ``rate``, ...); not modified.

    Returns:
        The prepared audio. The caller must :meth:`AudioSource.close` its source.

    Raises:
        InvalidAudioError: the input cannot be sent (kind, scheme, missing file,
            text mode, empty, format, size, duration).
    """
    fields = dict(audio_fields)
    source = _source_from_input(audio)
    if isinstance(source, str):
        fields["url"] = source
        return PreparedAudio(fields=fields)
    try:
        if source.size == 0:
            raise InvalidAudioError(f"{source.description} is empty (0 bytes)")
        if source.size > MAX_AUDIO_BYTES:
            _check_limits(AudioInfo(format="?", codec=None, size=source.size), source.description)
        if fields.get("format") == "raw":
            # Headerless PCM: nothing to sniff; the duration uses the declared
            # (or documented default) rate, bits and channels.
            info = _raw_info(source.size, fields)
        else:
            try:
                with source.open() as reader:
                    info = sniff(reader, source.size)
            except OSError as exc:
                raise InvalidAudioError(f"could not read {source.description}: {exc}") from None
            _merge_format(fields, info, source.description)
        _check_limits(info, source.description)
    except BaseException:
        source.close()
        raise
    return PreparedAudio(fields=fields, source=source, info=info)


# --- the streamed body ---------------------------------------------------------------


def base64_length(size: int) -> int:
    """Length of the padded base64 encoding of ``size`` bytes."""
    return 4 * ((size + 2) // 3)


class StreamedBody:
    """A JSON request body with the base64 audio produced chunk by chunk.

    It has ``__len__`` (so ``requests`` sends ``Content-Length`` instead of
    chunked encoding) and ``__iter__`` (so the body is produced while it is
    sent). Each iteration reads the source from its start, so one body object
    per attempt gives a complete body every time.

    Args:
        prefix: the JSON up to and including the opening quote of ``audio.data``.
        source: the audio.
        suffix: the JSON from the closing quote of ``audio.data`` to the end.
    """

    def __init__(self, prefix: bytes, source: AudioSource, suffix: bytes) -> None:
        self._prefix = prefix
        self._source = source
        self._suffix = suffix

    def __len__(self) -> int:
        return len(self._prefix) + base64_length(self._source.size) + len(self._suffix)

    def __iter__(self) -> Iterator[bytes]:
        yield self._prefix
        encode = binascii.b2a_base64
        for chunk in self._source.iter_chunks(CHUNK_BYTES):
            yield encode(chunk, newline=False)
        yield self._suffix

    def __repr__(self) -> str:
        return f"<StreamedBody {len(self)} bytes from {self._source.description}>"
