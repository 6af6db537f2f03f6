"""How an :class:`~volcspeech.asr.AsrClient` holds its credentials and pickles them.

Literal keys are resolved at once and never pickled (unless the user opts in);
a credential source (the environment by default) is read at the first request
and travels in a pickle as itself.
"""

from __future__ import annotations

from typing import Any

from .._credential_sources import EnvCredentials, SpeechCredentialSource
from ..credentials import SpeechCredentials, resolve_speech_credentials
from ..errors import ConfigurationError

__all__ = ["SpeechCredentialsMixin"]


class SpeechCredentialsMixin:
    """Credentials of a speech client: literal keys, or a source read on first use."""

    _allow_pickling_secrets: bool
    _uid: str | None

    def _set_credentials(
        self,
        app_key: str | None,
        access_key: str | None,
        api_key: str | None,
        source: SpeechCredentialSource | None,
    ) -> None:
        self._resolved: SpeechCredentials | None = None
        self._literal_keys = any(v is not None for v in (app_key, access_key, api_key))
        if source is not None:
            if self._literal_keys:
                raise ConfigurationError("pass either credentials= or keys, not both")
            if not isinstance(source, SpeechCredentialSource):
                raise ConfigurationError(
                    "credentials= must have a get_speech_credentials() method (e.g. "
                    f"volcspeech.credentials.EnvCredentials()), got {type(source).__name__}"
                )
            self._source: SpeechCredentialSource | None = source  # read at the first request
        elif self._literal_keys:
            self._resolved = resolve_speech_credentials(app_key, access_key, api_key)
            self._source = None
        else:
            # Checked now, so a missing key fails here; a pickled copy re-reads
            # its own environment instead.
            self._resolved = resolve_speech_credentials()
            self._source = EnvCredentials()

    @property
    def _credentials(self) -> SpeechCredentials:
        """The credentials, read from the source at the first request."""
        resolved = self._resolved
        if resolved is None:
            assert self._source is not None
            resolved = self._source.get_speech_credentials()
            if not isinstance(resolved, SpeechCredentials):
                raise ConfigurationError(
                    f"{type(self._source).__name__}.get_speech_credentials() returned "
                    f"{type(resolved).__name__}, expected SpeechCredentials"
                )
            self._resolved = resolved
        return resolved

    @property
    def uid(self) -> str:
        """``user.uid`` of each request: as given, else the APP ID or ``"volcspeech"``."""
        return self._uid if self._uid is not None else self._credentials.uid

    def _credential_config(self) -> dict[str, Any]:
        """What a pickle carries for the credentials: the source (or opted-in keys)."""
        config: dict[str, Any] = {}
        if self._source is not None:
            config["credentials"] = self._source
        elif self._allow_pickling_secrets:
            creds = self._credentials
            config.update(app_key=creds.app_key, access_key=creds.access_key)
            config["api_key"] = creds.api_key
        else:
            raise ConfigurationError(
                "this AsrClient was given literal keys, which never travel in a pickle. "
                "For process pools and Dask, set VOLCSPEECH_API_KEY (or VOLCSPEECH_APP_KEY + "
                "VOLCSPEECH_ACCESS_KEY) in the workers' environment and build the client "
                "without keys (credentials=volcspeech.credentials.EnvCredentials() where this "
                "process has none), or pass credentials=CallableCredentials(a module-level "
                "function). allow_pickling_secrets=True sends the keys inside the pickle "
                "(unsafe)."
            )
        return config
