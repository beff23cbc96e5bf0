"""Plain-text (.txt) and Markdown (.md) transcripts and field notes.

The document-level rule that tells a transcript from field notes: a line-start
label counts as a speaker when it is a known role (``Interviewer``, ``P07``,
``R``), looks like a name (``Dr. Tremblay``, ``NCM``, ``MARIE-HÉLÈNE``) or recurs;
the document is a transcript when a known role is seen, a speaker recurs,
several speakers are seen, or every paragraph starts with a speaker. Otherwise each blank-line separated paragraph is one
``kind="paragraph"`` turn and ``has_speakers`` is false.

In a transcript, lines without a label continue the current turn. After a blank
line they still do (long answers split into paragraphs) when there is an
interviewer or moderator, or at least 40% of paragraphs start with a speaker; in
documents where labelled lines are the exception (field notes quoting a few
exchanges) the paragraph becomes a turn of its own.
A line holding only a timestamp, or starting with one but no label, starts a
new turn of the same speaker at that time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from qual_nlp.errors import ImportFileError
from qual_nlp.ingest.formats._text import decode_text, normalise_text, stripped_span
from qual_nlp.ingest.formats.speakers import (
    KNOWN,
    NAME,
    LinePrefix,
    is_interviewer_label,
    leading_timestamp,
    parse_line_prefix,
    trailing_timestamp,
)
from qual_nlp.records import ParsedDocument, Turn

_MD_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$")
_MD_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")

#: Share of paragraphs that must start with a speaker for unlabelled paragraphs to continue a turn.
DENSE_TRANSCRIPT_SHARE = 0.4


@dataclass
class _Open:
    """A turn being built."""

    speaker: str | None
    timestamp: str | None = None
    end_timestamp: str | None = None
    start: int = -1
    end: int = -1


def parse_txt(source: str, name: str, data: bytes, *, markdown: bool = False) -> ParsedDocument:
    """Parse the bytes of a .txt or .md file (see :func:`qual_nlp.ingest.formats.parse_bytes`)."""
    raw, encoding, warnings = decode_text(data, source)
    text = normalise_text(raw)
    turns, has_speakers = build_turns(text, markdown=markdown)
    if not turns:
        raise ImportFileError(
            source,
            "the file holds no text to code (only heading markers, rules or blank lines)",
            "Check that the right file was exported",
        )
    if not has_speakers:
        warnings += (
            f"{source}: no speaker labels found (such as 'Interviewer:' or 'P07:'); "
            "read as field notes, one passage per paragraph.",
        )
    return ParsedDocument(
        name=name,
        text=text,
        turns=turns,
        source_format="md" if markdown else "txt",
        has_speakers=has_speakers,
        encoding=encoding,
        warnings=warnings,
    )


def _line_bounds(text: str) -> list[tuple[int, int]]:
    bounds = []
    pos = 0
    for line in text.split("\n"):
        bounds.append((pos, pos + len(line)))
        pos += len(line) + 1
    return bounds


def build_turns(
    text: str, *, markdown: bool = False, structure: Mapping[int, str] | None = None
) -> tuple[tuple[Turn, ...], bool]:
    """Find the turns of normalised ``text``: ``(turns, has_speakers)``.

    ``structure`` maps the offset of a line's first character to ``"heading"`` or
    ``"table_row"`` for formats that know it (docx); such lines become one turn
    of that kind. With ``markdown`` lines starting with ``#`` are headings.

    >>> turns, speakers = build_turns("Interviewer: Why?\\nP07: Because.")
    >>> speakers, [(t.speaker, "Interviewer: Why?\\nP07: Because."[t.start:t.end]) for t in turns]
    (True, [('Interviewer', 'Why?'), ('P07', 'Because.')])
    """
    structure = structure or {}
    bounds = _line_bounds(text)
    kinds: list[str] = []
    prefixes: list[LinePrefix | None] = []
    for start, end in bounds:
        line = text[start:end]
        kind = structure.get(start, "")
        if not kind:
            if not line.strip() or (markdown and _MD_RULE.match(line)):
                kind = "blank"
            elif markdown and _MD_HEADING.match(line):
                kind = "heading"
            else:
                kind = "text"
        kinds.append(kind)
        prefixes.append(parse_line_prefix(line) if kind == "text" else None)

    label_only = [
        p is not None and p.label is not None and not text[start + p.content_start : end].strip()
        for (start, end), p in zip(bounds, prefixes, strict=True)
    ]
    speakers, sure = _accepted_speakers(prefixes)
    share = _speaker_share(kinds, prefixes, label_only, speakers) if speakers else 0.0
    if not sure and share < 1.0:
        speakers = frozenset()  # e.g. one quoted exchange in field notes
    dense = bool(speakers) and (
        share >= DENSE_TRANSCRIPT_SHARE or any(is_interviewer_label(s) for s in speakers)
    )
    builder = _TurnBuilder(text, has_speakers=bool(speakers), dense=dense)
    for (start, end), kind, prefix in zip(bounds, kinds, prefixes, strict=True):
        builder.add(start, end, kind, prefix if speakers else None, speakers)
    return builder.finish(), bool(speakers)


def _accepted_speakers(prefixes: list[LinePrefix | None]) -> tuple[frozenset[str], bool]:
    """Labels that count as speakers, and whether they alone make the document a transcript.

    Without that evidence the labels still count when every paragraph starts with one
    (a one-turn transcript).
    """
    counts: Counter[str] = Counter()
    strength: dict[str, int] = {}
    for prefix in prefixes:
        if prefix is not None and prefix.label is not None:
            counts[prefix.label] += 1
            strength[prefix.label] = prefix.strength
    accepted = {label for label, n in counts.items() if n >= 2 or strength[label] >= NAME}
    evidence = (
        len(accepted) >= 2
        or any(counts[label] >= 2 for label in accepted)
        or any(strength[label] >= KNOWN for label in accepted)
    )
    return frozenset(accepted), evidence


def _speaker_share(
    kinds: list[str],
    prefixes: list[LinePrefix | None],
    label_only: list[bool],
    speakers: frozenset[str],
) -> float:
    """Share of paragraphs (blank-line separated blocks) that hold a speaker line.

    A block that is only a speaker label (the words follow in the next paragraph,
    as some Word transcripts are laid out) is not counted.
    """
    counted = speaker_blocks = 0
    block: list[tuple[bool, bool]] = []  # (line is a speaker line, line is only a label)
    for kind, prefix, only in [
        *zip(kinds, prefixes, label_only, strict=True),
        ("blank", None, False),
    ]:
        if kind == "text":
            is_speaker = prefix is not None and prefix.label in speakers
            block.append((is_speaker, is_speaker and only))
            continue
        if block and not (len(block) == 1 and block[0][1]):
            counted += 1
            speaker_blocks += any(is_speaker for is_speaker, _ in block)
        block = []
    return speaker_blocks / counted if counted else 0.0


class _TurnBuilder:
    """Line-by-line state machine that closes turns and checks their spans."""

    def __init__(self, text: str, *, has_speakers: bool, dense: bool) -> None:
        self.text = text
        self.has_speakers = has_speakers
        self.dense = dense
        self.turns: list[Turn] = []
        self.open: _Open | None = None
        self.last_speaker: str | None = None
        self.after_blank = False

    def add(
        self,
        start: int,
        end: int,
        kind: str,
        prefix: LinePrefix | None,
        speakers: frozenset[str],
    ) -> None:
        if kind == "blank":
            self.after_blank = True
            return
        if kind in ("heading", "table_row"):
            self._close()
            self.last_speaker = None
            if kind == "heading" and self.text[start:end].lstrip().startswith("#"):
                match = _MD_HEADING.match(self.text[start:end])
                assert match is not None
                start, end = start + match.start(1), start + match.end(1)
            self._emit(_Open(None, start=start, end=end), kind)
            self.after_blank = False
            return
        self.after_blank, after_blank = False, self.after_blank
        if prefix is not None and prefix.label is not None and prefix.label in speakers:
            self._close()
            self.open = _Open(prefix.label, prefix.timestamp, prefix.end_timestamp)
            self.last_speaker = prefix.label
            self._extend(start + prefix.content_start, end)
            return
        if self.has_speakers:
            timestamp, end_timestamp, pos = leading_timestamp(self.text[start:end])
            if timestamp is not None:
                waiting = self.open is not None and self.open.start < 0
                if waiting and self.open is not None:
                    if self.open.timestamp is None:
                        self.open.timestamp, self.open.end_timestamp = timestamp, end_timestamp
                else:
                    self._close()
                    self.open = _Open(self.last_speaker, timestamp, end_timestamp)
                self._extend(start + pos, end)
                return
        current = self.open
        continues = current is not None and (
            current.start < 0 or not after_blank or (self.dense and current.speaker is not None)
        )
        if not continues:
            self._close()
            self.open = _Open(None)
            self.last_speaker = None
        self._extend(start, end)

    def _extend(self, start: int, end: int) -> None:
        assert self.open is not None
        start, end = stripped_span(self.text, start, end)
        if start >= end:
            return
        if self.open.start < 0:
            self.open.start = start
        self.open.end = end

    def _close(self) -> None:
        current, self.open = self.open, None
        if current is None or current.start < 0:
            return
        if current.speaker is not None:
            self._take_trailing_timestamp(current)
        self._emit(current, "turn" if current.speaker is not None else "paragraph")

    def _take_trailing_timestamp(self, current: _Open) -> None:
        """Move a bracketed time at the end of the turn out of its span."""
        line_start = max(self.text.rfind("\n", current.start, current.end) + 1, current.start)
        timestamp, end_timestamp, at = trailing_timestamp(self.text[line_start : current.end])
        if timestamp is None:
            return
        start, end = stripped_span(self.text, current.start, line_start + at)
        if start >= end:
            return
        if current.timestamp is None:
            current.timestamp = timestamp
            current.end_timestamp = current.end_timestamp or end_timestamp
        elif current.end_timestamp is None:
            current.end_timestamp = end_timestamp or timestamp
        current.start, current.end = start, end

    def _emit(self, current: _Open, kind: str) -> None:
        start, end = stripped_span(self.text, current.start, current.end)
        if start >= end:
            return
        self.turns.append(
            Turn(
                start=start,
                end=end,
                speaker=current.speaker,
                timestamp=current.timestamp,
                end_timestamp=current.end_timestamp,
                kind=kind,
            )
        )

    def finish(self) -> tuple[Turn, ...]:
        self._close()
        return tuple(self.turns)
