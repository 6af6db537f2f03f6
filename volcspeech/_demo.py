"""``volcspeech demo``: the whole path on the built-in emulator, no credentials, no network.

1. start the emulator and register the bundled two-speaker sample room;
2. start a callback receiver on 127.0.0.1 and point the emulator's RTC
   callbacks at it;
3. ``RtcClient.start_segment`` (V4-signed; the emulator verifies the signature);
4. the emulator cuts real WAV segments and POSTs signed ``SegmentRealTimeData``
   callbacks; the receiver hands them to a ``SegmentTranscriber``, which
   verifies them and recognizes each segment through ``AsrClient``;
5. merged utterances are printed as they become final; the transcript is
   checked against the room's ground truth and written as SRT.
"""

from __future__ import annotations

import argparse
import http.server
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any, Optional

__all__ = ["register", "run_demo"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="segment, recognize and merge a sample room on the built-in emulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=20,
        help="segment length in seconds, StartSegment's Duration (default 20)",
    )
    parser.add_argument(
        "--redundant-ms",
        type=int,
        default=0,
        help="RedundantDuration in ms: each segment repeats this much of the "
        "previous one (default 0)",
    )
    parser.add_argument(
        "--align",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Control.Align: cut every user on one grid (default on)",
    )
    parser.add_argument(
        "--mixed",
        action="store_true",
        help="Control.Mixed: also cut and transcribe the mixed stream",
    )
    parser.add_argument(
        "--shuffle", action="store_true", help="deliver callbacks out of order and some twice"
    )
    parser.add_argument(
        "--pace",
        type=float,
        default=0.1,
        help="seconds between callbacks, to watch the transcript grow (default 0.1)",
    )
    parser.add_argument(
        "--output",
        default="volcspeech-demo.srt",
        help="where to write the SRT (default ./volcspeech-demo.srt)",
    )
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    return run_demo(
        duration=args.duration,
        redundant_ms=args.redundant_ms,
        align=args.align,
        mixed=args.mixed,
        shuffle=args.shuffle,
        pace=args.pace,
        output=args.output,
    )


class _Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, submit: Any) -> None:
        self.submit = submit
        self.rejected = 0
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/rtc/callback"


class _ReceiverHandler(http.server.BaseHTTPRequestHandler):
    server: _Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the demo prints its own lines

    def do_POST(self) -> None:
        from .errors import CallbackError

        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20))
        try:
            self.server.submit(body)
            status = 200
        except CallbackError:
            self.server.rejected += 1
            status = 401
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _clock(ms: int) -> str:
    minutes, rest = divmod(max(0, ms), 60_000)
    return f"{minutes:02d}:{rest / 1000:06.3f}"


def run_demo(
    *,
    duration: int = 20,
    redundant_ms: int = 0,
    align: bool = True,
    mixed: bool = False,
    shuffle: bool = False,
    pace: float = 0.1,
    output: Optional[str] = "volcspeech-demo.srt",
    out: Optional[IO[str]] = None,
) -> int:
    """Run the demo; returns the exit status (0 when the transcript matches the ground truth).

    Raises:
        VolcSpeechError: on invalid settings (e.g. ``duration`` outside 1-600).
    """
    from .pipeline import SegmentTranscriber, base_url_resolver
    from .pipeline._model import RoomUtterance
    from .rtc import SegmentControl, StartSegmentRequest, StopSegmentRequest, StorageConfig
    from .testing import Emulator

    started = time.monotonic()
    control = SegmentControl(align=align, mixed=mixed, redundant_duration=redundant_ms)
    task_id = f"demo-{uuid.uuid4().hex[:8]}"
    bucket = "demo-bucket"

    stream = sys.stdout if out is None else out

    def say(line: str) -> None:
        print(line, file=stream, flush=True)

    lock = threading.Lock()

    def on_utterance(u: RoomUtterance) -> None:
        with lock:
            say(f"  [{_clock(u.start_time)} - {_clock(u.end_time)}] {u.user_id:>6}: {u.text}")

    with Emulator() as emu, emu.asr.client() as asr, emu.rtc.client() as rtc:
        room = emu.rtc.register_sample_room()
        request = StartSegmentRequest(
            app_id=room.app_id,
            room_id=room.room_id,
            task_id=task_id,
            storage_config=StorageConfig.tos(account_id="2100000000", bucket=bucket),
            duration=duration,
            control=control,
            identifier="demo",
        )
        transcriber = SegmentTranscriber(
            asr,
            resolve_audio=base_url_resolver(f"{emu.url}/storage"),
            redundant_duration_ms=redundant_ms,
            on_utterance=on_utterance,
            callback_secret=emu.credentials.callback_secret,
            max_workers=8,
        )
        receiver = _Receiver(transcriber.submit)
        thread = threading.Thread(
            target=receiver.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            emu.rtc.callback_url = receiver.url
            emu.rtc.callback_options(
                shuffle=shuffle, duplicate=0.3 if shuffle else 0.0, seed=7, pace=pace
            )
            say(
                f"volcspeech demo: room {room.room_id!r}, {len(room.tracks)} speakers, "
                f"{room.duration_ms / 1000:.1f} s of speech, emulator at {emu.url}"
            )
            say(
                f"StartSegment Duration={duration}s RedundantDuration={redundant_ms}ms "
                f"Align={align} Mixed={mixed} (signed, verified by the emulator)"
            )
            result = rtc.start_segment(request)
            task = rtc.get_segment_task(room.app_id, room.room_id, task_id)
            transcriber.origin_ms = task.start_time
            say(f"task {task_id}: {task.status.name.lower()}, request id {result.request_id}")
            say("merged transcript, as segments arrive:")
            if not emu.rtc.wait_for_callbacks(timeout=60):
                say("error: the emulator did not deliver every callback in 60 s")
                return 1
            transcripts = transcriber.finish(timeout=60)
            rtc.stop_segment(
                StopSegmentRequest(app_id=room.app_id, room_id=room.room_id, task_id=task_id)
            )
        finally:
            receiver.shutdown()
            receiver.server_close()
            transcriber.close()
        transcript = transcripts[0]
        deliveries = len(emu.rtc.deliveries)
        segments = len(emu.rtc.segments)

    expected = [(u.user_id, u.text) for u in room.utterances()]
    got = [(u.user_id, u.text) for u in transcript.utterances]
    say("")
    say(
        f"{segments} segments, {deliveries} callback deliveries "
        f"({deliveries - segments} duplicates ignored), {len(transcript.gaps)} gaps, "
        f"{len(transcript.mixed)} mixed-stream utterances"
    )
    if output:
        path = Path(output)
        path.write_text(transcript.to_srt(), encoding="utf-8")
        say(f"wrote {path} ({len(transcript.utterances)} cues)")
    elapsed = time.monotonic() - started
    if got == expected:
        say(
            f"the merged transcript matches the ground truth, word for word "
            f"and speaker for speaker ({elapsed:.1f} s)"
        )
        return 0
    say(f"the merged transcript differs from the ground truth ({elapsed:.1f} s):")
    for (eu, et), (gu, gt) in zip(expected, got):
        if (eu, et) != (gu, gt):
            say(f"  expected {eu}: {et}\n       got {gu}: {gt}")
    if len(expected) != len(got):
        say(f"  expected {len(expected)} utterances, got {len(got)}")
    return 1
