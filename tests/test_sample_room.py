"""Tests for the bundled sample room (``volcspeech.testing.load_sample_room``)."""

from __future__ import annotations

import array
import math
import sys

import attrs
import pytest

from volcspeech.testing import (
    SampleRoom,
    SampleWord,
    load_sample_room,
)

SILENCE_RMS = 500.0  # every word is far louder than this (espeak peaks are ~10-30k)


@pytest.fixture(scope="module")
def room() -> SampleRoom:
    """Return the cached sample room."""
    return load_sample_room()


def _samples(room: SampleRoom, user_id: str) -> array.array[int]:
    pcm = array.array("h")
    pcm.frombytes(room.tracks[user_id].pcm)
    if sys.byteorder != "little":
        pcm.byteswap()
    return pcm


def _span(word: SampleWord, rate: int) -> slice:
    return slice(word.start_time * rate // 1000, word.end_time * rate // 1000)


def test_room_metadata(room: SampleRoom) -> None:
    """The room has the documented ids, users, rate and a 40-50 s duration."""
    assert room.app_id == "demo-app"
    assert room.room_id == "demo-room"
    assert sorted(room.tracks) == ["alice", "bob"]
    assert room.sample_rate == 16000
    assert 40000 <= room.duration_ms <= 50000


def test_track_durations_match_room(room: SampleRoom) -> None:
    """Every track is a 16 kHz mono 16-bit WAV exactly as long as the room."""
    for user_id, track in room.tracks.items():
        assert track.user_id == user_id
        assert track.sample_rate == room.sample_rate
        assert track.duration_ms == room.duration_ms
        assert len(track.pcm) == room.duration_ms * 16 * 2
        assert track.wav[:4] == b"RIFF"
        assert track.wav[8:12] == b"WAVE"
        assert track.wav.endswith(track.pcm)


def test_utterance_bounds_and_text_match_words(room: SampleRoom) -> None:
    """Each utterance starts/ends with its first/last word and its text joins the words."""
    for utt in room.utterances():
        assert utt.words
        assert utt.start_time == utt.words[0].start_time
        assert utt.end_time == utt.words[-1].end_time
        assert utt.text == " ".join(w.text for w in utt.words)
        assert utt.text[-1] in ".?!"


def test_words_sorted_and_inside_room(room: SampleRoom) -> None:
    """Each user's words are non-empty, disjoint, in time order and inside the room."""
    for user_id in room.tracks:
        words = room.words(user_id)
        assert len(words) >= 20
        previous_end = 0
        for word in words:
            assert word.text.strip() == word.text != ""
            assert previous_end <= word.start_time < word.end_time <= room.duration_ms
            previous_end = word.end_time


def test_utterances_sorted_and_speakers_alternate(room: SampleRoom) -> None:
    """``utterances()`` is sorted, turns alternate between users and never overlap."""
    utterances = room.utterances()
    assert 10 <= len(utterances) <= 14
    keys = [(u.start_time, u.user_id) for u in utterances]
    assert keys == sorted(keys)
    for first, second in zip(utterances, utterances[1:]):
        assert first.user_id != second.user_id
        assert first.end_time <= second.start_time
        assert 1 <= len(first.words) <= 15


def test_audio_is_loud_under_every_word(room: SampleRoom) -> None:
    """The audio under every word of every user has speech-level RMS."""
    for user_id in room.tracks:
        pcm = _samples(room, user_id)
        for word in room.words(user_id):
            chunk = pcm[_span(word, room.sample_rate)]
            rms = math.sqrt(sum(s * s for s in chunk) / len(chunk))
            assert rms > SILENCE_RMS, (user_id, word)


def test_audio_is_exact_zero_outside_words(room: SampleRoom) -> None:
    """Outside a user's words the user's track is exact digital silence."""
    for user_id in room.tracks:
        pcm = _samples(room, user_id)
        for word in room.words(user_id):
            span = _span(word, room.sample_rate)
            pcm[span] = array.array("h", bytes(2 * (span.stop - span.start)))
        assert not any(pcm), user_id


def test_a_word_straddles_20000_ms(room: SampleRoom) -> None:
    """Exactly one word (alice's) crosses 20000 ms by more than 100 ms on both sides."""
    hits = [
        (user_id, word)
        for user_id in room.tracks
        for word in room.words(user_id)
        if word.start_time < 20000 < word.end_time
    ]
    assert len(hits) == 1
    user_id, word = hits[0]
    assert user_id == "alice"
    assert word.start_time < 20000 - 100
    assert word.end_time > 20000 + 100
    utterance = next(u for u in room.tracks[user_id].utterances if word in u.words)
    assert utterance.words[0] != word  # the utterance starts before the boundary word
    assert utterance.words[-1] != word  # and continues after it


def test_utterance_crosses_40000_ms_between_words(room: SampleRoom) -> None:
    """An utterance spans 40000 ms but no word of either speaker straddles it."""
    spanning = [u for u in room.utterances() if u.start_time < 40000 < u.end_time]
    assert len(spanning) == 1
    for user_id in room.tracks:
        assert not [w for w in room.words(user_id) if w.start_time < 40000 < w.end_time]


def test_documented_cases_match_timeline(room: SampleRoom) -> None:
    """Every case in ``notes["cases"]`` is true of the loaded timeline."""
    cases = room.notes["cases"]
    assert {c["boundary_ms"] for c in cases} >= {10000, 20000, 40000}
    for case in cases:
        boundary = case["boundary_ms"]
        words = room.words(case["user_id"])
        utterance = next(
            u for u in room.tracks[case["user_id"]].utterances if u.text == case["utterance_text"]
        )
        assert utterance.start_time < boundary < utterance.end_time
        if case["kind"] == "word_straddles_boundary":
            word = SampleWord(case["word"], case["word_start_time"], case["word_end_time"])
            assert word in words
            assert word.start_time < boundary < word.end_time
        else:
            assert case["kind"] == "utterance_spans_boundary_in_word_gap"
            assert case["word_before_end_time"] < boundary < case["word_after_start_time"]
            assert not [w for w in words if w.start_time < boundary < w.end_time]


def test_each_user_has_a_long_silence(room: SampleRoom) -> None:
    """Each user has at least one stretch of 2 s or more without speech."""
    for user_id in room.tracks:
        words = room.words(user_id)
        gaps = [b.start_time - a.end_time for a, b in zip(words, words[1:])]
        gaps += [words[0].start_time, room.duration_ms - words[-1].end_time]
        assert max(gaps) >= 2000, user_id


def test_words_of_unknown_user_raise_key_error(room: SampleRoom) -> None:
    """Asking for the words of a user who is not in the room raises ``KeyError``."""
    with pytest.raises(KeyError):
        room.words("carol")


def test_room_is_immutable(room: SampleRoom) -> None:
    """The cached room cannot be modified by a test that uses it."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        room.duration_ms = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        room.tracks["carol"] = room.tracks["alice"]  # type: ignore[index]
    with pytest.raises(TypeError):
        room.notes["cases"][0]["boundary_ms"] = 0
    assert "wav=" not in repr(room.tracks["alice"])


def test_loader_is_cached() -> None:
    """Repeated loads return the same object, and a fresh load returns an equal one."""
    first = load_sample_room()
    assert load_sample_room() is first
    load_sample_room.cache_clear()
    second = load_sample_room()
    assert second is not first
    assert second == first
    assert load_sample_room() is second
