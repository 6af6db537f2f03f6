"""SegmentTranscriber end to end on the emulator: the sample room, failures, order, moderation."""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
from typing import Any

import pytest
import requests
import srt
import webvtt

from volcspeech import errors
from volcspeech.pipeline import (
    Moderator,
    RoomTranscript,
    RoomUtterance,
    SegmentTranscriber,
    base_url_resolver,
    s3_presigned_resolver,
    tos_presigned_resolver,
)
from volcspeech.rtc import (
    Segment,
    SegmentControl,
    StartSegmentRequest,
    StorageConfig,
    parse_callback,
    sign_callback,
)
from volcspeech.testing import Emulator, SampleRoom

BUCKET = "segments"


@pytest.fixture
def emu(volcspeech_emulator: Emulator) -> Emulator:
    """The plugin's running emulator."""
    return volcspeech_emulator


def start(
    emu: Emulator,
    *,
    duration: int = 20,
    redundant_ms: int = 0,
    align: bool = True,
    mixed: bool = False,
    shuffle: bool = False,
    task_id: str = "task-1",
) -> tuple[SampleRoom, list[dict[str, Any]]]:
    """Run a segmentation task on the sample room; return the room and its callback bodies."""
    room = emu.rtc.register_sample_room()
    emu.rtc.callback_options(shuffle=shuffle, duplicate=0.5 if shuffle else 0.0, seed=3)
    with emu.rtc.client() as rtc:
        rtc.start_segment(
            StartSegmentRequest(
                app_id=room.app_id,
                room_id=room.room_id,
                task_id=task_id,
                storage_config=StorageConfig.tos(account_id="2100000000", bucket=BUCKET),
                duration=duration,
                control=SegmentControl(align=align, mixed=mixed, redundant_duration=redundant_ms),
            )
        )
    assert emu.rtc.wait_for_callbacks(timeout=30)
    return room, emu.rtc.take_callbacks()


def transcriber(emu: Emulator, **kwargs: Any) -> SegmentTranscriber:
    kwargs.setdefault("resolve_audio", base_url_resolver(emu.url + "/storage"))
    kwargs.setdefault("callback_secret", emu.credentials.callback_secret)
    return SegmentTranscriber(emu.asr.client(), **kwargs)


def truth(room: SampleRoom) -> list[tuple[str, str]]:
    return [(u.user_id, u.text) for u in room.utterances()]


def words_of(t: RoomTranscript) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for u in t.utterances:
        out.setdefault(u.user_id, []).extend(w.text for w in u.words)
    return out


@pytest.mark.parametrize("redundant_ms", [0, 2500])
@pytest.mark.parametrize("align", [True, False])
@pytest.mark.parametrize("shuffle", [False, True])
def test_sample_room_equals_ground_truth(
    emu: Emulator, redundant_ms: int, align: bool, shuffle: bool
) -> None:
    """The merged transcript equals the ground truth word for word and speaker for speaker."""
    room, bodies = start(emu, redundant_ms=redundant_ms, align=align, shuffle=shuffle)
    with transcriber(emu, redundant_duration_ms=redundant_ms) as t:
        accepted = [t.submit(body) for body in bodies]
        (final,) = t.finish(timeout=30)
    assert accepted.count(True) == len(emu.rtc.segments)
    assert [(u.user_id, u.text) for u in final.utterances] == truth(room)
    assert words_of(final) == {user: [w.text for w in room.words(user)] for user in room.tracks}
    assert final.complete
    assert final.segments == len(emu.rtc.segments)


def test_word_times_land_on_room_time(emu: Emulator) -> None:
    """Word times are shifted to room time: within a few ms of the ground truth, except
    the word cut by a segment edge, which starts at the edge."""
    room, bodies = start(emu)
    with transcriber(emu) as t:
        for body in bodies:
            t.submit(body)
        (final,) = t.finish(timeout=30)
    task_start = final.origin_ms
    for user in room.tracks:
        got = [w for u in final.for_user(user) for w in u.words]
        for word, expected in zip(got, room.words(user)):
            assert abs(word.start_time - expected.start_time) <= 200, word
            assert abs(word.end_time - expected.end_time) <= 5, word
    assert task_start > 1_600_000_000_000  # epoch ms


@pytest.mark.parametrize("redundant_ms", [0, 3000])
def test_mixed_stream_is_kept_apart(emu: Emulator, redundant_ms: int) -> None:
    """With Mixed, the mixed stream has every utterance, apart from the per-user timelines."""
    room, bodies = start(emu, mixed=True, redundant_ms=redundant_ms)
    with transcriber(emu, redundant_duration_ms=redundant_ms) as t:
        for body in bodies:
            t.submit(body)
        (final,) = t.finish(timeout=30)
    assert [(u.user_id, u.text) for u in final.utterances] == truth(room)
    assert [u.text for u in final.mixed] == [u.text for u in room.utterances()]
    assert {u.user_id for u in final.mixed} == {"mixed"}
    assert final.for_user("mixed") == final.mixed
    assert "mixed" not in final.users
    mixed_srt = list(srt.parse(final.to_srt(stream="mixed")))
    assert mixed_srt
    assert all(": " not in cue.content.split("\n")[0][:7] for cue in mixed_srt)


def test_on_utterance_fires_once_per_final_utterance(emu: Emulator) -> None:
    """on_utterance fires once per merged utterance, already in its final form,
    even with shuffled and duplicated deliveries."""
    _, bodies = start(emu, duration=10, redundant_ms=1500, shuffle=True)
    seen: list[RoomUtterance] = []
    lock = threading.Lock()

    def collect(u: RoomUtterance) -> None:
        with lock:
            seen.append(u)

    with transcriber(emu, redundant_duration_ms=1500, on_utterance=collect, origin_ms=None) as t:
        for body in bodies:
            t.submit(body)
        (final,) = t.finish(timeout=30)
    assert len(seen) == len(final.utterances)
    assert sorted((u.user_id, u.text, u.start_epoch_ms) for u in seen) == sorted(
        (u.user_id, u.text, u.start_epoch_ms) for u in final.utterances
    )


def test_utterances_fire_before_the_end(emu: Emulator) -> None:
    """In-order delivery makes early utterances final before the last segment is recognized."""
    room, bodies = start(emu, duration=10)
    fired: list[str] = []
    with transcriber(emu, on_utterance=lambda u: fired.append(u.text)) as t:
        for body in bodies[: len(bodies) // 2]:
            t.submit(body)
        t.wait(timeout=30)
        early = len(fired)
        for body in bodies[len(bodies) // 2 :]:
            t.submit(body)
        t.finish(timeout=30)
    assert early >= 3
    assert len(fired) == len(room.utterances())


def test_transient_recognition_failures_are_retried(emu: Emulator) -> None:
    """Busy answers beyond the client's own retries are retried per segment and recovered."""
    room, bodies = start(emu)
    emu.inject(service="asr", code=55000031, http_status=503, times=4)
    asr = emu.asr.client(max_retries=0)
    with SegmentTranscriber(
        asr,
        resolve_audio=base_url_resolver(emu.url + "/storage"),
        callback_secret=emu.credentials.callback_secret,
        segment_attempts=5,
        max_workers=1,
    ) as t:
        for body in bodies:
            t.submit(body)
        (final,) = t.finish(timeout=30)
    assert final.complete
    assert [(u.user_id, u.text) for u in final.utterances] == truth(room)
    assert len(emu.requests_for("asr")) == len(bodies) + 4


def test_permanent_failure_is_reported_as_a_gap(emu: Emulator) -> None:
    """A segment that keeps failing becomes a gap with its reason; the rest is transcribed."""
    room, bodies = start(emu)
    base = base_url_resolver(emu.url + "/storage")
    calls: dict[int, int] = {}

    def flaky(segment: Segment) -> str:
        if segment.user_id == "alice" and segment.sequence == 1:
            calls[1] = calls.get(1, 0) + 1
            raise errors.ServerError("storage unavailable", http_status=503)
        return base(segment)

    with transcriber(emu, resolve_audio=flaky, segment_attempts=3) as t:
        for body in bodies:
            t.submit(body)
        (final,) = t.finish(timeout=30)
    assert calls[1] == 3
    (gap,) = final.gaps
    assert (gap.user_id, gap.sequence, gap.error_type) == ("alice", 1, "ServerError")
    assert gap.attempts == 3
    assert (gap.start_time, gap.end_time) == (20000, 40000)
    assert "storage unavailable" in gap.reason
    assert not final.complete
    alice = [u.text for u in final.for_user("alice")]
    assert "The designs are ready for review." not in alice
    assert "Good morning everyone. Let us start with updates." in alice
    assert [u.text for u in final.for_user("bob")] == [
        u.text for u in room.tracks["bob"].utterances
    ]
    cues = list(srt.parse(final.to_srt()))
    assert any("no transcript" in c.content for c in cues)
    assert final.to_dict()["gaps"][0]["reason"].startswith("ServerError")


def test_resolver_bug_becomes_a_gap_not_a_crash(emu: Emulator) -> None:
    """An unexpected exception in resolve_audio is recorded as a gap, not lost."""
    _, bodies = start(emu)

    def broken(segment: Segment) -> str:
        raise RuntimeError("bug")

    with transcriber(emu, resolve_audio=broken) as t:
        for body in bodies:
            t.submit(body)
        (final,) = t.finish(timeout=30)
    assert len(final.gaps) == len(bodies)
    assert {g.error_type for g in final.gaps} == {"RuntimeError"}


def test_duplicates_are_ignored(emu: Emulator) -> None:
    """The same callback, or the same segment, submitted twice is recognized once."""
    _, bodies = start(emu)
    with transcriber(emu) as t:
        assert t.submit(bodies[0]) is True
        assert t.submit(bodies[0]) is False
        event = parse_callback(bodies[1], emu.credentials.callback_secret)
        segment = event.segment()
        assert t.submit(segment) is True
        assert t.submit(segment) is False
        t.finish(timeout=30)
    assert len(emu.requests_for("asr")) == 2


def test_raw_callbacks_are_verified(emu: Emulator) -> None:
    """Tampered callbacks are refused; raw bodies need the secret; other events are skipped."""
    _, bodies = start(emu)
    tampered = dict(bodies[0])
    data = json.loads(tampered["EventData"])
    data["UserId"] = "mallory"
    tampered["EventData"] = json.dumps(data)
    with transcriber(emu) as t:
        with pytest.raises(errors.CallbackSignatureError):
            t.submit(tampered)
        other = {
            "EventType": "RecordStarted",
            "EventData": "{}",
            "EventTime": str(int(time.time() * 1000)),
            "EventId": "evt-other",
            "AppId": "demo-app",
            "Version": "2020-12-01",
            "Nonce": "n",
        }
        other["Signature"] = sign_callback(other, emu.credentials.callback_secret)
        assert t.submit(other) is False
        with pytest.raises(TypeError):
            t.submit(42)  # type: ignore[arg-type]
        t.finish()
        with pytest.raises(RuntimeError, match="finished"):
            t.submit(bodies[0])
    with (
        SegmentTranscriber(emu.asr.client(), resolve_audio=str) as no_secret,
        pytest.raises(errors.ConfigurationError, match="callback_secret"),
    ):
        no_secret.submit(bodies[0])


def test_feed_yields_growing_transcripts(emu: Emulator) -> None:
    """feed() yields snapshots as segments finish; the last one holds every segment."""
    room, bodies = start(emu)
    with transcriber(emu) as t:
        snapshots = list(t.feed(bodies + bodies[:2]))
    assert snapshots
    assert [s.segments for s in snapshots] == sorted(s.segments for s in snapshots)
    assert snapshots[-1].pending == 0
    assert [(u.user_id, u.text) for u in snapshots[-1].utterances] == truth(room)


def test_any_executor_and_origin(emu: Emulator) -> None:
    """A caller's executor is used and left running; origin_ms sets room time zero."""
    room, bodies = start(emu)
    first = parse_callback(bodies[0], emu.credentials.callback_secret).segment()
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        with transcriber(emu, executor=pool, origin_ms=first.start_time_ms - 1000) as t:
            for body in bodies:
                t.submit(body)
            (final,) = t.finish(timeout=30)
        assert pool.submit(lambda: 1).result() == 1  # not shut down
    assert final.utterances[0].start_time == room.utterances()[0].start_time + 1000
    assert t.transcript(room.room_id) == final
    with pytest.raises(KeyError):
        t.transcript("nope")


def test_subtitles_and_dict(emu: Emulator) -> None:
    """SRT and VTT parse with real parsers, carry speaker labels, and to_dict is JSON."""
    _, bodies = start(emu)
    with transcriber(emu) as t:
        for body in bodies:
            t.submit(body)
        (final,) = t.finish(timeout=30)
    cues = list(srt.parse(final.to_srt()))
    assert cues[0].content.startswith("alice: Good morning")
    vtt = webvtt.from_buffer(__import__("io").StringIO(final.to_vtt()))
    assert len(vtt.captions) == len(cues)
    assert "<v bob>" in final.to_vtt()
    assert "alice:" not in final.to_srt(speaker_labels=False)
    with pytest.raises(ValueError, match="stream"):
        final.to_srt(stream="nobody")
    json.dumps(final.to_dict())
    assert final.text.splitlines()[0] == "alice: Good morning everyone. Let us start with updates."
    assert final.users == ("alice", "bob")


def test_moderation_reports_user_and_time(emu: Emulator) -> None:
    """The moderator reports each keyword and pattern with the speaker and the words' times."""
    _, bodies = start(emu)
    hits: list[Any] = []
    moderator = Moderator(["payment"], [r"\bFri\w+"], on_match=hits.append)
    with transcriber(emu, on_utterance=moderator) as t:
        for body in bodies:
            t.submit(body)
        t.finish(timeout=30)
    found = sorted((m.user_id, m.matched) for m in moderator.matches)
    assert found == [
        ("alice", "payment"),
        ("alice", "payment"),
        ("bob", "Friday"),
        ("bob", "payment"),
    ]
    assert len(hits) == 4
    friday = next(m for m in moderator.matches if m.matched == "Friday")
    assert 32_000 < friday.start_time < friday.end_time < 34_600


def test_moderator_validation() -> None:
    """Empty keywords and broken patterns are refused with the field name."""
    with pytest.raises(errors.ValidationError, match="keywords"):
        Moderator([" "])
    with pytest.raises(errors.ValidationError, match="patterns"):
        Moderator(patterns=["("])


def test_settings_are_validated(emu: Emulator) -> None:
    """Bad settings are ConfigurationErrors naming the setting."""
    asr = emu.asr.client()
    with pytest.raises(errors.ConfigurationError, match="resolve_audio"):
        SegmentTranscriber(asr, resolve_audio="nope")  # type: ignore[arg-type]
    for name in ("redundant_duration_ms", "max_workers", "segment_attempts", "join_gap_ms"):
        with pytest.raises(errors.ConfigurationError, match=name):
            SegmentTranscriber(asr, resolve_audio=str, **{name: -1})


def _segment(**kw: Any) -> Segment:
    base = {
        "app_id": "a",
        "room_id": "r",
        "task_id": "t",
        "user_id": "u",
        "stream_type": 0,
        "sequence": 0,
        "start_time_ms": 0,
        "duration_ms": 1000,
        "bucket": "seg-bucket",
        "object_key": "dir/x y.wav",
        "url": None,
        "identifier": None,
        "business_id": None,
        "event_id": None,
        "raw": {},
    }
    base.update(kw)
    return Segment(**base)


def test_base_url_resolver() -> None:
    """Bucket and key are joined and escaped; a callback URL wins; bad bases are refused."""
    resolve = base_url_resolver("https://cdn.example.com/seg/")
    assert resolve(_segment()) == "https://cdn.example.com/seg/seg-bucket/dir/x%20y.wav"
    assert resolve(_segment(url="https://x/y.wav")) == "https://x/y.wav"
    with pytest.raises(errors.ValidationError, match="object key"):
        resolve(_segment(object_key=None))
    with pytest.raises(errors.ConfigurationError):
        base_url_resolver("ftp://x")
    with pytest.raises(errors.ConfigurationError):
        base_url_resolver("https://x", template="{nope}")


def test_tos_presigned_resolver_builds_signed_urls() -> None:
    """The TOS resolver presigns GET URLs for the segment's bucket and key (no network)."""
    resolve = tos_presigned_resolver(
        access_key_id="AKLTtos",
        secret_access_key="tos-secret",
        endpoint="tos-cn-beijing.volces.com",
        region="cn-beijing",
        expires=600,
    )
    url = resolve(_segment())
    assert url.startswith("https://seg-bucket.tos-cn-beijing.volces.com/dir/x%20y.wav?")
    assert "X-Tos-Signature=" in url
    assert "X-Tos-Expires=600" in url
    assert "tos-secret" not in url
    with pytest.raises(errors.ConfigurationError, match="client="):
        tos_presigned_resolver()


def test_s3_presigned_resolver_against_a_local_s3() -> None:
    """Presigned URLs from the S3 resolver fetch the object from a real S3 server on loopback."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        kwargs = {
            "endpoint_url": f"http://{host}:{port}",
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        import boto3

        s3 = boto3.client("s3", **kwargs)
        s3.create_bucket(Bucket="seg-bucket")
        s3.put_object(Bucket="seg-bucket", Key="dir/x y.wav", Body=b"RIFF-audio")
        resolve = s3_presigned_resolver(expires=60, **kwargs)
        url = resolve(_segment())
        assert url.startswith(f"http://{host}:{port}/seg-bucket/dir/x%20y.wav?")
        assert requests.get(url, timeout=5).content == b"RIFF-audio"
        other = s3_presigned_resolver(client=s3, bucket="seg-bucket")(_segment(bucket=None))
        assert requests.get(other, timeout=5).content == b"RIFF-audio"
    finally:
        server.stop()


def test_demo_runs_and_matches(tmp_path: Any) -> None:
    """volcspeech demo's function exits 0, prints the transcript and writes a valid SRT."""
    from io import StringIO

    from volcspeech._demo import run_demo

    out = StringIO()
    srt_path = tmp_path / "demo.srt"
    assert (
        run_demo(
            pace=0,
            output=str(srt_path),
            redundant_ms=2000,
            align=False,
            mixed=True,
            shuffle=True,
            out=out,
        )
        == 0
    )
    text = out.getvalue()
    assert "matches the ground truth" in text
    assert "alice: Good morning everyone." in text
    assert len(list(srt.parse(srt_path.read_text()))) >= 12


def test_demo_command_line(tmp_path: Any) -> None:
    """`volcspeech demo` runs as a command and exits 0."""
    from volcspeech import cli

    assert cli.main(["demo", "--pace", "0", "--output", str(tmp_path / "x.srt")]) == 0
