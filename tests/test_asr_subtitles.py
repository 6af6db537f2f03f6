"""Subtitles: readable cues from utterances and valid SRT / WebVTT files."""

from __future__ import annotations

import datetime
import unicodedata

import pytest
import srt
import webvtt

from volcspeech._subtitles import (
    MAX_CUE_MS,
    MAX_LINE_CHARS,
    Cue,
    cues_from_utterances,
    format_srt,
    format_vtt,
    split_cue,
)
from volcspeech.asr import Transcript, Utterance, Word
from volcspeech.errors import ValidationError
from volcspeech.testing._sample import load_sample_room


def width(line: str) -> int:
    """Display width: wide characters count twice."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def words_of(text: str, start: int = 0, step: int = 400) -> tuple[Word, ...]:
    """Evenly timed words of ``text``."""
    return tuple(
        Word(w, start + i * step, start + i * step + step - 50) for i, w in enumerate(text.split())
    )


def utterance(text: str, start: int = 0, step: int = 400, speaker: str | None = None) -> Utterance:
    """An utterance with evenly timed words."""
    words = words_of(text, start, step)
    additions = {"speaker": speaker} if speaker else {}
    return Utterance(text, words[0].start_time, words[-1].end_time, words, additions=additions)


def assert_readable(cues: list[Cue], line_chars: int = MAX_LINE_CHARS) -> None:
    """Every cue respects the line, line-count and duration rules."""
    for cue in cues:
        lines = cue.text.split("\n")
        assert 1 <= len(lines) <= 2, cue
        label = len(cue.speaker) + 2 if cue.speaker else 0
        assert width(lines[0]) + label <= line_chars, cue
        assert all(width(line) <= line_chars for line in lines), cue
        assert 0 <= cue.start_ms < cue.end_ms, cue
        assert cue.end_ms - cue.start_ms <= MAX_CUE_MS, cue


def test_short_utterance_is_one_cue() -> None:
    """An utterance that fits becomes one cue with its own text and times."""
    cues = cues_from_utterances([utterance("Hello there, world.")])
    assert cues == [Cue(0, 1150, "Hello there, world.")]


def test_long_utterance_is_split_between_words() -> None:
    """A long utterance is split at word boundaries into readable cues keeping punctuation."""
    text = (
        "So, this is a rather long sentence, spoken slowly, that cannot possibly fit into "
        "a single subtitle cue of two lines; it must be split."
    )
    cues = cues_from_utterances([utterance(text)])
    assert len(cues) > 1
    assert_readable(cues)
    assert " ".join(c.text.replace("\n", " ") for c in cues) == text
    for before, after in zip(cues, cues[1:]):
        assert before.end_ms <= after.start_ms


def test_duration_limit_splits_slow_speech() -> None:
    """Few words spoken over more than 7 s are split by time."""
    cues = cues_from_utterances([utterance("one two three four five", step=2500)])
    assert len(cues) >= 2
    assert_readable(cues)


def test_speaker_labels() -> None:
    """A speaker becomes 'Name: ' in SRT and a <v Name> voice in WebVTT; its width counts."""
    cues = cues_from_utterances([utterance("hi there", speaker="alice")])
    assert cues[0].speaker == "alice"
    assert format_srt(cues).splitlines()[2] == "alice: hi there"
    assert "<v alice>hi there" in format_vtt(cues)
    assert "alice" not in format_srt(cues, speakers=False)
    assert "alice" not in format_vtt(cues, speakers=False)
    multiline = [Cue(0, 10, "x", "ann\nlee ")]
    assert format_srt(multiline).splitlines()[2] == "ann lee: x"
    assert "<v ann lee>x" in format_vtt(multiline)
    assert cues_from_utterances([utterance("hi", speaker="bob")], speakers=False)[0].speaker is None


def test_chinese_text_keeps_punctuation_and_counts_double_width() -> None:
    """CJK words (characters) are found in the text; wide characters fill lines twice as fast."""
    comma, stop = "\uff0c", "\u3002"  # fullwidth comma, ideographic full stop
    text = f"今天我们讨论一下新版本的发布计划{comma}" * 4 + f"然后确认测试的安排{stop}"
    words = tuple(
        Word(c, i * 200, i * 200 + 150) for i, c in enumerate(text) if c not in (comma, stop)
    )
    cues = cues_from_utterances([Utterance(text, 0, words[-1].end_time, words)])
    assert_readable(cues)
    joined = "".join(c.text.replace("\n", "") for c in cues)
    assert joined == text
    assert all(not line.startswith((comma, stop)) for c in cues for line in c.text.split("\n"))


def test_words_not_found_in_text_are_joined() -> None:
    """When words cannot be aligned with the text they are joined (spaces for Latin script)."""
    words = words_of("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu")
    u = Utterance("completely different text " * 5, 0, words[-1].end_time, words)
    cues = cues_from_utterances([u], max_line_chars=20, max_lines=1)
    assert cues[0].text.startswith("alpha beta")
    assert_readable(cues, 20)


def test_utterance_without_words_is_cut_by_lines() -> None:
    """Without word timings a long text is cut by lines and the time shared by length."""
    text = "word " * 60
    cues = cues_from_utterances([Utterance(text, 1000, 13000)])
    assert len(cues) == 4
    assert cues[0].start_ms == 1000
    assert cues[-1].end_ms == 13000
    assert_readable([c for c in cues if c.end_ms - c.start_ms <= MAX_CUE_MS])


def test_fallback_to_words_without_utterances() -> None:
    """With no utterances, words are grouped into cues the same way."""
    words = words_of("alpha beta gamma " * 10, start=500)
    cues = cues_from_utterances([], words=words)
    assert cues[0].start_ms == 500
    assert_readable(cues)
    assert cues_from_utterances([]) == []


def test_empty_texts_are_skipped_and_utterances_sorted() -> None:
    """Utterances without text are skipped; cues come out in time order."""
    late = utterance("later", start=5000)
    early = utterance("earlier", start=0)
    blank = Utterance("", 100, 200)
    only_words = Utterance("", 3000, 3400, words_of("from words", start=3000))
    cues = cues_from_utterances([late, blank, only_words, early])
    assert [c.text for c in cues] == ["earlier", "from words", "later"]


def test_a_very_long_word_is_cut() -> None:
    """A unit longer than a line (a URL) is cut across lines."""
    url = "https://example.com/" + "x" * 100
    cues = split_cue(Cue(0, 3000, url))
    assert all(width(line) <= MAX_LINE_CHARS for c in cues for line in c.text.split("\n"))
    assert "".join(c.text.replace("\n", "") for c in cues) == url


def test_split_cue_accepts_word_tuples() -> None:
    """split_cue takes (text, start, end) tuples, as the pipeline passes them."""
    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    tuples = [(w, i * 300, i * 300 + 250) for i, w in enumerate(text.split())]
    cues = split_cue(Cue(0, 4500, text, "bob"), tuples, max_line_chars=30)
    assert len(cues) > 1
    assert all(c.speaker == "bob" for c in cues)
    assert_readable(cues, 30)
    assert split_cue(Cue(0, 10, "  ")) == []


@pytest.mark.parametrize(
    "kwargs", [{"max_line_chars": 0}, {"max_lines": -1}, {"max_cue_ms": True}, {"max_lines": 1.5}]
)
def test_limits_are_validated(kwargs: dict[str, object]) -> None:
    """Limits must be positive ints."""
    with pytest.raises(ValidationError):
        cues_from_utterances([], **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        split_cue(Cue(0, 1, "x"), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("start", "end"), [(-1, 5), (5, 5), (5, 4), (0.5, 2), (True, 3)])
def test_cues_need_increasing_integer_times(start: object, end: object) -> None:
    """A cue starts at an int >= 0 and ends after it."""
    with pytest.raises(ValidationError):
        Cue(start, end, "x")  # type: ignore[arg-type]


def test_zero_length_words_get_a_millisecond() -> None:
    """Words with start == end still give cues with end > start."""
    words = (Word("a", 100, 100), Word("b", 100, 100))
    cues = cues_from_utterances([Utterance("a b", 100, 100, words)])
    assert cues == [Cue(100, 101, "a b")]


# --- formats -------------------------------------------------------------------------


def test_srt_format_exactly() -> None:
    """Numbering, comma timestamps, hours, blank-line separation and no blank line in a cue."""
    cues = [
        Cue(0, 1500, "first\n\nline", "alice"),
        Cue(2000, 2001, "   "),
        Cue(3_723_004, 3_725_000, "a --> b"),
    ]
    assert format_srt(cues) == (
        "1\n00:00:00,000 --> 00:00:01,500\nalice: first\nline\n\n"
        "2\n01:02:03,004 --> 01:02:05,000\na -> b\n"
    )
    assert format_srt([]) == ""


def test_vtt_format_exactly() -> None:
    """Header, identifiers, dot timestamps, escaping and voice spans."""
    cues = [Cue(0, 1500, "Tom & Jerry <3", "A<B>"), Cue(2000, 2500, "x --> y")]
    assert format_vtt(cues) == (
        "WEBVTT\n\n"
        "1\n00:00:00.000 --> 00:00:01.500\n<v A&lt;B&gt;>Tom &amp; Jerry &lt;3\n\n"
        "2\n00:00:02.000 --> 00:00:02.500\nx --&gt; y\n"
    )
    assert format_vtt([]) == "WEBVTT\n"


def _room_transcript() -> Transcript:
    room = load_sample_room()
    utterances = []
    for u in room.utterances():
        words = tuple(Word(w.text, w.start_time, w.end_time) for w in u.words)
        additions = {"speaker": u.user_id}
        utterances.append(Utterance(u.text, u.start_time, u.end_time, words, additions=additions))
    return Transcript(text=" ".join(u.text for u in utterances), utterances=tuple(utterances))


def test_srt_parses_back_with_the_srt_library() -> None:
    """The sample room's SRT parses with ``srt`` into the same cues."""
    transcript = _room_transcript()
    cues = transcript.cues(max_line_chars=30)
    parsed = list(srt.parse(transcript.to_srt(max_line_chars=30)))
    assert [p.index for p in parsed] == list(range(1, len(cues) + 1))
    for p, cue in zip(parsed, cues):
        assert p.start == datetime.timedelta(milliseconds=cue.start_ms)
        assert p.end == datetime.timedelta(milliseconds=cue.end_ms)
        assert p.content == f"{cue.speaker}: {cue.text}"
    assert len(cues) > len(transcript.utterances)  # some were split
    assert_readable(cues, 30)


def ms(stamp: webvtt.models.Timestamp) -> int:
    """Milliseconds of a webvtt-py timestamp."""
    seconds = (stamp.hours * 60 + stamp.minutes) * 60 + stamp.seconds
    return seconds * 1000 + stamp.milliseconds


def test_vtt_parses_back_with_webvtt_py() -> None:
    """The sample room's WebVTT parses with ``webvtt-py``, voices included."""
    transcript = _room_transcript()
    cues = transcript.cues()
    captions = list(webvtt.from_string(transcript.to_vtt()))
    assert len(captions) == len(cues)
    for caption, cue in zip(captions, cues):
        assert ms(caption.start_time) == cue.start_ms
        assert ms(caption.end_time) == cue.end_ms
        assert caption.voice == cue.speaker
        assert caption.text == cue.text
    text = "".join(c.text.replace("\n", " ") + " " for c in cues)
    assert "Maria" in text
