"""The incremental merge equals the pure reference merge, whatever the arrival order."""

from __future__ import annotations

import random
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volcspeech.pipeline import MIXED_USER, RoomKey
from volcspeech.pipeline._merge import PieceUtterance, PieceWord, SegmentPiece, merge_stream
from volcspeech.pipeline._room import LiveRoom
from volcspeech.pipeline._timeline import StreamTimeline, merge_incremental

EPOCH = 1_700_000_000_000

Timeline = list[list[tuple[str, int, int]]]  # utterances of (word, start, end), room ms


@st.composite
def speech(draw: st.DrawFn, length_ms: int = 60_000) -> Timeline:
    """One speaker's utterances: words of 80-900 ms, pauses of 0-3 s, some long silences."""
    utterances: Timeline = []
    t = draw(st.integers(0, 3000))
    while t < length_ms:
        words = []
        for _ in range(draw(st.integers(1, 12))):
            duration = draw(st.integers(80, 900))
            if t + duration > length_ms:
                break
            words.append(
                (draw(st.sampled_from(["go", "now", "ok", "是", "好", "wait"])), t, t + duration)
            )
            t += duration + draw(st.integers(0, 400))
        if words:
            utterances.append(words)
        t += draw(st.integers(300, 6000))
    return utterances


def cut(
    utterances: Timeline, duration_ms: int, redundant_ms: int, length_ms: int = 60_000
) -> list[SegmentPiece]:
    """Cut a speaker's words into segments and 'recognize' them like the emulator does."""
    pieces = []
    n = 0
    while n * duration_ms < length_ms:
        lo, hi = max(0, n * duration_ms - redundant_ms), min((n + 1) * duration_ms, length_ms)
        found = []
        for words in utterances:
            kept = []
            for text, start, end in words:
                inside = min(end, hi) - max(start, lo)
                if inside * 2 > end - start or (inside * 2 == end - start and start >= lo):
                    kept.append(PieceWord(text, EPOCH + max(start, lo), EPOCH + min(end, hi)))
            if kept:
                whole = len(kept) == len(words)
                text = (
                    " ".join(w[0] for w in words) + "." if whole else " ".join(w.text for w in kept)
                )
                found.append(PieceUtterance(text, tuple(kept)))
        pieces.append(SegmentPiece(n, EPOCH + lo, EPOCH + hi, tuple(found)))
        n += 1
    return pieces


def arrival(pieces: Sequence[SegmentPiece], seed: int, duplicates: int) -> list[SegmentPiece]:
    """The pieces shuffled, some delivered twice."""
    rng = random.Random(seed)
    order = list(pieces) + [rng.choice(pieces) for _ in range(duplicates)]
    rng.shuffle(order)
    return order


common = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(
    speech(),
    st.sampled_from([5_000, 10_000, 20_000]),
    st.sampled_from([0, 500, 1_500, 3_000]),
    st.integers(0, 2**32),
    st.integers(0, 5),
    st.sets(st.integers(0, 11), max_size=3),
)
def test_incremental_merge_equals_reference(
    utterances: Timeline,
    duration_ms: int,
    redundant_ms: int,
    seed: int,
    duplicates: int,
    failed: set[int],
) -> None:
    """Pieces merged one at a time, shuffled, duplicated and with failures, equal the
    reference merge of them all at once."""
    pieces = [
        SegmentPiece(p.sequence, p.start, p.end, (), failed=True) if p.sequence in failed else p
        for p in cut(utterances, duration_ms, redundant_ms)
    ]
    expected = merge_stream(pieces, redundant_duration_ms=redundant_ms)
    got = merge_incremental(arrival(pieces, seed, duplicates), redundant_duration_ms=redundant_ms)
    assert got == expected


@common
@given(
    speech(),
    speech(),
    st.sampled_from([5_000, 10_000, 20_000]),
    st.sampled_from([0, 1_500, 3_000]),
    st.integers(0, 2**32),
)
def test_live_room_with_mixed_stream_equals_reference(
    alice: Timeline, bob: Timeline, duration_ms: int, redundant_ms: int, seed: int
) -> None:
    """A room fed two users and the mixed stream in a shuffled, duplicated order gives each
    stream the reference merge, and on_utterance-style emission hands out exactly the final
    utterances, each once."""
    bob = [[(text.upper() + "!", start, end) for text, start, end in words] for words in bob]
    mixed = sorted(alice + bob, key=lambda u: u[0][1])  # crosstalk included
    streams = {"alice": alice, "bob": bob, MIXED_USER: mixed}
    cuts = {user: cut(words, duration_ms, redundant_ms) for user, words in streams.items()}
    deliveries = [(user, p) for user, pieces in cuts.items() for p in pieces]
    rng = random.Random(seed)
    deliveries += [rng.choice(deliveries) for _ in range(4)]
    rng.shuffle(deliveries)
    room = LiveRoom(RoomKey("a", "r", "t"), redundant_ms, 500, None)
    seen: set[tuple[str, int, int]] = set()
    emitted = []
    for user, piece in deliveries:
        mark = (user, piece.start, piece.sequence or 0)
        if mark in seen:  # the transcriber's store refuses a known segment identity
            continue
        seen.add(mark)
        emitted.extend(room.add(user, piece))
    emitted.extend(room.rest())
    transcript = room.transcript()
    for user, pieces in cuts.items():
        expected = merge_stream(pieces, redundant_duration_ms=redundant_ms)
        assert room.streams[user].timeline.utterances() == expected
    assert sorted((u.user_id, u.start_epoch_ms, u.text) for u in emitted) == sorted(
        (u.user_id, u.start_epoch_ms, u.text) for u in transcript.utterances + transcript.mixed
    )


def test_in_order_insertions_touch_only_neighbours() -> None:
    """Appending a segment re-reads at most its left neighbour and itself."""
    words: Timeline = [
        [("w", t, t + 300) for t in range(k, k + 4000, 400)] for k in range(0, 600_000, 5000)
    ]
    timeline = StreamTimeline(1_500, 500)
    for piece in cut(words, 10_000, 1_500, 600_000):
        first, last = timeline.insert(piece)
        assert last - first <= 1
    assert len(timeline) == 60


def test_a_known_segment_is_ignored() -> None:
    """Inserting the same segment twice changes nothing."""
    piece = SegmentPiece(0, 0, 1000, (PieceUtterance("hi", (PieceWord("hi", 100, 300),)),))
    timeline = StreamTimeline()
    timeline.insert(piece)
    before = timeline.utterances()
    assert timeline.insert(piece) == (1, 0)
    assert timeline.utterances() == before
