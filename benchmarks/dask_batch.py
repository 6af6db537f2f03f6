"""Batch throughput on a Dask cluster: 400 short files, 200 ms server latency.

Run: ``python benchmarks/dask_batch.py`` (``--files 400 --latency 0.2
--workers 2 --threads 16 --repeat 3``). Needs ``dask[distributed]``.

Two ways to run the same batch, side by side in the same run, against one
emulator in its own process whose ASR route waits ``latency`` seconds before
each answer:

* **dask**: ``recognize_many(executor=client.get_executor(pure=False),
  max_workers=workers x threads)`` on a ``LocalCluster`` of ``workers``
  processes with ``threads`` threads each. The key is set only in the
  workers' environment; the client here is built with ``EnvCredentials()``.
* **threads**: ``recognize_many(max_workers=workers x threads)`` in this one
  process (the reference).

Both have ``workers x threads`` (32) recognitions in flight, so the ideal is
``files x latency / 32`` (2.5 s for 400 files). Each is reported as a fraction
of that ideal; the best of ``--repeat`` interleaved rounds counts (the
cluster is started, and warmed with one small batch, before timing).

Target (DESIGN.md): Dask at least 85 % of the ideal throughput. Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asr_batch import make_files

from volcspeech.asr import AsrClient
from volcspeech.credentials import EnvCredentials
from volcspeech.testing import TestCredentials

SERVER = Path(__file__).resolve().parent / "asr_batch.py"
TARGET = 0.85


def timed(client: AsrClient, paths: list[Path], **kwargs: Any) -> tuple[float, int]:
    """Seconds for one batch, and how many items failed."""
    started = time.perf_counter()
    results = list(client.recognize_many(paths, **kwargs))
    elapsed = time.perf_counter() - started
    in_order = [r.index for r in results] == list(range(len(paths)))
    return elapsed, sum(not r.ok for r in results) + (0 if in_order else len(paths))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per answer")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    parser.add_argument("--threads", type=int, default=16, help="threads per Dask worker")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import distributed


    slots = args.workers * args.threads
    paths = make_files(args.files)
    ideal = args.files * args.latency / slots
    credentials = TestCredentials()
    server = subprocess.Popen(
        [sys.executable, str(SERVER), "--serve", "--latency", str(args.latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    times: dict[str, list[float]] = {"dask": [], "threads": []}
    failed = 0
    try:
        assert server.stdout is not None
        endpoint = server.stdout.readline().strip()
        started = time.perf_counter()
        cluster = distributed.LocalCluster(
            n_workers=args.workers,
            threads_per_worker=args.threads,
            processes=True,
            dashboard_address=None,
            env={"VOLCSPEECH_API_KEY": credentials.api_key},
        )
        dask = distributed.Client(cluster)
        startup = time.perf_counter() - started
        executor = dask.get_executor(pure=False)
        remote = AsrClient(endpoint=endpoint, credentials=EnvCredentials())
        local = AsrClient(api_key=credentials.api_key, endpoint=endpoint)
        with remote, local, dask, cluster:
            timed(remote, paths[: 2 * slots], executor=executor, max_workers=slots)  # warm-up
            timed(local, paths[: 2 * slots], max_workers=slots)
            for _ in range(args.repeat):
                for name, client, kwargs in (
                    ("dask", remote, {"executor": executor, "max_workers": slots}),
                    ("threads", local, {"max_workers": slots}),
                ):
                    elapsed, bad = timed(client, paths, **kwargs)
                    times[name].append(elapsed)
                    failed += bad
    finally:
        server.communicate("")

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(
        f"{args.files} files, server latency {args.latency * 1000:.0f} ms, "
        f"{slots} in flight; Dask: {args.workers} worker processes x {args.threads} threads "
        f"(cluster start-up {startup:.1f} s, not counted)"
    )
    print(f"{'':<34} {'best s':>7} {'all runs (s)':>22} {'of ideal':>9}")
    print(f"{'ideal (computed)':<34} {ideal:>7.2f} {'':>22} {'100.0%':>9}")
    share = {}
    for name, label in (
        ("dask", "Dask LocalCluster executor"),
        ("threads", f"one process, max_workers={slots}"),
    ):
        best = min(times[name])
        share[name] = ideal / best
        runs = " / ".join(f"{t:.2f}" for t in times[name])
        print(f"{label:<34} {best:>7.2f} {runs:>22} {share[name]:>9.1%}")
    print(
        f"\nDask: {share['dask']:.1%} of the ideal throughput (target >= {TARGET:.0%}); "
        f"one process: {share['threads']:.1%}; {failed} failed or out of order"
    )
    return 0 if share["dask"] >= TARGET and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
