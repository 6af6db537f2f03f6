"""Suite-wide settings: no cloud, no metadata service, no sleeping between retries."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# The vendor's ECS metadata credential provider calls a link-local address;
# it must never run in tests (volcspeech never runs it implicitly either).
os.environ["VOLCENGINE_ECS_METADATA_DISABLED"] = "true"
# Likewise boto3's instance-metadata credential provider (used by the S3 resolver tests).
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import volcspeech.testing

_CREDENTIAL_ENV = (
    "VOLCSPEECH_API_KEY",
    "VOLCSPEECH_APP_KEY",
    "VOLCSPEECH_ACCESS_KEY",
    "VOLCENGINE_ACCESS_KEY",
    "VOLCENGINE_SECRET_KEY",
    "VOLCENGINE_SESSION_TOKEN",
    "VOLC_ACCESSKEY",
    "VOLC_SECRETKEY",
)


@pytest.fixture(autouse=True)
def _no_retry_sleep() -> Iterator[None]:
    """Retries decide and log as usual, without sleeping."""
    before = volcspeech.testing.is_testing()
    volcspeech.testing.set_testing(True)
    yield
    volcspeech.testing.set_testing(before)


@pytest.fixture(autouse=True)
def _clean_credential_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials from the developer's shell never leak into a test."""
    for name in _CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)
