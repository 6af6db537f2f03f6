"""A 100 MiB inline upload on an event loop: the worst lag of a 10 ms ticker, and peak memory.

Run: ``python benchmarks/async_upload.py`` (``--size 100 --repeat 3``).

Each variant runs in its own subprocess, uploads the file to the loopback sink
of ``asr_upload.py`` (a raw-socket server that reads and discards the body and
answers a canned 20000000) while a coroutine ticks every 10 ms and records how
late each tick wakes up, and reports its own ``ru_maxrss``:

* ``baseline``: the interpreter with ``volcspeech.asr``, httpx and a running
  loop, ticking, no upload;
* ``async``: ``await AsyncAsrClient.recognize(path)``;
* ``sync in thread``: ``await asyncio.to_thread(AsrClient.recognize, path)``
  (the documented way to call the sync client from async code);
* ``sync on loop``: ``AsrClient.recognize(path)`` called inside the coroutine,
  the mistake (the loop is blocked for the whole upload).

Targets (issue 13): with ``async`` the ticker never waits more than 50 ms,
and peak RSS stays within 32 MiB of the baseline. Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asr_upload import make_wav, start_sink

LAG_TARGET_MS = 50.0
RSS_BUDGET_MIB = 32
TICK = 0.010
MODES = ("baseline", "async", "sync in thread", "sync on loop")


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _child(mode: str, path: str, url: str) -> dict[str, float]:
    from volcspeech.asr import AsrClient, AsyncAsrClient, LargeInlineAudioWarning

    warnings.simplefilter("ignore", LargeInlineAudioWarning)
    keys = {"app_key": "bench", "access_key": "bench", "endpoint": url}
    lags: list[float] = []
    running = True

    async def ticker() -> None:
        while running:
            t0 = time.perf_counter()
            await asyncio.sleep(TICK)
            lags.append(time.perf_counter() - t0 - TICK)

    # Clients are made at start-up, as a service does: httpx loads the CA
    # certificates when its client is built (measured, reported apart).
    c0 = time.perf_counter()
    client = AsyncAsrClient(**keys)
    construct = time.perf_counter() - c0
    sync_client = AsrClient(**keys)
    tick = asyncio.ensure_future(ticker())
    await asyncio.sleep(0.2)  # the ticker's own jitter, before anything else
    lags.clear()
    t0 = time.perf_counter()
    if mode == "baseline":
        await asyncio.sleep(0.5)
    elif mode == "async":
        assert (await client.recognize(path)).log_id
    elif mode == "sync in thread":
        assert (await asyncio.to_thread(sync_client.recognize, path)).log_id
    else:
        assert sync_client.recognize(path).log_id
    wall = time.perf_counter() - t0
    running = False
    await tick
    await client.aclose()
    sync_client.close()
    lags.sort()
    return {
        "wall": wall,
        "lag_ms": lags[-1] * 1000,
        "p50_ms": lags[len(lags) // 2] * 1000,
        "p90_ms": lags[int(len(lags) * 0.9)] * 1000,
        "rss": _maxrss_mib(),
        "construct_ms": construct * 1000,
    }


def run_child(mode: str, path: str, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, path, url],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100, help="file size in MiB (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(*args.child))))
        return 0

    url = start_sink()
    path = str(make_wav(args.size))
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for _ in range(args.repeat):
        for mode in MODES:  # interleaved: a busy moment of the machine hits all alike
            runs[mode].append(run_child(mode, path, url))
    baseline = max(r["rss"] for r in runs["baseline"])

    print(f"python {sys.version.split()[0]}, {args.size} MiB WAV, {args.repeat} runs per variant")
    print(f"baseline (volcspeech.asr + httpx + a ticking loop): peak RSS {baseline:.1f} MiB\n")
    print("tick lag: how late the 10 ms ticker woke (median and p90 of its ticks, worst tick)")
    print(
        f"{'variant':<16} {'wall s':>7} {'lag p50':>8} {'p90':>6} {'worst ms':>9} "
        f"{'peak RSS MiB':>13} {'over baseline':>14}"
    )
    for mode in MODES:
        wall = statistics.median(r["wall"] for r in runs[mode])
        p50 = statistics.median(r["p50_ms"] for r in runs[mode])
        p90 = statistics.median(r["p90_ms"] for r in runs[mode])
        lag = max(r["lag_ms"] for r in runs[mode])
        rss = max(r["rss"] for r in runs[mode])
        print(
            f"{mode:<16} {wall:>7.3f} {p50:>8.1f} {p90:>6.1f} {lag:>9.1f} "
            f"{rss:>13.1f} {rss - baseline:>+14.1f}"
        )
    lag = max(r["lag_ms"] for r in runs["async"])
    over = max(r["rss"] for r in runs["async"]) - baseline
    lag_ok = lag <= LAG_TARGET_MS
    rss_ok = over <= RSS_BUDGET_MIB
    construct = statistics.median(r["construct_ms"] for mode in MODES for r in runs[mode])
    print(f"\nbuilding an AsyncAsrClient (at start-up): {construct:.1f} ms (median)")
    print(
        f"async: worst ticker lag {lag:.1f} ms (target <= {LAG_TARGET_MS:.0f}) "
        f"{'ok' if lag_ok else 'MISSED'}; peak RSS {over:+.1f} MiB over the baseline "
        f"(target <= +{RSS_BUDGET_MIB}) {'ok' if rss_ok else 'MISSED'}"
    )
    return 0 if lag_ok and rss_ok else 1


if __name__ == "__main__":
    sys.exit(main())
