"""``SQLiteRoomStore``: rooms in one SQLite file, shared by worker processes on one host."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Optional, Union

from ..errors import ConfigurationError
from ._model import RoomKey
from ._settings import check_seconds
from ._store import DEFAULT_FINISHED_TTL, RoomState, check_retention

__all__ = ["SQLiteRoomStore"]

#: How long a connection waits for another process's write lock (seconds).
DEFAULT_BUSY_TIMEOUT = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    app TEXT NOT NULL, room TEXT NOT NULL, task TEXT NOT NULL,
    touched REAL NOT NULL,
    accepted INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    closing INTEGER NOT NULL DEFAULT 0,
    finished INTEGER NOT NULL DEFAULT 0,
    finished_at REAL,
    PRIMARY KEY (app, room, task)
);
CREATE INDEX IF NOT EXISTS rooms_open ON rooms (finished, touched);
CREATE TABLE IF NOT EXISTS segments (
    app TEXT NOT NULL, room TEXT NOT NULL, task TEXT NOT NULL, seg TEXT NOT NULL,
    segment TEXT NOT NULL,
    result TEXT,
    PRIMARY KEY (app, room, task, seg)
);
"""


class SQLiteRoomStore:
    """Rooms in a SQLite database file (stdlib ``sqlite3``, WAL mode).

    Safe for several processes on one host (e.g. ``uvicorn --workers 4``):
    every change is one ``BEGIN IMMEDIATE`` transaction, so a segment is
    accepted once and a room is claimed once. Not for network file systems;
    use :class:`RedisRoomStore` across hosts. A finished room's segments and
    results are deleted at once; its finished mark stays ``finished_ttl``
    seconds so late re-deliveries are ignored.

    Args:
        path: the database file (created with its tables when missing).
        finished_ttl: how long finished rooms are remembered (seconds).
        busy_timeout: how long to wait for another process's write (seconds).

    Raises:
        ConfigurationError: ``":memory:"`` (not shared: use :class:`MemoryRoomStore`),
            an unusable path or a setting out of range.
    """

    shared = True

    def __init__(
        self,
        path: Union[str, os.PathLike[str]],
        *,
        finished_ttl: float = DEFAULT_FINISHED_TTL,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise ConfigurationError("path must be a database file path")
        if os.fspath(path) == ":memory:":
            raise ConfigurationError(
                "path ':memory:' is not shared between processes; use MemoryRoomStore"
            )
        check_retention(finished_ttl)
        check_seconds("busy_timeout", busy_timeout, allow_zero=False)
        self.path = os.fspath(path)
        self.finished_ttl = float(finished_ttl)
        self.busy_timeout = float(busy_timeout)
        self._local = threading.local()
        try:
            self._db()  # creates the tables
        except sqlite3.Error as exc:
            raise ConfigurationError(f"path: cannot open the SQLite database: {exc}") from None

    def __repr__(self) -> str:
        return f"SQLiteRoomStore({self.path!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "ttl": self.finished_ttl, "busy": self.busy_timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], finished_ttl=state["ttl"], busy_timeout=state["busy"])  # type: ignore[misc]

    def _db(self) -> sqlite3.Connection:
        db: Optional[sqlite3.Connection] = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=True
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            self._local.db = db
            self._local.pid = os.getpid()
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def add_segment(
        self, key: RoomKey, segment_id: str, segment: Mapping[str, Any], now: float
    ) -> bool:
        """Record a verified segment; ``False`` if it is known or the room is finished."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO rooms (app, room, task, touched) VALUES (?, ?, ?, ?)",
                (*key, now),
            )
            (finished,) = db.execute(
                "SELECT finished FROM rooms WHERE app=? AND room=? AND task=?", key
            ).fetchone()
            if finished:
                return False
            added = db.execute(
                "INSERT OR IGNORE INTO segments (app, room, task, seg, segment) "
                "VALUES (?, ?, ?, ?, ?)",
                (*key, segment_id, json.dumps(dict(segment))),
            ).rowcount
            if not added:
                return False
            db.execute(
                "UPDATE rooms SET accepted = accepted + 1, touched = max(touched, ?) "
                "WHERE app=? AND room=? AND task=?",
                (now, *key),
            )
            return True

    def forget_segment(self, key: RoomKey, segment_id: str) -> None:
        """Undo :meth:`add_segment` for a segment that could not be queued."""
        with self._write() as db:
            row = db.execute(
                "SELECT result IS NOT NULL FROM segments "
                "WHERE app=? AND room=? AND task=? AND seg=?",
                (*key, segment_id),
            ).fetchone()
            if row is None:
                return
            db.execute(
                "DELETE FROM segments WHERE app=? AND room=? AND task=? AND seg=?",
                (*key, segment_id),
            )
            db.execute(
                "UPDATE rooms SET accepted = accepted - 1, done = done - ? "
                "WHERE app=? AND room=? AND task=?",
                (int(row[0]), *key),
            )

    def add_result(
        self, key: RoomKey, segment_id: str, result: Mapping[str, Any], now: float
    ) -> bool:
        """Record a segment's result; ``False`` if the room is finished or unknown."""
        with self._write() as db:
            row = db.execute(
                "SELECT finished FROM rooms WHERE app=? AND room=? AND task=?", key
            ).fetchone()
            if row is None or row[0]:
                return False
            updated = db.execute(
                "UPDATE segments SET result=? WHERE app=? AND room=? AND task=? AND seg=? "
                "AND result IS NULL",
                (json.dumps(dict(result)), *key, segment_id),
            ).rowcount
            if not updated:
                return False
            db.execute(
                "UPDATE rooms SET done = done + 1, touched = max(touched, ?) "
                "WHERE app=? AND room=? AND task=?",
                (now, *key),
            )
            return True

    def state(self, key: RoomKey) -> Optional[RoomState]:
        """The room's counters and flags, or ``None`` for an unknown room."""
        row = (
            self._db()
            .execute(
                "SELECT accepted, done, touched, closing, finished FROM rooms "
                "WHERE app=? AND room=? AND task=?",
                key,
            )
            .fetchone()
        )
        if row is None:
            return None
        return RoomState(int(row[0]), int(row[1]), float(row[2]), bool(row[3]), bool(row[4]))

    def results(self, key: RoomKey) -> list[dict[str, Any]]:
        """Every result recorded for the room (any order)."""
        rows = (
            self._db()
            .execute(
                "SELECT result FROM segments WHERE app=? AND room=? AND task=? "
                "AND result IS NOT NULL",
                key,
            )
            .fetchall()
        )
        return [json.loads(r[0]) for r in rows]

    def request_finish(self, key: RoomKey) -> None:
        """Mark the room closing: whoever completes its last segment finishes it."""
        with self._write() as db:
            db.execute("UPDATE rooms SET closing=1 WHERE app=? AND room=? AND task=?", key)

    def claim(self, key: RoomKey, now: float) -> bool:
        """Mark the room finished; ``True`` for exactly one caller, ever."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO rooms (app, room, task, touched) VALUES (?, ?, ?, ?)",
                (*key, now),
            )
            return bool(
                db.execute(
                    "UPDATE rooms SET finished=1, finished_at=? "
                    "WHERE app=? AND room=? AND task=? AND finished=0",
                    (now, *key),
                ).rowcount
            )

    def purge(self, key: RoomKey, now: float) -> None:
        """Forget a finished room's segments and results (its finished mark stays a while)."""
        with self._write() as db:
            db.execute("DELETE FROM segments WHERE app=? AND room=? AND task=?", key)
            db.execute(
                "DELETE FROM rooms WHERE finished=1 AND finished_at < ?",
                (now - self.finished_ttl,),
            )

    def drop(self, key: RoomKey, now: float) -> None:
        """Forget the room without a transcript; later deliveries are ignored a while."""
        self.claim(key, now)
        self.purge(key, now)

    def idle_rooms(self, before: float) -> list[RoomKey]:
        """Unfinished rooms nothing touched since ``before`` (epoch s)."""
        rows = (
            self._db()
            .execute(
                "SELECT app, room, task FROM rooms WHERE finished=0 AND touched < ?", (before,)
            )
            .fetchall()
        )
        return [RoomKey(*r) for r in rows]

    def rooms(self) -> list[RoomKey]:
        """Every unfinished room."""
        rows = self._db().execute("SELECT app, room, task FROM rooms WHERE finished=0").fetchall()
        return [RoomKey(*r) for r in rows]
