"""Plain-text and Markdown transcripts and field notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from qual_nlp.ingest.formats import parse_bytes, parse_file
from qual_nlp.records import ParsedDocument

FIXTURES = Path(__file__).parent / "fixtures" / "importers"


def spans(doc: ParsedDocument) -> list[tuple[str | None, str]]:
    return [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns]


def assert_spans_are_clean(doc: ParsedDocument) -> None:
    previous_end = 0
    for turn in doc.turns:
        piece = doc.text[turn.start : turn.end]
        assert piece and piece == piece.strip()
        assert turn.start >= previous_end
        previous_end = turn.end


def test_crlf_transcript_text_has_lf_only_and_offsets_point_into_it() -> None:
    doc = parse_file(FIXTURES / "C01_interview_NCM_crlf.txt")
    assert "\r" not in doc.text
    assert doc.has_speakers
    assert_spans_are_clean(doc)
    assert spans(doc)[1] == (
        "Interviewer",
        "Can you describe how a patient enters the case management program?",
    )


def test_leading_timestamps_are_kept_on_the_turn_and_left_out_of_the_span() -> None:
    doc = parse_file(FIXTURES / "C01_interview_NCM_crlf.txt")
    turn = doc.turns[1]
    assert turn.timestamp == "00:00:04"
    assert "[00:00:04]" not in doc.text[turn.start : turn.end]
    assert doc.text[turn.start - len("Interviewer: ") : turn.start] == "Interviewer: "


def test_continuation_lines_and_paragraphs_stay_in_the_speakers_turn() -> None:
    doc = parse_file(FIXTURES / "C01_interview_NCM_crlf.txt")
    speaker, text = spans(doc)[2]
    assert speaker == "NCM"
    assert text.startswith("Most of them are referred")
    assert "Then I call them to do the needs assessment." in text
    assert text.endswith("three or four calls before they answer.")


def test_trailing_timestamp_of_a_turn_becomes_its_end_time() -> None:
    doc = parse_file(FIXTURES / "C01_interview_NCM_crlf.txt")
    turn = doc.turns[2]
    assert (turn.timestamp, turn.end_timestamp) == ("00:00:11", "00:01:02")
    assert "[00:01:02]" not in doc.text[turn.start : turn.end]


def test_timestamp_alone_on_a_line_starts_a_new_turn_of_the_same_speaker() -> None:
    doc = parse_file(FIXTURES / "C01_interview_NCM_crlf.txt")
    after = next(t for t in doc.turns if t.timestamp == "00:02:30")
    assert after.speaker == "NCM"
    assert doc.text[after.start : after.end].startswith("After that I write the care plan")


def test_title_lines_before_the_first_speaker_are_a_paragraph() -> None:
    doc = parse_file(FIXTURES / "C01_interview_NCM_crlf.txt")
    assert doc.turns[0].kind == "paragraph" and doc.turns[0].speaker is None


def test_cp1252_file_is_decoded_with_a_warning_naming_the_encoding() -> None:
    doc = parse_file(FIXTURES / "C03_interview_P07_cp1252.txt")
    assert doc.encoding == "cp1252"
    assert "Hélène Gagné" in doc.text and "Saint-Jérôme" in doc.text and "didn’t" in doc.text
    assert any("cp1252" in warning for warning in doc.warnings)
    assert [s for s, _ in spans(doc)] == ["INT", "P07"] * 3


def test_markdown_field_notes_have_headings_and_paragraphs_but_no_speakers() -> None:
    doc = parse_file(FIXTURES / "C02_field_notes.md")
    assert not doc.has_speakers
    assert doc.source_format == "md"
    assert [t.kind for t in doc.turns if t.kind == "heading"] == ["heading"] * 3
    assert (
        doc.text[doc.turns[0].start : doc.turns[0].end] == "Field notes - clinic C02, site visit 3"
    )
    assert all(t.speaker is None for t in doc.turns)
    assert any("field notes" in warning for warning in doc.warnings)


def test_note_and_time_lines_stay_prose_in_field_notes() -> None:
    doc = parse_file(FIXTURES / "C02_field_notes.md")
    texts = [text for _, text in spans(doc)]
    assert any(text.startswith("Note: the clinic was closed") for text in texts)
    assert any("Time: 10am" in text for text in texts)


def test_markdown_bold_speaker_labels() -> None:
    doc = parse_file(FIXTURES / "C05_interview_bold.md")
    assert doc.has_speakers
    assert doc.turns[0].kind == "heading"
    assert spans(doc)[1] == ("Interviewer", "How do you decide who gets a care plan first?")
    assert spans(doc)[2][0] == "NCM"
    assert spans(doc)[2][1].startswith("We look at the number of emergency visits")
    assert [s for s, _ in spans(doc)][1:] == ["Interviewer", "NCM"] * 2 + ["Interviewer"]
    assert "**" not in "".join(text for _, text in spans(doc))


def test_focus_group_conventions_brackets_upper_case_titles_and_numbers() -> None:
    doc = parse_file(FIXTURES / "C04_focus_group.txt")
    assert [s for s, _ in spans(doc)] == [
        None,
        "Moderator",
        "MARIE-HÉLÈNE",
        "Dr. Tremblay",
        "Participant 3",
        "Moderator",
        "MARIE-HÉLÈNE",
        "Dr. Tremblay",
    ]
    assert_spans_are_clean(doc)


def test_annotation_in_brackets_is_not_a_speaker() -> None:
    doc = parse_file(FIXTURES / "C04_focus_group.txt")
    tremblay = spans(doc)[3][1]
    assert tremblay.endswith("[laughs] Every Monday, it's the same names.")


def test_trailing_parenthesised_time_is_the_turns_timestamp() -> None:
    doc = parse_file(FIXTURES / "C04_focus_group.txt")
    assert doc.turns[1].timestamp == "00:01:10"
    assert doc.text[doc.turns[1].start : doc.turns[1].end].endswith("to the program?")


def test_label_alone_on_a_line_with_time_takes_the_following_words() -> None:
    data = b"Speaker 1  0:03\nSo tell me about the care plan.\n\nSpeaker 2  0:15\nIt started in March.\n"
    doc = parse_bytes("otter.txt", data)
    assert spans(doc) == [
        ("Speaker 1", "So tell me about the care plan."),
        ("Speaker 2", "It started in March."),
    ]
    assert [t.timestamp for t in doc.turns] == ["00:00:03", "00:00:15"]


def test_a_single_quoted_exchange_does_not_make_field_notes_a_transcript() -> None:
    data = (
        b"Visit to clinic C07.\n\n"
        b"Dr. Tremblay: we need more nurses.\n\n"
        b"The waiting room was calm; three patients waited for blood tests.\n"
    )
    doc = parse_bytes("notes.txt", data)
    assert not doc.has_speakers
    assert [t.kind for t in doc.turns] == ["paragraph"] * 3


def test_mid_line_colons_in_a_transcript_do_not_start_turns() -> None:
    data = (
        b"Interviewer: What did she say?\n"
        b"P07: She told me: go to the clinic, not the emergency.\n"
        b"He said it too: twice.\n"
        b"Interviewer: OK.\n"
    )
    doc = parse_bytes("P07.txt", data)
    assert [s for s, _ in spans(doc)] == ["Interviewer", "P07", "Interviewer"]
    assert spans(doc)[1][1].endswith("He said it too: twice.")


def test_recurring_lower_case_role_label_counts_as_a_speaker() -> None:
    data = b"Case manager: We call.\nPatient: Yes.\nCase manager: Every week.\n"
    doc = parse_bytes("a.txt", data)
    assert [s for s, _ in spans(doc)] == ["Case manager", "Patient", "Case manager"]


def test_speaker_labelled_paragraphs_in_sparse_notes_do_not_swallow_narrative() -> None:
    data = (
        b"The team meeting started late.\n\n"
        b"Observation of the huddle follows.\n\n"
        b"NCM: He came to the ED fourteen times.\n\n"
        b"GP: We need a care plan.\n\n"
        b"After the meeting the GP left for home visits.\n\n"
        b"The pharmacist was not invited.\n"
    )
    doc = parse_bytes("notes.txt", data)
    assert [(t.kind, t.speaker) for t in doc.turns] == [
        ("paragraph", None),
        ("paragraph", None),
        ("turn", "NCM"),
        ("turn", "GP"),
        ("paragraph", None),
        ("paragraph", None),
    ]


def test_decomposed_accents_are_composed_so_offsets_count_characters() -> None:
    doc = parse_bytes("a.txt", "P07: He\u0301le\u0300ne called.\nI: OK.".encode())
    assert spans(doc)[0] == ("P07", "Hélène called.")


@pytest.mark.parametrize("suffix", [".TXT", ".Md"])
def test_suffix_is_case_insensitive(suffix: str) -> None:
    doc = parse_bytes(f"notes{suffix}", b"The room was full.")
    assert doc.turns[0].kind == "paragraph"
