"""Detection: the identifiers of a text, as spans with a kind.

Presidio (through :func:`qual_nlp.resources.deid.analyze_texts`) proposes findings from
spaCy's NER, its generic recognisers and :func:`~qual_nlp.deid.patterns.deid_patterns`;
this module makes them fit transcripts: kinds mapped to :data:`~qual_nlp.records.DEID_KINDS`,
weekdays and relative dates dropped, role words, diagnoses, drugs, services and speaker
codes never caught, the project dictionary applied, a name found once caught wherever it
recurs in the document, and overlapping findings merged into one span.

>>> [s.kind for s in detect("Call Dr. Tremblay at 514-555-0199.", "en")]  # doctest: +SKIP
['PERSON', 'PHONE']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from qual_nlp.deid.patterns import MONTHS_EN, MONTHS_FR, NAME, deid_patterns
from qual_nlp.deid.vocabulary import NEVER, TITLES
from qual_nlp.records import DeidTerm

#: Presidio entity → our kind (our own recognisers already use our kinds).
KIND_OF = {
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
    "ORGANIZATION": "ORGANIZATION",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "DATE_TIME": "DATE",
    "PHONE": "PHONE",
    "EMAIL": "EMAIL",
    "HEALTH_ID": "HEALTH_ID",
    "ADDRESS": "ADDRESS",
    "POSTAL_CODE": "POSTAL_CODE",
    "DATE": "DATE",
    "AGE_OVER_89": "AGE_OVER_89",
}
#: Overlapping findings merge; the longest names the kind, then the first of these.
PRIORITY = (
    "EMAIL",
    "HEALTH_ID",
    "POSTAL_CODE",
    "PHONE",
    "ADDRESS",
    "DATE",
    "AGE_OVER_89",
    "ORGANIZATION",
    "PERSON",
    "LOCATION",
)
#: Findings scored below this are dropped.
MIN_SCORE = 0.3
_NER = "SpacyRecognizer"
#: Between findings of one length: patterns and the dictionary, then the NER, then recurrences.
_RANK = {_NER: 1, "recurrence": 2}
_SPECIFIC_DATE = re.compile(
    rf"(?i)\b(?:{MONTHS_EN}|{MONTHS_FR})(?!\w).*\d|\d.*\b(?:{MONTHS_EN}|{MONTHS_FR})(?!\w)"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}"
)
_CODE = re.compile(r"^[A-Z]{1,5}[ -]?\d{0,4}(?:-[A-Z0-9]{1,5})*$")
_NAME_WORD = re.compile(NAME)


@dataclass(frozen=True)
class Span:
    """One identifier in a text: ``text[start:end]`` is of ``kind``."""

    start: int
    end: int
    kind: str
    score: float = 1.0
    source: str = ""


def fold(text: str) -> str:
    """Lower case without accents or extra spaces, for comparing terms.

    >>> fold("  Infirmière   Gestionnaire ")
    'infirmiere gestionnaire'
    """
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.replace("’", "'").casefold().split())


def is_specific_date(text: str) -> bool:
    """A date that points at a day or a month of a year (a birth date, a visit), not a
    weekday, a bare year or "last year".

    >>> is_specific_date("March 14, 2023"), is_specific_date("last year"), is_specific_date("mardi")
    (True, False, False)
    """
    return bool(_SPECIFIC_DATE.search(text))


def detect(text: str, language: str, terms: Sequence[DeidTerm] = ()) -> list[Span]:
    """The identifiers of one text in ``language`` (en or fr)."""
    return next(iter(detect_many([text], language, terms)))


def detect_many(
    texts: Iterable[str], language: str, terms: Sequence[DeidTerm] = ()
) -> Iterator[list[Span]]:
    """The identifiers of each text, in order, through one pass of the spaCy pipeline."""
    from qual_nlp.resources.deid import analyze_texts

    batch = list(texts)
    for text, findings in zip(batch, analyze_texts(batch, language, deid_patterns()), strict=True):
        yield refine(text, findings, terms)


def refine(
    text: str, findings: Iterable[tuple[int, int, str, float, str]], terms: Sequence[DeidTerm] = ()
) -> list[Span]:
    """Raw findings (start, end, entity, score, recogniser) → the spans to keep."""
    never = NEVER | {fold(t.term) for t in terms if t.mode == "never"}
    spans: list[Span] = []
    for start, end, entity, score, source in findings:
        kind = KIND_OF.get(entity)
        if kind is None or score < MIN_SCORE:
            continue
        start, end = _trim(text, start, end, kind)
        if end <= start:
            continue
        surface = text[start:end]
        if kind == "DATE" and not is_specific_date(surface):
            continue
        if source == _NER:
            start, end = _cut(text, start, end)
            if end <= start or not _could_identify(text, start, end, never):
                continue
        if kind in ("PERSON", "LOCATION", "ORGANIZATION") and _is_never(surface, never):
            continue
        spans.append(Span(start, end, kind, score, source))
    spans += _dictionary_spans(text, terms)
    spans += _recurrences(text, spans, never)
    return merge(text, spans)


def _trim(text: str, start: int, end: int, kind: str) -> tuple[int, int]:
    """Strip spaces, punctuation, a possessive and (for names) a leading title or article."""
    names = kind in ("PERSON", "LOCATION", "ORGANIZATION")
    while start < end and not (text[start].isalnum() or (not names and text[start] in "(+")):
        start += 1
    while end > start and not (text[end - 1].isalnum() or text[end - 1] in ".)"):
        end -= 1
    if names:
        if text[start:end].endswith(("'s", "’s")):
            end -= 2
        while end > start and text[end - 1] == ".":
            end -= 1
        words = text[start:end].split(" ")
        while len(words) > 1 and fold(words[0]).strip(".") in TITLES:
            start += len(words[0]) + 1
            words = words[1:]
        head = text[start:end]
        for article in ("l'", "l’", "d'", "d’"):
            if head.lower().startswith(article) and kind == "PERSON":
                start += len(article)
    # a span never ends inside a word
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


def _cut(text: str, start: int, end: int) -> tuple[int, int]:
    """An NER finding never crosses a line, a bracket or a colon (speaker labels,
    headers), nor starts with a timestamp: keep its first part that has letters."""
    for piece in re.finditer(r"[^\n\[\]():]+", text[start:end]):
        inner = piece.group()
        lead = len(inner) - len(inner.lstrip(" 0123456789.-–"))
        if any(c.isalpha() for c in inner[lead:]):
            return _trim(text, start + piece.start() + lead, start + piece.end(), "PERSON")
    return start, start


def _is_never(surface: str, never: frozenset[str] | set[str]) -> bool:
    folded = fold(surface)
    if folded in never:
        return True
    words = [w.strip(".,;:'’()") for w in surface.split()]
    return all(
        not w or fold(w) in never or fold(w) in TITLES or _CODE.match(w) is not None for w in words
    )


def _sentence_initial(text: str, start: int) -> bool:
    before = text[max(0, start - 40) : start].rstrip(' \t"“«')
    if before.endswith(".") and fold(before.split()[-1]) in TITLES:
        return False  # "Dr. Patel", "M. Roy"
    return not before or before[-1] in "\n.!?:;]…-–—"


def _could_identify(text: str, start: int, end: int, never: frozenset[str] | set[str]) -> bool:
    """Whether an NER finding could be an identifier: capitalised, not a speaker code,
    not a role word or another term that is never caught, and, for a single word that
    opens a sentence ("Sure", "Because"), seen elsewhere inside a sentence too."""
    surface = text[start:end]
    if not any(c.isupper() for c in surface) or _CODE.match(surface):
        return False
    if _is_never(surface, never):
        return False
    if " " not in surface and _sentence_initial(text, start):
        rx = re.compile(rf"(?<![\w-]){re.escape(surface)}(?![\w-])")
        if not any(not _sentence_initial(text, m.start()) for m in rx.finditer(text)):
            return False
    return True


def _dictionary_spans(text: str, terms: Sequence[DeidTerm]) -> list[Span]:
    spans = []
    for term in terms:
        if term.mode != "always" or not term.term.strip():
            continue
        rx = re.compile(rf"(?<![\w-]){re.escape(term.term.strip())}(?![\w-])", re.IGNORECASE)
        spans += [Span(m.start(), m.end(), term.kind, 1.0, "dictionary") for m in rx.finditer(text)]
    return spans


def _recurrences(text: str, spans: list[Span], never: frozenset[str] | set[str]) -> list[Span]:
    """A name found once is caught wherever else it occurs in the text: each word of a
    person's name on its own, places and organisations as a whole."""
    found: list[Span] = []
    words: set[str] = set()
    wholes: dict[str, str] = {}
    for span in spans:
        surface = text[span.start : span.end]
        if span.kind == "PERSON":
            for m in _NAME_WORD.finditer(surface):
                word = m.group()
                if len(word) >= 3 and fold(word) not in never and fold(word) not in TITLES:
                    words.add(word)
        elif span.kind in ("LOCATION", "ORGANIZATION") and len(surface) >= 3:
            wholes[surface] = span.kind
    for word in words:
        rx = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")
        found += [Span(m.start(), m.end(), "PERSON", 0.7, "recurrence") for m in rx.finditer(text)]
    for surface, kind in wholes.items():
        rx = re.compile(rf"(?<![\w-]){re.escape(surface)}(?![\w-])")
        found += [Span(m.start(), m.end(), kind, 0.7, "recurrence") for m in rx.finditer(text)]
    return found


def merge(text: str, spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans become one (the kind of :data:`PRIORITY` wins); two parts of one
    name split by a space become one too."""
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    merged: list[list[Span]] = []
    for span in ordered:
        if merged:
            last = merged[-1]
            end = max(s.end for s in last)
            gap = text[end : span.start]
            joins_name = (
                span.kind == "PERSON"
                and any(s.kind == "PERSON" for s in last)
                and 0 < len(gap) <= 1
                and gap.isspace()
                and "\n" not in gap
            )
            if span.start < end or joins_name:
                last.append(span)
                continue
        merged.append([span])
    out = []
    for group in merged:
        # the longest finding names the kind; on a tie a pattern beats the NER (see _RANK)
        best = min(
            group,
            key=lambda s: (-(s.end - s.start), _RANK.get(s.source, 0), PRIORITY.index(s.kind)),
        )
        kind = best.kind
        out.append(
            Span(
                min(s.start for s in group),
                max(s.end for s in group),
                kind,
                max(s.score for s in group),
                best.source,
            )
        )
    return out
