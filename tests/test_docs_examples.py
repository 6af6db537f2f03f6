"""Every ```python example in README.md and docs/ runs against the emulator.

A block preceded by the line ``<!-- not-run: reason -->`` is skipped (for
fragments such as a production webhook's ``app.run()``); the reason is shown.
Each block runs in a fresh namespace with ``__name__ == "docs_example"`` and
an empty temporary directory as the working directory, so an example can only
use what an installed volcspeech provides (``tests/test_packaging.py`` runs
them again against the built wheel).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python\s*\n(.*?)^```\s*$", re.S | re.M)
SKIP = re.compile(r"<!--\s*not-run:\s*(.+?)\s*-->\s*$")


class Example(NamedTuple):
    """One python block of the docs."""

    where: str  # "docs/asr.md:15": the file and the line of its fence
    code: str
    skip: str | None  # the not-run reason, if any


def examples() -> list[Example]:
    """Every python block of README.md and docs/**/*.md, with its file and line."""
    found = []
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            skip = SKIP.search(before)
            rel = path.relative_to(ROOT).as_posix()
            found.append(Example(f"{rel}:{line}", match.group(1), skip and skip.group(1)))
    return found


EXAMPLES = [
    pytest.param(e.code, id=e.where, marks=[pytest.mark.skip(reason=e.skip)] if e.skip else [])
    for e in examples()
]


def test_examples_were_found() -> None:
    """The collector finds the README tour and the guides' examples."""
    assert len(EXAMPLES) >= 5


def test_no_example_needs_the_repository_or_a_private_module() -> None:
    """No public example reads tests/fixtures or imports a private volcspeech module."""
    private = re.compile(r"^\s*(from|import)\s+volcspeech(\.\w+)*\._", re.M)
    for example in examples():
        assert "tests/fixtures" not in example.code, example.where
        assert not private.search(example.code), example.where


@pytest.mark.parametrize("code", EXAMPLES)
def test_example_runs(code: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The example runs to the end without raising, from an empty directory."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("VOLCSPEECH_EXAMPLE_TMP", str(tmp_path))
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(code, "<docs example>", "exec"), namespace)  # noqa: S102
