"""Upload of a long recording for the standard API: peak memory and wall time.

Run: ``python benchmarks/asr_standard_upload.py`` (``--minutes 60,180 --repeat 3``).

Each variant runs in its own subprocess and reports its own peak RSS (VmHWM,
reset after the imports); the variants are interleaved, and each uploads the
same WAV to the emulator's TOS route (a presigned PUT on loopback, the body
written to disk by the emulator):

* ``baseline``: the interpreter with volcspeech, requests and tos loaded;
* ``volcspeech``: ``TosUploader.upload`` (the file streamed in 3 MiB blocks
  through volcspeech's transport);
* ``naive``: the common hand-written way: ``requests.put(url, data=f.read())``.

Target: volcspeech's peak RSS stays within baseline + 32 MiB whatever the
file's length (3 h at 16 kHz mono is 330 MiB). Exit status 1 if it does not.
"""

from __future__ import annotations

import argparse
import json
import statistics
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(__file__).resolve().parent / "_work"
MIB = 1024 * 1024
RSS_BUDGET_MIB = 32
VARIANTS = ("baseline", "volcspeech", "naive")

_CHILD = r"""
import json, sys, time
import requests, tos
from volcspeech.asr import TosUploader
from volcspeech.asr._standard_routing import inspect_audio
from volcspeech.asr import UploadSource

def hwm():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024

args = json.loads(sys.argv[1])
client = tos.TosClientV2(args["ak"], args["sk"], args["url"], "cn-beijing",
                         is_custom_domain=True, max_retry_count=0)
uploader = TosUploader(bucket="emulator-bucket", client=client)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = hwm()
t0 = time.perf_counter()
if args["variant"] == "volcspeech":
    prepared = inspect_audio(args["path"], {})
    uploader.upload(UploadSource(prepared.source, "wav"))
    prepared.source.close()
elif args["variant"] == "naive":
    url = uploader.presign_put("naive.wav", "audio/wav")
    with open(args["path"], "rb") as f:
        requests.put(url, data=f.read(), timeout=300).raise_for_status()
print(json.dumps({"before": before, "peak": hwm(), "seconds": time.perf_counter() - t0}))
"""


def write_wav(path: Path, minutes: int) -> None:
    """A mono 16 kHz 16-bit WAV of ``minutes``, written in 1 MiB blocks."""
    data = minutes * 60 * 16000 * 2
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + data)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
        + b"data"
        + struct.pack("<I", data)
    )
    block = bytes(range(256)) * (MIB // 256)
    with open(path, "wb") as f:
        f.write(header)
        left = data
        while left:
            n = min(MIB, left)
            f.write(block[:n])
            left -= n


def run(variant: str, path: Path, emulator: object) -> dict[str, float]:
    """One variant in a fresh interpreter."""
    creds = emulator.credentials  # type: ignore[attr-defined]
    args = {
        "variant": variant,
        "path": str(path),
        "url": emulator.url,  # type: ignore[attr-defined]
        "ak": creds.access_key_id,
        "sk": creds.secret_access_key,
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="60,180", help="lengths to upload, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from volcspeech.testing import Emulator

    WORK.mkdir(exist_ok=True)
    ok = True
    with Emulator() as emulator:
        for minutes in (int(m) for m in options.minutes.split(",")):
            path = WORK / f"standard-{minutes}min.wav"
            if not path.exists() or path.stat().st_size != 44 + minutes * 60 * 32000:
                write_wav(path, minutes)
            size = path.stat().st_size / MIB
            rows: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
            for _ in range(options.repeat):
                for variant in rows:
                    rows[variant].append(run(variant, path, emulator))
            base = statistics.median(r["peak"] for r in rows["baseline"])
            print(f"{minutes} min ({size:.0f} MiB), baseline peak RSS {base:.1f} MiB")
            for variant in ("volcspeech", "naive"):
                peak = statistics.median(r["peak"] for r in rows[variant])
                wall = statistics.median(r["seconds"] for r in rows[variant])
                print(f"  {variant:10s} peak RSS +{peak - base:6.1f} MiB   wall {wall:6.2f} s")
            ours = statistics.median(r["peak"] for r in rows["volcspeech"]) - base
            theirs = statistics.median(r["peak"] for r in rows["naive"]) - base
            print(f"  memory ratio volcspeech/naive: {ours / max(theirs, 0.1):.3f}")
            ok = ok and ours <= RSS_BUDGET_MIB
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
