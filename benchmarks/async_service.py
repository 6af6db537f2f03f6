"""A FastAPI service under uvicorn: /health latency while 32 recognitions run.

Run: ``python benchmarks/async_service.py`` (``--calls 32 --latency 1.0 --repeat 3``).

One uvicorn worker on 127.0.0.1 serves an app with three recognition routes
against an emulator (its own process) answering after ``latency`` seconds:

* ``/async``: ``await AsyncAsrClient.recognize(...)``;
* ``/threadpool``: the sync client through ``run_in_threadpool`` (the
  documented way to call it from ``async def``);
* ``/blocking``: the sync client called directly inside ``async def`` (the
  mistake of issue 13: it stalls the loop).

While ``calls`` POSTs of one route run at once, /health is probed every 10 ms;
the table gives the probes' median, p99 and worst latency.

Target (issue 13): with the async client, /health stays under 50 ms. Exit
status 1 if missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from volcspeech.testing import TestCredentials

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "tests" / "fixtures" / "audio" / "hello.wav"
TARGET_MS = 50.0
ROUTES = ("/async", "/threadpool", "/blocking")

APP = """
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

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
        with AsrClient(**SETTINGS) as sync_asr:
            app.state.asr, app.state.sync_asr = asr, sync_asr
            yield


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health():
    return {"ok": True}


@app.post("/async")
async def recognize_async():
    return {"text": (await app.state.asr.recognize(AUDIO)).text}


@app.post("/threadpool")
async def recognize_threadpool():
    transcript = await run_in_threadpool(app.state.sync_asr.recognize, AUDIO)
    return {"text": transcript.text}


@app.post("/blocking")
async def recognize_blocking():
    return {"text": app.state.sync_asr.recognize(AUDIO).text}
"""


def serve_emulator(latency: float) -> None:
    """Run an emulator knowing hello.wav until stdin closes; print its ASR endpoint first."""
    from volcspeech.testing import Emulator

    with Emulator() as emulator:
        emulator.asr.register(HELLO, text="hello world")
        emulator.asr.latency = latency
        print(emulator.asr.endpoint, flush=True)
        sys.stdin.read()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def probe(url: str, route: str, calls: int) -> list[float]:
    """/health latencies (seconds) while ``calls`` POSTs of ``route`` run at once."""
    limits = httpx.Limits(max_connections=calls + 4)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        await http.get("/health")
        work = [asyncio.ensure_future(http.post(route)) for _ in range(calls)]
        lags: list[float] = []
        await asyncio.sleep(0.05)
        while not all(w.done() for w in work):
            t0 = time.perf_counter()
            await http.get("/health")
            lags.append(time.perf_counter() - t0)
            await asyncio.sleep(0.01)
        for w in work:
            assert (await w).json()["text"] == "hello world"
    return lags


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=32)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per recognition")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_emulator(args.latency)
        return 0

    emulator = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--latency", str(args.latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert emulator.stdout is not None
    endpoint = emulator.stdout.readline().strip()
    credentials = TestCredentials()
    workdir = tempfile.TemporaryDirectory()
    (Path(workdir.name) / "bench_app.py").write_text(APP, encoding="utf-8")
    port = free_port()
    env = dict(os.environ)
    env.update(
        APP_KEY=credentials.app_key,
        ACCESS_KEY=credentials.access_key,
        ASR_ENDPOINT=endpoint,
        AUDIO=str(HELLO),
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
    )
    command = [sys.executable, "-m", "uvicorn", "bench_app:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--app-dir", workdir.name, "--log-level", "warning"]
    server = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    lags: dict[str, list[float]] = {route: [] for route in ROUTES}
    try:
        for _ in range(200):
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        for _ in range(args.repeat):
            for route in ROUTES:
                # The blocking route runs 4 calls (as in the issue), or it would take 32 s.
                calls = args.calls if route != "/blocking" else min(4, args.calls)
                lags[route] += asyncio.run(probe(url, route, calls))
    finally:
        server.terminate()
        server.wait()
        emulator.communicate("")
        workdir.cleanup()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, one uvicorn worker")
    print(
        f"recognition latency {args.latency * 1000:.0f} ms; {args.calls} calls at once "
        f"(4 for /blocking); {args.repeat} runs\n"
    )
    print(f"{'route':<12} {'probes':>7} {'median ms':>10} {'p99 ms':>8} {'worst ms':>9}")
    for route in ROUTES:
        ms = sorted(x * 1000 for x in lags[route])
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        print(f"{route:<12} {len(ms):>7} {statistics.median(ms):>10.1f} {p99:>8.1f} {ms[-1]:>9.1f}")
    worst = max(lags["/async"]) * 1000
    ok = worst < TARGET_MS
    print(
        f"\n/async: worst /health {worst:.1f} ms (target < {TARGET_MS:.0f} ms) "
        f"{'ok' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
