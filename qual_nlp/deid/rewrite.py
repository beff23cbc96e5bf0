"""The de-identified text and the map from original offsets to its offsets.

Each replaced span becomes its label; offsets outside replaced spans shift by what the
replacements before them added or removed, and a passage that starts or ends inside a
replaced span takes the whole label. So for any coded passage ``(start, end)``,
``rewritten.text[slice(*rewritten.map_span(start, end))]`` is the pseudonymised passage.

>>> r = rewrite("Call Marie at 5.", [(5, 10, "[PERSON-1]")])
>>> r.text, r.map_span(0, 10), r.map_span(11, 16)
('Call [PERSON-1] at 5.', (0, 15), (16, 21))
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from qual_nlp.errors import ValidationError


@dataclass(frozen=True)
class Rewritten:
    """A text with its replacements applied (``(start, end, label)`` in original offsets)."""

    original_length: int
    text: str
    replacements: tuple[tuple[int, int, str], ...]
    _starts: tuple[int, ...]
    _new_starts: tuple[int, ...]

    def map_offset(self, offset: int, *, side: str = "start") -> int:
        """Where an original offset lands; inside a replacement, at its label's start
        (``side="start"``) or end (``side="end"``)."""
        if not 0 <= offset <= self.original_length:
            raise ValidationError(
                f"offset {offset} is outside the text (0..{self.original_length})"
            )
        i = bisect_right(self._starts, offset) - 1
        if i < 0:
            return offset
        start, end, label = self.replacements[i]
        new_start = self._new_starts[i]
        if offset >= end:
            return new_start + len(label) + (offset - end)
        if offset == start:
            return new_start
        return new_start if side == "start" else new_start + len(label)

    def map_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the pseudonymised passage ``original[start:end]``."""
        new_start = self.map_offset(start, side="start")
        new_end = self.map_offset(end, side="end")
        return new_start, max(new_start, new_end)


def rewrite(text: str, replacements: Iterable[tuple[int, int, str]]) -> Rewritten:
    """Apply non-overlapping ``(start, end, label)`` replacements to ``text``."""
    ordered = sorted((int(s), int(e), str(label)) for s, e, label in replacements)
    parts: list[str] = []
    new_starts: list[int] = []
    cursor = 0
    length = 0
    for start, end, label in ordered:
        if start < cursor or end <= start or end > len(text):
            raise ValidationError(
                f"replacement ({start}, {end}) overlaps another or lies outside the text "
                f"(0..{len(text)}); merge overlapping detections first"
            )
        parts.append(text[cursor:start])
        length += start - cursor
        new_starts.append(length)
        parts.append(label)
        length += len(label)
        cursor = end
    parts.append(text[cursor:])
    return Rewritten(
        original_length=len(text),
        text="".join(parts),
        replacements=tuple(ordered),
        _starts=tuple(s for s, _e, _l in ordered),
        _new_starts=tuple(new_starts),
    )
