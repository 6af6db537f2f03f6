"""Running items on any ``concurrent.futures.Executor`` so that each failure stays with its item.

A thread pool, a process pool and Dask's executor fail in different ways: a
task that cannot be pickled, a worker process that dies (``BrokenProcessPool``,
Dask's ``KilledWorker``), a pool that is already broken refusing the next
``submit``. Batch helpers use :func:`submit` and :func:`item_error` so every
one of these becomes the item's own error, a volcspeech error with the real
reason, and the rest of the batch goes on.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable
from typing import Any, Callable, TypeVar

from .errors import ExecutorError, ValidationError, VolcSpeechError

__all__ = ["MAX_WORKERS", "check_batch_args", "check_max_workers", "item_error", "submit"]

T = TypeVar("T")

#: The most parallel recognitions a batch accepts (far above any service quota;
#: a larger number only costs memory and connections).
MAX_WORKERS = 1024


def check_max_workers(value: Any) -> int:
    """Return ``value`` if it is an int from 1 to :data:`MAX_WORKERS`.

    Raises:
        ValidationError: naming ``max_workers`` and the allowed range.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WORKERS:
        raise ValidationError(
            f"max_workers must be a positive int up to {MAX_WORKERS}, got {value!r} "
            "(the service's concurrency quota is far lower; see docs/scaling.md)",
            field="max_workers",
        )
    return value


def submit(
    executor: concurrent.futures.Executor, fn: Callable[..., T], *args: Any, **kwargs: Any
) -> concurrent.futures.Future[T]:
    """``executor.submit(...)``, with a refusal (broken or shut-down pool, a task that
    does not pickle) turned into a future holding that error instead of raising."""
    try:
        return executor.submit(fn, *args, **kwargs)
    except Exception as exc:  # the executor refused this item; the next may still go
        failed: concurrent.futures.Future[T] = concurrent.futures.Future()
        failed.set_exception(exc)
        return failed


def item_error(exc: BaseException) -> Exception:
    """The error to report for one item: a volcspeech error with the real reason.

    A volcspeech error (raised in the worker, or while pickling the task, e.g.
    a client that refuses to pickle its keys) is returned as it is, also when
    an executor wrapped it. Anything else — a dead worker, a pickling failure,
    a cancelled future — becomes an :class:`~volcspeech.errors.ExecutorError`
    that names it, with the original as its ``__cause__``.
    """
    seen = set()
    inner: BaseException | None = exc
    while inner is not None and id(inner) not in seen:
        if isinstance(inner, VolcSpeechError):
            return inner
        seen.add(id(inner))
        inner = inner.__cause__ or inner.__context__
    if isinstance(exc, concurrent.futures.CancelledError):
        reason = "the executor cancelled it"
    elif "Broken" in type(exc).__name__ or "KilledWorker" in type(exc).__name__:
        reason = "a worker process died while running it (or the pool was already broken)"
    elif any(word in f"{type(exc).__name__} {exc}".lower() for word in ("pickl", "serializ")):
        reason = "it (or its result) could not be pickled to or from the worker"
    else:
        reason = "running it failed unexpectedly"
    text = str(exc)
    detail = f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__
    error = ExecutorError(f"{reason} ({detail})")
    error.__cause__ = exc
    return error


def check_batch_args(items: Any, max_workers: Any, executor: Any) -> None:
    """Check ``recognize_many``'s arguments before anything is sent.

    Raises:
        ValidationError: naming the bad argument.
    """
    if isinstance(items, (str, bytes, bytearray, memoryview)) or not isinstance(items, Iterable):
        raise ValidationError(
            "items must be an iterable (list, generator ...) of audio inputs, got "
            f"{type(items).__name__}; for one file use recognize(), or pass [item]",
            field="items",
        )
    check_max_workers(max_workers)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ValidationError(
            "executor must be a concurrent.futures.Executor (anything with submit()), "
            f"got {type(executor).__name__}",
            field="executor",
        )
