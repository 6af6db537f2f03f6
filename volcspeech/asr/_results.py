"""Recognition results: the transcript, its utterances and words.

A success body looks like (vendor doc, flash API)::

    {"audio_info": {"duration": 2499},
     "result": {"additions": {"duration": "2499"}, "text": "...",
                "utterances": [{"start_time": 450, "end_time": 1530, "text": "...",
                                "words": [{"start_time": 450, "end_time": 770,
                                           "text": "...", "confidence": 0}]}]}}

The status is in the ``X-Api-Status-Code`` header, the message in
``X-Api-Message`` and the server log id in ``X-Tt-Logid``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .. import errors
from .._subtitles import Cue, cues_from_utterances, format_srt, format_vtt
from ._display import preview as _preview
from ._display import transcript_html

__all__ = [
    "STATUS_OK",
    "STATUS_SILENT",
    "Transcript",
    "Utterance",
    "Word",
]

#: ``X-Api-Status-Code`` of a recognized file.
STATUS_OK = 20000000
#: ``X-Api-Status-Code`` of an all-silent file: a normal, empty result.
STATUS_SILENT = 20000003


def _dict(value: Mapping[str, Any] | None) -> dict[str, Any]:
    # Plain dicts: they pickle (process executors) and json.dump as they are.
    return dict(value) if value else {}


def _read(read: Any, data: Any, where: str, *, what: str) -> Any:
    """Run one of the readers below, turning a malformed field into a ProtocolError."""
    if not isinstance(data, Mapping):
        raise errors.ProtocolError(f"malformed {what}: {where} is not a JSON object")
    try:
        return read(data, where)
    except _Malformed as exc:
        raise errors.ProtocolError(f"malformed {what}: {exc}") from None


class _Timed:
    """Shared conveniences of words and utterances."""

    additions: dict[str, Any]
    start_time: int
    end_time: int

    @property
    def speaker(self) -> str | None:
        """``additions["speaker"]`` (with ``enable_speaker_info``), as a string, if present.

        The vendor does not document this field's name; third-party code reads
        ``additions.speaker``. Everything else stays in :attr:`additions`.
        """
        value = self.additions.get("speaker")
        return None if value is None else str(value)

    @property
    def channel_id(self) -> Any:
        """``additions["channel_id"]`` (with ``enable_channel_split``: 1 left, 2 right)."""
        return self.additions.get("channel_id")

    @property
    def duration_ms(self) -> int:
        """``end_time - start_time``."""
        return self.end_time - self.start_time

    # Standard-API extras (vendor doc 6561/1354868): read from ``additions``,
    # typed where the doc gives a type; the raw values stay in ``additions``.

    @property
    def language(self) -> str | None:
        """``additions["lid_lang"]`` (with ``enable_lid``), e.g. ``"speech_en"``."""
        return _text(self.additions.get("lid_lang"))

    @property
    def emotion(self) -> str | None:
        """``additions["emotion"]`` (with ``enable_emotion_detection``): angry, happy, neutral,
        sad or surprise."""
        return _text(self.additions.get("emotion"))

    @property
    def gender(self) -> str | None:
        """``additions["gender"]`` (with ``enable_gender_detection``): male or female."""
        return _text(self.additions.get("gender"))

    @property
    def volume(self) -> float | None:
        """``additions["volume"]`` in dB (with ``show_volume``); ``None`` if absent or not a
        number."""
        return _number(self.additions.get("volume"))

    @property
    def speech_rate(self) -> float | None:
        """``additions["speech_rate"]`` in tokens per second (with ``show_speech_rate``);
        ``None`` if absent or not a number."""
        return _number(self.additions.get("speech_rate"))


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _number(value: Any) -> float | None:
    """A number sent as a JSON number or a numeric string; ``None`` otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if number == number and abs(number) != float("inf") else None
    return None


@attrs.frozen
class Word(_Timed):
    """One recognized word (a character, for Chinese).

    Attributes:
        text: the word.
        start_time: start in milliseconds from the start of the audio.
        end_time: end in milliseconds.
        confidence: the service's confidence, when given.
        blank_duration: silence before the word in ms, when given.
        additions: any other fields the service sent in ``additions``.
    """

    text: str
    start_time: int
    end_time: int
    confidence: float | None = None
    blank_duration: int | None = None
    additions: dict[str, Any] = attrs.field(factory=dict, converter=_dict, hash=False)

    def __repr__(self) -> str:
        extra = "".join(
            f", {name}={value!r}"
            for name, value in (
                ("confidence", self.confidence),
                ("blank_duration", self.blank_duration),
                ("speaker", self.speaker),
            )
            if value is not None
        )
        return (
            f"Word(text={_preview(self.text)!r}, start_time={self.start_time}, "
            f"end_time={self.end_time}{extra})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The word in the service's JSON shape; unset fields are left out.

        ``Word.from_dict(json.loads(json.dumps(word.to_dict())))`` equals the word
        when :attr:`additions` holds JSON values.
        """
        out: dict[str, Any] = {
            "text": self.text,
            "start_time": self.start_time,
            "end_time": self.end_time,
        }
        if self.confidence is not None:
            out["confidence"] = self.confidence
        if self.blank_duration is not None:
            out["blank_duration"] = self.blank_duration
        if self.additions:
            out["additions"] = dict(self.additions)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Word:
        """Read a word (the service's JSON shape, or :meth:`to_dict`'s).

        Raises:
            ProtocolError: a field has the wrong type; the message names it.
        """
        word: Word = _read(_word, data, "word", what="word")
        return word


@attrs.frozen
class Utterance(_Timed):
    """One utterance (a sentence or a speaker turn) with its words.

    Attributes:
        text: the utterance's text.
        start_time: start in milliseconds from the start of the audio.
        end_time: end in milliseconds.
        words: the words, in order (may be empty).
        definite: whether the service marked the utterance final, when given.
        confidence: the service's confidence, when given.
        additions: the raw ``additions`` dict (``speaker``, ``channel_id``, ...).
    """

    text: str
    start_time: int
    end_time: int
    words: tuple[Word, ...] = ()
    definite: bool | None = None
    confidence: float | None = None
    additions: dict[str, Any] = attrs.field(factory=dict, converter=_dict, hash=False)

    def __repr__(self) -> str:
        speaker = f", speaker={self.speaker!r}" if self.speaker is not None else ""
        return (
            f"Utterance(text={_preview(self.text)!r}, start_time={self.start_time}, "
            f"end_time={self.end_time}, words={len(self.words)}{speaker})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The utterance in the service's JSON shape, words included; unset fields left out."""
        out: dict[str, Any] = {
            "text": self.text,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "words": [w.to_dict() for w in self.words],
        }
        if self.definite is not None:
            out["definite"] = self.definite
        if self.confidence is not None:
            out["confidence"] = self.confidence
        if self.additions:
            out["additions"] = dict(self.additions)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Utterance:
        """Read an utterance (the service's JSON shape, or :meth:`to_dict`'s).

        Raises:
            ProtocolError: a field has the wrong type; the message names it.
        """
        utterance: Utterance = _read(_utterance, data, "utterance", what="utterance")
        return utterance


@attrs.frozen
class Transcript:
    """The result of one recognition.

    Attributes:
        text: the whole text.
        utterances: the utterances with word timings.
        duration_ms: the audio's duration as measured by the service (``None`` if not sent).
        log_id: the server log id (``X-Tt-Logid``); quote it to support.
        request_id: the ``X-Api-Request-Id`` of the request.
        silent: ``True`` when the service found no speech (status 20000003).
        additions: ``result.additions`` as sent (e.g. ``{"duration": "2499"}``).
        raw: the response body as parsed JSON (empty for a silent answer without body).
    """

    text: str = ""
    utterances: tuple[Utterance, ...] = ()
    duration_ms: int | None = None
    log_id: str | None = None
    request_id: str | None = None
    silent: bool = False
    additions: dict[str, Any] = attrs.field(factory=dict, converter=_dict, hash=False)
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, converter=_dict, hash=False)

    @property
    def words(self) -> tuple[Word, ...]:
        """Every word of every utterance, in order."""
        return tuple(w for u in self.utterances for w in u.words)

    @property
    def language(self) -> str | None:
        """The language label of the standard API's ``enable_lid``.

        ``result.additions["lid_lang"]`` when present, else the label most
        utterances carry; ``None`` without language identification.
        """
        label = _text(self.additions.get("lid_lang"))
        if label is not None:
            return label
        counts: dict[str, int] = {}
        for utterance in self.utterances:
            found = utterance.language
            if found is not None:
                counts[found] = counts.get(found, 0) + 1
        return max(counts, key=lambda k: counts[k]) if counts else None

    def __repr__(self) -> str:
        parts = [
            f"text={_preview(self.text)!r}",
            f"utterances={len(self.utterances)}",
            f"words={sum(len(u.words) for u in self.utterances)}",
            f"duration_ms={self.duration_ms!r}",
        ]
        if self.silent:
            parts.append("silent=True")
        parts += [f"log_id={self.log_id!r}", f"request_id={self.request_id!r}"]
        return f"Transcript({', '.join(parts)})"

    def _repr_html_(self) -> str:
        """A compact table of the utterances (times, speakers, text) for notebooks."""
        return transcript_html(self)

    def to_dict(self) -> dict[str, Any]:
        """Everything the transcript holds, as a JSON-ready dict.

        The keys are the attributes' names; utterances and words are in the
        service's JSON shape and :attr:`raw` is included. :meth:`from_dict`
        reads it back: ``Transcript.from_dict(json.loads(json.dumps(t.to_dict())))``
        equals ``t`` when :attr:`additions` and :attr:`raw` hold JSON values.
        """
        return {
            "text": self.text,
            "utterances": [u.to_dict() for u in self.utterances],
            "duration_ms": self.duration_ms,
            "log_id": self.log_id,
            "request_id": self.request_id,
            "silent": self.silent,
            "additions": dict(self.additions),
            "raw": dict(self.raw),
        }

    @classmethod
    def from_dict(
        cls,
        body: Mapping[str, Any],
        *,
        log_id: str | None = None,
        request_id: str | None = None,
        silent: bool = False,
    ) -> Transcript:
        """Read a flash API response body (e.g. a stored :attr:`raw`) or a :meth:`to_dict`.

        A mapping with ``utterances`` but neither ``result`` nor ``audio_info``
        is read as :meth:`to_dict` wrote it; the keyword arguments, when given,
        replace what it says.

        Args:
            body: the parsed JSON body.
            log_id: the ``X-Tt-Logid`` of the answer.
            request_id: the request id.
            silent: whether the status was 20000003 (silent audio).

        Returns:
            The transcript.

        Raises:
            ProtocolError: the body does not have the documented shape; the
                message names the first offending field.
        """
        try:
            if _is_own_form(body):
                return _parse_own(cls, body, log_id=log_id, request_id=request_id, silent=silent)
            return _parse(cls, body, log_id=log_id, request_id=request_id, silent=silent)
        except _Malformed as exc:
            raise errors.ProtocolError(
                f"malformed recognition result: {exc}",
                code=STATUS_SILENT if silent else STATUS_OK,
                log_id=log_id,
                request_id=request_id,
                body=dict(body) if isinstance(body, Mapping) else None,
            ) from None

    def cues(
        self,
        *,
        max_line_chars: int = 42,
        max_lines: int = 2,
        max_cue_ms: int = 7000,
        speakers: bool = True,
    ) -> list[Cue]:
        """Subtitle cues for this transcript; see :func:`volcspeech.asr.cues_from_utterances`.

        A transcript with text but no utterances gives cues spread over the
        audio's duration (when known).
        """
        utterances: Sequence[Utterance] = self.utterances
        if not utterances and self.text.strip() and self.duration_ms:
            utterances = [Utterance(self.text, 0, self.duration_ms)]
        return cues_from_utterances(
            utterances,
            max_line_chars=max_line_chars,
            max_lines=max_lines,
            max_cue_ms=max_cue_ms,
            speakers=speakers,
        )

    def to_srt(self, **rules: Any) -> str:
        """The transcript as a SubRip file; ``rules`` as for :meth:`cues`."""
        return format_srt(self.cues(**rules), speakers=rules.get("speakers", True))

    def to_vtt(self, **rules: Any) -> str:
        """The transcript as a WebVTT file; ``rules`` as for :meth:`cues`."""
        return format_vtt(self.cues(**rules), speakers=rules.get("speakers", True))


# --- parsing ---------------------------------------------------------------------


class _Malformed(Exception):
    """A field with an unexpected type; the message names it."""


def _field(obj: Mapping[str, Any], key: str, where: str, kind: type, default: Any) -> Any:
    value = obj.get(key, default)
    if value is None:
        return default
    if kind is int:
        # Integral floats ("450.0") are tolerated; bools are not numbers here.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            try:
                return int(value)
            except ValueError:  # "²" and "--1" pass isdigit(); int() refuses > 4300 digits
                raise _Malformed(f"{where}.{key} is not an integer: {value[:40]!r}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Malformed(f"{where}.{key} is not an integer: {value!r}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Malformed(f"{where}.{key} is not a number: {value!r}")
        try:
            return float(value)
        except OverflowError:  # a JSON integer beyond the float range
            raise _Malformed(f"{where}.{key} is too large for a number") from None
    if not isinstance(value, kind):
        raise _Malformed(f"{where}.{key} is not a {kind.__name__}: {value!r}")
    return value


def _list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = _field(obj, key, where, list, [])
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise _Malformed(f"{where}.{key}[{i}] is not an object")
    return list(value)


def _word(raw: Mapping[str, Any], where: str) -> Word:
    return Word(
        text=_field(raw, "text", where, str, ""),
        start_time=_field(raw, "start_time", where, int, 0),
        end_time=_field(raw, "end_time", where, int, 0),
        confidence=_field(raw, "confidence", where, float, None),
        blank_duration=_field(raw, "blank_duration", where, int, None),
        additions=_field(raw, "additions", where, Mapping, None),
    )


def _utterance(raw: Mapping[str, Any], where: str) -> Utterance:
    words = tuple(_word(w, f"{where}.words[{i}]") for i, w in enumerate(_list(raw, "words", where)))
    return Utterance(
        text=_field(raw, "text", where, str, ""),
        start_time=_field(raw, "start_time", where, int, 0),
        end_time=_field(raw, "end_time", where, int, 0),
        words=words,
        definite=_field(raw, "definite", where, bool, None),
        confidence=_field(raw, "confidence", where, float, None),
        additions=_field(raw, "additions", where, Mapping, None),
    )


def _is_own_form(body: object) -> bool:
    return (
        isinstance(body, Mapping)
        and "utterances" in body
        and "result" not in body
        and "audio_info" not in body
    )


def _parse_own(
    cls: type[Transcript],
    data: Mapping[str, Any],
    *,
    log_id: str | None,
    request_id: str | None,
    silent: bool,
) -> Transcript:
    """Read what :meth:`Transcript.to_dict` wrote."""
    where = "transcript"
    return cls(
        text=_field(data, "text", where, str, ""),
        utterances=tuple(
            _utterance(u, f"{where}.utterances[{i}]")
            for i, u in enumerate(_list(data, "utterances", where))
        ),
        duration_ms=_field(data, "duration_ms", where, int, None),
        log_id=log_id if log_id is not None else _field(data, "log_id", where, str, None),
        request_id=(
            request_id if request_id is not None else _field(data, "request_id", where, str, None)
        ),
        silent=silent or _field(data, "silent", where, bool, False),
        additions=_field(data, "additions", where, Mapping, {}),
        raw=_field(data, "raw", where, Mapping, {}),
    )


def _parse(
    cls: type[Transcript],
    body: Mapping[str, Any],
    *,
    log_id: str | None,
    request_id: str | None,
    silent: bool,
) -> Transcript:
    if not isinstance(body, Mapping):
        raise _Malformed("the body is not a JSON object")
    if "result" not in body and not silent:
        raise _Malformed("the body has no 'result'")
    result = _field(body, "result", "body", Mapping, {})
    audio_info = _field(body, "audio_info", "body", Mapping, {})
    additions = _field(result, "additions", "result", Mapping, {})
    duration = _field(audio_info, "duration", "audio_info", int, None)
    if duration is None:
        # result.additions.duration is the same value as a string.
        duration = _field(additions, "duration", "result.additions", int, None)
    utterances = tuple(
        _utterance(u, f"result.utterances[{i}]")
        for i, u in enumerate(_list(result, "utterances", "result"))
    )
    return cls(
        text=_field(result, "text", "result", str, ""),
        utterances=utterances,
        duration_ms=duration,
        log_id=log_id,
        request_id=request_id,
        silent=silent,
        additions=additions,
        raw=body,
    )
