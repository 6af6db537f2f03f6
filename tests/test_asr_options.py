"""RecognitionOptions, SensitiveWordsFilter and the context helpers."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from volcspeech.asr import (
    RecognitionOptions,
    SensitiveWordsFilter,
    dialog_context,
    hotwords_context,
)
from volcspeech.errors import ValidationError


def test_defaults_send_only_model_name() -> None:
    """Unset options send nothing but the required model_name."""
    options = RecognitionOptions()
    assert options.to_request_dict() == {"model_name": "bigmodel"}
    assert options.to_audio_dict() == {}


def test_every_documented_field_is_serialized() -> None:
    """Every documented flash field goes where the API expects it."""
    options = RecognitionOptions(
        format="wav",
        codec="raw",
        rate=16000,
        bits=16,
        channel=2,
        language="en-US",
        model_version="400",
        ssd_version="200",
        enable_itn=True,
        enable_punc=False,
        enable_ddc=True,
        enable_speaker_info=True,
        enable_channel_split=True,
        show_utterances=True,
        vad_segment=False,
        end_window_size=800,
        sensitive_words_filter=SensitiveWordsFilter(system_reserved_filter=True),
        enable_poi_fc=True,
        enable_music_fc=False,
        boosting_table_name="boost",
        correct_table_name="fix",
        context=hotwords_context(["volcspeech"]),
    )
    assert options.to_audio_dict() == {
        "format": "wav",
        "codec": "raw",
        "rate": 16000,
        "bits": 16,
        "channel": 2,
        "language": "en-US",
    }
    assert options.to_request_dict() == {
        "model_name": "bigmodel",
        "model_version": "400",
        "ssd_version": "200",
        "enable_itn": True,
        "enable_punc": False,
        "enable_ddc": True,
        "enable_speaker_info": True,
        "enable_channel_split": True,
        "show_utterances": True,
        "vad_segment": False,
        "end_window_size": 800,
        "sensitive_words_filter": '{"system_reserved_filter":true}',
        "enable_poi_fc": True,
        "enable_music_fc": False,
        "corpus": {
            "boosting_table_name": "boost",
            "correct_table_name": "fix",
            "context": '{"hotwords":[{"word":"volcspeech"}]}',
        },
    }


def test_removed_standard_fields_are_refused_for_flash() -> None:
    """The fields the flash API removed are standard-only options that flash refuses."""
    removed = {
        "callback": "https://example.com/cb",
        "callback_data": "x",
        "enable_lid": True,
        "enable_emotion_detection": True,
        "enable_gender_detection": True,
        "show_volume": True,
        "show_speech_rate": True,
    }
    for name, value in removed.items():
        options = RecognitionOptions(**{name: value})
        with pytest.raises(ValidationError, match="flash API does not take") as info:
            options.check_api("flash")
        assert info.value.field == name
        top = name.startswith("callback")  # body fields outside "request" (vendor doc: level 1)
        assert (name in options.to_top_level_dict()) == top
        assert (name in options.to_request_dict()) == (not top)
        options.check_api("standard")


@pytest.mark.parametrize(
    ("kwargs", "field", "needle"),
    [
        ({"format": "flac"}, "format", "'raw', 'wav', 'mp3', 'ogg'"),
        ({"codec": "aac"}, "codec", "'raw', 'opus'"),
        ({"bits": 8}, "bits", "16"),
        ({"bits": True}, "bits", "16"),
        ({"channel": 3}, "channel", "1, 2"),
        ({"channel": True}, "channel", "1, 2"),
        ({"rate": 0}, "rate", "positive"),
        ({"rate": "16000"}, "rate", "an int"),
        ({"rate": True}, "rate", "an int"),
        ({"language": 1}, "language", "a str"),
        ({"enable_itn": 1}, "enable_itn", "a bool"),
        ({"enable_punc": "yes"}, "enable_punc", "a bool"),
        ({"end_window_size": 299}, "end_window_size", "300 and 5000"),
        ({"end_window_size": 5001}, "end_window_size", "300 and 5000"),
        ({"end_window_size": 1.5}, "end_window_size", "an int"),
        ({"model_version": 400}, "model_version", "a str"),
        ({"model_name": ""}, "model_name", "non-empty"),
        ({"ssd_version": "200"}, "ssd_version", "enable_speaker_info"),
        ({"ssd_version": "200", "enable_speaker_info": False}, "ssd_version", "enable_speaker"),
        ({"context": "not json"}, "context", "not valid JSON"),
        ({"context": "[1]"}, "context", "JSON object"),
        ({"context": {"hotwords": []}}, "context", "JSON string"),
        ({"sensitive_words_filter": "{"}, "sensitive_words_filter", "not valid JSON"),
        ({"boosting_table_name": 5}, "boosting_table_name", "a str"),
    ],
)
def test_invalid_values_name_field_and_allowed_values(
    kwargs: dict[str, Any], field: str, needle: str
) -> None:
    """A bad value raises ValidationError naming the field and what is allowed."""
    with pytest.raises(ValidationError) as info:
        RecognitionOptions(**kwargs)
    assert info.value.field == field
    assert field in str(info.value)
    assert needle in str(info.value)


def test_options_are_frozen_and_keyword_only() -> None:
    """Options are immutable values built from keywords only."""
    options = RecognitionOptions(enable_itn=True)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        options.enable_itn = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        RecognitionOptions("wav")  # type: ignore[misc]
    assert attrs.evolve(options, enable_itn=False).enable_itn is False
    assert options == RecognitionOptions(enable_itn=True)


def test_extra_fields_are_merged_into_request() -> None:
    """extra adds request fields the typed options do not know yet."""
    options = RecognitionOptions(enable_itn=True, extra={"new_switch": True, "level": 2})
    assert options.to_request_dict() == {
        "model_name": "bigmodel",
        "enable_itn": True,
        "new_switch": True,
        "level": 2,
    }


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"enable_itn": True}, "typed field"),
        ({"corpus": {}}, "typed field"),
        ({"context": "{}"}, "typed field"),
        ({"language": "en-US"}, "audio field"),
        ({"callback": "https://x"}, "not supported by the flash API"),
        ({"enable_lid": True}, "not supported by the flash API"),
        ({1: True}, "keys must be strings"),
        ({"when": object()}, "JSON-serializable"),
    ],
)
def test_extra_refuses_collisions_and_garbage(extra: dict[Any, Any], needle: str) -> None:
    """extra cannot override typed fields, send removed ones or hold non-JSON values."""
    with pytest.raises(ValidationError, match=needle) as info:
        RecognitionOptions(extra=extra)
    assert info.value.field == "extra"


def test_extra_must_be_a_mapping() -> None:
    """extra is a mapping, not a list of pairs."""
    with pytest.raises(ValidationError, match="mapping"):
        RecognitionOptions(extra=[("a", 1)])  # type: ignore[arg-type]


def test_hotwords_context_shape() -> None:
    """hotwords_context builds the documented JSON string."""
    text = hotwords_context(["火山引擎", "Doubao"])
    assert json.loads(text) == {"hotwords": [{"word": "火山引擎"}, {"word": "Doubao"}]}
    assert "火山引擎" in text  # not \\u-escaped


def test_dialog_context_shape() -> None:
    """dialog_context builds the documented dialog_ctx JSON string."""
    assert json.loads(dialog_context(["first turn", "second turn"])) == {
        "context_type": "dialog_ctx",
        "context_data": [{"text": "first turn"}, {"text": "second turn"}],
    }


@pytest.mark.parametrize("bad", [[], [""], ["  "], [3], "oneword"])
def test_context_helpers_refuse_bad_input(bad: Any) -> None:
    """Empty lists, blank or non-string entries and bare strings are refused."""
    with pytest.raises(ValidationError):
        hotwords_context(bad)
    with pytest.raises(ValidationError):
        dialog_context(bad)


def test_sensitive_words_filter_json() -> None:
    """SensitiveWordsFilter renders the documented JSON string, omitting unset parts."""
    flt = SensitiveWordsFilter(
        system_reserved_filter=False, filter_with_empty=["a"], filter_with_signed=["b", "c"]
    )
    assert json.loads(flt.to_json()) == {
        "system_reserved_filter": False,
        "filter_with_empty": ["a"],
        "filter_with_signed": ["b", "c"],
    }
    assert SensitiveWordsFilter().to_json() == "{}"
    options = RecognitionOptions(sensitive_words_filter=flt)
    assert options.sensitive_words_filter == flt.to_json()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"filter_with_empty": "word"},
        {"filter_with_signed": [""]},
        {"filter_with_signed": [1]},
        {"system_reserved_filter": "yes"},
    ],
)
def test_sensitive_words_filter_validation(kwargs: dict[str, Any]) -> None:
    """Word lists must be lists of non-empty strings; the switch a bool."""
    with pytest.raises(ValidationError):
        SensitiveWordsFilter(**kwargs)
