"""How results look: one-line previews and the notebook table of a transcript."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._results import Transcript

__all__ = ["clock", "count", "preview", "transcript_html"]

#: Characters of text a ``repr`` shows before cutting it short with "...".
_REPR_TEXT = 60
#: Utterances the notebook table shows before "... and N more".
_HTML_ROWS = 200


def preview(text: str, limit: int = _REPR_TEXT) -> str:
    """``text``, cut to ``limit`` characters with "..." when longer."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def count(n: int, noun: str) -> str:
    """``"1 word"``, ``"2 words"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def clock(ms: int | None) -> str:
    """``m:ss.mmm`` (or ``h:mm:ss.mmm``) for a notebook table."""
    if ms is None:
        return ""
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"
    return f"{sign}{minutes}:{seconds:02d}.{millis:03d}"


def transcript_html(transcript: Transcript) -> str:
    """A compact table of the transcript's utterances (times, speakers, text), escaped."""
    e = html.escape
    facts = [
        count(len(transcript.utterances), "utterance"),
        count(sum(len(u.words) for u in transcript.utterances), "word"),
    ]
    if transcript.duration_ms is not None:
        facts.append(f"{clock(transcript.duration_ms)} audio")
    if transcript.silent:
        facts.append("silent")
    for name, value in (("log_id", transcript.log_id), ("request_id", transcript.request_id)):
        if value:
            facts.append(f"{name} <code>{e(value)}</code>")
    out = [f"<div><p><b>Transcript</b>: {' · '.join(facts)}</p>"]
    if not transcript.utterances:
        if transcript.text:
            out.append(f"<p>{e(preview(transcript.text, 500))}</p>")
        return "".join(out) + "</div>"
    speakers = any(u.speaker is not None for u in transcript.utterances)
    head = ["#", "start", "end", *(["speaker"] if speakers else []), "text"]
    out.append("<table><thead><tr>")
    out += [f'<th style="text-align:left">{h}</th>' for h in head]
    out.append("</tr></thead><tbody>")
    for i, u in enumerate(transcript.utterances[:_HTML_ROWS]):
        cells = [str(i), clock(u.start_time), clock(u.end_time)]
        if speakers:
            cells.append(u.speaker or "")
        cells.append(u.text)
        out.append(
            "<tr>" + "".join(f'<td style="text-align:left">{e(c)}</td>' for c in cells) + "</tr>"
        )
    out.append("</tbody></table>")
    if len(transcript.utterances) > _HTML_ROWS:
        out.append(f"<p>... and {len(transcript.utterances) - _HTML_ROWS} more utterances</p>")
    return "".join(out) + "</div>"
