"""Every ```python example in README.md and docs/ runs against the emulator.

A block preceded by the line ``<!-- not-run: reason -->`` is skipped (for
fragments such as a production webhook's ``app.run()``); the reason is shown.
Each block runs in a fresh namespace with ``__name__ == "docs_example"`` and
the repository as the working directory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python\s*\n(.*?)^```\s*$", re.S | re.M)
SKIP = re.compile(r"<!--\s*not-run:\s*(.+?)\s*-->\s*$")


def collect() -> list[Any]:
    """Every python block of README.md and docs/**/*.md, with its file and line."""
    params = []
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            skip = SKIP.search(before)
            rel = path.relative_to(ROOT).as_posix()
            marks = [pytest.mark.skip(reason=skip.group(1))] if skip else []
            params.append(pytest.param(match.group(1), id=f"{rel}:{line}", marks=marks))
    return params


EXAMPLES = collect()


def test_examples_were_found() -> None:
    """The collector finds the README tour and the guides' examples."""
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("code", EXAMPLES)
def test_example_runs(code: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The example runs to the end without raising."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("VOLCSPEECH_EXAMPLE_TMP", str(tmp_path))
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(code, "<docs example>", "exec"), namespace)  # noqa: S102
