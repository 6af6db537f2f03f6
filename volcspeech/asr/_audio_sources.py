"""Sources of inline audio: paths, bytes, file objects and spooled streams.

* a path (``str`` or ``os.PathLike``) is opened for each attempt, non-blocking
  and checked to still be a regular file (a FIFO put in its place is refused,
  never waited on);
* ``bytes`` / ``bytearray`` / ``memoryview`` are used in place (never copied);
* a seekable binary file object is read from its current position to its end
  and seeked back to that position for each attempt;
* a non-seekable binary stream (a pipe, a socket file, ``sys.stdin.buffer``)
  is first spooled into a :class:`tempfile.SpooledTemporaryFile` (memory up to
  :data:`SPOOL_MEMORY_BYTES`, a temporary file beyond that): its length must be
  known for ``Content-Length``, and once spooled it can be sent again on a retry;
* an ``http(s)://`` string is checked (:func:`check_audio_url`) and sent as
  ``audio.url``; it is never fetched.
"""

from __future__ import annotations

import io
import os
import stat as stat_module
import tempfile
import urllib.parse
from collections.abc import Iterator
from typing import IO, Any, Union

from ..errors import InvalidAudioError

__all__ = [
    "ALLOWED_URL_SCHEMES",
    "CHUNK_BYTES",
    "MAX_AUDIO_BYTES",
    "SPOOL_MEMORY_BYTES",
    "AudioInput",
    "AudioSource",
    "check_audio_url",
    "open_regular_file",
    "read_failure",
    "source_from_file",
    "source_from_path",
]

#: The largest audio the flash API takes: "100MB", read as 100 MiB (104 857 600 bytes).
MAX_AUDIO_BYTES = 100 * 1024 * 1024
#: Raw audio bytes encoded per body chunk: a multiple of 3, so the base64 of
#: consecutive chunks concatenates without padding; 3 MiB keeps the per-chunk
#: overhead negligible while the memory stays small (3 MiB in, 4 MiB out).
CHUNK_BYTES = 3 * 1024 * 1024
#: A non-seekable stream is spooled in memory up to this size, then to a temporary file.
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
#: URL schemes accepted for ``audio.url``.
ALLOWED_URL_SCHEMES = ("http", "https")

AudioInput = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]


def read_failure(description: str, exc: Exception) -> InvalidAudioError:
    """The error for a source whose reading failed: an ``OSError``, or anything a
    caller's file object raised (never let through bare)."""
    if isinstance(exc, OSError):
        detail = f"{type(exc).__name__}: {exc.strerror or exc}"
    else:
        detail = f"its read raised {type(exc).__name__}"
    return InvalidAudioError(f"could not read {description}: {detail}", field="audio")


def _limit_text() -> str:
    return f"100 MiB ({MAX_AUDIO_BYTES} bytes)"


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
        except InvalidAudioError:
            raise
        except Exception as exc:
            raise read_failure(self.description, exc) from (
                None if isinstance(exc, OSError) else exc
            )

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
    except Exception:  # a file object that cannot tell where it is: spooled instead
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
    except InvalidAudioError:
        spool.close()
        raise
    except Exception as exc:
        spool.close()
        raise read_failure(description, exc) from (None if isinstance(exc, OSError) else exc)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return _SpooledSource(spool, 0, size, description + ", spooled")


def source_from_file(fileobj: Any) -> AudioSource:
    description = _file_description(fileobj)
    if getattr(fileobj, "closed", False):
        raise InvalidAudioError(f"{description} is closed")
    if isinstance(fileobj, io.TextIOBase):
        raise InvalidAudioError(f"{description} is open in text mode; open it with 'rb'")
    try:
        probe = fileobj.read(0)
    except Exception as exc:
        raise read_failure(description, exc) from (None if isinstance(exc, OSError) else exc)
    if isinstance(probe, str):
        raise InvalidAudioError(f"{description} is open in text mode; open it with 'rb'")
    if probe is not None and not isinstance(probe, (bytes, bytearray, memoryview)):
        raise InvalidAudioError(
            f"{description}: read() returned {type(probe).__name__}, not bytes", field="audio"
        )
    if not _is_seekable(fileobj):
        return _spool(fileobj, description)
    try:
        start = fileobj.tell()
        end = fileobj.seek(0, io.SEEK_END)
        if end is None:  # some file-likes return None from seek()
            end = fileobj.tell()
        fileobj.seek(start)
    except Exception as exc:
        raise read_failure(description, exc) from (None if isinstance(exc, OSError) else exc)
    if not isinstance(start, int) or not isinstance(end, int):
        raise InvalidAudioError(f"{description}: tell()/seek() did not return positions")
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


def source_from_path(path: str) -> AudioSource:
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


def check_audio_url(url: str) -> str:
    """Return ``url`` if the service can be sent it as ``audio.url`` (it is never fetched here).

    Raises:
        InvalidAudioError: not ``http(s)``, no host, a malformed host or port,
            whitespace or control characters; the URL is not quoted (it may
            hold a presigned token).
    """
    try:
        parts = urllib.parse.urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise InvalidAudioError(f"audio URL is malformed ({exc})", field="audio") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_URL_SCHEMES:
        raise InvalidAudioError(
            f"unsupported audio URL scheme {scheme!r}; allowed: {', '.join(ALLOWED_URL_SCHEMES)}",
            field="audio",
        )
    if not parts.netloc or not hostname:
        raise InvalidAudioError("audio URL has no host", field="audio")
    if any(c.isspace() for c in url):
        raise InvalidAudioError("audio URL contains whitespace; percent-encode it", field="audio")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise InvalidAudioError("audio URL contains control characters", field="audio")
    return url
