"""Segment cutting of the sample room: windows per rule, and WAV bytes equal to source slices."""

from __future__ import annotations

import array
import io
import sys
import wave
from typing import Any

import pytest

from volcspeech.rtc import (
    SegmentControl,
    StartSegmentRequest,
    StorageConfig,
    Stream,
    UpdateSegmentRequest,
)
from volcspeech.testing import Emulator
from volcspeech.testing._rtc_service import EmulatedSegment
from volcspeech.testing._sample import SampleRoom
from volcspeech.testing._segmenter import cut_segments
from volcspeech.testing._wav import wav_bytes

RATE = 16000
BUCKET = "segments"


@pytest.fixture
def emu(volcspeech_emulator: Emulator) -> Emulator:
    """The plugin's running emulator with the sample room registered."""
    volcspeech_emulator.rtc.register_sample_room()
    return volcspeech_emulator


@pytest.fixture
def room(emu: Emulator) -> SampleRoom:
    """The sample room's ground truth."""
    from volcspeech.testing._sample import load_sample_room

    return load_sample_room()


def _run(
    emu: Emulator,
    *,
    duration: int = 20,
    control: SegmentControl | None = None,
    streams: list[Stream] | None = None,
    task_id: str = "task",
) -> list[EmulatedSegment]:
    request = StartSegmentRequest(
        app_id="demo-app",
        room_id="demo-room",
        task_id=task_id,
        storage_config=StorageConfig.tos(account_id="2100000000", bucket=BUCKET),
        duration=duration,
        control=control,
        target_streams=streams,
        identifier="standup",
    )
    with emu.rtc.client() as client:
        assert client.start_segment(request).ok
    return [s for s in emu.rtc.segments if s.task_id == task_id]


def _windows(segments: list[EmulatedSegment], user: str) -> list[tuple[int, int, int]]:
    return [(s.sequence, s.room_start_ms, s.room_end_ms) for s in segments if s.user_id == user]


def _pcm(wav: bytes) -> bytes:
    with wave.open(io.BytesIO(wav), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, RATE)
        return reader.readframes(reader.getnframes())


def _slice(pcm: bytes, start_ms: int, end_ms: int) -> bytes:
    return pcm[start_ms * RATE // 1000 * 2 : end_ms * RATE // 1000 * 2]


def _stored(emu: Emulator, segment: EmulatedSegment) -> bytes:
    data = emu.storage.get(segment.bucket, segment.object_key)
    assert data is not None
    return _pcm(data)


def _mix(*tracks: bytes) -> bytes:
    """Sum 16-bit samples with clipping (written independently of the emulator's mixer)."""
    arrays = []
    for track in tracks:
        values = array.array("h", track)
        if sys.byteorder == "big":  # pragma: no cover
            values.byteswap()
        arrays.append(values)
    out = array.array("h", [max(-32768, min(32767, sum(v))) for v in zip(*arrays)])
    if sys.byteorder == "big":  # pragma: no cover
        out.byteswap()
    return out.tobytes()


def _assert_bytes_match(emu: Emulator, room: SampleRoom, segments: list[EmulatedSegment]) -> None:
    for segment in segments:
        start, end = segment.room_start_ms, segment.room_end_ms
        if segment.user_id == "mixed":
            expected = _mix(*(_slice(t.pcm, start, end) for t in room.tracks.values()))
        else:
            expected = _slice(room.tracks[segment.user_id].pcm, start, end)
        assert _stored(emu, segment) == expected, segment


BOB_JOINS = 4508  # the sample room: bob publishes from 1 s before his first word (5508 ms)


def test_duration_20_no_redundancy(emu: Emulator, room: SampleRoom) -> None:
    """20 s periods: alice from 0, bob from when he joined; files are exact source slices."""
    segments = _run(emu)
    assert _windows(segments, "alice") == [(0, 0, 20000), (1, 20000, 40000), (2, 40000, 49500)]
    assert _windows(segments, "bob") == [
        (0, BOB_JOINS, 20000),
        (1, 20000, 40000),
        (2, 40000, 49500),
    ]
    assert {s.user_id for s in segments} == {"alice", "bob"}
    _assert_bytes_match(emu, room, segments)


def test_redundant_duration_in_milliseconds(emu: Emulator, room: SampleRoom) -> None:
    """RedundantDuration 3000 (ms) makes segment n cover [n*D - 3 s, (n+1)*D], except the first."""
    segments = _run(emu, control=SegmentControl(redundant_duration=3000))
    assert _windows(segments, "alice") == [(0, 0, 20000), (1, 17000, 40000), (2, 37000, 49500)]
    assert _windows(segments, "bob") == [
        (0, BOB_JOINS, 20000),
        (1, 17000, 40000),
        (2, 37000, 49500),
    ]
    _assert_bytes_match(emu, room, segments)


def test_redundant_unit_seconds(emu: Emulator, room: SampleRoom) -> None:
    """With redundant_unit "s" the doc example's reading applies: 3 means 3 seconds."""
    emu.rtc.redundant_unit = "s"
    segments = _run(emu, control=SegmentControl(redundant_duration=3))
    assert _windows(segments, "alice") == [(0, 0, 20000), (1, 17000, 40000), (2, 37000, 49500)]
    _assert_bytes_match(emu, room, segments)


def test_align_puts_every_user_on_the_grid(emu: Emulator, room: SampleRoom) -> None:
    """Align on: full-length windows for every user, silence where they did not publish."""
    segments = _run(emu, control=SegmentControl(align=True, redundant_duration=2000))
    grid = [(0, 0, 20000), (1, 18000, 40000), (2, 38000, 49500)]
    assert _windows(segments, "alice") == grid
    assert _windows(segments, "bob") == grid
    # bob's first file starts before he joined: that part is silence, like the source there.
    first_bob = next(s for s in segments if s.user_id == "bob")
    assert set(_stored(emu, first_bob)[: BOB_JOINS * RATE // 1000 * 2]) == {0}
    _assert_bytes_match(emu, room, segments)


def test_mixed_stream(emu: Emulator, room: SampleRoom) -> None:
    """Mixed adds a `mixed` user on the grid whose audio is the clipped sum of the tracks."""
    segments = _run(emu, control=SegmentControl(mixed=True, redundant_duration=1000))
    assert _windows(segments, "mixed") == [(0, 0, 20000), (1, 19000, 40000), (2, 39000, 49500)]
    assert [s.user_id for s in segments[:3]] == ["alice", "bob", "mixed"]
    _assert_bytes_match(emu, room, segments)


def test_ignore_silence_drops_silent_segments(emu: Emulator, room: SampleRoom) -> None:
    """IgnoreSilence drops exactly the segments whose source audio is all silence."""
    segments = _run(emu, duration=5, control=SegmentControl(ignore_silence=True))
    expected: dict[str, list[tuple[int, int, int]]] = {}
    for user, track in room.tracks.items():
        joined = 0 if user == "alice" else BOB_JOINS
        for n in range(10):
            lo, hi = max(n * 5000, joined), min((n + 1) * 5000, 49500)
            if hi <= lo:
                continue
            if any(_slice(track.pcm, lo, hi)):
                expected.setdefault(user, []).append((n, lo, hi))
    assert _windows(segments, "alice") == expected["alice"]
    assert _windows(segments, "bob") == expected["bob"]
    assert 1 not in [seq for seq, _, _ in expected["alice"]]  # alice is silent 4320-11339 ms
    everything = _run(emu, duration=5, task_id="all")
    assert len(everything) > len(segments)
    _assert_bytes_match(emu, room, segments)


def test_target_streams_select_users(emu: Emulator, room: SampleRoom) -> None:
    """Only the target users are cut (screen streams have no audio); the mix is theirs only."""
    segments = _run(
        emu,
        control=SegmentControl(mixed=True),
        streams=[Stream("bob"), Stream("bob", stream_type=1), Stream("carol")],
    )
    assert {s.user_id for s in segments} == {"bob", "mixed"}
    for segment in segments:
        if segment.user_id == "mixed":
            expected = _slice(room.tracks["bob"].pcm, segment.room_start_ms, segment.room_end_ms)
            assert _stored(emu, segment) == expected


def test_object_keys_and_start_times(emu: Emulator) -> None:
    """Files are named {Identifier}_{UserId}_{StartTime}_{Sequence}.wav; StartTime is epoch ms."""
    segments = _run(emu)
    with emu.rtc.client() as client:
        task = client.get_segment_task("demo-app", "demo-room", "task")
    assert task.start_time is not None
    for segment in segments:
        assert segment.start_time == task.start_time + segment.room_start_ms
        assert segment.object_key == (
            f"standup_{segment.user_id}_{segment.start_time}_{segment.sequence}.wav"
        )
        assert segment.bucket == BUCKET
    assert sorted(emu.storage.keys(BUCKET)) == sorted(s.object_key for s in segments)


def test_hot_start_cuts_when_handle_turns_on(emu: Emulator) -> None:
    """Handle=false cuts nothing; UpdateSegment with Handle=true cuts with the current settings."""
    request = StartSegmentRequest(
        app_id="demo-app",
        room_id="demo-room",
        task_id="hot",
        storage_config=StorageConfig.s3_compatible(bucket="s3b", access_key="a", secret_key="s"),
        handle=False,
    )
    with emu.rtc.client() as client:
        client.start_segment(request)
        assert emu.rtc.segments == []
        client.update_segment(
            UpdateSegmentRequest(
                app_id="demo-app", room_id="demo-room", task_id="hot", duration=25, identifier="x"
            )
        )
        assert emu.rtc.segments == []
        client.update_segment(
            UpdateSegmentRequest(app_id="demo-app", room_id="demo-room", task_id="hot", handle=True)
        )
    segments = emu.rtc.segments
    assert _windows(segments, "alice") == [(0, 0, 25000), (1, 25000, 49500)]
    assert all(s.object_key.startswith("x_") and s.bucket == "s3b" for s in segments)


def test_unregistered_room_has_no_segments(emu: Emulator) -> None:
    """A task in a room nobody registered runs but produces nothing."""
    request = StartSegmentRequest(
        app_id="demo-app",
        room_id="empty-room",
        task_id="t",
        storage_config=StorageConfig.tos(account_id="1", bucket="b"),
    )
    with emu.rtc.client() as client:
        assert client.start_segment(request).ok
    assert emu.rtc.segments == []
    assert emu.rtc.pending_callbacks == []


def test_segments_are_recognized_by_the_asr_emulator(emu: Emulator, room: SampleRoom) -> None:
    """A stored segment sent to the ASR emulator gets the words inside its window."""
    segments = _run(emu, control=SegmentControl(mixed=True))
    alice_1 = next(s for s in segments if s.user_id == "alice" and s.sequence == 1)
    mixed_0 = next(s for s in segments if s.user_id == "mixed" and s.sequence == 0)
    with emu.asr.client() as asr:
        for segment, users in ((alice_1, ["alice"]), (mixed_0, ["alice", "bob"])):
            wav = emu.storage.get(segment.bucket, segment.object_key)
            assert wav is not None
            transcript = asr.recognize(wav)
            lo, hi = segment.room_start_ms, segment.room_end_ms
            words = [w for user in users for w in room.words(user)]
            inside = [w.text for w in words if lo <= w.start_time and w.end_time <= hi]
            touching = {w.text for w in words if w.start_time < hi and w.end_time > lo}
            got = [w.text for u in transcript.utterances for w in u.words]
            # Words wholly inside are all there; a word cut by the edge is the ASR side's call.
            assert set(inside) <= set(got) <= touching
            assert got


# --- the cutter alone, on a synthetic room ------------------------------------------------


def _tone(ms: int, value: int = 1000) -> bytes:
    return array.array("h", [value] * (ms * RATE // 1000)).tobytes()


def _masked(pcm: bytes, lo: int, hi: int) -> bytes:
    a, b = lo * RATE // 1000 * 2, hi * RATE // 1000 * 2
    return bytes(a) + pcm[a:b] + bytes(len(pcm) - b)


@pytest.mark.parametrize(
    ("align", "expected"),
    [
        (False, [(0, 12000, 20000), (1, 17000, 30000)]),
        (True, [(0, 0, 20000), (1, 17000, 40000)]),
    ],
)
def test_partial_publisher(align: bool, expected: list[tuple[int, int, int]]) -> None:
    """A user publishing 12-30 s gets short segments without Align and padded ones with it."""
    track = _masked(_tone(45000), 12000, 30000)
    cuts = cut_segments(
        {"u": track},
        {"u": (12000, 30000)},
        room_ms=45000,
        duration_ms=20000,
        redundant_ms=3000,
        align=align,
        sample_rate=RATE,
    )
    assert [(c.sequence, c.start_ms, c.end_ms) for c in cuts] == expected
    for cut in cuts:
        assert cut.pcm == _slice(track, cut.start_ms, cut.end_ms)
        assert cut.duration_ms == cut.end_ms - cut.start_ms
    if align:
        assert set(cuts[0].pcm[: 12000 * RATE // 1000 * 2]) == {0}


def test_registered_publish_windows_mask_audio(emu: Emulator) -> None:
    """Audio outside a registered publishing window is never sent, even if the track has it."""
    emu.rtc.register_room(
        "app",
        "tone-room",
        {"u": wav_bytes(_tone(30000), RATE), "v": wav_bytes(_tone(10000, 7), RATE)},
        publish={"u": (5000, 25000)},
        utterances={"u": [{"text": "hi", "start_time": 1000, "end_time": 2000}]},
    )
    request = StartSegmentRequest(
        app_id="app",
        room_id="tone-room",
        task_id="t",
        storage_config=StorageConfig.tos(account_id="1", bucket="b"),
        duration=10,
        control=SegmentControl(align=True, mixed=True),
    )
    with emu.rtc.client() as client:
        client.start_segment(request)
    by_user: dict[str, list[Any]] = {}
    for segment in emu.rtc.segments:
        by_user.setdefault(segment.user_id, []).append(segment)
    assert [(s.room_start_ms, s.room_end_ms) for s in by_user["u"]] == [
        (0, 10000),
        (10000, 20000),
        (20000, 30000),
    ]
    assert [(s.room_start_ms, s.room_end_ms) for s in by_user["v"]] == [(0, 10000)]
    first = _stored(emu, by_user["u"][0])
    assert set(first[: 5000 * RATE // 1000 * 2]) == {0}
    assert first[5000 * RATE // 1000 * 2 :] == _tone(5000)
    mixed = _stored(emu, by_user["mixed"][0])
    assert mixed == _mix(_masked(_tone(30000), 5000, 25000)[: len(_tone(10000))], _tone(10000, 7))


def test_mixing_clips() -> None:
    """Mixed samples are clipped to the 16-bit range."""
    loud = _tone(100, 30000)
    cuts = cut_segments(
        {"a": loud, "b": loud},
        {},
        room_ms=100,
        duration_ms=1000,
        mixed_pcm=_mix(loud, loud),
        sample_rate=RATE,
    )
    from volcspeech.testing._wav import mix, peak

    assert mix([loud, loud]) == _tone(100, 32767)
    assert mix([]) == b""
    assert peak(b"") == 0
    assert cuts[-1].user_id == "mixed"
    with pytest.raises(ValueError):
        cut_segments({}, {}, room_ms=1, duration_ms=0)
