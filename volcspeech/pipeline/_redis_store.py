"""``RedisRoomStore``: rooms in Redis, shared by workers on several hosts."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any, Optional

from ..errors import ConfigurationError
from ._model import RoomKey
from ._store import DEFAULT_FINISHED_TTL, RoomState, check_retention

__all__ = ["RedisRoomStore"]

DEFAULT_PREFIX = "volcspeech"

# Each change is one Lua script, so it is atomic on the server.
# KEYS: room hash, segments hash, results hash, open-rooms sorted set. ARGV vary.
_ADD_SEGMENT = """
if redis.call('HGET', KEYS[1], 'finished') == '1' then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'accepted', 1)
local touched = tonumber(redis.call('HGET', KEYS[1], 'touched') or '0')
local now = tonumber(ARGV[3])
if now > touched then touched = now end
redis.call('HSET', KEYS[1], 'touched', tostring(touched))
redis.call('ZADD', KEYS[4], touched, ARGV[4])
return 1
"""
_FORGET_SEGMENT = """
if redis.call('HDEL', KEYS[2], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'accepted', -1)
  if redis.call('HDEL', KEYS[3], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'done', -1) end
end
return 1
"""
_ADD_RESULT = """
if redis.call('HGET', KEYS[1], 'finished') == '1' then return 0 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'done', 1)
local touched = tonumber(redis.call('HGET', KEYS[1], 'touched') or '0')
local now = tonumber(ARGV[3])
if now > touched then touched = now end
redis.call('HSET', KEYS[1], 'touched', tostring(touched))
redis.call('ZADD', KEYS[4], touched, ARGV[4])
return 1
"""
_CLAIM = """
if redis.call('HGET', KEYS[1], 'finished') == '1' then return 0 end
redis.call('HSET', KEYS[1], 'finished', '1', 'finished_at', ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
_REQUEST_FINISH = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'closing', '1') end
return 1
"""


class RedisRoomStore:
    """Rooms in Redis (the ``redis`` client, ``pip install 'volcspeech[redis]'``).

    For workers on several hosts. Every change is one Lua script, atomic on
    the server, so a segment is accepted once and a room claimed once. A
    finished room's segments and results are deleted at once; its finished
    mark expires after ``finished_ttl`` seconds.

    Args:
        url: a ``redis://`` / ``rediss://`` / ``unix://`` URL (with the
            password in it, if any), or give ``client``.
        client: a ready ``redis.Redis`` client instead of ``url``.
        prefix: the prefix of every key volcspeech writes.
        finished_ttl: how long finished rooms are remembered (seconds).

    Raises:
        ConfigurationError: ``redis`` is not installed, neither or both of
            ``url`` and ``client`` are given, or a setting is out of range.
    """

    shared = True

    def __init__(
        self,
        url: Optional[str] = None,
        *,
        client: Any = None,
        prefix: str = DEFAULT_PREFIX,
        finished_ttl: float = DEFAULT_FINISHED_TTL,
    ) -> None:
        try:
            import redis
        except ImportError as exc:
            raise ConfigurationError(
                "RedisRoomStore needs the redis package: pip install 'volcspeech[redis]'"
            ) from exc
        if (url is None) == (client is None):
            raise ConfigurationError("RedisRoomStore needs url= or client= (one of them)")
        if not isinstance(prefix, str) or not prefix:
            raise ConfigurationError("prefix must be a non-empty string")
        check_retention(finished_ttl)
        if url is not None:
            if not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in (
                "redis",
                "rediss",
                "unix",
            ):
                raise ConfigurationError("url must be a redis://, rediss:// or unix:// URL")
            client = redis.Redis.from_url(url)
        self.url = url
        self.prefix = prefix
        self.finished_ttl = float(finished_ttl)
        self._redis = client
        self._add_segment = client.register_script(_ADD_SEGMENT)
        self._forget_segment = client.register_script(_FORGET_SEGMENT)
        self._add_result = client.register_script(_ADD_RESULT)
        self._claim = client.register_script(_CLAIM)
        self._request_finish = client.register_script(_REQUEST_FINISH)

    def __repr__(self) -> str:
        return f"RedisRoomStore(prefix={self.prefix!r})"

    def __getstate__(self) -> dict[str, Any]:
        if self.url is None or urllib.parse.urlsplit(self.url).password:
            raise ConfigurationError(
                "a RedisRoomStore given a client or a URL with a password does not pickle (a "
                "secret never travels in a pickle); build the store in each worker"
            )
        return {"url": self.url, "prefix": self.prefix, "ttl": self.finished_ttl}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], prefix=state["prefix"], finished_ttl=state["ttl"])  # type: ignore[misc]

    def _id(self, key: RoomKey) -> str:
        return json.dumps(list(key))

    def _keys(self, key: RoomKey) -> list[str]:
        rid = self._id(key)
        p = self.prefix
        return [f"{p}:room:{rid}", f"{p}:seg:{rid}", f"{p}:res:{rid}", f"{p}:open"]

    def add_segment(
        self, key: RoomKey, segment_id: str, segment: Mapping[str, Any], now: float
    ) -> bool:
        """Record a verified segment; ``False`` if it is known or the room is finished."""
        args = [segment_id, json.dumps(dict(segment)), repr(float(now)), self._id(key)]
        return bool(self._add_segment(keys=self._keys(key), args=args))

    def forget_segment(self, key: RoomKey, segment_id: str) -> None:
        """Undo :meth:`add_segment` for a segment that could not be queued."""
        self._forget_segment(keys=self._keys(key), args=[segment_id])

    def add_result(
        self, key: RoomKey, segment_id: str, result: Mapping[str, Any], now: float
    ) -> bool:
        """Record a segment's result; ``False`` if the room is finished or unknown."""
        args = [segment_id, json.dumps(dict(result)), repr(float(now)), self._id(key)]
        return bool(self._add_result(keys=self._keys(key), args=args))

    def state(self, key: RoomKey) -> Optional[RoomState]:
        """The room's counters and flags, or ``None`` for an unknown room."""
        raw = self._redis.hgetall(self._keys(key)[0])
        if not raw:
            return None
        h = {k.decode(): v.decode() for k, v in raw.items()}
        return RoomState(
            int(h.get("accepted", 0)),
            int(h.get("done", 0)),
            float(h.get("touched", 0)),
            h.get("closing") == "1",
            h.get("finished") == "1",
        )

    def results(self, key: RoomKey) -> list[dict[str, Any]]:
        """Every result recorded for the room (any order)."""
        return [json.loads(v) for v in self._redis.hvals(self._keys(key)[2])]

    def request_finish(self, key: RoomKey) -> None:
        """Mark the room closing: whoever completes its last segment finishes it."""
        self._request_finish(keys=self._keys(key))

    def claim(self, key: RoomKey, now: float) -> bool:
        """Mark the room finished; ``True`` for exactly one caller, ever."""
        ttl = max(1, int(self.finished_ttl))
        return bool(self._claim(keys=self._keys(key), args=[repr(float(now)), self._id(key), ttl]))

    def purge(self, key: RoomKey, now: float) -> None:
        """Forget a finished room's segments and results (its finished mark expires)."""
        _, seg, res, _ = self._keys(key)
        self._redis.delete(seg, res)

    def drop(self, key: RoomKey, now: float) -> None:
        """Forget the room without a transcript; later deliveries are ignored a while."""
        self.claim(key, now)
        self.purge(key, now)

    def _open(self, low: str, high: str) -> list[RoomKey]:
        ids = self._redis.zrangebyscore(f"{self.prefix}:open", low, high)
        return [RoomKey(*json.loads(i)) for i in ids]

    def idle_rooms(self, before: float) -> list[RoomKey]:
        """Unfinished rooms nothing touched since ``before`` (epoch s)."""
        return self._open("-inf", f"({before!r}")

    def rooms(self) -> list[RoomKey]:
        """Every unfinished room."""
        return self._open("-inf", "+inf")

    def close(self) -> None:
        """Close the client's connections."""
        self._redis.close()
