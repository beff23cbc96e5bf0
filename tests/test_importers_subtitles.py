"""WebVTT and SubRip transcripts."""

from __future__ import annotations

from pathlib import Path

from qual_nlp.ingest.formats import parse_bytes, parse_file
from qual_nlp.records import ParsedDocument

FIXTURES = Path(__file__).parent / "fixtures" / "importers"


def spans(doc: ParsedDocument) -> list[tuple[str | None, str]]:
    return [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns]


def test_vtt_voice_tag_cues_of_one_speaker_merge_into_one_turn() -> None:
    doc = parse_file(FIXTURES / "C04_focus_group.vtt")
    first = doc.turns[0]
    assert spans(doc)[0] == (
        "Dr. Tremblay",
        "When I see the same name on the emergency report three times, "
        "I send a referral to the nurse case manager.",
    )
    assert (first.timestamp, first.end_timestamp) == ("00:00:01", "00:00:09")


def test_vtt_name_prefix_cues_merge_and_lose_their_label_and_tags() -> None:
    doc = parse_file(FIXTURES / "C04_focus_group.vtt")
    assert spans(doc)[1] == (
        "NCM",
        "And I call the patient the same week. Usually within three days.",
    )
    assert (doc.turns[1].timestamp, doc.turns[1].end_timestamp) == ("00:00:09", "00:00:15")


def test_vtt_dialogue_dashes_become_separate_turns_without_speaker() -> None:
    doc = parse_file(FIXTURES / "C04_focus_group.vtt")
    assert spans(doc)[2:4] == [(None, "Even for new patients?"), (None, "Yes, even new ones.")]


def test_vtt_voice_class_and_entities_are_handled() -> None:
    doc = parse_file(FIXTURES / "C04_focus_group.vtt")
    assert spans(doc)[-1] == ("Dr. Tremblay", "It goes to the pharmacist & the social worker.")


def test_vtt_rendering_is_readable_with_times_and_names() -> None:
    doc = parse_file(FIXTURES / "C04_focus_group.vtt")
    assert doc.text.startswith("[00:00:01 - 00:00:09] Dr. Tremblay: When I see")
    assert "\r" not in doc.text and "\ufeff" not in doc.text and "<" not in doc.text
    assert doc.encoding == "utf-8-sig" and doc.source_format == "vtt"


def test_vtt_rendering_reimports_as_text_with_the_same_spans_and_times() -> None:
    doc = parse_file(FIXTURES / "C04_focus_group.vtt")
    again = parse_bytes("C04_focus_group.txt", doc.text.encode())
    assert [(t.start, t.end, t.timestamp, t.end_timestamp) for t in again.turns] == [
        (t.start, t.end, t.timestamp, t.end_timestamp) for t in doc.turns
    ]
    # a timed line without a name continues the previous speaker in plain text
    assert [t.speaker for t in again.turns if t.speaker] == [
        "Dr. Tremblay", "NCM", "NCM", "NCM", "Moderator", "Dr. Tremblay"
    ]  # fmt: skip


def test_srt_indices_prefixes_and_wrapped_lines() -> None:
    doc = parse_file(FIXTURES / "C06_interview_P12.srt")
    assert doc.source_format == "srt"
    assert spans(doc) == [
        ("Interviewer", "How long have you been followed by the nurse?"),
        (
            "P12",
            "Since last winter, after my fifth visit to the emergency. "
            "She helped me with my housing application.",
        ),
        (None, "And your medication?"),
        (None, "The pharmacist checks it now."),
        ("Interviewer", "Thank you, that is all for today."),
    ]
    assert [t.timestamp for t in doc.turns][:2] == ["00:00:02", "00:00:06"]
    assert doc.turns[1].end_timestamp == "00:00:12"


def test_srt_with_crlf_and_bom_reads_the_same() -> None:
    data = (FIXTURES / "C06_interview_P12.srt").read_bytes()
    crlf = b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")
    assert spans(parse_bytes("P12.srt", crlf)) == spans(parse_bytes("P12.srt", data))


def test_cues_without_speaker_merge_with_each_other_but_not_with_a_speaker() -> None:
    data = (
        b"WEBVTT\n\n"
        b"00:00:01.000 --> 00:00:02.000\nNCM: We call them.\n\n"
        b"00:00:02.000 --> 00:00:03.000\nthe same week\n\n"
        b"00:00:03.000 --> 00:00:04.000\nif we can.\n"
    )
    doc = parse_bytes("auto.vtt", data)
    assert spans(doc) == [("NCM", "We call them."), (None, "the same week if we can.")]
    assert (doc.turns[1].timestamp, doc.turns[1].end_timestamp) == ("00:00:02", "00:00:04")
