"""recognize_many with the standard API: submit all, poll together, few threads, polite polling."""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path

import pytest

from volcspeech import errors
from volcspeech.asr import PollSchedule
from volcspeech.testing import Emulator

HELLO = Path(__file__).parent / "fixtures" / "audio" / "hello.wav"
HELLO_TRUTH = [{"text": "hello world", "start_time": 139, "end_time": 861, "words": []}]


@pytest.fixture
def emu(volcspeech_emulator: Emulator) -> Emulator:
    """The emulator with hello.wav registered."""
    volcspeech_emulator.asr.register(HELLO, utterances=HELLO_TRUTH)
    return volcspeech_emulator


class ThreadWatch:
    """Samples the batch's worker threads every few ms while a block runs."""

    def __init__(self) -> None:
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            workers = [t for t in threading.enumerate() if t.name.startswith("volcspeech-std")]
            self.most = max(self.most, len(workers))
            time.sleep(0.005)

    def __enter__(self) -> ThreadWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.slow
def test_two_hundred_tasks_are_polled_together_politely(emu: Emulator) -> None:
    """200 standard tasks finish, each polled at most once per poll interval, on <= 4 threads."""
    std = emu.asr.standard
    std.queued_for, std.processing_for = 0.3, 0.3
    interval = 0.2
    before = threading.active_count()
    with emu.asr.client() as client, ThreadWatch() as watch:
        started = time.monotonic()
        results = list(
            client.recognize_many([HELLO] * 200, api="standard", poll=interval, max_workers=16)
        )
        elapsed = time.monotonic() - started
    assert [r.index for r in results] == list(range(200))
    assert all(r.ok and r.unwrap().text == "hello world" for r in results)
    assert 1 <= watch.most <= 4
    tasks = std.tasks
    assert len(tasks) == 200
    for task in tasks:
        times = std.poll_times(task.task_id)
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert times, task.task_id
        assert min(gaps, default=interval) >= interval - 0.01, (task.task_id, gaps)
        assert len(times) <= elapsed / interval + 1
    # No thread per waiting task was left behind either.
    assert threading.active_count() <= before + 4 + 8  # + emulator connection threads
    print(f"200 tasks in {elapsed:.2f}s, {sum(std.polls(t.task_id) for t in tasks)} polls")


def test_a_failing_item_is_that_items_result(emu: Emulator, tmp_path: Path) -> None:
    """A refused submit and a failed task are their items' errors; the others succeed."""
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all")
    emu.asr.standard.fail_next(45000151, "audio format error")
    with emu.asr.client() as client:
        results = list(
            client.recognize_many([HELLO, junk, HELLO], api="standard", poll=0.01, max_workers=1)
        )
    assert isinstance(results[1].error, errors.InvalidAudioError)
    failed = [r for r in (results[0], results[2]) if not r.ok]
    assert len(failed) == 1
    assert isinstance(failed[0].error, errors.AudioFormatError)


def test_auto_batch_splits_by_duration(emu: Emulator, tmp_path: Path) -> None:
    """api='auto' recognizes short audio with flash and long audio with submit/query."""
    long = tmp_path / "long.wav"
    seconds = 2 * 3600 + 10
    data = seconds * 1000 * 2
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + data)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 1000, 2000, 2, 16)
        + b"data"
        + struct.pack("<I", data)
    )
    with open(long, "wb") as f:
        f.write(header)
        f.truncate(44 + data)
    with emu.asr.client() as client:
        results = list(
            client.recognize_many(
                [HELLO, long, HELLO], api="auto", poll=PollSchedule(initial=0.01, factor=2)
            )
        )
    assert [r.unwrap().text for r in results] == ["hello world", "", "hello world"]
    assert results[1].unwrap().silent
    kinds = sorted(r.path.rsplit("/", 1)[-1] for r in emu.requests)
    assert kinds.count("flash") == 2
    assert kinds.count("submit") == 1


def test_batch_api_choice_is_checked(emu: Emulator) -> None:
    """recognize_many refuses an unknown api before any traffic."""
    with emu.asr.client() as client, pytest.raises(errors.ValidationError, match="api"):
        client.recognize_many([HELLO], api="bulk")
    assert emu.requests == []


def test_tasks_unfinished_at_the_batch_timeout_are_timeout_errors(emu: Emulator) -> None:
    """A task still queued when the batch's wait runs out is that item's TimeoutError."""
    from volcspeech.asr import BatchResult
    from volcspeech.asr._standard_batch import standard_batch

    emu.asr.standard.queued_for = 1e9
    with emu.asr.client() as client:
        started = time.monotonic()
        (result,) = standard_batch(
            client,
            [HELLO],
            api="standard",
            options=None,
            max_workers=2,
            executor=None,
            make_result=BatchResult,
            progress=None,
            poll=0.05,
            timeout=0.3,
        )
    assert isinstance(result.error, errors.TimeoutError)
    assert "resume it with AsrClient.wait" in str(result.error)
    assert time.monotonic() - started < 3
