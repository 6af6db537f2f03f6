"""A FastAPI app served by uvicorn on 127.0.0.1 keeps its health endpoint responsive while
32 recognitions run through the async client (and the same app calling the sync client
inside ``async def`` stalls it: the control that shows the probe can see a stall)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from volcspeech.testing import Emulator

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "tests" / "fixtures" / "audio" / "hello.wav"
#: Seconds the emulator takes per recognition.
LATENCY = 1.0

APP = """
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI

from volcspeech.asr import AsrClient, AsyncAsrClient

SETTINGS = dict(
    app_key=os.environ["APP_KEY"],
    access_key=os.environ["ACCESS_KEY"],
    endpoint=os.environ["ASR_ENDPOINT"],
)
AUDIO = os.environ["AUDIO"]


@asynccontextmanager
async def lifespan(app):
    async with AsyncAsrClient(**SETTINGS) as asr:
        app.state.asr = asr
        app.state.sync_asr = AsrClient(**SETTINGS)
        yield
        app.state.sync_asr.close()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health():
    return {"ok": True}


@app.post("/recognize")
async def recognize():
    transcript = await app.state.asr.recognize(AUDIO)
    return {"text": transcript.text}


@app.post("/recognize-blocking")
async def recognize_blocking():
    # The mistake the async client exists for: a sync call inside async def.
    return {"text": app.state.sync_asr.recognize(AUDIO).text}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def anyio_backend() -> str:
    """The async tests run on asyncio (the library's loop)."""
    return "asyncio"


@pytest.fixture
def service(volcspeech_emulator: Emulator, tmp_path: Path) -> Iterator[str]:
    """The app under uvicorn in a subprocess on 127.0.0.1, against the emulator; its URL."""
    emu = volcspeech_emulator
    emu.asr.register(HELLO, text="hello world")
    emu.asr.latency = LATENCY
    (tmp_path / "service_app.py").write_text(APP, encoding="utf-8")
    port = free_port()
    env = dict(os.environ)
    env.update(
        APP_KEY=emu.credentials.app_key,
        ACCESS_KEY=emu.credentials.access_key,
        ASR_ENDPOINT=emu.asr.endpoint,
        AUDIO=str(HELLO),
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
    )
    log = (tmp_path / "uvicorn.log").open("wb")
    command = [sys.executable, "-m", "uvicorn", "service_app:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--app-dir", str(tmp_path), "--log-level", "warning"]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail("uvicorn did not start:\n" + (tmp_path / "uvicorn.log").read_text())
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def health_lags_during(url: str, path: str, calls: int) -> tuple[float, list[int]]:
    """Run ``calls`` POSTs of ``path`` at once while probing /health every 10 ms; return the
    slowest health answer in seconds and the POSTs' statuses."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        work = [asyncio.ensure_future(http.post(path)) for _ in range(calls)]
        slowest = 0.0
        await asyncio.sleep(0.1)  # the recognitions are under way
        while not all(w.done() for w in work):
            t0 = time.perf_counter()
            response = await http.get("/health")
            slowest = max(slowest, time.perf_counter() - t0)
            assert response.status_code == 200
            await asyncio.sleep(0.01)
        statuses = [(await w).status_code for w in work]
    return slowest, statuses


@pytest.mark.slow
async def test_health_stays_fast_while_32_recognitions_run(service: str) -> None:
    """With the async client, /health never waits anywhere near a recognition's latency while
    32 run; the sync client in the same app stalls it for about its latency."""
    slowest, statuses = await health_lags_during(service, "/recognize", 32)
    assert statuses == [200] * 32
    assert slowest < LATENCY / 2, f"health took {slowest * 1000:.0f} ms"

    blocked, statuses = await health_lags_during(service, "/recognize-blocking", 2)
    assert statuses == [200] * 2
    assert blocked >= LATENCY * 0.8  # the probe does see a stall when there is one
