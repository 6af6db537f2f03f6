"""Credentials and where they come from.

Speech (ASR) credentials, first found wins:

1. arguments: ``AsrClient(app_key=..., access_key=...)`` (old console) or
   ``AsrClient(api_key=...)`` (new console);
2. environment: ``VOLCSPEECH_API_KEY``, else ``VOLCSPEECH_APP_KEY`` with
   ``VOLCSPEECH_ACCESS_KEY``.

OpenAPI (RTC) credentials, first found wins:

1. arguments: ``RtcClient(access_key_id, secret_access_key, session_token=...)``
   or ``RtcClient(credentials=provider)`` with any :class:`CredentialProvider`;
2. environment: ``VOLCENGINE_ACCESS_KEY`` / ``VOLCENGINE_SECRET_KEY`` /
   ``VOLCENGINE_SESSION_TOKEN``, then the older ``VOLC_ACCESSKEY`` /
   ``VOLC_SECRETKEY``;
3. only when you ask for one: a provider from ``volcenginesdk-core``
   (:func:`from_cli_config`, :func:`from_assume_role`, :func:`from_oidc`,
   :func:`from_ecs_metadata`), refreshed before it expires.

The ECS instance-metadata provider calls a metadata address on the network;
volcspeech never runs it unless you call :func:`from_ecs_metadata`.

No credential object shows a secret in ``repr``/``str``.
"""

from __future__ import annotations

import os
import pickle
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, Protocol, runtime_checkable

import attrs

from .errors import ConfigurationError

__all__ = [
    "CallableCredentials",
    "CredentialProvider",
    "DEFAULT_REFRESH_MARGIN",
    "ENV_ACCESS_KEY",
    "ENV_OLD_ACCESS_KEY",
    "ENV_OLD_SECRET_KEY",
    "ENV_SECRET_KEY",
    "ENV_SESSION_TOKEN",
    "ENV_SPEECH_ACCESS_KEY",
    "ENV_SPEECH_API_KEY",
    "ENV_SPEECH_APP_KEY",
    "EnvCredentials",
    "OpenApiCredentials",
    "ProfileCredentials",
    "RefreshingProvider",
    "SpeechCredentialSource",
    "SpeechCredentials",
    "StaticProvider",
    "from_assume_role",
    "from_cli_config",
    "from_ecs_metadata",
    "from_oidc",
    "resolve_openapi_provider",
    "resolve_speech_credentials",
]

ENV_SPEECH_API_KEY = "VOLCSPEECH_API_KEY"
ENV_SPEECH_APP_KEY = "VOLCSPEECH_APP_KEY"
ENV_SPEECH_ACCESS_KEY = "VOLCSPEECH_ACCESS_KEY"
ENV_ACCESS_KEY = "VOLCENGINE_ACCESS_KEY"
ENV_SECRET_KEY = "VOLCENGINE_SECRET_KEY"
ENV_SESSION_TOKEN = "VOLCENGINE_SESSION_TOKEN"
ENV_OLD_ACCESS_KEY = "VOLC_ACCESSKEY"
ENV_OLD_SECRET_KEY = "VOLC_SECRETKEY"

#: Refresh temporary credentials this many seconds before they expire.
DEFAULT_REFRESH_MARGIN = 300.0


def _mask(value: str | None) -> str:
    if not value:
        return "None"
    return "'***'"


def _hidden(value: object) -> str:
    return "'***'"


@attrs.frozen
class SpeechCredentials:
    """Credentials of the speech services (headers of the flash ASR API).

    Either the old-console pair ``app_key`` (APP ID) + ``access_key``
    (access token), or the new-console ``api_key``. The keys show as ``'***'``
    in ``repr`` and ``str``.
    """

    app_key: str | None = None
    access_key: str | None = attrs.field(default=None, repr=_mask)
    api_key: str | None = attrs.field(default=None, repr=_mask)

    def headers(self) -> dict[str, str]:
        """Return the authentication headers for a request."""
        if self.api_key:
            return {"X-Api-Key": self.api_key}
        assert self.app_key is not None
        assert self.access_key is not None
        return {"X-Api-App-Key": self.app_key, "X-Api-Access-Key": self.access_key}

    @property
    def uid(self) -> str:
        """A non-secret user id for the request body (the APP ID when known)."""
        return self.app_key or "volcspeech"

    def __reduce__(self) -> Any:
        raise TypeError("SpeechCredentials are not picklable (they hold secrets)")


def resolve_speech_credentials(
    app_key: str | None = None,
    access_key: str | None = None,
    api_key: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> SpeechCredentials:
    """Find speech credentials in the arguments, else in the environment.

    Args:
        app_key: the console APP ID (old console).
        access_key: the console access token (old console).
        api_key: the new console's API key (replaces the pair).
        environ: the environment to read; ``os.environ`` by default.

    Returns:
        The credentials.

    Raises:
        ConfigurationError: when none are found, naming every place looked at,
            or when only half of the old-console pair is given.
    """
    env = os.environ if environ is None else environ
    if api_key or app_key or access_key:
        if api_key:
            return SpeechCredentials(app_key=app_key, api_key=api_key)
        if app_key and access_key:
            return SpeechCredentials(app_key=app_key, access_key=access_key)
        missing = "access_key" if app_key else "app_key"
        raise ConfigurationError(
            f"speech credentials: app_key and access_key go together; {missing} is missing "
            "(or pass api_key= for a new-console API key)"
        )
    env_api = env.get(ENV_SPEECH_API_KEY)
    if env_api:
        return SpeechCredentials(app_key=env.get(ENV_SPEECH_APP_KEY) or None, api_key=env_api)
    env_app, env_access = env.get(ENV_SPEECH_APP_KEY), env.get(ENV_SPEECH_ACCESS_KEY)
    if env_app and env_access:
        return SpeechCredentials(app_key=env_app, access_key=env_access)
    raise ConfigurationError(
        "no speech credentials found; looked at: the api_key / app_key + access_key "
        f"arguments, ${ENV_SPEECH_API_KEY}, ${ENV_SPEECH_APP_KEY} + ${ENV_SPEECH_ACCESS_KEY}"
    )


@attrs.frozen
class OpenApiCredentials:
    """An access key id, its secret and, for temporary credentials, a session token.

    The secret and the token show as ``'***'`` in ``repr`` and ``str``.
    """

    access_key_id: str
    secret_access_key: str = attrs.field(repr=_hidden)
    session_token: str | None = attrs.field(default=None, repr=_mask)
    #: When temporary credentials expire (epoch seconds), if known.
    expires_at: float | None = None

    def __reduce__(self) -> Any:
        raise TypeError("OpenApiCredentials are not picklable (they hold secrets)")


@runtime_checkable
class CredentialProvider(Protocol):
    """Anything that hands out current OpenAPI credentials; called before each request."""

    def get_credentials(self) -> OpenApiCredentials:
        """Return credentials valid for at least the next request."""
        ...


@attrs.frozen(repr=False)
class StaticProvider:
    """A provider that always returns the same credentials."""

    credentials: OpenApiCredentials

    def get_credentials(self) -> OpenApiCredentials:
        """Return the fixed credentials."""
        return self.credentials

    def __repr__(self) -> str:
        return f"StaticProvider({self.credentials!r})"


class RefreshingProvider:
    """Wraps a ``volcenginesdk-core`` provider and refreshes it before expiry.

    Thread-safe: one refresh at a time; others reuse the fresh credentials.

    Args:
        vendor_provider: an object with ``get_credentials()`` returning a value
            with ``ak``, ``sk``, ``session_token`` (a ``volcenginesdkcore``
            provider), and optionally ``expired_time`` (epoch seconds).
        refresh_margin: refresh this many seconds before expiry.
        clock: returns the current epoch time (for tests).
    """

    def __init__(
        self,
        vendor_provider: Any,
        *,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
        name: str | None = None,
    ) -> None:
        self._vendor = vendor_provider
        self._margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: OpenApiCredentials | None = None
        self.name = name or type(vendor_provider).__name__

    def _fresh(self) -> bool:
        c = self._cached
        if c is None:
            return False
        return c.expires_at is None or c.expires_at - self._margin > self._clock()

    def get_credentials(self) -> OpenApiCredentials:
        """Return cached credentials, refreshing them when they are near expiry.

        Raises:
            ConfigurationError: when the underlying provider fails; the message
                names the provider and the error type, never a secret.
        """
        if self._fresh():
            assert self._cached is not None
            return self._cached
        with self._lock:
            if self._fresh():
                assert self._cached is not None
                return self._cached
            try:
                value = self._vendor.get_credentials()
            except Exception as exc:
                raise ConfigurationError(
                    f"credential provider {self.name} failed: {type(exc).__name__}"
                ) from None
            if value is None or not getattr(value, "ak", None) or not getattr(value, "sk", None):
                raise ConfigurationError(f"credential provider {self.name} returned no credentials")
            # The CLI-config provider delegates STS/OIDC modes to an inner provider.
            holder = getattr(self._vendor, "_delegate", None) or self._vendor
            expires = getattr(holder, "expired_time", None)
            self._cached = OpenApiCredentials(
                access_key_id=value.ak,
                secret_access_key=value.sk,
                session_token=getattr(value, "session_token", None) or None,
                expires_at=float(expires) if isinstance(expires, (int, float)) else None,
            )
            return self._cached

    def __repr__(self) -> str:
        return f"RefreshingProvider({self.name})"


def resolve_openapi_provider(
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
    credentials: CredentialProvider | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> CredentialProvider:
    """Find OpenAPI credentials: arguments, a given provider, then the environment.

    Never consults the network: the vendor's default chain (which ends with the
    ECS metadata provider) is not used implicitly.

    Raises:
        ConfigurationError: nothing found (the message names every place looked
            at), or half a key pair given.
    """
    env = os.environ if environ is None else environ
    if credentials is not None:
        if access_key_id or secret_access_key:
            raise ConfigurationError("pass either credentials= or an access key pair, not both")
        if not isinstance(credentials, CredentialProvider):
            raise ConfigurationError("credentials= must have a get_credentials() method")
        return credentials
    if access_key_id or secret_access_key:
        if not (access_key_id and secret_access_key):
            missing = "secret_access_key" if access_key_id else "access_key_id"
            raise ConfigurationError(f"OpenAPI credentials: {missing} is missing")
        return StaticProvider(OpenApiCredentials(access_key_id, secret_access_key, session_token))
    env_pairs = ((ENV_ACCESS_KEY, ENV_SECRET_KEY), (ENV_OLD_ACCESS_KEY, ENV_OLD_SECRET_KEY))
    for ak_name, sk_name in env_pairs:
        ak, sk = env.get(ak_name), env.get(sk_name)
        if ak and sk:
            token = session_token or env.get(ENV_SESSION_TOKEN) or None
            return StaticProvider(OpenApiCredentials(ak, sk, token))
    raise ConfigurationError(
        "no OpenAPI credentials found; looked at: the access_key_id / secret_access_key "
        f"arguments, the credentials= argument, ${ENV_ACCESS_KEY} + ${ENV_SECRET_KEY} "
        f"(+ ${ENV_SESSION_TOKEN}), ${ENV_OLD_ACCESS_KEY} + ${ENV_OLD_SECRET_KEY}. "
        "For a CLI profile, STS or OIDC pass credentials=volcspeech.credentials.from_cli_config() "
        "(or from_assume_role / from_oidc)."
    )


def _vendor_providers() -> Any:
    try:
        from volcenginesdkcore.auth import providers
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise ConfigurationError("volcenginesdk-core is not installed") from exc
    return providers


def from_cli_config(
    profile: str | None = None, config_path: str | None = None
) -> RefreshingProvider:
    """Credentials from the ``volcengine`` CLI config file (``~/.volcengine/config.json``).

    Args:
        profile: the profile name; the CLI's current profile by default.
        config_path: the config file; ``$VOLCENGINE_CLI_CONFIG_FILE`` or the CLI default.
    """
    vendor = _vendor_providers().CLIConfigCredentialProvider(
        profile_name=profile, config_path=config_path
    )
    return RefreshingProvider(vendor, name="CLIConfigCredentialProvider")


def from_assume_role(
    access_key_id: str,
    secret_access_key: str,
    *,
    role_name: str,
    account_id: str,
    duration_seconds: int = 3600,
    region: str = "cn-beijing",
    host: str = "sts.volcengineapi.com",
) -> RefreshingProvider:
    """Temporary credentials from STS ``AssumeRole``, refreshed before expiry."""
    vendor = _vendor_providers().StsCredentialProvider(
        access_key_id,
        secret_access_key,
        role_name,
        account_id,
        duration_seconds=duration_seconds,
        region=region,
        host=host,
    )
    return RefreshingProvider(vendor, name="StsCredentialProvider")


def from_oidc(
    *,
    role_trn: str | None = None,
    oidc_token_file: str | None = None,
    session_name: str | None = None,
) -> RefreshingProvider:
    """Temporary credentials from STS ``AssumeRoleWithOIDC``.

    Unset arguments fall back to ``VOLCENGINE_OIDC_ROLE_TRN`` /
    ``VOLCENGINE_OIDC_TOKEN_FILE`` / ``VOLCENGINE_OIDC_ROLE_SESSION_NAME``.
    """
    vendor = _vendor_providers().StsOidcCredentialProvider(
        role_trn=role_trn, oidc_token_file=oidc_token_file, session_name=session_name
    )
    return RefreshingProvider(vendor, name="StsOidcCredentialProvider")


def from_ecs_metadata(role_name: str | None = None) -> RefreshingProvider:
    """Credentials of the ECS instance role, from the instance metadata service.

    This calls the metadata address on the network, so volcspeech only does it
    when you call this function. ``VOLCENGINE_ECS_METADATA_DISABLED=true`` still
    disables it (the vendor provider then refuses to start).
    """
    try:
        vendor = _vendor_providers().EcsRoleCredentialProvider(role_name=role_name)
    except Exception as exc:
        raise ConfigurationError(f"ECS metadata credentials unavailable: {exc}") from None
    return RefreshingProvider(vendor, name="EcsRoleCredentialProvider")


# --- credential sources: what a pickled client carries ----------------------------
#
# A client pickles as its configuration plus one of these. Each is a small,
# picklable description of *where* credentials come from; the keys themselves
# are read in the process that uses the client, at its first request.


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
