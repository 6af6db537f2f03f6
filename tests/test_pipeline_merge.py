"""The pure merge rules, checked on the sample room cut the way RTC cuts it."""

from __future__ import annotations

import itertools
import random

import pytest

from volcspeech.pipeline import join_text
from volcspeech.pipeline._merge import (
    PieceUtterance,
    PieceWord,
    SegmentPiece,
    merge_stream,
)
from volcspeech.testing import SampleRoom, load_sample_room

EPOCH = 1_700_000_000_000


def cut(room: SampleRoom, user: str, duration_s: int, redundant_ms: int) -> list[SegmentPiece]:
    """Cut one user's words into segments and 'recognize' them like the emulator does."""
    d = duration_s * 1000
    pieces = []
    for n in itertools.count():
        lo, hi = max(0, n * d - redundant_ms), min((n + 1) * d, room.duration_ms)
        if lo >= room.duration_ms:
            break
        utterances = []
        for u in room.tracks[user].utterances:
            words = []
            for w in u.words:
                inside = min(w.end_time, hi) - max(w.start_time, lo)
                length = w.end_time - w.start_time
                # More than half inside; an exact half goes to the earlier slice.
                if inside * 2 > length or (inside * 2 == length and w.start_time >= lo):
                    words.append(
                        PieceWord(
                            w.text, EPOCH + max(w.start_time, lo), EPOCH + min(w.end_time, hi)
                        )
                    )
            if words:
                whole = len(words) == len(u.words)
                text = u.text if whole else " ".join(w.text for w in words)
                utterances.append(PieceUtterance(text, tuple(words)))
        pieces.append(SegmentPiece(n, EPOCH + lo, EPOCH + hi, tuple(utterances)))
    return pieces


@pytest.mark.parametrize("duration_s", [10, 20])
@pytest.mark.parametrize("redundant_ms", [0, 1500, 3000])
@pytest.mark.parametrize("user", ["alice", "bob"])
def test_merge_equals_ground_truth(duration_s: int, redundant_ms: int, user: str) -> None:
    """Merged utterances equal the sample room's, word for word, for any cut."""
    room = load_sample_room()
    merged = merge_stream(
        cut(room, user, duration_s, redundant_ms), redundant_duration_ms=redundant_ms
    )
    truth = room.tracks[user].utterances
    assert [m.text for m in merged] == [u.text for u in truth]
    for m, u in zip(merged, truth):
        assert [w.text for w in m.words] == [w.text for w in u.words]
        assert abs((m.start - EPOCH) - u.start_time) <= 200  # a cut word starts at the edge


def test_merge_is_order_independent() -> None:
    """Shuffled pieces merge to the same utterances."""
    room = load_sample_room()
    pieces = cut(room, "alice", 10, 2000)
    expected = merge_stream(pieces, redundant_duration_ms=2000)
    rng = random.Random(7)
    for _ in range(10):
        rng.shuffle(pieces)
        assert merge_stream(pieces, redundant_duration_ms=2000) == expected


def test_failed_neighbour_lets_redundant_head_fill_in() -> None:
    """When the previous segment failed, the next one's redundant head is kept."""
    words_a = (PieceWord("one", 100, 400), PieceWord("two", 900, 1200))
    words_b = (PieceWord("two", 900, 1200), PieceWord("three", 1300, 1500))
    a = SegmentPiece(0, 0, 1000, (PieceUtterance("one two", words_a),), failed=True)
    b = SegmentPiece(1, 800, 2000, (PieceUtterance("two three", words_b),))
    merged = merge_stream([a, b], redundant_duration_ms=200)
    assert [m.text for m in merged] == ["two three"]


def test_word_heard_on_both_sides_is_taken_once() -> None:
    """A word cut by the edge and heard by both segments appears once (the longer copy)."""
    a = SegmentPiece(
        0,
        0,
        1000,
        (PieceUtterance("go now", (PieceWord("go", 500, 700), PieceWord("now", 850, 990))),),
    )
    b = SegmentPiece(
        1,
        1000,
        2000,
        (
            PieceUtterance(
                "now please", (PieceWord("now", 1000, 1150), PieceWord("please", 1300, 1600))
            ),
        ),
    )
    merged = merge_stream([a, b])
    assert [w.text for m in merged for w in m.words] == ["go", "now", "please"]
    assert merged[0].text == "go now please"


def test_far_apart_pieces_are_not_joined() -> None:
    """Utterances separated by a long pause across an edge stay apart."""
    a = SegmentPiece(0, 0, 1000, (PieceUtterance("hello.", (PieceWord("hello.", 100, 300),)),))
    b = SegmentPiece(1, 1000, 2000, (PieceUtterance("bye.", (PieceWord("bye.", 1700, 1900),)),))
    assert [m.text for m in merge_stream([a, b])] == ["hello.", "bye."]


def test_silent_and_empty_pieces() -> None:
    """Silent segments contribute nothing and break nothing."""
    a = SegmentPiece(0, 0, 1000)
    b = SegmentPiece(1, 1000, 2000, (PieceUtterance("hi", (PieceWord("hi", 1100, 1300),)),))
    assert [m.text for m in merge_stream([a, b])] == ["hi"]
    assert merge_stream([]) == []


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("hello", "world", "hello world"),
        ("关闭", "透传。", "关闭透传。"),
        ("", "x", "x"),
        ("x ", "", "x"),
        ("ok,", "すぐ", "ok,すぐ"),
    ],
)
def test_join_text(left: str, right: str, joined: str) -> None:
    """Pieces join with a space, except next to CJK characters."""
    assert join_text(left, right) == joined
