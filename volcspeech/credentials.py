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

from ._credential_core import (
    DEFAULT_REFRESH_MARGIN,
    ENV_ACCESS_KEY,
    ENV_OLD_ACCESS_KEY,
    ENV_OLD_SECRET_KEY,
    ENV_SECRET_KEY,
    ENV_SESSION_TOKEN,
    ENV_SPEECH_ACCESS_KEY,
    ENV_SPEECH_API_KEY,
    ENV_SPEECH_APP_KEY,
    CredentialProvider,
    OpenApiCredentials,
    RefreshingProvider,
    SpeechCredentials,
    StaticProvider,
    check_credential,
    check_openapi_credentials,
    current_credentials,
    from_assume_role,
    from_cli_config,
    from_ecs_metadata,
    from_oidc,
    resolve_openapi_provider,
    resolve_speech_credentials,
)
from ._credential_sources import (
    CallableCredentials,
    EnvCredentials,
    ProfileCredentials,
    SpeechCredentialSource,
)

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
