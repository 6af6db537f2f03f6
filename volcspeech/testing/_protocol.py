"""The emulator's protocol: what a service sees of a request, what it answers, and faults.

These types are shared by the scaffold (:mod:`._wsgi`, :mod:`._emulator`) and
every service (ASR, RTC, storage). They live apart so that the services never
import the scaffold and the scaffold imports the services in one direction
only: this module imports nothing else of the emulator.
"""

from __future__ import annotations

import io
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, Protocol, Union

import attrs

__all__ = [
    "EmulatorHost",
    "EmulatorRequest",
    "EmulatorResponse",
    "Fault",
    "Service",
    "TestCredentials",
    "host_ref",
    "keep_host_alive",
]


@attrs.frozen(repr=False)
class TestCredentials:
    """The fixed, fake credentials the emulator accepts (never real ones)."""

    __test__ = False  # not a pytest test class

    app_key: str = "emulator-app-id"
    access_key: str = "emulator-access-token"
    api_key: str = "emulator-api-key"
    access_key_id: str = "AKLTemulatorAccessKeyId"
    secret_access_key: str = "emulator-secret-access-key"
    callback_secret: str = "emulator-callback-secret"

    def __repr__(self) -> str:
        return f"TestCredentials(app_key={self.app_key!r}, access_key_id={self.access_key_id!r})"


@attrs.frozen
class Fault:
    """A fault to inject into the next ``times`` matching requests.

    Attributes:
        service: ``"asr"``, ``"rtc"``, ``"storage"`` or ``"any"``.
        action: for RTC, the ``Action`` to match (``None``: any).
        http_status: the HTTP status to answer with.
        code: the service's error code (ASR status code, RTC error code string).
        message: the error message.
        delay: seconds to wait before answering (or before dropping).
        drop: reset the connection instead of answering.
        truncate: announce a longer body than is sent, then close.
        retry_after: a ``Retry-After`` header value in seconds.
        times: how many matching requests get the fault.
        passthrough: after the delay, answer normally (a slow but correct answer).
    """

    service: str = "any"
    action: str | None = None
    http_status: int | None = None
    code: Union[int, str, None] = None
    message: str = "injected fault"
    delay: float = 0.0
    drop: bool = False
    truncate: bool = False
    retry_after: float | None = None
    times: int = 1
    passthrough: bool = False


@attrs.define
class EmulatorRequest:
    """What a service sees of one request."""

    method: str
    path: str
    query: dict[str, str]
    query_pairs: list[tuple[str, str]]
    raw_query: str
    headers: dict[str, str]  # keys lower-case
    body: io.BufferedReader
    environ: Mapping[str, Any]
    #: Set by the service: its error/status code for the request log.
    code: Union[int, str, None] = None

    def header(self, name: str, default: str | None = None) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    def read_body(self, limit: int) -> bytes:
        """Read the whole body, refusing more than ``limit`` bytes (raises ``ValueError``)."""
        data = self.body.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"body larger than {limit} bytes")
        return data


@attrs.define
class EmulatorResponse:
    """A service's answer."""

    status: int
    body: Union[bytes, Iterable[bytes]] = b""
    headers: list[tuple[str, str]] = attrs.field(factory=list)
    code: Union[int, str, None] = None

    @classmethod
    def json(
        cls,
        status: int,
        payload: Any,
        headers: Sequence[tuple[str, str]] = (),
        code: Union[int, str, None] = None,
    ) -> EmulatorResponse:
        """A JSON answer."""
        import json

        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return cls(
            status,
            body,
            [("Content-Type", "application/json; charset=utf-8"), *headers],
            code,
        )


class Service(Protocol):
    """One emulated service."""

    name: str

    def claims(self, request: EmulatorRequest) -> bool:
        """Whether this service answers the request."""
        ...

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Answer the request."""
        ...

    def fault_response(self, request: EmulatorRequest, fault: Fault) -> EmulatorResponse:
        """Render an injected fault in this service's error format."""
        ...


class EmulatorHost(Protocol):
    """What a service needs of the emulator it belongs to (an :class:`Emulator`)."""

    @property
    def host(self) -> str:
        """The loopback address it listens on."""
        ...

    @property
    def port(self) -> int:
        """The port it listens on."""
        ...

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:50123``."""
        ...

    @property
    def credentials(self) -> TestCredentials:
        """The fake credentials it accepts."""
        ...


#: Clients made by an emulator's services -> that emulator: a client keeps its
#: emulator (and so its server) alive, without the emulator holding the client.
_CLIENT_HOSTS: weakref.WeakKeyDictionary[object, EmulatorHost] = weakref.WeakKeyDictionary()


def keep_host_alive(client: object, emulator: EmulatorHost) -> None:
    """Keep ``emulator`` running for as long as ``client`` (made by one of its services) lives.

    ``asr = Emulator().start().asr.client()`` is a natural line in a notebook;
    without this the emulator would be collected (and stopped) at once.
    """
    _CLIENT_HOSTS[client] = emulator


def host_ref(emulator: EmulatorHost) -> Callable[[], EmulatorHost]:
    """A weak reference to the emulator a service belongs to, as a getter.

    Services hold their emulator weakly: the server thread holds the services,
    and a strong reference back would keep an abandoned emulator (and its
    thread) alive forever.
    """
    ref = weakref.ref(emulator)

    def get() -> EmulatorHost:
        host = ref()
        if host is None:
            raise RuntimeError(
                "the emulator this service belongs to is gone; keep a reference to the "
                "Emulator (or use `with Emulator() as emu:`) while you use its services"
            )
        return host

    return get
