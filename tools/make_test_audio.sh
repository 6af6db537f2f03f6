#!/usr/bin/env bash
# Regenerate the small ASR test fixtures in tests/fixtures/audio/.
#
# Requires espeak-ng, sox and ffmpeg (Debian: apt-get install espeak-ng sox ffmpeg).
# Tested with eSpeak NG 1.51, SoX 14.4.2, ffmpeg 5.1. Encoder output may differ
# byte-for-byte with other versions; durations are documented in the README.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=tests/fixtures/audio
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
BITEXACT=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact)

# hello.wav: "hello world", 16 kHz mono s16le, speech trimmed (0.5% threshold)
# and padded with 139 ms of exact zeros on each side -> exactly 1000 ms.
espeak-ng -v en-us -w "$TMP/raw.wav" "hello world"
sox -D "$TMP/raw.wav" -r 16000 -c 1 -b 16 -e signed-integer "$TMP/trim.wav" \
    silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse
len=$(soxi -s "$TMP/trim.wav")
pad=$(( (16000 - len) / 2 ))
sox -D "$TMP/trim.wav" "$OUT/hello.wav" pad "${pad}s" "$(( 16000 - len - pad ))s"

# hello.mp3: MP3 (libmp3lame), 16 kHz mono, 32 kbit/s CBR.
"${FF[@]}" -i "$OUT/hello.wav" -ar 16000 -ac 1 -c:a libmp3lame -b:a 32k "${BITEXACT[@]}" \
    "$OUT/hello.mp3"

# hello.ogg: Ogg Opus (libopus), 16 kHz mono input, 24 kbit/s.
"${FF[@]}" -i "$OUT/hello.wav" -ar 16000 -ac 1 -c:a libopus -b:a 24k "${BITEXACT[@]}" \
    "$OUT/hello.ogg"

# hello.flac: FLAC (unsupported by the flash ASR API; used to test rejection).
"${FF[@]}" -i "$OUT/hello.wav" -c:a flac "${BITEXACT[@]}" "$OUT/hello.flac"

# hello_8k.wav: same speech resampled to 8 kHz mono s16le (8000 samples).
sox -D "$OUT/hello.wav" -r 8000 "$OUT/hello_8k.wav"

# stereo.wav: same speech duplicated on 2 channels, 16 kHz s16le.
sox -D "$OUT/hello.wav" -c 2 "$OUT/stereo.wav"

# silence.wav: 1 s (16000 samples) of exact zeros, 16 kHz mono s16le.
sox -D -r 16000 -c 1 -n -b 16 -e signed-integer "$OUT/silence.wav" trim 0 16000s

for f in "$OUT"/*.wav "$OUT"/*.mp3 "$OUT"/*.ogg "$OUT"/*.flac; do
    printf '%-32s %7s bytes  ' "$f" "$(stat -c %s "$f")"
    ffprobe -v error -show_entries stream=codec_name,sample_rate,channels:format=duration \
        -of compact=p=0:nk=1 "$f" | tr '\n' ' '
    echo
done
