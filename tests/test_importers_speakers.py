"""Speaker labels, timestamps and text normalisation helpers of the importers."""

from __future__ import annotations

import pytest

from qual_nlp.errors import ImportFileError
from qual_nlp.ingest.formats._text import decode_text, normalise_text, normalise_timestamp
from qual_nlp.ingest.formats.speakers import (
    is_interviewer_label,
    label_strength,
    normalise_label,
    parse_line_prefix,
    trailing_timestamp,
)


@pytest.mark.parametrize(
    "label",
    [
        "Interviewer",
        "INT",
        "Int.",
        "I",
        "I:",
        "Q",
        "Moderator",
        "Facilitator",
        "Researcher",
        "Interviewer 2",
        "Interviewer (MG)",
        "**Interviewer:**",
        "[Moderator]",
        "Animatrice",
    ],
)
def test_interviewer_labels_are_recognised(label: str) -> None:
    assert is_interviewer_label(label)


@pytest.mark.parametrize(
    "label", ["P07", "NCM", "Dr. Tremblay", "Interviewee", "R", "Participant 3", "Ingrid"]
)
def test_participant_labels_are_not_interviewers(label: str) -> None:
    assert not is_interviewer_label(label)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("**Dr.  Tremblay:**", "Dr. Tremblay"),
        ("[MARIE-HÉLÈNE]:", "MARIE-HÉLÈNE"),
        ("  Participant   3 : ", "Participant 3"),
        ("__NCM__", "NCM"),
        ("[Hélène Gagné]", "Hélène Gagné"),
    ],
)
def test_normalise_label_strips_markup_and_keeps_accents_and_case(raw: str, expected: str) -> None:
    assert normalise_label(raw) == expected


@pytest.mark.parametrize(
    ("line", "label", "timestamp", "content"),
    [
        ("Interviewer: How did it start?", "Interviewer", None, "How did it start?"),
        ("P07: After my third visit.", "P07", None, "After my third visit."),
        ("NCM: We call every week.", "NCM", None, "We call every week."),
        ("Dr. Tremblay: I refer them.", "Dr. Tremblay", None, "I refer them."),
        ("INT: Merci.", "INT", None, "Merci."),
        ("I: And then?", "I", None, "And then?"),
        ("R: Then nothing.", "R", None, "Then nothing."),
        ("Participant 3: At reception.", "Participant 3", None, "At reception."),
        ("[Marie] So I called.", "Marie", None, "So I called."),
        ("[Marie]: So I called.", "Marie", None, "So I called."),
        ("MARIE-HÉLÈNE: Oui.", "MARIE-HÉLÈNE", None, "Oui."),
        ("**NCM:** Yes.", "NCM", None, "Yes."),
        ("**NCM**: Yes.", "NCM", None, "Yes."),
        ("NCM\tWe call them.", "NCM", None, "We call them."),
        ("[00:12:31] Interviewer: Why?", "Interviewer", "00:12:31", "Why?"),
        ("(14:02) P07: Because.", "P07", "00:14:02", "Because."),
        ("00:12:31 NCM: Yes.", "NCM", "00:12:31", "Yes."),
        ("[12:31] NCM: Yes.", "NCM", "00:12:31", "Yes."),
        ("00:12:31.500 NCM: Yes.", "NCM", "00:12:31", "Yes."),
        ("Interviewer: [01:02:03] Go on.", "Interviewer", "01:02:03", "Go on."),
        ("Speaker 1 (00:01:02): Yes.", "Speaker 1", "00:01:02", "Yes."),
        ("Speaker 1  0:03", "Speaker 1", "00:00:03", ""),
    ],
)
def test_line_prefix_reads_transcriber_conventions(
    line: str, label: str, timestamp: str | None, content: str
) -> None:
    prefix = parse_line_prefix(line)
    assert prefix is not None
    assert (prefix.label, prefix.timestamp, line[prefix.content_start :]) == (
        label,
        timestamp,
        content,
    )


@pytest.mark.parametrize(
    "line",
    [
        "Note: the clinic was closed",
        "Time: 10am",
        "The nurse said: call me tomorrow",
        "We discussed three things: access, cost and trust.",
        "[laughs] yes, every Monday",
        "[inaudible] the pharmacy",
        "See https://example.org: the form",
        "10:30am arrived at the clinic",
        "A sentence that is far too long to be a label here: and more",
    ],
)
def test_prose_lines_are_not_speaker_lines(line: str) -> None:
    prefix = parse_line_prefix(line)
    assert prefix is None or prefix.label is None


def test_range_timestamp_gives_start_and_end() -> None:
    prefix = parse_line_prefix("[00:00:01 - 00:00:09] Dr. Tremblay: Yes.")
    assert prefix is not None
    assert (prefix.timestamp, prefix.end_timestamp) == ("00:00:01", "00:00:09")


def test_single_capitalised_word_is_weaker_than_a_name() -> None:
    assert label_strength("Basically") < label_strength("Dr. Tremblay") < label_strength("P07")


def test_trailing_bracketed_timestamp_is_found_but_bare_clock_time_is_prose() -> None:
    assert trailing_timestamp("we called the pharmacy (14:02)") == ("00:14:02", None, 22)
    assert trailing_timestamp("we met at 10:30")[0] is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12:31", "00:12:31"),
        ("1:02:03.500", "01:02:03"),
        ("00:12:31,5", "00:12:31"),
        ("75:10", "01:15:10"),
        ("12:75", None),
        ("noon", None),
    ],
)
def test_timestamps_normalise_to_hh_mm_ss(raw: str, expected: str | None) -> None:
    assert normalise_timestamp(raw) == expected


def test_normalise_text_removes_bom_line_ends_and_decomposed_accents() -> None:
    assert normalise_text("\ufeffHe\u0301le\u0300ne\r\nGagne\u0301\rok") == "Hélène\nGagné\nok"


def test_utf8_with_bom_is_decoded_without_warning() -> None:
    text, encoding, warnings = decode_text("\ufeffSaint-Jérôme".encode(), "a.txt")
    assert (text, encoding, warnings) == ("Saint-Jérôme", "utf-8-sig", ())


def test_utf16_with_bom_is_decoded() -> None:
    text, encoding, _ = decode_text("NCM: Hélène".encode("utf-16"), "a.txt")
    assert (text, encoding) == ("NCM: Hélène", "utf-16")


def test_cp1252_fallback_names_the_encoding_in_a_warning() -> None:
    text, encoding, warnings = decode_text("Hélène Gagné’s".encode("cp1252"), "P07.txt")
    assert text == "Hélène Gagné’s"
    assert encoding == "cp1252"
    assert "cp1252" in warnings[0] and "P07.txt" in warnings[0]


def test_latin1_fallback_for_bytes_cp1252_leaves_undefined() -> None:
    data = "Saint-Jérôme ".encode("latin-1") * 200 + b"\x81"
    _, encoding, warnings = decode_text(data, "notes.txt")
    assert encoding == "latin-1"
    assert "latin-1" in warnings[0]


def test_control_character_soup_is_undecodable() -> None:
    data = bytes(range(1, 9)) * 50 + bytes(range(0x80, 0xA0)) * 20
    with pytest.raises(ImportFileError, match="do not decode to readable text"):
        decode_text(data, "garbled.txt")
