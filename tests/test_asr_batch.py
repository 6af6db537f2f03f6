"""AsrClient.recognize_many: order, per-item failures, executors, bounded reads, progress."""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import hashlib
import io
import multiprocessing
import os
import threading
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from volcspeech import errors
from volcspeech.asr import AsrClient, BatchResult, RecognitionOptions
from volcspeech.credentials import EnvCredentials
from volcspeech.testing import Emulator

AUDIO = Path(__file__).parent / "fixtures" / "audio"


def noise_wav(seed: int, ms: int = 300) -> bytes:
    """A short WAV of deterministic noise, distinct per seed."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(hashlib.shake_256(f"b{seed}".encode()).digest(ms * 32))
    return out.getvalue()


@pytest.fixture
def files(volcspeech_emulator: Emulator) -> list[bytes]:
    """Ten registered files; file i is transcribed 'file i'."""
    data = [noise_wav(i) for i in range(10)]
    for i, audio in enumerate(data):
        volcspeech_emulator.asr.register(audio, text=f"file {i}")
    return data


@pytest.fixture
def client(volcspeech_emulator: Emulator) -> Iterator[AsrClient]:
    """A client of the emulator without retries."""
    with volcspeech_emulator.asr.client(max_retries=0) as c:
        yield c


def test_results_come_in_input_order(
    volcspeech_emulator: Emulator, files: list[bytes], client: AsrClient
) -> None:
    """Results are yielded in input order even when answers arrive out of order."""
    volcspeech_emulator.inject(service="asr", delay=0.3, passthrough=True)  # the first is slow
    results = list(client.recognize_many(files, max_workers=4))
    assert [r.index for r in results] == list(range(10))
    assert [r.transcript.text for r in results if r.transcript] == [f"file {i}" for i in range(10)]
    assert all(r.ok and r.error is None for r in results)
    assert results[3].input is files[3]
    assert results[3].unwrap().text == "file 3"


def test_a_failing_item_does_not_stop_the_batch(
    volcspeech_emulator: Emulator, files: list[bytes], client: AsrClient
) -> None:
    """Local and service failures are reported on their own items; the rest succeed."""
    items: list[Any] = [files[0], "missing.wav", files[1], "https://nowhere.example/a.wav"]
    items += [files[2], object()]
    results = list(client.recognize_many(items, max_workers=3))
    assert [r.ok for r in results] == [True, False, True, False, True, False]
    assert isinstance(results[1].error, errors.InvalidAudioError)
    assert isinstance(results[3].error, errors.InvalidRequestError)
    assert results[3].error.log_id
    assert isinstance(results[5].error, errors.InvalidAudioError)
    with pytest.raises(errors.InvalidAudioError):
        results[1].unwrap()
    assert results[1].transcript is None


def test_options_apply_to_every_item(
    volcspeech_emulator: Emulator, files: list[bytes], client: AsrClient
) -> None:
    """The batch options are sent with each request."""
    options = RecognitionOptions(enable_itn=True)
    list(client.recognize_many(files[:3], options=options))
    assert all(c.request.get("enable_itn") is True for c in volcspeech_emulator.asr.calls)


class CountingExecutor(concurrent.futures.Executor):
    """Wraps a thread pool and records how many futures were ever pending at once."""

    def __init__(self, workers: int) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(workers)
        self._lock = threading.Lock()
        self.pending = 0
        self.max_pending = 0
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.submitted += 1
            self.pending += 1
            self.max_pending = max(self.max_pending, self.pending)
        future = self._pool.submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _: Any) -> None:
        with self._lock:
            self.pending -= 1

    def shutdown(self, wait: bool = True, **kwargs: Any) -> None:
        self._pool.shutdown(wait=wait)


def test_any_executor_can_run_the_batch(files: list[bytes], client: AsrClient) -> None:
    """An injected executor runs every item, bounded in flight, and is left running."""
    executor = CountingExecutor(2)
    try:
        results = list(client.recognize_many(files, max_workers=2, executor=executor))
        assert [r.transcript.text for r in results if r.transcript] == [
            f"file {i}" for i in range(10)
        ]
        assert executor.submitted == 10
        assert executor.max_pending <= 4
        assert executor.submit(len, "abc").result() == 3  # still usable: not shut down
    finally:
        executor.shutdown()


def test_a_lazy_input_is_read_ahead_boundedly(files: list[bytes], client: AsrClient) -> None:
    """From a generator, at most 2 x max_workers items are taken before a result is out."""
    pulled = 0

    def items() -> Iterator[bytes]:
        nonlocal pulled
        for i in range(40):
            pulled += 1
            yield files[i % 10]

    batch = client.recognize_many(items(), max_workers=3)
    first = next(batch)
    assert first.index == 0
    assert pulled <= 6 + 1
    assert sum(1 for _ in batch) == 39


def test_stopping_early_cancels_the_rest(
    volcspeech_emulator: Emulator, files: list[bytes], client: AsrClient
) -> None:
    """Closing the iterator early cancels queued items instead of sending them."""
    batch = client.recognize_many(files * 5, max_workers=2)
    next(batch)
    batch.close()
    assert len(volcspeech_emulator.asr.calls) < 10


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_process_pool_executor(
    volcspeech_emulator: Emulator,
    files: list[bytes],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
) -> None:
    """A process pool works under fork and spawn: workers rebuild the client from its
    settings and read the key from their own environment."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} here")
    monkeypatch.setenv("VOLCSPEECH_API_KEY", volcspeech_emulator.credentials.api_key)
    context = multiprocessing.get_context(method)
    pool = concurrent.futures.ProcessPoolExecutor(2, mp_context=context)
    client = AsrClient(endpoint=volcspeech_emulator.asr.endpoint, max_retries=0)
    with client, pool:
        results = list(client.recognize_many(files[:4], executor=pool, max_workers=2))
    assert [r.transcript.text for r in results if r.transcript] == [f"file {i}" for i in range(4)]


def test_a_client_with_literal_keys_fails_each_item_on_a_process_pool(
    files: list[bytes], client: AsrClient
) -> None:
    """Literal keys refuse to travel: each item's error says so; the batch still ends."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        results = list(client.recognize_many(files[:3], executor=pool, max_workers=1))
    assert [r.index for r in results] == [0, 1, 2]
    for result in results:
        assert isinstance(result.error, errors.ConfigurationError)
        assert "literal keys" in str(result.error)


class BrokenExecutor(concurrent.futures.Executor):
    """Refuses every other submit, and fails the accepted ones like a dead worker."""

    def __init__(self) -> None:
        self.calls = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls % 2 == 0:
            raise concurrent.futures.process.BrokenProcessPool("pool is broken")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_exception(RuntimeError("worker died"))
        return future


def test_executor_failures_are_per_item_volcspeech_errors(
    files: list[bytes], client: AsrClient
) -> None:
    """A refused submit and a failed future become that item's ExecutorError; none escapes."""
    results = list(client.recognize_many(files[:4], executor=BrokenExecutor(), max_workers=2))
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert all(isinstance(r.error, errors.ExecutorError) for r in results)
    assert "worker process died" in str(results[1].error)
    assert isinstance(results[1].error.__cause__, concurrent.futures.process.BrokenProcessPool)
    assert "worker died" in str(results[0].error)


def test_a_broken_process_pool_does_not_stop_the_batch(files: list[bytes]) -> None:
    """A process pool whose worker died yields an error per item, never BrokenProcessPool."""
    context = multiprocessing.get_context("spawn")
    client = AsrClient(endpoint="http://127.0.0.1:9/flash", credentials=EnvCredentials())
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        pool.submit(os._exit, 1)  # the only worker dies: the pool is broken
        results = list(client.recognize_many(files[:3], executor=pool, max_workers=1))
    assert [r.index for r in results] == [0, 1, 2]
    assert all(isinstance(r.error, errors.ExecutorError) for r in results)


def test_progress_line(
    files: list[bytes], client: AsrClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """progress=True writes a progress line to stderr, with the total when known."""
    list(client.recognize_many([*files[:2], b""], progress=True))
    err = capsys.readouterr().err
    assert "recognized 3/3, 1 failed" in err
    assert err.endswith("\n")
    list(client.recognize_many(iter(files[:2]), progress=True))
    err = capsys.readouterr().err
    assert "recognized 2" in err
    assert "/" not in err
    list(client.recognize_many([], progress=True))
    assert capsys.readouterr().err == ""


def test_bad_batch_arguments(client: AsrClient) -> None:
    """items, max_workers, executor and options are checked at once, naming the argument."""
    for workers in (0, -1, True, 2.0, 10**9, 1025):
        with pytest.raises(errors.ValidationError, match="max_workers"):
            client.recognize_many([], max_workers=workers)  # type: ignore[arg-type]
    for items in (None, 3, "a.wav", b"RIFF", Path("a.wav")):
        with pytest.raises(errors.ValidationError, match="items") as info:
            client.recognize_many(items)  # type: ignore[arg-type]
        assert info.value.field == "items"
    with pytest.raises(errors.ValidationError, match="executor"):
        client.recognize_many([], executor="pool")  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError, match="RecognitionOptions"):
        client.recognize_many([], options={})  # type: ignore[arg-type]
    assert list(client.recognize_many([], max_workers=1024)) == []


def test_many_workers_grow_the_connection_pool(
    volcspeech_emulator: Emulator, files: list[bytes]
) -> None:
    """A batch wider than the default pool grows the pool of volcspeech's own session."""
    with volcspeech_emulator.asr.client() as client:
        results = list(client.recognize_many(files * 4, max_workers=40))
        adapter = client._http.session.get_adapter(volcspeech_emulator.url)
        assert adapter._pool_maxsize == 40  # type: ignore[attr-defined]
        list(client.recognize_many(files, max_workers=4))
        assert client._http.session.get_adapter(volcspeech_emulator.url) is adapter
    assert all(r.ok for r in results)


def test_batch_result_repr_hides_the_input() -> None:
    """A BatchResult's repr does not dump the (possibly large) input."""
    result = BatchResult(0, b"x" * 1000)
    assert "xxxx" not in repr(result)
    assert result.ok
