"""Credentials: the types, the checks and how they are resolved.

The public face is :mod:`volcspeech.credentials`, which re-exports these names.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, Protocol, runtime_checkable

import attrs

from ._log import remember_secret
from .errors import ConfigurationError, VolcSpeechError

__all__ = [
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
    "OpenApiCredentials",
    "RefreshingProvider",
    "SpeechCredentials",
    "StaticProvider",
    "check_credential",
    "check_openapi_credentials",
    "current_credentials",
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


_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


def check_credential(value: Any, field: str, *, secret: bool = True) -> str:
    """Return ``value`` if it can be sent as a credential, else refuse it by name.

    A key read from a file or a Kubernetes secret often ends with a newline;
    sent as a header, an HTTP library would refuse it quoting the value (the
    secret) into its error. So every credential is checked here, before any
    traffic: a non-empty string of visible ASCII characters, no whitespace,
    no control characters.

    Args:
        value: the credential as given.
        field: how the message names it (``"api_key"``, ``"$VOLCSPEECH_API_KEY"``, ...).
        secret: whether the value is a secret; a valid one is then masked in
            every later log line and error message (``volcspeech._log.redact``).

    Returns:
        ``value`` unchanged.

    Raises:
        ConfigurationError: naming ``field`` and what is wrong; the value is never quoted.
    """
    if not isinstance(value, str):
        raise ConfigurationError(f"{field} must be a string, got {type(value).__name__}")
    if _VISIBLE_ASCII.fullmatch(value):
        if secret:
            remember_secret(value)
        return value
    if not value:
        raise ConfigurationError(f"{field} is empty")
    if value != value.strip():
        problem = (
            "starts or ends with whitespace (a newline left by a key file or a "
            "Kubernetes secret?); strip it"
        )
    elif any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        problem = "contains a control character"
    elif any(c.isspace() for c in value):
        problem = "contains whitespace"
    else:
        problem = "contains characters outside ASCII; copy it again from the console"
    raise ConfigurationError(f"{field} {problem} (the value is not shown)")


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
    if api_key is not None or app_key is not None or access_key is not None:
        if api_key is not None:
            check_credential(api_key, "api_key")
            if app_key is not None:
                check_credential(app_key, "app_key", secret=False)
            return SpeechCredentials(app_key=app_key, api_key=api_key)
        if app_key is not None and access_key is not None:
            check_credential(app_key, "app_key", secret=False)
            check_credential(access_key, "access_key")
            return SpeechCredentials(app_key=app_key, access_key=access_key)
        missing = "access_key" if app_key is not None else "app_key"
        raise ConfigurationError(
            f"speech credentials: app_key and access_key go together; {missing} is missing "
            "(or pass api_key= for a new-console API key)"
        )
    env_api = env.get(ENV_SPEECH_API_KEY)
    env_app = env.get(ENV_SPEECH_APP_KEY) or None
    if env_api:
        check_credential(env_api, f"${ENV_SPEECH_API_KEY}")
        if env_app is not None:
            check_credential(env_app, f"${ENV_SPEECH_APP_KEY}", secret=False)
        return SpeechCredentials(app_key=env_app, api_key=env_api)
    env_access = env.get(ENV_SPEECH_ACCESS_KEY)
    if env_app and env_access:
        check_credential(env_app, f"${ENV_SPEECH_APP_KEY}", secret=False)
        check_credential(env_access, f"${ENV_SPEECH_ACCESS_KEY}")
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
            failure = None
            try:
                value = self._vendor.get_credentials()
            except Exception as exc:
                failure = type(exc).__name__  # its message may quote a secret: not kept
            if failure is not None:
                raise ConfigurationError(f"credential provider {self.name} failed: {failure}")
            if value is None or not getattr(value, "ak", None) or not getattr(value, "sk", None):
                raise ConfigurationError(f"credential provider {self.name} returned no credentials")
            # The CLI-config provider delegates STS/OIDC modes to an inner provider.
            holder = getattr(self._vendor, "_delegate", None) or self._vendor
            expires = getattr(holder, "expired_time", None)
            fresh = OpenApiCredentials(
                access_key_id=value.ak,
                secret_access_key=value.sk,
                session_token=getattr(value, "session_token", None) or None,
                expires_at=float(expires) if isinstance(expires, (int, float)) else None,
            )
            self._cached = check_openapi_credentials(fresh, f"credential provider {self.name}")
            return self._cached

    def __repr__(self) -> str:
        return f"RefreshingProvider({self.name})"


def check_openapi_credentials(credentials: Any, source: str) -> OpenApiCredentials:
    """Return ``credentials`` if they are :class:`OpenApiCredentials` that can be sent.

    Args:
        credentials: what a provider returned.
        source: how the message names where they came from.

    Raises:
        ConfigurationError: naming ``source`` and the field; never a value.
    """
    if not isinstance(credentials, OpenApiCredentials):
        raise ConfigurationError(
            f"{source} returned {type(credentials).__name__}, not OpenApiCredentials"
        )
    check_credential(credentials.access_key_id, f"access_key_id from {source}", secret=False)
    check_credential(credentials.secret_access_key, f"secret_access_key from {source}")
    if credentials.session_token is not None:
        check_credential(credentials.session_token, f"session_token from {source}")
    return credentials


def current_credentials(provider: CredentialProvider) -> OpenApiCredentials:
    """Ask ``provider`` for credentials and check them (called before each attempt).

    Raises:
        ConfigurationError: the provider raised something other than a
            volcspeech error, or returned no usable credentials; the message
            names the provider and the field, never a secret.
    """
    name = f"credential provider {type(provider).__name__}"
    failure = None
    try:
        value = provider.get_credentials()
    except VolcSpeechError:
        raise
    except Exception as exc:
        # Raised outside the handler, so the provider's error (which may quote
        # a secret) is not even kept as the context.
        failure = type(exc).__name__
    if failure is not None:
        raise ConfigurationError(f"{name} failed: {failure}")
    return check_openapi_credentials(value, name)


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
    if session_token is not None:
        check_credential(session_token, "session_token")
    if credentials is not None:
        if access_key_id is not None or secret_access_key is not None:
            raise ConfigurationError("pass either credentials= or an access key pair, not both")
        if session_token is not None:
            raise ConfigurationError(
                "session_token goes with an access key pair; a credentials= provider "
                "hands out its own token"
            )
        if not isinstance(credentials, CredentialProvider):
            raise ConfigurationError(
                "credentials= must have a get_credentials() method, "
                f"got {type(credentials).__name__}"
            )
        return credentials
    if access_key_id is not None or secret_access_key is not None:
        if access_key_id is None or secret_access_key is None:
            missing = "secret_access_key" if access_key_id is not None else "access_key_id"
            raise ConfigurationError(f"OpenAPI credentials: {missing} is missing")
        check_credential(access_key_id, "access_key_id", secret=False)
        check_credential(secret_access_key, "secret_access_key")
        return StaticProvider(OpenApiCredentials(access_key_id, secret_access_key, session_token))
    env_pairs = ((ENV_ACCESS_KEY, ENV_SECRET_KEY), (ENV_OLD_ACCESS_KEY, ENV_OLD_SECRET_KEY))
    for ak_name, sk_name in env_pairs:
        ak, sk = env.get(ak_name), env.get(sk_name)
        if ak and sk:
            check_credential(ak, f"${ak_name}", secret=False)
            check_credential(sk, f"${sk_name}")
            token = session_token
            if token is None and env.get(ENV_SESSION_TOKEN):
                token = check_credential(env[ENV_SESSION_TOKEN], f"${ENV_SESSION_TOKEN}")
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
