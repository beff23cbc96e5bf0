"""Segmentation of parsed documents into codable passages."""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from qual_nlp.errors import ValidationError
from qual_nlp.ingest.formats import parse_bytes, parse_file
from qual_nlp.ingest.formats.speakers import _HEADER_LABEL
from qual_nlp.ingest.segment import segment_document, segment_documents
from qual_nlp.records import ParsedDocument, SegmentSpan

FIXTURES = Path(__file__).parent / "fixtures" / "importers"

SENTENCE = "The nurse case manager called the patient after the emergency visit."  # 11 words


def check_offsets(doc: ParsedDocument, segments: list[SegmentSpan]) -> None:
    previous_end = 0
    for span in segments:
        assert doc.text[span.start : span.end] == span.text
        assert span.text and span.text == span.text.strip()
        assert span.start >= previous_end
        previous_end = span.end


def transcript(*turns: str) -> ParsedDocument:
    return parse_bytes("C01.txt", "\n".join(turns).encode())


def test_short_turns_are_one_segment_each_with_speaker_and_time() -> None:
    doc = parse_file(FIXTURES / "C01_interview_NCM_crlf.txt")
    segments = segment_document(doc)
    check_offsets(doc, segments)
    first = next(s for s in segments if s.speaker == "Interviewer")
    assert first.text == "Can you describe how a patient enters the case management program?"
    assert (first.timestamp, first.turn_index) == ("00:00:04", 1)


def test_long_turn_is_cut_into_passages_within_the_limits() -> None:
    doc = transcript("Interviewer: Tell me.", "NCM: " + " ".join([SENTENCE] * 20))
    segments = [
        s for s in segment_document(doc, max_sentences=3, max_words=30) if s.speaker == "NCM"
    ]
    check_offsets(doc, segments)
    assert len(segments) == 10  # 20 sentences of 11 words: two per passage under 30 words
    assert all(len(s.text.split()) <= 30 and s.text.count(".") <= 3 for s in segments)
    assert {(s.speaker, s.turn_index) for s in segments} == {("NCM", 1)}


def test_max_sentences_limits_a_passage() -> None:
    short = "We call them."
    doc = transcript("NCM: " + " ".join([short] * 12))
    segments = segment_document(doc, max_sentences=3, max_words=10)
    assert [s.text.count(".") for s in segments] == [3, 3, 3, 3]


def test_single_over_long_sentence_stays_whole() -> None:
    sentence = " ".join(["care"] * 120) + "."
    doc = transcript("NCM: " + sentence, "Interviewer: OK.")
    segments = segment_document(doc, max_words=80)
    assert segments[0].text == sentence


def test_unpunctuated_caption_text_is_cut_every_max_words_words() -> None:
    words = " ".join(["so", "the", "nurse", "calls", "every", "week"] * 100)  # 600 words
    doc = transcript("NCM: " + words, "Interviewer: OK.")
    segments = [s for s in segment_document(doc, max_words=50) if s.speaker == "NCM"]
    check_offsets(doc, segments)
    assert [len(s.text.split()) for s in segments] == [50] * 12


def test_tiny_trailing_fragment_joins_the_previous_passage() -> None:
    doc = transcript("NCM: " + " ".join([SENTENCE] * 4) + " Yes.")
    segments = segment_document(doc, max_sentences=2, max_words=30, min_words=5)
    assert [s.text.count(".") for s in segments] == [2, 3]
    assert segments[-1].text.endswith("visit. Yes.")


def test_paragraph_breaks_inside_a_long_turn_are_passage_boundaries() -> None:
    first = " ".join([SENTENCE] * 2)
    second = " ".join([SENTENCE] * 2)
    doc = transcript("NCM: " + first, "", second, "", "Interviewer: Thanks.")
    segments = segment_document(doc, max_sentences=5, max_words=30)
    assert [s.text for s in segments] == [first, second, "Thanks."]


def test_field_note_paragraphs_are_split_like_turns() -> None:
    doc = parse_bytes("notes.md", ("# Visit\n\n" + " ".join([SENTENCE] * 9)).encode())
    segments = segment_document(doc, max_sentences=3, max_words=80)
    assert len(segments) == 3
    assert all(s.speaker is None and s.turn_index == 1 for s in segments)


def test_headings_are_skipped_unless_asked_for() -> None:
    doc = parse_file(FIXTURES / "C02_field_notes.md")
    assert "Morning" not in [s.text for s in segment_document(doc)]
    kept = segment_document(doc, include_headings=True)
    assert "Morning" in [s.text for s in kept]
    check_offsets(doc, kept)


def test_every_fixture_segments_with_exact_offsets() -> None:
    for path in sorted(FIXTURES.iterdir()):
        doc = parse_file(path)
        segments = segment_document(doc, max_words=20)
        check_offsets(doc, segments)
        assert segments, path.name


class _RefusingPipeline:
    """A pipeline that fails if asked for sentences."""

    pipe_names: list[str] = []

    def pipe(self, *args: object, **kwargs: object) -> Iterator[object]:
        raise AssertionError("sentence splitting was run on short turns")


def test_short_turns_never_reach_the_sentence_splitter() -> None:
    doc = parse_file(FIXTURES / "C04_focus_group.txt")
    segments = segment_document(doc, nlp=_RefusingPipeline())
    assert len(segments) == len(doc.turns)


def test_stream_keeps_keys_and_order_and_is_lazy() -> None:
    def documents() -> Iterator[tuple[ParsedDocument, int]]:
        for i in itertools.count():
            yield transcript(f"P{i:02d}: " + " ".join([SENTENCE] * (1 + i % 12))), i

    results = list(itertools.islice(segment_documents(documents(), batch_size=4), 10))
    assert [key for _, key in results] == list(range(10))
    assert all(spans[0].speaker == f"P{key:02d}" for spans, key in results)


def test_invalid_limits_are_refused_with_the_values() -> None:
    with pytest.raises(ValidationError, match="max_words >= 1"):
        list(segment_documents([], max_words=0))


# --------------------------------------------------------------------------
# Property: offsets stay exact on generated transcripts
# --------------------------------------------------------------------------

SPEAKERS = ["Interviewer", "P07", "NCM", "Dr. Tremblay", "MARIE-HÉLÈNE", "Participant 3", "INT"]
WORDS = [
    "care", "plan", "nurse", "clinic", "pharmacist", "emergency", "we", "called", "she",
    "Hélène", "Gagne\u0301", "Saint-Jérôme", "naïve", "café", "visits", "the", "and", "coût",
    "Zoë", "déjà", "follow-up", "GP", "(sic)", "—", "well,", "Mr.", "etc.",
]  # fmt: skip
TIMESTAMPS = {
    "[00:12:31] ": "00:12:31",
    "(14:02) ": "00:14:02",
    "00:12:31 ": "00:12:31",
    "[12:31] ": "00:12:31",
    "00:12:31.500 ": "00:12:31",
    "": None,
}

LABEL_STYLES = ["{}: ", "[{}] ", "[{}]: ", "**{}:** ", "{}:\t"]
TRAILING = {"": None, " [00:20:00]": "00:20:00", " (01:02:03)": "01:02:03"}

sentences = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=25),
    st.sampled_from([".", "?", "!", "...", ""]),
)
lines = st.lists(sentences, min_size=1, max_size=8).map(" ".join)
paragraphs = st.lists(lines, min_size=1, max_size=3)
turns = st.tuples(
    st.sampled_from(SPEAKERS),
    st.sampled_from(LABEL_STYLES),
    st.sampled_from(sorted(TIMESTAMPS)),
    st.lists(paragraphs, min_size=1, max_size=3),
    st.sampled_from(sorted(TRAILING)),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(turns, min_size=1, max_size=10),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
    st.booleans(),
    st.integers(min_value=5, max_value=60),
)
def test_offsets_are_exact_on_generated_transcripts(
    generated: list[tuple[str, str, str, list[list[str]], str]],
    newline: str,
    blank_lines: bool,
    bom: bool,
    max_words: int,
) -> None:
    """Random speakers, label styles, timestamps, line ends, accents and long turns.

    The first speaker is the interviewer, so answers may run over several paragraphs.
    """
    generated = [("Interviewer", *generated[0][1:]), *generated[1:]]
    separator = newline * 2 if blank_lines else newline
    utterances = [
        (newline * 2).join(newline.join(para) for para in paras) for _, _, _, paras, _ in generated
    ]

    # A last line of a few words plus a bracketed time ("Saint-Jérôme [00:20:00]") is
    # exactly a "Name [time]" speaker header (Teams, Zoom); such lines are read as headers
    # (after NFC, as the parser reads them: "Gagne\u0301 clinic... [00:20:00]" is one).
    def last_line(words: str, trailing: str) -> str:
        return unicodedata.normalize("NFC", words.replace("\r", "\n").split("\n")[-1] + trailing)

    assume(
        not any(
            trailing and _HEADER_LABEL.match(last_line(words, trailing))
            for (_, _, _, _, trailing), words in zip(generated, utterances, strict=True)
        )
    )
    raw = separator.join(
        f"{stamp}{style.format(speaker)}{words}{trailing}"
        for (speaker, style, stamp, _, trailing), words in zip(generated, utterances, strict=True)
    )
    data = ("\ufeff" if bom else "").encode() + raw.encode("utf-8")
    doc = parse_bytes("generated.txt", data)

    assert [t.speaker for t in doc.turns] == [g[0] for g in generated]
    assert [t.timestamp for t in doc.turns] == [
        TIMESTAMPS[stamp] or TRAILING[trailing] for _, _, stamp, _, trailing in generated
    ]
    assert [t.end_timestamp for t in doc.turns] == [
        TRAILING[trailing] if TIMESTAMPS[stamp] else None for _, _, stamp, _, trailing in generated
    ]
    for turn, words in zip(doc.turns, utterances, strict=True):
        lf = words.replace("\r\n", "\n").replace("\r", "\n")
        expected = unicodedata.normalize("NFC", lf).strip()
        assert doc.text[turn.start : turn.end] == expected

    segments = segment_document(doc, max_words=max_words, max_sentences=3, min_words=3)
    check_offsets(doc, segments)
    for index, turn in enumerate(doc.turns):
        own = [s for s in segments if s.turn_index == index]
        assert all(turn.start <= s.start and s.end <= turn.end for s in own)
        assert all(s.speaker == turn.speaker and s.timestamp == turn.timestamp for s in own)
        covered = " ".join(s.text for s in own).split()
        assert covered == doc.text[turn.start : turn.end].split()
