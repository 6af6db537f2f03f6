"""Credential sources: what a pickled client carries instead of keys.

A client pickles as its configuration plus one of these. Each is a small,
picklable description of *where* credentials come from; the keys themselves
are read in the process that uses the client, at its first request. The
public names live in :mod:`volcspeech.credentials`.
"""

from __future__ import annotations

import os
import pickle
import socket
import threading
from typing import Any, Callable, Protocol, runtime_checkable

import attrs

from ._credential_core import (
    OpenApiCredentials,
    RefreshingProvider,
    SpeechCredentials,
    from_cli_config,
    resolve_openapi_provider,
    resolve_speech_credentials,
)
from .errors import ConfigurationError

__all__ = ["CallableCredentials", "EnvCredentials", "ProfileCredentials", "SpeechCredentialSource"]


@runtime_checkable
class SpeechCredentialSource(Protocol):
    """Anything that hands out speech credentials where the client runs.

    ``AsrClient(credentials=source)`` calls it at the client's first request.
    """

    def get_speech_credentials(self) -> SpeechCredentials:
        """Return the speech credentials to use."""
        ...


def _where() -> str:
    return f"process {os.getpid()} on {socket.gethostname()}"


@attrs.frozen
class EnvCredentials:
    """Credentials read from the environment of the process where the client runs.

    Serves both services: :meth:`get_speech_credentials` reads
    ``VOLCSPEECH_API_KEY`` (or ``VOLCSPEECH_APP_KEY`` + ``VOLCSPEECH_ACCESS_KEY``),
    :meth:`get_credentials` reads ``VOLCENGINE_ACCESS_KEY`` +
    ``VOLCENGINE_SECRET_KEY`` (+ ``VOLCENGINE_SESSION_TOKEN``). Nothing is read
    when it is built or unpickled, so a client built with
    ``credentials=EnvCredentials()`` can be created (and sent through a
    scheduler) where no key is set; only the workers need them.
    """

    def get_speech_credentials(self) -> SpeechCredentials:
        """Read the speech credentials from this process's environment.

        Raises:
            ConfigurationError: none set here (the message names the variables
                and the process).
        """
        try:
            return resolve_speech_credentials()
        except ConfigurationError as exc:
            raise ConfigurationError(f"{exc} (in the environment of {_where()})") from None

    def get_credentials(self) -> OpenApiCredentials:
        """Read the OpenAPI credentials from this process's environment.

        Raises:
            ConfigurationError: none set here.
        """
        try:
            return resolve_openapi_provider().get_credentials()
        except ConfigurationError as exc:
            raise ConfigurationError(f"{exc} (in the environment of {_where()})") from None


@attrs.frozen
class CallableCredentials:
    """Credentials from a picklable callable, called where the client runs.

    The callable takes no arguments and returns :class:`SpeechCredentials`
    (for ``AsrClient``) or :class:`OpenApiCredentials` (for ``RtcClient``),
    e.g. read from a secret manager. It must itself pickle: a module-level
    function or a small class, not a lambda or a local function. ``AsrClient``
    calls it once, at its first request; ``RtcClient`` before each request
    (cache inside it if a call is costly).

    Attributes:
        factory: the callable.
    """

    factory: Callable[[], Any]

    def __attrs_post_init__(self) -> None:
        if not callable(self.factory):
            raise ConfigurationError(
                f"CallableCredentials needs a callable, got {type(self.factory).__name__}"
            )

    def _call(self, kind: type[Any]) -> Any:
        try:
            value = self.factory()
        except ConfigurationError:
            raise
        except Exception as exc:
            raise ConfigurationError(
                f"the credentials callable {_name(self.factory)} failed: {type(exc).__name__}"
            ) from None
        if not isinstance(value, kind):
            raise ConfigurationError(
                f"the credentials callable {_name(self.factory)} returned "
                f"{type(value).__name__}, expected {kind.__name__}"
            )
        return value

    def get_speech_credentials(self) -> SpeechCredentials:
        """Call the callable for speech credentials.

        Raises:
            ConfigurationError: it failed or returned something else.
        """
        return self._call(SpeechCredentials)  # type: ignore[no-any-return]

    def get_credentials(self) -> OpenApiCredentials:
        """Call the callable for OpenAPI credentials.

        Raises:
            ConfigurationError: it failed or returned something else.
        """
        return self._call(OpenApiCredentials)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"CallableCredentials({_name(self.factory)})"

    def __reduce__(self) -> Any:
        try:
            pickle.dumps(self.factory)
        except Exception as exc:
            raise ConfigurationError(
                f"the credentials callable {_name(self.factory)} does not pickle "
                f"({type(exc).__name__}); use a module-level function or a small class"
            ) from None
        return (CallableCredentials, (self.factory,))


def _name(func: Any) -> str:
    return str(getattr(func, "__qualname__", type(func).__name__))


_SOURCE_LOCK = threading.Lock()


@attrs.frozen
class ProfileCredentials:
    """OpenAPI credentials of a ``volcengine`` CLI profile, read where the client runs.

    The picklable form of :func:`from_cli_config`: each process that uses it
    reads the profile from its own config file at its first request (and
    refreshes temporary credentials before they expire).

    Attributes:
        profile: the profile name; the CLI's current profile by default.
        config_path: the config file; ``$VOLCENGINE_CLI_CONFIG_FILE`` or the CLI default.
    """

    profile: str | None = None
    config_path: str | None = None
    # (pid, provider): built on first use in each process, never pickled.
    _built: list[Any] = attrs.field(init=False, factory=list, eq=False, repr=False)

    def get_credentials(self) -> OpenApiCredentials:
        """Return current credentials of the profile (read on first use in this process).

        Raises:
            ConfigurationError: the profile cannot be read (named, without secrets).
        """
        with _SOURCE_LOCK:
            if not self._built or self._built[0] != os.getpid():
                self._built[:] = [os.getpid(), from_cli_config(self.profile, self.config_path)]
            provider: RefreshingProvider = self._built[1]
        return provider.get_credentials()

    def __reduce__(self) -> Any:
        return (ProfileCredentials, (self.profile, self.config_path))


for _cls in (CallableCredentials, EnvCredentials, ProfileCredentials, SpeechCredentialSource):
    _cls.__module__ = "volcspeech.credentials"
