"""Merge time of a live room: 10, 100, 1,000 and 3,000 segments with ready-made results.

Run: ``python benchmarks/pipeline_merge.py`` (``--sizes 10,100,1000,3000 --words 50``).

One ``SegmentTranscriber`` per size takes a room of ``size`` segments of one
speaker (20 s each, ``--words`` words per segment, a 2 s redundant head) and
finishes it. ``--order live`` (the default) delivers them as RTC would, in
order with each segment up to four places off; ``--order shuffled`` in any
order. Recognition is not measured:
the ``asr`` object hands back a ready-made ``Transcript`` at once, so the time
is the transcriber's own work (verification is skipped: segments are
submitted as ``Segment`` objects). Every size runs in the same process, in
``--repeat`` interleaved rounds, and the fastest round of each size counts, so
the ratios compare like with like on a shared machine. The ready-made answers
are built before the clock starts and moved out of the garbage collector's
sight (``gc.freeze``): in a service they would arrive over time, not sit in
memory all at once.

Targets (DESIGN.md): 1,000 segments within 15x the time of 100, and 3,000
within 3.5x the time of 1,000 (linear growth gives 10x and 3x). Exit status 1
if missed.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from typing import Any

from volcspeech.asr import Transcript, Utterance, Word
from volcspeech.pipeline import SegmentTranscriber
from volcspeech.rtc import Segment

EPOCH = 1_700_000_000_000
DURATION_MS = 20_000
REDUNDANT_MS = 2_000
TARGETS = {(100, 1000): 15.0, (1000, 3000): 3.5}


class ReadyAsr:
    """Stands in for ``AsrClient``: answers each segment URL with a prepared transcript."""

    def __init__(self, answers: dict[str, Transcript]) -> None:
        self.answers = answers

    def recognize(self, audio: Any, **_: Any) -> Transcript:
        """The prepared transcript of ``audio`` (a URL)."""
        return self.answers[audio]


def resolve(segment: Segment) -> str:
    """The segment's made-up URL (never fetched: ReadyAsr answers it)."""
    return f"https://ready.invalid/{segment.room_id}/{segment.sequence}.wav"


def room(size: int, words: int, room_id: str) -> tuple[list[Segment], dict[str, Transcript]]:
    """``size`` segments of one speaker saying ``words`` words per 20 s, and their answers."""
    step = DURATION_MS // words
    segments, answers = [], {}
    for n in range(size):
        lo = max(0, n * DURATION_MS - REDUNDANT_MS)
        hi = (n + 1) * DURATION_MS
        timed = [
            Word(f"w{i}", i * step - lo, i * step + step * 2 // 3 - lo)
            for i in range(lo // step, hi // step)
            if i * step >= lo and i * step + step * 2 // 3 <= hi
        ]
        utterances = tuple(
            Utterance(
                " ".join(w.text for w in timed[k : k + 10]),
                timed[k].start_time,
                timed[min(k + 9, len(timed) - 1)].end_time,
                tuple(timed[k : k + 10]),
            )
            for k in range(0, len(timed), 10)
        )
        segment = Segment(
            app_id="bench",
            room_id=room_id,
            task_id="t",
            user_id="alice",
            sequence=n,
            start_time_ms=EPOCH + lo,
            duration_ms=hi - lo,
            object_key=f"{room_id}/{n}.wav",
        )
        segments.append(segment)
        answers[resolve(segment)] = Transcript(
            " ".join(u.text for u in utterances), utterances, hi - lo
        )
    return segments, answers


def arrival(segments: list[Segment], order: str, seed: int) -> list[Segment]:
    """``shuffled``: any order; ``live``: in order, each segment at most 4 places off."""
    rng = random.Random(seed)
    if order == "shuffled":
        rng.shuffle(segments)
        return segments
    return sorted(segments, key=lambda s: (s.sequence or 0) + rng.uniform(0, 4))


def run(size: int, words: int, seed: int, order: str = "shuffled") -> tuple[float, int]:
    """Seconds to submit and finish one room of ``size`` segments; its utterance count."""
    segments, answers = room(size, words, f"room-{size}")
    segments = arrival(segments, order, seed)
    gc.collect()
    gc.freeze()
    with SegmentTranscriber(
        ReadyAsr(answers),  # type: ignore[arg-type]
        resolve_audio=resolve,
        redundant_duration_ms=REDUNDANT_MS,
        max_workers=1,
    ) as transcriber:
        start = time.perf_counter()
        for segment in segments:
            transcriber.submit(segment)
        (transcript,) = transcriber.finish(timeout=3600)
        elapsed = time.perf_counter() - start
    gc.unfreeze()
    assert transcript.segments == size, transcript.segments
    return elapsed, len(transcript.utterances)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000,3000")
    parser.add_argument("--words", type=int, default=50, help="words per segment")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the fastest counts")
    parser.add_argument(
        "--order",
        choices=["shuffled", "live"],
        default="live",
        help="arrival order: as RTC sends them, in order with each segment up to 4 places "
        "off (default); or shuffled, any order (the worst case)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    times: dict[int, float] = {}
    counts: dict[int, int] = {}
    for _ in range(args.repeat):
        for size in sizes:
            elapsed, counts[size] = run(size, args.words, args.seed, args.order)
            times[size] = min(elapsed, times.get(size, elapsed))
    print(f"{'segments':>8} {'seconds':>9} {'ms/segment':>10} {'utterances':>10}")
    for size in sizes:
        elapsed = times[size]
        print(f"{size:>8} {elapsed:>9.3f} {1000 * elapsed / size:>10.3f} {counts[size]:>10}")
    ok = True
    for (small, big), limit in TARGETS.items():
        if small in times and big in times:
            ratio = times[big] / times[small]
            verdict = "ok" if ratio <= limit else "MISSED"
            ok = ok and ratio <= limit
            print(f"{big} / {small} segments: {ratio:.2f}x (target <= {limit}x) {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
