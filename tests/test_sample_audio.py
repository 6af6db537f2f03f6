"""The sample audio installed with volcspeech.testing."""

from __future__ import annotations

from pathlib import Path

import pytest

from volcspeech.errors import ValidationError
from volcspeech.testing import SAMPLE_AUDIO, sample_audio

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
MAGIC = {".wav": b"RIFF", ".mp3": b"ID3", ".ogg": b"OggS", ".flac": b"fLaC"}


@pytest.mark.parametrize("name", sorted(SAMPLE_AUDIO))
def test_each_sample_is_an_installed_copy_of_the_fixture(name: str) -> None:
    """Each sample is a file inside the package, with its format's magic, equal to the fixture."""
    path = sample_audio(name)
    assert path.is_file()
    assert path.parent.parent.parent.parts[-2:] == ("volcspeech", "testing")
    data = path.read_bytes()
    assert data.startswith(MAGIC[path.suffix])
    assert data == (FIXTURES / name).read_bytes()


def test_default_sample_is_hello_wav() -> None:
    """Without a name, sample_audio gives hello.wav."""
    assert sample_audio() == sample_audio("hello.wav")


@pytest.mark.parametrize("name", ["nope.wav", "../sample_room/ground_truth.json", ""])
def test_unknown_names_are_refused_with_the_allowed_ones(name: str) -> None:
    """A name outside SAMPLE_AUDIO raises ValidationError listing the allowed names."""
    with pytest.raises(ValidationError) as info:
        sample_audio(name)
    assert info.value.field == "name"
    for allowed in SAMPLE_AUDIO:
        assert allowed in str(info.value)
