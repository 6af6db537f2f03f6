"""Public names: each package's __all__ matches what it exports, and reprs say where they live."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGES = [
    "volcspeech",
    "volcspeech.asr",
    "volcspeech.rtc",
    "volcspeech.pipeline",
    "volcspeech.testing",
    "volcspeech.errors",
    "volcspeech.credentials",
]

DESIGN_CONTRACT = {
    "volcspeech": ["AsrClient", "RtcClient", "SegmentTranscriber"],
    "volcspeech.asr": ["RecognitionOptions", "Transcript", "Utterance", "Word"],
    "volcspeech.rtc": [
        "StartSegmentRequest",
        "UpdateSegmentRequest",
        "StopSegmentRequest",
        "StorageConfig",
        "TosConfig",
        "CustomConfig",
        "SegmentControl",
        "TargetStreams",
        "Stream",
        "SegmentTask",
        "CallbackEvent",
        "Segment",
        "parse_callback",
    ],
    "volcspeech.testing": ["Emulator"],
}


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_importable(name: str) -> None:
    """__all__ is sorted and every name in it can be imported."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    for attr in exported:
        assert getattr(module, attr) is not None, attr


@pytest.mark.parametrize("name", [p for p in PACKAGES if p != "volcspeech"])
def test_no_public_name_is_left_out(name: str) -> None:
    """Every public, non-module attribute defined for users is listed in __all__."""
    module = importlib.import_module(name)
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and not isinstance(value, type(sys))
        and (
            # defined here, or in one of this package's private modules
            getattr(value, "__module__", None) == name
            or str(getattr(value, "__module__", "")).startswith(name + "._")
            or (attr.isupper() and not hasattr(value, "__module__"))  # constants
        )
    }
    assert public <= set(module.__all__), sorted(public - set(module.__all__))


@pytest.mark.parametrize(("package", "names"), sorted(DESIGN_CONTRACT.items()))
def test_design_contract_names(package: str, names: list[str]) -> None:
    """The names DESIGN.md promises are importable where it says."""
    module = importlib.import_module(package)
    for attr in names:
        assert hasattr(module, attr), f"{package}.{attr}"


@pytest.mark.parametrize("package", ["volcspeech.asr", "volcspeech.rtc", "volcspeech.pipeline"])
def test_classes_claim_their_public_module(package: str) -> None:
    """Re-exported classes report the public module, so reprs and docs say e.g. volcspeech.asr.X."""
    module = importlib.import_module(package)
    for attr in module.__all__:
        value = getattr(module, attr)
        if isinstance(value, type) and value.__module__.startswith(package + "._"):
            pytest.fail(f"{package}.{attr}.__module__ is {value.__module__}")


def test_import_is_cheap() -> None:
    """import volcspeech loads neither requests nor the vendor SDK (lazy imports)."""
    code = (
        "import sys, volcspeech; "
        "print(sorted(m for m in ('requests', 'volcenginesdkcore', 'tenacity', 'mutagen') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_readme_test_command_is_what_ci_runs() -> None:
    """.ci/run runs the README's test command (so the README stays true)."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    ci = (root / ".ci" / "run").read_text()
    command = next(
        line
        for line in readme.splitlines()
        if line.startswith("python3 -m venv") and "pytest" in line
    )
    assert command in ci  # quoted in its comment
    executed = command.split("&& ")[-1].strip()
    assert executed in [line.strip() for line in ci.splitlines() if not line.startswith("#")]
