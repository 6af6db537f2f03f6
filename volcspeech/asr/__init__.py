"""Recorded-file speech recognition: flash (极速版) and standard (标准版, submit/query).

Flash: one HTTP request per file: inline audio (streamed as base64) or an
``http(s)://`` URL in, a :class:`Transcript` with utterances and word timings
out. Standard: :meth:`AsrClient.submit` a task, :meth:`AsrClient.query` or
:meth:`AsrClient.wait` for it; ``recognize(..., api="auto")`` picks the API
by the audio's size and duration.

Example:
    >>> from volcspeech.testing import Emulator
    >>> from volcspeech.asr import AsrClient
    >>> with Emulator() as emu, emu.asr.client() as client:
    ...     client.recognize("tests/fixtures/audio/hello.wav").silent
    False
"""

from __future__ import annotations

from .._subtitles import Cue, cues_from_utterances, format_srt, format_vtt
from ._audio import LargeInlineAudioWarning
from ._client import AsrClient, BatchResult
from ._models import AsrModel, RecognitionTask, TaskState, TaskStatus
from ._options import RecognitionOptions, SensitiveWordsFilter, dialog_context, hotwords_context
from ._results import Transcript, Utterance, Word
from ._standard_poll import PollSchedule
from ._uploaders import PresignedUploader, S3Uploader, TosUploader, Uploader, UploadSource

__all__ = [
    "AsrClient",
    "AsrModel",
    "BatchResult",
    "Cue",
    "LargeInlineAudioWarning",
    "PollSchedule",
    "PresignedUploader",
    "RecognitionOptions",
    "RecognitionTask",
    "S3Uploader",
    "SensitiveWordsFilter",
    "TaskState",
    "TaskStatus",
    "TosUploader",
    "Transcript",
    "UploadSource",
    "Uploader",
    "Utterance",
    "Word",
    "cues_from_utterances",
    "dialog_context",
    "format_srt",
    "format_vtt",
    "hotwords_context",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
