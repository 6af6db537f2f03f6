"""Reading an answer body within bounds, for any transport (no HTTP library here).

A transport feeds the raw bytes it receives (still compressed) to an
:class:`AnswerBody`, which decodes gzip/deflate in bounded steps, counts the
answer against the request's ``max_answer_bytes`` *after* decompression, and
at the end checks the byte count against ``Content-Length``, so a cut-off body
is a retryable :class:`~volcspeech.errors.TransportError` whatever the HTTP
library. The ``requests`` transport (``_http``) and the ``httpx`` transport
(``_http_async``) share it, so both refuse the same answers with the same errors.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from . import errors
from ._messages import HttpRequest

__all__ = ["ACCEPT_ENCODING", "READ_CHUNK", "AnswerBody", "content_length", "deadline_passed"]

#: Encodings decoded here (bounded), and so the only ones a transport asks for.
ACCEPT_ENCODING = "gzip, deflate"
#: Bytes read from the socket per step.
READ_CHUNK = 64 * 1024


class _Decoder:
    """Decodes gzip/deflate in bounded steps, so a small bomb cannot fill memory."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_deflate = False
        self._obj: Any = self._new()

    def _new(self) -> Any:
        if self.encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> list[bytes]:
        """Decode ``data``; stops once more than ``room`` bytes came out."""
        out: list[bytes] = []
        produced = 0
        while data and produced <= room:
            try:
                chunk = self._obj.decompress(data, room - produced + 1)
            except zlib.error:
                if self.encoding == "deflate" and not self._raw_deflate and not out:
                    # Some servers send raw deflate without the zlib header.
                    self._raw_deflate = True
                    self._obj = self._new()
                    continue
                raise
            out.append(chunk)
            produced += len(chunk)
            data = self._obj.unconsumed_tail
            if not data and self._obj.eof and self._obj.unused_data:
                data = self._obj.unused_data  # a further gzip member
                self._obj = self._new()
        return out


def content_length(headers: Mapping[str, str]) -> int | None:
    """The announced body length, or ``None`` (chunked, absent or unreadable)."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        return None
    raw = headers.get("Content-Length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def deadline_passed(request: HttpRequest, log_id: str | None) -> errors.TimeoutError:
    """The error of an attempt cut at the call's deadline."""
    return errors.TimeoutError(
        "the call's deadline passed", request_id=request.request_id, log_id=log_id
    )


class AnswerBody:
    """One answer's body, read within the request's cap and checked for completeness.

    Args:
        request: the request answered (its cap, ids and log-id header).
        status: the answer's HTTP status.
        headers: the answer's headers (any case-insensitive mapping).

    Raises:
        ProtocolError: the answer's ``Content-Encoding`` is not one we decode.
    """

    def __init__(self, request: HttpRequest, status: int, headers: Mapping[str, str]) -> None:
        self._request = request
        self._status = status
        self.log_id = (
            (headers.get(request.log_id_header) or None) if request.log_id_header else None
        )
        self._cap = request.max_answer_bytes
        self._encoding = (headers.get("Content-Encoding") or "identity").strip().lower()
        self._decoder: _Decoder | None = None
        if self._encoding != "identity":
            if self._encoding not in ("gzip", "x-gzip", "deflate"):
                raise self._protocol(f"an answer in Content-Encoding {self._encoding!r}")
            self._decoder = _Decoder(self._encoding)
        #: The announced length (``None`` when chunked or absent).
        self.expected = content_length(headers)
        #: Bytes received so far (before decompression).
        self.received = 0
        self._produced = 0
        self._parts: list[bytes] = []

    def _protocol(self, what: str) -> errors.ProtocolError:
        return errors.ProtocolError(
            f"volcspeech does not read {what}",
            http_status=self._status,
            request_id=self._request.request_id,
            log_id=self.log_id,
        )

    def feed(self, data: bytes) -> None:
        """Add received bytes.

        Raises:
            ProtocolError: a corrupt compressed body, or more than the cap.
        """
        self.received += len(data)
        if self._decoder is None:
            chunks = [data]
        else:
            try:
                chunks = self._decoder.feed(data, self._cap - self._produced)
            except zlib.error:
                raise self._protocol(f"a corrupt {self._encoding} answer") from None
        for chunk in chunks:
            self._produced += len(chunk)
            self._parts.append(chunk)
        if self._produced > self._cap or self.received > self._cap:
            raise self._protocol(
                f"an answer larger than max_answer_bytes ({self._cap} bytes) "
                "(counted after decompression)"
            )

    def cut_off(self) -> errors.TransportError | None:
        """The error of a body shorter than its ``Content-Length``, or ``None``."""
        if self.expected is not None and self.received != self.expected:
            return errors.TransportError(
                f"the answer was cut off after {self.received} of {self.expected} bytes",
                request_id=self._request.request_id,
                log_id=self.log_id,
            )
        return None

    def finish(self) -> bytes:
        """The whole decoded body.

        Raises:
            TransportError: fewer (or more) bytes came than ``Content-Length`` said.
        """
        error = self.cut_off()
        if error is not None:
            raise error
        return b"".join(self._parts)
