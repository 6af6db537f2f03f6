"""The installed volcspeech version, read once on demand (``importlib.metadata`` is slow)."""

from __future__ import annotations

import functools

__all__ = ["version"]


@functools.cache
def version() -> str:
    """The installed distribution's version, or ``0.0.0+unknown`` in a plain checkout."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _dist_version

    try:
        return _dist_version("volcspeech")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0.0.0+unknown"
