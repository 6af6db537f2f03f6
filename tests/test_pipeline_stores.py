"""Room stores: the contract, on memory, SQLite and a real redis-server; and real worker
processes sharing one store, where each room's transcript is produced exactly once."""

from __future__ import annotations

import multiprocessing
import pickle
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from test_pipeline_rooms import ReadyAsr, segment

from volcspeech import errors
from volcspeech.pipeline import (
    MemoryRoomStore,
    RedisRoomStore,
    RoomKey,
    RoomStore,
    SegmentTranscriber,
    SQLiteRoomStore,
    base_url_resolver,
)

KEY = RoomKey("app", "r", "t")
SEGMENTS = 12


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A real redis-server on 127.0.0.1 and a free port, for this module."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install -y redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], RoomStore]:
    """A factory of stores of one kind that all see the same rooms (except memory)."""
    if request.param == "memory":
        store = MemoryRoomStore()
        return lambda: store
    if request.param == "sqlite":
        path = tmp_path / "rooms.db"
        return lambda: SQLiteRoomStore(path)
    url = request.getfixturevalue("redis_url")
    prefix = f"test{random.getrandbits(32)}"
    return lambda: RedisRoomStore(url, prefix=prefix)


def test_store_contract(make_store: Callable[[], RoomStore]) -> None:
    """Segments are accepted once, results counted once, a room claimed once; a finished
    room refuses segments, keeps no data and leaves the idle list."""
    store = make_store()
    assert store.state(KEY) is None
    assert store.add_segment(KEY, "s1", {"seq": 1}, 100.0)
    assert not store.add_segment(KEY, "s1", {"seq": 1}, 101.0)
    assert store.add_segment(KEY, "s2", {"seq": 2}, 102.0)
    assert store.add_segment(KEY, "s3", {"seq": 3}, 102.5)
    store.forget_segment(KEY, "s3")
    assert not store.add_result(KEY, "nope", {"x": 1}, 103.0)
    assert store.add_result(KEY, "s1", {"user": "a", "words": [["hi", 1, 2, None]]}, 103.0)
    assert not store.add_result(KEY, "s1", {"user": "a"}, 103.5)
    state = store.state(KEY)
    assert state is not None
    assert (state.accepted, state.done, state.complete, state.closing) == (2, 1, False, False)
    assert state.touched == 103.0
    store.request_finish(KEY)
    assert store.state(KEY).closing  # type: ignore[union-attr]
    assert store.idle_rooms(103.5) == [KEY]
    assert store.idle_rooms(102.0) == []
    assert store.rooms() == [KEY]
    assert store.results(KEY) == [{"user": "a", "words": [["hi", 1, 2, None]]}]
    assert store.claim(KEY, 104.0)
    assert not store.claim(KEY, 104.0)
    store.purge(KEY, 104.0)
    assert store.results(KEY) == []
    assert store.state(KEY).finished  # type: ignore[union-attr]
    assert not store.add_segment(KEY, "s9", {}, 105.0)
    assert store.rooms() == []
    other = RoomKey("app", "r", "t2")
    store.add_segment(other, "s1", {}, 106.0)
    store.drop(other, 107.0)
    assert not store.add_segment(other, "s2", {}, 108.0)
    assert store.rooms() == []


def test_shared_stores_pickle_as_configuration(tmp_path: Path, redis_url: str) -> None:
    """SQLite and Redis stores pickle as where they point, not as connections."""
    sqlite = pickle.loads(pickle.dumps(SQLiteRoomStore(tmp_path / "x.db")))
    assert sqlite.path == str(tmp_path / "x.db")
    sqlite.add_segment(KEY, "s", {}, 1.0)
    redis_store = pickle.loads(pickle.dumps(RedisRoomStore(redis_url, prefix="p")))
    assert redis_store.prefix == "p"
    with pytest.raises(errors.ConfigurationError, match="does not pickle"):
        pickle.dumps(RedisRoomStore("redis://:sk-very-secret-value@127.0.0.1:1/0"))


def test_store_settings_are_checked(tmp_path: Path) -> None:
    """Unusable store settings are ConfigurationErrors naming them."""
    with pytest.raises(errors.ConfigurationError, match="memory"):
        SQLiteRoomStore(":memory:")
    with pytest.raises(errors.ConfigurationError, match="finished_ttl"):
        SQLiteRoomStore(tmp_path / "x.db", finished_ttl=float("nan"))
    with pytest.raises(errors.ConfigurationError, match="url"):
        RedisRoomStore("http://127.0.0.1")
    with pytest.raises(errors.ConfigurationError, match="max_finished"):
        MemoryRoomStore(max_finished=0)


def _worker(store: RoomStore, seed: int, barrier: Any, out: Any) -> None:
    """One 'webhook worker': receives every segment, some twice, then finishes the room."""
    asr = ReadyAsr()
    with SegmentTranscriber(
        asr,  # type: ignore[arg-type]
        resolve_audio=base_url_resolver("https://cdn.invalid"),
        store=store,
        on_room_finished=lambda t: out.put(("hook", seed)),
    ) as transcriber:
        deliveries = [segment(n) for n in range(SEGMENTS)] * 2
        random.Random(seed).shuffle(deliveries)
        for s in deliveries:
            transcriber.submit(s)
        transcriber.wait(timeout=30)
        barrier.wait(30)
        transcript = transcriber.finish_room(KEY, timeout=30)
    words = None if transcript is None else [w.text for u in transcript.utterances for w in u.words]
    out.put(("result", len(asr.calls), words))


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_worker_processes_produce_each_room_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Three processes receive the same segments (shuffled, duplicated): each segment is
    recognized once in all, and exactly one process produces the transcript, complete."""
    store: RoomStore
    if kind == "sqlite":
        store = SQLiteRoomStore(tmp_path / "rooms.db")
    else:
        url = request.getfixturevalue("redis_url")
        store = RedisRoomStore(url, prefix=f"mp{random.getrandbits(32)}")
    # Not "fork": the test process has threads (emulators, pools) whose locks a forked
    # child would inherit held. The store travels pickled, as its configuration.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["volcspeech.pipeline", "test_pipeline_rooms"])
    barrier, out = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(store, seed, barrier, out)) for seed in range(3)]
    for p in procs:
        p.start()
    messages = [out.get(timeout=60) for _ in range(4)]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    results = [m for m in messages if m[0] == "result"]
    hooks = [m for m in messages if m[0] == "hook"]
    assert sum(r[1] for r in results) == SEGMENTS
    produced = [r[2] for r in results if r[2] is not None]
    assert produced == [[f"w{n}" for n in range(SEGMENTS)]]
    assert len(hooks) == 1
    assert out.empty()
