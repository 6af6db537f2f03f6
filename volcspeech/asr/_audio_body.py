"""The streamed JSON body of an inline recognition request.

:class:`StreamedBody` produces the request body chunk by chunk: the JSON
before the audio, the base64 of :data:`CHUNK_BYTES` of raw audio at a time,
the JSON after it. Neither the file, its base64 nor the JSON is ever held
whole in memory.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator

from ._audio_sources import CHUNK_BYTES, AudioSource

__all__ = ["StreamedBody", "base64_length"]


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
