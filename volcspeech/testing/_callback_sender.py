"""Delivers the emulator's RTC callbacks to a loopback URL from a background thread.

Like the service (vendor doc 6348/69820): an HTTP POST with a JSON body; an
answer other than 200, or none within 5 seconds, is a failure and the callback
is sent again, at most twice. Deliveries can be shuffled and duplicated on
purpose (:meth:`CallbackSender.configure`) to test receivers. It refuses any
URL that is not on the loopback interface: the emulator never sends traffic
off the machine.
"""

from __future__ import annotations

import ipaddress
import json
import queue
import random
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs
import requests

from .._log import get_logger

__all__ = ["CallbackDelivery", "CallbackSender", "check_loopback_url"]

logger = get_logger("volcspeech.testing")

#: Attempts per callback: the first delivery and two re-sends.
MAX_ATTEMPTS = 3
#: Seconds after which a delivery counts as failed.
DEFAULT_TIMEOUT = 5.0


def check_loopback_url(url: str) -> str:
    """Return ``url`` if it is an http(s) URL on 127.0.0.0/8, ``localhost`` or ``::1``.

    Raises:
        ValueError: any other URL.
    """
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    host = parts.hostname if parts is not None else None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"callback URL must be an http(s) URL, got {url!r}")
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(
                f"the emulator only sends callbacks to loopback addresses "
                f"(127.0.0.1, localhost, ::1), not {host!r}"
            )
    return url


@attrs.frozen
class CallbackDelivery:
    """One attempt to deliver one callback.

    Attributes:
        event_id: the callback's ``EventId``.
        event_type: its ``EventType``.
        attempt: 1 for the first try, 2 and 3 for re-sends.
        url: where it was POSTed.
        status: the HTTP status of the answer, ``None`` if there was none.
        error: why there was no answer (timeout, connection refused), if so.
        time: when the attempt ended (epoch seconds).
        body: the JSON body sent.
    """

    event_id: str
    event_type: str
    attempt: int
    url: str
    status: int | None
    error: str | None
    time: float
    body: bytes = attrs.field(repr=False)

    @property
    def delivered(self) -> bool:
        """Whether the receiver answered 200."""
        return self.status == 200


class CallbackSender:
    """Queues callbacks and POSTs them in order from one daemon thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._queue: queue.Queue[tuple[str, Mapping[str, Any]]] = queue.Queue()
        self._unfinished = 0
        self._thread: threading.Thread | None = None
        self._pending: list[dict[str, Any]] = []
        self._deliveries: list[CallbackDelivery] = []
        self._url: str | None = None
        self.shuffle = False
        self.duplicate = 0.0
        self.pace = 0.0
        self.timeout = DEFAULT_TIMEOUT
        self._rng = random.Random(0)
        self._session = requests.Session()
        # Never through a proxy from the environment: loopback only, straight.
        self._session.trust_env = False

    @property
    def url(self) -> str | None:
        """Where callbacks go; ``None`` keeps them in :attr:`pending`."""
        return self._url

    @url.setter
    def url(self, value: str | None) -> None:
        self._url = None if value is None else check_loopback_url(value)

    def configure(
        self, *, shuffle: bool = False, duplicate: float = 0.0, seed: int = 0, pace: float = 0.0
    ) -> None:
        """Set the delivery behaviour for callbacks submitted from now on.

        Args:
            shuffle: deliver each batch in a random order.
            duplicate: the probability that a callback is delivered twice.
            seed: the random seed (the same seed gives the same order).
            pace: seconds to wait after each callback (live-like arrival).
        """
        if not 0.0 <= duplicate <= 1.0:
            raise ValueError("duplicate must be a probability between 0 and 1")
        if pace < 0:
            raise ValueError("pace must be >= 0 seconds")
        self.shuffle = shuffle
        self.duplicate = duplicate
        self.pace = pace
        self._rng = random.Random(seed)

    def submit(self, envelopes: list[dict[str, Any]]) -> None:
        """Queue a batch of signed callbacks (or keep them when no URL is set)."""
        batch: list[dict[str, Any]] = []
        for envelope in envelopes:
            batch.append(envelope)
            if self.duplicate and self._rng.random() < self.duplicate:
                batch.append(dict(envelope))
        if self.shuffle:
            self._rng.shuffle(batch)
        url = self._url
        with self._lock:
            if url is None:
                self._pending.extend(batch)
                return
            self._unfinished += len(batch)
            for envelope in batch:
                self._queue.put((url, envelope))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="volcspeech-emulator-callbacks", daemon=True
                )
                self._thread.start()

    @property
    def pending(self) -> list[dict[str, Any]]:
        """Callbacks kept because no URL was set (a copy)."""
        with self._lock:
            return list(self._pending)

    def take_pending(self) -> list[dict[str, Any]]:
        """Return the kept callbacks and forget them."""
        with self._lock:
            taken, self._pending = self._pending, []
            return taken

    @property
    def deliveries(self) -> list[CallbackDelivery]:
        """Every delivery attempt so far (a copy)."""
        with self._lock:
            return list(self._deliveries)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every queued callback has been delivered or given up.

        Returns:
            ``True`` when the queue is empty, ``False`` if ``timeout`` passed first.
        """
        with self._done:
            return self._done.wait_for(lambda: self._unfinished == 0, timeout)

    def clear(self) -> None:
        """Forget kept callbacks and the delivery log (queued ones are still sent)."""
        with self._lock:
            self._pending.clear()
            self._deliveries.clear()

    def _run(self) -> None:
        while True:
            try:
                url, envelope = self._queue.get(timeout=1.0)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            try:
                self._deliver(url, envelope)
            finally:
                with self._done:
                    self._unfinished -= 1
                    self._done.notify_all()
            if self.pace:
                time.sleep(self.pace)

    def _deliver(self, url: str, envelope: Mapping[str, Any]) -> None:
        body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        event_id = str(envelope.get("EventId"))
        event_type = str(envelope.get("EventType"))
        for attempt in range(1, MAX_ATTEMPTS + 1):
            status: int | None = None
            error: str | None = None
            try:
                check_loopback_url(url)
                response = self._session.post(
                    url,
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=(self.timeout, self.timeout),
                    allow_redirects=False,
                )
                status = response.status_code
                response.close()
            except requests.Timeout:
                error = f"no answer within {self.timeout:g} s"
            except (requests.RequestException, ValueError) as exc:
                error = f"{type(exc).__name__}: {str(exc)[:200]}"
            record = CallbackDelivery(
                event_id, event_type, attempt, url, status, error, time.time(), body
            )
            with self._lock:
                self._deliveries.append(record)
            logger.debug("callback %s attempt %d -> %s", event_id, attempt, status or error)
            if status == 200:
                return
