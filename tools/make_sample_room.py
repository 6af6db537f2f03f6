#!/usr/bin/env python3
"""Generate the ``volcspeech/testing/data/sample_room`` fixture.

The fixture is a short two-person product stand-up recorded as two RTC
tracks (one per user). It is real synthesized speech (espeak-ng) with *exact*
word timings obtained by construction:

1. every word is synthesized on its own with espeak-ng, resampled with sox to
   16 kHz mono 16-bit, and trimmed of leading/trailing silence with an
   amplitude threshold;
2. the words of an utterance are concatenated with a fixed gap of exact zeros;
3. utterances are placed on the room timeline; each user's track spans the
   whole room and is exact zeros wherever that user is not speaking a word.

Every word start/end is a multiple of 16 samples, so ``time_ms = sample / 16``
exactly. A few utterances are *anchored* so that RTC segment cutting hits
interesting cases (a word straddling a 20 s boundary, etc.); see ``ANCHORS``.

Usage::

    python tools/make_sample_room.py            # writes the fixture
    python tools/make_sample_room.py --check    # regenerate in memory, compare

Requires ``espeak-ng`` and ``sox`` on PATH (Debian: ``apt-get install
espeak-ng sox``). Output is byte-reproducible for a given espeak-ng/sox
version (gzip mtime is fixed to 0).
"""

from __future__ import annotations

import argparse
import array
import gzip
import io
import json
import math
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "volcspeech" / "testing" / "data" / "sample_room"

SAMPLE_RATE = 16000
SAMPLES_PER_MS = SAMPLE_RATE // 1000  # 16
WORD_GAP_MS = 100  # exact-zero gap between consecutive words of an utterance
DEFAULT_PAUSE_MS = 700  # pause between consecutive utterances (turn-taking)
TAIL_MS = 1000  # minimum trailing silence after the last word
TRIM_THRESHOLD = 400  # |sample| above which a word is considered to start/end
FADE_MS = 3  # tiny linear fade at word edges to avoid clicks
ESPEAK_SPEED = 190  # words per minute
ROOM_ID = "demo-room"
APP_ID = "demo-app"

VOICES = {"alice": "en-us+f3", "bob": "en-gb+m3"}

# (user_id, utterance text). Turns alternate; punctuation is attached to the
# last word of each sentence and is not spoken.
DIALOGUE: list[tuple[str, str]] = [
    ("alice", "Good morning everyone. Let us start with updates."),
    ("bob", "Sure. Yesterday I finished the login page and fixed two small bugs."),
    ("alice", "Great. Did the mobile build pass?"),
    ("bob", "Almost. One test still fails on the payment screen."),
    ("alice", "Okay. Please pair with Maria on the payment integration today."),
    ("bob", "Will do. What about the new dashboard?"),
    ("alice", "The designs are ready for review."),
    ("bob", "Are we still releasing on Friday?"),
    ("alice", "Yes, if the payment bug is fixed."),
    ("bob", "Understood. I will send an update before lunch."),
    ("alice", "Thanks. That is all for today."),
    ("bob", "See you tomorrow."),
]


@dataclass(frozen=True)
class Anchor:
    """Pin an utterance on the timeline relative to a segment boundary.

    kind ``"straddle"``: word ``word_index`` is centred on ``boundary_ms``.
    kind ``"gap"``: the inter-word gap after word ``word_index`` is centred on
    ``boundary_ms`` (the utterance spans the boundary, no word does).
    """

    word_index: int
    kind: str
    boundary_ms: int
    description: str


# utterance index -> anchor
ANCHORS: dict[int, Anchor] = {
    1: Anchor(
        word_index=10,
        kind="straddle",
        boundary_ms=10000,
        description="bob: utterance crosses 10000 ms and one word straddles it "
        "(10 s segments split the utterance inside a word)",
    ),
    4: Anchor(
        word_index=1,
        kind="straddle",
        boundary_ms=20000,
        description="alice: utterance crosses 20000 ms and one word straddles it by "
        "more than 100 ms on both sides (20 s segments split the utterance inside a word)",
    ),
    9: Anchor(
        word_index=0,
        kind="gap",
        boundary_ms=40000,
        description="bob: utterance crosses 40000 ms but 40000 ms falls in the "
        "inter-word gap (no word of either speaker straddles 40000 ms)",
    ),
}


@dataclass
class Word:
    text: str  # as written, including attached punctuation
    samples: array.array  # int16 samples, length multiple of SAMPLES_PER_MS
    start: int = 0  # absolute sample position in the room


@dataclass
class Utterance:
    user_id: str
    text: str
    words: list[Word] = field(default_factory=list)
    start: int = 0

    @property
    def n_samples(self) -> int:
        gap = WORD_GAP_MS * SAMPLES_PER_MS
        return sum(len(w.samples) for w in self.words) + gap * (len(self.words) - 1)

    @property
    def end(self) -> int:
        return self.start + self.n_samples

    def layout(self, start: int) -> None:
        self.start = start
        pos = start
        for w in self.words:
            w.start = pos
            pos += len(w.samples) + WORD_GAP_MS * SAMPLES_PER_MS


def spoken(word: str) -> str:
    """Return the spoken form of a written word (trailing punctuation removed)."""
    return word.rstrip(".,?!;:")


def _read_wav_mono16(path: Path) -> array.array:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1, path
        assert w.getsampwidth() == 2, path
        assert w.getframerate() == SAMPLE_RATE, path
        data = w.readframes(w.getnframes())
    samples = array.array("h")
    samples.frombytes(data)
    if sys.byteorder != "little":
        samples.byteswap()
    return samples


_CACHE: dict[tuple[str, str], array.array] = {}


def synth_word(word: str, voice: str) -> array.array:
    """Synthesize one word, resample to 16 kHz and trim it to its voiced span."""
    key = (voice, word.lower())
    if key in _CACHE:
        return _CACHE[key]
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        out = Path(tmp) / "out.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(ESPEAK_SPEED), "-w", str(raw), word],
            check=True,
        )
        # -D: no dither, so the output is deterministic and silence stays zero.
        subprocess.run(
            ["sox", "-D", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(out)],
            check=True,
        )
        samples = _read_wav_mono16(out)
    loud = [i for i, s in enumerate(samples) if abs(s) > TRIM_THRESHOLD]
    if not loud:
        raise RuntimeError(f"espeak-ng produced silence for {word!r} ({voice})")
    first, last = loud[0], loud[-1] + 1
    # Extend the end so the word length is a whole number of milliseconds.
    length = last - first
    length += (-length) % SAMPLES_PER_MS
    trimmed = array.array("h", samples[first : first + length])
    trimmed.extend([0] * (length - len(trimmed)))
    fade = FADE_MS * SAMPLES_PER_MS
    for i in range(min(fade, len(trimmed) // 2)):
        g = i / fade
        trimmed[i] = int(trimmed[i] * g)
        trimmed[-1 - i] = int(trimmed[-1 - i] * g)
    _CACHE[key] = trimmed
    return trimmed


def build_utterances() -> list[Utterance]:
    utts = []
    for user_id, text in DIALOGUE:
        u = Utterance(user_id=user_id, text=text)
        for written in text.split(" "):
            u.words.append(Word(text=written, samples=synth_word(spoken(written), VOICES[user_id])))
        utts.append(u)
    return utts


def place(utts: list[Utterance]) -> None:
    """Lay utterances out on the timeline, honouring ``ANCHORS``."""
    pos = 0
    gap = WORD_GAP_MS * SAMPLES_PER_MS
    for idx, u in enumerate(utts):
        default = pos + (DEFAULT_PAUSE_MS if idx else 500) * SAMPLES_PER_MS
        anchor = ANCHORS.get(idx)
        if anchor is None:
            start = default
        else:
            u.layout(0)
            w = u.words[anchor.word_index]
            boundary = anchor.boundary_ms * SAMPLES_PER_MS
            if anchor.kind == "straddle":
                half = (len(w.samples) // 2) // SAMPLES_PER_MS * SAMPLES_PER_MS
                start = boundary - half - w.start
            elif anchor.kind == "gap":
                start = boundary - gap // 2 - (w.start + len(w.samples))
            else:
                raise ValueError(anchor.kind)
            pause_ms = (start - pos) // SAMPLES_PER_MS
            if not 300 <= pause_ms <= 3000:
                raise SystemExit(
                    f"anchor for utterance {idx} needs a {pause_ms} ms pause before it; "
                    "adjust DIALOGUE/ANCHORS"
                )
        u.layout(start)
        pos = u.end


def ms(samples: int) -> int:
    assert samples % SAMPLES_PER_MS == 0, samples
    return samples // SAMPLES_PER_MS


def render(utts: list[Utterance], user_id: str, n_samples: int) -> bytes:
    track = array.array("h", bytes(2 * n_samples))
    for u in utts:
        if u.user_id != user_id:
            continue
        for w in u.words:
            track[w.start : w.start + len(w.samples)] = w.samples
    if sys.byteorder != "little":
        track.byteswap()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(SAMPLE_RATE)
        wf.writeframes(track.tobytes())
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def rms(samples: array.array) -> float:
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def word_spans(utts: list[Utterance], user_id: str) -> list[tuple[int, int, str]]:
    return [
        (w.start, w.start + len(w.samples), w.text)
        for u in utts
        if u.user_id == user_id
        for w in u.words
    ]


def straddlers(utts: list[Utterance], boundary_ms: int) -> list[dict[str, object]]:
    b = boundary_ms * SAMPLES_PER_MS
    found: list[dict[str, object]] = []
    for user_id in VOICES:
        for s, e, text in word_spans(utts, user_id):
            if s < b < e:
                found.append(
                    {"user_id": user_id, "word": text, "start_time": ms(s), "end_time": ms(e)}
                )
    return found


def longest_silence_ms(utts: list[Utterance], user_id: str, n_samples: int) -> list[int]:
    """Return [start_ms, end_ms] of the user's longest stretch without speech."""
    best = (0, 0)
    cursor = 0
    for s, e, _ in [*word_spans(utts, user_id), (n_samples, n_samples, "")]:
        if s - cursor > best[1] - best[0]:
            best = (cursor, s)
        cursor = max(cursor, e)
    return [ms(best[0]), ms(best[1])]


def tool_versions() -> str:
    """Return e.g. ``"eSpeak NG text-to-speech: 1.51; SoX v14.4.2"`` (no local paths)."""
    espeak = subprocess.run(
        ["espeak-ng", "--version"], check=True, capture_output=True, text=True
    ).stdout
    sox = subprocess.run(["sox", "--version"], check=True, capture_output=True, text=True).stdout
    return "; ".join([espeak.split("Data at")[0].strip(), sox.split(":", 1)[-1].strip()])


def verify(utts: list[Utterance], tracks: dict[str, bytes], n_samples: int) -> None:
    for user_id, wav_bytes in tracks.items():
        with wave.open(io.BytesIO(wav_bytes), "rb") as wf:
            assert wf.getnframes() == n_samples
            pcm = array.array("h", wf.readframes(wf.getnframes()))
        if sys.byteorder != "little":
            pcm.byteswap()
        spans = word_spans(utts, user_id)
        mask = bytearray(n_samples)
        prev_end = 0
        for s, e, text in spans:
            assert s >= prev_end + WORD_GAP_MS * SAMPLES_PER_MS or prev_end == 0, text
            prev_end = e
            level = rms(pcm[s:e])
            assert level > 500, (user_id, text, level)
            mask[s:e] = b"\x01" * (e - s)
        outside = [i for i in range(n_samples) if not mask[i] and pcm[i] != 0]
        assert not outside, (user_id, outside[:5])
    # speakers never overlap
    all_spans = sorted((u.start, u.end, u.user_id) for u in utts)
    for (_, e1, _), (s2, _, _) in zip(all_spans, all_spans[1:]):
        assert e1 <= s2
    assert not straddlers(utts, 40000), "a word straddles 40000 ms"
    for anchor in ANCHORS.values():
        if anchor.kind == "straddle":
            hits = straddlers(utts, anchor.boundary_ms)
            assert len(hits) == 1, hits
            hit = hits[0]
            assert anchor.boundary_ms - int(hit["start_time"]) > 100  # type: ignore[call-overload]
            assert int(hit["end_time"]) - anchor.boundary_ms > 100  # type: ignore[call-overload]


def build() -> tuple[dict[str, object], dict[str, bytes]]:
    utts = build_utterances()
    place(utts)
    last_end = max(u.end for u in utts)
    duration_ms = math.ceil((ms(last_end) + TAIL_MS) / 500) * 500
    n_samples = duration_ms * SAMPLES_PER_MS
    tracks = {user_id: render(utts, user_id, n_samples) for user_id in VOICES}
    verify(utts, tracks, n_samples)

    cases: list[dict[str, object]] = []
    for idx, anchor in sorted(ANCHORS.items()):
        u = utts[idx]
        w = u.words[anchor.word_index]
        case: dict[str, object] = {
            "kind": "word_straddles_boundary"
            if anchor.kind == "straddle"
            else "utterance_spans_boundary_in_word_gap",
            "boundary_ms": anchor.boundary_ms,
            "user_id": u.user_id,
            "utterance_text": u.text,
            "utterance_start_time": ms(u.start),
            "utterance_end_time": ms(u.end),
            "description": anchor.description,
        }
        if anchor.kind == "straddle":
            case["word"] = w.text
            case["word_start_time"] = ms(w.start)
            case["word_end_time"] = ms(w.start + len(w.samples))
        else:
            nxt = u.words[anchor.word_index + 1]
            case["word_before"] = w.text
            case["word_before_end_time"] = ms(w.start + len(w.samples))
            case["word_after"] = nxt.text
            case["word_after_start_time"] = ms(nxt.start)
        cases.append(case)

    users: dict[str, object] = {}
    for user_id, voice in VOICES.items():
        users[user_id] = {
            "audio": f"{user_id}.wav.gz",
            "voice": voice,
            "utterances": [
                {
                    "start_time": ms(u.start),
                    "end_time": ms(u.end),
                    "text": u.text,
                    "words": [
                        {
                            "text": w.text,
                            "start_time": ms(w.start),
                            "end_time": ms(w.start + len(w.samples)),
                        }
                        for w in u.words
                    ],
                }
                for u in utts
                if u.user_id == user_id
            ],
        }

    boundaries = {str(b): straddlers(utts, b) for b in range(10000, duration_ms, 10000)}
    notes: dict[str, object] = {
        "description": "Two-speaker product stand-up synthesized word by word with "
        "espeak-ng; word timings are exact by construction (sample position / 16).",
        "generator": "tools/make_sample_room.py",
        "synthesizer": tool_versions(),
        "espeak_speed_wpm": ESPEAK_SPEED,
        "word_gap_ms": WORD_GAP_MS,
        "audio_format": "gzip-compressed WAV, 16 kHz mono signed 16-bit little-endian",
        "silence": "samples outside every word of a track are exact zeros; "
        "the speakers never overlap",
        "cases": cases,
        "words_straddling_10s_boundaries": boundaries,
        "longest_silence_ms": {
            user_id: longest_silence_ms(utts, user_id, n_samples) for user_id in VOICES
        },
    }
    ground_truth: dict[str, object] = {
        "room_id": ROOM_ID,
        "app_id": APP_ID,
        "sample_rate": SAMPLE_RATE,
        "duration_ms": duration_ms,
        "users": users,
        "notes": notes,
    }
    return ground_truth, tracks


def print_timeline(ground_truth: dict[str, object]) -> None:
    users = ground_truth["users"]
    assert isinstance(users, dict)
    rows = [
        (u["start_time"], u["end_time"], user_id, u["text"])
        for user_id, info in users.items()
        for u in info["utterances"]
    ]
    for s, e, user_id, text in sorted(rows):
        print(f"{s:6d}-{e:6d} {user_id:5s} {text}")
    print("duration_ms:", ground_truth["duration_ms"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with committed files")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()

    ground_truth, tracks = build()
    print_timeline(ground_truth)
    files = {"ground_truth.json": (json.dumps(ground_truth, indent=2) + "\n").encode()}
    for user_id, wav_bytes in tracks.items():
        files[f"{user_id}.wav.gz"] = gzip_bytes(wav_bytes)

    if args.check:
        stale = [
            name
            for name, data in files.items()
            if not (args.out / name).exists() or (args.out / name).read_bytes() != data
        ]
        if stale:
            print("out of date:", ", ".join(stale))
            return 1
        print("fixture is up to date")
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
