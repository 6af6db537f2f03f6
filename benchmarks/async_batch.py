"""Async batch throughput: 500 short files, 200 ms server latency, concurrency 64, one event loop.

Run: ``python benchmarks/async_batch.py`` (``--files 500 --latency 0.2 --concurrency 64
--repeat 3``).

``AsyncAsrClient.recognize_many(concurrency=64)`` on one asyncio loop, and in
the same run, as the reference, the sync ``AsrClient.recognize_many`` with 64
threads, both against one emulator in its own process (as a real server
would be) whose ASR route waits ``latency`` seconds before each answer. The
ideal is ``files x latency / concurrency`` (1.56 s for the defaults); each
variant is reported as a share of it.

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
        variants = (
            ("async, 1 loop", lambda: asyncio.run(run_async(endpoint, paths, args.concurrency))),
            ("sync, threads", lambda: run_sync(endpoint, paths, args.concurrency)),
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
