"""The built distributions: a complete sdist, a valid wheel whose docs examples run.

The sdist and wheel are built once (``python -m build --no-isolation``, with the
setuptools of this environment, so nothing is downloaded). The wheel is
installed into a fresh virtual environment that sees this environment's
dependencies but not volcspeech's checkout, and every executed docs example
runs there from an empty temporary directory.
"""

from __future__ import annotations

import email.parser
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest
from test_docs_examples import ROOT, examples

pytestmark = pytest.mark.slow

#: Runs each example in a fresh namespace and an empty directory; prints one JSON report.
#: The ``__main__`` guard matters: a process pool started with ``spawn`` (as in
#: docs/scaling.md) imports the main module again in every worker.
RUNNER = """
import json, os, sys, tempfile, traceback
import volcspeech


def main():
    examples = json.load(open(sys.argv[1], encoding="utf-8"))
    report = {"volcspeech": volcspeech.__file__, "failed": {}}
    for where, code in examples:
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            os.environ["VOLCSPEECH_EXAMPLE_TMP"] = tmp
            try:
                exec(compile(code, where, "exec"), {"__name__": "docs_example"})
            except BaseException:
                report["failed"][where] = traceback.format_exc()[-2000:]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and wheel of this checkout, built into a temporary directory."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return out


def _one(dist: Path, pattern: str) -> Path:
    (found,) = dist.glob(pattern)
    return found


def test_sdist_holds_what_the_tests_and_docs_need(dist: Path) -> None:
    """The sdist has the tests with conftest and fixtures, the docs, CHANGELOG and mkdocs.yml."""
    with tarfile.open(_one(dist, "*.tar.gz")) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for needed in (
        "tests/conftest.py",
        "tests/fixtures/audio/hello.wav",
        "tests/fixtures/rtc/start_segment_example.json",
        "docs/index.md",
        "docs/reference/asr.md",
        "CHANGELOG.md",
        "mkdocs.yml",
        "LICENSE",
        ".ci/run",
        "volcspeech/testing/data/audio/hello.wav",
        "volcspeech/testing/data/sample_room/ground_truth.json",
    ):
        assert needed in names, needed
    if (ROOT / ".git").exists():  # a checkout, not an unpacked sdist
        tracked = subprocess.run(
            ["git", "ls-files", "tests", "docs", "volcspeech"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert tracked
        assert set(tracked) <= names, sorted(set(tracked) - names)


def test_metadata_declares_spdx_license_and_python_313(dist: Path) -> None:
    """The wheel says License-Expression: Apache-2.0, no license classifier, and 3.13."""
    wheel = _one(dist, "*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (name,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(name).decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    classifiers = metadata.get_all("Classifier")
    assert "Programming Language :: Python :: 3.13" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]


def test_twine_check_passes(dist: Path) -> None:
    """twine check --strict accepts both distributions (the README renders on PyPI)."""
    files = [str(_one(dist, "*.whl")), str(_one(dist, "*.tar.gz"))]
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_docs_examples_run_from_the_installed_wheel(dist: Path, tmp_path: Path) -> None:
    """Every executed README and docs example runs against the installed wheel, in an empty dir."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The dependencies come from this environment's site-packages, appended by a
    # .pth line (which does not run that directory's .pth files, so volcspeech's
    # editable install there stays out of sight).
    Path(site, "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            site,
            str(_one(dist, "*.whl")),
        ],
        check=True,
        capture_output=True,
    )
    runnable = [(e.where, e.code) for e in examples() if e.skip is None]
    (tmp_path / "examples.json").write_text(json.dumps(runnable), encoding="utf-8")
    (tmp_path / "runner.py").write_text(RUNNER, encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["VOLCENGINE_ECS_METADATA_DISABLED"] = "true"
    done = subprocess.run(
        [str(python), str(tmp_path / "runner.py"), str(tmp_path / "examples.json")],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(report["volcspeech"]).is_relative_to(Path(site)), report["volcspeech"]
    assert not report["failed"], "\n".join(f"{k}:\n{v}" for k, v in report["failed"].items())
    assert len(runnable) >= 25
