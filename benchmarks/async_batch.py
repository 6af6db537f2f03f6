"""Async batch throughput: 500 short files, 200 ms server latency, concurrency 64, one event loop.

Run: ``python benchmarks/async_batch.py`` (``--files 500 --latency 0.2 --concurrency 64
--repeat 3``).

``AsyncAsrClient.recognize_many(concurrency=64)`` on one asyncio loop, and in
the same run, as the reference, the sync ``AsrClient.recognize_many`` with 64
threads, both against one emulator in its own process (as a real server
would be) whose ASR route waits ``latency`` seconds before each answer. The
ideal is ``files x latency / concurrency`` (1.56 s for the defaults); each
variant is reported as a share of it. A third variant posts the same wire
requests (prebuilt by volcspeech) with a bare ``httpx.AsyncClient``: the
floor of any client on httpx on this machine.

Target (DESIGN.md, issue 13): the async client reaches at least 90 % of the
ideal throughput. Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asr_batch import make_files

from volcspeech.asr import AsrClient, AsyncAsrClient, BatchResult
from volcspeech.testing import TestCredentials

TARGET = 0.90


async def run_async(endpoint: str, paths: list[Path], concurrency: int) -> list[BatchResult]:
    credentials = TestCredentials()
    async with AsyncAsrClient(
        credentials.app_key, credentials.access_key, endpoint=endpoint
    ) as client:
        return [r async for r in client.recognize_many(paths, concurrency=concurrency)]


def prebuilt(endpoint: str, paths: list[Path]) -> list[tuple[dict[str, str], bytes]]:
    """The exact wire requests of the recognitions (built by volcspeech, not sent)."""
    from volcspeech.asr import RecognitionOptions
    from volcspeech.asr._audio import prepare_audio

    credentials = TestCredentials()
    out = []
    with AsrClient(credentials.app_key, credentials.access_key, endpoint=endpoint) as client:
        for n, path in enumerate(paths):
            prepared = prepare_audio(path, RecognitionOptions().to_audio_dict())
            request = client._recognize_request(
                prepared, RecognitionOptions(), f"rid-{n}", client.resource_id
            )
            out.append((dict(request.headers), request.read_body()))
            assert prepared.source is not None
            prepared.source.close()
    return out


async def run_httpx(
    endpoint: str, requests: list[tuple[dict[str, str], bytes]], concurrency: int
) -> list[BatchResult]:
    """The floor: the same requests posted with a bare httpx.AsyncClient (no volcspeech)."""
    import httpx

    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=None)

    async with httpx.AsyncClient(limits=limits, timeout=60) as http:

        async def one(index: int, headers: dict[str, str], body: bytes) -> BatchResult:
            async with gate:
                answer = await http.post(endpoint, headers=headers, content=body)
            ok = answer.headers.get("X-Api-Status-Code") == "20000000"
            return BatchResult(index, None, error=None if ok else RuntimeError(answer.text))

        return list(await asyncio.gather(*(one(i, h, b) for i, (h, b) in enumerate(requests))))


def run_sync(endpoint: str, paths: list[Path], workers: int) -> list[BatchResult]:
    credentials = TestCredentials()
    with AsrClient(credentials.app_key, credentials.access_key, endpoint=endpoint) as client:
        return list(client.recognize_many(paths, max_workers=workers))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant (median)")
    args = parser.parse_args()

    paths = make_files(args.files)
    ideal = args.files * args.latency / args.concurrency
    server = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).parent / "asr_batch.py"),
            "--serve",
            "--latency",
            str(args.latency),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    rows = []
    try:
        assert server.stdout is not None
        endpoint = server.stdout.readline().strip()
        # A short warm-up of each (connections, threads), then the measured runs,
        # interleaved so that a busy moment of the machine hits both alike.
        asyncio.run(run_async(endpoint, paths[:8], 8))
        run_sync(endpoint, paths[:8], 8)
        wire = prebuilt(endpoint, paths)
        variants = (
            ("async, 1 loop", lambda: asyncio.run(run_async(endpoint, paths, args.concurrency))),
            ("sync, threads", lambda: run_sync(endpoint, paths, args.concurrency)),
            ("bare httpx", lambda: asyncio.run(run_httpx(endpoint, wire, args.concurrency))),
        )
        times: dict[str, list[float]] = {name: [] for name, _ in variants}
        failures: dict[str, int] = dict.fromkeys(times, 0)
        complete: dict[str, bool] = dict.fromkeys(times, True)
        for _ in range(args.repeat):
            for name, call in variants:
                started = time.perf_counter()
                results = call()
                times[name].append(time.perf_counter() - started)
                failures[name] += sum(not r.ok for r in results)
                complete[name] &= sorted(r.index for r in results) == list(range(args.files))
        for name, _ in variants:
            rows.append((name, statistics.median(times[name]), failures[name], complete[name]))
    finally:
        server.communicate("")

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.repeat}")
    print(
        f"{args.files} files, server latency {args.latency * 1000:.0f} ms, "
        f"concurrency {args.concurrency} (async tasks / sync threads)"
    )
    print(f"{'':<16} {'seconds':>8} {'files/s':>8} {'of ideal':>9} {'failed':>7}")
    print(f"{'ideal (computed)':<16} {ideal:>8.2f} {args.files / ideal:>8.1f} {'100.0%':>9}")
    for name, elapsed, failed, _ in rows:
        print(
            f"{name:<16} {elapsed:>8.2f} {args.files / elapsed:>8.1f} "
            f"{ideal / elapsed:>9.1%} {failed:>7}"
        )
    print(
        "(bare httpx: the same wire requests, prebuilt, posted by a plain httpx.AsyncClient "
        "on one loop: the floor of any httpx client here)"
    )
    async_share = ideal / rows[0][1]
    sync_share = ideal / rows[1][1]
    print(
        f"\nasync: {async_share:.1%} of the ideal throughput (target >= {TARGET:.0%}); "
        f"sync with threads: {sync_share:.1%}; async/sync = {rows[1][1] / rows[0][1]:.2f}x"
    )
    ok = async_share >= TARGET and all(failed == 0 and every for _, _, failed, every in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
