"""Live-room transcripts: RTC audio segments recognized and merged per room and speaker.

``SegmentTranscriber`` takes the segments a ``StartSegment`` task announces
(as ``Segment`` objects or raw, verified callbacks), recognizes them
concurrently with an ``AsrClient``, and merges them into one time-ordered
``RoomTranscript`` per room: words shifted to room time, redundant overlaps
taken once, utterances cut by a segment edge joined back, failed segments
reported as gaps. A room is one segmentation task in one RTC room
(``RoomKey``); it is finished once — by ``finish_room``, an idle timeout or
``finish`` — and its state is then forgotten. Rooms live in a ``RoomStore``:
in memory (one process), SQLite (worker processes on one host) or Redis
(several hosts).
"""

from __future__ import annotations

from .._subtitles import join_text
from ._model import MIXED_USER, Gap, RoomKey, RoomTranscript, RoomUtterance, RoomWord
from ._moderation import ModerationMatch, Moderator
from ._recognize import AudioRef
from ._redis_store import RedisRoomStore
from ._resolvers import (
    BaseUrlResolver,
    S3PresignedResolver,
    TosPresignedResolver,
    base_url_resolver,
    s3_presigned_resolver,
    tos_presigned_resolver,
)
from ._sqlite_store import SQLiteRoomStore
from ._store import MemoryRoomStore, RoomState, RoomStore
from ._transcriber import SegmentTranscriber

__all__ = [
    "AudioRef",
    "BaseUrlResolver",
    "Gap",
    "MIXED_USER",
    "MemoryRoomStore",
    "ModerationMatch",
    "Moderator",
    "RedisRoomStore",
    "RoomKey",
    "RoomState",
    "RoomStore",
    "RoomTranscript",
    "RoomUtterance",
    "RoomWord",
    "S3PresignedResolver",
    "SQLiteRoomStore",
    "SegmentTranscriber",
    "TosPresignedResolver",
    "base_url_resolver",
    "join_text",
    "s3_presigned_resolver",
    "tos_presigned_resolver",
]

for _name in (
    "BaseUrlResolver",
    "Gap",
    "MemoryRoomStore",
    "ModerationMatch",
    "Moderator",
    "RedisRoomStore",
    "RoomKey",
    "RoomState",
    "RoomStore",
    "RoomTranscript",
    "RoomUtterance",
    "RoomWord",
    "S3PresignedResolver",
    "SQLiteRoomStore",
    "SegmentTranscriber",
    "TosPresignedResolver",
):
    globals()[_name].__module__ = __name__
