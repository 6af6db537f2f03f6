"""A small keyword / regular-expression moderation helper for merged utterances."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any, Callable, Optional, Union

import attrs

from ..errors import ValidationError
from ._model import RoomUtterance

__all__ = ["ModerationMatch", "Moderator"]


@attrs.frozen
class ModerationMatch:
    """A moderated term heard in a room.

    Attributes:
        user_id: who said it.
        start_time: when, in ms on the room timeline (the matching words' start).
        end_time: until when, in ms on the room timeline.
        term: the keyword or pattern that matched.
        matched: the text that matched.
        utterance: the whole utterance, for context.
    """

    user_id: str
    start_time: int
    end_time: int
    term: str
    matched: str
    utterance: RoomUtterance = attrs.field(repr=False)


class Moderator:
    """Report keywords and regular expressions heard in merged utterances.

    Use it as ``SegmentTranscriber(on_utterance=moderator)``; it collects
    matches in :attr:`matches` and calls ``on_match`` for each. It pickles
    (with its matches so far) when ``on_match`` does.

    Args:
        keywords: plain words or phrases, matched as whole words (case-insensitive
            unless ``case_sensitive``); CJK terms match anywhere.
        patterns: regular expressions (strings or compiled).
        case_sensitive: match keywords with case.
        on_match: called with each :class:`ModerationMatch`.

    Raises:
        ValidationError: an empty keyword or an invalid regular expression.
    """

    def __init__(
        self,
        keywords: Iterable[str] = (),
        patterns: Iterable[Union[str, re.Pattern[str]]] = (),
        *,
        case_sensitive: bool = False,
        on_match: Optional[Callable[[ModerationMatch], None]] = None,
    ) -> None:
        flags = 0 if case_sensitive else re.IGNORECASE
        self._rules: list[tuple[str, re.Pattern[str]]] = []
        for word in keywords:
            if not isinstance(word, str) or not word.strip():
                raise ValidationError(
                    f"keywords must be non-empty strings, got {word!r}", field="keywords"
                )
            escaped = re.escape(word.strip())
            self._rules.append((word, re.compile(rf"(?<!\w){escaped}(?!\w)", flags)))
        for pattern in patterns:
            if isinstance(pattern, re.Pattern):
                self._rules.append((pattern.pattern, pattern))
                continue
            try:
                self._rules.append((pattern, re.compile(pattern, flags)))
            except re.error as exc:
                raise ValidationError(
                    f"patterns: invalid regular expression {pattern!r}: {exc}", field="patterns"
                ) from None
        self.on_match = on_match
        self._lock = threading.Lock()
        self.matches: list[ModerationMatch] = []

    def __getstate__(self) -> dict[str, Any]:
        # Picklable (process pools, Dask): everything but the lock, which is rebuilt.
        state = dict(self.__dict__)
        del state["_lock"]
        with self._lock:
            state["matches"] = list(self.matches)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def check(self, utterance: RoomUtterance) -> list[ModerationMatch]:
        """Return the matches in one utterance (without recording them)."""
        spans = _word_spans(utterance)
        found = []
        for term, rule in self._rules:
            for m in rule.finditer(utterance.text):
                start, end = _times_for(spans, m.start(), m.end(), utterance)
                found.append(
                    ModerationMatch(utterance.user_id, start, end, term, m.group(0), utterance)
                )
        return sorted(found, key=lambda x: (x.start_time, x.term))

    def __call__(self, utterance: RoomUtterance) -> None:
        """Check an utterance, record its matches and call ``on_match`` for each."""
        found = self.check(utterance)
        with self._lock:
            self.matches.extend(found)
        if self.on_match is not None:
            for match in found:
                self.on_match(match)


def _word_spans(utterance: RoomUtterance) -> list[tuple[int, int, int, int]]:
    """Character span and time of each word within the utterance text."""
    spans = []
    pos = 0
    lowered = utterance.text.casefold()
    for word in utterance.words:
        token = word.text.strip().casefold()
        if not token:
            continue
        at = lowered.find(token, pos)
        if at < 0:  # the text was normalised differently: skip this word
            continue
        spans.append((at, at + len(token), word.start_time, word.end_time))
        pos = at + len(token)
    return spans


def _times_for(
    spans: list[tuple[int, int, int, int]], start: int, end: int, utterance: RoomUtterance
) -> tuple[int, int]:
    hit = [s for s in spans if s[0] < end and s[1] > start]
    if not hit:
        return utterance.start_time, utterance.end_time
    return min(s[2] for s in hit), max(s[3] for s in hit)
