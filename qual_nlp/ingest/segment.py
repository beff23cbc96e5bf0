"""Cut parsed documents into the segments that are coded.

A turn of at most ``max_words`` words is one segment. A longer turn (or field-note
paragraph, or table row) is cut at its blank lines and sentence boundaries into
passages of at most ``max_sentences`` sentences and about ``max_words`` words; a
single sentence longer than that stays whole (unless it runs over
``UNPUNCTUATED_FACTOR * max_words`` words, as unpunctuated automatic transcripts
do: such text is cut every ``max_words`` words), and a trailing (or leading) piece
shorter than ``min_words`` joins its neighbour instead of standing alone.
Sentence boundaries come from :func:`qual_nlp.resources.load_spacy`, run only on
the long turns, streamed through ``nlp.pipe(..., as_tuples=True)``.

Headings are not segments by default (they title the material rather than say
anything to code); pass ``include_headings=True`` to keep one segment per heading.

For every segment ``doc.text[span.start:span.end] == span.text``; spans carry no
leading or trailing whitespace, and come in document order without overlap.

>>> from qual_nlp.ingest.formats import parse_bytes
>>> doc = parse_bytes("C01.txt", b"Interviewer: Why?\\nNCM: Too many ED visits.")
>>> [(s.speaker, s.text) for s in segment_document(doc)]
[('Interviewer', 'Why?'), ('NCM', 'Too many ED visits.')]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from qual_nlp.ingest.formats._text import stripped_span
from qual_nlp.records import ParsedDocument, SegmentSpan, Turn

K = TypeVar("K")

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_WORD = re.compile(r"\S+")

#: A "sentence" over this many times ``max_words`` is text without sentence punctuation
#: (e.g. automatic captions): it is cut every ``max_words`` words instead of kept whole.
UNPUNCTUATED_FACTOR = 4


@dataclass
class _Sentence:
    start: int
    end: int
    words: int
    paragraph_start: bool


@dataclass
class _LongTurn:
    """A turn to cut: its paragraphs, each waiting for its sentences."""

    index: int
    turn: Turn
    paragraphs: list[tuple[int, int]]
    sentences: list[list[tuple[int, int]]] = field(default_factory=list)


@dataclass
class _Plan:
    doc: ParsedDocument
    short: dict[int, Turn]  # turn index -> turn that is one segment
    long: list[_LongTurn]


def _word_count(text: str) -> int:
    return len(text.split())


def _paragraphs(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Blank-line separated paragraphs of ``text[start:end]``, each at most ``max_chars`` long."""
    found: list[tuple[int, int]] = []
    pos = start
    for match in _PARAGRAPH_BREAK.finditer(text, start, end):
        found.append(stripped_span(text, pos, match.start()))
        pos = match.end()
    found.append(stripped_span(text, pos, end))
    chunks: list[tuple[int, int]] = []
    for a, b in found:
        while b - a > max_chars:  # longer than spaCy accepts: cut at a space
            cut = text.rfind(" ", a, a + max_chars)
            cut = cut if cut > a else a + max_chars
            chunks.append(stripped_span(text, a, cut))
            a, _ = stripped_span(text, cut, b)
        chunks.append((a, b))
    return [(a, b) for a, b in chunks if a < b]


def _plan(doc: ParsedDocument, max_words: int, include_headings: bool, max_chars: int) -> _Plan:
    short: dict[int, Turn] = {}
    long: list[_LongTurn] = []
    for index, turn in enumerate(doc.turns):
        if turn.kind == "heading" and not include_headings:
            continue
        start, end = stripped_span(doc.text, turn.start, turn.end)
        if start >= end:
            continue
        if turn.kind == "heading" or _word_count(doc.text[start:end]) <= max_words:
            short[index] = Turn(start, end, turn.speaker, turn.timestamp, turn.end_timestamp)
        else:
            long.append(_LongTurn(index, turn, _paragraphs(doc.text, start, end, max_chars)))
    return _Plan(doc, short, long)


def _pack(
    sentences: list[_Sentence], max_sentences: int, max_words: int, min_words: int
) -> list[tuple[int, int]]:
    """Group sentences greedily into passages; merge passages under ``min_words`` into a neighbour."""
    groups: list[list[_Sentence]] = []
    words = 0
    for sentence in sentences:
        if groups and not (
            sentence.paragraph_start
            or len(groups[-1]) >= max_sentences
            or words + sentence.words > max_words
        ):
            groups[-1].append(sentence)
            words += sentence.words
        else:
            groups.append([sentence])
            words = sentence.words
    sizes = [sum(s.words for s in group) for group in groups]
    i = 0
    while len(groups) > 1 and i < len(groups):
        if sizes[i] >= min_words:
            i += 1
            continue
        j = i - 1 if i > 0 else i + 1  # join the previous passage, or the next for the first
        lo, hi = min(i, j), max(i, j)
        groups[lo : hi + 1] = [groups[lo] + groups[hi]]
        sizes[lo : hi + 1] = [sizes[lo] + sizes[hi]]
        i = lo
    return [(group[0].start, group[-1].end) for group in groups]


def _at_whitespace(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Move sentence boundaries that fall inside a word (``etc. (|sic)``) back to a space.

    A sentence with no space to move back to joins the one before it.
    """
    fixed: list[tuple[int, int]] = []
    for start, end in spans:
        start, end = stripped_span(text, start, end)
        if start >= end:
            continue
        if fixed and start == fixed[-1][1] and not text[start - 1].isspace():
            prev_start, _ = fixed[-1]
            cut = max(text.rfind(" ", prev_start, start), text.rfind("\n", prev_start, start))
            if cut > prev_start:
                fixed[-1] = stripped_span(text, prev_start, cut)
                start, _ = stripped_span(text, cut, end)
            else:
                fixed[-1] = (prev_start, end)
                continue
        fixed.append((start, end))
    return fixed


def _word_chunks(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut ``text[start:end]`` at spaces into pieces of ``size`` words."""
    words = [m.span() for m in _WORD.finditer(text, start, end)]
    return [
        (words[i][0], words[min(i + size, len(words)) - 1][1]) for i in range(0, len(words), size)
    ]


def _sentences(long_turn: _LongTurn, text: str, max_words: int) -> list[_Sentence]:
    found: list[_Sentence] = []
    for (p_start, _), spans in zip(long_turn.paragraphs, long_turn.sentences, strict=True):
        absolute = [(p_start + a, p_start + b) for a, b in spans]
        first = True
        for a, b in _at_whitespace(text, absolute):
            words = _word_count(text[a:b])
            pieces = [(a, b)]
            if words > UNPUNCTUATED_FACTOR * max_words:  # no sentence ends: cut by words
                pieces = _word_chunks(text, a, b, max_words)
            for c, d in pieces:
                found.append(
                    _Sentence(c, d, words if len(pieces) == 1 else _word_count(text[c:d]), first)
                )
                first = False
    return found


def _spans(plan: _Plan, max_sentences: int, max_words: int, min_words: int) -> list[SegmentSpan]:
    text = plan.doc.text
    cuts: list[tuple[int, int, int]] = [(i, t.start, t.end) for i, t in plan.short.items()]
    for long_turn in plan.long:
        sentences = _sentences(long_turn, text, max_words)
        for a, b in _pack(sentences, max_sentences, max_words, min_words):
            cuts.append((long_turn.index, a, b))
    cuts.sort(key=lambda cut: (cut[1], cut[2]))
    turns = plan.doc.turns
    return [
        SegmentSpan(
            start=a,
            end=b,
            text=text[a:b],
            speaker=turns[i].speaker,
            timestamp=turns[i].timestamp,
            turn_index=i,
        )
        for i, a, b in cuts
    ]


def _unneeded_pipes(nlp: Any) -> list[str]:
    """Pipes that sentence splitting does not need (e.g. tagger, lemmatizer, ner)."""
    names = list(nlp.pipe_names)
    if "sentencizer" in names:
        keep = {"sentencizer"}
    elif "senter" in names:
        keep = {"senter", "tok2vec", "transformer"}
    else:
        keep = {"parser", "tok2vec", "transformer"}
    return [name for name in names if name not in keep]


def _fill_sentences(plans: list[_Plan], nlp: Any, batch_size: int) -> None:
    jobs = [
        (plan.doc.text[a:b], (p, t, k))
        for p, plan in enumerate(plans)
        for t, long_turn in enumerate(plan.long)
        for k, (a, b) in enumerate(long_turn.paragraphs)
    ]
    for plan in plans:
        for long_turn in plan.long:
            long_turn.sentences = [[] for _ in long_turn.paragraphs]
    if not jobs:
        return
    stream = nlp.pipe(jobs, as_tuples=True, batch_size=batch_size, disable=_unneeded_pipes(nlp))
    for sdoc, (p, t, k) in stream:
        spans = _joined_punctuation([(s.start_char, s.end_char) for s in sdoc.sents], sdoc.text)
        plans[p].long[t].sentences[k] = spans


def _joined_punctuation(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Join a "sentence" without a letter or digit (an opening « or a lone dash, as a
    statistical sentence splitter sometimes leaves) to the sentence after it.

    >>> _joined_punctuation([(0, 1), (2, 9)], "« Allo. »")
    [(0, 9)]
    """
    out: list[tuple[int, int]] = []
    carry: int | None = None
    for a, b in spans:
        if not any(c.isalnum() for c in text[a:b]):
            carry = a if carry is None else carry
            continue
        out.append((a if carry is None else carry, b))
        carry = None
    if carry is not None:  # trailing punctuation joins the sentence before it
        if out:
            out[-1] = (out[-1][0], spans[-1][1])
        else:
            out.append((carry, spans[-1][1]))
    return out


def segment_documents(
    docs: Iterable[tuple[ParsedDocument, K]],
    *,
    max_sentences: int = 3,
    max_words: int = 80,
    min_words: int = 8,
    batch_size: int = 64,
    nlp: Any = None,
    include_headings: bool = False,
    language: Callable[[K], str | None] | None = None,
) -> Iterator[tuple[list[SegmentSpan], K]]:
    """Segment a stream of parsed documents, carrying a key alongside each (like spaCy's ``as_tuples``).

    Documents are read lazily and yielded in input order, in groups of about
    ``batch_size`` documents or long paragraphs. ``nlp`` is a spaCy pipeline that
    sets sentence boundaries; by default :func:`qual_nlp.resources.load_spacy` for each
    document's language (``language(key)``, an ISO 639-1 code or None for English),
    loaded only if some turn is longer than ``max_words``.

    >>> from qual_nlp.ingest.formats import parse_bytes
    >>> docs = [(parse_bytes("a.txt", b"P07: Yes."), "doc-a")]
    >>> [(len(spans), key) for spans, key in segment_documents(docs)]
    [(1, 'doc-a')]
    """
    if max_sentences < 1 or max_words < 1 or min_words < 0 or batch_size < 1:
        from qual_nlp.errors import ValidationError

        raise ValidationError(
            f"segment_documents: expected max_sentences >= 1, max_words >= 1, min_words >= 0 "
            f"and batch_size >= 1 but got {max_sentences}, {max_words}, {min_words}, "
            f"{batch_size}. Pass positive limits."
        )
    max_chars = int(getattr(nlp, "max_length", 1_000_000)) if nlp is not None else 1_000_000
    pipelines: dict[str, Any] = {} if nlp is None else {_ANY: nlp}
    buffer: list[tuple[_Plan, K]] = []
    pending = 0
    for doc, key in docs:
        plan = _plan(doc, max_words, include_headings, max_chars)
        buffer.append((plan, key))
        pending += sum(len(long_turn.paragraphs) for long_turn in plan.long)
        if pending >= batch_size or len(buffer) >= batch_size:
            _split_sentences(buffer, pipelines, batch_size, language)
            yield from ((_spans(p, max_sentences, max_words, min_words), k) for p, k in buffer)
            buffer, pending = [], 0
    if buffer:
        _split_sentences(buffer, pipelines, batch_size, language)
        yield from ((_spans(p, max_sentences, max_words, min_words), k) for p, k in buffer)


_ANY = "*"  # the key of a pipeline passed in, used for every language


def _split_sentences(
    buffer: list[tuple[_Plan, Any]],
    pipelines: dict[str, Any],
    batch_size: int,
    language: Callable[[Any], str | None] | None,
) -> None:
    """Fill the long turns' sentences, each document through its language's pipeline."""
    from qual_nlp.resources import SENTENCE_PIPELINES

    groups: dict[str, list[_Plan]] = {}
    for plan, key in buffer:
        if not plan.long:
            continue
        wanted = (language(key) if language else None) or "en"
        name = _ANY if _ANY in pipelines else (wanted if wanted in SENTENCE_PIPELINES else "en")
        groups.setdefault(name, []).append(plan)
    for name, plans in groups.items():
        if name not in pipelines:
            from qual_nlp.resources import load_spacy

            pipelines[name] = load_spacy(language=name)
        _fill_sentences(plans, pipelines[name], batch_size)


def segment_document(doc: ParsedDocument, **options: Any) -> list[SegmentSpan]:
    """Segment one parsed document (options as for :func:`segment_documents`).

    >>> from qual_nlp.ingest.formats import parse_bytes
    >>> segment_document(parse_bytes("n.md", b"# Visit\\n\\nThe room was full."))[0].text
    'The room was full.'
    """
    for spans, _ in segment_documents([(doc, None)], **options):
        return spans
    return []  # pragma: no cover - one document in, one out
