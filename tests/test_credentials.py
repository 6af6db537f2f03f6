"""Credential resolution: arguments, environment, vendor providers, refresh, no leaks."""

from __future__ import annotations

import json
import pickle
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from volcspeech import credentials as c
from volcspeech.errors import ConfigurationError

SECRET = "sk-very-secret-value"
TOKEN = "sts-session-token-value"


def test_speech_pair_from_arguments() -> None:
    """The old-console pair from arguments gives the App-Key/Access-Key headers."""
    creds = c.resolve_speech_credentials("appid", SECRET, environ={})
    assert creds.headers() == {"X-Api-App-Key": "appid", "X-Api-Access-Key": SECRET}
    assert creds.uid == "appid"


def test_speech_api_key_from_arguments() -> None:
    """A new-console api_key gives the single X-Api-Key header."""
    creds = c.resolve_speech_credentials(api_key=SECRET, environ={})
    assert creds.headers() == {"X-Api-Key": SECRET}
    assert creds.uid == "volcspeech"


def test_speech_arguments_beat_environment() -> None:
    """Arguments win over environment variables."""
    env = {"VOLCSPEECH_API_KEY": "env-key"}
    assert c.resolve_speech_credentials(api_key="arg-key", environ=env).api_key == "arg-key"


def test_speech_from_environment() -> None:
    """VOLCSPEECH_API_KEY, else VOLCSPEECH_APP_KEY + VOLCSPEECH_ACCESS_KEY."""
    assert c.resolve_speech_credentials(environ={"VOLCSPEECH_API_KEY": "k"}).api_key == "k"
    pair = c.resolve_speech_credentials(
        environ={"VOLCSPEECH_APP_KEY": "a", "VOLCSPEECH_ACCESS_KEY": "b"}
    )
    assert (pair.app_key, pair.access_key) == ("a", "b")


def test_speech_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit mapping the process environment is read."""
    monkeypatch.setenv("VOLCSPEECH_API_KEY", "from-os")
    assert c.resolve_speech_credentials().api_key == "from-os"


def test_speech_missing_names_every_place() -> None:
    """No credentials: the error lists the arguments and every variable looked at."""
    with pytest.raises(ConfigurationError) as info:
        c.resolve_speech_credentials(environ={"VOLCSPEECH_APP_KEY": "only-half"})
    message = str(info.value)
    for place in ("api_key", "VOLCSPEECH_API_KEY", "VOLCSPEECH_APP_KEY", "VOLCSPEECH_ACCESS_KEY"):
        assert place in message


@pytest.mark.parametrize(
    ("app", "access", "missing"), [("a", None, "access_key"), (None, SECRET, "app_key")]
)
def test_speech_half_pair_is_refused(app: str | None, access: str | None, missing: str) -> None:
    """Half of the old-console pair is a ConfigurationError naming the missing half."""
    with pytest.raises(ConfigurationError, match=missing) as info:
        c.resolve_speech_credentials(app, access, environ={})
    assert SECRET not in str(info.value)


def test_speech_credentials_hide_secrets() -> None:
    """repr/str show the app id but never the access key or api key; no pickling."""
    creds = c.SpeechCredentials(app_key="appid", access_key=SECRET)
    for text in (repr(creds), str(creds), repr(c.SpeechCredentials(api_key=SECRET))):
        assert SECRET not in text
    assert "appid" in repr(creds)
    with pytest.raises(TypeError):
        pickle.dumps(creds)


def test_openapi_from_arguments() -> None:
    """An explicit key pair (and token) becomes a static provider."""
    provider = c.resolve_openapi_provider("AK", SECRET, TOKEN, environ={})
    creds = provider.get_credentials()
    assert (creds.access_key_id, creds.secret_access_key, creds.session_token) == (
        "AK",
        SECRET,
        TOKEN,
    )


def test_openapi_from_environment() -> None:
    """VOLCENGINE_* variables are read, with the session token."""
    env = {
        "VOLCENGINE_ACCESS_KEY": "AK",
        "VOLCENGINE_SECRET_KEY": SECRET,
        "VOLCENGINE_SESSION_TOKEN": TOKEN,
    }
    creds = c.resolve_openapi_provider(environ=env).get_credentials()
    assert (creds.access_key_id, creds.session_token) == ("AK", TOKEN)


def test_openapi_from_older_environment_names() -> None:
    """The older VOLC_ACCESSKEY / VOLC_SECRETKEY names are read when the new ones are absent."""
    env = {"VOLC_ACCESSKEY": "OLD", "VOLC_SECRETKEY": SECRET}
    assert c.resolve_openapi_provider(environ=env).get_credentials().access_key_id == "OLD"


def test_openapi_new_names_win_over_old() -> None:
    """VOLCENGINE_* wins over VOLC_* when both are set."""
    env = {
        "VOLC_ACCESSKEY": "OLD",
        "VOLC_SECRETKEY": "x",
        "VOLCENGINE_ACCESS_KEY": "NEW",
        "VOLCENGINE_SECRET_KEY": "y",
    }
    assert c.resolve_openapi_provider(environ=env).get_credentials().access_key_id == "NEW"


def test_openapi_missing_names_every_place() -> None:
    """Nothing found: the message names arguments, provider and all variables, no network."""
    with pytest.raises(ConfigurationError) as info:
        c.resolve_openapi_provider(environ={})
    message = str(info.value)
    for place in (
        "access_key_id",
        "credentials=",
        "VOLCENGINE_ACCESS_KEY",
        "VOLCENGINE_SECRET_KEY",
        "VOLC_ACCESSKEY",
        "VOLC_SECRETKEY",
        "from_cli_config",
    ):
        assert place in message


def test_openapi_half_pair_and_conflicts() -> None:
    """Half a pair, or a pair together with a provider, is refused."""
    with pytest.raises(ConfigurationError, match="secret_access_key"):
        c.resolve_openapi_provider("AK", None, environ={})
    with pytest.raises(ConfigurationError, match="access_key_id"):
        c.resolve_openapi_provider(None, SECRET, environ={})
    static = c.StaticProvider(c.OpenApiCredentials("AK", SECRET))
    with pytest.raises(ConfigurationError, match="either"):
        c.resolve_openapi_provider("AK", SECRET, credentials=static, environ={})
    with pytest.raises(ConfigurationError, match="get_credentials"):
        c.resolve_openapi_provider(credentials=object(), environ={})  # type: ignore[arg-type]
    assert c.resolve_openapi_provider(credentials=static, environ={}) is static


def test_openapi_credentials_hide_secrets() -> None:
    """Neither the secret nor the token shows in repr/str; credentials refuse pickling."""
    creds = c.OpenApiCredentials("AKID", SECRET, TOKEN)
    for text in (repr(creds), str(creds), repr(c.StaticProvider(creds))):
        assert SECRET not in text
        assert TOKEN not in text
        assert "AKID" in text
    with pytest.raises(TypeError):
        pickle.dumps(creds)


class FakeVendor:
    """Looks like a volcenginesdkcore provider with expiring credentials."""

    def __init__(self, lifetime: float, clock: list[float]) -> None:
        self.lifetime = lifetime
        self.clock = clock
        self.calls = 0
        self.expired_time: float | None = None

    def get_credentials(self) -> Any:
        self.calls += 1
        time.sleep(0.01)  # widen the race window for the threading test
        self.expired_time = self.clock[0] + self.lifetime
        return type("V", (), {"ak": f"AK{self.calls}", "sk": SECRET, "session_token": TOKEN})()


def test_refreshing_provider_refreshes_before_expiry() -> None:
    """Credentials are reused until refresh_margin before expiry, then fetched again."""
    now = [1000.0]
    vendor = FakeVendor(lifetime=3600, clock=now)
    provider = c.RefreshingProvider(vendor, refresh_margin=300, clock=lambda: now[0])
    assert provider.get_credentials().access_key_id == "AK1"
    now[0] += 3000  # 600 s left: still fresh
    assert provider.get_credentials().access_key_id == "AK1"
    now[0] += 400  # 200 s left: inside the margin
    assert provider.get_credentials().access_key_id == "AK2"
    assert vendor.calls == 2


def test_refreshing_provider_single_refresh_under_threads() -> None:
    """Many threads asking at once cause one fetch."""
    now = [0.0]
    vendor = FakeVendor(lifetime=3600, clock=now)
    provider = c.RefreshingProvider(vendor, clock=lambda: now[0])
    threads = [threading.Thread(target=provider.get_credentials) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert vendor.calls == 1


def test_refreshing_provider_failure_hides_details() -> None:
    """A failing vendor provider becomes a ConfigurationError without its message."""

    class Leaky:
        def get_credentials(self) -> Any:
            raise RuntimeError(f"could not use secret {SECRET}")

    with pytest.raises(ConfigurationError) as info:
        c.RefreshingProvider(Leaky(), name="Leaky").get_credentials()
    assert SECRET not in str(info.value)
    assert "Leaky" in str(info.value)
    assert info.value.__cause__ is None

    class Empty:
        def get_credentials(self) -> Any:
            return None

    with pytest.raises(ConfigurationError, match="no credentials"):
        c.RefreshingProvider(Empty()).get_credentials()


def test_from_cli_config_reads_profile(tmp_path: Path) -> None:
    """The vendor's CLI-config provider is wrapped and reads the chosen profile."""
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "current": "dev",
                "profiles": {
                    "dev": {"mode": "AK", "access-key": "AKDEV", "secret-key": SECRET},
                    "ops": {
                        "mode": "AK",
                        "access-key": "AKOPS",
                        "secret-key": SECRET,
                        "session-token": TOKEN,
                    },
                },
            }
        )
    )
    assert c.from_cli_config(config_path=str(config)).get_credentials().access_key_id == "AKDEV"
    ops = c.from_cli_config("ops", str(config)).get_credentials()
    assert (ops.access_key_id, ops.session_token) == ("AKOPS", TOKEN)
    assert "CLIConfig" in repr(c.from_cli_config(config_path=str(config)))


def test_from_cli_config_missing_file(tmp_path: Path) -> None:
    """A missing config file is a ConfigurationError on first use."""
    provider = c.from_cli_config(config_path=str(tmp_path / "none.json"))
    with pytest.raises(ConfigurationError, match="CLIConfigCredentialProvider"):
        provider.get_credentials()


def test_vendor_sts_and_oidc_providers_are_built_lazily() -> None:
    """STS and OIDC constructors build vendor providers without any network call."""
    sts = c.from_assume_role("AK", SECRET, role_name="r", account_id="123")
    oidc = c.from_oidc(role_trn="trn:iam::1:role/x", oidc_token_file="/nonexistent")
    assert "StsCredentialProvider" in repr(sts)
    assert "StsOidc" in repr(oidc)
    assert SECRET not in repr(sts)


def test_ecs_metadata_never_runs_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """With VOLCENGINE_ECS_METADATA_DISABLED=true the ECS provider refuses to start."""
    monkeypatch.setenv("VOLCENGINE_ECS_METADATA_DISABLED", "true")
    with pytest.raises(ConfigurationError, match="ECS metadata"):
        c.from_ecs_metadata()


def test_resolution_never_builds_the_vendor_default_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolving OpenAPI credentials never constructs the vendor's default (ECS) chain."""
    from volcenginesdkcore.auth.providers import default_provider

    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the default chain must not be built")

    monkeypatch.setattr(default_provider.DefaultCredentialProvider, "__init__", boom)
    with pytest.raises(ConfigurationError):
        c.resolve_openapi_provider(environ={})


# --- malformed credentials: refused by name, before traffic, never quoted -------------

from conftest import MALFORMED_SECRETS, secret_forms  # noqa: E402

from volcspeech import AsrClient, RtcClient  # noqa: E402
from volcspeech.rtc import StopSegmentRequest  # noqa: E402

_BAD_VALUES = (*MALFORMED_SECRETS, 123, b"sk-malformed-core")


def _assert_unquoted(exc: BaseException) -> None:
    """Neither the message, the repr, the args nor the pickle hold the bad value."""
    blob = f"{exc} {exc!r} {exc.args!r} {pickle.dumps(exc)!r}"
    assert not secret_forms(blob), blob[:300]
    assert exc.__cause__ is None
    assert exc.__context__ is None or not secret_forms(repr(exc.__context__))


@pytest.mark.parametrize("bad", _BAD_VALUES, ids=repr)
@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("api_key", lambda v: AsrClient(api_key=v)),
        ("access_key", lambda v: AsrClient("appid", v)),
        ("app_key", lambda v: AsrClient(v, "good-token")),
        ("app_key", lambda v: AsrClient(v, api_key="good-key")),
        ("access_key_id", lambda v: RtcClient(v, "good-secret")),
        ("secret_access_key", lambda v: RtcClient("AKLTgood", v)),
        ("session_token", lambda v: RtcClient("AKLTgood", "good-secret", session_token=v)),
    ],
)
def test_malformed_credential_argument_is_refused_by_name(field: str, make: Any, bad: Any) -> None:
    """A key with a newline, space, control or non-ASCII character, empty or not a string
    is a ConfigurationError that names the argument and never quotes the value."""
    with pytest.raises(ConfigurationError) as info:
        make(bad)
    assert str(info.value).startswith(field + " ")
    _assert_unquoted(info.value)


@pytest.mark.parametrize("bad", [v for v in MALFORMED_SECRETS if v], ids=repr)
@pytest.mark.parametrize(
    ("env", "resolve"),
    [
        ({"VOLCSPEECH_API_KEY": "{}"}, c.resolve_speech_credentials),
        (
            {"VOLCSPEECH_APP_KEY": "app", "VOLCSPEECH_ACCESS_KEY": "{}"},
            c.resolve_speech_credentials,
        ),
        (
            {"VOLCENGINE_ACCESS_KEY": "AK", "VOLCENGINE_SECRET_KEY": "{}"},
            c.resolve_openapi_provider,
        ),
        (
            {
                "VOLCENGINE_ACCESS_KEY": "AK",
                "VOLCENGINE_SECRET_KEY": "s",
                "VOLCENGINE_SESSION_TOKEN": "{}",
            },
            c.resolve_openapi_provider,
        ),
        ({"VOLC_ACCESSKEY": "{}", "VOLC_SECRETKEY": "s"}, c.resolve_openapi_provider),
    ],
)
def test_malformed_credential_in_environment_is_refused_by_name(
    env: dict[str, str], resolve: Any, bad: str
) -> None:
    """A malformed value of a credential variable is refused naming the variable."""
    environ = {k: (bad if v == "{}" else v) for k, v in env.items()}
    name = next(k for k, v in env.items() if v == "{}")
    with pytest.raises(ConfigurationError) as info:
        resolve(environ=environ)
    assert str(info.value).startswith(f"${name} ")
    _assert_unquoted(info.value)


def test_well_formed_credentials_pass_unchanged() -> None:
    """Visible-ASCII keys of any punctuation are accepted as they are."""
    key = "AKLT-abc_DEF.123/+=~!"
    assert c.check_credential(key, "api_key") == key
    assert c.resolve_speech_credentials(api_key=key, environ={}).api_key == key


@pytest.mark.parametrize("bad", [v for v in MALFORMED_SECRETS if v], ids=repr)
@pytest.mark.parametrize("part", ["ak", "sk", "session_token"])
def test_refreshed_credentials_are_checked(part: str, bad: str) -> None:
    """Credentials a vendor provider hands out on refresh are checked by field, unquoted."""
    fields = {"ak": "AKLTgood", "sk": "good-secret", "session_token": "good-token", part: bad}

    class Vendor:
        def get_credentials(self) -> Any:
            return type("V", (), fields)()

    with pytest.raises(ConfigurationError) as info:
        c.RefreshingProvider(Vendor(), name="Vendor").get_credentials()
    named = {"ak": "access_key_id", "sk": "secret_access_key", "session_token": "session_token"}
    assert str(info.value).startswith(f"{named[part]} from credential provider Vendor ")
    _assert_unquoted(info.value)


class _Provider:
    """A user's provider returning whatever it was given."""

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error

    def get_credentials(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        (_Provider(None), "returned NoneType, not OpenApiCredentials"),
        (_Provider({"ak": "x"}), "returned dict, not OpenApiCredentials"),
        (
            _Provider(c.OpenApiCredentials("AKLTgood", "sk-malformed-core\n")),
            "secret_access_key from credential provider _Provider starts or ends with whitespace",
        ),
        (
            _Provider(c.OpenApiCredentials(123, "good")),  # type: ignore[arg-type]
            "access_key_id from credential provider _Provider must be a string",
        ),
        (
            _Provider(error=KeyError("sk-malformed-core")),
            "credential provider _Provider failed: KeyError",
        ),
    ],
)
def test_a_bad_provider_answer_is_refused_before_traffic(provider: Any, expected: str) -> None:
    """A provider returning None, a non-credential or a malformed key (or raising) gives a
    ConfigurationError naming it, and no connection is ever opened."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    try:
        with (
            RtcClient(credentials=provider, endpoint=f"http://127.0.0.1:{port}") as client,
            pytest.raises(ConfigurationError) as info,
        ):
            client.stop_segment(StopSegmentRequest(app_id="a", room_id="r", task_id="t"))
        assert expected in str(info.value)
        _assert_unquoted(info.value)
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()
