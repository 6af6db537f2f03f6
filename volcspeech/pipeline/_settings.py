"""Checks of the transcriber's settings: each names the setting and what it allows."""

from __future__ import annotations

import math
from typing import Any, Optional

from ..errors import ConfigurationError

__all__ = ["check_callable", "check_int", "check_seconds", "check_type"]


def check_int(name: str, value: Any, low: int, *, optional: bool = False) -> Optional[int]:
    """An integer ``>= low`` (or ``None`` when ``optional``)."""
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        allowed = f"an integer >= {low}" + (" or None" if optional else "")
        raise ConfigurationError(f"{name} must be {allowed}, got {value!r}")
    return value


def check_seconds(
    name: str, value: Any, *, allow_zero: bool = True, optional: bool = False
) -> Optional[float]:
    """A finite number of seconds, ``>= 0`` (``> 0`` unless ``allow_zero``)."""
    if optional and value is None:
        return None
    ok = (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
    )
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        allowed = f"a finite number of seconds {bound}" + (" or None" if optional else "")
        raise ConfigurationError(f"{name} must be {allowed}, got {value!r}")
    return float(value)


def check_callable(name: str, value: Any, what: str, *, optional: bool = True) -> None:
    """A callable (or ``None`` when ``optional``)."""
    if value is None and optional:
        return
    if not callable(value):
        raise ConfigurationError(f"{name} must be callable ({what}), got {type(value).__name__}")


def check_type(name: str, value: Any, cls: Any, what: str) -> None:
    """An instance of ``cls`` or ``None``."""
    if value is not None and not isinstance(value, cls):
        raise ConfigurationError(f"{name} must be {what} or None, got {type(value).__name__}")
