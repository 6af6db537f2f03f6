"""Import time: ``import volcspeech`` against ``import requests``, in the same run.

Run: ``python benchmarks/import_time.py`` (``--repeat 30``).

Each import runs in a fresh interpreter; the interpreter's own start-up
(``python -c pass``) is measured the same way and subtracted. Medians are
reported. Also shown, for information: ``from volcspeech import AsrClient``
(which loads attrs; requests loads when a client is made) and ``import volcspeech.rtc``.

Target (DESIGN.md): ``import volcspeech`` at most 1.5 x ``import requests``.
Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET = 1.5
CASES = {
    "python -c pass": "pass",
    "import requests": "import requests",
    "import volcspeech": "import volcspeech",
    "from volcspeech import AsrClient": "from volcspeech import AsrClient",
    "import volcspeech.rtc": "import volcspeech.rtc",
}


def measure(code: str, repeat: int) -> float:
    """Median wall time (seconds) of ``python -c code`` over ``repeat`` fresh interpreters."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    # Interleave the cases round by round so machine noise hits them alike.
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeat):
        for name, code in CASES.items():
            samples[name].append(measure(code, 1))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["python -c pass"]
    print(f"python {sys.version.split()[0]}, {args.repeat} runs each, medians")
    print(f"{'':36} {'total ms':>9} {'import ms':>10}")
    for name, value in medians.items():
        extra = "" if name == "python -c pass" else f"{(value - base) * 1000:10.1f}"
        print(f"{name:36} {value * 1000:9.1f} {extra}")
    ours = medians["import volcspeech"] - base
    ref = medians["import requests"] - base
    ratio = ours / ref if ref > 0 else float("inf")
    print(f"\nimport volcspeech = {ratio:.2f} x import requests (target <= {TARGET} x)")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
