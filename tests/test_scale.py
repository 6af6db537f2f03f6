"""Scaling out: clients pickle as settings plus a credential source, never as keys;
one client per worker process; RTC clients on process pools."""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import KNOWN_SECRETS

from volcspeech import AsrClient, RtcClient, _worker_cache, errors
from volcspeech.credentials import (
    CallableCredentials,
    EnvCredentials,
    OpenApiCredentials,
    ProfileCredentials,
    SpeechCredentials,
    StaticProvider,
    from_cli_config,
)
from volcspeech.testing import Emulator, MockTransport

HELLO = str(Path(__file__).parent / "fixtures" / "audio" / "hello.wav")
SECRET = "sk-very-secret-value"
TOKEN = "sts-session-token-value"


def assert_clean(*blobs: Any) -> None:
    """No known secret in any of the texts, reprs or pickles."""
    for blob in blobs:
        text = blob if isinstance(blob, (str, bytes)) else repr(blob)
        data = text.decode("latin-1") if isinstance(text, bytes) else text
        for secret in KNOWN_SECRETS:
            assert secret not in data, f"secret in {data[:200]!r}"


def speech_from_vault() -> SpeechCredentials:
    """A module-level (so picklable) credential callable, standing in for a vault."""
    return SpeechCredentials(api_key=os.environ["TEST_VAULT_API_KEY"])


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """One emulator for the module."""
    with Emulator() as emulator:
        emulator.asr.register(HELLO, text="hello world")
        yield emulator


def literal_key_clients(emu: Emulator) -> list[Any]:
    """Every way of giving a client literal keys."""
    creds = emu.credentials
    return [
        AsrClient(api_key=SECRET, endpoint=emu.asr.endpoint),
        AsrClient("appid", SECRET, endpoint=emu.asr.endpoint),
        AsrClient(app_key=creds.app_key, access_key=creds.access_key, endpoint=emu.asr.endpoint),
        RtcClient("AKLTid", SECRET, session_token=TOKEN, endpoint=emu.url),
        RtcClient(creds.access_key_id, creds.secret_access_key, endpoint=emu.url),
        RtcClient(credentials=StaticProvider(OpenApiCredentials("AK", SECRET)), endpoint=emu.url),
    ]


def test_literal_keys_never_pickle(emu: Emulator) -> None:
    """pickle.dumps of a client given literal keys refuses, and nothing it produces holds a key."""
    for client in literal_key_clients(emu):
        with client, pytest.raises(errors.ConfigurationError) as info:
            pickle.dumps(client)
        message = str(info.value)
        assert "pickle" in message
        assert "EnvCredentials" in message or "credential source" in message
        assert_clean(message, repr(info.value), pickle.dumps(info.value), repr(client))


def test_opting_in_pickles_the_keys(emu: Emulator) -> None:
    """allow_pickling_secrets=True is the one way keys travel, and the copy works."""
    creds = emu.credentials
    with AsrClient(
        creds.app_key, creds.access_key, endpoint=emu.asr.endpoint, allow_pickling_secrets=True
    ) as asr:
        data = pickle.dumps(asr)
    assert creds.access_key.encode() in data  # documented as unsafe: the key is inside
    clone = pickle.loads(data)
    assert clone.recognize(HELLO).text == "hello world"
    assert_clean(repr(clone))
    with RtcClient(
        creds.access_key_id, creds.secret_access_key, endpoint=emu.url, allow_pickling_secrets=True
    ) as rtc:
        rtc_clone = pickle.loads(pickle.dumps(rtc))
    assert rtc_lookup(rtc_clone) == "signed"
    with pytest.raises(errors.ConfigurationError, match="allow_pickling_secrets"):
        AsrClient(api_key="k", allow_pickling_secrets="yes")  # type: ignore[arg-type]


def test_sources_pickle_without_keys(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients built from the environment or a source pickle with no key, even after use."""
    creds = emu.credentials
    monkeypatch.setenv("VOLCSPEECH_API_KEY", creds.api_key)
    monkeypatch.setenv("VOLCENGINE_ACCESS_KEY", creds.access_key_id)
    monkeypatch.setenv("VOLCENGINE_SECRET_KEY", creds.secret_access_key)
    monkeypatch.setenv("TEST_VAULT_API_KEY", creds.api_key)
    clients: list[Any] = [
        AsrClient(endpoint=emu.asr.endpoint),
        AsrClient(endpoint=emu.asr.endpoint, credentials=EnvCredentials()),
        AsrClient(endpoint=emu.asr.endpoint, credentials=CallableCredentials(speech_from_vault)),
        RtcClient(endpoint=emu.url),
        RtcClient(endpoint=emu.url, credentials=EnvCredentials()),
        RtcClient(endpoint=emu.url, credentials=ProfileCredentials("ci", "/nonexistent.json")),
    ]
    for client in clients[:3]:
        assert client.recognize(HELLO).text == "hello world"  # credentials read and used
    assert rtc_lookup(clients[3]) == "signed"
    for client in clients:
        data = pickle.dumps(client)
        assert_clean(data, repr(client))
        client.close()


def test_unpickling_reads_no_credential(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy unpickles where no key is set; its first request reads (and names) what is missing."""
    asr = AsrClient(endpoint=emu.asr.endpoint, credentials=EnvCredentials(), max_retries=0)
    rtc = RtcClient(endpoint=emu.url, credentials=EnvCredentials(), max_retries=0)
    asr_copy, rtc_copy = pickle.loads(pickle.dumps(asr)), pickle.loads(pickle.dumps(rtc))
    sent = len(emu.requests)
    with pytest.raises(errors.ConfigurationError, match=r"VOLCSPEECH_API_KEY.*process \d+"):
        asr_copy.recognize(HELLO)
    with pytest.raises(errors.ConfigurationError, match="VOLCENGINE_ACCESS_KEY"):
        rtc_copy.get_segment_task("app", "room", "task")
    assert len(emu.requests) == sent  # refused before any traffic
    monkeypatch.setenv("VOLCSPEECH_API_KEY", emu.credentials.api_key)
    assert asr_copy.recognize(HELLO).text == "hello world"
    assert asr_copy.endpoint == asr.endpoint
    assert rtc_copy.rate_limiter.limits == rtc.rate_limiter.limits


def test_a_copy_keeps_the_settings(emu: Emulator) -> None:
    """Endpoint, resource id, uid, timeouts, retries, deadline, cap and rate limits travel."""
    asr = AsrClient(
        base_url=emu.url,
        credentials=EnvCredentials(),
        resource_id="volc.bigasr.auc",
        uid="me",
        timeout=(2, 7),
        max_retries=5,
        deadline=33,
        max_answer_bytes=4096,
    )
    copy = pickle.loads(pickle.dumps(asr))
    assert (copy.endpoint, copy.base_url, copy.resource_id, copy.uid) == (
        asr.endpoint,
        asr.base_url,
        "volc.bigasr.auc",
        "me",
    )
    assert copy._timeout == asr._timeout
    assert copy.retry_policy == asr.retry_policy
    assert (copy._deadline, copy._max_answer_bytes) == (33.0, 4096)
    rtc = RtcClient(
        endpoint=emu.url,
        region="cn-shanghai",
        credentials=EnvCredentials(),
        rate_limits={"StartSegment": 5},
    )
    rtc_copy = pickle.loads(pickle.dumps(rtc))
    assert (rtc_copy.region, rtc_copy.endpoint) == ("cn-shanghai", emu.url)
    assert rtc_copy.rate_limiter.limits["StartSegment"] == 5


def test_session_transport_and_live_providers_refuse(emu: Emulator) -> None:
    """A session, a transport, a vendor provider or an unpicklable callable: a clear refusal."""
    import requests

    session = requests.Session()
    refused: list[Any] = [
        AsrClient(endpoint=emu.asr.endpoint, credentials=EnvCredentials(), session=session),
        AsrClient(credentials=EnvCredentials(), transport=MockTransport(lambda r: None)),
        RtcClient(endpoint=emu.url, credentials=EnvCredentials(), session=session),
    ]
    for client in refused:
        with pytest.raises(errors.ConfigurationError, match="session= or transport="):
            pickle.dumps(client)
    vendor = RtcClient(endpoint=emu.url, credentials=from_cli_config("ci", "/nonexistent.json"))
    with pytest.raises(errors.ConfigurationError, match="ProfileCredentials"):
        pickle.dumps(vendor)
    local = CallableCredentials(lambda: SpeechCredentials(api_key="k"))
    with pytest.raises(errors.ConfigurationError, match="does not pickle"):
        pickle.dumps(AsrClient(endpoint=emu.asr.endpoint, credentials=local))
    with pytest.raises(errors.ConfigurationError, match="callable"):
        CallableCredentials("not callable")  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigurationError, match="not both"):
        AsrClient(api_key="k", credentials=EnvCredentials())
    with pytest.raises(errors.ConfigurationError, match="get_speech_credentials"):
        AsrClient(credentials=object())  # type: ignore[arg-type]
    session.close()


def test_credential_sources_check_what_they_return(monkeypatch: pytest.MonkeyPatch) -> None:
    """A callable returning the wrong type or failing is a ConfigurationError without its text."""

    def wrong() -> Any:
        return "key"

    def failing() -> Any:
        raise RuntimeError(SECRET)

    with pytest.raises(errors.ConfigurationError, match="expected SpeechCredentials"):
        CallableCredentials(wrong).get_speech_credentials()
    with pytest.raises(errors.ConfigurationError, match="expected OpenApiCredentials") as info:
        CallableCredentials(wrong).get_credentials()
    with pytest.raises(errors.ConfigurationError, match="RuntimeError") as failed:
        CallableCredentials(failing).get_credentials()
    assert_clean(str(failed.value), str(info.value))
    monkeypatch.setenv("VOLCENGINE_ACCESS_KEY", "AK")
    monkeypatch.setenv("VOLCENGINE_SECRET_KEY", SECRET)
    assert EnvCredentials().get_credentials().access_key_id == "AK"
    assert pickle.loads(pickle.dumps(ProfileCredentials("p"))) == ProfileCredentials("p")
    with pytest.raises(errors.ConfigurationError, match="CLIConfigCredentialProvider"):
        ProfileCredentials("p", "/nonexistent/config.json").get_credentials()


def test_one_client_per_process_and_configuration(emu: Emulator) -> None:
    """Unpickling the same configuration again gives the same client; another, another one."""
    asr = AsrClient(endpoint=emu.asr.endpoint, credentials=EnvCredentials())
    data = pickle.dumps(asr)
    first, again = pickle.loads(data), pickle.loads(data)
    assert first is again
    assert first is not asr
    other = pickle.loads(
        pickle.dumps(AsrClient(endpoint=emu.asr.endpoint + "/x", credentials=EnvCredentials()))
    )
    assert other is not first
    first.close()
    replaced = pickle.loads(data)
    assert replaced is not first
    assert not replaced.closed
    assert replaced in _worker_cache.cached_clients()


def cached_in_this_process() -> int:
    """How many clients this (worker) process built from pickles."""
    return len(_worker_cache.cached_clients())


def test_a_process_pool_worker_reuses_one_client(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten items on a one-process pool build one client there, not ten."""
    monkeypatch.setenv("VOLCSPEECH_API_KEY", emu.credentials.api_key)
    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    with (
        AsrClient(endpoint=emu.asr.endpoint) as asr,
        concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool,
    ):
        results = list(asr.recognize_many([HELLO] * 10, executor=pool, max_workers=2))
        assert pool.submit(cached_in_this_process).result() == 1
    assert [r.transcript.text for r in results if r.transcript] == ["hello world"] * 10


def rtc_lookup(rtc: RtcClient) -> str:
    """Look up an unknown task: 'signed' when the emulator accepted the signature."""
    try:
        rtc.get_segment_task("app", "room", "task")
    except errors.InvalidRequestError as exc:
        return "signed" if "TaskNotFound" in str(exc) else str(exc)
    return "found"


def test_rtc_client_on_a_process_pool(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """An RtcClient built without keys travels to a spawned worker, which signs with its own env."""
    rtc = RtcClient(endpoint=emu.url, credentials=EnvCredentials(), max_retries=0)
    monkeypatch.setenv("VOLCENGINE_ACCESS_KEY", emu.credentials.access_key_id)
    monkeypatch.setenv("VOLCENGINE_SECRET_KEY", emu.credentials.secret_access_key)
    context = multiprocessing.get_context("spawn")
    with rtc, concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        assert pool.submit(rtc_lookup, rtc).result() == "signed"


def test_worker_cache_closes_clients_at_exit() -> None:
    """The exit hook closes every cached client and empties the cache."""
    client = _worker_cache.rebuild(AsrClient, {"credentials": EnvCredentials(), "uid": "exit-test"})
    with contextlib.ExitStack():
        _worker_cache._close_all()
    assert client.closed
    assert client not in _worker_cache.cached_clients()
