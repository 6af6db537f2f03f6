"""Batch throughput: 200 short files, 200 ms server latency, 16 workers.

Run: ``python benchmarks/asr_batch.py`` (``--files 200 --latency 0.2 --workers 16``).

``AsrClient.recognize_many`` sends the files to a local emulator, whose ASR
route waits ``latency`` seconds before each answer (``emulator.asr.latency``).
The emulator runs in its own process, as a real server would: in the
client's process its threads would compete with the client's for the GIL.
Done one after another this takes ``files x latency`` (40 s); the ideal with
``workers`` in parallel is ``files x latency / workers`` (2.5 s).

Target (DESIGN.md): at least 90 % of the ideal throughput. Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

from volcspeech.asr import AsrClient
from volcspeech.testing import Emulator, TestCredentials

WORK = Path(__file__).resolve().parent / "_work" / "batch"
TARGET = 0.90


def make_files(count: int) -> list[Path]:
    """``count`` distinct one-second 16 kHz mono WAVs of random PCM."""
    WORK.mkdir(parents=True, exist_ok=True)
    data_size = 32000
    header = b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    header += b"data" + struct.pack("<I", data_size)
    paths = []
    for i in range(count):
        path = WORK / f"short_{i:04d}.wav"
        if not path.exists() or path.stat().st_size != 44 + data_size:
            path.write_bytes(header + os.urandom(data_size))
        paths.append(path)
    return paths


def serve(latency: float) -> None:
    """Run an emulator until stdin closes; print its ASR endpoint first."""
    with Emulator() as emulator:
        emulator.asr.latency = latency
        print(emulator.asr.endpoint, flush=True)
        sys.stdin.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per answer")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.latency)
        return 0

    paths = make_files(args.files)
    sequential = args.files * args.latency
    ideal = sequential / args.workers
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--latency", str(args.latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        endpoint = server.stdout.readline().strip()
        credentials = TestCredentials()
        with AsrClient(credentials.app_key, credentials.access_key, endpoint=endpoint) as client:
            started = time.perf_counter()
            results = list(client.recognize_many(paths, max_workers=args.workers))
            elapsed = time.perf_counter() - started
    finally:
        server.communicate("")
    failed = [r for r in results if not r.ok]
    in_order = [r.index for r in results] == list(range(args.files))
    throughput = args.files / elapsed
    share = ideal / elapsed

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(
        f"{args.files} files, server latency {args.latency * 1000:.0f} ms, {args.workers} workers"
    )
    print(f"{'':<24} {'seconds':>8} {'files/s':>8}")
    print(f"{'sequential (computed)':<24} {sequential:>8.2f} {args.files / sequential:>8.1f}")
    print(f"{'ideal (computed)':<24} {ideal:>8.2f} {args.files / ideal:>8.1f}")
    print(f"{'recognize_many':<24} {elapsed:>8.2f} {throughput:>8.1f}")
    print(
        f"\n{share:.1%} of the ideal throughput (target >= {TARGET:.0%}); "
        f"{len(failed)} failed; results in input order: {in_order}"
    )
    return 0 if share >= TARGET and not failed and in_order else 1


if __name__ == "__main__":
    sys.exit(main())
