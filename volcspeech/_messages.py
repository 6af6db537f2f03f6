"""The values that cross the transport seam: :class:`HttpRequest` and :class:`HttpResponse`.

A service builds an :class:`HttpRequest` (a pure function of its inputs), a
transport turns it into an :class:`HttpResponse`, and the service reads that
into a typed result or a typed error. Nothing here imports an HTTP library,
so the same builders and readers serve ``requests``, ``httpx`` and
``volcspeech.testing.MockTransport``.

Besides the wire parts (method, URL, headers, body) a request carries what a
transport needs to send it well: per-attempt :class:`Timeout`, an absolute
``deadline`` (``time.monotonic()``) no attempt may outlive, the largest answer
it may read, and the ids a transport error should carry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Callable, Union

import attrs

from . import errors

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_ANSWER_BYTES",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "Headers",
    "HttpRequest",
    "HttpResponse",
    "StreamBody",
    "Timeout",
]

#: Seconds to wait for a TCP/TLS connection.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Seconds to wait between bytes of the answer (recognition of long audio is slow).
DEFAULT_READ_TIMEOUT = 120.0
#: The largest answer body read, counted after decompression (32 MiB).
DEFAULT_MAX_ANSWER_BYTES = 32 * 1024 * 1024


def _positive_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value > 0
        and value != float("inf")
    )


@attrs.frozen
class Timeout:
    """Connect and read timeouts of one attempt, in seconds; neither may be ``None``."""

    connect: float = attrs.field(default=DEFAULT_CONNECT_TIMEOUT)
    read: float = attrs.field(default=DEFAULT_READ_TIMEOUT)

    @connect.validator
    @read.validator
    def _positive(self, attribute: attrs.Attribute[float], value: float) -> None:
        if not _positive_number(value):
            raise errors.ConfigurationError(
                f"timeout.{attribute.name} must be a positive number of seconds, got {value!r}"
            )

    @classmethod
    def coerce(cls, value: Union[Timeout, float, tuple[float, float], None]) -> Timeout:
        """Accept a :class:`Timeout`, one number (both) or a ``(connect, read)`` pair."""
        if value is None:
            return DEFAULT_TIMEOUT
        if isinstance(value, Timeout):
            return value
        if isinstance(value, tuple):
            if len(value) != 2:
                raise errors.ConfigurationError("timeout pair must be (connect, read)")
            return cls(value[0], value[1])
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise errors.ConfigurationError(f"timeout must be a number or a pair, got {value!r}")
        return cls(float(value), float(value))


DEFAULT_TIMEOUT = Timeout()


class Headers(Mapping[str, str]):
    """An immutable, case-insensitive mapping of header names to ``str`` values.

    Names keep the spelling they were given; lookups ignore case. Values of an
    answer are the bytes on the wire decoded as Latin-1 (what HTTP libraries do).
    """

    __slots__ = ("_items",)

    def __init__(self, items: Union[Mapping[str, str], Iterable[tuple[str, str]], None] = None):
        pairs = items.items() if isinstance(items, Mapping) else (items or ())
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            self._items[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return {k.lower(): v for k, v in self.items()} == {
            str(k).lower(): v for k, v in other.items()
        }

    def __hash__(self) -> int:
        return hash(frozenset((k.lower(), v) for k, v in self.items()))

    def __repr__(self) -> str:
        from ._log import redact

        return redact(f"Headers({dict(self.items())!r})")

    def merged(self, extra: Mapping[str, str]) -> Headers:
        """A copy with ``extra`` added (replacing same-named headers)."""
        return Headers([*self.items(), *extra.items()])


def _headers(value: Union[Mapping[str, str], Iterable[tuple[str, str]], None]) -> Headers:
    return value if isinstance(value, Headers) else Headers(value)


class StreamBody:
    """A request body produced chunk by chunk, that can be sent again for each attempt.

    Args:
        length: the exact number of bytes every iteration yields (sent as
            ``Content-Length``, so no chunked encoding).
        chunks: returns a fresh iterable of the body's chunks each time it is called.
        description: what it streams, for ``repr`` (never the content).
    """

    def __init__(
        self, length: int, chunks: Callable[[], Iterable[bytes]], description: str = "a stream"
    ) -> None:
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise errors.ConfigurationError(f"length must be an int >= 0, got {length!r}")
        self.length = length
        self._chunks = chunks
        self._description = description

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks())

    def read_all(self) -> bytes:
        """The whole body at once (for tests and small bodies)."""
        return b"".join(self)

    def __repr__(self) -> str:
        return f"<StreamBody {self.length} bytes from {self._description}>"


Body = Union[bytes, StreamBody]


def _body(value: Any) -> Body:
    if value is None:
        return b""
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (bytes, StreamBody)):
        return value
    raise errors.ConfigurationError(
        f"an HttpRequest body is bytes or a StreamBody, got {type(value).__name__}"
    )


@attrs.frozen
class HttpRequest:
    """One HTTP request, as a value: built by a pure per-operation builder.

    Attributes:
        method: ``GET``, ``POST``...
        url: the full URL, query included.
        headers: the headers (case-insensitive :class:`Headers`).
        body: ``bytes`` or a re-iterable :class:`StreamBody` with an exact length.
        timeout: this attempt's connect and read timeouts.
        deadline: an absolute ``time.monotonic()`` value this attempt must
            not outlive (connect, upload, headers and body together), or ``None``.
        max_answer_bytes: the largest answer body a transport reads, counted
            after decompression; a larger one is a ``ProtocolError``.
        request_id: the caller's id of the call, for errors and log lines.
        log_id_header: the answer header holding the server's log id (a
            service setting, e.g. ``X-Tt-Logid``), copied onto transport errors.
    """

    method: str
    url: str
    headers: Headers = attrs.field(factory=Headers, converter=_headers)
    body: Body = attrs.field(default=b"", converter=_body, repr=False)
    timeout: Timeout = DEFAULT_TIMEOUT
    deadline: float | None = None
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    request_id: str | None = None
    log_id_header: str | None = None

    @property
    def content_length(self) -> int:
        """The body's length in bytes."""
        return len(self.body)

    def read_body(self) -> bytes:
        """The whole body as bytes (a stream body is produced once more)."""
        return self.body if isinstance(self.body, bytes) else self.body.read_all()


@attrs.frozen
class HttpResponse:
    """One HTTP answer, as a value: what a reader turns into a result or an error.

    Attributes:
        status: the HTTP status code.
        headers: the headers (case-insensitive :class:`Headers`).
        body: the whole body, decompressed.
        elapsed: seconds from sending to the last byte, if the transport measured it.
    """

    status: int
    headers: Headers = attrs.field(factory=Headers, converter=_headers)
    body: bytes = attrs.field(default=b"", repr=False)
    elapsed: float | None = attrs.field(default=None, eq=False)

    def header(self, name: str | None) -> str | None:
        """A header's value, or ``None`` when absent, empty or ``name`` is ``None``."""
        if name is None:
            return None
        return self.headers.get(name) or None
