"""How the emulator cuts a room's recordings into segments (pure functions, room time in ms).

The rules, from the ``StartSegment`` documentation (vendor doc 6348/1188212):

* Periods of ``Duration`` D: period n covers ``[n*D, (n+1)*D]``, the last one
  ends with the recording.
* ``RedundantDuration`` R: segment n (from 0) covers ``[n*D - R, (n+1)*D]``,
  except the first, which starts at 0.
* A user gets segment n only if they published during period n.
* ``Align`` off: the segment is cut to the time the user published, so it can
  be shorter and users' segments start at different times.
* ``Align`` on: every segment spans the full grid window; the time the user
  did not publish is silence.
* ``Mixed``: a mix of the target streams is also cut, on the grid, in every
  period (the vendor says the mixed segments keep coming whether or not
  anyone is on the mic), under user id ``mixed``.
* ``IgnoreSilence``: segments whose samples are all silent (peak at most
  ``silence_threshold``) are dropped; this applies to the mixed stream too.

The sequence number of a segment is its period index n, so a skipped period
leaves a gap and the same n means the same period for every user.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ._wav import SAMPLE_WIDTH, frames_at, peak

__all__ = ["MIXED_USER", "Cut", "cut_segments"]

#: The user id of the mixed stream.
MIXED_USER = "mixed"


@attrs.frozen
class Cut:
    """One segment: a user's audio between two room times.

    Attributes:
        user_id: the user (``mixed`` for the mix).
        sequence: the period index n.
        start_ms: start in room time (ms from slicing start).
        end_ms: end in room time.
        pcm: the samples (16-bit mono little-endian).
    """

    user_id: str
    sequence: int
    start_ms: int
    end_ms: int
    pcm: bytes = attrs.field(repr=False)

    @property
    def duration_ms(self) -> int:
        """The segment's length."""
        return self.end_ms - self.start_ms


def _slice(pcm: bytes, start_ms: int, end_ms: int, rate: int) -> bytes:
    lo, hi = frames_at(start_ms, rate), frames_at(end_ms, rate)
    return pcm[lo * SAMPLE_WIDTH : hi * SAMPLE_WIDTH]


def cut_segments(
    tracks: Mapping[str, bytes],
    publish: Mapping[str, tuple[int, int]],
    *,
    room_ms: int,
    duration_ms: int,
    redundant_ms: int = 0,
    align: bool = False,
    mixed_pcm: bytes | None = None,
    ignore_silence: bool = False,
    sample_rate: int = 16000,
    silence_threshold: int = 0,
) -> list[Cut]:
    """Cut the room into segments, in period order (users in ``tracks`` order, then the mix).

    Args:
        tracks: each target user's room-length PCM, silent where they did not publish.
        publish: each user's publishing window ``(start_ms, end_ms)`` in room time.
        room_ms: the room's length.
        duration_ms: D, the period length (``Duration`` * 1000).
        redundant_ms: R, the overlap before each segment but the first.
        align: the ``Align`` rule (see the module docstring).
        mixed_pcm: the room-length mix when ``Mixed`` is on.
        ignore_silence: drop silent segments.
        sample_rate: samples per second of every track.
        silence_threshold: the largest peak that still counts as silence.

    Returns:
        The segments.
    """
    if duration_ms <= 0:
        raise ValueError("duration_ms must be positive")
    cuts: list[Cut] = []
    n = 0
    while n * duration_ms < room_ms:
        period_lo = n * duration_ms
        period_hi = min((n + 1) * duration_ms, room_ms)
        lo = max(0, period_lo - redundant_ms) if n > 0 else 0
        for user_id, pcm in tracks.items():
            pub_lo, pub_hi = publish.get(user_id, (0, room_ms))
            if min(period_hi, pub_hi) - max(period_lo, pub_lo) <= 0:
                continue  # the user did not publish in this period: no segment
            start, end = (lo, period_hi) if align else (max(lo, pub_lo), min(period_hi, pub_hi))
            audio = _slice(pcm, start, end, sample_rate)
            if ignore_silence and peak(audio) <= silence_threshold:
                continue
            cuts.append(Cut(user_id, n, start, end, audio))
        if mixed_pcm is not None:
            audio = _slice(mixed_pcm, lo, period_hi, sample_rate)
            if not (ignore_silence and peak(audio) <= silence_threshold):
                cuts.append(Cut(MIXED_USER, n, lo, period_hi, audio))
        n += 1
    return cuts
