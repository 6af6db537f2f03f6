"""Subtitles (SubRip and WebVTT) from timed utterances and words.

Generic on purpose: anything with ``text``, ``start_time``, ``end_time`` (ms)
and ``words`` works as an utterance (an ASR :class:`~volcspeech.asr.Utterance`,
a merged room transcript's lines), and an optional ``speaker`` attribute
labels the cue.

Readability rules (the usual broadcast ones, all adjustable): at most
:data:`MAX_LINE_CHARS` per line (East Asian wide characters count double), at
most :data:`MAX_LINES` lines and :data:`MAX_CUE_MS` per cue. A longer
utterance is split between words; each cue keeps the utterance's own
punctuation and spacing when its words can be found in its text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, Union

import attrs

from .errors import ValidationError

__all__ = [
    "MAX_CUE_MS",
    "MAX_LINES",
    "MAX_LINE_CHARS",
    "Cue",
    "TimedText",
    "TimedUtterance",
    "cues_from_utterances",
    "format_srt",
    "format_vtt",
    "split_cue",
]

#: Characters per line (a wide CJK character counts as two).
MAX_LINE_CHARS = 42
#: Lines per cue.
MAX_LINES = 2
#: Longest time one cue stays on screen, in milliseconds.
MAX_CUE_MS = 7000


class TimedText(Protocol):
    """Anything with a text and a time span in milliseconds (a word)."""

    @property
    def text(self) -> str:
        """The text."""

    @property
    def start_time(self) -> int:
        """Start in milliseconds."""

    @property
    def end_time(self) -> int:
        """End in milliseconds."""


class TimedUtterance(TimedText, Protocol):
    """A timed text made of timed words (may be empty)."""

    @property
    def words(self) -> Sequence[TimedText]:
        """The words in time order."""


def _check_start(_: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"Cue.{attribute.name} must be an int >= 0, got {value!r}")


@attrs.frozen
class Cue:
    """One subtitle: a text on screen from ``start_ms`` to ``end_ms``.

    Attributes:
        start_ms: when it appears, in milliseconds.
        end_ms: when it disappears; always after ``start_ms``.
        text: the text, lines separated by ``"\\n"``.
        speaker: who speaks, shown as ``Name: `` (SRT) or a ``<v Name>`` voice (WebVTT).
    """

    start_ms: int = attrs.field(validator=_check_start)
    end_ms: int = attrs.field(validator=_check_start)
    text: str
    speaker: str | None = None

    @end_ms.validator
    def _after_start(self, _: attrs.Attribute[int], value: int) -> None:
        if value <= self.start_ms:
            raise ValidationError(f"Cue.end_ms ({value}) must be after start_ms ({self.start_ms})")


# --- line wrapping -------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def _char_width(c: str) -> int:
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def _width(text: str) -> int:
    return sum(_char_width(c) for c in text)


def _is_punct(c: str) -> bool:
    return unicodedata.category(c).startswith("P")


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Breakable units, each with "a space precedes it".

    Units are whitespace-separated words, except that a line may also break
    before or after a wide (CJK) character; never before punctuation.
    """
    out: list[tuple[str, bool]] = []
    for word in text.split():
        piece, space = word[0], True
        for a, b in zip(word, word[1:]):
            if (_char_width(a) == 2 or _char_width(b) == 2) and not _is_punct(b):
                out.append((piece, space))
                piece, space = b, False
            else:
                piece += b
        out.append((piece, space))
    return out


def _wrap(text: str, width: int, first_offset: int = 0) -> list[str]:
    """Greedy wrapping by display width; a unit wider than a line is cut."""
    lines: list[str] = []
    line, used = "", first_offset
    for token, space in _tokens(text):
        sep = " " if space and line else ""
        need = _width(sep) + _width(token)
        if line and used + need > width:
            lines.append(line)
            line, used, sep = "", 0, ""
        while not line and _width(token) > width - used:
            # A unit longer than a whole line (a URL, a long number): cut it.
            cut, w = 0, used
            while cut < len(token) and w + _char_width(token[cut]) <= width:
                w += _char_width(token[cut])
                cut += 1
            cut = max(cut, 1)
            lines.append(token[:cut])
            token, used = token[cut:], 0
            if not token:
                break
        if token:
            line += sep + token
            used += _width(sep) + _width(token)
    if line:
        lines.append(line)
    return lines


# --- cue building --------------------------------------------------------------------


@attrs.frozen
class _Rules:
    line_chars: int
    lines: int
    cue_ms: int
    label: int  # width taken by a speaker label on the first line

    def fits(self, text: str, duration: int) -> bool:
        return duration <= self.cue_ms and len(self._wrap(text)) <= self.lines

    def _wrap(self, text: str) -> list[str]:
        return _wrap(text, self.line_chars, self.label)

    def render(self, text: str) -> str:
        return "\n".join(self._wrap(text))


def _is_cjk(ch: str) -> bool:
    name = unicodedata.name(ch, "")
    return name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL")) or (
        unicodedata.east_asian_width(ch) in ("W", "F") and not ch.isspace()
    )


def join_text(left: str, right: str) -> str:
    """Join two pieces of text: no space next to a CJK character, one space otherwise."""
    left, right = left.rstrip(), right.lstrip()
    if not left:
        return right
    if not right:
        return left
    if _is_cjk(left[-1]) or _is_cjk(right[0]):
        return left + right
    return f"{left} {right}"


def join_words(texts: Iterable[str]) -> str:
    """Join words with :func:`join_text`.

    ``["关", "闭"]`` gives ``"关闭"``; ``["a", "b"]`` gives ``"a b"``.
    """
    out = ""
    for text in texts:
        out = join_text(out, text)
    return out


def _align(text: str, words: Sequence[TimedText]) -> list[int] | None:
    """Where each word starts in ``text``, or ``None`` if a word is not found in order."""
    starts, pos = [], 0
    for word in words:
        needle = word.text.strip()
        found = text.find(needle, pos) if needle else -1
        if found < 0:
            return None
        starts.append(found)
        pos = found + len(needle)
    return starts


def _span(start: int, end: int) -> tuple[int, int]:
    start = max(0, int(start))
    return start, max(int(end), start + 1)


def _split_words(
    text: str, words: Sequence[TimedText], speaker: str | None, rules: _Rules
) -> list[Cue]:
    starts = _align(text, words)
    if starts is None:
        pieces = [w.text.strip() for w in words]

        def piece_text(first: int, stop: int) -> str:
            return join_words(pieces[first:stop])

    else:
        aligned = starts

        def piece_text(first: int, stop: int) -> str:
            end = aligned[stop] if stop < len(aligned) else len(text)
            return " ".join(text[aligned[first] : end].split())

    cues: list[Cue] = []
    first = 0
    for index in range(1, len(words) + 1):
        if index < len(words):
            candidate = piece_text(first, index + 1)
            duration = words[index].end_time - words[first].start_time
            if rules.fits(candidate, duration):
                continue
        group = piece_text(first, index)
        if group:
            start, end = _span(words[first].start_time, words[index - 1].end_time)
            cues.append(Cue(start, end, rules.render(group), speaker))
        first = index
    return cues


def _split_text(text: str, start: int, end: int, speaker: str | None, rules: _Rules) -> list[Cue]:
    """No word timings: cut by lines and share the time out by length."""
    lines = _wrap(text, rules.line_chars, rules.label)
    groups = [lines[i : i + rules.lines] for i in range(0, len(lines), rules.lines)]
    total = sum(_width(line) for line in lines) or 1
    cues, done = [], 0
    for group in groups:
        begin = start + (end - start) * done // total
        done += sum(_width(line) for line in group)
        finish = start + (end - start) * done // total
        cues.append(Cue(*_span(begin, finish), "\n".join(group), speaker))
    return cues


def _label(speaker: Any) -> str | None:
    """A speaker name on one line (a line break would end an SRT/VTT cue)."""
    if speaker is None:
        return None
    return " ".join(str(speaker).split()) or None


@attrs.frozen
class _Word:
    text: str
    start_time: int
    end_time: int


def _as_word(word: Any) -> TimedText:
    if isinstance(word, tuple):
        text, start, end = word
        return _Word(str(text), int(start), int(end))
    return word  # type: ignore[no-any-return]


def _check_limits(**limits: int) -> None:
    for name, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValidationError(f"{name} must be a positive int, got {value!r}")


def split_cue(
    cue: Cue,
    words: Iterable[Union[TimedText, tuple[str, int, int]]] = (),
    *,
    max_line_chars: int = MAX_LINE_CHARS,
    max_lines: int = MAX_LINES,
    max_cue_ms: int = MAX_CUE_MS,
) -> list[Cue]:
    """Make one long cue readable: wrap its lines and split it between words.

    A cue that fits the limits comes back as one cue with its lines wrapped.
    A longer one is split between words (greedily: each cue takes as many
    words as fit), keeping the cue's own punctuation and spacing when the words
    can be found in its text. Without word timings it is split by lines and
    the time is shared out by length. The speaker label's width counts on the
    first line.

    Args:
        cue: the cue, e.g. a whole utterance.
        words: its words: objects with ``text``, ``start_time``, ``end_time``
            (ms) or ``(text, start_ms, end_ms)`` tuples, in time order.
        max_line_chars: characters per line (wide characters count as two).
        max_lines: lines per cue.
        max_cue_ms: longest cue duration, in milliseconds.

    Returns:
        The readable cues, in time order (none when there is no text).

    Raises:
        ValidationError: a limit is not a positive int.
    """
    _check_limits(max_line_chars=max_line_chars, max_lines=max_lines, max_cue_ms=max_cue_ms)
    label = _width(cue.speaker) + 2 if cue.speaker else 0
    rules = _Rules(max_line_chars, max_lines, max_cue_ms, label)
    word_list = [_as_word(w) for w in words]
    text = " ".join(cue.text.split())
    if not text and word_list:
        text = join_words(w.text for w in word_list)
    if not text:
        return []
    if rules.fits(text, cue.end_ms - cue.start_ms):
        return [Cue(cue.start_ms, cue.end_ms, rules.render(text), cue.speaker)]
    if word_list:
        return _split_words(text, word_list, cue.speaker, rules)
    return _split_text(text, cue.start_ms, cue.end_ms, cue.speaker, rules)


def cues_from_utterances(
    utterances: Iterable[TimedUtterance],
    *,
    words: Iterable[TimedText] = (),
    max_line_chars: int = MAX_LINE_CHARS,
    max_lines: int = MAX_LINES,
    max_cue_ms: int = MAX_CUE_MS,
    speakers: bool = True,
) -> list[Cue]:
    """Turn utterances into readable cues (see :func:`split_cue` for the rules).

    When there are no utterances at all, ``words`` are grouped the same way.

    Args:
        utterances: the utterances; sorted by start time here.
        words: words to use when ``utterances`` is empty.
        max_line_chars: characters per line (wide characters count as two).
        max_lines: lines per cue.
        max_cue_ms: longest cue duration, in milliseconds.
        speakers: label cues with the utterance's ``speaker`` attribute, when it has one.

    Returns:
        The cues in time order.

    Raises:
        ValidationError: a limit is not a positive int.
    """
    _check_limits(max_line_chars=max_line_chars, max_lines=max_lines, max_cue_ms=max_cue_ms)
    limits = {"max_line_chars": max_line_chars, "max_lines": max_lines, "max_cue_ms": max_cue_ms}
    ordered = sorted(utterances, key=lambda u: (u.start_time, u.end_time))
    if not ordered:
        word_list = sorted(words, key=lambda w: (w.start_time, w.end_time))
        if not word_list:
            return []
        whole = Cue(*_span(word_list[0].start_time, word_list[-1].end_time), "")
        return split_cue(whole, word_list, **limits)
    cues: list[Cue] = []
    for utterance in ordered:
        speaker = _label(getattr(utterance, "speaker", None)) if speakers else None
        cue = Cue(*_span(utterance.start_time, utterance.end_time), utterance.text, speaker)
        cues.extend(split_cue(cue, utterance.words, **limits))
    return cues


# --- formats -------------------------------------------------------------------------


def _timestamp(ms: int, separator: str) -> str:
    ms = max(0, int(ms))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _lines(text: str) -> list[str]:
    """The cue's non-blank lines: a blank line would end the cue early."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _no_arrow(line: str) -> str:
    """The line without ``-->`` (the timing-line arrow), in the text or the speaker label.

    Repeated, since ``"--->"`` becomes ``"-->"`` after one replacement.
    """
    while "-->" in line:
        line = line.replace("-->", "->")
    return line


# A number-only line followed by a line starting like a timestamp reads as the
# start of the next cue to lenient SRT readers (the srt library among them,
# whose patterns these are), even without a "-->"; such pairs are joined.
_SRT_INDEX_LINE = re.compile(r"-?[0-9]+\.?[0-9]*")
_SRT_TIMESTAMP_START = re.compile(r"[0-9]+([,.:\uff0c\uff0e\u3002\uff1a][0-9]+){2}")


def _srt_lines(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if out and _SRT_INDEX_LINE.fullmatch(out[-1]) and _SRT_TIMESTAMP_START.match(line):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return out


def format_srt(cues: Iterable[Cue], *, speakers: bool = True) -> str:
    """Render cues as a SubRip (``.srt``) file.

    Cues are numbered from 1; cues without text are skipped. Times look like
    ``00:01:02,345``. A speaker is shown as a ``Name: `` prefix.

    Args:
        cues: the cues, in the order to number them.
        speakers: prefix lines with the cue's speaker.

    Returns:
        The file's text (empty when there are no cues).
    """
    blocks: list[str] = []
    for cue in cues:
        lines = _lines(cue.text)
        if not lines:
            continue
        label = _label(cue.speaker) if speakers else None
        if label:
            lines[0] = f"{label}: {lines[0]}"
        lines = [_no_arrow(line) for line in _srt_lines(lines)]
        timing = f"{_timestamp(cue.start_ms, ',')} --> {_timestamp(cue.end_ms, ',')}"
        blocks.append(f"{len(blocks) + 1}\n{timing}\n" + "\n".join(lines))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_vtt(cues: Iterable[Cue], *, speakers: bool = True) -> str:
    """Render cues as a WebVTT (``.vtt``) file.

    Starts with ``WEBVTT``; cues carry numeric identifiers; times look like
    ``00:01:02.345``; ``&``, ``<`` and ``>`` are escaped; a speaker becomes a
    ``<v Name>`` voice span.

    Args:
        cues: the cues, in order.
        speakers: mark cues with their speaker's voice.

    Returns:
        The file's text.
    """
    blocks = ["WEBVTT"]
    for cue in cues:
        lines = [_escape_vtt(line) for line in _lines(cue.text)]
        if not lines:
            continue
        label = _label(cue.speaker) if speakers else None
        if label:
            lines[0] = f"<v {_escape_vtt(label)}>{lines[0]}"
        timing = f"{_timestamp(cue.start_ms, '.')} --> {_timestamp(cue.end_ms, '.')}"
        blocks.append(f"{len(blocks)}\n{timing}\n" + "\n".join(lines))
    return "\n\n".join(blocks) + "\n"
