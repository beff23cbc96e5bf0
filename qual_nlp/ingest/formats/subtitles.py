"""Subtitle transcripts: WebVTT (.vtt) and SubRip (.srt), read with webvtt-py.

Who speaks a cue comes from a ``<v Name>`` voice tag, else from a ``Name:``
prefix on the cue text (kept when the label looks like a name, is a known role
or recurs). Cue tags (``<i>``, ``<c.yellow>``, ``<00:00:01.500>``) are dropped
and HTML entities decoded; the line breaks of a cue are display wraps and read
as spaces. A cue whose lines start with ``- `` holds a dialogue: each dash line
is an utterance of its own.

Consecutive cues of the same speaker merge into one turn whose ``timestamp`` is
the first cue's start and ``end_timestamp`` the last cue's end. Consecutive
cues *without* a speaker also merge with each other (automatic captions give
one turn per pause-free stretch instead of one per two-second cue); they never
inherit the speaker of the cue before them. Dialogue-dash utterances mark a
change of speaker, so they never merge.

The text is rendered one turn per paragraph, readable in any QDA tool::

    [00:00:01 - 00:00:09] Dr. Tremblay: text of cue 1 text of cue 2

and each turn's span covers only the words after the label.
"""

from __future__ import annotations

import html
import io
import unicodedata
from collections import Counter
from dataclasses import dataclass

from qual_nlp.errors import ImportFileError
from qual_nlp.ingest.formats._text import decode_text, normalise_text, normalise_timestamp
from qual_nlp.ingest.formats.speakers import NAME, normalise_label, parse_line_prefix
from qual_nlp.records import ParsedDocument, Turn


@dataclass
class _Utterance:
    speaker: str | None
    text: str
    start: str
    end: str
    dialogue: bool = False  # from a "- " dialogue line: never merged


def parse_subtitles(source: str, name: str, data: bytes, *, fmt: str) -> ParsedDocument:
    """Parse the bytes of a .vtt (``fmt="vtt"``) or .srt (``fmt="srt"``) file."""
    raw, encoding, warnings = decode_text(data, source)
    captions = _read_captions(source, normalise_text(raw), fmt)
    utterances = _with_prefix_speakers(_utterances(captions))
    if not utterances:
        raise ImportFileError(
            source,
            f"the {fmt.upper()} file has {len(captions)} cues but none holds any words",
            "Check that the captions were exported with their text",
        )
    text, turns = _render(_merge(utterances))
    return ParsedDocument(
        name=name,
        text=text,
        turns=turns,
        source_format=fmt,
        has_speakers=any(turn.speaker for turn in turns),
        encoding=encoding,
        warnings=warnings,
    )


def _read_captions(source: str, text: str, fmt: str) -> list[object]:
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    no_cues = ImportFileError(
        source,
        f"the {fmt.upper()} file has no cues (no '00:00:01.000 --> 00:00:04.000' timing lines "
        "followed by text)",
        "Export the captions again from the recording or transcription software",
    )
    try:
        if fmt == "vtt":
            captions = webvtt.WebVTT.from_string(text).captions
        else:
            captions = webvtt.WebVTT.from_buffer(io.StringIO(text), format="srt").captions
    except MalformedCaptionError as exc:
        raise ImportFileError(
            source,
            f"a cue of the {fmt.upper()} file has an invalid timing or setting ({exc})",
            "Fix the timing line (HH:MM:SS.mmm --> HH:MM:SS.mmm) or export the captions again",
        ) from exc
    except MalformedFileError as exc:
        if fmt == "vtt" and not text.lstrip().startswith("WEBVTT"):
            first = text.strip().split("\n", 1)[0][:40]
            raise ImportFileError(
                source,
                f"expected a WebVTT file whose first line is 'WEBVTT' but found {first!r}",
                "Check the file type: an .srt file should be named .srt; "
                "otherwise export the captions again as WebVTT",
            ) from exc
        raise no_cues from exc
    if not captions:
        raise no_cues
    return list(captions)


def _clean(line: str) -> str:
    return " ".join(unicodedata.normalize("NFC", html.unescape(line)).split())


def _utterances(captions: list[object]) -> list[_Utterance]:
    found: list[_Utterance] = []
    for caption in captions:
        start = normalise_timestamp(caption.start) or "00:00:00"  # type: ignore[attr-defined]
        end = normalise_timestamp(caption.end) or start  # type: ignore[attr-defined]
        lines = [_clean(line) for line in caption.text.split("\n")]  # type: ignore[attr-defined]
        lines = [line for line in lines if line]
        if not lines:
            continue
        voice = caption.voice  # type: ignore[attr-defined]
        dashed = [line for line in lines if line.startswith(("- ", "– ", "-\u00a0"))]
        if voice:
            found.append(_Utterance(normalise_label(voice), " ".join(lines), start, end))
        elif len(dashed) >= 2:
            parts: list[list[str]] = []
            for line in lines:
                if line in dashed or not parts:
                    parts.append([line[2:].strip() if line in dashed else line])
                else:
                    parts[-1].append(line)
            found.extend(
                _Utterance(None, " ".join(part), start, end, dialogue=True) for part in parts
            )
        else:
            joined = " ".join(lines)
            if len(dashed) == 1 and joined.startswith(dashed[0]):
                joined = joined[2:].strip()
            found.append(_Utterance(None, joined, start, end))
    return [u for u in found if u.text]


def _with_prefix_speakers(utterances: list[_Utterance]) -> list[_Utterance]:
    """Take ``Name:`` prefixes as speakers when they look like names, known roles or recur."""
    prefixes = [parse_line_prefix(u.text) if u.speaker is None else None for u in utterances]
    counts = Counter(p.label for p in prefixes if p is not None and p.label)
    strength = {p.label: p.strength for p in prefixes if p is not None and p.label}
    for utterance, prefix in zip(utterances, prefixes, strict=True):
        if prefix is None or prefix.label is None:
            continue
        if counts[prefix.label] >= 2 or strength[prefix.label] >= NAME:
            words = utterance.text[prefix.content_start :].strip()
            if words:
                utterance.speaker, utterance.text = prefix.label, words
    return utterances


def _merge(utterances: list[_Utterance]) -> list[_Utterance]:
    merged: list[_Utterance] = []
    for utterance in utterances:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.speaker == utterance.speaker
            and not previous.dialogue
            and not utterance.dialogue
        ):
            previous.text = f"{previous.text} {utterance.text}"
            previous.end = utterance.end
        else:
            merged.append(_Utterance(**vars(utterance)))
    return merged


def _render(utterances: list[_Utterance]) -> tuple[str, tuple[Turn, ...]]:
    parts: list[str] = []
    turns: list[Turn] = []
    offset = 0
    for utterance in utterances:
        head = f"[{utterance.start} - {utterance.end}] "
        if utterance.speaker:
            head += f"{utterance.speaker}: "
        start = offset + len(head)
        turns.append(
            Turn(
                start=start,
                end=start + len(utterance.text),
                speaker=utterance.speaker,
                timestamp=utterance.start,
                end_timestamp=utterance.end,
            )
        )
        block = head + utterance.text
        parts.append(block)
        offset += len(block) + 2
    return "\n\n".join(parts), tuple(turns)
