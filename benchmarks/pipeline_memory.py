"""A long-lived transcriber stays flat: 10,000 segments across 500 rooms.

Run: ``python benchmarks/pipeline_memory.py`` (``--rooms 500 --segments 20 --active 10``).

One ``SegmentTranscriber`` (the default in-memory store) takes signed raw
callbacks, as a webhook would: ``--active`` rooms at a time, their segments
interleaved and shuffled, one in four delivered twice. Each room is finished
with ``finish_room`` as soon as its last segment is submitted. Recognition is
not measured: the ``asr`` object makes a 50-word answer for each segment URL
at once.

Targets (issue 12): the resident set size after the run is at most the RSS
after the first 1,000 segments + 10 MB, and the time per segment over the
last 1,000 segments is within 1.5x of the first 1,000 (after a 200-segment
warm-up). Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import time
from typing import Any

from volcspeech.asr import Transcript, Utterance, Word
from volcspeech.pipeline import RoomKey, SegmentTranscriber, base_url_resolver
from volcspeech.rtc import sign_callback

EPOCH = 1_700_000_000_000
DURATION_MS = 20_000
SECRET = "bench-callback-secret"
RSS_SLACK = 10 * 2**20
TIME_RATIO = 1.5
WINDOW = 1000


class ReadyAsr:
    """Stands in for ``AsrClient``: 50 words for any segment URL, made on the spot."""

    def recognize(self, audio: Any, **_: Any) -> Transcript:
        """A 20-second answer of five 10-word utterances."""
        words = [Word(f"w{i}", i * 400, i * 400 + 250) for i in range(50)]
        utterances = tuple(
            Utterance(
                " ".join(w.text for w in words[k : k + 10]),
                words[k].start_time,
                words[k + 9].end_time,
                tuple(words[k : k + 10]),
            )
            for k in range(0, 50, 10)
        )
        return Transcript(" ".join(u.text for u in utterances), utterances, DURATION_MS)


def rss() -> int:
    """The resident set size of this process, in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def callback(room: int, n: int, event: int) -> dict[str, Any]:
    """A signed ``SegmentRealTimeData`` callback for segment ``n`` of room ``room``."""
    data = {
        "AppId": "bench",
        "RoomId": f"room-{room}",
        "TaskId": "t",
        "UserId": "alice",
        "StreamType": 0,
        "Sequence": n,
        "StartTime": EPOCH + room * 10**7 + n * DURATION_MS,
        "Duration": DURATION_MS,
        "Bucket": "segments",
        "ObjectKey": f"room-{room}/{n}.wav",
    }
    body = {
        "EventType": "SegmentRealTimeData",
        "EventData": json.dumps(data),
        "EventTime": str(int(time.time() * 1000)),
        "EventId": f"evt-{event}",
        "AppId": "bench",
        "Version": "2020-12-01",
        "Nonce": "1234",
    }
    body["Signature"] = sign_callback(body, SECRET)
    return body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=500)
    parser.add_argument("--segments", type=int, default=20, help="segments per room")
    parser.add_argument("--active", type=int, default=10, help="rooms open at a time")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    total = args.rooms * args.segments
    done = 0
    marks: dict[int, tuple[float, int]] = {}
    finished = 0
    ignored = 0

    def mark() -> None:
        if done in (200, WINDOW, 200 + WINDOW, total - WINDOW, total) and done not in marks:
            gc.collect()
            marks[done] = (time.perf_counter(), rss())

    event = 0
    with SegmentTranscriber(
        ReadyAsr(),  # type: ignore[arg-type]
        resolve_audio=base_url_resolver("https://segments.invalid"),
        callback_secret=SECRET,
        max_workers=4,
    ) as transcriber:
        for first in range(0, args.rooms, args.active):
            batch = list(range(first, min(first + args.active, args.rooms)))
            deliveries = []
            for room in batch:
                for n in range(args.segments):
                    event += 1
                    body = callback(room, n, event)
                    deliveries.append((room, body))
                    if rng.random() < 0.25:
                        deliveries.append((room, body))  # a re-delivery
            rng.shuffle(deliveries)
            left = dict.fromkeys(batch, args.segments)
            for room, body in deliveries:
                if not transcriber.submit(body):
                    ignored += 1
                else:
                    done += 1
                    left[room] -= 1
                    if not left[room]:
                        transcript = transcriber.finish_room(RoomKey("bench", f"room-{room}", "t"))
                        assert transcript is not None
                        assert transcript.segments == args.segments, transcript.segments
                        finished += 1
                    mark()
        assert finished == args.rooms
        assert transcriber.rooms() == [], transcriber.rooms()
    (t0, _), (t1, _), (_, rss_start) = marks[200], marks[200 + WINDOW], marks[WINDOW]
    (t2, _), (t3, rss_end) = marks[total - WINDOW], marks[total]
    first_ms = (t1 - t0) * 1000 / WINDOW
    last_ms = (t3 - t2) * 1000 / WINDOW
    ratio = last_ms / first_ms
    grew = rss_end - rss_start
    mib = 2**20
    print(f"segments {total}, rooms {args.rooms}, re-deliveries ignored: {ignored}")
    print(f"RSS after the first {WINDOW} segments: {rss_start / mib:.1f} MiB")
    print(f"RSS after all {total} segments:      {rss_end / mib:.1f} MiB ({grew / mib:+.1f} MiB)")
    print(
        f"time per segment, segments 200-{200 + WINDOW}: {first_ms:.3f} ms; "
        f"last {WINDOW}: {last_ms:.3f} ms"
    )
    ok_rss = grew <= RSS_SLACK
    ok_time = ratio <= TIME_RATIO
    print(f"RSS growth {grew / mib:+.1f} MiB (target <= +10 MiB) {'ok' if ok_rss else 'MISSED'}")
    print(f"time ratio {ratio:.2f}x (target <= {TIME_RATIO}x) {'ok' if ok_time else 'MISSED'}")
    return 0 if ok_rss and ok_time else 1


if __name__ == "__main__":
    sys.exit(main())
