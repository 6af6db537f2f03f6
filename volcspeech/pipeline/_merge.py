"""Merging recognized segments of one stream into one timeline (pure functions).

A segment *n* of a stream covers ``[n·D - R, (n+1)·D]`` of room time: with a
redundant duration ``R`` its head overlaps the tail of segment *n - 1*. The
rules, applied per stream (a user, or the mixed stream):

1. **Absolute times.** Every word is shifted by its segment's start.
2. **One owner per instant.** Where two recognized neighbours overlap, the
   boundary ``b`` is the previous segment's end (``cs + R`` when the previous
   end is unknown). A word belongs to the previous segment when its midpoint
   is before ``b``, to the later one otherwise, so a word straddling ``b`` is
   taken once. If both sides still hold the same word at the boundary (each
   heard part of it), the longer one is kept. A failed or missing neighbour
   owns nothing, so the redundant head then fills in.
3. **Joining.** An utterance cut by a segment edge is joined back when its
   pieces end and start within ``join_gap_ms`` of the boundary.
4. **Text.** An utterance that kept all of its words keeps the recognizer's
   text (punctuation included); otherwise its text is rebuilt from the kept
   words, with no space between CJK characters.

Everything here is deterministic and independent of arrival order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple, Optional

import attrs

from .._subtitles import join_text, join_words

__all__ = ["MergedUtterance", "PieceWord", "SegmentPiece", "merge_stream"]

#: Two copies of one word cut by an edge may be this far apart (ms) and still be one word.
_TOUCH_MS = 50


class PieceWord(NamedTuple):
    """A recognized word in absolute time (epoch ms).

    A named tuple rather than an attrs class: a long room holds one per word,
    and tuples of plain values drop out of the garbage collector's sight.
    """

    text: str
    start: int
    end: int
    confidence: Optional[float] = None

    @property
    def midpoint(self) -> float:
        """The middle of the word."""
        return (self.start + self.end) / 2


#: A word as ``(text, start, end, confidence)``: a :class:`PieceWord`, or the plain
#: tuple the incremental timeline reads its words back as.
WordTuple = tuple[str, int, int, Optional[float]]
_W_TEXT: Final = 0
_W_START: Final = 1
_W_END: Final = 2


@attrs.frozen
class PieceUtterance:
    """A recognized utterance of one segment, in absolute time."""

    text: str
    words: tuple[PieceWord, ...]
    additions: tuple[tuple[str, object], ...] = ()


@attrs.frozen
class SegmentPiece:
    """One segment's recognition (or failure) on a stream's timeline.

    Attributes:
        sequence: the segment's sequence number, when known.
        start: absolute start (epoch ms).
        end: absolute end (epoch ms).
        utterances: what was recognized; empty for silence.
        failed: the segment could not be recognized (a gap).
    """

    sequence: Optional[int]
    start: int
    end: int
    utterances: tuple[PieceUtterance, ...] = ()
    failed: bool = False


@attrs.frozen
class MergedUtterance:
    """An utterance of the merged timeline, in absolute time."""

    text: str
    start: int
    end: int
    words: tuple[WordTuple, ...]
    sequences: tuple[int, ...]
    additions: tuple[tuple[str, object], ...] = ()


def _norm(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _same_span(
    text_a: str, start_a: int, end_a: int, text_b: str, start_b: int, end_b: int
) -> bool:
    """Two copies of one word: the same letters, touching or overlapping in time."""
    overlap = min(end_a, end_b) - max(start_a, start_b)
    return overlap >= -_TOUCH_MS and _norm(text_a) == _norm(text_b)


def _same_word(a: PieceWord, b: PieceWord) -> bool:
    return _same_span(a.text, a.start, a.end, b.text, b.start, b.end)


@attrs.define
class _Kept:
    piece_index: int
    utterance_index: int
    word: PieceWord


def merge_stream(
    pieces: Sequence[SegmentPiece],
    *,
    redundant_duration_ms: int = 0,
    join_gap_ms: int = 500,
) -> list[MergedUtterance]:
    """Merge one stream's recognized segments into time-ordered utterances.

    Args:
        pieces: the stream's segments in any order (duplicates already removed).
        redundant_duration_ms: the task's ``RedundantDuration`` in ms, used
            where a neighbour's end is not known exactly.
        join_gap_ms: the largest pause across a segment edge that still joins
            two pieces of one utterance.

    Returns:
        The merged utterances, ordered by start time.
    """
    ordered = sorted(pieces, key=lambda p: (p.start, p.sequence if p.sequence is not None else 0))
    # The boundary between each recognized piece and the recognized piece before it.
    kept: list[_Kept] = []
    boundaries: dict[int, int] = {}
    prev_ok: Optional[int] = None
    for i, piece in enumerate(ordered):
        if piece.failed:
            continue
        lo: Optional[int] = None
        if prev_ok is not None:
            prev = ordered[prev_ok]
            if prev.end > piece.start:
                lo = min(prev.end, piece.end)
            elif (
                redundant_duration_ms
                and prev.end + redundant_duration_ms >= piece.start
                and (_adjacent(prev, piece))
            ):
                lo = piece.start + redundant_duration_ms
            if lo is not None:
                boundaries[i] = lo
                # The previous piece keeps only what lies before the boundary.
                kept = [k for k in kept if k.piece_index != prev_ok or k.word.midpoint < lo]
        for u_index, utterance in enumerate(piece.utterances):
            for word in utterance.words:
                if lo is not None and word.midpoint < lo:
                    continue
                kept.append(_Kept(i, u_index, word))
        if prev_ok is not None and ordered[prev_ok].end + _TOUCH_MS >= piece.start:
            _drop_boundary_duplicate(kept, prev_ok, i)
        prev_ok = i
    return _group(ordered, kept, boundaries, join_gap_ms)


def _adjacent(prev: SegmentPiece, piece: SegmentPiece) -> bool:
    if prev.sequence is None or piece.sequence is None:
        return True
    return piece.sequence == prev.sequence + 1


def _drop_boundary_duplicate(kept: list[_Kept], left: Optional[int], right: int) -> None:
    """Both sides may have heard a word cut by the edge: keep the longer copy."""
    if left is None:
        return
    left_words = [k for k in kept if k.piece_index == left]
    right_words = [k for k in kept if k.piece_index == right]
    if not left_words or not right_words:
        return
    a = max(left_words, key=lambda k: k.word.end)
    b = min(right_words, key=lambda k: k.word.start)
    if _same_word(a.word, b.word):
        drop = a if (a.word.end - a.word.start) < (b.word.end - b.word.start) else b
        kept.remove(drop)


def _group(
    ordered: Sequence[SegmentPiece],
    kept: list[_Kept],
    boundaries: dict[int, int],
    join_gap_ms: int,
) -> list[MergedUtterance]:
    # Collect kept words per (piece, utterance), in time order.
    groups: dict[tuple[int, int], list[PieceWord]] = {}
    for k in kept:
        groups.setdefault((k.piece_index, k.utterance_index), []).append(k.word)
    return _join_groups(ordered, groups, boundaries, join_gap_ms)


def _join_groups(
    ordered: Sequence[SegmentPiece],
    groups: Mapping[tuple[int, int], Sequence[WordTuple]],
    boundaries: dict[int, int],
    join_gap_ms: int,
    counts: Optional[Sequence[Sequence[int]]] = None,
) -> list[MergedUtterance]:
    """Turn kept words, grouped per (piece, utterance), into joined utterances.

    ``counts[piece][utterance]`` is the utterance's word count, for pieces
    whose utterances were stored without their words.
    """
    keys = sorted(groups, key=lambda key: (groups[key][0][_W_START], key))
    merged: list[MergedUtterance] = []
    last_piece: Optional[int] = None
    for key in keys:
        piece_index, u_index = key
        piece = ordered[piece_index]
        source = piece.utterances[u_index]
        words = tuple(sorted(groups[key], key=lambda w: w[_W_START]))
        total = len(source.words) if counts is None else counts[piece_index][u_index]
        whole = len(words) == total
        text = source.text if whole and source.text else _words_text(words)
        seqs = (piece.sequence,) if piece.sequence is not None else ()
        candidate = MergedUtterance(
            text, words[0][_W_START], words[-1][_W_END], words, seqs, source.additions
        )
        if merged and last_piece is not None and last_piece != piece_index:
            b = boundaries.get(piece_index, ordered[last_piece].end)
            prev = merged[-1]
            if (
                prev.end >= b - join_gap_ms
                and candidate.start <= b + join_gap_ms
                and candidate.start - prev.end <= join_gap_ms
            ):
                merged[-1] = MergedUtterance(
                    join_text(prev.text, candidate.text),
                    prev.start,
                    max(prev.end, candidate.end),
                    prev.words + candidate.words,
                    tuple(dict.fromkeys(prev.sequences + candidate.sequences)),
                    prev.additions or candidate.additions,
                )
                last_piece = piece_index
                continue
        merged.append(candidate)
        last_piece = piece_index
    return merged


def _words_text(words: Sequence[WordTuple]) -> str:
    return join_words(w[_W_TEXT] for w in words)
