"""Audio inputs: format detection, limits, input kinds and the streamed body."""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import threading
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from volcspeech.asr import _audio
from volcspeech.asr._audio import (
    MAX_AUDIO_BYTES,
    AudioInfo,
    StreamedBody,
    base64_length,
    prepare_audio,
    sniff,
)
from volcspeech.errors import InvalidAudioError

AUDIO = Path(__file__).parent / "fixtures" / "audio"


def wav_bytes(pcm: bytes, rate: int = 16000, channels: int = 1, width: int = 2) -> bytes:
    """A WAV file around ``pcm``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def sniffed(data: bytes) -> AudioInfo:
    """Sniff bytes through the same reader the client uses."""
    return sniff(_audio._MemoryReader(memoryview(data)), len(data))


@pytest.mark.parametrize(
    ("name", "fmt", "codec", "duration", "rate", "channels"),
    [
        ("hello.wav", "wav", None, 1000, 16000, 1),
        ("hello_8k.wav", "wav", None, 1000, 8000, 1),
        ("stereo.wav", "wav", None, 1000, 16000, 2),
        ("silence.wav", "wav", None, 1000, 16000, 1),
        ("hello.mp3", "mp3", None, 1080, 16000, 1),
        ("hello.ogg", "ogg", "opus", 1000, 16000, 1),
    ],
)
def test_fixtures_are_detected(
    name: str, fmt: str, codec: str | None, duration: int, rate: int, channels: int
) -> None:
    """Each supported fixture is recognized from its bytes with its duration."""
    data = (AUDIO / name).read_bytes()
    info = sniffed(data)
    assert (info.format, info.codec, info.duration_ms) == (fmt, codec, duration)
    assert (info.sample_rate, info.channels, info.size) == (rate, channels, len(data))


def test_flac_is_rejected_by_name() -> None:
    """FLAC is refused with a message naming FLAC and the accepted formats."""
    with pytest.raises(InvalidAudioError, match=r"found FLAC.*WAV, MP3 and Ogg Opus"):
        sniffed((AUDIO / "hello.flac").read_bytes())


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"\x00\x01\x02\x03" * 100, "unrecognized data starting with 0x00010203"),
        (os.urandom(0) + b"RIFF\x00\x00\x00\x00AVI LIST", "RIFF file that is not WAVE"),
        (b"\x00\x00\x00\x20ftypM4A " + bytes(100), "MP4/M4A"),
        (b"#!AMR\n" + bytes(100), "AMR"),
        (b"\x1a\x45\xdf\xa3" + bytes(100), "Matroska/WebM"),
        (b"FORM\x00\x00\x00\x00AIFF", "AIFF"),
        (b"\xff\xf1\x50\x80" + bytes(100), "AAC"),
        (b"\xff\xfd\x90\x00" + bytes(100), "MPEG audio that is not Layer III"),
    ],
)
def test_other_formats_are_named(data: bytes, needle: str) -> None:
    """Unsupported data is rejected with a description of what was found."""
    with pytest.raises(InvalidAudioError, match=needle):
        sniffed(data)


def _ogg_page(packet: bytes) -> bytes:
    header = b"OggS\x00\x02" + bytes(8) + b"\x01\x00\x00\x00" + bytes(8)
    return header + bytes([1, len(packet)]) + packet


@pytest.mark.parametrize(
    ("packet", "needle"),
    [
        (b"\x01vorbis" + bytes(22), "Ogg Vorbis"),
        (b"\x7fFLAC" + bytes(30), "Ogg FLAC"),
        (b"Speex   " + bytes(30), "without Opus"),
    ],
)
def test_ogg_without_opus_is_rejected(packet: bytes, needle: str) -> None:
    """Ogg streams of other codecs are refused; only Ogg Opus is accepted."""
    with pytest.raises(InvalidAudioError, match=needle):
        sniffed(_ogg_page(packet))


def test_real_ogg_vorbis_header_is_rejected() -> None:
    """An Ogg page whose first packet is a Vorbis header is not Opus."""
    opus = (AUDIO / "hello.ogg").read_bytes()
    vorbis = opus.replace(b"OpusHead", b"\x01vorbis\x00", 1)
    with pytest.raises(InvalidAudioError, match="Ogg Vorbis"):
        sniffed(vorbis)


def test_random_bytes_with_a_frame_sync_are_not_mp3() -> None:
    """One MPEG sync pattern followed by garbage is not taken for an MP3."""
    frame = b"\xff\xfb\x90\x64"  # MPEG-1 Layer III 128 kbit/s 44.1 kHz: 417-byte frames
    with pytest.raises(InvalidAudioError, match="MPEG frame header not followed"):
        sniffed(frame + bytes(1000))


def _mp3_frames(count: int) -> bytes:
    # MPEG-1 Layer III, 32 kbit/s, 32 kHz, mono: 144-byte frames.
    header = b"\xff\xfb\x18\xc4"
    return (header + bytes(140)) * count


def test_mp3_without_id3_tag_is_detected() -> None:
    """Raw MPEG frames without an ID3 tag are MP3."""
    info = sniffed(_mp3_frames(50))
    assert info.format == "mp3"
    assert info.sample_rate == 32000
    assert info.channels == 1


def test_mp3_after_a_big_id3_tag_is_detected() -> None:
    """The first frame is found after an ID3 tag longer than the sniffed head."""
    tag_size = 100_000
    syncsafe = bytes((tag_size >> s) & 0x7F for s in (21, 14, 7, 0))
    data = b"ID3\x04\x00\x00" + syncsafe + bytes(tag_size) + _mp3_frames(20)
    assert sniffed(data).format == "mp3"


def test_id3_tag_without_frames_is_rejected() -> None:
    """An ID3 tag followed by no MPEG frame is not audio."""
    with pytest.raises(InvalidAudioError, match="unrecognized"):
        sniffed(b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10) + b"plain text" * 10)


def test_single_frame_mp3_ending_the_file_is_accepted() -> None:
    """A one-frame MP3 is accepted: there is no next frame to check."""
    assert sniffed(_mp3_frames(1)).format == "mp3"


def test_mp3_next_frame_read_beyond_the_head() -> None:
    """The second frame is read from the file when the first ends past the sniffed head."""
    data = b"ID3\x04\x00\x00" + bytes((0, 3, 127, 118)) + bytes(65_526) + _mp3_frames(3)
    assert sniffed(data).format == "mp3"


def test_wav_with_chunks_before_data_and_streamed_size() -> None:
    """A WAV with a LIST chunk past the head and a 0xFFFFFFFF data size is measured by size."""
    pcm = bytes(32000)
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    filler = b"LIST" + struct.pack("<I", 70001) + bytes(70001) + b"\x00"  # odd size: padded
    data = b"RIFF\xff\xff\xff\xffWAVE" + fmt + filler + b"data\xff\xff\xff\xff" + pcm
    info = sniffed(data)
    assert (info.format, info.duration_ms, info.bits) == ("wav", 1000, 16)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"RIFF\x00\x00\x00\x00WAVE", "without a 'data' chunk"),
        (b"RIFF\x00\x00\x00\x00WAVEdata\x04\x00\x00\x00abcd", "before its 'fmt '"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt \x08\x00\x00\x00" + bytes(8), "truncated 'fmt '"),
        (
            b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"
            + struct.pack("<HHIIHH", 1, 1, 0, 0, 2, 16)
            + b"data\x02\x00\x00\x00\x00\x00",
            "invalid 'fmt '",
        ),
    ],
)
def test_broken_wavs_are_rejected(data: bytes, needle: str) -> None:
    """A RIFF/WAVE file without usable fmt and data chunks is refused."""
    with pytest.raises(InvalidAudioError, match=needle):
        sniffed(data)


# --- limits ------------------------------------------------------------------------


def _sparse_wav(path: Path, *, rate: int, width: int, seconds: float, channels: int = 1) -> Path:
    data_size = int(rate * width * channels * seconds)
    block = width * channels
    header = b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVE"
    header += b"fmt " + struct.pack(
        "<IHHIIHH", 16, 1, channels, rate, rate * block, block, 8 * width
    )
    header += b"data" + struct.pack("<I", data_size)
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(len(header) + data_size)  # sparse: no disk, no memory
    return path


def test_empty_input_is_rejected(tmp_path: Path) -> None:
    """Empty bytes and empty files are refused before any traffic."""
    with pytest.raises(InvalidAudioError, match="empty"):
        prepare_audio(b"", {})
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InvalidAudioError, match=r"empty\.wav.*empty"):
        prepare_audio(str(empty), {})


def test_over_100_mib_is_rejected(tmp_path: Path) -> None:
    """A file over 100 MiB is refused with its size and the limit."""
    path = tmp_path / "big.wav"
    with open(path, "wb") as f:
        f.truncate(MAX_AUDIO_BYTES + 1)
    with pytest.raises(InvalidAudioError, match=r"104857601 bytes.*at most 100 MiB"):
        prepare_audio(path, {})


def test_exactly_100_mib_is_accepted(tmp_path: Path) -> None:
    """100 MiB exactly (header included) is within the limit."""
    path = _sparse_wav(
        tmp_path / "edge.wav", rate=16000, width=2, seconds=(MAX_AUDIO_BYTES - 44) / 32000
    )
    prepared = prepare_audio(path, {})
    assert prepared.source is not None
    assert prepared.source.size == MAX_AUDIO_BYTES
    prepared.source.close()


def test_wav_over_two_hours_is_rejected(tmp_path: Path) -> None:
    """A WAV longer than 2 h (exact, from its header) is refused, naming the duration."""
    path = _sparse_wav(tmp_path / "long.wav", rate=4000, width=2, seconds=7201)
    with pytest.raises(InvalidAudioError, match=r"2:00:01\.000 long \(7201000 ms, wav\)"):
        prepare_audio(path, {})


def test_wav_of_exactly_two_hours_is_accepted(tmp_path: Path) -> None:
    """Exactly 2 h is allowed."""
    path = _sparse_wav(tmp_path / "two.wav", rate=4000, width=2, seconds=7200)
    prepared = prepare_audio(path, {})
    assert prepared.info is not None
    assert prepared.info.duration_ms == 7_200_000


@pytest.mark.parametrize(
    ("width", "channels", "found"),
    [(3, 1, "24-bit with 1 channel"), (2, 6, "16-bit with 6 channel"), (1, 1, "8-bit"),
     (4, 2, "32-bit with 2 channel")],
)  # fmt: skip
def test_wav_outside_16_bit_mono_or_stereo_is_refused(
    tmp_path: Path, width: int, channels: int, found: str
) -> None:
    """A 24-bit, 8-bit or 6-channel WAV is refused before traffic, naming the header values."""
    path = _sparse_wav(tmp_path / "odd.wav", rate=16000, width=width, seconds=1, channels=channels)
    with pytest.raises(InvalidAudioError, match=found) as info:
        prepare_audio(path, {})
    assert "16-bit samples and 1 or 2 channels" in str(info.value)
    with pytest.raises(InvalidAudioError, match=found):
        prepare_audio(path.read_bytes(), {})


def test_six_channel_wav_never_reaches_the_service(tmp_path: Path) -> None:
    """AsrClient.recognize refuses a 6-channel WAV with no request sent."""
    from volcspeech.testing import Emulator

    path = _sparse_wav(tmp_path / "six.wav", rate=16000, width=2, seconds=1, channels=6)
    with Emulator() as emu, emu.asr.client() as asr:
        with pytest.raises(InvalidAudioError, match="6 channel"):
            asr.recognize(str(path))
        assert emu.requests == []


def test_wav_24_bit_made_by_the_wave_module_is_refused() -> None:
    """A real 24-bit stereo WAV (written by the standard library) is refused with its values."""
    data = wav_bytes(bytes(3 * 2 * 160), channels=2, width=3)
    with pytest.raises(InvalidAudioError, match="24-bit with 2 channel"):
        sniffed(data)
    assert sniffed(wav_bytes(bytes(2 * 2 * 160), channels=2)).channels == 2


def test_mp3_over_two_hours_is_rejected(tmp_path: Path) -> None:
    """A long CBR MP3's duration comes from mutagen (headers and file size only)."""
    path = tmp_path / "long.mp3"
    frames = _mp3_frames(200)
    with open(path, "wb") as f:
        f.write(frames)
        f.truncate(4000 * 7300)  # 32 kbit/s = 4000 bytes/s
    with pytest.raises(InvalidAudioError, match=r"mp3\); the flash API accepts at most 2 h"):
        prepare_audio(path, {})


def test_raw_pcm_skips_sniffing_and_uses_declared_parameters() -> None:
    """format='raw' sends headerless PCM as is; its duration uses rate/bits/channel."""
    pcm = bytes(16000 * 2 * 3)
    prepared = prepare_audio(pcm, {"format": "raw", "rate": 16000, "channel": 2})
    assert prepared.fields == {"format": "raw", "rate": 16000, "channel": 2}
    assert prepared.info is not None
    assert prepared.info.duration_ms == 1500


def test_raw_pcm_over_two_hours_uses_documented_defaults(tmp_path: Path) -> None:
    """Without rate/bits/channel, raw PCM is measured at 16 kHz, 16-bit, mono."""
    path = tmp_path / "long.pcm"
    with open(path, "wb") as f:
        f.truncate(32000 * 7201)
    with pytest.raises(InvalidAudioError, match="raw"):
        prepare_audio(path, {"format": "raw"})


# --- format fields -----------------------------------------------------------------


def test_detected_format_and_codec_are_filled_in() -> None:
    """Unset format/codec come from the bytes; other audio fields are kept."""
    ogg = (AUDIO / "hello.ogg").read_bytes()
    assert prepare_audio(ogg, {"language": "en-US"}).fields == {
        "language": "en-US",
        "format": "ogg",
        "codec": "opus",
    }
    assert prepare_audio((AUDIO / "hello.mp3").read_bytes(), {}).fields == {"format": "mp3"}


def test_matching_fields_set_by_the_caller_are_kept() -> None:
    """format='wav', codec='raw' on a WAV are sent as given."""
    wav = (AUDIO / "hello.wav").read_bytes()
    assert prepare_audio(wav, {"format": "wav", "codec": "raw"}).fields == {
        "format": "wav",
        "codec": "raw",
    }


@pytest.mark.parametrize(
    ("name", "fields", "needle"),
    [
        ("hello.wav", {"format": "mp3"}, "format='mp3' but audio bytes is WAV"),
        ("hello.ogg", {"codec": "raw"}, "codec='raw' but audio bytes is opus"),
        ("hello.mp3", {"codec": "opus"}, "codec='opus' but audio bytes is MP3"),
    ],
)
def test_mismatching_fields_are_rejected(name: str, fields: dict[str, Any], needle: str) -> None:
    """A format or codec that contradicts the bytes is refused before any traffic."""
    with pytest.raises(InvalidAudioError, match=needle):
        prepare_audio((AUDIO / name).read_bytes(), fields)


# --- input kinds -------------------------------------------------------------------


def _read_all(source: _audio.AudioSource) -> bytes:
    return b"".join(bytes(c) for c in source.iter_chunks(1000))


def test_path_kinds_are_read(tmp_path: Path) -> None:
    """str and PathLike (also bytes paths) are opened as files."""
    data = (AUDIO / "hello.wav").read_bytes()

    class BytesPath(os.PathLike):  # type: ignore[type-arg]
        def __fspath__(self) -> bytes:
            return os.fsencode(AUDIO / "hello.wav")

    for audio in (str(AUDIO / "hello.wav"), AUDIO / "hello.wav", BytesPath()):
        prepared = prepare_audio(audio, {})
        assert prepared.source is not None
        assert _read_all(prepared.source) == data


def test_buffers_are_used_without_copy() -> None:
    """bytes, bytearray and memoryview (even non-byte formats) are sliced, not copied."""
    data = (AUDIO / "hello.wav").read_bytes()
    for audio in (data, bytearray(data), memoryview(data)):
        prepared = prepare_audio(audio, {})
        assert prepared.source is not None
        assert _read_all(prepared.source) == data
    shorts = memoryview(data[:32000]).cast("h")
    prepared = prepare_audio(shorts, {})
    assert prepared.source is not None
    assert prepared.source.size == 32000


def test_non_contiguous_memoryview_is_accepted() -> None:
    """A strided memoryview is copied once into a contiguous buffer."""
    data = (AUDIO / "hello.wav").read_bytes()
    doubled = bytes(b for byte in data for b in (byte, 0))
    strided = memoryview(doubled)[::2]
    prepared = prepare_audio(strided, {})
    assert prepared.source is not None
    assert _read_all(prepared.source) == data


def test_seekable_file_is_read_from_its_position() -> None:
    """A seekable file object is read from its current position to its end, every time."""
    data = (AUDIO / "hello.wav").read_bytes()
    f = io.BytesIO(b"junk" + data)
    f.seek(4)
    prepared = prepare_audio(f, {})
    assert prepared.source is not None
    assert prepared.source.size == len(data)
    assert _read_all(prepared.source) == data
    assert _read_all(prepared.source) == data  # a second attempt reads it all again


def test_file_without_readinto_is_read() -> None:
    """File-likes with only read/seek/tell work."""
    data = (AUDIO / "hello.wav").read_bytes()

    class Minimal:
        def __init__(self) -> None:
            self._f = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._f.read(n)

        def seek(self, offset: int, whence: int = 0) -> None:  # returns None, like some do
            self._f.seek(offset, whence)

        def tell(self) -> int:
            return self._f.tell()

    prepared = prepare_audio(Minimal(), {})
    assert prepared.source is not None
    assert _read_all(prepared.source) == data


def _pipe_reader(data: bytes) -> Any:
    read_fd, write_fd = os.pipe()

    def write() -> None:
        with os.fdopen(write_fd, "wb") as w:
            w.write(data)

    threading.Thread(target=write, daemon=True).start()
    return os.fdopen(read_fd, "rb")


def test_non_seekable_stream_is_spooled_and_replayable() -> None:
    """A pipe is spooled once, then read again for every attempt; the spool is closed after."""
    data = (AUDIO / "hello.wav").read_bytes()
    with _pipe_reader(data) as pipe:
        prepared = prepare_audio(pipe, {})
    source = prepared.source
    assert isinstance(source, _audio._SpooledSource)
    assert "spooled" in source.description
    assert _read_all(source) == data
    assert _read_all(source) == data
    source.close()
    assert source.fileobj.closed


def test_oversized_stream_is_refused_while_spooling() -> None:
    """Spooling stops as soon as a stream passes 100 MiB."""

    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            self.read_bytes += len(b)
            return len(b)

    stream = Endless()
    with pytest.raises(InvalidAudioError, match="larger than 100 MiB"):
        prepare_audio(io.BufferedReader(stream), {})
    assert stream.read_bytes < MAX_AUDIO_BYTES + 2 * _audio.CHUNK_BYTES + 65536


def test_text_mode_files_are_rejected(tmp_path: Path) -> None:
    """Text-mode file objects are refused with a hint to open with 'rb'."""
    path = tmp_path / "a.txt"
    path.write_text("hello")
    with open(path) as f, pytest.raises(InvalidAudioError, match=r"text mode.*'rb'"):
        prepare_audio(f, {})

    class TextLike:
        def read(self, n: int = -1) -> str:
            return ""

    with pytest.raises(InvalidAudioError, match="text mode"):
        prepare_audio(TextLike(), {})


def test_closed_file_is_rejected() -> None:
    """A closed file object is refused."""
    f = io.BytesIO(b"data")
    f.close()
    with pytest.raises(InvalidAudioError, match="is closed"):
        prepare_audio(f, {})


def test_failing_stream_becomes_invalid_audio() -> None:
    """An OSError while reading the caller's stream is an InvalidAudioError."""

    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            raise OSError(5, "Input/output error")

    with pytest.raises(InvalidAudioError, match=r"could not read.*Input/output error"):
        prepare_audio(Broken(), {})

    class BrokenProbe:
        def read(self, n: int = -1) -> bytes:
            raise OSError("gone")

    with pytest.raises(InvalidAudioError, match="could not read"):
        prepare_audio(BrokenProbe(), {})


def test_file_failing_mid_upload_becomes_invalid_audio() -> None:
    """A seekable file that fails during the upload stops it with InvalidAudioError."""
    data = (AUDIO / "hello.wav").read_bytes()

    class Flaky(io.BytesIO):
        fail = False

        def readinto(self, b: Any) -> int:
            if self.fail:
                raise OSError(5, "Input/output error")
            return super().readinto(b)

    f = Flaky(data)
    prepared = prepare_audio(f, {})
    assert prepared.source is not None
    f.fail = True
    with pytest.raises(InvalidAudioError, match="Input/output error"):
        _read_all(prepared.source)


def test_file_that_shrinks_is_detected(tmp_path: Path) -> None:
    """A file truncated after it was checked fails the upload instead of sending a short body."""
    path = tmp_path / "a.wav"
    path.write_bytes((AUDIO / "hello.wav").read_bytes())
    prepared = prepare_audio(path, {})
    assert prepared.source is not None
    with open(path, "r+b") as f:
        f.truncate(1000)
    with pytest.raises(InvalidAudioError, match="ended after 1000 of 32044 bytes"):
        _read_all(prepared.source)


def test_file_deleted_after_check_is_reported(tmp_path: Path) -> None:
    """A file removed between the check and an attempt is an InvalidAudioError."""
    path = tmp_path / "a.wav"
    path.write_bytes((AUDIO / "hello.wav").read_bytes())
    prepared = prepare_audio(path, {})
    path.unlink()
    assert prepared.source is not None
    with pytest.raises(InvalidAudioError, match="could not open"):
        _read_all(prepared.source)


def test_missing_path_and_directories(tmp_path: Path) -> None:
    """A str that is neither a file nor an http(s) URL is 'no such file'; so are directories."""
    with pytest.raises(InvalidAudioError, match=r"no such file: 'nope.wav'"):
        prepare_audio("nope.wav", {})
    with pytest.raises(InvalidAudioError, match="not a regular file"):
        prepare_audio(str(tmp_path), {})


def test_unreadable_path_is_reported(tmp_path: Path) -> None:
    """A path that cannot be stat-ed (a name too long) is an InvalidAudioError."""
    with pytest.raises(InvalidAudioError, match="could not open"):
        prepare_audio(str(tmp_path / ("x" * 5000)), {})


@pytest.mark.parametrize(
    "url",
    ["https://example.com/a.wav", "http://example.com/a.mp3?sig=1", "HTTPS://EXAMPLE.COM/x"],
)
def test_http_urls_are_sent_not_fetched(url: str) -> None:
    """http(s) URLs become audio.url with the caller's fields; nothing is read."""
    prepared = prepare_audio(url, {"language": "en-US"})
    assert prepared.fields == {"language": "en-US", "url": url}
    assert prepared.source is None


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("ftp://example.com/a.wav", "scheme 'ftp'; allowed: http, https"),
        ("file:///tmp/a.wav", "scheme 'file'; allowed: http, https"),
        ("s3://bucket/key.wav", "scheme 's3'; allowed: http, https"),
        ("https:///a.wav", "no host"),
        ("https://example.com/a b.wav", "whitespace"),
    ],
)
def test_other_urls_are_rejected(url: str, needle: str) -> None:
    """Other schemes, host-less and unencoded URLs are refused naming the allowed schemes."""
    with pytest.raises(InvalidAudioError, match=needle):
        prepare_audio(url, {})


@pytest.mark.parametrize("audio", [123, None, ["a.wav"], 1.5])
def test_unsupported_input_types(audio: Any) -> None:
    """Other types are refused with the list of accepted kinds."""
    with pytest.raises(InvalidAudioError, match="unsupported audio input of type"):
        prepare_audio(audio, {})


# --- the streamed body -------------------------------------------------------------


def test_base64_length() -> None:
    """The announced base64 length matches the encoder's for every remainder."""
    for n in range(10):
        assert base64_length(n) == len(base64.b64encode(bytes(n)))


@pytest.mark.parametrize("size", [1, 2, 3, 1000, _audio.CHUNK_BYTES, _audio.CHUNK_BYTES + 1])
def test_streamed_body_is_valid_json_of_announced_length(size: int) -> None:
    """The chunks concatenate to exactly len(body) bytes of JSON holding the base64 audio."""
    data = os.urandom(size)
    source = _audio._BytesSource(memoryview(data))
    body = StreamedBody(b'{"audio":{"data":"', source, b'"}}')
    chunks = list(body)
    joined = b"".join(chunks)
    assert len(joined) == len(body)
    assert base64.b64decode(json.loads(joined)["audio"]["data"]) == data
    assert "StreamedBody" in repr(body)
    assert b"".join(body) == joined  # iterating again produces it again


def test_streamed_file_chunks_are_multiples_of_three(tmp_path: Path) -> None:
    """File sources encode 3 MiB blocks, so base64 pieces join without inner padding."""
    path = tmp_path / "x.bin"
    data = os.urandom(_audio.CHUNK_BYTES * 2 + 5)
    path.write_bytes(data)
    source = _audio._PathSource(str(path), len(data))
    pieces = list(StreamedBody(b"", source, b""))
    assert [len(p) for p in pieces[1:-1]] == [4 * 1024 * 1024, 4 * 1024 * 1024, 8]
    assert base64.b64decode(b"".join(pieces)) == data


def test_sniffing_reads_only_the_head(tmp_path: Path) -> None:
    """Detecting a WAV's format reads the first 64 KiB, not the file."""
    path = _sparse_wav(tmp_path / "long.wav", rate=16000, width=2, seconds=600)
    reads: list[int] = []

    class Counting(io.FileIO):
        def readinto(self, b: Any) -> int:
            n = super().readinto(b) or 0
            reads.append(n)
            return n

    with Counting(str(path)) as raw:
        window = _audio._Window(raw, 0, path.stat().st_size)
        info = sniff(window, path.stat().st_size)
    assert info.duration_ms == 600_000
    assert sum(reads) <= _audio.SNIFF_BYTES


def test_window_reader_semantics() -> None:
    """The window reader seeks relative to its start and stops at its end."""
    window = _audio._Window(io.BytesIO(b"0123456789"), 2, 5)
    assert window.seekable()
    assert window.readable()
    assert window.read() == b"23456"
    assert window.seek(-2, io.SEEK_END) == 3
    assert window.read(10) == b"56"
    window.seek(1)
    assert window.seek(1, io.SEEK_CUR) == 2
    assert window.tell() == 2
    reader = _audio._MemoryReader(memoryview(b"abcdef"))
    assert reader.seekable()
    assert reader.readable()
    reader.seek(-1, io.SEEK_END)
    assert reader.read() == b"f"
    reader.seek(1)
    reader.seek(2, io.SEEK_CUR)
    assert reader.tell() == 3


def iter_fixture_names() -> Iterator[str]:
    """Names of the fixture files (for a sanity check that they exist)."""
    yield from ("hello.wav", "hello.mp3", "hello.ogg", "hello.flac")


def test_fixtures_exist() -> None:
    """The audio fixtures the tests rely on are present."""
    for name in iter_fixture_names():
        assert (AUDIO / name).is_file()
