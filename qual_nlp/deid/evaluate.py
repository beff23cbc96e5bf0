"""How well detection removes planted identifiers and spares terms that identify no one.

A corpus is a folder of transcripts plus ``manifest.yaml`` listing, per file, its
language, every planted identifier (string and kind) and terms that must survive (role
words, diagnoses, services). An identifier counts as caught only when every occurrence
of it is gone: each of its *name words* lies inside a detected span (a title such as
"Dr." or a word such as "Hospital" may stay). A term survives when no occurrence of it
is touched by a span.

>>> report = evaluate_corpus("tests/fixtures/deid/test")  # doctest: +SKIP
>>> report.recall_by_kind["PHONE"]                          # doctest: +SKIP
1.0
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qual_nlp.deid.detect import Span, fold
from qual_nlp.errors import ValidationError
from qual_nlp.records import DEID_KINDS

#: Words of an identifier that may stay: titles, generic words of organisations, streets
#: and ages, and the little words between names (folded).
GENERIC_WORDS = frozenset(
    [
        "dr",
        "dre",
        "mr",
        "mrs",
        "ms",
        "miss",
        "nurse",
        "madame",
        "monsieur",
        "mme",
        "m",
        "mlle",
        "docteur",
        "docteure",
        "doctor",
        "infirmiere",
        "infirmier",
        "l",
        "hospital",
        "hopital",
        "clinic",
        "clinique",
        "medicale",
        "medical",
        "pharmacy",
        "pharmacie",
        "centre",
        "center",
        "hospitalier",
        "health",
        "sante",
        "family",
        "familiale",
        "team",
        "regional",
        "regionale",
        "community",
        "society",
        "association",
        "club",
        "coop",
        "cooperative",
        "group",
        "groupe",
        "services",
        "service",
        "and",
        "et",
        "of",
        "the",
        "de",
        "du",
        "des",
        "la",
        "le",
        "les",
        "d",
        "a",
        "au",
        "aux",
        "pour",
        "street",
        "st",
        "rue",
        "road",
        "rd",
        "avenue",
        "ave",
        "boulevard",
        "boul",
        "chemin",
        "lane",
        "drive",
        "route",
        "ouest",
        "est",
        "nord",
        "sud",
        "years",
        "year",
        "old",
        "ans",
        "an",
        "aged",
        "age",
        "agee",
        "age",
    ]
)
_TOKEN = re.compile(r"[\w'’]+")


@dataclass(frozen=True)
class CorpusDocument:
    """One transcript of an evaluation corpus."""

    name: str
    language: str
    text: str
    identifiers: tuple[tuple[str, str], ...]  # (string, kind)
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeidReport:
    """Recall per kind, per language and overall; survival of the terms to keep; misses."""

    recall_by_kind: dict[str, float]
    recall_by_language: dict[str, float]
    recall: float
    survival: float
    counts: dict[str, tuple[int, int]]  # kind -> (caught, planted)
    missed: tuple[tuple[str, str, str], ...] = ()  # (document, string, kind)
    lost: tuple[tuple[str, str], ...] = ()  # (document, term) that did not survive
    by_language_kind: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "recall": round(self.recall, 4),
            "survival": round(self.survival, 4),
            "recall_by_kind": {k: round(v, 4) for k, v in self.recall_by_kind.items()},
            "recall_by_language": {k: round(v, 4) for k, v in self.recall_by_language.items()},
            "by_language_kind": {
                lang: {k: round(v, 4) for k, v in kinds.items()}
                for lang, kinds in self.by_language_kind.items()
            },
            "counts": {k: list(v) for k, v in self.counts.items()},
            "missed": [list(m) for m in self.missed],
            "lost": [list(x) for x in self.lost],
        }


def load_corpus(folder: str | Path) -> list[CorpusDocument]:
    """The documents of a corpus folder (its ``manifest.yaml`` and the files it names)."""
    import yaml

    folder = Path(folder)
    manifest = folder / "manifest.yaml"
    if not manifest.exists():
        raise ValidationError(
            f"{manifest}: no manifest. A corpus folder holds manifest.yaml listing each file "
            "with its language, identifiers ([string, KIND]) and keep terms."
        )
    data = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    docs = []
    for entry in data.get("documents", []):
        path = folder / entry["file"]
        text = path.read_text(encoding="utf-8")
        identifiers = tuple((str(s), str(k)) for s, k in entry.get("identifiers", []))
        for string, kind in identifiers:
            if kind not in DEID_KINDS:
                raise ValidationError(
                    f"{manifest}: {entry['file']}: kind {kind!r} of {string!r} is not one of "
                    f"{', '.join(DEID_KINDS)}."
                )
            if string not in text:
                raise ValidationError(
                    f"{manifest}: {entry['file']}: identifier {string!r} is not in the text. "
                    "Fix the manifest or the transcript."
                )
        keep = tuple(str(k) for k in entry.get("keep", []))
        for term in keep:
            if term not in text:
                raise ValidationError(
                    f"{manifest}: {entry['file']}: keep term {term!r} is not in the text."
                )
        docs.append(CorpusDocument(entry["file"], entry["language"], text, identifiers, keep))
    return docs


def _occurrences(text: str, string: str) -> list[int]:
    rx = re.compile(rf"(?<![\w]){re.escape(string)}(?![\w])")
    return [m.start() for m in rx.finditer(text)]


def is_caught(text: str, start: int, string: str, covered: Sequence[bool]) -> bool:
    """Whether the occurrence of ``string`` at ``start`` is gone: each of its name words
    (every word but :data:`GENERIC_WORDS`; every word when all are generic) is covered."""
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(string)]
    names = [t for t in tokens if fold(t[2]).strip("'’") not in GENERIC_WORDS] or tokens
    return all(all(covered[start + i] for i in range(s, e)) for s, e, _w in names)


def score_document(
    doc: CorpusDocument, spans: Sequence[Span]
) -> tuple[list[tuple[str, str, bool]], list[tuple[str, bool]]]:
    """Per identifier (string, kind, caught) and per keep term (term, survived)."""
    covered = [False] * len(doc.text)
    for span in spans:
        for i in range(span.start, min(span.end, len(doc.text))):
            covered[i] = True
    found = []
    for string, kind in doc.identifiers:
        starts = _occurrences(doc.text, string) or [doc.text.index(string)]
        found.append((string, kind, all(is_caught(doc.text, s, string, covered) for s in starts)))
    kept = []
    for term in doc.keep:
        starts = _occurrences(doc.text, term) or [doc.text.index(term)]
        survived = not any(any(covered[s : s + len(term)]) for s in starts)
        kept.append((term, survived))
    return found, kept


def evaluate(docs: Sequence[CorpusDocument], spans: Sequence[Sequence[Span]]) -> DeidReport:
    """Score detected ``spans`` (one list per document) against the planted identifiers."""
    counts: dict[str, list[int]] = {}
    by_lang: dict[str, list[int]] = {}
    by_lang_kind: dict[str, dict[str, list[int]]] = {}
    missed, lost = [], []
    kept_total = kept_ok = 0
    for doc, doc_spans in zip(docs, spans, strict=True):
        found, kept = score_document(doc, doc_spans)
        for string, kind, caught in found:
            for tally in (
                counts.setdefault(kind, [0, 0]),
                by_lang.setdefault(doc.language, [0, 0]),
                by_lang_kind.setdefault(doc.language, {}).setdefault(kind, [0, 0]),
            ):
                tally[0] += int(caught)
                tally[1] += 1
            if not caught:
                missed.append((doc.name, string, kind))
        for term, survived in kept:
            kept_total += 1
            kept_ok += int(survived)
            if not survived:
                lost.append((doc.name, term))
    total_caught = sum(c for c, _n in counts.values())
    planted = sum(n for _c, n in counts.values())
    return DeidReport(
        recall_by_kind={k: c / n for k, (c, n) in sorted(counts.items())},
        recall_by_language={k: c / n for k, (c, n) in sorted(by_lang.items())},
        recall=total_caught / planted if planted else 1.0,
        survival=kept_ok / kept_total if kept_total else 1.0,
        counts={k: (c, n) for k, (c, n) in sorted(counts.items())},
        missed=tuple(missed),
        lost=tuple(lost),
        by_language_kind={
            lang: {k: c / n for k, (c, n) in sorted(kinds.items())}
            for lang, kinds in sorted(by_lang_kind.items())
        },
    )


def evaluate_corpus(
    folder: str | Path,
    detector: Callable[[Sequence[str], str], Sequence[Sequence[Span]]] | None = None,
) -> DeidReport:
    """Detect identifiers in every document of the corpus at ``folder`` and score them.

    ``detector(texts, language)`` defaults to :func:`qual_nlp.deid.detect.detect_many`.
    """
    from qual_nlp.deid.detect import detect_many

    docs = load_corpus(folder)
    spans: dict[str, list[Span]] = {}
    for language in sorted({d.language for d in docs}):
        group = [d for d in docs if d.language == language]
        texts = [d.text for d in group]
        results = detector(texts, language) if detector else list(detect_many(texts, language))
        spans.update({d.name: list(r) for d, r in zip(group, results, strict=True)})
    return evaluate(docs, [spans[d.name] for d in docs])
