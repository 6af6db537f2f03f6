"""recognize_many on a real Dask cluster (LocalCluster, two worker processes) against the
emulator, with keys only in the workers' environment; a killed worker loses no item."""

from __future__ import annotations

import copyreg
import hashlib
import importlib.util
import io
import os
import signal
import time
import wave
from collections.abc import Iterator
from typing import Any

import pytest

from volcspeech import AsrClient, RtcClient, _worker_cache, errors
from volcspeech.credentials import CallableCredentials, EnvCredentials, SpeechCredentials
from volcspeech.testing import Emulator

# distributed is imported by the cluster fixture, not at collection: importing it
# runs tblib.pickling_support.install(), which registers a pickler for every
# exception class in copyreg (bypassing volcspeech errors' own __reduce__); the
# fixture puts the table back afterwards so the rest of the suite is unaffected.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("distributed") is None, reason="needs dask[distributed]"
    ),
]

N_FILES = 24


def noise_wav(seed: int, ms: int = 300) -> bytes:
    """A short WAV of deterministic noise, distinct per seed."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(hashlib.shake_256(f"dask{seed}".encode()).digest(ms * 32))
    return out.getvalue()


def speech_from_vault() -> SpeechCredentials:
    """A picklable credential callable; the workers have no TEST_VAULT_API_KEY."""
    return SpeechCredentials(api_key=os.environ["TEST_VAULT_API_KEY"])


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """One emulator for the module; the workers reach it on 127.0.0.1."""
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def files(emu: Emulator) -> list[bytes]:
    """Distinct registered files; file i is transcribed 'file i'."""
    data = [noise_wav(i) for i in range(N_FILES)]
    for i, audio in enumerate(data):
        emu.asr.register(audio, text=f"file {i}")
    return data


@pytest.fixture(scope="module")
def dask_client(emu: Emulator) -> Iterator[Any]:
    """A two-process LocalCluster whose workers (only) hold the speech API key."""
    saved = dict(copyreg.dispatch_table)
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=4,
        processes=True,
        dashboard_address=None,
        env={"VOLCSPEECH_API_KEY": emu.credentials.api_key},
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
        copyreg.dispatch_table.clear()
        copyreg.dispatch_table.update(saved)


@pytest.fixture
def executor(dask_client: Any) -> Any:
    """The cluster's concurrent.futures executor (pure=False: every item is its own task)."""
    dask_client.wait_for_workers(2, timeout=60)
    return dask_client.get_executor(pure=False)


def texts(results: list[Any]) -> list[str | None]:
    """The transcript text of each result, None for a failure."""
    return [r.transcript.text if r.transcript else None for r in results]


def test_a_batch_runs_with_keys_only_on_the_workers(
    emu: Emulator, files: list[bytes], executor: Any, dask_client: Any
) -> None:
    """No key in this process or the scheduler; every item succeeds; one client per worker."""
    assert "VOLCSPEECH_API_KEY" not in os.environ
    asr = AsrClient(endpoint=emu.asr.endpoint, credentials=EnvCredentials(), max_retries=0)
    results = list(asr.recognize_many(files, executor=executor, max_workers=8))
    assert texts(results) == [f"file {i}" for i in range(N_FILES)]
    built = dask_client.run(lambda: len(_worker_cache.cached_clients()))
    assert sorted(built.values()) == [1, 1]  # 24 items, one rebuilt client per worker
    assert all(r.headers.get("x-api-key") for r in emu.requests_for("asr")[-N_FILES:])


def test_missing_credentials_are_each_items_real_error(
    emu: Emulator, files: list[bytes], executor: Any
) -> None:
    """A source that finds no key on the workers fails each item with its ConfigurationError."""
    asr = AsrClient(endpoint=emu.asr.endpoint, credentials=CallableCredentials(speech_from_vault))
    results = list(asr.recognize_many(files[:4], executor=executor, max_workers=4))
    assert [r.index for r in results] == [0, 1, 2, 3]
    for result in results:
        assert isinstance(result.error, errors.ConfigurationError)
        assert "speech_from_vault failed: KeyError" in str(result.error)
    rtc = RtcClient(endpoint=emu.url, credentials=EnvCredentials(), max_retries=0)
    with pytest.raises(errors.ConfigurationError, match=r"VOLCENGINE_ACCESS_KEY.*process \d+"):
        executor.submit(rtc.get_segment_task, "app", "room", "task").result()


def test_items_that_cannot_travel_fail_alone(
    emu: Emulator, files: list[bytes], executor: Any, tmp_path: Any
) -> None:
    """An open file item and a client with literal keys fail per item; the rest succeed."""
    path = tmp_path / "a.wav"
    path.write_bytes(files[0])
    asr = AsrClient(endpoint=emu.asr.endpoint, credentials=EnvCredentials(), max_retries=0)
    with path.open("rb") as handle:
        results = list(asr.recognize_many([files[1], handle, files[2]], executor=executor))
    assert texts(results) == ["file 1", None, "file 2"]
    assert isinstance(results[1].error, errors.ExecutorError)
    assert "could not be pickled" in str(results[1].error)
    with emu.asr.client() as literal:  # the emulator's client is given literal keys
        refused = list(literal.recognize_many(files[:2], executor=executor))
    assert all(isinstance(r.error, errors.ConfigurationError) for r in refused)
    assert all("literal keys" in str(r.error) for r in refused)


def test_a_killed_worker_loses_no_item(
    emu: Emulator, files: list[bytes], executor: Any, dask_client: Any
) -> None:
    """Killing one worker process mid-batch: every item still ends with its transcript."""
    pids = dask_client.run(os.getpid)
    victim = sorted(pids.values())[0]
    asr = AsrClient(endpoint=emu.asr.endpoint, credentials=EnvCredentials(), max_retries=0)
    emu.asr.latency = 0.2
    sent_before = len(emu.requests_for("asr"))
    try:
        batch = asr.recognize_many(files * 2, executor=executor, max_workers=8)
        results = [next(batch)]
        os.kill(victim, signal.SIGKILL)
        results += list(batch)
    finally:
        emu.asr.latency = 0.0
    assert [r.index for r in results] == list(range(2 * N_FILES))
    assert texts(results) == [f"file {i % N_FILES}" for i in range(2 * N_FILES)]
    assert len(emu.requests_for("asr")) - sent_before > 2 * N_FILES  # lost tasks were rerun
    deadline = time.monotonic() + 60
    while victim in dask_client.run(os.getpid).values() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert victim not in dask_client.run(os.getpid).values()



def test_segment_transcriber_on_dask_equals_the_sample_room(
    emu: Emulator, executor: Any, dask_client: Any
) -> None:
    """The sample room's segments recognized on the cluster merge into its ground truth."""
    from volcspeech.pipeline import SegmentTranscriber, base_url_resolver
    from volcspeech.rtc import SegmentControl, StartSegmentRequest, StorageConfig

    room = emu.rtc.register_sample_room()
    with emu.rtc.client() as rtc:
        rtc.start_segment(
            StartSegmentRequest(
                app_id=room.app_id,
                room_id=room.room_id,
                task_id="dask-task",
                storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
                duration=20,
                control=SegmentControl(align=True),
            )
        )
    assert emu.rtc.wait_for_callbacks(timeout=30)
    bodies = emu.rtc.take_callbacks()
    asr = AsrClient(endpoint=emu.asr.endpoint, credentials=EnvCredentials(), max_retries=0)
    with SegmentTranscriber(
        asr,
        resolve_audio=base_url_resolver(emu.url + "/storage"),
        callback_secret=emu.credentials.callback_secret,
        executor=executor,
    ) as transcriber:
        for body in bodies:
            transcriber.submit(body)
        (final,) = transcriber.finish(timeout=60)
    assert [(u.user_id, u.text) for u in final.utterances] == [
        (u.user_id, u.text) for u in room.utterances()
    ]
    assert final.complete
    assert not final.gaps
