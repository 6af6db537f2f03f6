"""Recognition options: every documented request field of both recorded-file APIs, typed.

The flash API takes the fields of the standard (submit/query) API minus
``callback``, ``callback_data``, ``enable_lid``, ``enable_emotion_detection``,
``enable_gender_detection``, ``show_volume`` and ``show_speech_rate``
(:data:`STANDARD_ONLY_FIELDS`); setting one of them and recognizing with the
flash API is a :class:`~volcspeech.errors.ValidationError` naming the field
(:meth:`RecognitionOptions.check_api`). A field left at ``None`` is not sent,
so the service's own default applies (defaults differ between revisions of
the vendor's docs; volcspeech never guesses one). Only ``model_name`` is
always sent: the body requires it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Union

import attrs

from ..errors import ValidationError

__all__ = [
    "API_NAMES",
    "AUDIO_FIELDS",
    "FLASH_ONLY_FIELDS",
    "REQUEST_FIELDS",
    "STANDARD_ONLY_FIELDS",
    "RecognitionOptions",
    "SensitiveWordsFilter",
    "dialog_context",
    "hotwords_context",
]

#: Fields of ``audio`` (besides ``url`` / ``data``).
AUDIO_FIELDS = ("format", "codec", "rate", "bits", "channel", "language")
#: Top-level fields of ``request``.
REQUEST_FIELDS = (
    "model_name",
    "model_version",
    "ssd_version",
    "enable_itn",
    "enable_punc",
    "enable_ddc",
    "enable_speaker_info",
    "enable_channel_split",
    "show_utterances",
    "vad_segment",
    "end_window_size",
    "sensitive_words_filter",
    "enable_poi_fc",
    "enable_music_fc",
)
#: Fields of ``request.corpus``.
CORPUS_FIELDS = ("boosting_table_name", "correct_table_name", "context")
#: Fields only the standard (submit/query) API takes; the flash API removed them.
STANDARD_ONLY_FIELDS = (
    "enable_lid",
    "enable_emotion_detection",
    "enable_gender_detection",
    "show_volume",
    "show_speech_rate",
    "callback",
    "callback_data",
)
#: Fields only the flash API takes: none is documented (flash is standard minus
#: :data:`STANDARD_ONLY_FIELDS`); kept so a later difference is one line.
FLASH_ONLY_FIELDS: tuple[str, ...] = ()
#: ``request`` fields of the standard API (``callback``/``callback_data`` are top-level).
STANDARD_REQUEST_FIELDS = STANDARD_ONLY_FIELDS[:5]
#: Body fields of the standard API outside ``request`` (vendor doc table: level 1).
STANDARD_TOP_FIELDS = STANDARD_ONLY_FIELDS[5:]
#: The recorded-file APIs, as named by ``api=``.
API_NAMES = ("flash", "standard")

FORMATS = ("raw", "wav", "mp3", "ogg")
CODECS = ("raw", "opus")
BITS = (16,)
CHANNELS = (1, 2)
END_WINDOW_RANGE = (300, 5000)


def _fail(field: str, message: str) -> ValidationError:
    return ValidationError(f"RecognitionOptions.{field}: {message}", field=field)


def _optional(kind: type, kind_name: str) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        # bool is an int: refuse it where a number is meant, and vice versa.
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            raise _fail(attribute.name, f"must be {kind_name} or None, got {value!r}")

    return check


def _one_of(allowed: tuple[Any, ...]) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        # Same type too: 16.0 == 16 but would be sent as the JSON number 16.0.
        same = any(isinstance(value, type(a)) and value == a for a in allowed)
        if value is not None and (isinstance(value, bool) or not same):
            choices = ", ".join(repr(a) for a in allowed)
            raise _fail(attribute.name, f"must be one of {choices}, got {value!r}")

    return check


def _json_object_string(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise _fail(attribute.name, f"must be a JSON string, got {type(value).__name__}")
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
        raise _fail(attribute.name, "is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise _fail(attribute.name, "must be a JSON object (a string holding {...})")


def _to_filter_string(value: Any) -> Any:
    if isinstance(value, SensitiveWordsFilter):
        return value.to_json()
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _texts(values: Iterable[str], what: str) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValidationError(
            f"{what} must be a list of strings, got {type(values).__name__}", field=what
        )
    out = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"{what} must be non-empty strings, got {value!r}")
        out.append(value)
    if not out:
        raise ValidationError(f"{what}: give at least one")
    return out


def hotwords_context(words: Iterable[str]) -> str:
    """Build a ``corpus.context`` string that boosts hot words.

    Args:
        words: the words or phrases to favour, e.g. product names.

    Returns:
        The JSON string ``{"hotwords":[{"word":...},...]}`` the API expects.

    Raises:
        ValidationError: no words, or an empty / non-string word.

    Example:
        >>> hotwords_context(["volcspeech", "Doubao"])
        '{"hotwords":[{"word":"volcspeech"},{"word":"Doubao"}]}'
    """
    return _dumps({"hotwords": [{"word": w} for w in _texts(words, "hotwords")]})


def dialog_context(texts: Iterable[str]) -> str:
    """Build a ``corpus.context`` string with the preceding dialog turns.

    Args:
        texts: earlier utterances of the conversation, oldest first.

    Returns:
        The JSON string ``{"context_type":"dialog_ctx","context_data":[{"text":...}]}``.

    Raises:
        ValidationError: no texts, or an empty / non-string text.

    Example:
        >>> dialog_context(["What is the weather like?"])
        '{"context_type":"dialog_ctx","context_data":[{"text":"What is the weather like?"}]}'
    """
    data = [{"text": t} for t in _texts(texts, "dialog context")]
    return _dumps({"context_type": "dialog_ctx", "context_data": data})


def _word_list(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(
            f"SensitiveWordsFilter word lists must be lists of strings, got {type(value).__name__}"
        )
    words = tuple(value)
    for word in words:
        if not isinstance(word, str) or not word:
            raise ValidationError(
                f"SensitiveWordsFilter words must be non-empty strings, got {word!r}"
            )
    return words


@attrs.frozen(kw_only=True)
class SensitiveWordsFilter:
    """The ``request.sensitive_words_filter`` setting (the API takes it as a JSON string).

    Attributes:
        system_reserved_filter: apply the service's built-in list of sensitive words.
        filter_with_empty: words removed from the transcript.
        filter_with_signed: words replaced by ``*`` in the transcript.
    """

    system_reserved_filter: bool | None = attrs.field(
        default=None, validator=_optional(bool, "a bool")
    )
    filter_with_empty: tuple[str, ...] = attrs.field(default=(), converter=_word_list)
    filter_with_signed: tuple[str, ...] = attrs.field(default=(), converter=_word_list)

    def to_dict(self) -> dict[str, Any]:
        """The filter as a dict, without unset parts."""
        out: dict[str, Any] = {}
        if self.system_reserved_filter is not None:
            out["system_reserved_filter"] = self.system_reserved_filter
        if self.filter_with_empty:
            out["filter_with_empty"] = list(self.filter_with_empty)
        if self.filter_with_signed:
            out["filter_with_signed"] = list(self.filter_with_signed)
        return out

    def to_json(self) -> str:
        """The JSON string to send as ``sensitive_words_filter``.

        Example:
            >>> SensitiveWordsFilter(filter_with_signed=["x"]).to_json()
            '{"filter_with_signed":["x"]}'
        """
        return _dumps(self.to_dict())


def _check_extra(value: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail("extra", f"must be a mapping, got {type(value).__name__}")
    typed = set(REQUEST_FIELDS) | set(CORPUS_FIELDS) | {"corpus"}
    for key in value:
        if not isinstance(key, str):
            raise _fail("extra", f"keys must be strings, got {key!r}")
        if key in typed:
            raise _fail("extra", f"{key!r} is a typed field: set RecognitionOptions({key}=...)")
        if key in AUDIO_FIELDS:
            raise _fail("extra", f"{key!r} is an audio field: set RecognitionOptions({key}=...)")
        if key in STANDARD_ONLY_FIELDS:
            raise _fail(
                "extra",
                f"{key!r} is not supported by the flash API; it is a typed standard-API "
                f"field: set RecognitionOptions({key}=...) and use api='standard'",
            )
    try:
        json.dumps(dict(value))
    except (TypeError, ValueError, RecursionError) as exc:
        raise _fail("extra", f"values must be JSON-serializable ({exc})") from None
    return dict(value)


@attrs.frozen(kw_only=True)
class RecognitionOptions:
    """Options of one recognition: the ``audio`` and ``request`` fields of the body.

    Every field but ``model_name`` defaults to ``None``, meaning "not sent":
    the service's default applies. Values are checked on construction.

    Attributes:
        format: container: ``"wav"``, ``"mp3"``, ``"ogg"`` or ``"raw"`` (headerless
            PCM). Filled in from the audio's bytes when left unset.
        codec: ``"raw"`` (PCM) or ``"opus"``; filled in (``"opus"``) for Ogg Opus.
        rate: sample rate in Hz (the service assumes 16000).
        bits: bits per sample; only 16 is documented.
        channel: 1 or 2 channels.
        language: e.g. ``"en-US"``, ``"ja-JP"``; empty or unset: Mandarin/English
            and several dialects.
        model_name: always ``"bigmodel"`` today.
        model_version: a model version string, e.g. ``"400"``.
        ssd_version: the speaker-separation model; needs ``enable_speaker_info``.
        enable_itn: inverse text normalization (digits, dates).
        enable_punc: punctuation.
        enable_ddc: disfluency removal.
        enable_speaker_info: speaker separation; results carry the speaker in ``additions``.
        enable_channel_split: recognize stereo channels separately
            (``additions.channel_id`` 1 = left, 2 = right).
        show_utterances: return utterances with word timings.
        vad_segment: split utterances by voice activity.
        end_window_size: silence (300-5000 ms) that ends an utterance.
        sensitive_words_filter: a JSON string or a :class:`SensitiveWordsFilter`.
        enable_poi_fc: point-of-interest correction.
        enable_music_fc: music-title correction.
        boosting_table_name: a hot-word table from the self-learning platform
            (sent in ``request.corpus``).
        correct_table_name: a replacement table (sent in ``request.corpus``).
        context: a JSON string from :func:`hotwords_context` or
            :func:`dialog_context` (sent in ``request.corpus``).
        enable_lid: (standard API) language identification; utterances carry
            ``additions.lid_lang`` (:attr:`Utterance.language`).
        enable_emotion_detection: (standard API) utterances carry
            ``additions.emotion`` (angry, happy, neutral, sad, surprise).
        enable_gender_detection: (standard API) utterances carry ``additions.gender``
            (male / female).
        show_volume: (standard API) utterances carry ``additions.volume`` (dB).
        show_speech_rate: (standard API) utterances carry ``additions.speech_rate``
            (tokens per second).
        callback: (standard API) a URL the service calls when the task ends.
        callback_data: (standard API) a string handed back with the callback.
        extra: more ``request`` fields, for ones the vendor documents later;
            keys of typed fields are refused.
    """

    format: str | None = attrs.field(default=None, validator=_one_of(FORMATS))
    codec: str | None = attrs.field(default=None, validator=_one_of(CODECS))
    rate: int | None = attrs.field(default=None, validator=_optional(int, "an int"))
    bits: int | None = attrs.field(default=None, validator=_one_of(BITS))
    channel: int | None = attrs.field(default=None, validator=_one_of(CHANNELS))
    language: str | None = attrs.field(default=None, validator=_optional(str, "a str"))

    model_name: str = attrs.field(default="bigmodel")
    model_version: str | None = attrs.field(default=None, validator=_optional(str, "a str"))
    ssd_version: str | None = attrs.field(default=None, validator=_optional(str, "a str"))
    enable_itn: bool | None = attrs.field(default=None, validator=_optional(bool, "a bool"))
    enable_punc: bool | None = attrs.field(default=None, validator=_optional(bool, "a bool"))
    enable_ddc: bool | None = attrs.field(default=None, validator=_optional(bool, "a bool"))
    enable_speaker_info: bool | None = attrs.field(
        default=None, validator=_optional(bool, "a bool")
    )
    enable_channel_split: bool | None = attrs.field(
        default=None, validator=_optional(bool, "a bool")
    )
    show_utterances: bool | None = attrs.field(default=None, validator=_optional(bool, "a bool"))
    vad_segment: bool | None = attrs.field(default=None, validator=_optional(bool, "a bool"))
    end_window_size: int | None = attrs.field(default=None, validator=_optional(int, "an int"))
    sensitive_words_filter: Union[str, SensitiveWordsFilter, None] = attrs.field(
        default=None, converter=_to_filter_string, validator=_json_object_string
    )
    enable_poi_fc: bool | None = attrs.field(default=None, validator=_optional(bool, "a bool"))
    enable_music_fc: bool | None = attrs.field(default=None, validator=_optional(bool, "a bool"))

    boosting_table_name: str | None = attrs.field(default=None, validator=_optional(str, "a str"))
    correct_table_name: str | None = attrs.field(default=None, validator=_optional(str, "a str"))
    context: str | None = attrs.field(default=None, validator=_json_object_string)

    enable_lid: bool | None = attrs.field(default=None, validator=_optional(bool, "a bool"))
    enable_emotion_detection: bool | None = attrs.field(
        default=None, validator=_optional(bool, "a bool")
    )
    enable_gender_detection: bool | None = attrs.field(
        default=None, validator=_optional(bool, "a bool")
    )
    show_volume: bool | None = attrs.field(default=None, validator=_optional(bool, "a bool"))
    show_speech_rate: bool | None = attrs.field(default=None, validator=_optional(bool, "a bool"))
    callback: str | None = attrs.field(default=None, validator=_optional(str, "a str"))
    callback_data: str | None = attrs.field(default=None, validator=_optional(str, "a str"))

    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_check_extra)

    @callback.validator
    def _check_callback(self, attribute: attrs.Attribute[str | None], value: str | None) -> None:
        if value is not None and not re.match(r"^https?://[^\s/]+\S*$", value):
            raise _fail(attribute.name, f"must be an http(s):// URL, got {value[:100]!r}")

    @model_name.validator
    def _check_model_name(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or not value:
            raise _fail(attribute.name, f"must be a non-empty str, got {value!r}")

    @rate.validator
    def _check_rate(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and value <= 0:
            raise _fail(attribute.name, f"must be a positive number of Hz, got {value}")

    @end_window_size.validator
    def _check_end_window(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        low, high = END_WINDOW_RANGE
        if value is not None and not low <= value <= high:
            raise _fail(attribute.name, f"must be between {low} and {high} ms, got {value}")

    @ssd_version.validator
    def _check_ssd(self, attribute: attrs.Attribute[str | None], value: str | None) -> None:
        if value is not None and self.enable_speaker_info is not True:
            raise _fail(
                attribute.name, "only applies with enable_speaker_info=True (speaker separation)"
            )

    def to_audio_dict(self) -> dict[str, Any]:
        """The ``audio`` fields that are set (without ``url`` / ``data``).

        Example:
            >>> RecognitionOptions(language="en-US").to_audio_dict()
            {'language': 'en-US'}
        """
        return {name: value for name in AUDIO_FIELDS if (value := getattr(self, name)) is not None}

    def standard_fields_set(self) -> tuple[str, ...]:
        """The standard-only fields that are set (empty: the options suit the flash API)."""
        return tuple(name for name in STANDARD_ONLY_FIELDS if getattr(self, name) is not None)

    def check_api(self, api: str) -> None:
        """Refuse the fields ``api`` does not take.

        Args:
            api: ``"flash"`` or ``"standard"``.

        Raises:
            ValidationError: naming the first field the API does not take.

        Example:
            >>> RecognitionOptions(enable_lid=True).check_api("flash")
            Traceback (most recent call last):
            ...
            volcspeech.errors.ValidationError: RecognitionOptions.enable_lid: ...
        """
        if api not in API_NAMES:
            raise ValidationError(
                f"api must be one of {', '.join(map(repr, API_NAMES))}, got {api!r}", field="api"
            )
        refused = STANDARD_ONLY_FIELDS if api == "flash" else FLASH_ONLY_FIELDS
        other = "standard" if api == "flash" else "flash"
        for name in refused:
            if getattr(self, name) is not None:
                raise _fail(
                    name,
                    f"the {api} API does not take this field (only the {other} API does): "
                    f"leave it unset or recognize with api={other!r}"
                    + (" (AsrClient.submit)" if other == "standard" else ""),
                )

    def to_top_level_dict(self) -> dict[str, Any]:
        """The standard API's body fields outside ``request`` (``callback``, ``callback_data``)."""
        return {
            name: value
            for name in STANDARD_TOP_FIELDS
            if (value := getattr(self, name)) is not None
        }

    def to_request_dict(self) -> dict[str, Any]:
        """The ``request`` object: ``model_name``, the fields that are set, ``corpus``, ``extra``.

        Example:
            >>> RecognitionOptions(enable_itn=True).to_request_dict()
            {'model_name': 'bigmodel', 'enable_itn': True}
        """
        out: dict[str, Any] = {
            name: value
            for name in REQUEST_FIELDS + STANDARD_REQUEST_FIELDS
            if (value := getattr(self, name)) is not None
        }
        corpus = {
            name: value for name in CORPUS_FIELDS if (value := getattr(self, name)) is not None
        }
        if corpus:
            out["corpus"] = corpus
        out.update(self.extra)
        return out
