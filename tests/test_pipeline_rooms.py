"""Rooms per task and their lifecycle; finish() never hangs; segment audio only over http(s)."""

from __future__ import annotations

import concurrent.futures
import logging
import pickle
import threading
import time
from typing import Any

import pytest

from volcspeech import errors
from volcspeech.asr import Transcript, Utterance, Word
from volcspeech.pipeline import (
    MemoryRoomStore,
    Moderator,
    RoomKey,
    RoomTranscript,
    SegmentTranscriber,
    base_url_resolver,
    s3_presigned_resolver,
    tos_presigned_resolver,
)
from volcspeech.rtc import Segment, SegmentControl, StartSegmentRequest, StorageConfig
from volcspeech.testing import Emulator

EPOCH = 1_700_000_000_000


class ReadyAsr:
    """Stands in for AsrClient: one word per segment URL, counting calls."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def recognize(self, audio: Any, **_: Any) -> Transcript:
        """The word named by the URL's last path part."""
        self.calls.append(audio)
        word = str(audio).rsplit("/", 1)[-1].split(".")[0]
        return Transcript(word, (Utterance(word, 1000, 1500, (Word(word, 1000, 1500),)),), 10_000)


def segment(n: int, *, room: str = "r", task: str = "t", user: str = "alice", **kw: Any) -> Segment:
    """Segment ``n`` of a room: 10 s long, object key ``<room>/w<n>.wav``."""
    fields: dict[str, Any] = {
        "app_id": "app",
        "room_id": room,
        "task_id": task,
        "user_id": user,
        "sequence": n,
        "start_time_ms": EPOCH + n * 10_000,
        "duration_ms": 10_000,
        "object_key": f"{room}/w{n}.wav",
    }
    fields.update(kw)
    return Segment(**fields)


def ready(**kwargs: Any) -> SegmentTranscriber:
    kwargs.setdefault("resolve_audio", base_url_resolver("https://cdn.invalid"))
    return SegmentTranscriber(ReadyAsr(), **kwargs)  # type: ignore[arg-type]


def words(t: RoomTranscript) -> list[str]:
    return [w.text for u in t.utterances for w in u.words]


def test_two_tasks_in_one_room_are_two_transcripts(volcspeech_emulator: Emulator) -> None:
    """Segments of two tasks in the same room give two transcripts, each the ground truth."""
    emu = volcspeech_emulator
    room = emu.rtc.register_sample_room()
    emu.rtc.callback_options(shuffle=True, duplicate=0.5, seed=5)
    with emu.rtc.client() as rtc:
        for task in ("minutes", "moderation"):
            rtc.start_segment(
                StartSegmentRequest(
                    app_id=room.app_id,
                    room_id=room.room_id,
                    task_id=task,
                    storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
                    duration=20,
                    control=SegmentControl(redundant_duration=2000),
                )
            )
    assert emu.rtc.wait_for_callbacks(timeout=30)
    finished: list[RoomTranscript] = []
    with SegmentTranscriber(
        emu.asr.client(),
        resolve_audio=base_url_resolver(emu.url + "/storage"),
        redundant_duration_ms=2000,
        callback_secret=emu.credentials.callback_secret,
        on_room_finished=finished.append,
    ) as t:
        for body in emu.rtc.take_callbacks():
            t.submit(body)
        assert t.wait(timeout=30)
        keys = t.rooms()
        assert keys == [
            RoomKey(room.app_id, room.room_id, task) for task in ("minutes", "moderation")
        ]
        transcripts = [t.finish_room(key, timeout=30) for key in keys]
        assert t.rooms() == []
        assert t.finish(timeout=5) == []
    truth = [(u.user_id, u.text) for u in room.utterances()]
    for key, transcript in zip(keys, transcripts):
        assert transcript is not None
        assert transcript.key == key
        assert [(u.user_id, u.text) for u in transcript.utterances] == truth
    assert [f.key for f in finished] == keys


def test_finish_room_once_and_drop_room() -> None:
    """A finished room is produced once; a dropped one never; late deliveries are ignored."""
    hook: list[RoomTranscript] = []
    with ready(on_room_finished=hook.append) as t:
        for n in range(3):
            assert t.submit(segment(n, room="a"))
            assert t.submit(segment(n, room="b"))
        t.wait(timeout=10)
        first = t.finish_room(("app", "a", "t"))
        assert first is not None
        assert words(first) == ["w0", "w1", "w2"]
        assert t.finish_room(RoomKey("app", "a", "t")) is None  # already finished
        assert t.submit(segment(3, room="a")) is False  # a late segment of a finished room
        assert t.drop_room(RoomKey("app", "b", "t")) is True
        assert t.submit(segment(0, room="b")) is False
        with pytest.raises(KeyError):
            t.finish_room(RoomKey("app", "nope", "t"))
        with pytest.raises(errors.ConfigurationError, match="RoomKey"):
            t.finish_room("app/a/t")
        assert t.finish() == []
    assert [h.room_id for h in hook] == ["a"]


def test_idle_rooms_are_finished_once() -> None:
    """A room no callback touched for room_idle_timeout seconds is finished, once, by the
    background check; a busy room is not."""
    hook: list[RoomTranscript] = []
    done = threading.Event()

    def finished(t: RoomTranscript) -> None:
        hook.append(t)
        done.set()

    with ready(room_idle_timeout=0.3, on_room_finished=finished) as t:
        t.submit(segment(0, room="quiet"))
        t.wait(timeout=10)
        assert t.reap_idle_rooms(now=time.time()) == []  # not idle yet
        assert done.wait(timeout=10)
        assert [h.room_id for h in hook] == ["quiet"]
        assert t.reap_idle_rooms(now=time.time() + 60) == []
        assert t.rooms() == []
    assert len(hook) == 1


def test_finish_room_timeout_leaves_the_room_to_its_last_segment() -> None:
    """finish_room that cannot wait marks the room closing; the worker completing its last
    segment produces the transcript, exactly once."""
    gate = threading.Event()
    base = base_url_resolver("https://cdn.invalid")

    def slow(seg: Segment) -> str:
        if seg.sequence == 1:
            gate.wait(10)
        return base(seg)

    hook: list[RoomTranscript] = []
    with ready(resolve_audio=slow, on_room_finished=hook.append, max_workers=2) as t:
        t.submit(segment(0))
        t.submit(segment(1))
        with pytest.raises(TimeoutError, match="closing"):
            t.finish_room(RoomKey("app", "r", "t"), timeout=0.1)
        assert hook == []
        gate.set()
        assert t.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not hook and time.monotonic() < deadline:
            time.sleep(0.01)
    assert [words(h) for h in hook] == [["w0", "w1"]]


def test_finish_never_hangs_on_refused_work_or_bad_handlers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An executor that refuses work is rolled back (nothing pending), and handlers that
    raise do not stop finish()."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    pool.shutdown()

    def boom(_: Any) -> None:
        raise RuntimeError("handler bug")

    with ready(executor=pool, on_utterance=boom, on_room_finished=boom) as t:
        with pytest.raises(errors.ConfigurationError, match="executor refused"):
            t.submit(segment(0))
        assert t.pending == 0
        assert t.finish(timeout=5) == []
    with ready(on_utterance=boom, on_room_finished=boom) as t, caplog.at_level(logging.ERROR):
        t.submit(segment(0))
        (final,) = t.finish(timeout=5)
    assert words(final) == ["w0"]
    assert "on_room_finished handler failed" in caplog.text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("origin_ms", "abc"),
        ("segment_retry_wait", float("nan")),
        ("max_callback_age", float("nan")),
        ("room_idle_timeout", 0),
        ("store", "sqlite"),
        ("on_room_finished", 3),
        ("on_utterance", "print"),
        ("options", {"language": "x"}),
        ("segment_retry", 3),
        ("dedup_size", 0),
        ("executor", object()),
        ("callback_secret", ""),
    ],
)
def test_every_setting_is_checked(name: str, value: Any) -> None:
    """Each bad setting is a ConfigurationError naming it, before anything runs."""
    with pytest.raises(errors.ConfigurationError, match=name):
        ready(**{name: value})


def test_asr_must_be_a_client() -> None:
    """An asr without recognize() is refused."""
    with pytest.raises(errors.ConfigurationError, match="asr"):
        SegmentTranscriber(object(), resolve_audio=str)  # type: ignore[arg-type]


def test_finished_rooms_are_forgotten_within_bounds() -> None:
    """The in-memory store keeps at most max_finished finished-room marks, and no segments."""
    store = MemoryRoomStore(max_finished=2)
    with ready(store=store) as t:
        for room in "abc":
            t.submit(segment(0, room=room))
            t.wait(timeout=10)
            t.finish_room(RoomKey("app", room, "t"))
        assert store.rooms() == []
        assert len(store._finished) == 2
        assert t._rooms == {}


@pytest.mark.parametrize(
    ("resolver_returns", "kind"),
    [("/etc/passwd", "path"), ("file:///etc/passwd", "another scheme")],
)
def test_local_files_are_never_read(resolver_returns: str, kind: str) -> None:
    """Whatever a resolver returns, a local path is a gap: nothing is read or sent."""
    asr = ReadyAsr()
    with SegmentTranscriber(asr, resolve_audio=lambda s: resolver_returns) as t:  # type: ignore[arg-type]
        t.submit(segment(0))
        (final,) = t.finish(timeout=5)
    (gap,) = final.gaps
    assert gap.error_type == "ValidationError"
    assert kind in gap.reason
    assert "root:" not in gap.reason
    assert asr.calls == []


@pytest.mark.parametrize(
    "fields",
    [
        {"object_key": "../../etc/passwd"},
        {"object_key": "a/./b.wav"},
        {"url": "file:///etc/passwd"},
        {"url": "/etc/passwd"},
    ],
)
def test_hostile_callback_locations_are_refused(fields: dict[str, Any]) -> None:
    """ObjectKeys with '..' or '.' segments and non-http(s) callback URLs become gaps."""
    asr = ReadyAsr()
    with SegmentTranscriber(asr, resolve_audio=base_url_resolver("https://cdn.invalid")) as t:  # type: ignore[arg-type]
        t.submit(segment(0, **fields))
        (final,) = t.finish(timeout=5)
    assert [g.error_type for g in final.gaps] == ["ValidationError"]
    assert asr.calls == []


def test_resolvers_and_moderators_pickle_without_secrets() -> None:
    """Resolvers and moderators pickle as configuration; ones holding secrets refuse."""
    resolve = pickle.loads(pickle.dumps(base_url_resolver("https://cdn.example.com/seg")))
    assert resolve(segment(0)) == "https://cdn.example.com/seg/r/w0.wav"
    moderator = Moderator(["refund"], [r"\d{4}"])
    assert pickle.loads(pickle.dumps(moderator)).check.__self__ is not moderator
    tos_env = tos_presigned_resolver(endpoint="tos-cn-beijing.volces.com", region="cn-beijing")
    assert pickle.loads(pickle.dumps(tos_env)).endpoint == "tos-cn-beijing.volces.com"
    tos_keys = tos_presigned_resolver(
        access_key_id="AKLTtos",
        secret_access_key="tos-secret",
        endpoint="tos-cn-beijing.volces.com",
        region="cn-beijing",
    )
    with pytest.raises(errors.ConfigurationError, match="does not pickle") as info:
        pickle.dumps(tos_keys)
    assert "tos-secret" not in str(info.value)
    assert "tos-secret" not in repr(tos_keys)
    s3 = s3_presigned_resolver(
        region_name="us-east-1",
        aws_access_key_id="AKIAX",
        aws_secret_access_key="sk-very-secret-value",
    )
    with pytest.raises(errors.ConfigurationError, match="does not pickle"):
        pickle.dumps(s3)
    s3_env = s3_presigned_resolver(region_name="us-east-1", bucket="b")
    assert pickle.loads(pickle.dumps(s3_env)).bucket == "b"


def test_segment_retries_follow_a_retry_policy() -> None:
    """segment_retry takes a RetryPolicy; its attempts bound the tries per segment."""
    from volcspeech import RetryPolicy

    tries: list[int] = []

    def busy(seg: Segment) -> str:
        tries.append(seg.sequence or 0)
        raise errors.ServerBusyError("busy", code=55000031, http_status=503)

    with ready(resolve_audio=busy, segment_retry=RetryPolicy(attempts=2)) as t:
        t.submit(segment(0))
        (final,) = t.finish(timeout=5)
    assert len(tries) == 2
    assert final.gaps[0].attempts == 2


class FlakyStore(MemoryRoomStore):
    """A memory store whose first add_segment fails, as an unreachable database would."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def add_segment(self, *args: Any) -> bool:
        """Fail once, then store."""
        if self.failures:
            self.failures -= 1
            raise OSError("database is unreachable")
        return super().add_segment(*args)


def test_a_store_failure_keeps_the_redelivery_acceptable(volcspeech_emulator: Emulator) -> None:
    """A callback whose segment could not be stored is taken when RTC re-sends it; nothing is
    left pending; after finish() every submit is refused."""
    emu = volcspeech_emulator
    room = emu.rtc.register_sample_room()
    emu.rtc.client().start_segment(
        StartSegmentRequest(
            app_id=room.app_id,
            room_id=room.room_id,
            task_id="t",
            storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
        )
    )
    assert emu.rtc.wait_for_callbacks(timeout=30)
    body = emu.rtc.take_callbacks()[0]
    asr = ReadyAsr()
    with SegmentTranscriber(
        asr,  # type: ignore[arg-type]
        resolve_audio=lambda s: "https://cdn.invalid/x/w0.wav",
        callback_secret=emu.credentials.callback_secret,
        store=FlakyStore(),
    ) as t:
        with pytest.raises(OSError, match="unreachable"):
            t.submit(body)
        assert t.pending == 0
        assert t.submit(body) is True  # the re-delivery
        assert t.submit(body) is False  # and now a duplicate
        (final,) = t.finish(timeout=5)
        with pytest.raises(RuntimeError, match="finished"):
            t.submit(body)
    assert final.segments == 1
    assert len(asr.calls) == 1


def test_live_utterances_wait_for_room_time_zero() -> None:
    """Utterances handed out before the first segment arrived carry the same room times as
    the final transcript: they wait for room time zero."""
    seen: list[Any] = []
    with ready(on_utterance=seen.append, max_workers=1) as t:
        for n in (3, 2, 1, 4, 0):
            t.submit(segment(n))
            t.wait(timeout=10)
            if n == 1:
                assert seen == []  # final, but room time zero is not known yet
        (final,) = t.finish(timeout=5)
    assert sorted((u.text, u.start_time) for u in seen) == sorted(
        (u.text, u.start_time) for u in final.utterances
    )
    assert final.utterances[0].start_time == 1000
