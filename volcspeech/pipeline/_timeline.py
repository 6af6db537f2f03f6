"""The incremental merge: one stream's timeline, updated one finished segment at a time.

:func:`~volcspeech.pipeline._merge.merge_stream` is the reference: a pure,
order-independent function of all of a stream's pieces. It re-reads the whole
stream, so calling it after every segment makes a room quadratic.

:class:`StreamTimeline` gives the same result incrementally. The reference is
a left-to-right scan over the recognized pieces in time order, in which each
step looks only at a piece and the recognized piece before it::

    final[i], open[i + 1] = step(open[i], piece[i], piece[i + 1])

``open[i]`` is what piece *i* keeps after its left edge was settled (the
redundant head given to the previous piece, a word heard on both sides of the
edge taken once); ``final[i]`` is what it keeps once its right edge is settled
too. Inserting a piece therefore re-runs ``step`` for its left neighbour and
itself, then walks right only while a piece's ``open`` state changes, which
stops after one or two pieces. The merged utterances are read off the
``final`` states with the reference's own grouping (:func:`_merge._group`),
so both paths share the joining and text rules.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Final, Optional

from ._merge import (
    _TOUCH_MS,
    MergedUtterance,
    PieceUtterance,
    SegmentPiece,
    WordTuple,
    _adjacent,
    _join_groups,
    _same_span,
)

__all__ = ["StreamTimeline"]

#: One kept word: ``(start, end, midpoint, utterance index, text, confidence)``.
#: A plain tuple of plain values: the garbage collector stops tracking it, so a
#: long room does not make every collection walk each of its words.
_Entry = tuple[int, int, float, int, str, Optional[float]]
_START: Final = 0
_END: Final = 1
_MID: Final = 2
_UTT: Final = 3
_TEXT: Final = 4
_CONF: Final = 5


def _sort_key(piece: SegmentPiece) -> tuple[int, int]:
    return (piece.start, piece.sequence if piece.sequence is not None else 0)


class _Node:
    """A recognized piece on the timeline and its merge state."""

    __slots__ = ("bound", "counts", "entries", "final", "open", "piece")

    def __init__(self, piece: SegmentPiece) -> None:
        # The piece without its words (kept as entries), and each utterance's word count.
        self.piece = SegmentPiece(
            piece.sequence,
            piece.start,
            piece.end,
            tuple(PieceUtterance(u.text, (), u.additions) for u in piece.utterances),
        )
        self.counts = tuple(len(u.words) for u in piece.utterances)
        self.entries: tuple[_Entry, ...] = tuple(
            (w.start, w.end, (w.start + w.end) / 2, u_index, w.text, w.confidence)
            for u_index, u in enumerate(piece.utterances)
            for w in u.words
        )
        self.bound: Optional[int] = None  # the boundary with the previous recognized piece
        self.open: list[_Entry] = []
        self.final: list[_Entry] = []


def _boundary(prev: SegmentPiece, piece: SegmentPiece, redundant_ms: int) -> Optional[int]:
    """Where ``prev`` hands over to ``piece`` (the reference's ``lo``), or ``None``."""
    if prev.end > piece.start:
        return min(prev.end, piece.end)
    if redundant_ms and prev.end + redundant_ms >= piece.start and _adjacent(prev, piece):
        return piece.start + redundant_ms
    return None


def _drop_duplicate(left: list[_Entry], right: list[_Entry]) -> None:
    """The reference's ``_drop_boundary_duplicate`` on two pieces' word lists."""
    if not left or not right:
        return
    a = max(left, key=lambda e: e[_END])
    b = min(right, key=lambda e: e[_START])
    if _same_span(a[_TEXT], a[_START], a[_END], b[_TEXT], b[_START], b[_END]):
        if (a[_END] - a[_START]) < (b[_END] - b[_START]):
            left.remove(a)
        else:
            right.remove(b)


class StreamTimeline:
    """One stream's recognized segments, merged as they arrive.

    Args:
        redundant_duration_ms: the task's ``RedundantDuration`` in ms.
        join_gap_ms: the largest pause across a segment edge that still joins
            two pieces of one utterance.
    """

    def __init__(self, redundant_duration_ms: int = 0, join_gap_ms: int = 500) -> None:
        self.redundant_duration_ms = redundant_duration_ms
        self.join_gap_ms = join_gap_ms
        self._keys: list[tuple[int, int]] = []
        self._nodes: list[_Node] = []
        self.words = 0

    def __len__(self) -> int:
        return len(self._nodes)

    def _step(self, prev: Optional[_Node], node: _Node) -> None:
        """Settle the edge between ``prev`` and ``node``: ``prev.final`` and ``node.open``."""
        if prev is None:
            node.bound = None
            node.open = list(node.entries)
            return
        lo = _boundary(prev.piece, node.piece, self.redundant_duration_ms)
        node.bound = lo
        if lo is None:
            left = list(prev.open)
            right = list(node.entries)
        else:
            left = [e for e in prev.open if e[_MID] < lo]
            right = [e for e in node.entries if e[_MID] >= lo]
        if prev.piece.end + _TOUCH_MS >= node.piece.start:
            _drop_duplicate(left, right)
        prev.final = left
        node.open = right

    def insert(self, piece: SegmentPiece) -> tuple[int, int]:
        """Merge one recognized piece into the timeline.

        Args:
            piece: a recognized (not failed) piece; one with the sort key of a
                piece already on the timeline is ignored.

        Returns:
            The range ``(first, last)`` of node positions whose kept words may
            have changed (``first > last`` when nothing changed).
        """
        if piece.failed:
            raise ValueError("a failed piece has no place on the timeline")
        key = _sort_key(piece)
        at = bisect.bisect_left(self._keys, key)
        if at < len(self._keys) and self._keys[at] == key:
            return (1, 0)
        node = _Node(piece)
        self._keys.insert(at, key)
        self._nodes.insert(at, node)
        self.words += len(node.entries)
        nodes = self._nodes
        first = max(0, at - 1)
        self._step(nodes[at - 1] if at else None, node)
        i = at
        while True:
            if i + 1 >= len(nodes):
                nodes[i].final = nodes[i].open
                return (first, i)
            nxt = nodes[i + 1]
            before = nxt.open
            self._step(nodes[i], nxt)
            if nxt.open == before:  # nothing to the right of the edge changed
                return (first, i)
            i += 1

    def utterances(self) -> list[MergedUtterance]:
        """The merged utterances of the whole stream, in time order."""
        return self.window(0, len(self._nodes) - 1)

    def window(self, first: int, last: int) -> list[MergedUtterance]:
        """The merged utterances of the nodes ``first..last`` read on their own."""
        if first > last:
            return []
        nodes = self._nodes[first : last + 1]
        groups: dict[tuple[int, int], list[WordTuple]] = {}
        for i, node in enumerate(nodes):
            for e in node.final:
                word = (e[_TEXT], e[_START], e[_END], e[_CONF])  # a plain, untracked tuple
                group = groups.get((i, e[_UTT]))
                if group is None:
                    groups[(i, e[_UTT])] = [word]
                else:
                    group.append(word)
        bounds = {i: node.bound for i, node in enumerate(nodes) if i and node.bound is not None}
        return _join_groups(
            [n.piece for n in nodes],
            groups,
            bounds,
            self.join_gap_ms,
            [n.counts for n in nodes],
        )

    def _prev_nonempty(self, index: int) -> int:
        h = index - 1
        while h >= 0 and not self._nodes[h].final:
            h -= 1
        return h

    def _joins_left(self, index: int) -> int:
        """The node whose last utterance node ``index``'s first one joins, or -1.

        The reference's joining rule, with the previous utterance's end taken
        as the end of that node's last word.
        """
        node = self._nodes[index]
        h = self._prev_nonempty(index) if node.final else -1
        if h < 0:
            return -1
        prev = self._nodes[h]
        b = node.bound if node.bound is not None else prev.piece.end
        prev_end = max(e[_END] for e in prev.final)
        start = min(e[_START] for e in node.final)
        j = self.join_gap_ms
        return h if prev_end >= b - j and start <= b + j and start - prev_end <= j else -1

    def _one_fragment(self, index: int) -> bool:
        """All of node ``index``'s kept words belong to one utterance of its segment."""
        final = self._nodes[index].final
        return len({e[_UTT] for e in final}) == 1

    def around(self, first: int, last: int) -> list[MergedUtterance]:
        """Every merged utterance with a word from nodes ``first..last``, in full.

        Reads only the nodes that such utterances span: an utterance joined
        across an edge pulls in its neighbour, and goes on through a node only
        while that whole node is one piece of it.
        """
        count = len(self._nodes)
        first, last = max(0, first), min(last, count - 1)
        if first > last:
            return []
        a = first
        while True:
            h = self._joins_left(a)
            if h < 0 or (a < first and not self._one_fragment(a)):
                break
            a = h
        b = last
        while b + 1 < count:
            n = self._next_nonempty(b)
            if n >= count or self._joins_left(n) < 0 or (b > last and not self._one_fragment(b)):
                break
            b = n
        # One more node on each side, whose utterances are left out: an utterance cut
        # by the window's edge (or grouped differently because of crosstalk) touches it.
        a2 = self._prev_nonempty(a) if a > 0 else -1
        b2 = self._next_nonempty(b)
        margin: set[tuple[int, int, str]] = set()
        if a2 >= 0:
            margin.update((e[_START], e[_END], e[_TEXT]) for e in self._nodes[a2].final)
        else:
            a2 = a
        if b2 < count:
            margin.update((e[_START], e[_END], e[_TEXT]) for e in self._nodes[b2].final)
        else:
            b2 = b
        return [
            m for m in self.window(a2, b2) if not any((w[1], w[2], w[0]) in margin for w in m.words)
        ]

    def _next_nonempty(self, index: int) -> int:
        n = index + 1
        while n < len(self._nodes) and not self._nodes[n].final:
            n += 1
        return n

    def position(self, piece: SegmentPiece) -> int:
        """Where ``piece`` sorts among the nodes (for a failed piece: its neighbours)."""
        return bisect.bisect_left(self._keys, _sort_key(piece))


def merge_incremental(
    pieces: Iterable[SegmentPiece],
    *,
    redundant_duration_ms: int = 0,
    join_gap_ms: int = 500,
) -> list[MergedUtterance]:
    """Merge pieces through a :class:`StreamTimeline`, inserted in the order given.

    Gives the same result as :func:`merge_stream` (tested), in
    O(words · log words) for in-order input.
    """
    timeline = StreamTimeline(redundant_duration_ms, join_gap_ms)
    for piece in pieces:
        if not piece.failed:
            timeline.insert(piece)
    return timeline.utterances()
