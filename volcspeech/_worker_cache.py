"""One client per process for each configuration: what an unpickled client becomes.

A pickled client is its configuration (see ``BaseClient.__reduce__``). When a
process pool or a Dask worker unpickles one task after another, each would
otherwise build a new client — a new HTTP session and connection pool per
item. :func:`rebuild` instead returns the client this process already built
for the same configuration, so a worker's items share one pooled session.

The cached clients are closed when the process exits; a forked child starts
with an empty cache (its parent's sockets are not its own).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import threading
from typing import Any, TypeVar

__all__ = ["cached_clients", "rebuild"]

C = TypeVar("C")

_lock = threading.Lock()
_clients: dict[tuple[type[Any], bytes], Any] = {}


def _key(cls: type[Any], config: dict[str, Any]) -> tuple[type[Any], bytes] | None:
    try:
        return cls, pickle.dumps(sorted(config.items()), protocol=4)
    except Exception:  # an unhashable setting: build without caching
        return None


def rebuild(cls: type[C], config: dict[str, Any]) -> C:
    """Return this process's client of class ``cls`` for ``config``, building it once.

    Building resolves no credentials (clients read them at their first
    request), so a scheduler that only passes tasks on needs no keys.
    A cached client that was closed is replaced.
    """
    key = _key(cls, config)
    if key is None:
        return cls(**config)
    with _lock:
        client = _clients.get(key)
        if client is None or client.closed:
            client = cls(**config)
            _clients[key] = client
        return client


def cached_clients() -> list[Any]:
    """The clients this process built from pickles (for tests and diagnostics)."""
    with _lock:
        return list(_clients.values())


def _close_all() -> None:
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        with contextlib.suppress(Exception):  # best effort at interpreter exit
            client.close()


def _forget_after_fork() -> None:
    # The child must not use (or close) sockets it shares with its parent.
    global _lock
    _lock = threading.Lock()
    _clients.clear()


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
