"""AsyncSegmentTranscriber on the emulator: the same merge and room lifecycle as the thread
transcriber, recognitions as tasks on the loop, updates as an async iterator."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from test_pipeline import start, truth, words_of

from volcspeech import errors
from volcspeech.asr import AsyncAsrClient
from volcspeech.pipeline import (
    AsyncSegmentTranscriber,
    RoomKey,
    RoomTranscript,
    RoomUtterance,
    SegmentTranscriber,
    SQLiteRoomStore,
    base_url_resolver,
)
from volcspeech.rtc import Segment
from volcspeech.testing import Emulator

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """The async tests run on asyncio (the library's loop)."""
    return "asyncio"


@pytest.fixture
def emu(volcspeech_emulator: Emulator) -> Emulator:
    """The plugin's running emulator."""
    return volcspeech_emulator


def async_asr(emu: Emulator, **kwargs: Any) -> AsyncAsrClient:
    creds = emu.credentials
    return AsyncAsrClient(creds.app_key, creds.access_key, endpoint=emu.asr.endpoint, **kwargs)


def transcriber(emu: Emulator, asr: AsyncAsrClient, **kwargs: Any) -> AsyncSegmentTranscriber:
    kwargs.setdefault("resolve_audio", base_url_resolver(emu.url + "/storage"))
    kwargs.setdefault("callback_secret", emu.credentials.callback_secret)
    return AsyncSegmentTranscriber(asr, **kwargs)


@pytest.mark.parametrize("shuffle", [False, True])
async def test_the_sample_room_equals_ground_truth_and_the_thread_transcriber(
    emu: Emulator, shuffle: bool
) -> None:
    """Shuffled and duplicated callbacks give the ground truth, word for word, and the same
    transcript as SegmentTranscriber with the same settings."""
    room, bodies = start(emu, redundant_ms=2500, shuffle=shuffle)
    async with async_asr(emu) as asr, transcriber(emu, asr, redundant_duration_ms=2500) as t:
        accepted = [await t.submit(body) for body in bodies]
        (final,) = await t.finish(timeout=30)
    assert accepted.count(True) == len(emu.rtc.segments)
    assert [(u.user_id, u.text) for u in final.utterances] == truth(room)
    assert words_of(final) == {user: [w.text for w in room.words(user)] for user in room.tracks}
    assert final.complete

    with SegmentTranscriber(
        emu.asr.client(),
        resolve_audio=base_url_resolver(emu.url + "/storage"),
        callback_secret=emu.credentials.callback_secret,
        redundant_duration_ms=2500,
    ) as sync:
        for body in bodies:
            sync.submit(body)
        (same,) = sync.finish(timeout=30)
    assert final.to_dict() == same.to_dict()


async def test_updates_yield_each_final_utterance_and_the_finished_room(emu: Emulator) -> None:
    """updates() yields every utterance once, in its final form, then the room's transcript,
    and ends after finish()."""
    _, bodies = start(emu, duration=10, redundant_ms=1500, shuffle=True)
    got: list[Any] = []
    async with async_asr(emu) as asr, transcriber(emu, asr, redundant_duration_ms=1500) as t:

        async def consume() -> None:
            async for update in t.updates():
                got.append(update)

        consumer = asyncio.ensure_future(consume())
        await asyncio.sleep(0)
        for body in bodies:
            await t.submit(body)
        (final,) = await t.finish(timeout=30)
        await asyncio.wait_for(consumer, 10)
    utterances = [u for u in got if isinstance(u, RoomUtterance)]
    rooms = [r for r in got if isinstance(r, RoomTranscript)]
    assert rooms == [final]
    assert got[-1] == final
    assert sorted((u.user_id, u.text, u.start_epoch_ms) for u in utterances) == sorted(
        (u.user_id, u.text, u.start_epoch_ms) for u in final.utterances
    )


async def test_recognitions_run_on_the_loop_bounded_by_concurrency(emu: Emulator) -> None:
    """Segments are recognized by the async client as tasks of this loop, at most
    ``concurrency`` at once, while the loop stays free."""
    room, bodies = start(emu)
    loop_thread = threading.get_ident()
    in_flight = peak = 0
    calls: list[int] = []
    base = base_url_resolver(emu.url + "/storage")

    class Counting(AsyncAsrClient):
        async def recognize(self, audio: Any, **kwargs: Any) -> Any:
            nonlocal in_flight, peak
            calls.append(threading.get_ident())
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                return await super().recognize(audio, **kwargs)
            finally:
                in_flight -= 1

    creds = emu.credentials
    asr = Counting(creds.app_key, creds.access_key, endpoint=emu.asr.endpoint)
    async with asr, transcriber(emu, asr, concurrency=2, resolve_audio=base) as t:
        for body in bodies:
            await t.submit(body)
        ticks = 0
        while t.pending:
            await asyncio.sleep(0.01)
            ticks += 1
        (final,) = await t.finish(timeout=30)
    assert [(u.user_id, u.text) for u in final.utterances] == truth(room)
    assert set(calls) == {loop_thread}
    assert len(calls) == len(bodies)
    assert peak == 2
    assert ticks > 0  # the loop ran other work while segments were recognized


async def test_failures_become_gaps_and_retries_recover(emu: Emulator) -> None:
    """Busy answers are retried per segment and recovered; a failing resolver gives a gap
    with its reason, as in the thread transcriber."""
    room, bodies = start(emu)
    emu.inject(service="asr", code=55000031, http_status=503, times=3)
    base = base_url_resolver(emu.url + "/storage")

    def flaky(segment: Segment) -> str:
        if segment.user_id == "alice" and segment.sequence == 1:
            raise errors.ServerError("storage unavailable", http_status=503)
        return base(segment)

    async with async_asr(emu, max_retries=0) as asr:
        t = transcriber(emu, asr, resolve_audio=flaky, segment_attempts=4, concurrency=1)
        async with t:
            for body in bodies:
                await t.submit(body)
            (final,) = await t.finish(timeout=30)
    (gap,) = final.gaps
    assert (gap.user_id, gap.sequence, gap.error_type, gap.attempts) == (
        "alice",
        1,
        "ServerError",
        4,
    )
    assert "storage unavailable" in gap.reason
    assert [u.text for u in final.for_user("bob")] == [
        u.text for u in room.tracks["bob"].utterances
    ]


async def test_rooms_per_task_finish_room_and_drop_room(emu: Emulator) -> None:
    """Two tasks in one room are two rooms; finish_room produces one and forgets it,
    drop_room forgets the other; duplicates and late deliveries are refused."""
    room, first = start(emu, task_id="minutes")
    _, second = start(emu, task_id="moderation")
    finished: list[RoomTranscript] = []
    async with async_asr(emu) as asr:
        t = transcriber(emu, asr, on_room_finished=finished.append)
        async with t:
            for body in first + second:
                assert await t.submit(body)
            assert not await t.submit(first[0])
            keys = sorted(t.rooms())
            assert [k.task_id for k in keys] == ["minutes", "moderation"]
            minutes = await t.finish_room(RoomKey(room.app_id, room.room_id, "minutes"))
            assert minutes is not None
            assert [(u.user_id, u.text) for u in minutes.utterances] == truth(room)
            assert await t.finish_room(("demo-app", room.room_id, "minutes")) is None
            assert not await t.submit(first[1])  # a late delivery for a finished room
            await t.wait(timeout=30)
            assert await t.drop_room(RoomKey(room.app_id, room.room_id, "moderation"))
            with pytest.raises(KeyError):
                await t.finish_room(RoomKey(room.app_id, room.room_id, "nope"))
            assert await t.finish(timeout=30) == []
    assert finished == [minutes]


async def test_a_shared_store_is_used_off_the_loop(emu: Emulator, tmp_path: Path) -> None:
    """With an SQLite store, segments are stored and results recorded in worker threads;
    the transcript equals the ground truth."""
    room, bodies = start(emu)
    store = SQLiteRoomStore(str(tmp_path / "rooms.db"))
    async with async_asr(emu) as asr, transcriber(emu, asr, store=store) as t:
        for body in bodies:
            await t.submit(body)
        (final,) = await t.finish(timeout=30)
    assert [(u.user_id, u.text) for u in final.utterances] == truth(room)
    store.close()


async def test_settings_are_checked(emu: Emulator) -> None:
    """A sync client, a bad concurrency or a bad shared setting is refused at construction."""
    resolver = base_url_resolver(emu.url + "/storage")
    with pytest.raises(errors.ConfigurationError, match="AsyncAsrClient"):
        AsyncSegmentTranscriber(emu.asr.client(), resolve_audio=resolver)  # type: ignore[arg-type]
    async with async_asr(emu) as asr:
        with pytest.raises(errors.ConfigurationError, match="concurrency"):
            AsyncSegmentTranscriber(asr, resolve_audio=resolver, concurrency=0)
        with pytest.raises(errors.ConfigurationError, match="join_gap_ms"):
            AsyncSegmentTranscriber(asr, resolve_audio=resolver, join_gap_ms=-1)
        t = AsyncSegmentTranscriber(asr, resolve_audio=resolver)
        await t.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await t.submit(b"{}")
